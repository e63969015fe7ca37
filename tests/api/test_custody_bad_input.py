"""Issue 17's bad input for custody accounts: each a 4xx problem+json with a
specific code, the rule id and the field, and nothing written (R-X1, R-X2)."""

from __future__ import annotations

import pytest

from tests.api.custody_driver import book
from tests.api.driver import snapshot, t

ACCOUNT = {"product_group": "PP resin", "control_system": "mass-balance", "starts_on": "2024-01-01",
           "period_months": 1}


def _refused(driver, engine, path, body, token, status, code, rule, field):
    before = snapshot(engine)
    response = driver.post(path, body, token)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert (problem["code"], problem.get("rule")) == (code, rule), problem
    if field is not None:
        assert field in (problem.get("errors") or {}), problem
    assert snapshot(engine) == before


@pytest.fixture
def setup(driver):
    b = book(driver)
    mb = b.open(starts_on="2025-01-01")["id"]
    b.receive(mb, "2025-01-10", t(10), "RMS 100% PC MB", reference="INV-1")
    return b, mb


def _account_body(b, **overrides):
    return {"participant_id": b.participant, "facility_ids": b.facilities, **ACCOUNT, **overrides}


CASES = {
    "period longer than 12 months": (
        "account", {"period_months": 13}, 400, "period_too_long", "R-M1", "period_months"),
    "rolling window beyond 12 months": (
        "account", {"control_system": "average-content-rolling", "period_months": 3, "window_periods": 5}, 400,
        "period_too_long", "R-M1", "window_periods"),
    "control system outside the certificate's scope": (
        "account_uncertified_system", {}, 422, "control_system_not_certified", "R-C2", "control_system"),
    "product group outside the certificate's scope": (
        "account", {"product_group": "PET bottles"}, 422, "product_group_not_certified", "R-C2", "product_group"),
    "facility outside the certificate's scope": (
        "account_other_site", {}, 422, "facility_not_certified", "R-C2", "facility_ids[0]"),
    "unknown supplier certificate": (
        "input", {"supplier_certificate": "RMS-NSF-99998"}, 422, "supplier_certificate_unknown", "R-M2",
        "supplier_certificate"),
    "expired supplier certificate": (
        "input", {"on": "2025-01-11", "supplier_certificate": "EXPIRED"}, 422, "certificate_invalid", "R-C3",
        "supplier_certificate"),
    "duplicate receipt": ("input", {"reference": "INV-1"}, 409, "receipt_duplicate", "R-M2", "reference"),
    "claim percentage not a whole number": (
        "output", {"claim": "RMS 15.5% PC MB"}, 400, "claim_not_whole_percent", "R-M3", "claim"),
    "claim over the credit": ("output", {"mass": t(11), "claim": "RMS 100% PC MB"}, 422, "insufficient_credit",
                              "R-M4", "claim"),
    "AC after MB": ("output", {"claim": "RMS 10% PC AC"}, 422, "claim_upgrade", "R-M3", "claim"),
    "MB input into an average-content account": (
        "input_ac", {}, 422, "claim_upgrade", "R-M3", "claim"),
    "allocation across product groups": (
        "output_other_group", {}, 422, "product_group_mismatch", "R-M1", "material_code"),
    "closing a period before its end": ("close", {"n": 27}, 422, "period_out_of_order", "R-M5", "n"),
    "output in a closed period": ("output_closed", {}, 422, "period_closed", "R-M5", "on"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_custody_bad_input(driver, engine, setup, case):
    b, mb = setup
    what, overrides, status, code, rule, field = CASES[case]
    input_body = {"on": "2025-01-11", "supplier_name": "Sorter A", "supplier_certificate": b.supplier_certificate,
                  "reference": "INV-2", "material_code": "PC_P3.1.9", "mass": t(1), "claim": "RMS 100% PC MB"}
    path, body = None, None
    if what == "account":
        path, body = "/custody/accounts", _account_body(b, **overrides)
    elif what == "account_uncertified_system":
        other = driver.participant("Segregating Co")
        token = driver.member(other["id"])
        site = driver.facility(token, other["id"])["id"]
        driver.certificate(b.certifier, other["id"], control_systems=["segregation"])
        path, body = "/custody/accounts", {"participant_id": other["id"], "facility_ids": [site], **ACCOUNT}
        b = type(b)(**{**b.__dict__, "token": token})
    elif what == "account_other_site":
        other = driver.participant("Three Sites Co")
        token = driver.member(other["id"])
        driver.certificate(b.certifier, other["id"], control_systems=["mass-balance"],
                           facilities=[{"name": "Plant North", "address": "9 Rd", "country": "US"}])
        site = driver.facility(token, other["id"], name="Plant South")["id"]
        path, body = "/custody/accounts", {"participant_id": other["id"], "facility_ids": [site], **ACCOUNT}
        b = type(b)(**{**b.__dict__, "token": token})
    elif what == "input":
        if overrides.get("supplier_certificate") == "EXPIRED":
            expired = driver.certificate(b.certifier, b.supplier, issued_on="2023-01-01", expires_on="2024-12-31")
            overrides = {**overrides, "supplier_certificate": expired["number"]}
        path, body = f"/custody/accounts/{mb}/inputs", {**input_body, **overrides}
    elif what == "input_ac":
        ac = b.open("average-content-batch")["id"]
        path, body = f"/custody/accounts/{ac}/inputs", input_body
    elif what == "output":
        body = b.output_body("2025-01-12", t(1))
        path, body = f"/custody/accounts/{mb}/outputs", {**body, **overrides}
    elif what == "output_other_group":
        b.driver.ok(f"/custody/accounts/{mb}/outputs", b.output_body("2025-01-12", t(1)), b.token)
        path, body = f"/custody/accounts/{mb}/outputs", b.output_body("2025-01-12", t(1), material_code="PC_P3.1.6")
    elif what == "close":
        path = f"/custody/accounts/{mb}/periods/{overrides['n']}/close"
    elif what == "output_closed":
        b.driver.ok(f"/custody/accounts/{mb}/periods/1/close", None, b.token)
        path, body = f"/custody/accounts/{mb}/outputs", b.output_body("2025-01-20", t(1))
    _refused(driver, engine, path, body, b.token, status, code, rule, field)


def test_a_period_closes_only_after_its_end(driver, engine):
    b = book(driver)
    account = b.open(starts_on="2026-03-01")["id"]  # today is 2026-03-02 (tests/conftest.py NOW)
    _refused(driver, engine, f"/custody/accounts/{account}/periods/1/close", None, b.token, 422,
             "period_not_ended", "R-M5", "n")


def test_closing_summarises_the_period_once(driver, setup):
    b, mb = setup
    b.driver.ok(f"/custody/accounts/{mb}/outputs", b.output_body("2025-01-12", t(4), "RMS 100% PC MB"), b.token)
    summary = b.driver.ok(f"/custody/accounts/{mb}/periods/1/close", None, b.token)
    assert (summary["opening_kg"], summary["certified_inputs_kg"], summary["claimed_kg"], summary["closing_kg"]) == (
        "0.000", "10000.000", "4000.000", "6000.000")
    assert b.driver.get(f"/custody/accounts/{mb}/periods/1", b.certifier).get_json() == summary
    second = b.driver.ok(f"/custody/accounts/{mb}/periods/2/close", None, b.token)
    assert (second["opening_kg"], second["closing_kg"]) == ("6000.000", "6000.000")
