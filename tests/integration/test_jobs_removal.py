"""Removal of generators without a valid RMS certificate for more than a
year, and forfeiture of what they generated and still hold (R-E4, RMS
8.5.3): the pure "inactive since" rule, then the job on SQLite and
PostgreSQL against a registry built through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

import chainlog.store
from registry.actors import SYSTEM
from registry.blocks import end_block
from registry.certification import CertificateEvent
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry.jobs import run_daily_jobs
from registry.journal import record
from registry.migrate import alembic_config, upgrade
from registry.models import Block, Participant
from registry.removal import inactive_since, removal_due
from registry.signing import load_signer
from registry.verification import verify_registry
from tests.api.driver import Generator, snapshot, t
from tests.api.test_errors_and_health import assert_problem


# -- the pure rule ----------------------------------------------------------------------------

def cert(number="RMS-NSF-00001", issued="2025-01-01", expires="2026-12-31"):
    return SimpleNamespace(number=number, issued_on=date.fromisoformat(issued),
                           expires_on=date.fromisoformat(expires))


def ev(kind, on):
    return CertificateEvent(kind=kind, on=date.fromisoformat(on), reason="audit")


def since(certs, events=None, today="2028-01-02"):
    return inactive_since(certs, events or {}, date.fromisoformat(today))


def test_inactive_from_the_day_after_expiry():
    assert since([cert()]) == date(2027, 1, 1)
    assert since([cert()], today="2026-12-31") is None  # valid today
    assert since([cert()], today="2027-01-01") == date(2027, 1, 1)


def test_the_latest_certificate_counts():
    older, renewed = cert("RMS-NSF-00001"), cert("RMS-NSF-00002", "2027-01-01", "2027-06-30")
    assert since([older, renewed]) == date(2027, 7, 1)
    assert since([renewed, older]) == date(2027, 7, 1)


def test_suspension_and_revocation_end_validity_on_their_date():
    c = cert(expires="2027-12-31")
    assert since([c], {c.number: [ev("suspended", "2026-04-01")]}) == date(2026, 4, 1)
    assert since([c], {c.number: [ev("revoked", "2026-04-01")]}) == date(2026, 4, 1)
    # Reinstated: valid again from the reinstatement until expiry.
    events = {c.number: [ev("suspended", "2026-04-01"), ev("reinstated", "2026-05-01")]}
    assert since([c], events) == date(2028, 1, 1)
    assert since([c], events, today="2026-04-15") == date(2026, 4, 1)  # while suspended
    assert since([c], events, today="2026-05-01") is None
    # Suspended past its expiry and never reinstated: the suspension date.
    assert since([c], {c.number: [ev("suspended", "2027-06-01"), ev("reinstated", "2028-02-01")]}) \
        == date(2027, 6, 1)


def test_never_valid_is_never_a_generator():
    assert since([]) is None
    assert since([cert(issued="2029-01-01", expires="2029-12-31")]) is None
    c = cert()
    assert since([c], {c.number: [ev("revoked", "2025-01-01")]}) is None


@pytest.mark.parametrize(("inactive", "today", "due"), [
    ("2027-01-01", "2027-06-01", False),
    ("2027-01-01", "2028-01-01", False),  # exactly one year
    ("2027-01-01", "2028-01-02", True),  # more than one year (R-E4)
    ("2024-02-29", "2025-02-28", False),
    ("2024-02-29", "2025-03-01", True),
])
def test_removal_is_due_after_more_than_one_year(inactive, today, due):
    assert removal_due(date.fromisoformat(inactive), date.fromisoformat(today)) is due
    assert removal_due(None, date.fromisoformat(today)) is False


# -- the job --------------------------------------------------------------------------------

def _block(driver, gen, mass=t(10)) -> dict:
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=mass)
    driver.sell(gen.token, lot["id"], mass)
    return driver.generate(gen.token, lot["id"])


def _run_on(engine, clock, day: str) -> dict:
    clock.set(datetime.fromisoformat(day).replace(tzinfo=UTC))
    return run_daily_jobs(session_factory(engine), clock)


def _status(driver, participant_id) -> str:
    return driver.get(f"/participants/{participant_id}", driver.admin).get_json()["status"]


def _removed_on(driver, participant_id) -> str | None:
    """R-E4: the day its registration as a generator ended (its account stays)."""
    return driver.get(f"/participants/{participant_id}", driver.admin).get_json()["generator_removed_on"]


def _state(driver, serial) -> str:
    return driver.get(f"/blocks/{serial}").get_json()["state"]


def _entries(engine, event_type):
    with session_factory(engine)() as session:
        return [e for e in chainlog.store.iter_entries(session) if e.type == event_type]


def _generator_with(driver, name, **certificate) -> Generator:
    """An active generator like ``driver.generator()``, its RMS certificate
    with the given dates."""
    participant = driver.participant(name)
    member = driver.member(participant["id"])
    certifier = driver.certifier()
    number = driver.certificate(certifier, participant["id"], **certificate)["number"]
    facility = driver.facility(member, participant["id"])
    determination = driver.determination(certifier, facility["id"])
    return Generator(participant["id"], member, certifier, number, facility["id"], determination["id"])


def test_removed_more_than_a_year_after_its_certificate_expired(driver, engine, clock):
    gen = _generator_with(driver, "Lapsed Plastics", issued_on="2025-01-01", expires_on="2026-12-31")
    trader = driver.participant("Trading House")  # no certificate: never a generator
    block = _block(driver, gen)

    assert _run_on(engine, clock, "2027-06-01")["removal"] == {"status": "ran", "removed": 0, "forfeited": 0}
    assert _run_on(engine, clock, "2028-01-01")["removal"]["removed"] == 0  # exactly one year
    assert _status(driver, gen.id) == "active" and _removed_on(driver, gen.id) is None
    result = _run_on(engine, clock, "2028-01-02")
    assert result["removal"] == {"status": "ran", "removed": 1, "forfeited": 0}
    # R-E4: removed as a generator; the account and its status stay (RMS 8.1.2).
    assert _removed_on(driver, gen.id) == "2028-01-02" and _status(driver, gen.id) == "active"
    assert _removed_on(driver, trader["id"]) is None
    # Its 2026 block left circulation at the end of 2027 as expired (R-E1):
    # expiry runs first, and an expired certificate is not forfeited again.
    assert _state(driver, block["serial"]) == "expired"

    (entry,) = _entries(engine, "participant.generator_removed")
    assert entry.actor == "system" and entry.payload["participant"] == gen.id
    assert entry.payload["status"] == "active" and entry.payload["inactive_since"] == "2027-01-01"
    assert entry.payload["generator_removed_on"] == "2028-01-02"
    assert _entries(engine, "participant.removed") == []
    # A removed generator is skipped afterwards.
    assert _run_on(engine, clock, "2028-01-03")["removal"]["removed"] == 0
    assert len(_entries(engine, "participant.generator_removed")) == 1


def test_held_certificates_are_forfeited_sold_ones_stay_active(driver, engine, clock):
    gen = driver.generator("Suspended Polymers")
    brand = driver.participant("Brand Co")
    kept, partly_sold, sold = _block(driver, gen), _block(driver, gen), _block(driver, gen)
    split = driver.ok("/transfers", {"serial": partly_sold["serial"], "quantity": "4.000",
                                     "to_participant_id": brand["id"]}, gen.token)
    driver.ok("/transfers", {"serial": sold["serial"], "quantity": sold["quantity"],
                             "to_participant_id": brand["id"]}, gen.token)
    # Its certificate (valid to 2027-12-31) is suspended from 2026-04-01, never reinstated.
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-04-01", "reason": "audit"},
              gen.certifier, status=200)

    assert _run_on(engine, clock, "2027-04-01")["removal"]["removed"] == 0
    result = _run_on(engine, clock, "2027-04-02")
    assert result["removal"] == {"status": "ran", "removed": 1, "forfeited": 2}
    assert _removed_on(driver, gen.id) == "2027-04-02" and _status(driver, gen.id) == "active"
    held = [kept["serial"], split["remainder"]["serial"]]
    assert [_state(driver, s) for s in held] == ["forfeited", "forfeited"]
    # RMS 8.5.1: what it sold stays with the buyer, active and usable.
    for serial in (split["moved"]["serial"], sold["serial"]):
        assert _state(driver, serial) == "active"
    brand_token = driver.member(brand["id"])
    driver.ok("/retirements", {"serial": sold["serial"], "quantity": "1.000", "beneficiary": "Brand Co",
                               "claim_type": "general", "reporting_year": 2027}, brand_token)

    forfeited = _entries(engine, "block.forfeited")
    assert sorted(e.payload["serial"] for e in forfeited) == sorted(held)
    (removed,) = _entries(engine, "participant.generator_removed")
    assert all(e.index > removed.index and e.payload["participant"] == gen.id for e in forfeited)
    for entry in forfeited:
        assert entry.payload["state"] == "forfeited" and entry.payload["prev"]["index"] < removed.index
        assert driver.get(f"/blocks/{entry.payload['serial']}").get_json()["log"]["index"] == entry.index


def test_a_reinstated_certificate_keeps_the_generator(driver, engine, clock):
    gen = driver.generator("Reinstated Resins")
    block = _block(driver, gen)
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-04-01", "reason": "audit"},
              gen.certifier, status=200)
    driver.ok(f"/rms-certificates/{gen.certificate}/reinstate", {"on": "2026-05-01", "reason": "cleared"},
              gen.certifier, status=200)
    assert _run_on(engine, clock, "2027-04-02")["removal"]["removed"] == 0
    assert _status(driver, gen.id) == "active" and _state(driver, block["serial"]) == "active"
    # Valid to 2027-12-31: inactive from 2028-01-01, removed from 2029-01-02.
    assert _run_on(engine, clock, "2029-01-01")["removal"]["removed"] == 0
    assert _run_on(engine, clock, "2029-01-02")["removal"]["removed"] == 1


def test_a_certificate_without_reprocessing_makes_no_generator(driver, engine, clock):
    trader = driver.participant("Certified Trader")
    certifier = driver.certifier()
    driver.certificate(certifier, trader["id"], activities=["trading"], expires_on="2026-06-30")
    assert _run_on(engine, clock, "2028-01-02")["removal"]["removed"] == 0
    assert _status(driver, trader["id"]) == "active"


# -- issue 15, item 6: removal ends the generator registration, not the account -------------------

def _log_size(engine) -> int:
    with session_factory(engine)() as session:
        return chainlog.store.size(session)


def _verify(driver, engine, db_url, tmp_path):
    """R-L7: replay of the whole log agrees with the tables (a checkpoint signed first)."""
    assert driver.get("/log/checkpoint").status_code == 200
    config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem")  # the app fixture's key
    with session_factory(engine)() as session:
        return verify_registry(session, [load_signer(config).verifier], record=False)


def _lapsing_generator_that_bought(driver):
    """A generator whose certificate is suspended from 2026-04-01 (never reinstated: removal
    is due on 2027-04-02), holding a block it generated, 5 ARCs bought from another
    generator, and a sold lot it has not generated from yet."""
    gen = driver.generator("Lapsing Resins")
    seller = driver.generator("Steady Polymers")
    own = _block(driver, gen)
    waiting = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    driver.sell(gen.token, waiting["id"], t(10))
    bought = driver.ok("/transfers", {"serial": _block(driver, seller)["serial"], "quantity": "5.000",
                                      "to_participant_id": gen.id}, seller.token)["moved"]
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-04-01", "reason": "audit"},
              gen.certifier, status=200)
    return gen, own, bought, waiting


def test_removal_leaves_what_the_generator_bought_its_own_and_usable(driver, engine, clock, db_url, tmp_path):
    """The audit's reproduction (R-E4, SPEC §16, RMS 8.1.2): after removal its own block is
    forfeited, and the block it bought is still active *and movable* — before, transfer and
    retirement answered participant_inactive and activation participant_removed."""
    gen, own, bought, waiting = _lapsing_generator_that_bought(driver)
    brand = driver.participant("Brand Co")
    result = _run_on(engine, clock, "2027-04-02")
    assert result["removal"] == {"status": "ran", "removed": 1, "forfeited": 1}
    assert _state(driver, own["serial"]) == "forfeited" and _state(driver, bought["serial"]) == "active"
    assert _status(driver, gen.id) == "active" and _removed_on(driver, gen.id) == "2027-04-02"

    # It trades and retires what it bought.
    moved = driver.ok("/transfers", {"serial": bought["serial"], "quantity": "2.000",
                                     "to_participant_id": brand["id"]}, gen.token)
    driver.ok("/retirements", {"serial": moved["remainder"]["serial"], "quantity": "1.000",
                               "beneficiary": "Lapsing Resins", "claim_type": "general",
                               "reporting_year": 2027}, gen.token)
    # It generates no more (R-E4): refused, nothing written.
    before, size = snapshot(engine), _log_size(engine)
    problem = assert_problem(driver.post("/generations", {"lot_id": waiting["id"]}, gen.token), 422,
                             "generator_removed")
    assert problem["rule"] == "R-E4"
    assert _log_size(engine) == size and snapshot(engine) == before
    # Its account was never closed: there is nothing to re-activate.
    assert_problem(driver.post(f"/participants/{gen.id}/activate", token=driver.admin), 422, "already_active")
    # Replay agrees: participant.generator_removed keeps the status, forfeits follow it.
    report = _verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.failure()


def _generator_removal_revision() -> tuple[str, str]:
    """(revision, down revision) of the migration that introduced the generator flag."""
    scripts = ScriptDirectory.from_config(alembic_config())
    (script,) = [s for s in scripts.walk_revisions() if s.path.endswith("_generator_removal.py")]
    return script.revision, script.down_revision


def test_a_registry_that_removed_participants_before_the_flag_is_migrated(driver, engine, clock, db_url,
                                                                          tmp_path):
    """Registries written before the flag hold ``participant.removed`` entries (status
    "removed"). The migration gives each participant back the status it had before that
    entry and flags it as a removed generator; replay reads the old entry the same way,
    so the registry still verifies, and what the participant bought becomes usable."""
    gen, own, bought, _ = _lapsing_generator_that_bought(driver)
    idle = _generator_with(driver, "Idle Extruders", issued_on="2025-01-01", expires_on="2026-03-31")
    driver.ok(f"/participants/{idle.id}/suspend", {"reason": "unpaid fees"}, status=200)
    clock.set(datetime(2027, 4, 2, 0, 30, tzinfo=UTC))
    with UnitOfWork(session_factory(engine), clock) as uow:  # what the removal job wrote before the flag
        for pid in (gen.id, idle.id):
            participant = uow.session.get(Participant, pid)
            participant.status = "removed"
            uow.flush()
            record(uow, "participant.removed", SYSTEM, {
                "participant": pid, "name": participant.name, "country": participant.country,
                "status": "removed", "gpp_signed_on": "2025-06-01", "inactive_since": "2026-04-01",
                "reason": "no valid RMS certificate covering reprocessing for more than one year (RMS 8.5.3)"})
        end_block(uow, uow.session.get(Block, own["serial"]), "forfeited", "block.forfeited", SYSTEM,
                  participant=gen.id)
        uow.commit()
    revision, down = _generator_removal_revision()
    config = alembic_config()
    with engine.begin() as connection:  # undo the later migrations first: the upgrade below re-runs them
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    with engine.begin() as connection:  # the schema as it was before the migration
        connection.execute(text("ALTER TABLE participant DROP COLUMN generator_removed_on"))
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": down})
    upgrade(engine)  # this migration, then the later ones again
    engine.dispose()  # no pooled connection keeps a plan of the old table (PostgreSQL)

    assert (_status(driver, gen.id), _removed_on(driver, gen.id)) == ("active", "2027-04-02")
    assert (_status(driver, idle.id), _removed_on(driver, idle.id)) == ("suspended", "2027-04-02")
    report = _verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.failure()
    driver.ok("/transfers", {"serial": bought["serial"], "quantity": "5.000",
                             "to_participant_id": driver.participant("Brand Co")["id"]},
              gen.token)
    assert _run_on(engine, clock, "2027-04-03")["removal"]["removed"] == 0  # not removed twice
