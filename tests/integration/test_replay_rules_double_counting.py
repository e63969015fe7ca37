"""R-L7c: a log signed by the registry's own key that records a generation the
rules refuse — more base mass than the lot can back (R-B4), or more
certificates than the lot's logged material gives (R-K4) — fails `arcreg
verify` and `arcreg verify-log`, naming the entry and the rule. Built through
chainlog directly, as a writer that bypassed the services would."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from decimal import Decimal

from chainlog import store
from sqlmodel import select

from registry import classification, quantities, rms_certificates, transfers
from registry.identity import actor_of
from registry.models import Block, Participant, User
from registry.clock import FrozenClock
from registry.config import Config
from registry.demo import build_demo
from registry.db import UnitOfWork, session_factory
from tests.integration.test_verify import START, _checkpoint, build_registry, cli_env, run_verify, verifier_of
from tests.integration.test_verify_replay import _entries, verifier_signer
from tests.serverproc import ARCREG, clean_env


def _append_signed(engine, config, kind: str, payload: dict) -> int:
    clock = FrozenClock(START)
    with UnitOfWork(session_factory(engine), clock) as uow:
        entry = store.append(uow.session, type=kind, actor="user:1", payload=payload, time=clock.now())
        store.sign_checkpoint(uow.session, verifier_signer(config), config.log_origin, clock.now())
        uow.commit()
    return entry.index


def _generation_from(entries, *, base_kg: Decimal, quantity: Decimal | None = None) -> dict:
    """A `block.generated` payload for the demo's PP lot, on fresh serials."""
    first_pp = next(e for e in entries if e["type"] == "block.generated" and e["payload"]["arc_type"] == "PP")
    lot = next(e for e in entries if e["type"] == "lot.registered" and e["payload"]["lot"] == first_pp["payload"]["lot"])
    used = Decimal(first_pp["payload"]["lot_used_kg"])
    material = classification.parse_material_code(lot["payload"]["material_code"])
    if quantity is None:
        quantity = quantities.generation_quantity(
            material, used_before_kg=used, mass_kg=base_kg,
            non_plastic_fraction=Decimal(lot["payload"]["non_plastic_fraction"]))
    high = max(e["payload"]["last"] for e in entries
               if e["type"] == "block.generated" and e["payload"]["generator"] == first_pp["payload"]["generator"]
               and e["payload"]["generation_year"] == first_pp["payload"]["generation_year"])
    first, last = high + 1, high + int(quantity * 1000)
    payload = dict(first_pp["payload"])
    payload.update(serial=f"{payload['arc_code']}-{payload['generation_year']}-{payload['generator']}-"
                          f"{first:012d}-{last:012d}", first=first, last=last, quantity=format(quantity, "f"),
                   base_kg=format(base_kg, "f"), lot_used_kg=format(used + base_kg, "f"))
    if "requested" in payload:  # R-U6: the request the base mass follows from
        payload["requested"] = {"value": format(base_kg, "f"), "unit": "kg"}
    return payload


def _fails_at(engine, config, tmp_path, index: int, rule: str) -> None:
    report = run_verify(engine, config)
    assert (report.error.kind, report.error.index) == ("replay_inconsistent", index), report.failure()
    assert rule in str(report.error), report.failure()
    export = tmp_path / "log.jsonl"
    subprocess.run([ARCREG, "verify", "--export", str(export)], env=cli_env(config), capture_output=True,
                   text=True, timeout=120, check=False)
    offline = subprocess.run([ARCREG, "verify-log", str(export), "--vkey", verifier_of(config).vkey],
                             env=clean_env(), capture_output=True, text=True, timeout=120, check=False)
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert offline.stdout.startswith(f"FAILED: replay_inconsistent at index {index}: {rule}"), offline.stdout


def test_an_over_allocated_generation_in_a_signed_log_fails_verification(engine, db_url, tmp_path):
    """The demo's PP lot: 400 t sold with a 50% claim, 150 t already backs ARCs:
    50 t are left. A signed entry generating 100 t more breaks R-B4."""
    config = build_registry(engine, db_url, tmp_path)
    payload = _generation_from(_entries(engine), base_kg=Decimal("100000.000"))
    index = _append_signed(engine, config, "block.generated", payload)
    _fails_at(engine, config, tmp_path, index, "R-B4")


