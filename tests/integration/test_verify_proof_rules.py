"""``arcreg verify-proof`` on a real registry (R-L6, R-L7c, issue 16 finding 10):
every served proof passes the rules; a correctly signed proof whose generation
says more than its lot gives is refused naming the rule, exit 1; a newer
checkpoint and a consistency proof say whether the state shown is current."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal

from sqlmodel import select

from chainlog import store, tree
from chainlog.provenance import verify_provenance
from registry import transfers, transparency
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry.demo import build_demo
from registry.identity import actor_of
from registry.models import Block, Participant, User
from registry.proof_rules import check_proof, check_receipts
from registry.provenance import provenance
from registry.signing import load_signer
from tests.integration.test_replay_rules_double_counting import _append_signed, _generation_from
from tests.integration.test_verify import START, _checkpoint
from tests.integration.test_verify_replay import _entries
from tests.serverproc import ARCREG, clean_env
from tests.unit.chainlog.test_provenance_verify import SIGNER, build


def demo(engine, db_url, tmp_path) -> Config:
    config = Config(database_url=db_url, clock=START.isoformat(), signing_key_file=tmp_path / "key.pem")
    build_demo(engine, config)
    _checkpoint(engine, config, FrozenClock(START))
    return config


def served_proof(engine, config, serial: str) -> dict:
    """GET /blocks/{serial}/provenance, in process."""
    with UnitOfWork(session_factory(engine), FrozenClock(START)) as uow:
        proof = provenance(uow, load_signer(config), config.log_origin, serial)
        uow.commit()
    return proof


def stored_proof(engine, indexes: list[int], serial: str) -> dict:
    """A proof built from the log itself, for entries no block row backs."""
    with session_factory(engine)() as session:
        checkpoint = store.latest_checkpoint(session)
        entries = [store.entry(session, i) for i in indexes]
        proofs = [tree.inclusion_proof(session, i, checkpoint.size) for i in indexes]
    return {"checkpoint": checkpoint.note, "serial": serial,
            "entries": [{"index": e.index, "canonical": e.canonical, "hashes": [h.hex() for h in p]}
                        for e, p in zip(entries, proofs, strict=True)]}


def verify_proof(tmp_path, config, proof: dict, *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    vkey = load_signer(config).verifier.vkey
    return subprocess.run([ARCREG, "verify-proof", str(path), "--vkey", vkey, *extra], check=False, cwd=tmp_path,
                          env=clean_env(), capture_output=True, text=True, timeout=60)


def test_every_served_proof_passes_the_rules(engine, db_url, tmp_path):
    config = demo(engine, db_url, tmp_path)
    with session_factory(engine)() as session:
        serials = [b.serial for b in session.exec(select(Block).order_by(Block.serial))]
    assert len(serials) >= 5
    verifier = load_signer(config).verifier
    types = set()
    for serial in serials:
        report = verify_provenance(served_proof(engine, config, serial), [verifier], serial=serial)
        derived = check_proof(report.lineage)  # raises ProofRuleError if a real proof broke a rule
        assert derived.exact, serial  # the demo's lots are unsplit: checked exactly
        types.add(derived.arc_code.split("_")[2])
    assert {"PP", "PEQ"} <= types  # the contamination cap and the LHV were both exercised
    result = verify_proof(tmp_path, config, served_proof(engine, config, serials[0]))
    assert result.returncode == 0, result.stderr
    assert "re-derived exactly (R-K2, R-K4, R-K5)" in result.stdout


def _lot_index(engine, lot_id) -> int:
    return next(e["index"] for e in _entries(engine) if e["type"] == "lot.registered"
                and e["payload"]["lot"] == lot_id)


def test_a_signed_generation_the_lot_cannot_give_is_refused_naming_the_rule(engine, db_url, tmp_path):
    """Appended through chainlog with the registry's own key, as a writer that
    bypassed the services would: the proofs are correctly signed and included."""
    config = demo(engine, db_url, tmp_path)
    too_many = _generation_from(_entries(engine), base_kg=Decimal("10000.000"), quantity=Decimal("20.000"))
    too_many_at = _append_signed(engine, config, "block.generated", too_many)
    lot_index = _lot_index(engine, too_many["lot"])
    mass = Decimal(next(e for e in _entries(engine) if e["index"] == lot_index)["payload"]["mass_kg"])
    beyond = _generation_from(_entries(engine), base_kg=mass)  # more base mass than the lot holds
    beyond_at = _append_signed(engine, config, "block.generated", beyond)
    honest = _generation_from(_entries(engine), base_kg=Decimal("10000.000"))
    _append_signed(engine, config, "block.generated", honest)

    result = verify_proof(tmp_path, config, stored_proof(engine, [lot_index, too_many_at], too_many["serial"]))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"INVALID: rule_violation at index {too_many_at}: R-K4: "), result.stderr
    assert "20.000 PC_P_PP_ARC" in result.stderr and "gives 10.000" in result.stderr

    result = verify_proof(tmp_path, config, stored_proof(engine, [lot_index, beyond_at], beyond["serial"]))
    assert result.returncode == 1
    assert result.stderr.startswith(f"INVALID: rule_violation at index {beyond_at}: R-B4: "), result.stderr

    # The control: the same construction within the rules verifies, so the refusals come from the rules.
    honest_at = _entries(engine)[-1]["index"]
    result = verify_proof(tmp_path, config, stored_proof(engine, [lot_index, honest_at], honest["serial"]))
    assert result.returncode == 0, result.stderr
    assert "10.000 PC_P_PP_ARC from 10000.000 kg" in result.stdout


def test_a_stale_proof_is_told_apart_from_a_current_one(engine, db_url, tmp_path):
    """Finding 10: a proof saved before its block moved still reads "active"; a
    newer checkpoint and a consistency proof say it may no longer be."""
    config = demo(engine, db_url, tmp_path)
    with session_factory(engine)() as session:
        block = session.exec(select(Block).where(Block.state == "active").order_by(Block.serial)).first()
        other = session.exec(select(Participant).where(Participant.id != block.owner_id)
                             .order_by(Participant.id)).first().id
    old = served_proof(engine, config, block.serial)
    old_size = int(old["checkpoint"].splitlines()[1])
    with UnitOfWork(session_factory(engine), FrozenClock(START)) as uow:
        admin = actor_of(uow.session.exec(select(User).where(User.role == "admin")).one())
        transfers.transfer(uow, admin, serial=block.serial, quantity=block.quantity, to_participant_id=other)
        uow.commit()
    _checkpoint(engine, config, FrozenClock(START))
    with UnitOfWork(session_factory(engine), FrozenClock(START)) as uow:
        newer = store.latest_checkpoint(uow.session)
        hashes = transparency.consistency_proof(uow, old_size, newer.size)
    assert newer.size > old_size
    (tmp_path / "newer.note").write_text(newer.note)
    (tmp_path / "consistency.json").write_text(json.dumps(
        {"first": old_size, "second": newer.size, "hashes": [h.hex() for h in hashes]}))

    result = verify_proof(tmp_path, config, old)
    assert result.returncode == 0, result.stderr
    assert f"checkpoint {config.log_origin} size {old_size}" in result.stdout
    assert "current state active" in result.stdout and "may have changed since" in result.stdout

    result = verify_proof(tmp_path, config, old, "--checkpoint", "newer.note", "--consistency", "consistency.json")
    assert result.returncode == 0, result.stderr
    assert (f"NOT SHOWN CURRENT: the log grew consistently from size {old_size} to {newer.size}"
            in result.stdout), result.stdout

    result = verify_proof(tmp_path, config, old, "--checkpoint", "newer.note")
    assert result.returncode == 2
    assert f"/api/v1/log/proof/consistency?first={old_size}&second={newer.size}" in result.stderr

    fresh = served_proof(engine, config, block.serial)
    result = verify_proof(tmp_path, config, fresh, "--checkpoint", "newer.note")
    assert result.returncode == 0, result.stderr
    assert "CURRENT: the newer checkpoint is the proof's own" in result.stdout
    assert "current state active" in result.stdout and f"owner {other}" in result.stdout

    # A consistency proof that does not lead from the proof's tree to the newer one: refused, exit 1.
    bad = {"first": old_size, "second": newer.size, "hashes": [("0" * 64) for _ in hashes]}
    (tmp_path / "consistency.json").write_text(json.dumps(bad))
    result = verify_proof(tmp_path, config, old, "--checkpoint", "newer.note", "--consistency", "consistency.json")
    assert result.returncode == 1 and result.stderr.startswith("INVALID: "), result.stderr


def test_bad_files_are_clear_messages_never_tracebacks(tmp_path):
    """R-X9: a proof nested 100 000 deep, and a consistency file that is not JSON."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    run = subprocess.run([ARCREG, "verify-proof", str(deep), "--vkey", SIGNER.vkey], check=False, cwd=tmp_path,
                         env=clean_env(), capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "deep.json is not a provenance proof" in run.stderr, run.stderr
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(build()))
    (tmp_path / "same.note").write_text(build()["checkpoint"])
    (tmp_path / "c.json").write_text('{"first": 8')
    run = subprocess.run([ARCREG, "verify-proof", str(proof), "--vkey", SIGNER.vkey, "--checkpoint", "same.note",
                          "--consistency", "c.json"], check=False, cwd=tmp_path, env=clean_env(),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "c.json, the consistency proof, is not JSON" in run.stderr, run.stderr
    run = subprocess.run([ARCREG, "verify-proof", str(proof), "--vkey", SIGNER.vkey, "--consistency", "c.json"],
                         check=False, cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--consistency needs --checkpoint" in run.stderr
    assert "Traceback" not in run.stderr


def _custody_block(engine) -> str:
    """A block of the demo's custody lot (GL-<year>-PP-MB-002, citing two receipts, R-M6)."""
    with session_factory(engine)() as session:
        from registry.models import Lot
        lot = session.exec(select(Lot).where(Lot.reference.like("%-PP-MB-002"))).one()
        return session.exec(select(Block).where(Block.lot_id == lot.id).order_by(Block.serial)).first().serial


def test_a_custody_lot_proof_reaches_its_supplier_receipts(engine, db_url, tmp_path):
    """R-M6, R-L6: the proof carries the receipts the lot cites, each included in the checkpoint;
    verify-proof names them; a proof without them, or with another entry in their place, fails."""
    config = demo(engine, db_url, tmp_path)
    serial = _custody_block(engine)
    proof = served_proof(engine, config, serial)
    report = verify_provenance(proof, [load_signer(config).verifier], serial=serial)
    receipts = check_receipts(report.lineage[0], report.upstream)
    assert [(r["payload"]["supplier_name"], r["payload"]["reference"]) for r in receipts] == [
        ("Midwest Sorting", "MWS-4471"), ("Midwest Sorting", "MWS-4472")]
    assert {r["payload"]["supplier_certificate"] for r in receipts} == {"RMS-NSF-00418"}
    result = verify_proof(tmp_path, config, proof)
    assert result.returncode == 0, result.stderr
    assert "input: receipt" in result.stdout and "MWS-4472" in result.stdout and "RMS-NSF-00418" in result.stdout, result.stdout

    missing = {k: v for k, v in proof.items() if k != "upstream"}
    result = verify_proof(tmp_path, config, missing)
    assert result.returncode == 1 and "upstream_missing" in result.stdout + result.stderr
    # Another entry of the log (the lot's own, with its own valid inclusion proof) in a receipt's place.
    swapped = {**proof, "upstream": [proof["entries"][0], proof["upstream"][1]]}
    result = verify_proof(tmp_path, config, swapped)
    assert result.returncode == 1 and "upstream_missing" in result.stdout + result.stderr
    # A receipt's text changed by one character: no longer in the checkpoint's tree.
    changed = json.loads(json.dumps(proof))
    changed["upstream"][0]["canonical"] = changed["upstream"][0]["canonical"].replace("MWS-4471", "MWS-4479")
    result = verify_proof(tmp_path, config, changed)
    assert result.returncode == 1 and "not in the checkpoint" in result.stdout + result.stderr
