"""R-L7c for the R-G1 rules generation checks on its lot (issue 20 items 1
and 2): replay re-checks, at the time of each ``block.generated`` entry, the
certificate the lot cites (on the lot's processing date, with the
certificate events known at that entry) and the one-year rule (calendar
arithmetic). Each crafted entry is a copy of one the service wrote, changed
only where the rule is broken (see test_replay_rules). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from registry.blocks import format_serial
from tests.api.driver import t
from tests.api.test_generation_one_year import generator_since
from tests.integration.test_replay_rules import _generation_beside, log  # noqa: F401  (fixture)


def _lot(driver, gen, processed_on, certificate=None, sold_on=None):
    lot = driver.lot(gen.token, gen.facility_id, certificate or gen.certificate, mass=t(10),
                     processed_on=processed_on)
    driver.sell(gen.token, lot["id"], t(10), on=sold_on or processed_on)
    return lot


def _generation_from(real, lot: dict, first: int) -> dict:
    """The real entry's copy for 1 t of another lot of the same generator and determination."""
    p = _generation_beside(real, first, 1000, Decimal(1000), Decimal(10000))
    p.update(lot=lot["id"], lot_reference=lot["reference"], prev=lot["log"])
    p["serial"] = format_serial(p["arc_code"], p["generation_year"], p["generator"], first, first + 999)
    return p


def test_a_generation_from_a_lot_whose_certificate_was_revoked_back_to_before_processing_is_refused(driver, log):
    gen = driver.generator()
    good = _lot(driver, gen, "2026-01-10")
    lot = _lot(driver, gen, "2026-02-10")
    block = driver.generate(gen.token, good["id"], mass=t(1))  # units 1..1000
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2026-01-15", "reason": "finding"},
              gen.certifier, status=200)
    driver.certificate(gen.certifier, gen.id, issued_on="2026-01-16")  # renewal: the generator may generate
    log.assert_verifies()  # the generation before the revocation replays: its events were known then
    real = log.last("block.generated", serial=block["serial"])
    bad = log.append("block.generated", _generation_from(real, lot, 1001), real.actor)
    log.assert_refused_at(bad)


def test_control_a_generation_from_a_lot_processed_before_the_revocation_replays(driver, log):
    gen = driver.generator()
    good = _lot(driver, gen, "2026-01-10")
    other = _lot(driver, gen, "2026-01-12")
    block = driver.generate(gen.token, good["id"], mass=t(1))
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2026-01-15", "reason": "finding"},
              gen.certifier, status=200)
    driver.certificate(gen.certifier, gen.id, issued_on="2026-01-16")
    real = log.last("block.generated", serial=block["serial"])
    log.append("block.generated", _generation_from(real, other, 1001), real.actor)
    report = log.verify()  # consistent: only the tables lack the block
    assert (report.error.kind, report.error.index) == ("state_drift", None), report.failure()


def test_a_generation_from_a_lot_citing_a_trading_only_certificate_is_refused(driver, log):
    gen = driver.generator()
    trading = driver.certificate(gen.certifier, gen.id, activities=["trading"])
    good = _lot(driver, gen, "2026-02-10")
    lot = _lot(driver, gen, "2026-02-10", certificate=trading["number"])
    block = driver.generate(gen.token, good["id"], mass=t(1))
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    bad = log.append("block.generated", _generation_from(real, lot, 1001), real.actor)
    log.assert_refused_at(bad)


def test_a_generation_on_a_leap_day_from_a_lot_processed_a_year_and_a_day_before_is_refused(driver, log, clock):
    clock.set(datetime(2024, 2, 29, 12, 0, tzinfo=UTC))
    gen = generator_since(driver, 2023)
    good = _lot(driver, gen, "2023-03-01", sold_on="2023-03-02")
    old = _lot(driver, gen, "2023-02-28", sold_on="2023-03-02")
    block = driver.generate(gen.token, good["id"], mass=t(1))
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    bad = log.append("block.generated", _generation_from(real, old, 1001), real.actor)
    log.assert_refused_at(bad)

