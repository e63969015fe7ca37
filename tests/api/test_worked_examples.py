"""SPEC §15: the worked examples on classification, additionality and
generation, end to end through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.api.driver import kg, t
from tests.api.test_errors_and_health import assert_problem

LB = "lb"


def lb(value) -> dict:
    return {"value": str(value), "unit": LB}


def _sold_lot(driver, gen, material_code, mass, claim=None, **overrides):
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, material_code, mass, **overrides)
    driver.sell(gen.token, lot["id"], mass, claim)
    return lot


def test_example_p6_1_peq_from_lhv(driver):
    gen = driver.generator()
    lot = _sold_lot(driver, gen, "PC_P2.1.1", kg(1000), non_plastic_fraction="0",
                    lhv_mj_per_kg="40.0")
    block = driver.generate(gen.token, lot["id"])
    assert block["quantity"] == "0.897"
    assert block["arc_code"] == "PC_P_PEQ_ARC"
    assert block["arc_type"] == "PEQ"


@pytest.mark.parametrize(("fraction", "quantity"), [("0.01", "0.045"), ("0.05", "0.044")],
                         ids=["1%-pigment-all-claimable", "5%-ash-capped"])
def test_example_p6_2_contamination_cap(driver, fraction, quantity):
    gen = driver.generator()
    lot = _sold_lot(driver, gen, "PC_P3.1.5", lb(100), non_plastic_fraction=fraction)
    assert lot["mass_kg"] == "45.359"
    block = driver.generate(gen.token, lot["id"])
    assert block["quantity"] == quantity
    assert block["arc_code"] == "PC_P_PE_ARC"


def test_example_8_1_no_double_counting(driver):
    gen = driver.generator()
    lot = _sold_lot(driver, gen, "PC_P3.1.9", t(10000), claim="RMS 75% PC MB")
    current = driver.get(f"/lots/{lot['id']}", gen.token).get_json()
    assert current["claimed_kg"] == "7500000.000"
    assert current["eligible_kg"] == "2500000.000"

    refused = driver.post("/generations", {"lot_id": lot["id"], "mass": t("2500.001")}, gen.token)
    assert_problem(refused, 422, "lot_over_allocated")

    block = driver.generate(gen.token, lot["id"])
    assert block["quantity"] == "2500.000"
    assert block["arc_code"] == "PC_P_PP_ARC"
    after = driver.get(f"/lots/{lot['id']}", gen.token).get_json()
    assert after["used_kg"] == "2500000.000" and after["eligible_kg"] == "0.000"
    # RMS 8.3.4.3: generated only once for the same base material.
    again = driver.post("/generations", {"lot_id": lot["id"]}, gen.token)
    assert_problem(again, 422, "lot_over_allocated")


def test_example_p7_4_financial_threshold(driver):
    gen = driver.generator()
    facility = driver.facility(gen.token, gen.id, capacity=t(1000))
    determination = driver.determination(gen.certifier, facility["id"], newness={
        "basis": "financial", "invested_on": "2024-03-01", "fair_market_value": "10000000",
        "investments": [{"category": "primary_equipment", "amount": "3000000"},
                        {"category": "labour", "amount": "900000"}]})
    assert determination["outcome"] == "additional"
    assert determination["eligible_kg"] == "500000.000"


def test_example_p7_1_mandate_share_excluded(driver):
    gen = driver.generator()
    facility = driver.facility(gen.token, gen.id, capacity=t(1000))
    determination = driver.determination(gen.certifier, facility["id"], mandate_share="0.40")
    assert determination["outcome"] == "additional"
    assert determination["eligible_kg"] == "600000.000"


@pytest.mark.parametrize(("year", "outcome"), [(2023, "additional"), (2024, "not-additional")])
def test_table_p7_2_example_p7_3_restart_under_new_owner(driver, year, outcome):
    gen = driver.generator()
    # R-X10: the body records a year's determination for a participant it certified that year. The
    # certificate lists no site: the facility is not continuously certified from before (P7.2.2.2, R-C6),
    # so each year's own New Date applies.
    driver.certificate(gen.certifier, gen.id, issued_on="2020-01-01", expires_on="2024-12-31", facilities=[])
    determination = driver.determination(gen.certifier, gen.facility_id, certification_year=year, newness={
        "basis": "new_operation", "operation_start": "1998-04-01",
        "restart": {"stopped_on": "2020-02-01", "restarted_on": "2020-12-01", "ownership_changed": True}})
    assert determination["outcome"] == outcome
    assert (determination["eligible_kg"] != "0.000") == (outcome == "additional")
    assert determination["reasons"]


def test_table_p7_5_phase_out_exemption(driver):
    gen = driver.generator()
    driver.certificate(gen.certifier, gen.id, issued_on="2020-01-01", expires_on="2024-12-31")  # R-X10
    facility = driver.facility(gen.token, gen.id, capacity=t(1000))
    in_2023 = driver.determination(gen.certifier, facility["id"], certification_year=2023,
                                   newness={"basis": "phase_out"})
    assert in_2023["outcome"] == "additional"
    assert in_2023["eligible_kg"] == "300000.000"
    assert in_2023["pc_only"] is True
    in_2026 = driver.determination(gen.certifier, facility["id"], certification_year=2026,
                                   newness={"basis": "phase_out"})
    assert in_2026["outcome"] == "not-additional"
    assert in_2026["eligible_kg"] == "0.000"
