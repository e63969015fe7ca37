"""The public log API (SPEC §12, §13.1): a client that trusts only the
published verifier key checks the checkpoint, entries and proofs itself."""

from __future__ import annotations

import base64
import hashlib

from chainlog import merkle
from chainlog.checkpoint import open_checkpoint
from chainlog.keys import parse_vkey
from tests.api.driver import t
from tests.api.test_errors_and_health import assert_problem


def _busy_registry(driver):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate)
    driver.sell(gen.token, lot["id"], t(100))
    driver.generate(gen.token, lot["id"], mass=t(10))


def test_checkpoint_entries_and_proofs_verify_against_the_key(driver):
    _busy_registry(driver)
    key = driver.get("/log/key").get_json()
    verifier = parse_vkey(key["vkey"])
    assert key["public_key"] == base64.b64encode(verifier.public_key).decode()
    assert key["key_id"] == verifier.key_id.hex()

    response = driver.get("/log/checkpoint")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    checkpoint = open_checkpoint(response.get_data(as_text=True), [verifier])
    size = checkpoint.size

    entries = driver.get(f"/log/entries?start=0&end={size}").get_json()["entries"]
    assert [e["index"] for e in entries] == list(range(size))
    leaves = []
    prev = bytes(32)
    for entry in entries:
        canonical = entry["canonical"].encode()
        assert bytes.fromhex(entry["leaf_hash"]) == merkle.leaf_hash(canonical)
        prev = hashlib.sha256(prev + canonical).digest()  # R-L2
        assert entry["entry_hash"] == prev.hex()
        leaves.append(merkle.leaf_hash(canonical))
    assert merkle.root(leaves) == checkpoint.root

    for index in (0, size // 2, size - 1):
        proof = driver.get(f"/log/proof/inclusion?index={index}&size={size}").get_json()
        merkle.verify_inclusion(bytes.fromhex(proof["leaf_hash"]), index, size,
                                [bytes.fromhex(h) for h in proof["hashes"]], checkpoint.root)

    first = size // 3
    consistency = driver.get(f"/log/proof/consistency?first={first}&second={size}").get_json()
    merkle.verify_consistency(first, size, merkle.root(leaves[:first]), checkpoint.root,
                              [bytes.fromhex(h) for h in consistency["hashes"]])


def test_checkpoint_follows_new_commits(driver):
    _busy_registry(driver)
    before = driver.get("/log/checkpoint").get_data(as_text=True)
    assert driver.get("/log/checkpoint").get_data(as_text=True) == before  # nothing new: same note
    driver.participant("Late Joiner")
    after = driver.get("/log/checkpoint").get_data(as_text=True)
    size = lambda note: int(note.splitlines()[1])  # noqa: E731
    assert size(after) == size(before) + 2  # registered + activated


def test_proof_requests_out_of_range_are_400(driver):
    _busy_registry(driver)
    assert_problem(driver.get("/log/proof/inclusion?index=5&size=5"), 400, "invalid_range")
    assert_problem(driver.get("/log/proof/inclusion?index=0&size=100000"), 400, "invalid_range")
    assert_problem(driver.get("/log/proof/consistency?first=9&second=3"), 400, "invalid_range")
    assert_problem(driver.get("/log/entries?start=0&end=100000"), 400, "invalid_range")
    assert_problem(driver.get("/log/entries?start=-1"), 400, "invalid_input")
