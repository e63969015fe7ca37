"""R-A2, R-A8, R-A9 on production lines, as the offline replay re-checks them
(registry/replay/block_events.py, ``_check_additionality``), on SQLite and PostgreSQL.

A lot processed on a line generates under the line's determination when the
line has one, and its base mass counts against the line's eligible volume
and against the facility's ceiling for the year, which line determinations
carve out of and never add to (R-A9). As in `test_replay_rules`: a real
registry built through the HTTP API verifies; then a copy of a generation the
services wrote, changed only where it breaks the rule, is refused at its
index, and the same copy within the limit (the control) replays and fails
only on the tables, which never saw it.
"""

from __future__ import annotations

from decimal import Decimal

from tests.api.driver import t
from tests.integration.test_replay_block_checks import _refused, _replays
from tests.integration.test_replay_rules import _generation_beside, _lot, log

__all__ = ["log"]  # the fixture, used by name


def _line_plant(driver, gen, *, capacity, line_capacity, facility_mandate="0"):
    """A facility with one line, a determination for each (eligible = capacity x (1 - mandate share))."""
    plant = driver.facility(gen.token, gen.id, capacity=capacity, name="Two-level plant")
    line = driver.ok(f"/facilities/{plant['id']}/lines", {"name": "Line 1", "capacity": line_capacity}, gen.token)
    on_plant = driver.determination(gen.certifier, plant["id"], mandate_share=facility_mandate)
    on_line = driver.determination(gen.certifier, plant["id"], line_id=line["id"])
    return plant, line, on_plant, on_line


def _sold_lot(driver, gen, plant, line=None):
    """5 t sold at the plant, on the line if one is given."""
    return _lot(driver, gen, t(5), t(5), facility_id=plant["id"], **({"line_id": line["id"]} if line else {}))


def _line_generation(driver, log, gen, plant, line, mass, on_line):
    lot = _sold_lot(driver, gen, plant, line)
    block = driver.generate(gen.token, lot["id"], mass=mass)
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    assert real.payload["determination"] == on_line["id"]  # the line's own, not the facility's
    return real


def test_r_a2_a_line_generation_beyond_the_lines_eligible_volume_is_refused(driver, log):
    gen = driver.generator()
    plant, line, _, on_line = _line_plant(driver, gen, capacity=t(3), line_capacity=t(1))
    assert on_line["eligible_kg"] == "1000.000"
    real = _line_generation(driver, log, gen, plant, line, t("0.6"), on_line)  # units 1..600 on the line
    # 0.5 t more on the line: the facility has 2.4 t left, the line only 0.4 t.
    log.append("block.generated", _generation_beside(real, 601, 500, Decimal(1100), Decimal(5000)), real.actor)
    _refused(log, len(log.entries()) - 1, "line")


def test_r_a2_control_a_line_generation_within_the_lines_eligible_volume_replays(driver, log):
    gen = driver.generator()
    plant, line, _, on_line = _line_plant(driver, gen, capacity=t(3), line_capacity=t(1))
    real = _line_generation(driver, log, gen, plant, line, t("0.6"), on_line)
    log.append("block.generated", _generation_beside(real, 601, 400, Decimal(1000), Decimal(5000)), real.actor)
    _replays(log)


def test_r_a9_a_line_generation_beyond_the_facilitys_ceiling_is_refused(driver, log):
    """Facility 1 000 kg (2 t at a 0.5 mandate share), line 1 000 kg: the ceiling is 1 000 kg, not 2 000."""
    gen = driver.generator()
    plant, line, on_plant, on_line = _line_plant(driver, gen, capacity=t(2), line_capacity=t(1),
                                                 facility_mandate="0.5")
    assert (on_plant["eligible_kg"], on_line["eligible_kg"]) == ("1000.000", "1000.000")
    elsewhere = _sold_lot(driver, gen, plant)  # off the line: counts against the facility only
    driver.generate(gen.token, elsewhere["id"], mass=t("0.6"))  # units 1..600
    real = _line_generation(driver, log, gen, plant, line, t("0.1"), on_line)  # units 601..700
    # 0.5 t more on the line: the line has 0.9 t left, the facility 0.3 t.
    log.append("block.generated", _generation_beside(real, 701, 500, Decimal(600), Decimal(5000)), real.actor)
    _refused(log, len(log.entries()) - 1, "the facility")


