"""R-L7: full verification of a realistic registry passes — in process, through
`arcreg verify` (a real process) and offline through `arcreg verify-log`."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from chainlog import store
from registry import corrections, expiry, participants, transfers
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry.demo import build_demo
from registry.identity import actor_of
from registry.models import Block, Participant, User
from registry.models.integrity import VerificationRun
from registry.signing import load_signer
from registry.verification import verify_registry
from tests.serverproc import ARCREG, clean_env

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _checkpoint(engine, config, clock) -> None:
    with UnitOfWork(session_factory(engine), clock) as uow:
        store.sign_checkpoint(uow.session, load_signer(config, create=True), config.log_origin, clock.now())
        uow.commit()


def build_registry(engine, db_url: str, tmp_path: Path) -> Config:
    """The demo registry, then a suspension and reactivation, a cancellation, a
    whole-block transfer and a split transfer, and an expiry run two years on;
    a signed checkpoint after each stage (R-L4)."""
    config = Config(database_url=db_url, clock=START.isoformat(), signing_key_file=tmp_path / "key.pem")
    clock = FrozenClock(START)
    build_demo(engine, config)
    _checkpoint(engine, config, clock)
    with UnitOfWork(session_factory(engine), clock) as uow:
        admin = actor_of(uow.session.exec(select(User).where(User.role == "admin")).one())
        by_name = {p.name: p.id for p in uow.session.exec(select(Participant))}
        trader, brand = by_name["Cascade Trading"], by_name["Northwind Packaging"]
        participants.suspend_participant(uow, admin, trader, reason="audit pending")
        participants.activate_participant(uow, admin, trader)
        held = list(uow.session.exec(select(Block).where(Block.state == "active",
                                                         Block.owner_id == Block.generator_id)
                                     .order_by(Block.serial)))
        peq = next(b for b in held if b.arc_type == "PEQ")
        corrections.cancel_block(uow, admin, peq.serial, reason="mass entered twice")
        pp = next(b for b in held if b.arc_type == "PP")
        moved = transfers.transfer(uow, admin, serial=pp.serial, quantity=Decimal("20.5"),
                                   to_participant_id=brand).moved
        transfers.transfer(uow, admin, serial=moved.serial, quantity=moved.quantity, to_participant_id=trader)
        uow.commit()
    _checkpoint(engine, config, clock)
    clock.set(datetime(2028, 1, 2, 0, 30, tzinfo=UTC))
    with UnitOfWork(session_factory(engine), clock) as uow:
        assert expiry.run_expiry(uow)["expired"] >= 3
        uow.commit()
    _checkpoint(engine, config, clock)
    return config


def verifier_of(config: Config):
    return load_signer(config).verifier


def run_verify(engine, config: Config):
    with session_factory(engine)() as session:
        return verify_registry(session, [verifier_of(config)])


def cli_env(config: Config) -> dict:
    return clean_env(ARCREG_DATABASE_URL=config.database_url,
                     ARCREG_SIGNING_KEY_FILE=str(config.signing_key_file))


def test_a_realistic_registry_verifies_and_the_run_is_recorded(engine, db_url, tmp_path):
    config = build_registry(engine, db_url, tmp_path)
    report = run_verify(engine, config)
    assert report.ok, report.failure()
    assert report.error is None and report.size == report.signed_size > 30
    assert report.checkpoints == 3
    counts = report.counts
    assert counts["participants"] == 5 and counts["retirements"] == 3  # with the demo's sorter (R-M2)  # one, and a bulk of two (R-T7)
    assert counts["blocks_expired"] >= 3 and counts["blocks_cancelled"] == 1 and counts["blocks_split"] >= 3
    with session_factory(engine)() as session:
        runs = list(session.exec(select(VerificationRun)))
    assert [(r.ok, r.size, r.checkpoints, r.kind) for r in runs] == [(True, report.size, 3, None)]


def test_arcreg_verify_and_verify_log_exit_zero(engine, db_url, tmp_path):
    config = build_registry(engine, db_url, tmp_path)
    export = tmp_path / "log.jsonl"
    done = subprocess.run(check=False, args=[ARCREG, "verify", "--export", str(export)], env=cli_env(config),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK: ") and "3 checkpoints" in done.stdout
    assert export.read_text().count('"checkpoint"') == 3
    vkey = verifier_of(config).vkey
    offline = subprocess.run(check=False, args=[ARCREG, "verify-log", str(export), "--vkey", vkey], env=clean_env(),
                             capture_output=True, text=True, timeout=120)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "blocks_expired" in offline.stdout
    quick = subprocess.run(check=False, args=[ARCREG, "verify-log", str(export), "--vkey", vkey, "--integrity-only"],
                           env=clean_env(), capture_output=True, text=True, timeout=120)
    assert quick.returncode == 0, quick.stdout + quick.stderr
    assert quick.stdout.splitlines()[0] == offline.stdout.splitlines()[0]  # same size, checkpoints, root
    assert "not replayed" in quick.stdout and "blocks_expired" not in quick.stdout


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite locking only
def test_verification_on_sqlite_does_not_hold_the_write_lock(engine, db_url, backend, tmp_path):
    """`arcreg verify` reads a WAL snapshot on SQLite: a writer committing mid-run is neither blocked
    (the registry's BEGIN IMMEDIATE would hold the write lock for the whole run) nor seen."""
    assert engine.dialect.name == "sqlite"
    from api.commands_verify import _snapshot_engine

    config = build_registry(engine, db_url, tmp_path)
    snapshot = _snapshot_engine(engine)
    with session_factory(snapshot)() as reading:
        before = store.size(reading)
        with UnitOfWork(session_factory(engine), FrozenClock(START)) as uow:
            store.append(uow.session, type="note.test", actor="system", payload={}, time=START)
            uow.commit()  # would wait 30 s and fail if the reader held the write lock
        assert store.size(reading) == before
    assert run_verify(snapshot, config).ok
    snapshot.dispose()


def tamperable_registry(engine, db_url, tmp_path):
    """build_registry, then the append-only triggers dropped so a test can damage the log."""
    from sqlalchemy import text

    from chainlog.schema import drop_append_only_ddl

    config = build_registry(engine, db_url, tmp_path)
    with engine.begin() as conn:
        for statement in drop_append_only_ddl(engine.dialect.name):
            conn.execute(text(statement))
    return config
