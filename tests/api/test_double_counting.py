"""The audit's double counts (issue "No double counting"), each refused with
its code and rule, nothing written: split lots (R-B2, R-B4), additionality
timing (R-A8) and a ceiling that cannot be reset or stacked (R-A9)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.driver import kg, snapshot, t
from tests.api.test_errors_and_health import assert_problem


def _refused(driver, engine, path, body, token, status, code, rule, field=None):
    """R-X1, R-X2: refused with its code and rule (and, given ``field``, naming that field alone); nothing
    written."""
    before = snapshot(engine)
    problem = assert_problem(driver.post(path, body, token), status, code)
    assert problem.get("rule") == rule, problem
    if field is not None:
        assert list(problem["errors"]) == [field], problem
    assert snapshot(engine) == before
    return problem


def _sale(lot_id, mass, claim=None, on="2026-02-15"):
    return {"kind": "sale", "on": on, "counterparty": "Brand Co", "mass": mass, **({"claim": claim} if claim else {})}


def _split_lot(driver, gen, mass, pc, pi):
    return driver.lot(gen.token, gen.facility_id, gen.certificate, "PI_P3.1.5", t(mass), pc_mass=t(pc), pi_mass=t(pi))


# --- R-B2, R-B4: split lots ------------------------------------------------------------------


def test_pi_claim_on_mass_already_used_for_pi_arcs_is_refused(driver, engine):
    """Audit 1: 20 t (12 PC / 8 PI); 10 t sold, PI ARCs; a 100% PI claim on the
    other 10 t would count PI mass twice; PC ARCs never exceed what is left."""
    gen = driver.generator()
    lot = _split_lot(driver, gen, 20, 12, 8)
    driver.sell(gen.token, lot["id"], t(10))
    pi_block = driver.generate(gen.token, lot["id"], component="PI")
    assert pi_block["quantity"] == "8.000"  # the whole PI component: 8 t of the 10 t sold
    _refused(driver, engine, f"/lots/{lot['id']}/dispositions", _sale(lot["id"], t(10), "RMS 100% PI MB"),
             gen.token, 422, "lot_over_allocated", "R-B4", field="claim")
    # Sold 10 t, 8 t of it backs PI ARCs: 2 t can back PC ARCs, not 12.
    _refused(driver, engine, "/generations", {"lot_id": lot["id"], "component": "PC", "mass": t(12)}, gen.token,
             422, "lot_over_allocated", "R-B4")
    assert driver.generate(gen.token, lot["id"], component="PC")["quantity"] == "2.000"


def test_claim_then_arcs_never_exceed_the_sold_mass(driver, engine):
    """Audit 1 in the other order: a PI claim first, then ARCs of both components."""
    gen = driver.generator()
    lot = _split_lot(driver, gen, 20, 12, 8)
    driver.sell(gen.token, lot["id"], t(10))
    driver.sell(gen.token, lot["id"], t(8), claim="RMS 100% PI MB")  # the whole PI component, claimed
    _refused(driver, engine, "/generations", {"lot_id": lot["id"], "component": "PI"}, gen.token,
             422, "lot_over_allocated", "R-B4")
    assert driver.generate(gen.token, lot["id"], component="PC")["quantity"] == "10.000"
    current = driver.get(f"/lots/{lot['id']}", gen.token).get_json()
    assert (current["claimed_kg"], current["used_kg"], current["sold_kg"]) == ("8000.000", "10000.000", "18000.000")


def test_post_consumer_claim_above_the_pc_component_is_refused(driver, engine):
    """Audit 1, variant: 100 t split 50/50, all sold as 100% PC."""
    gen = driver.generator()
    lot = _split_lot(driver, gen, 100, 50, 50)
    problem = _refused(driver, engine, f"/lots/{lot['id']}/dispositions", _sale(lot["id"], t(100), "RMS 100% PC MB"),
                       gen.token, 422, "lot_over_allocated", "R-B4", field="claim")
    assert "PC" in problem["detail"]
    driver.sell(gen.token, lot["id"], t(50), claim="RMS 100% PC MB")
    driver.sell(gen.token, lot["id"], t(50), claim="RMS 100% PI MB")
    for component in ("PC", "PI"):
        _refused(driver, engine, "/generations", {"lot_id": lot["id"], "component": component}, gen.token,
                 422, "lot_over_allocated", "R-B4")


def test_mixed_claim_counts_its_post_consumer_part_against_pc(driver, engine):
    """R-B2: 'RMS 50%/10% PC MB' claims 10% PC and 40% of the lesser status (PI)."""
    gen = driver.generator()
    lot = _split_lot(driver, gen, 10, 6, 4)
    driver.sell(gen.token, lot["id"], t(10), claim="RMS 50%/10% PC MB")  # 1 t PC, 4 t PI claimed
    current = driver.get(f"/lots/{lot['id']}", gen.token).get_json()["components"]
    assert current["PC"]["claimed_kg"] == "1000.000" and current["PC"]["eligible_kg"] == "5000.000"
    assert current["PI"]["claimed_kg"] == "4000.000" and current["PI"]["eligible_kg"] == "0.000"


# --- R-A8: only new output is additional ------------------------------------------------------


def test_lot_processed_before_the_new_operation_started_is_refused(driver, engine):
    """Audit 3: a new-operation determination for the year, the operation started
    on 15 January; a lot processed on 10 January is not its output."""
    gen = driver.generator()
    plant = driver.facility(gen.token, gen.id, capacity=t(1000), name="New plant")
    driver.determination(gen.certifier, plant["id"],
                         newness={"basis": "new_operation", "operation_start": "2026-01-15"})
    old = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(50), processed_on="2026-01-10")
    driver.sell(gen.token, old["id"], t(50), on="2026-01-20")
    _refused(driver, engine, "/generations", {"lot_id": old["id"]}, gen.token, 422, "processed_before_basis", "R-A8")
    new = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(50), processed_on="2026-01-15")
    driver.sell(gen.token, new["id"], t(50), on="2026-01-20")
    assert driver.generate(gen.token, new["id"])["quantity"] == "50.000"


def test_lot_processed_before_a_capacity_reinvestment_is_refused(driver, engine):
    """Audit 3: a capacity reinvestment in service from 1 February; a lot from 10 January."""
    gen = driver.generator()
    plant = driver.facility(gen.token, gen.id, capacity=t(1000), name="Bigger plant")
    newness = {"basis": "capacity", "invested_on": "2026-02-01", "before": t(500), "after": t(800)}
    driver.determination(gen.certifier, plant["id"], newness=newness)
    old = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(200), processed_on="2026-01-10")
    driver.sell(gen.token, old["id"], t(200), on="2026-02-15")
    _refused(driver, engine, "/generations", {"lot_id": old["id"]}, gen.token, 422, "processed_before_basis", "R-A8")
    new = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(200), processed_on="2026-02-01")
    driver.sell(gen.token, new["id"], t(200), on="2026-02-15")
    assert driver.generate(gen.token, new["id"])["quantity"] == "200.000"


def test_the_processing_years_determination_applies(driver, engine, clock):
    """R-A8 (§16): a lot processed in 2025 and generated in 2026 draws on 2025's
    eligible volume; with no 2025 determination it cannot generate."""
    clock.set(datetime(2026, 1, 20, 9, 0, tzinfo=UTC))
    gen = driver.generator()  # determination for 2026 only
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(5), processed_on="2025-12-20")
    driver.sell(gen.token, lot["id"], t(5), on="2026-01-05")
    _refused(driver, engine, "/generations", {"lot_id": lot["id"]}, gen.token, 422, "not_additional", "R-A2")
    driver.determination(gen.certifier, gen.facility_id, certification_year=2025)
    block = driver.generate(gen.token, lot["id"])
    assert block["generation_year"] == 2026 and block["quantity"] == "5.000"  # R-G3: issued in 2026


# --- R-A9: the ceiling cannot be reset or stacked -----------------------------------------------


def _full_facility(driver, gen, capacity_t):
    plant = driver.facility(gen.token, gen.id, capacity=t(capacity_t), name=f"Plant {capacity_t}")
    determination = driver.determination(gen.certifier, plant["id"])
    lot = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(capacity_t))
    driver.sell(gen.token, lot["id"], t(capacity_t))
    driver.generate(gen.token, lot["id"])
    return plant, determination


def test_withdrawing_and_recording_again_does_not_reset_the_ceiling(driver, engine):
    """Audit 4a: 100 t/yr, 100 t generated; withdraw, record again: nothing more."""
    gen = driver.generator()
    plant, determination = _full_facility(driver, gen, 100)
    driver.ok(f"/determinations/{determination['id']}/withdraw", {"reason": "re-audit"}, gen.certifier, status=200)
    driver.determination(gen.certifier, plant["id"])
    again = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(100))
    driver.sell(gen.token, again["id"], t(100))
    _refused(driver, engine, "/generations", {"lot_id": again["id"], "mass": kg("0.001")}, gen.token, 422,
             "eligible_volume_exceeded", "R-A9")


def test_superseding_does_not_reset_the_ceiling(driver, engine):
    gen = driver.generator()
    plant, _ = _full_facility(driver, gen, 100)
    driver.determination(gen.certifier, plant["id"], mandate_share="0")  # supersedes
    again = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(10))
    driver.sell(gen.token, again["id"], t(10))
    _refused(driver, engine, "/generations", {"lot_id": again["id"]}, gen.token, 422,
             "eligible_volume_exceeded", "R-A9")


def test_a_line_larger_than_its_facility_is_refused(driver, engine):
    """Audit 4b: a 5 000 t line inside a 1 000 t facility; lines add up to at most the facility."""
    gen = driver.generator()
    plant = driver.facility(gen.token, gen.id, capacity=t(1000), name="Small plant")
    _refused(driver, engine, f"/facilities/{plant['id']}/lines", {"name": "Line X", "capacity": t(5000)},
             gen.token, 422, "exceeds_capacity", "R-A9")
    driver.ok(f"/facilities/{plant['id']}/lines", {"name": "Line 1", "capacity": t(600)}, gen.token)
    _refused(driver, engine, f"/facilities/{plant['id']}/lines", {"name": "Line 2", "capacity": t(401)},
             gen.token, 422, "exceeds_capacity", "R-A9")


def test_facility_and_line_determinations_do_not_stack(driver, engine):
    """Audit 4b: a facility determination and a line determination inside it:
    the facility's year never yields more than its own ceiling."""
    gen = driver.generator()
    plant = driver.facility(gen.token, gen.id, capacity=t(1000), name="Two-level plant")
    line = driver.ok(f"/facilities/{plant['id']}/lines", {"name": "Line 1", "capacity": t(1000)}, gen.token)
    driver.determination(gen.certifier, plant["id"])  # 1 000 t
    driver.determination(gen.certifier, plant["id"], line_id=line["id"])  # the line: 1 000 t more?
    on_line = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(1000), line_id=line["id"])
    driver.sell(gen.token, on_line["id"], t(1000))
    driver.generate(gen.token, on_line["id"])
    elsewhere = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(1000))
    driver.sell(gen.token, elsewhere["id"], t(1000))
    _refused(driver, engine, "/generations", {"lot_id": elsewhere["id"], "mass": kg("0.001")}, gen.token, 422,
             "eligible_volume_exceeded", "R-A9")


def test_declared_quality_volume_above_capacity_is_refused(driver, engine):
    """Audit 4c: a 5 000 t quality basis at a 1 000 t facility."""
    gen = driver.generator()
    plant = driver.facility(gen.token, gen.id, capacity=t(1000), name="Quality plant")
    body = {"facility_id": plant["id"], "certification_year": 2026, "mandate_share": "0",
            "newness": {"basis": "quality", "invested_on": "2025-03-01", "volume": t(5000),
                        "reclassification": "food grade"},
            "class_b": [{"test": "financial", "passed": True, "rationale": "ARC revenue needed", "evidence": []}],
            "evidence": []}
    _refused(driver, engine, "/determinations", body, gen.certifier, 422, "exceeds_capacity", "R-A9")
    body["newness"]["volume"] = t(1000)
    assert driver.ok("/determinations", body, gen.certifier)["eligible_kg"] == "1000000.000"
