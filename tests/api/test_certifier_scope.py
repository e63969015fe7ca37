"""R-X10: certifiers act only for the participants their body certifies, and a
suspended participant registers nothing (issue 15, "Recorded but never
checked"). Each refusal is a specific problem+json code and writes nothing:
neither a row nor a log entry. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

import chainlog.store
from registry.certification import held_in_year
from registry.db import session_factory
from tests.api.driver import DIGEST, snapshot, t
from tests.api.test_errors_and_health import assert_problem


def log_size(engine) -> int:
    with session_factory(engine)() as session:
        return chainlog.store.size(session)


def refused(driver, engine, path: str, body: dict | None, token: str, status: int, code: str) -> dict:
    """POST that must be refused with ``code``, the database and the log untouched."""
    before, size = snapshot(engine), log_size(engine)
    problem = assert_problem(driver.post(path, body, token), status, code)
    assert log_size(engine) == size, "a refused request appended to the log"
    assert snapshot(engine) == before, "a refused request changed the database"
    return problem


def scs_certifier(driver) -> str:
    return driver.certifier("SCS")


# -- determinations ------------------------------------------------------------------------------

def test_a_certifier_of_another_body_cannot_replace_a_determination(driver, engine):
    """The audit's reproduction: a certifier of SCS replaced the determination of a
    participant certified by NSF, setting its mandate share to 0."""
    gen = driver.generator("Acme Recycling")  # certified by NSF
    stranger = scs_certifier(driver)
    body = {"facility_id": gen.facility_id, "certification_year": 2026, "mandate_share": "0",
            "newness": {"basis": "new_operation", "operation_start": "2024-05-01"},
            "class_b": [{"test": "financial", "passed": True, "rationale": "IRR below hurdle",
                         "evidence": [DIGEST]}],
            "evidence": [DIGEST]}
    problem = refused(driver, engine, "/determinations", body, stranger, 403, "not_certifying_body")
    assert problem["rule"] == "R-X10"
    refused(driver, engine, f"/determinations/{gen.determination_id}/withdraw", {"reason": "error"}, stranger,
            403, "not_certifying_body")
    # Its own body (any of its certifiers) still may, and an admin is bound to no body.
    other_nsf = driver.certifier("NSF")
    replaced = driver.ok("/determinations", body, other_nsf)
    assert driver.get(f"/determinations/{gen.determination_id}", other_nsf).get_json()["status"] == "superseded"
    driver.ok(f"/determinations/{replaced['id']}/withdraw", {"reason": "error"}, driver.admin, status=200)


def test_the_body_must_certify_the_participant_in_the_determinations_year(driver, engine):
    """SCS certified the participant in 2025 only: it records nothing for 2026."""
    gen = driver.generator("Acme Recycling")
    scs = scs_certifier(driver)
    driver.certificate(scs, gen.id, number="RMS-SCS-00991", issued_on="2025-01-01", expires_on="2025-12-31")
    refused(driver, engine, "/determinations",
            {"facility_id": gen.facility_id, "certification_year": 2026, "mandate_share": "0",
             "newness": {"basis": "new_operation", "operation_start": "2024-05-01"},
             "class_b": [{"test": "financial", "passed": True, "rationale": "r", "evidence": [DIGEST]}],
             "evidence": [DIGEST]}, scs, 403, "not_certifying_body")


@pytest.mark.parametrize(("issued", "expires", "events", "year", "held"), [
    ("2025-01-01", "2027-12-31", [], 2026, True),
    ("2025-01-01", "2025-12-31", [], 2026, False),
    ("2026-12-31", "2027-12-31", [], 2026, True),  # one day of the year is enough
    ("2025-01-01", "2027-12-31", [("revoked", "2026-01-01")], 2026, False),  # revoked from the first day
    ("2025-01-01", "2027-12-31", [("revoked", "2026-01-02")], 2026, True),  # held on 1 January
    ("2025-01-01", "2027-12-31", [("suspended", "2025-06-01")], 2026, True),  # its body still certifies it
])
def test_a_certificate_held_in_a_year(issued, expires, events, year, held):
    """registry.certification.held_in_year: the one predicate R-X10's check and replay share."""
    assert held_in_year([(date.fromisoformat(issued), date.fromisoformat(expires))],
                        [(k, date.fromisoformat(on)) for k, on in events], year) is held


# -- lots ---------------------------------------------------------------------------------------

def test_a_certifier_reads_only_the_lots_of_participants_its_body_certifies(driver, engine):
    gen = driver.generator("Acme Recycling")
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    scs = scs_certifier(driver)
    # R-X4: exactly what a lot that does not exist answers (same status, code and rule).
    hidden = assert_problem(driver.get(f"/lots/{lot['id']}", scs), 404, "lot_not_found")
    missing = assert_problem(driver.get(f"/lots/{lot['id'] + 1000}", scs), 404, "lot_not_found")
    assert hidden["rule"] == missing["rule"] and hidden["title"] == missing["title"]
    assert (hidden["rule"], hidden["detail"]) == ("R-X4", f"no lot {lot['id']}"), hidden
    assert driver.get(f"/lots/{lot['id']}", gen.certifier).status_code == 200
    assert driver.get(f"/lots/{lot['id']}", driver.certifier("NSF")).status_code == 200  # any NSF auditor
    assert driver.get(f"/lots/{lot['id']}", driver.admin).status_code == 200
    # Once SCS certifies the participant too, its auditors read the lot.
    driver.certificate(scs, gen.id, number="RMS-SCS-00992")
    assert driver.get(f"/lots/{lot['id']}", scs).status_code == 200


# -- suspended participants -------------------------------------------------------------------

def test_a_suspended_participant_registers_nothing(driver, engine):
    gen = driver.generator("Acme Recycling")
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit pending"}, status=200)
    facility = {"participant_id": gen.id, "name": "Plant 2", "address": "2 Mill Rd, Akron OH",
                "country": "US", "capacity": t(1000)}
    for token in (gen.token, driver.admin):  # nor does an admin register for it
        problem = refused(driver, engine, "/facilities", facility, token, 422, "participant_suspended")
        assert problem["rule"] == "R-X10"
        refused(driver, engine, f"/facilities/{gen.facility_id}/lines", {"name": "Line 2", "capacity": t(500)},
                token, 422, "participant_suspended")
        refused(driver, engine, "/lots",
                {"facility_id": gen.facility_id, "reference": "LOT-SUSPENDED", "material_code": "PC_P3.1.9",
                 "mass": t(10), "non_plastic_fraction": "0.01", "processed_on": "2026-02-01",
                 "rms_certificate": gen.certificate,
                 "conversion": {"inputs": [{"material_code": "PC_P5.1.6", "mass": t(12)}],
                                "transformation": "physical", "description": "sort, wash, extrude",
                                "factor": "83.333", "justification": "measured yield",
                                "outputs": [{"material_code": "PC_P3.1.9", "mass": t(10)}]},
                 "evidence": [DIGEST]}, token, 422, "participant_suspended")
        refused(driver, engine, f"/lots/{lot['id']}/dispositions",
                {"kind": "sale", "on": "2026-02-15", "counterparty": "Brand Co", "mass": t(5)},
                token, 422, "participant_suspended")
    # Reinstated, it registers again.
    driver.ok(f"/participants/{gen.id}/activate", status=200)
    driver.facility(gen.token, gen.id, name="Plant 2")
    driver.sell(gen.token, lot["id"], t(5))
