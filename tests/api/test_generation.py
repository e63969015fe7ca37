"""Generation (SPEC §8): every refusal of R-G1 with its own code, serial
ranges that never overlap (R-G2), and the log entry in the same transaction
linking back to the lot (R-G4, R-L2b)."""

from __future__ import annotations

from datetime import UTC, datetime

import chainlog.store
from registry.db import session_factory
from tests.api.driver import snapshot, t
from tests.api.test_errors_and_health import assert_problem


def _sold_lot(driver, gen, mass=t(100), material_code="PC_P3.1.9", **overrides):
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, material_code, mass, **overrides)
    driver.sell(gen.token, lot["id"], mass)
    return lot


def _refused(driver, engine, token, body, status, code, rule, detail, field=None):
    """Refused with the whole problem — its code, the rule it cites, its words and the field it
    names (R-X1, R-X2) — and nothing written."""
    before = snapshot(engine)
    problem = assert_problem(driver.post("/generations", body, token), status, code)
    assert (problem["rule"], problem["detail"]) == (rule, detail)
    assert problem.get("errors") == ({field: [detail]} if field else None)
    assert snapshot(engine) == before


def test_generated_block_shape_and_serial(driver):
    gen = driver.generator()
    lot = _sold_lot(driver, gen, t(2))
    block = driver.generate(gen.token, lot["id"], mass=t("1.5"))
    assert block["serial"] == f"PC_P_PP_ARC-2026-{gen.id}-000000000001-000000001500"
    assert block["quantity"] == "1.500"
    assert (block["first"], block["last"]) == ("000000000001", "000000001500")
    assert block["state"] == "active" and block["owner_id"] == gen.id == block["generator_id"]
    assert block["generation_year"] == 2026 and block["use_period_end"] == "2027-12-31"
    assert block["lot_reference"] == lot["reference"] and block["parent_serial"] is None
    public = driver.get(f"/blocks/{block['serial']}")  # public lookup, no token
    assert public.status_code == 200 and public.get_json()["serial"] == block["serial"]


def test_serial_ranges_continue_without_overlap(driver):
    gen = driver.generator()
    first_lot = _sold_lot(driver, gen, t(3))
    second_lot = _sold_lot(driver, gen, t(5), material_code="PC_P3.1.5")
    a = driver.generate(gen.token, first_lot["id"])
    b = driver.generate(gen.token, second_lot["id"], mass=t(2))
    c = driver.generate(gen.token, second_lot["id"])
    ranges = [(int(x["first"]), int(x["last"])) for x in (a, b, c)]
    assert ranges == [(1, 3000), (3001, 5000), (5001, 8000)]
    assert c["serial"].startswith("PC_P_PE_ARC-2026-")


def test_generation_writes_one_log_entry_linked_to_the_lot(driver, engine):
    gen = driver.generator()
    lot = _sold_lot(driver, gen)
    with session_factory(engine)() as session:
        size_before = chainlog.store.size(session)
    block = driver.generate(gen.token, lot["id"])
    with session_factory(engine)() as session:
        assert chainlog.store.size(session) == size_before + 1
        entry = chainlog.store.entry(session, size_before)
    assert entry.type == "block.generated"
    assert entry.payload["serial"] == block["serial"]
    assert entry.payload["prev"] == lot["log"]  # R-L2b: lineage starts at lot.registered
    assert block["log"] == {"index": entry.index, "leaf_hash": entry.leaf_hash.hex()}
    registered = driver.get(f"/lots/{lot['id']}", gen.token).get_json()["log"]
    with session_factory(engine)() as session:
        lot_entry = chainlog.store.entry(session, registered["index"])
    assert lot_entry.type == "lot.registered" and lot_entry.payload["reference"] == lot["reference"]


def test_refused_when_generator_not_active(driver, engine):
    gen = driver.generator()
    lot = _sold_lot(driver, gen)
    driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    _refused(driver, engine, gen.token, {"lot_id": lot["id"]}, 422, "participant_inactive", "R-P3",
             "the generator (1) is suspended, not active")


def test_refused_without_valid_certificate(driver, engine):
    gen = driver.generator()
    lot = _sold_lot(driver, gen)
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2026-03-01", "reason": "fraud"},
              gen.certifier, status=200)
    _refused(driver, engine, gen.token, {"lot_id": lot["id"]}, 422, "certificate_invalid", "R-P2",
             "the generator holds no RMS certificate valid today that covers reprocessing")


def test_refused_when_certificate_lacks_reprocessing(driver, engine):
    gen = driver.generator()
    trader_cert = driver.certificate(gen.certifier, gen.id, activities=["trading"])
    lot = _sold_lot(driver, gen)
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-03-01", "reason": "audit"},
              gen.certifier, status=200)
    assert trader_cert["valid_today"] is True
    _refused(driver, engine, gen.token, {"lot_id": lot["id"]}, 422, "certificate_invalid", "R-P2",
             "the generator holds no RMS certificate valid today that covers reprocessing")


def test_refused_when_lot_processed_over_a_year_ago(driver, engine):
    gen = driver.generator()
    lot = _sold_lot(driver, gen, processed_on="2025-03-01")
    _refused(driver, engine, gen.token, {"lot_id": lot["id"]}, 422, "lot_too_old", "R-G1",
             "the lot was processed on 2025-03-01, more than one year ago: it could generate until 2026-03-01 (RMS 8.6.3)", "lot_id")


def test_refused_beyond_eligible_mass(driver, engine):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    _refused(driver, engine, gen.token, {"lot_id": lot["id"]}, 422, "lot_over_allocated", "R-B4",
             "the lot has no ARC-eligible mass left")  # nothing sold
    driver.sell(gen.token, lot["id"], t(4))
    _refused(driver, engine, gen.token, {"lot_id": lot["id"], "mass": t("4.001")}, 422, "lot_over_allocated", "R-B4",
             "requested 4001.000 kg but only 4000.000 kg of the lot are ARC-eligible", "mass")


