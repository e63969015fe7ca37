"""Provenance proofs over HTTP (R-L6, SPEC §13.1): a block split across owners
verifies offline against the published key, from its lot to its current state."""

from __future__ import annotations

import json

from chainlog.keys import parse_vkey
from chainlog.provenance import verify_provenance
from tests.api.driver import t
from tests.api.test_errors_and_health import assert_problem


def _retire_body(serial, quantity):
    return {"serial": serial, "quantity": quantity, "beneficiary": "Brand Co", "claim_type": "general",
            "reporting_year": 2026}


def split_history(driver) -> dict:
    """Generate 100, transfer 40 to A, A transfers 15 to B, B retires 5: every
    block of that history by name."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    driver.sell(gen.token, lot["id"], t(100))
    block = driver.generate(gen.token, lot["id"])
    a = driver.participant("Trader A")["id"]
    a_token = driver.member(a)
    b = driver.participant("Brand B")["id"]
    b_token = driver.member(b)
    first = driver.ok("/transfers", {"serial": block["serial"], "quantity": "40", "to_participant_id": a},
                      gen.token)
    second = driver.ok("/transfers", {"serial": first["moved"]["serial"], "quantity": "15",
                                      "to_participant_id": b}, a_token)
    retired = driver.ok("/retirements", _retire_body(second["moved"]["serial"], "5"), b_token)
    return {"lot": lot, "gen": gen, "a": a, "b": b, "generated": block["serial"],
            "gen_remainder": first["remainder"]["serial"], "a_remainder": second["remainder"]["serial"],
            "retired": retired["block"]["serial"], "b_remainder": retired["remainder"]["serial"]}


def _types(proof):
    return [json.loads(e["canonical"])["type"] for e in proof["entries"]]


def test_provenance_of_every_block_verifies_against_the_log_key(driver):
    h = split_history(driver)
    verifier = parse_vkey(driver.get("/log/key").get_json()["vkey"])
    expected = {
        "retired": (["block.generated", "block.transferred", "block.transferred", "block.retired"], "retired", h["b"]),
        "b_remainder": (["block.generated", "block.transferred", "block.transferred", "block.retired"],
                        "active", h["b"]),
        "a_remainder": (["block.generated", "block.transferred", "block.transferred"], "active", h["a"]),
        "gen_remainder": (["block.generated", "block.transferred"], "active", h["gen"].id),
        # A split parent's current state is the entry that split it.
        "generated": (["block.generated", "block.transferred"], "split", h["gen"].id),
    }
    for name, (types, state, owner) in expected.items():
        response = driver.get(f"/blocks/{h[name]}/provenance")
        assert response.status_code == 200, response.get_data(as_text=True)
        proof = response.get_json()
        assert proof["serial"] == h[name]
        assert _types(proof) == ["lot.registered", *types], name
        indexes = [e["index"] for e in proof["entries"]]
        assert indexes == sorted(indexes)
        report = verify_provenance(proof, [verifier], serial=h[name])
        assert (report.serial, report.state, report.owner) == (h[name], state, owner), name
        assert report.lot_reference == h["lot"]["reference"] and report.generator == h["gen"].id
        assert report.entries == len(types) + 1
        assert report.checkpoint_size == int(proof["checkpoint"].splitlines()[1])
    # The retired block's last entry is the block's own latest one.
    block = driver.get(f"/blocks/{h['retired']}").get_json()
    proof = driver.get(f"/blocks/{h['retired']}/provenance").get_json()
    assert proof["entries"][-1]["index"] == block["log"]["index"]


def test_checkpoint_served_with_the_proof_is_stored_and_current(driver):
    h = split_history(driver)
    proof = driver.get(f"/blocks/{h['retired']}/provenance").get_json()
    # The checkpoint signed on demand was committed: the log serves the same note.
    assert driver.get("/log/checkpoint").get_data(as_text=True) == proof["checkpoint"]


def test_proof_for_one_serial_does_not_verify_as_another(driver):
    h = split_history(driver)
    verifier = parse_vkey(driver.get("/log/key").get_json()["vkey"])
    proof = driver.get(f"/blocks/{h['retired']}/provenance").get_json()
    # The retirement's remainder shares the retired block's lineage: the same proof serves both.
    assert verify_provenance(proof, [verifier], serial=h["b_remainder"]).state == "active"
    try:
        verify_provenance(proof, [verifier], serial=h["a_remainder"])
    except Exception as exc:  # noqa: BLE001 - asserting on its kind below
        assert getattr(exc, "kind", None) == "serial_mismatch"
    else:
        raise AssertionError("a proof for the retired block passed as another lineage's")


def test_unknown_serial_is_404_problem(driver):
    assert_problem(driver.get("/blocks/NO-SUCH-BLOCK/provenance"), 404, "block_not_found")


def test_provenance_is_in_the_openapi_document(driver):
    spec = driver.client.get("/api/v1/openapi.json")
    paths = spec.get_json()["paths"]
    assert any(p.endswith("/blocks/{serial}/provenance") for p in paths)


def test_saved_proof_verifies_with_the_cli(driver, tmp_path):
    """The real `arcreg verify-proof` process on a proof this API served (no database)."""
    import subprocess

    from tests.serverproc import ARCREG, clean_env

    h = split_history(driver)
    vkey = driver.get("/log/key").get_json()["vkey"]
    path = tmp_path / "proof.json"
    path.write_bytes(driver.get(f"/blocks/{h['retired']}/provenance").get_data())
    result = subprocess.run([ARCREG, "verify-proof", str(path), "--vkey", vkey], cwd=tmp_path, env=clean_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert h["retired"] in result.stdout
