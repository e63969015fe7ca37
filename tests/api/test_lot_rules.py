"""Rules a lot meets before it can back ARCs, each refused with its code and
rule, nothing written: certified North American sites (R-G5), conversion
documentation that adds up (R-B7), PEQ from chemical recycling only (R-G6)."""

from __future__ import annotations

from tests.api.driver import t
from tests.api.test_double_counting import _refused


def _lot_body(facility_id, certificate, *, code="PC_P3.1.9", mass=t(100), inputs=t(120), factor="83.333",
              outputs=None, transformation="physical", **extra):
    return {"facility_id": facility_id, "reference": f"R-{facility_id}-{code}-{mass['value']}", "material_code": code,
            "mass": mass, "non_plastic_fraction": "0.01", "processed_on": "2026-02-01",
            "rms_certificate": certificate,
            "conversion": {"inputs": [{"material_code": "PC_P5.1.6", "mass": inputs}],
                           "transformation": transformation, "description": "sort, wash, extrude", "factor": factor,
                           "justification": "measured yield",
                           "outputs": outputs if outputs is not None else [{"material_code": code, "mass": mass}]},
            "evidence": [], **extra}


# --- R-G5 ---------------------------------------------------------------------------------


def _listed_generator(driver, site):
    participant = driver.participant("Plant A Recycling")
    member = driver.member(participant["id"])
    certifier = driver.certifier()
    cert = driver.certificate(certifier, participant["id"], facilities=[site])
    return participant, member, cert


def test_a_facility_outside_north_america_cannot_register_lots(driver, engine):
    """Audit 2: a certificate listing Plant A, US; Werk Berlin, DE registers a lot."""
    participant, member, cert = _listed_generator(driver, {"name": "Plant A", "address": "1 Main St", "country": "US"})
    berlin = driver.facility(member, participant["id"], name="Werk Berlin", country="DE")
    _refused(driver, engine, "/lots", _lot_body(berlin["id"], cert["number"]), member, 422,
             "facility_not_certified", "R-G5")


def test_a_facility_the_certificate_does_not_list_cannot_register_lots(driver, engine):
    participant, member, cert = _listed_generator(driver, {"name": "Plant A", "address": "1 Main St", "country": "US"})
    other = driver.facility(member, participant["id"], name="Plant B", country="US")
    _refused(driver, engine, "/lots", _lot_body(other["id"], cert["number"]), member, 422,
             "facility_not_certified", "R-G5")
    listed = driver.facility(member, participant["id"], name="plant  a", country="US")  # the same identity (R-R5)
    assert driver.ok("/lots", _lot_body(listed["id"], cert["number"]), member)["mass_kg"] == "100000.000"


# --- R-B7 ---------------------------------------------------------------------------------


def test_a_lot_larger_than_its_documented_conversion_is_refused(driver, engine):
    """A 1 000 t PP lot documented from 10 t of input at 90%, output coded PE 999 t."""
    gen = driver.generator()
    body = _lot_body(gen.facility_id, gen.certificate, mass=t(1000), inputs=t(10), factor="90",
                     outputs=[{"material_code": "PC_P3.1.5", "mass": t(999)}])
    problem = _refused(driver, engine, "/lots", body, gen.token, 422, "conversion_inconsistent", "R-B7")
    assert problem["errors"] == {"conversion.outputs": [problem["detail"]]}
    body["conversion"]["outputs"] = [{"material_code": "PC_P3.1.9", "mass": t(999)}]
    _refused(driver, engine, "/lots", body, gen.token, 422, "conversion_inconsistent", "R-B7")  # lot > output
    body["conversion"]["outputs"] = [{"material_code": "PC_P3.1.9", "mass": t(1000)}]
    _refused(driver, engine, "/lots", body, gen.token, 422, "conversion_inconsistent", "R-B7")  # 1 000 t > 10 t × 90%


def test_the_factor_is_read_to_its_stated_precision(driver, engine):
    """500 t from 600 t is 83.333…%: a factor stated as 83.333 documents it; 83.332 does not."""
    gen = driver.generator()
    body = _lot_body(gen.facility_id, gen.certificate, mass=t(500), inputs=t(600), factor="83.332")
    _refused(driver, engine, "/lots", body, gen.token, 422, "conversion_inconsistent", "R-B7")
    body["conversion"]["factor"] = "83.333"
    assert driver.ok("/lots", body, gen.token)["mass_kg"] == "500000.000"


# --- R-G6 ---------------------------------------------------------------------------------


def test_peq_needs_a_chemical_conversion_and_a_plausible_heating_value(driver, engine):
    gen = driver.generator()
    body = _lot_body(gen.facility_id, gen.certificate, code="PC_P2.1.1", transformation="chemical")
    lhv = _refused(driver, engine, "/lots", body, gen.token, 400, "lhv_required", "R-B1",  # R-B1: P2 needs its LHV
                   field="lhv_mj_per_kg")
    assert lhv["detail"] == "a P2 intermediate needs its lower heating value", lhv
    body = _lot_body(gen.facility_id, gen.certificate, code="PC_P2.1.1", lhv_mj_per_kg="42.0")
    _refused(driver, engine, "/lots", body, gen.token, 422, "peq_not_chemical", "R-G6")
    body["conversion"]["transformation"] = "chemical"
    for implausible in ("150", "50.001"):
        body["lhv_mj_per_kg"] = implausible
        _refused(driver, engine, "/lots", body, gen.token, 422, "lhv_implausible", "R-G6")
    body["lhv_mj_per_kg"] = "50"
    assert driver.ok("/lots", body, gen.token)["material_code"] == "PC_P2.1.1"
