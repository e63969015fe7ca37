"""Determinations through the HTTP API, on SQLite and PostgreSQL (R-A2–R-A7, R-X10):
what a recorded determination reads back as and what its log entry holds, field by
field; superseding (R-A7: the old one stays, the year's usage carries over);
withdrawal (RMS 8.5.2) and its refusals, each with its code, rule and words, and
writing nothing. Today is 2026-03-02 (tests/conftest.py NOW)."""

from __future__ import annotations

import json

from chainlog import store
from registry.db import session_factory
from tests.api.driver import DIGEST, snapshot, t
from tests.api.test_errors_and_health import assert_problem

NEW_OPERATION = {"basis": "new_operation", "operation_start": "2024-05-01"}
CLASS_B = [{"test": "financial", "passed": True, "rationale": "IRR below hurdle without ARCs", "evidence": [DIGEST]}]


def _entries(engine, kind: str) -> list[dict]:
    with session_factory(engine)() as session:
        return [json.loads(e.canonical) for e in store.entries(session, 0, store.size(session)) if e.type == kind]


def _refused(driver, engine, path: str, body: dict | None, token: str, status: int, code: str, detail: str) -> dict:
    before = snapshot(engine)
    problem = assert_problem(driver.post(path, body, token), status, code)
    assert problem["detail"] == detail, problem
    assert snapshot(engine) == before, "a refused request changed the database or the log"
    return problem


def test_a_recorded_determination_reads_back_and_logs_every_field(driver, engine):
    gen = driver.generator()
    read = driver.get(f"/determinations/{gen.determination_id}", gen.certifier).get_json()
    reasons = read.pop("reasons")
    assert reasons[0] == "Regulatory/legal: no output is credited toward a legal mandate (P7.2.1.2)"
    assert reasons[1].startswith("Newness (new operation): ") and reasons[1].endswith(
        "the full capacity of 20000000.000 kg per year")
    assert reasons[2] == "Class B: passed financial (IRR below hurdle without ARCs) (P7.3)" and len(reasons) == 3
    # 20 000 t of capacity, a new operation since 2024-05-01: the whole capacity is eligible, PC and PI.
    assert read == {"id": gen.determination_id, "facility_id": gen.facility_id, "line_id": None, "year": 2026,
                    "basis": "new_operation", "outcome": "additional",
                    "eligible_kg": "20000000.000", "used_kg": "0.000", "pc_only": False, "status": "current",
                    "superseded_by": None}
    [entry] = _entries(engine, "determination.recorded")
    payload = entry["payload"]
    record = payload.pop("record")
    assert payload == {"determination": gen.determination_id, "facility": gen.facility_id, "line": None,
                       "year": 2026, "basis": "new_operation", "outcome": "additional", "reasons": reasons,
                       "eligible_kg": "20000000.000", "used_kg": "0.000", "pc_only": False, "status": "current",
                       "supersedes": None, "body": "NSF",
                       # P7.2.2.2: the generator's certificate has listed the plant since 2025-01-01
                       "certified_since": "2025-01-01"}
    assert record["mandate_share"] == "0" and record["newness"] == {**NEW_OPERATION, "restart": None}
    assert record["class_b"] == CLASS_B and record["evidence"] == [DIGEST]
    assert record["basis_kg"] == "20000000.000" and record["tests"], record


