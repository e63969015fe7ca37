"""RMS 8.6.3 (R-G1, issue 20 item 2): ARCs are generated within one year of
processing, by calendar arithmetic -- processed on 2023-02-28, the last day is
2024-02-28; processed on 2024-02-29, the last day is 2025-02-28. The clock is
pinned on each boundary. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from registry.generation_rules import last_generation_day
from tests.api.driver import Generator, t
from tests.api.test_generation import _refused


def generator_since(driver, year: int) -> Generator:
    """A generator certified from 1 January of ``year`` (for six years), with
    additional determinations for the production of ``year`` and the next."""
    participant = driver.participant(f"Leap Recycling {year}", gpp_signed_on=f"{year}-01-01")
    member = driver.member(participant["id"])
    certifier = driver.certifier()
    cert = driver.certificate(certifier, participant["id"], issued_on=f"{year}-01-01",
                              expires_on=f"{year + 5}-12-31")
    facility = driver.facility(member, participant["id"])
    newness = {"basis": "new_operation", "operation_start": f"{year - 1}-05-01"}
    determination = driver.determination(certifier, facility["id"], certification_year=year, newness=newness)
    driver.determination(certifier, facility["id"], certification_year=year + 1, newness=newness)
    return Generator(participant["id"], member, certifier, cert["number"], facility["id"], determination["id"])


def _sold(driver, gen, processed_on: str) -> dict:
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10), processed_on=processed_on)
    driver.sell(gen.token, lot["id"], t(10), on=processed_on)
    return lot


@pytest.mark.parametrize("processed, last", [
    ("2023-02-28", "2024-02-28"), ("2023-03-01", "2024-03-01"), ("2024-02-29", "2025-02-28"),
    ("2024-02-28", "2025-02-28"), ("2027-02-28", "2028-02-28"), ("2028-02-29", "2029-02-28"),
    ("2025-12-31", "2026-12-31"),
])
def test_the_last_generation_day_is_calendar_arithmetic(processed, last):
    assert last_generation_day(date.fromisoformat(processed)) == date.fromisoformat(last)


def _at(clock, day: str) -> None:
    clock.set(datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC))


def test_on_2024_02_29_a_lot_processed_2023_02_28_is_too_old(driver, engine, clock):
    _at(clock, "2023-03-01")
    gen = generator_since(driver, 2023)
    old, recent = _sold(driver, gen, "2023-02-28"), _sold(driver, gen, "2023-03-01")
    _at(clock, "2024-02-28")  # the last day for the lot processed 2023-02-28
    driver.generate(gen.token, old["id"], mass=t(1))
    _at(clock, "2024-02-29")
    _refused(driver, engine, gen.token, {"lot_id": old["id"]}, 422, "lot_too_old", "R-G1",
             "the lot was processed on 2023-02-28, more than one year ago: it could generate until 2024-02-28 (RMS 8.6.3)",
             "lot_id")
    assert driver.generate(gen.token, recent["id"], mass=t(1))["quantity"] == "1.000"


def test_a_lot_processed_on_a_leap_day_generates_until_2025_02_28(driver, engine, clock):
    _at(clock, "2024-02-29")
    gen = generator_since(driver, 2024)
    lot = _sold(driver, gen, "2024-02-29")
    _at(clock, "2025-02-28")
    assert driver.generate(gen.token, lot["id"], mass=t(1))["quantity"] == "1.000"
    _at(clock, "2025-03-01")
    _refused(driver, engine, gen.token, {"lot_id": lot["id"]}, 422, "lot_too_old", "R-G1",
             "the lot was processed on 2024-02-29, more than one year ago: it could generate until 2025-02-28 (RMS 8.6.3)",
             "lot_id")


def test_on_2028_02_29_a_lot_processed_2027_02_28_is_too_old(driver, engine, clock):
    _at(clock, "2027-03-01")
    gen = generator_since(driver, 2027)
    old, recent = _sold(driver, gen, "2027-02-28"), _sold(driver, gen, "2027-03-01")
    _at(clock, "2028-02-29")
    _refused(driver, engine, gen.token, {"lot_id": old["id"]}, 422, "lot_too_old", "R-G1",
             "the lot was processed on 2027-02-28, more than one year ago: it could generate until 2028-02-28 (RMS 8.6.3)",
             "lot_id")
    assert driver.generate(gen.token, recent["id"], mass=t(1))["quantity"] == "1.000"
