"""R-B8 (issue 20, item 6), on SQLite and PostgreSQL: a lot's cited inputs
(R-B6) whose supplier certificate is in the register must cite it valid on
the input's date; a number not in the register is accepted and shown
publicly as "not in this register". The audit's reproduction: lots citing
a supplier certificate revoked since 2025-06-01, and RMS-ZZZ-99999, were
both accepted with no mark anywhere."""

from __future__ import annotations

from tests.api.driver import t
from tests.api.test_retirements import _refused
from tests.pages.htmlcheck import text_of


def _input(number: str, **extra) -> dict:
    return {"supplier_certificate": number, "reference": "INV-1", "material_code": "PC_P5.1.6",
            "mass": t(100), **extra}


def _supplier(driver) -> tuple[str, str]:
    supplier = driver.participant("Supplier Sorting Co")
    certifier = driver.certifier()
    return driver.certificate(certifier, supplier["id"])["number"], certifier


def test_an_input_under_a_revoked_supplier_certificate_is_refused(driver, engine):
    gen = driver.generator()
    number, certifier = _supplier(driver)
    driver.ok(f"/rms-certificates/{number}/revoke", {"on": "2025-06-01", "reason": "audit finding"}, certifier,
              status=200)
    # processed 2026-02-01; a number not in the register first is accepted, and the check goes on to the next
    body = dict(driver_lot_body(driver, gen), inputs=[_input("RMS-ZZZ-99999"), _input(number)])
    problem = _refused(driver, engine, gen.token, body, 422, "supplier_certificate_invalid", path="/lots")
    assert "inputs.1.supplier_certificate" in problem["errors"] and "revoked on 2026-02-01" in problem["detail"]
    assert problem["rule"] == "R-B8"
    # Received before the revocation, the input was certified: accepted.
    lot = driver.ok("/lots", dict(body, reference="LOT-EARLY", inputs=[_input(number, received_on="2025-05-31")]),
                    gen.token)
    assert lot["inputs"][0]["received_on"] == "2025-05-31"


def suspended_supplier(driver) -> str:
    """A supplier certificate suspended from 2026-01-10, reinstated on 2026-01-20."""
    number, certifier = _supplier(driver)
    driver.ok(f"/rms-certificates/{number}/suspend", {"on": "2026-01-10", "reason": "audit"}, certifier, status=200)
    driver.ok(f"/rms-certificates/{number}/reinstate", {"on": "2026-01-20", "reason": "fixed"}, certifier,
              status=200)
    return number


def test_a_suspension_on_the_input_day_is_refused_and_after_reinstatement_accepted(driver, engine):
    gen = driver.generator()
    number = suspended_supplier(driver)
    body = driver_lot_body(driver, gen)
    _refused(driver, engine, gen.token, dict(body, inputs=[_input(number, received_on="2026-01-15")]), 422,
             "supplier_certificate_invalid", path="/lots")
    driver.ok("/lots", dict(body, inputs=[_input(number, received_on="2026-01-25")]), gen.token)


def test_an_input_received_after_processing_is_refused(driver, engine):
    gen = driver.generator()
    number, _ = _supplier(driver)
    _refused(driver, engine, gen.token,
             dict(driver_lot_body(driver, gen), inputs=[_input(number, received_on="2026-02-02")]), 400,
             "input_after_processing", path="/lots")


def test_a_number_not_in_the_register_is_accepted_and_shown_as_not_verifiable(driver, client):
    gen = driver.generator()
    number, _ = _supplier(driver)
    body = dict(driver_lot_body(driver, gen), inputs=[_input("RMS-ZZZ-99999"), _input(number)])
    lot = driver.ok("/lots", body, gen.token)
    driver.sell(gen.token, lot["id"], t(10), on="2026-02-15")
    block = driver.generate(gen.token, lot["id"])
    text = text_of(client.get(f"/certificates/{block['serial']}").get_data(as_text=True)).replace(" :", ":")
    assert "supplier certificate RMS-ZZZ-99999: not in this register (not verifiable here)" in text
    assert f"supplier certificate {number}: Valid on 2026-02-01" in text


def driver_lot_body(driver, gen) -> dict:
    """The body `driver.lot` posts, without posting it."""
    captured = {}
    original = driver.ok

    def capture(path, body=None, token=None, status=201):
        captured.update(body)
        return {}

    driver.ok = capture
    try:
        driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    finally:
        driver.ok = original
    return captured