def test_a_superseding_determination_carries_the_years_usage_and_the_old_one_stays(driver, engine):
    """R-A7: superseded, never deleted; what the facility generated in the year stays used
    (a new determination cannot reset the ceiling)."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    driver.sell(gen.token, lot["id"], t(10))
    driver.generate(gen.token, lot["id"], mass=t(3))
    replacing = driver.determination(gen.certifier, gen.facility_id, mandate_share="0.25")
    assert replacing["used_kg"] == "3000.000" and replacing["status"] == "current"
    assert replacing["superseded_by"] is None
    old = driver.get(f"/determinations/{gen.determination_id}", gen.certifier).get_json()
    assert (old["status"], old["superseded_by"], old["used_kg"]) == ("superseded", replacing["id"], "3000.000")
    first, second = _entries(engine, "determination.recorded")
    assert first["payload"]["supersedes"] is None
    assert second["payload"]["supersedes"] == gen.determination_id
    assert second["payload"]["determination"] == replacing["id"] and second["payload"]["used_kg"] == "3000.000"
    assert second["payload"]["record"]["mandate_share"] == "0.25"
    # The new one covers the next generation: its usage grows, the old one's does not.
    driver.generate(gen.token, lot["id"], mass=t(2))
    assert driver.get(f"/determinations/{replacing['id']}", gen.certifier).get_json()["used_kg"] == "5000.000"
    assert driver.get(f"/determinations/{gen.determination_id}", gen.certifier).get_json()["used_kg"] == "3000.000"


def test_a_withdrawn_determination_is_logged_with_its_reason_and_ends_generation(driver, engine):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    driver.sell(gen.token, lot["id"], t(10))
    driver.generate(gen.token, lot["id"], mass=t(1))
    withdrawn = driver.ok(f"/determinations/{gen.determination_id}/withdraw", {"reason": "new audit findings"},
                          gen.certifier, status=200)
    assert (withdrawn["status"], withdrawn["used_kg"]) == ("withdrawn", "1000.000")
    [entry] = _entries(engine, "determination.withdrawn")
    assert entry["payload"] == {"determination": gen.determination_id, "reason": "new audit findings",
                                "body": "NSF"}
    # RMS 8.5.2: no more generation under it; no other determination covers the facility-year.
    problem = assert_problem(driver.post("/generations", {"lot_id": lot["id"], "mass": t(1)}, gen.token), 422,
                             "not_additional")
    assert problem["rule"] == "R-A2"
    _refused(driver, engine, f"/determinations/{gen.determination_id}/withdraw", {"reason": "again"},
             gen.certifier, 422, "determination_not_current", "the determination is withdrawn")


def test_a_superseded_determination_cannot_be_withdrawn(driver, engine):
    gen = driver.generator()
    driver.determination(gen.certifier, gen.facility_id)
    _refused(driver, engine, f"/determinations/{gen.determination_id}/withdraw", {"reason": "r"}, gen.certifier,
             422, "determination_not_current", "the determination is superseded")


def test_an_unknown_determination_is_not_found(driver, engine):
    gen = driver.generator()
    missing = gen.determination_id + 1000
    _refused(driver, engine, f"/determinations/{missing}/withdraw", {"reason": "r"}, gen.certifier, 404,
             "determination_not_found", f"no determination {missing}")
    problem = assert_problem(driver.get(f"/determinations/{missing}", gen.certifier), 404, "determination_not_found")
    assert problem["detail"] == f"no determination {missing}"


def test_only_a_body_certifying_the_participant_in_the_determinations_year_withdraws_it(driver, engine):
    """R-X10: SCS certified the participant in 2025 only, so it does not withdraw NSF's 2026
    determination; NSF does."""
    gen = driver.generator()
    scs = driver.certifier("SCS")
    driver.certificate(scs, gen.id, number="RMS-SCS-00992", issued_on="2025-01-01", expires_on="2025-12-31")
    problem = _refused(driver, engine, f"/determinations/{gen.determination_id}/withdraw", {"reason": "r"}, scs, 403,
                       "not_certifying_body", f"body SCS holds no RMS certificate of participant {gen.id} for 2026: "
                       "a certifier acts only for the participants its body certifies")
    assert problem["rule"] == "R-X10"
    driver.ok(f"/determinations/{gen.determination_id}/withdraw", {"reason": "r"}, gen.certifier, status=200)


def test_a_facility_year_s_usage_counts_only_its_own_lots_of_that_year(driver, engine):
    """R-A9: the eligible volume of a facility-year is used by the ARCs of the lots the facility
    processed that year, and by nothing else: not another facility's, not the year before's or
    after's (the year's first and last days are in it)."""
    gen = driver.generator()
    small = driver.facility(gen.token, gen.id, capacity=t(1000), name="Small plant")
    other = driver.facility(gen.token, gen.id, capacity=t(1000), name="Plant 2")
    for facility, year in ((small, 2025), (small, 2026), (other, 2026)):  # 1 t each (0.1% of 1 000 t)
        driver.determination(gen.certifier, facility["id"], mandate_share="0.999", certification_year=year)

    def sold_lot(facility, processed_on):
        lot = driver.lot(gen.token, facility["id"], gen.certificate, mass=t(5), processed_on=processed_on)
        driver.sell(gen.token, lot["id"], t(5), on="2026-03-02")
        return lot

    elsewhere, first_day, last_day = (sold_lot(other, "2026-01-01"), sold_lot(small, "2026-01-01"),
                                      sold_lot(small, "2025-12-31"))
    driver.generate(gen.token, elsewhere["id"], mass=t("0.6"))
    driver.generate(gen.token, first_day["id"], mass=t("0.4"))
    driver.generate(gen.token, last_day["id"], mass=t(1))  # 2025: none of the 1 t used yet
    driver.generate(gen.token, first_day["id"], mass=t("0.6"))  # 2026: 0.4 t of 1 t used
    for lot, over in ((first_day, "0.001"), (last_day, "0.001"), (elsewhere, "0.401")):  # each year used up
        problem = assert_problem(driver.post("/generations", {"lot_id": lot["id"], "mass": t(over)}, gen.token), 422,
                                 "eligible_volume_exceeded")
        assert problem["rule"] == "R-A9", problem
    driver.generate(gen.token, elsewhere["id"], mass=t("0.4"))  # the other plant's 1 t: 0.6 t used


def test_a_determination_supersedes_only_the_current_one_of_its_own_facility_line_and_year(driver, engine):
    """R-A7: recording a determination supersedes the current one for the same facility, line and
    certification year, and nothing else: not the line's when it is the facility's (or the reverse),
    not another year's, not another facility's, not one already superseded or withdrawn."""
    gen = driver.generator()
    driver.ok(f"/facilities/{gen.facility_id}/lines", {"name": "Line A", "capacity": t(10)}, gen.token)
    other = driver.facility(gen.token, gen.id, capacity=t(1000), name="Plant 2")
    line = driver.ok(f"/facilities/{gen.facility_id}/lines", {"name": "Line B", "capacity": t(100)}, gen.token)
    on_line = driver.determination(gen.certifier, gen.facility_id, line_id=line["id"])
    last_year = driver.determination(gen.certifier, gen.facility_id, certification_year=2025)
    elsewhere = driver.determination(gen.certifier, other["id"])
    withdrawn = driver.determination(gen.certifier, gen.facility_id, certification_year=2027)
    driver.ok(f"/determinations/{withdrawn['id']}/withdraw", {"reason": "r"}, gen.certifier, status=200)

    second = driver.determination(gen.certifier, gen.facility_id)  # supersedes gen.determination_id only
    third = driver.determination(gen.certifier, gen.facility_id)  # supersedes the second only
    again = driver.determination(gen.certifier, gen.facility_id, certification_year=2027)  # nothing current
    status = {d: driver.get(f"/determinations/{d}", gen.certifier).get_json()["status"]
              for d in (gen.determination_id, second["id"], third["id"], on_line["id"], last_year["id"],
                        elsewhere["id"], withdrawn["id"], again["id"])}
    assert status == {gen.determination_id: "superseded", second["id"]: "superseded", third["id"]: "current",
                      on_line["id"]: "current", last_year["id"]: "current", elsewhere["id"]: "current",
                      withdrawn["id"]: "withdrawn", again["id"]: "current"}
    logged = {e["payload"]["determination"]: e["payload"]["supersedes"]
              for e in _entries(engine, "determination.recorded")}
    assert (logged[second["id"]], logged[third["id"]], logged[again["id"]]) == (gen.determination_id, second["id"],
                                                                                 None)
    assert driver.get(f"/determinations/{gen.determination_id}", gen.certifier).get_json()["superseded_by"] == \
        second["id"]


def test_an_administrator_records_a_determination_and_a_member_does_not(driver, engine):
    """R-X10: certifiers (of a body certifying the participant) and administrators record
    determinations; a participant's own member does not."""
    gen = driver.generator()
    body = {"facility_id": gen.facility_id, "certification_year": 2026, "mandate_share": "0",
            "newness": NEW_OPERATION, "class_b": CLASS_B, "evidence": [DIGEST]}
    before = snapshot(engine)
    assert_problem(driver.post("/determinations", body, gen.token), 403, "forbidden_role")
    assert snapshot(engine) == before
    recorded = driver.ok("/determinations", body, driver.admin)
    assert (recorded["status"], recorded["outcome"]) == ("current", "additional")
    [*_, entry] = _entries(engine, "determination.recorded")
    assert entry["payload"]["supersedes"] == gen.determination_id and entry["payload"]["body"] is None


