"""Witness cosignatures and the admin integrity view over HTTP, on both databases (R-L9, R-L7)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from chainlog.checkpoint import cosign, cosigner_verifier, open_checkpoint, verify_cosignature
from chainlog.errors import VerificationError
from chainlog.keys import Signer, parse_vkey
from chainlog.note import Signature, parse_note
from registry.db import session_factory
from registry.models import Cosignature, VerificationRun
from tests.api.test_errors_and_health import assert_problem

TS = 1_772_443_800  # 2026-03-02T09:30:00Z, the driver clock


@pytest.fixture
def witness():
    return Signer.generate("auditor.example/w1")


def _register(driver, signer: Signer) -> dict:
    vkey = cosigner_verifier(signer.name, signer.public_key_bytes).vkey
    return driver.ok("/witnesses", {"vkey": vkey})


def _checkpoint(driver) -> str:
    return driver.get("/log/checkpoint").get_data(as_text=True)


def _size(note: str) -> int:
    return int(note.splitlines()[1])


def _post(driver, size: int, line: str):
    return driver.post("/log/cosignatures", {"checkpoint_size": size, "cosignature": line})


def _stored(engine) -> int:
    with session_factory(engine)() as session:
        return session.execute(select(func.count()).select_from(Cosignature)).scalar_one()


def test_a_cosignature_is_served_with_the_checkpoint(driver, witness, engine):
    registered = _register(driver, witness)
    verifier = cosigner_verifier(witness.name, witness.public_key_bytes)
    assert registered["name"] == witness.name and registered["key_id"] == verifier.key_id.hex()
    assert driver.get("/witnesses").get_json()["witnesses"][0]["vkey"] == verifier.vkey
    driver.participant("Acme")
    note = _checkpoint(driver)
    line = cosign(note, witness, TS).line()

    response = _post(driver, _size(note), line)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["timestamp"] == TS

    served = _checkpoint(driver)
    assert served == note + line  # C2SP: an extra signature line on the same note
    assert verify_cosignature(served, verifier) == TS
    registry_key = parse_vkey(driver.get("/log/key").get_json()["vkey"])
    assert open_checkpoint(served, [registry_key]).size == _size(note)

    # Idempotent: a re-post (even with a later timestamp) keeps the first cosignature.
    again = _post(driver, _size(note), cosign(note, witness, TS + 60).line())
    assert again.status_code == 200 and again.get_json()["timestamp"] == TS
    assert _stored(engine) == 1

    # The tree grows: the latest checkpoint has no cosignature, `cosigned=true` still finds one.
    driver.participant("Late Joiner")
    latest = _checkpoint(driver)
    assert _size(latest) > _size(note) and len(parse_note(latest).signatures) == 1
    cosigned = driver.get("/log/checkpoint?cosigned=true").get_data(as_text=True)
    assert cosigned == note + line


def test_no_cosigned_checkpoint_yet_is_404(driver):
    assert_problem(driver.get("/log/checkpoint?cosigned=true"), 404, "no_cosigned_checkpoint")


def test_bad_unknown_and_misplaced_cosignatures_are_refused(driver, witness, engine):
    _register(driver, witness)
    driver.participant("Acme")
    first = _checkpoint(driver)
    driver.participant("Second")
    second = _checkpoint(driver)
    good = cosign(second, witness, TS)

    tampered = Signature(good.name, good.key_id, good.signature[:-1] + bytes([good.signature[-1] ^ 1]))
    assert_problem(_post(driver, _size(second), tampered.line()), 422, "bad_cosignature")
    # A valid cosignature of one checkpoint does not count for another size.
    assert_problem(_post(driver, _size(first), good.line()), 422, "bad_cosignature")
    stranger = Signer.generate("stranger.example")
    assert_problem(_post(driver, _size(second), cosign(second, stranger, TS).line()), 403, "unknown_witness")
    # Same name, different key: not the registered key either.
    impostor = Signer.generate(witness.name)
    assert_problem(_post(driver, _size(second), cosign(second, impostor, TS).line()), 403, "unknown_witness")
    assert_problem(_post(driver, _size(second) + 100, good.line()), 404, "unknown_checkpoint")
    assert_problem(_post(driver, _size(second), "not a signature line"), 400, "invalid_input")
    assert_problem(_post(driver, _size(second), good.line() + good.line()), 400, "invalid_input")
    assert _stored(engine) == 0
    assert len(parse_note(_checkpoint(driver)).signatures) == 1


def test_witness_registration_checks_the_key(driver, witness):
    plain = driver.ok("/witnesses", {"vkey": witness.vkey})  # the 0x01 key `arcreg keygen` prints
    assert parse_vkey(plain["vkey"], alg=0x04).public_key == witness.public_key_bytes
    assert plain["key_id"] == cosigner_verifier(witness.name, witness.public_key_bytes).key_id.hex()
    assert_problem(driver.post("/witnesses", {"vkey": witness.vkey}, driver.admin), 409, "witness_exists")
    assert_problem(driver.post("/witnesses", {"vkey": "nope+00000000+AAAA"}, driver.admin), 400, "invalid_vkey")


def test_only_admins_register_witnesses_and_read_integrity(driver, witness):
    participant = driver.participant("Acme")
    member = driver.member(participant["id"])
    vkey = cosigner_verifier(witness.name, witness.public_key_bytes).vkey
    assert_problem(driver.post("/witnesses", {"vkey": vkey}, member), 403, "forbidden_role")
    assert_problem(driver.post("/witnesses", {"vkey": vkey}), 401, "missing_token")
    assert_problem(driver.get("/admin/integrity", member), 403, "forbidden_role")
    assert_problem(driver.get("/admin/integrity"), 401, "missing_token")
    assert driver.get("/witnesses").get_json() == {"witnesses": []}


def test_integrity_view(driver, witness, engine, clock):
    empty = driver.get("/admin/integrity", driver.admin).get_json()
    assert empty["verification"] is None and empty["witnesses"] == []
    key = driver.get("/log/key").get_json()
    assert empty["key"] == {"name": key["name"], "key_id": key["key_id"], "vkey": key["vkey"]}

    registered = _register(driver, witness)
    driver.participant("Acme")
    note = _checkpoint(driver)
    assert _post(driver, _size(note), cosign(note, witness, TS).line()).status_code == 201
    driver.participant("Later")  # log grows past the cosigned and the latest signed checkpoint
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with session_factory(engine)() as session:
        for minutes, ok in ((0, False), (5, True)):
            session.add(VerificationRun(started_at=now + timedelta(minutes=minutes),
                                        finished_at=now + timedelta(minutes=minutes, seconds=3), ok=ok,
                                        size=_size(note), checkpoints=1, detail="checked"))
        session.commit()

    status = driver.get("/admin/integrity", driver.admin).get_json()
    assert status["verification"]["ok"] is True
    assert status["verification"]["finished_at"] == "2026-03-02T09:05:03Z"
    assert status["checkpoint"]["size"] == _size(note)
    assert status["log_size"] == _size(note) + 2  # registered + activated, not yet checkpointed
    (w,) = status["witnesses"]
    assert w["id"] == registered["id"] and w["key_id"] == registered["key_id"]
    assert w["cosigned_size"] == _size(note) and w["cosigned_at"] == "2026-03-02T09:30:00Z"
    assert w["received_at"] is not None


def test_cosignature_line_base64_is_keyid_timestamp_signature(driver, witness):
    """The stored line is exactly the C2SP tlog-cosignature layout."""
    _register(driver, witness)
    note = _checkpoint(driver)
    line = _post(driver, _size(note), cosign(note, witness, TS).line()).get_json()["line"]
    blob = base64.b64decode(line.rstrip("\n").rsplit(" ", 1)[1])
    assert len(blob) == 4 + 8 + 64 and int.from_bytes(blob[4:12], "big") == TS
    with pytest.raises(VerificationError):
        verify_cosignature(note, cosigner_verifier(witness.name, witness.public_key_bytes))
