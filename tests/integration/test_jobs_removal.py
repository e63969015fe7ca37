"""Removal of generators without a valid RMS certificate for more than a
year, and forfeiture of what they generated and still hold (R-E4, RMS
8.5.3): the pure "inactive since" rule, then the job on SQLite and
PostgreSQL against a registry built through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

import chainlog.store
from registry.certification import CertificateEvent
from registry.db import session_factory
from registry.jobs import run_daily_jobs
from registry.removal import inactive_since, removal_due
from tests.api.driver import Generator, t
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
    assert _status(driver, gen.id) == "active"
    result = _run_on(engine, clock, "2028-01-02")
    assert result["removal"] == {"status": "ran", "removed": 1, "forfeited": 0}
    assert _status(driver, gen.id) == "removed" and _status(driver, trader["id"]) == "active"
    # Its 2026 block left circulation at the end of 2027 as expired (R-E1):
    # expiry runs first, and an expired certificate is not forfeited again.
    assert _state(driver, block["serial"]) == "expired"

    (entry,) = _entries(engine, "participant.removed")
    assert entry.actor == "system" and entry.payload["participant"] == gen.id
    assert entry.payload["status"] == "removed" and entry.payload["inactive_since"] == "2027-01-01"
    # A removed participant is skipped afterwards, and cannot come back.
    assert _run_on(engine, clock, "2028-01-03")["removal"]["removed"] == 0
    assert len(_entries(engine, "participant.removed")) == 1
    assert_problem(driver.post(f"/participants/{gen.id}/activate", token=driver.admin), 422,
                   "participant_removed")


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
    assert _status(driver, gen.id) == "removed"
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
    (removed,) = _entries(engine, "participant.removed")
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
