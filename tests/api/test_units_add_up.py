"""R-U6 units add up (issue 20 item 8): requests in pounds against one lot
convert as a running total, so a sequence that adds up to the lot's mass in
pounds is accepted in full (the last takes the rounding remainder), and a
request that omits its mass takes exactly what is left -- for dispositions
and generations, in the service and in replay. SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from decimal import Decimal

from tests.api.driver import t
from tests.api.test_errors_and_health import assert_problem
from tests.integration.test_replay_rules import log  # noqa: F401  (fixture)


def lb(value) -> dict:
    return {"value": str(value), "unit": "lb"}


def _lot(driver, gen, mass, **overrides) -> dict:
    return driver.lot(gen.token, gen.facility_id, gen.certificate, mass=mass, **overrides)


def _dispose(driver, gen, lot_id, mass=None):
    body = {"kind": "sale", "on": "2026-02-15", "counterparty": "Brand Co"}
    if mass is not None:
        body["mass"] = mass
    return driver.post(f"/lots/{lot_id}/dispositions", body, gen.token)


def _lot_now(driver, gen, lot_id) -> dict:
    return driver.get(f"/lots/{lot_id}", gen.token).get_json()


def test_two_50_lb_sales_of_a_100_lb_lot_sell_it_all(driver, log):
    gen = driver.generator()
    lot = _lot(driver, gen, lb(100))
    assert lot["mass_kg"] == "45.359"
    assert driver.sell(gen.token, lot["id"], lb(50))["sold_kg"] == "22.680"
    assert driver.sell(gen.token, lot["id"], lb(50))["sold_kg"] == "45.359"  # the second takes 22.679
    assert_problem(_dispose(driver, gen, lot["id"], lb("0.002")), 422, "lot_over_allocated")
    log.assert_verifies()


def test_a_3_lb_lot_sold_a_pound_at_a_time(driver, log):
    gen = driver.generator()
    lot = _lot(driver, gen, lb(3))
    sold = [driver.sell(gen.token, lot["id"], lb(1))["sold_kg"] for _ in range(3)]
    assert sold == ["0.454", "0.907", "1.361"] and lot["mass_kg"] == "1.361"
    log.assert_verifies()


def test_generating_a_100_lb_lot_in_two_50_lb_requests_uses_it_all(driver, log):
    gen = driver.generator()
    lot = _lot(driver, gen, lb(100))
    driver.sell(gen.token, lot["id"], lb(100))
    driver.generate(gen.token, lot["id"], mass=lb(50))
    assert _lot_now(driver, gen, lot["id"])["used_kg"] == "22.680"
    driver.generate(gen.token, lot["id"], mass=lb(50))  # takes 22.679
    after = _lot_now(driver, gen, lot["id"])
    assert (after["used_kg"], after["eligible_kg"], after["disclaimer_required"]) == ("45.359", "0.000", True)
    assert log.last("block.generated", lot=lot["id"]).payload["base_kg"] == "22.679"
    log.assert_verifies()


def test_a_split_lot_generates_each_component_in_pounds_to_the_last_gram(driver, log):
    """30 lb PC + 30 lb PI (13.608 kg each); 7 + 7 + 16 lb from each: the 16 lb
    alone would be 7.257 kg, as the last of the running total it takes 7.258."""
    gen = driver.generator()
    lot = _lot(driver, gen, lb(60), material_code="PC_P3.1.9", pc_mass=lb(30), pi_mass=lb(30))
    driver.sell(gen.token, lot["id"], lb(60))
    for component in ("PC", "PI"):
        for pounds in (7, 7, 16):
            driver.generate(gen.token, lot["id"], mass=lb(pounds), component=component)
        assert log.last("block.generated", lot=lot["id"]).payload["base_kg"] == "7.258"
    after = _lot_now(driver, gen, lot["id"])
    assert {c: v["used_kg"] for c, v in after["components"].items()} == {"PC": "13.608", "PI": "13.608"}
    assert after["used_kg"] == after["mass_kg"] == "27.216"
    log.assert_verifies()


def test_each_component_of_a_split_lot_keeps_its_own_running_total_of_pounds(driver, log):
    """R-U6 per component: pounds requested from one component never shift the conversion of
    the other's. 3 lb PC, then 6 lb PI, then 3 lb PC: the PI request starts from 0 lb (2.722 kg;
    from the lot's 3 lb it would be 2.721), the second PC request from PC's 3 lb (1.361 kg; from
    the PI's 6 lb it would be 1.360)."""
    gen = driver.generator()
    lot = _lot(driver, gen, t(10), material_code="PC_P3.1.9", pc_mass=t(6), pi_mass=t(4))
    driver.sell(gen.token, lot["id"], t(10))
    steps = [("PC", 3, "1.361"), ("PI", 6, "2.722"), ("PC", 3, "1.361")]
    for component, pounds, base_kg in steps:
        driver.generate(gen.token, lot["id"], mass=lb(pounds), component=component)
        assert log.last("block.generated", lot=lot["id"]).payload["base_kg"] == base_kg
    after = _lot_now(driver, gen, lot["id"])
    assert {c: v["used_kg"] for c, v in after["components"].items()} == {"PC": "2.722", "PI": "2.722"}
    log.assert_verifies()


def test_a_sale_without_a_mass_takes_exactly_what_is_left(driver, log):
    gen = driver.generator()
    lot = _lot(driver, gen, lb(100))
    driver.sell(gen.token, lot["id"], t("0.01"))
    response = _dispose(driver, gen, lot["id"])
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["sold_kg"] == "45.359"
    assert_problem(_dispose(driver, gen, lot["id"]), 422, "lot_over_allocated")  # nothing left
    log.assert_verifies()


def test_pounds_beyond_the_lot_are_still_refused(driver):
    gen = driver.generator()
    lot = _lot(driver, gen, lb(100))
    driver.sell(gen.token, lot["id"], lb(50))
    assert_problem(_dispose(driver, gen, lot["id"], lb("50.002")), 422, "lot_over_allocated")
    assert _lot_now(driver, gen, lot["id"])["sold_kg"] == "22.680"


# --- replay re-derives each request's kilograms (R-L7c) -----------------------------------------


def test_replay_refuses_a_disposition_converted_alone_instead_of_as_a_running_total(driver, log):
    gen = driver.generator()
    lot = _lot(driver, gen, lb(10))
    driver.sell(gen.token, lot["id"], lb(1))  # 0.454 kg; a second pound is 0.907 - 0.454 = 0.453 kg
    log.assert_verifies()
    real = log.last("lot.disposition", lot=lot["id"])
    crafted = copy.deepcopy(real.payload)
    crafted.update(disposition=real.payload["disposition"] + 1000, mass_kg="0.454")
    bad = log.append("lot.disposition", crafted, real.actor)
    log.assert_refused_at(bad)


def test_control_replay_accepts_the_running_total(driver, log):
    gen = driver.generator()
    lot = _lot(driver, gen, lb(10))
    driver.sell(gen.token, lot["id"], lb(1))
    real = log.last("lot.disposition", lot=lot["id"])
    crafted = copy.deepcopy(real.payload)
    crafted.update(disposition=real.payload["disposition"] + 1000, mass_kg="0.453")
    log.append("lot.disposition", crafted, real.actor)
    report = log.verify()  # consistent: only the tables lack the disposition
    assert (report.error.kind, report.error.index) == ("state_drift", None), report.failure()


def test_replay_refuses_a_take_the_rest_that_takes_less_than_the_rest(driver, log):
    gen = driver.generator()
    lot = _lot(driver, gen, lb(10))
    driver.sell(gen.token, lot["id"], lb(1))
    real = log.last("lot.disposition", lot=lot["id"])
    crafted = copy.deepcopy(real.payload)
    left = Decimal(lot["mass_kg"]) - Decimal("0.454")
    crafted.update(disposition=real.payload["disposition"] + 1000, mass_kg=format(left - Decimal("0.001"), "f"),
                   requested=None)
    bad = log.append("lot.disposition", crafted, real.actor)
    log.assert_refused_at(bad)