def test_refused_without_additionality(driver, engine):
    gen = driver.generator()
    other_facility = driver.facility(gen.token, gen.id, name="Plant 2")
    lot = driver.lot(gen.token, other_facility["id"], gen.certificate)
    driver.sell(gen.token, lot["id"], t(100))
    _refused(driver, engine, gen.token, {"lot_id": lot["id"]}, 422, "not_additional", "R-A2",
             "no additionality determination covers the lot's facility for 2026, the year it was processed")


def test_refused_beyond_eligible_volume(driver, engine):
    gen = driver.generator()
    small = driver.facility(gen.token, gen.id, capacity=t(1000), name="Small plant")
    determination = driver.determination(gen.certifier, small["id"], mandate_share="0.999")  # 1 t/yr eligible
    lot = driver.lot(gen.token, small["id"], gen.certificate, mass=t(5))
    driver.sell(gen.token, lot["id"], t(5))
    driver.generate(gen.token, lot["id"], mass=t("0.2"))
    driver.generate(gen.token, lot["id"], mass=t("0.4"))
    # the determination's record adds up its generations (R-A9; the check itself sums the lots)
    assert driver.get(f"/determinations/{determination['id']}", gen.certifier).get_json()["used_kg"] == "600.000"
    _refused(driver, engine, gen.token, {"lot_id": lot["id"], "mass": t("0.5")}, 422, "eligible_volume_exceeded", "R-A9",
             "the facility has 400.000 kg of eligible volume left for 2026 (600.000 kg of 1000.000 kg used); 500.000 kg were requested", "mass")


def test_refused_for_material_that_cannot_generate(driver, engine):
    gen = driver.generator()
    lot = _sold_lot(driver, gen, material_code="PC_P4.1.2")
    _refused(driver, engine, gen.token, {"lot_id": lot["id"]}, 422, "material_not_eligible", "R-K2",
             "PC_P4.1.2 (PE film or wrap) cannot generate ARCs: only P3 resins and P2 intermediates are base material (Plastics Module P6.1.2)")


def test_phase_out_generates_post_consumer_only(driver, engine, clock):
    clock.set(datetime(2025, 6, 2, tzinfo=UTC))
    gen = driver.generator()
    existing = driver.facility(gen.token, gen.id, capacity=t(1000), name="Old plant")
    determination = driver.determination(gen.certifier, existing["id"], certification_year=2025,
                                         newness={"basis": "phase_out"})
    assert determination["eligible_kg"] == "100000.000" and determination["pc_only"] is True
    pi_lot = driver.lot(gen.token, existing["id"], gen.certificate, "PI_P3.1.9", t(5), processed_on="2025-05-01")
    driver.sell(gen.token, pi_lot["id"], t(5), on="2025-05-15")
    _refused(driver, engine, gen.token, {"lot_id": pi_lot["id"]}, 422, "phase_out_pc_only", "R-A5",
             "the phase-out exemption covers post-consumer material only")
    pc_lot = driver.lot(gen.token, existing["id"], gen.certificate, "PC_P3.1.9", t(5), processed_on="2025-05-01")
    driver.sell(gen.token, pc_lot["id"], t(5), on="2025-05-15")
    assert driver.generate(gen.token, pc_lot["id"])["quantity"] == "5.000"


def test_a_component_the_lot_does_not_have_is_refused(driver, engine):
    """R-B2: a whole post-consumer lot has no PI component to generate from; naming its own
    status is the same as naming none."""
    gen = driver.generator()
    lot = _sold_lot(driver, gen, t(2))
    _refused(driver, engine, gen.token, {"lot_id": lot["id"], "component": "PI"}, 400, "invalid_component", "R-B2",
             "the lot has no PI component", "component")
    assert driver.generate(gen.token, lot["id"], component="PC")["quantity"] == "2.000"


def test_split_lot_generates_per_component(driver, engine):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, "PI_P3.1.5", t(10),
                     pc_mass=t(6), pi_mass=t(4))
    driver.sell(gen.token, lot["id"], t(10), claim="RMS 50%/10% PC MB")
    _refused(driver, engine, gen.token, {"lot_id": lot["id"]}, 400, "component_required", "R-G1",
             "a split lot generates per component: name PC or PI", "component")
    current = driver.get(f"/lots/{lot['id']}", gen.token).get_json()
    # 6 t PC sold, 1 t of it claimed; 4 t PI sold, 4 t claimed.
    assert current["components"]["PC"]["eligible_kg"] == "5000.000"
    assert current["components"]["PI"]["eligible_kg"] == "0.000"
    block = driver.generate(gen.token, lot["id"], component="PC")
    assert block["arc_code"] == "PC_P_PE_ARC" and block["quantity"] == "5.000"
    _refused(driver, engine, gen.token, {"lot_id": lot["id"], "component": "PI"}, 422, "lot_over_allocated", "R-B4",
             "the lot has no ARC-eligible mass left")


def test_full_lot_generation_requires_disclaimer(driver, engine):
    gen = driver.generator()
    lot = _sold_lot(driver, gen, t(3))
    driver.generate(gen.token, lot["id"])
    after = driver.get(f"/lots/{lot['id']}", gen.token).get_json()
    assert after["disclaimer_required"] is True


def test_another_members_lot_is_not_found(driver, engine):
    gen = driver.generator("Acme")
    other = driver.generator("Other")
    lot = _sold_lot(driver, gen)
    _refused(driver, engine, other.token, {"lot_id": lot["id"]}, 404, "lot_not_found", "R-X4",
             "no lot 1")
