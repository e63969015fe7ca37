"""R-L7 tamper matrix: real faults written into a real registry's database
(append-only triggers dropped first, R-L8) must each make verification fail,
naming the first bad index (log faults) or the table, key and field (state
faults), with the right kind. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import subprocess
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import select

from registry.db import session_factory
from registry.models import Block, Lot
from tests.integration.test_verify import (
    cli_env,
    run_verify,
    tamperable_registry,
    verifier_of,
)
from tests.serverproc import ARCREG, clean_env


@pytest.fixture
def registry(engine, db_url, tmp_path):
    return tamperable_registry(engine, db_url, tmp_path)


def _entry(engine, type_: str, contains: str = "") -> tuple[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(text('SELECT "index", canonical FROM log_entries WHERE type = :t ORDER BY "index"'),
                            {"t": type_}).all()
    return next((int(i), c) for i, c in rows if contains in c)


def _sql(engine, statement: str, **params) -> None:
    with engine.begin() as conn:
        assert conn.execute(text(statement), params).rowcount >= 1


def _fails(engine, config, kind, index=None):
    report = run_verify(engine, config)
    assert not report.ok and report.error is not None
    assert report.error.kind in (kind if isinstance(kind, tuple) else (kind,)), report.failure()
    assert report.error.index == index, report.failure()
    return report.failure()


def test_one_byte_of_a_payload(engine, registry):
    index, canonical = _entry(engine, "participant.registered", "Cascade Trading")
    _sql(engine, 'UPDATE log_entries SET canonical = :c WHERE "index" = :i',
         c=canonical.replace("Cascade Trading", "Cascade Trbding"), i=index)
    _fails(engine, registry, "payload_changed", index)


def test_a_deleted_entry(engine, registry):
    index, _ = _entry(engine, "block.transferred")
    _sql(engine, 'DELETE FROM log_entries WHERE "index" = :i', i=index)
    _fails(engine, registry, ("entry_missing", "chain_broken"), index)


def test_two_entries_swapped(engine, registry):
    index, first = _entry(engine, "block.retired")
    with engine.connect() as conn:
        after = conn.execute(text('SELECT canonical FROM log_entries WHERE "index" = :i'), {"i": index + 1}).scalar()
    _sql(engine, 'UPDATE log_entries SET canonical = :c WHERE "index" = :i', c=after, i=index)
    _sql(engine, 'UPDATE log_entries SET canonical = :c WHERE "index" = :i', c=first, i=index + 1)
    _fails(engine, registry, ("entries_reordered", "chain_broken"), index)


def test_a_checkpoint_signature_byte(engine, registry):
    with engine.connect() as conn:
        size, note = conn.execute(text("SELECT size, note FROM log_checkpoints ORDER BY size LIMIT 1")).one()
    head, sig_line = note.rstrip("\n").rsplit("\n", 1)
    prefix, sig = sig_line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[-1] ^= 0x01  # one byte of the Ed25519 signature, key id intact
    tampered = f"{head}\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    _sql(engine, "UPDATE log_checkpoints SET note = :n WHERE size = :s", n=tampered, s=size)
    _fails(engine, registry, "bad_signature", size - 1)


def _one_block(engine, state: str = "expired") -> Block:
    with session_factory(engine)() as session:
        return session.exec(select(Block).where(Block.state == state).order_by(Block.serial)).first()


def test_a_block_quantity(engine, registry):
    with session_factory(engine)() as session:
        block = session.exec(select(Block).where(Block.state == "expired").order_by(Block.serial)).first()
        block.quantity += 1
        session.commit()
    why = _fails(engine, registry, "state_drift")
    assert f"block '{block.serial}': quantity" in why


def test_a_block_owner(engine, registry):
    block = _one_block(engine, "retired")
    other = 1 if block.owner_id != 1 else 2
    _sql(engine, "UPDATE block SET owner_id = :o WHERE serial = :s", o=other, s=block.serial)
    why = _fails(engine, registry, "state_drift")
    assert f"block '{block.serial}': owner_id expected {block.owner_id}" in why
    assert f"found {other}" in why


def test_a_block_no_entry_created(engine, registry):
    block = _one_block(engine)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    with session_factory(engine)() as session:
        forged = Block(**{**block.model_dump(), "serial": block.serial[:-12] + "999999999999",
                          "state": "active", "created_at": now, "updated_at": now, "parent_serial": None})
        session.add(forged)
        session.commit()
    why = _fails(engine, registry, "state_drift")
    assert "999999999999" in why and "no log entry created it" in why


def test_a_lot_used_kg(engine, registry):
    with session_factory(engine)() as session:
        lot = session.exec(select(Lot).order_by(Lot.id)).first()
        lot.used_kg += Decimal("0.001")
        session.commit()
    why = _fails(engine, registry, "state_drift")
    assert f"lot {lot.id}: used_kg" in why


def test_cli_names_the_failure_and_verify_log_names_the_index(engine, registry, tmp_path):
    export = tmp_path / "log.jsonl"
    good = subprocess.run(check=False, args=[ARCREG, "verify", "--export", str(export)], env=cli_env(registry),
                          capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stdout + good.stderr
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if '"type":"block.transferred"' in line)
    index = int(lines[at].split(",", 1)[0].split(":")[1])
    lines[at] = lines[at].replace('"quantity":"', '"quantity":"1', 1)  # in the line's payload
    export.write_text("".join(lines), encoding="utf-8")
    offline = subprocess.run(check=False, args=[ARCREG, "verify-log", str(export), "--vkey", verifier_of(registry).vkey],
                             env=clean_env(), capture_output=True, text=True, timeout=120)
    assert offline.returncode == 1
    assert offline.stdout.startswith(f"FAILED: payload_changed at index {index}: "), offline.stdout
    quick = subprocess.run(check=False, env=clean_env(), capture_output=True, text=True, timeout=120,
                           args=[ARCREG, "verify-log", str(export), "--vkey", verifier_of(registry).vkey,
                                 "--integrity-only"])
    assert quick.returncode == 1
    assert quick.stdout.startswith(f"FAILED: payload_changed at index {index}: "), quick.stdout

    block = _one_block(engine)
    _sql(engine, "UPDATE block SET state = 'active' WHERE serial = :s", s=block.serial)
    bad = subprocess.run(check=False, args=[ARCREG, "verify"], env=cli_env(registry), capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert bad.stdout.startswith("FAILED: state_drift: block ") and "state expected 'expired'" in bad.stdout


def test_a_retirement_beneficiary(engine, registry):
    _sql(engine, "UPDATE retirement SET beneficiary = 'Someone Else'")
    why = _fails(engine, registry, "state_drift")
    assert "retirement '" in why and "beneficiary expected 'Northwind Packaging'" in why
    assert "found 'Someone Else'" in why


def test_an_entry_column_beside_its_hashed_text(engine, registry):
    """The API serves a row's actor column beside the hashed text: a changed
    column is a changed entry (R-L1), even though the hashed text is intact."""
    index, _ = _entry(engine, "block.transferred")
    _sql(engine, 'UPDATE log_entries SET actor = :a WHERE "index" = :i', a="user:999", i=index)
    _fails(engine, registry, "payload_changed", index)


def test_a_facility_name(engine, registry):
    _sql(engine, "UPDATE facility SET name = 'Elsewhere' WHERE id = (SELECT MIN(id) FROM facility)")
    why = _fails(engine, registry, "state_drift")
    assert "facility " in why and ": name expected " in why and "found 'Elsewhere'" in why


def test_a_certificate_expiry(engine, registry):
    _sql(engine, "UPDATE rms_certificate SET expires_on = '2030-12-31' WHERE id = (SELECT MIN(id) FROM rms_certificate)")
    why = _fails(engine, registry, "state_drift")
    assert "RMS certificate " in why and ": expires_on expected " in why and "found '2030-12-31'" in why


def test_a_disposition_claim(engine, registry):
    _sql(engine, "UPDATE lot_disposition SET claimed_kg = claimed_kg + 1 WHERE id = (SELECT MIN(id) FROM lot_disposition)")
    why = _fails(engine, registry, "state_drift")
    assert "lot disposition " in why and ": claimed_kg expected " in why


def test_a_block_determination(engine, registry):
    block = _one_block(engine, "split")
    with engine.connect() as conn:
        other = conn.execute(text("SELECT id FROM determination WHERE id <> :d ORDER BY id"),
                             {"d": block.determination_id}).scalar()
    _sql(engine, "UPDATE block SET determination_id = :d WHERE serial = :s", d=other, s=block.serial)
    why = _fails(engine, registry, "state_drift")
    assert f"block '{block.serial}': determination_id expected {block.determination_id}" in why
