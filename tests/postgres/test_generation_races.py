"""R-B4, R-A9, R-X5 on PostgreSQL: generations and claimed sales racing on one lot, and
generations from two lots racing on one facility-year, from many connections at once,
never count the same mass twice — claims + ARCs <= sold <= lot mass, per lot, and the
ARCs of a facility-year never exceed its determination's eligible volume. Each outcome
is either a commit or a named refusal; any other error fails the test."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from sqlmodel import func, select

import chainlog.store
from registry import generation, lots
from registry.db import session_factory
from registry.models import Block, Determination, Lot
from registry.units import parse_mass
from tests.api.driver import t
from tests.races import race

THREADS = 12


def _generate(lot_id: int, tonnes: str):
    return lambda uow, actor: generation.generate(uow, actor, lot_id=lot_id,
                                                  mass=parse_mass({"value": tonnes, "unit": "t"}))


def _claimed_sale(lot_id: int, tonnes: str):
    return lambda uow, actor: lots.add_disposition(uow, actor, lot_id, kind="sale", on=date(2026, 2, 20),
                                                   counterparty="Brand Co",
                                                   mass=parse_mass({"value": tonnes, "unit": "t"}),
                                                   claim="RMS 100% PC MB")


def _lot(engine, lot_id: int) -> Lot:
    with session_factory(engine)() as session:
        return session.get(Lot, lot_id)


def _logged(engine, kind: str) -> int:
    with session_factory(engine)() as session:
        return sum(1 for e in chainlog.store.iter_entries(session) if e.type == kind)


def _generated_kg(engine, lot_id: int) -> Decimal:
    with session_factory(engine)() as session:
        return session.exec(select(func.sum(Block.base_kg)).where(Block.lot_id == lot_id)).one() or Decimal(0)


def test_racing_generations_of_one_lot_use_its_mass_once(pg_driver, pg_wide_engine, pg_clock):
    gen = pg_driver.generator()
    lot = pg_driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    pg_driver.sell(gen.token, lot["id"], t(10))
    outcome = race(pg_wide_engine, pg_clock, gen.token, [_generate(lot["id"], "2")] * THREADS)
    assert outcome == Counter({"ok": 5, "lot_over_allocated": THREADS - 5}), outcome
    after = _lot(pg_wide_engine, lot["id"])
    assert after.used_kg == Decimal("10000.000") == _generated_kg(pg_wide_engine, lot["id"])
    assert _logged(pg_wide_engine, "block.generated") == 5


def test_racing_claimed_sales_and_generations_never_count_a_kilogram_twice(pg_driver, pg_wide_engine, pg_clock):
    """4 t sold unclaimed can back ARCs; sales carrying a 100% claim add sold and claimed mass alike, so
    they never add ARC-eligible mass: two 2 t generations fit, whatever the interleaving, and sales
    stop at the lot's 10 t."""
    gen = pg_driver.generator()
    lot = pg_driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    pg_driver.sell(gen.token, lot["id"], t(4))
    actions = [_generate(lot["id"], "2"), _claimed_sale(lot["id"], "2")] * (THREADS // 2)
    outcome = race(pg_wide_engine, pg_clock, gen.token, actions)
    assert outcome == Counter({"ok": 2 + 3, "lot_over_allocated": THREADS - 5}), outcome
    after = _lot(pg_wide_engine, lot["id"])
    assert (after.sold_kg, after.claimed_kg, after.used_kg) == (Decimal("10000.000"), Decimal("6000.000"),
                                                              Decimal("4000.000"))
    assert after.claimed_kg + after.used_kg <= after.sold_kg <= after.mass_kg  # R-B4
    assert after.used_kg == _generated_kg(pg_wide_engine, lot["id"])
    assert (_logged(pg_wide_engine, "block.generated"), _logged(pg_wide_engine, "lot.disposition")) == (2, 1 + 3)


def test_racing_generations_of_two_lots_stay_within_the_facility_year(pg_driver, pg_wide_engine, pg_clock):
    """R-A9: a 1 t determination (1 000 t plant, 99.9% mandated); two lots of 5 t generate 0.3 t each,
    half the threads on each lot: three fit, whichever lots they come from."""
    gen = pg_driver.generator()
    plant = pg_driver.facility(gen.token, gen.id, capacity=t(1000), name="Small plant")
    determination = pg_driver.determination(gen.certifier, plant["id"], mandate_share="0.999")
    first, second = (pg_driver.lot(gen.token, plant["id"], gen.certificate, mass=t(5)) for _ in range(2))
    for lot in (first, second):
        pg_driver.sell(gen.token, lot["id"], t(5))
    outcome = race(pg_wide_engine, pg_clock, gen.token,
                    [_generate(first["id"], "0.3"), _generate(second["id"], "0.3")] * (THREADS // 2))
    assert outcome == Counter({"ok": 3, "eligible_volume_exceeded": THREADS - 3}), outcome
    used = _generated_kg(pg_wide_engine, first["id"]) + _generated_kg(pg_wide_engine, second["id"])
    with session_factory(pg_wide_engine)() as session:
        recorded = session.get(Determination, determination["id"])
    assert used == recorded.used_kg == Decimal("900.000") <= recorded.eligible_kg == Decimal("1000.000")