def test_every_rule_breaking_entry_is_reported_not_just_the_first(engine, db_url, tmp_path):
    """A registry holding entries written before a rule existed: `arcreg verify`
    lists each of them with its index and rule (docs/decisions.md says how an
    administrator corrects them), and no later entry is lost to the first."""
    config = build_registry(engine, db_url, tmp_path)
    first = _append_signed(engine, config, "block.generated",
                           _generation_from(_entries(engine), base_kg=Decimal("100000.000")))
    second = _append_signed(engine, config, "block.generated",
                            _generation_from(_entries(engine), base_kg=Decimal("10000.000"), quantity=Decimal("20.000")))
    report = run_verify(engine, config)
    assert report.error.index == first and [f.index for f in report.findings][:2] == [first, second]
    text = report.failure()
    assert f"FAILED: replay_inconsistent at index {first}: R-B4" in text
    assert f"also at index {second}: R-K2/R-K4" in text


def test_a_generation_with_more_certificates_than_its_material_gives_fails(engine, db_url, tmp_path):
    """10 t of the PP lot make 10 certificates; a signed entry issuing 20 breaks R-K4."""
    config = build_registry(engine, db_url, tmp_path)
    payload = _generation_from(_entries(engine), base_kg=Decimal("10000.000"), quantity=Decimal("20.000"))
    index = _append_signed(engine, config, "block.generated", payload)
    _fails_at(engine, config, tmp_path, index, "R-K2/R-K4")


def test_a_generation_while_the_certificate_was_suspended_fails_verification(engine, db_url, tmp_path):
    """R-P2, R-C3, RMS 8.6.4: on the day of a signed generation entry the
    generator's only certificate was suspended."""
    config = build_registry(engine, db_url, tmp_path)
    entries = _entries(engine)
    payload = _generation_from(entries, base_kg=Decimal("10000.000"))
    number = next(e["payload"]["certificate"] for e in entries if e["type"] == "certificate.recorded"
                  and e["payload"]["participant"] == payload["generator"])
    with UnitOfWork(session_factory(engine), FrozenClock(START)) as uow:
        certifier = actor_of(uow.session.exec(select(User).where(User.role == "certifier")).first())
        rms_certificates.add_event(uow, certifier, number, kind="suspended", on=START.date(), reason="audit finding")
        uow.commit()
    index = _append_signed(engine, config, "block.generated", payload)
    _fails_at(engine, config, tmp_path, index, "R-P2")


def test_a_transfer_after_the_use_period_fails_verification(engine, db_url, tmp_path, monkeypatch):
    """R-E1, R-T3: a transfer logged on 1 January 2028 of a block generated in
    2026, written by a service whose use-period check was bypassed (expiry had
    not run yet), is refused by replay, dated by the entry's own time."""
    config = Config(database_url=db_url, clock=START.isoformat(), signing_key_file=tmp_path / "key.pem")
    build_demo(engine, config)  # blocks of 2026; no expiry run
    _checkpoint(engine, config, FrozenClock(START))
    clock = FrozenClock(datetime(2028, 1, 1, 9, 0, tzinfo=UTC))
    with UnitOfWork(session_factory(engine), clock) as uow:
        admin = actor_of(uow.session.exec(select(User).where(User.role == "admin")).one())
        block = uow.session.exec(select(Block).where(Block.state == "active").order_by(Block.serial)).first()
        owner = block.owner_id
        other = uow.session.exec(select(Participant.id).where(Participant.id != owner)).first()
        monkeypatch.setattr(transfers, "require_in_use_period", lambda year, today: None)
        moved = transfers.transfer(uow, admin, serial=block.serial, quantity=Decimal("0.001"), to_participant_id=other)
        index = moved.log.index
        store.sign_checkpoint(uow.session, verifier_signer(config), config.log_origin, clock.now())
        uow.commit()
    report = run_verify(engine, config)
    assert any(f.index == index and "R-E1" in str(f) for f in report.findings), report.failure()


def test_a_correct_generation_appended_the_same_way_verifies(engine, db_url, tmp_path):
    """The control: the same construction within the rules passes replay, so the
    two failures above come from the rules, not from the construction."""
    config = build_registry(engine, db_url, tmp_path)
    payload = _generation_from(_entries(engine), base_kg=Decimal("10000.000"))
    _append_signed(engine, config, "block.generated", payload)
    report = run_verify(engine, config)
    # Replay accepts the entry; only the tables, which the writer bypassed, differ from the log.
    assert report.error.kind == "state_drift", report.failure()
    assert "used_kg" in str(report.error) and "160000.000" in str(report.error), report.failure()