def test_r_a9_control_a_line_generation_within_the_facilitys_ceiling_replays(driver, log):
    gen = driver.generator()
    plant, line, _, on_line = _line_plant(driver, gen, capacity=t(2), line_capacity=t(1), facility_mandate="0.5")
    elsewhere = _sold_lot(driver, gen, plant)
    driver.generate(gen.token, elsewhere["id"], mass=t("0.6"))
    real = _line_generation(driver, log, gen, plant, line, t("0.1"), on_line)
    log.append("block.generated", _generation_beside(real, 701, 300, Decimal(400), Decimal(5000)), real.actor)
    _replays(log)


def test_r_a8_a_line_lot_generating_under_its_facilitys_determination_is_refused(driver, log):
    """The line has a current determination of its own: the facility's does not cover its lots."""
    gen = driver.generator()
    plant, line, on_plant, on_line = _line_plant(driver, gen, capacity=t(3), line_capacity=t(1))
    real = _line_generation(driver, log, gen, plant, line, t("0.1"), on_line)
    crafted = _generation_beside(real, 101, 100, Decimal(200), Decimal(5000))
    crafted["determination"] = on_plant["id"]
    log.append("block.generated", crafted, real.actor)
    _refused(log, len(log.entries()) - 1, "R-A8")


def test_a_facility_lot_generates_under_the_facility_determination_beside_a_line_determination(driver, log):
    """The control of R-A8 the other way round: a lot on no line is the facility's, whatever its lines have."""
    gen = driver.generator()
    plant, _, on_plant, _ = _line_plant(driver, gen, capacity=t(3), line_capacity=t(1))
    lot = _sold_lot(driver, gen, plant)
    block = driver.generate(gen.token, lot["id"], mass=t("0.1"))
    log.assert_verifies()
    assert log.last("block.generated", serial=block["serial"]).payload["determination"] == on_plant["id"]


def test_r_a9_a_cancel_on_a_line_gives_the_facilitys_ceiling_back_once(driver, log):
    """R-E5, R-A9: a block cancelled on a line gives its mass back to the facility-year as well as to
    the line. Facility and line 1 000 kg each (the ceiling 1 000 kg): 600 kg on the line, cancelled,
    then 400 kg on it; 600 kg more off the line (the control) replays, 100 kg after them do not."""
    gen = driver.generator()
    plant, line, on_plant, on_line = _line_plant(driver, gen, capacity=t(2), line_capacity=t(1),
                                                 facility_mandate="0.5")
    lot = _sold_lot(driver, gen, plant, line)
    first = driver.generate(gen.token, lot["id"], mass=t("0.6"))  # units 1..600
    driver.ok(f"/blocks/{first['serial']}/cancel", {"reason": "mass entered twice"}, status=200)
    driver.generate(gen.token, lot["id"], mass=t("0.4"))  # units 601..1000
    elsewhere = _sold_lot(driver, gen, plant)
    block = driver.generate(gen.token, elsewhere["id"], mass=t("0.1"))  # units 1001..1100, off the line
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    assert real.payload["determination"] == on_plant["id"]
    log.append("block.generated", _generation_beside(real, 1101, 500, Decimal(600), Decimal(5000)), real.actor)
    _replays(log)
    bad = log.append("block.generated", _generation_beside(real, 1601, 100, Decimal(700), Decimal(5000)), real.actor)
    _refused(log, bad, "the facility")


def test_r_a8_after_the_lines_determination_is_withdrawn_its_lots_generate_under_the_facilitys(driver, log):
    """R-A8, R-A7: a withdrawn determination covers nothing. Once the line's is withdrawn, a lot on
    the line generates under the facility's determination, and replay finds that one covering it
    (the withdrawal takes the line's out of the current determinations) — the log verifies."""
    gen = driver.generator()
    plant, line, on_plant, on_line = _line_plant(driver, gen, capacity=t(3), line_capacity=t(1))
    _line_generation(driver, log, gen, plant, line, t("0.6"), on_line)
    driver.ok(f"/determinations/{on_line['id']}/withdraw", {"reason": "new audit findings"}, gen.certifier,
              status=200)
    lot = _sold_lot(driver, gen, plant, line)
    block = driver.generate(gen.token, lot["id"], mass=t(1))
    assert log.last("block.generated", serial=block["serial"]).payload["determination"] == on_plant["id"]
    log.assert_verifies()