def test_a_capacity_increase_names_its_line_where_the_facility_runs_several(driver, engine):
    """P7.2.4.7 iv: only the facility's own lines count — a plant with one line takes a facility-level
    capacity determination while another plant runs two lines; the plant with two must name the line."""
    gen = driver.generator()
    capacity = {"basis": "capacity", "invested_on": "2026-02-01", "before": t(200), "after": t(300)}
    two = driver.facility(gen.token, gen.id, capacity=t(1000), name="Bigger plant")
    line_a, _ = (driver.ok(f"/facilities/{two['id']}/lines", {"name": name, "capacity": t(400)}, gen.token)
                 for name in ("Line A", "Line B"))
    driver.ok(f"/facilities/{gen.facility_id}/lines", {"name": "Line C", "capacity": t(400)}, gen.token)
    assert driver.determination(gen.certifier, gen.facility_id, newness=capacity)["outcome"] == "additional"
    before = snapshot(engine)
    body = {"facility_id": two["id"], "certification_year": 2026, "mandate_share": "0", "newness": capacity,
            "class_b": CLASS_B, "evidence": [DIGEST]}
    problem = assert_problem(driver.post("/determinations", body, gen.certifier), 422, "line_required")
    assert problem["rule"] == "R-A5"
    assert snapshot(engine) == before
    named = driver.determination(gen.certifier, two["id"], newness=capacity, line_id=line_a["id"])
    assert (named["line_id"], named["outcome"]) == (line_a["id"], "additional")
