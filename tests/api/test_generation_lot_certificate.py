"""R-G1, last bullet (issue 20 item 1): generation re-checks the certificate
the lot cites, on the lot's processing date, as the register stands at
generation -- not only whether the generator holds some certificate valid
today. On SQLite and PostgreSQL (the ``driver`` fixture runs on both)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.driver import t
from tests.api.test_errors_and_health import assert_problem
from tests.api.test_generation import _refused


def _event(driver, gen, number, action, on, status=200):
    return driver.ok(f"/rms-certificates/{number}/{action}", {"on": on, "reason": "certifier's finding"},
                     gen.certifier, status=status)


def _lot_on(driver, gen, processed_on, certificate=None):
    lot = driver.lot(gen.token, gen.facility_id, certificate or gen.certificate, mass=t(10),
                     processed_on=processed_on)
    driver.sell(gen.token, lot["id"], t(10), on=processed_on)
    return lot


def test_a_lot_whose_certificate_was_revoked_before_it_was_processed_does_not_generate(driver, engine):
    gen = driver.generator()
    lot = _lot_on(driver, gen, "2026-02-10")
    _event(driver, gen, gen.certificate, "revoke", "2026-01-15")  # back-dated: a certifier's finding
    driver.certificate(gen.certifier, gen.id, issued_on="2026-01-16")  # the renewal, under a new number
    # Registering the same lot now is refused ...
    again = driver.post("/lots", {**_lot_body(driver, gen, "2026-02-10")}, gen.token)
    assert "not valid on 2026-02-10" in assert_problem(again, 422, "certificate_invalid")["detail"]
    # ... and so is generating from it.
    _refused(driver, engine, gen.token, {"lot_id": lot["id"], "mass": t(1)}, 422, "certificate_invalid", "R-G1",
             f"the lot's RMS certificate {gen.certificate} is revoked on 2026-02-10, the day the lot was processed: "
             "it was not valid on 2026-02-10 as the register now stands (RMS 8.6.4)", "lot_id")


def test_a_lot_processed_while_its_certificate_was_suspended_does_not_generate(driver, engine, clock):
    gen = driver.generator()
    lot = _lot_on(driver, gen, "2026-02-10")
    _event(driver, gen, gen.certificate, "suspend", "2026-02-01")
    _event(driver, gen, gen.certificate, "reinstate", "2026-03-10")
    clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=UTC))  # the certificate is valid again today
    assert driver.get(f"/rms-certificates/{gen.certificate}").get_json()["valid_today"] is True
    _refused(driver, engine, gen.token, {"lot_id": lot["id"]}, 422, "certificate_invalid", "R-G1",
             f"the lot's RMS certificate {gen.certificate} is suspended on 2026-02-10, the day the lot was processed: "
             "it was not valid on 2026-02-10 as the register now stands (RMS 8.6.4)", "lot_id")
    # The control: a lot processed after the reinstatement generates.
    later = _lot_on(driver, gen, "2026-03-11")
    assert driver.generate(gen.token, later["id"], mass=t(1))["quantity"] == "1.000"


def test_a_lot_processed_between_a_suspension_and_its_reinstatement_is_the_only_one_refused(driver, engine):
    gen = driver.generator()
    before = _lot_on(driver, gen, "2026-01-20")
    during = _lot_on(driver, gen, "2026-02-10")
    after = _lot_on(driver, gen, "2026-02-20")
    _event(driver, gen, gen.certificate, "suspend", "2026-02-01")
    _event(driver, gen, gen.certificate, "reinstate", "2026-02-15")
    _refused(driver, engine, gen.token, {"lot_id": during["id"]}, 422, "certificate_invalid", "R-G1",
             f"the lot's RMS certificate {gen.certificate} is suspended on 2026-02-10, the day the lot was processed: "
             "it was not valid on 2026-02-10 as the register now stands (RMS 8.6.4)", "lot_id")
    assert driver.generate(gen.token, before["id"], mass=t(1))["quantity"] == "1.000"
    assert driver.generate(gen.token, after["id"], mass=t(1))["quantity"] == "1.000"


def test_a_lot_citing_a_trading_only_certificate_does_not_generate(driver, engine):
    gen = driver.generator()  # holds a reprocessing certificate valid today
    trading = driver.certificate(gen.certifier, gen.id, activities=["trading"])
    lot = _lot_on(driver, gen, "2026-02-10", certificate=trading["number"])
    _refused(driver, engine, gen.token, {"lot_id": lot["id"], "mass": t(1)}, 422, "scope_excludes_reprocessing", "R-G1",
             f"the lot's RMS certificate {trading['number']} does not cover reprocessing, which generating ARCs "
             "requires (RMS 8.3.1)", "lot_id")
    control = _lot_on(driver, gen, "2026-02-10")
    assert driver.generate(gen.token, control["id"], mass=t(1))["quantity"] == "1.000"


def _lot_body(driver, gen, processed_on) -> dict:
    mass = t(10)
    return {
        "facility_id": gen.facility_id, "reference": f"LOT-AGAIN-{processed_on}", "material_code": "PC_P3.1.9",
        "mass": mass, "non_plastic_fraction": "0.01", "processed_on": processed_on,
        "rms_certificate": gen.certificate,
        "conversion": {"inputs": [{"material_code": "PC_P5.1.6", "mass": t(12)}], "transformation": "physical",
                       "description": "sort, wash, extrude", "factor": "83.333",
                       "justification": "measured yield", "outputs": [{"material_code": "PC_P3.1.9", "mass": mass}]},
    }
