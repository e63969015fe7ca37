"""R-W2: the generate form's preview (`registry.generation.availability_of`) agrees with
`generate` itself: the base mass it offers is accepted to the gram, and one gram more is
refused with the bound it names. Scenarios where each bound binds — the lot's eligible mass
(R-B4), a determination's volume (R-A2, R-A9) with determinations of other facilities and
years in the register, a phase-out determination for post-industrial material (R-A5), the
year after processing (RMS 8.6.3). SQLite and
PostgreSQL (the ``driver`` fixture runs on both)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from registry import generation
from registry.db import UnitOfWork, session_factory
from registry.identity import actor_of, authenticate
from tests.api.driver import kg, t
from tests.api.test_custody_generation import Reprocessor, _sale
from tests.api.test_errors_and_health import assert_problem


def _preview(engine, clock, token: str, lot_id: int) -> dict:
    with UnitOfWork(session_factory(engine), clock) as uow:
        found = generation.availability_of(uow, actor_of(authenticate(uow, token)), lot_id)
        return {a.status: (a.base_kg, a.binding.what if a.binding else None) for a in found}


def _offer(engine, clock, token: str, lot_id: int, status: str = "PC"):
    with UnitOfWork(session_factory(engine), clock) as uow:
        [found] = [a for a in generation.availability_of(uow, actor_of(authenticate(uow, token)), lot_id)
                   if a.status == status]
        return found


def _generates_exactly(driver, engine, clock, token: str, lot_id: int, base_kg: Decimal, code: str,
                       component: str | None = None):
    """``base_kg`` + 1 g is refused with ``code``; ``base_kg`` itself is accepted, and makes the
    certificates the preview announced."""
    announced = _offer(engine, clock, token, lot_id, component or "PC").certificates
    over = {"lot_id": lot_id, "mass": kg(base_kg + Decimal("0.001"))}
    if component:
        over["component"] = component
    assert_problem(driver.post("/generations", over, token), 422, code)
    block = driver.generate(token, lot_id, mass=kg(base_kg), component=component)
    assert Decimal(block["quantity"]) == announced


def test_the_lot_s_eligible_mass_binds(driver, engine, clock):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(3))
    driver.sell(gen.token, lot["id"], t(3), claim="RMS 25% PC MB")  # 0.75 t claimed: 2.25 t eligible
    assert _preview(engine, clock, gen.token, lot["id"]) == {"PC": (Decimal("2250.000"), "lot")}
    _generates_exactly(driver, engine, clock, gen.token, lot["id"], Decimal("2250.000"), "lot_over_allocated")
    assert _preview(engine, clock, gen.token, lot["id"]) == {"PC": (Decimal("0.000"), "lot")}
    assert _offer(engine, clock, gen.token, lot["id"]).binding.why == (
        "3000.000 kg sold or consumed, 750.000 kg carried as RMS claims on sales, 2250.000 kg already used for "
        "ARCs: 0.000 kg of the PC component can back ARCs (R-B4)")


def test_the_determination_of_the_lot_s_facility_and_year_binds(driver, engine, clock):
    gen = driver.generator()
    small = driver.facility(gen.token, gen.id, capacity=t(1000), name="Small plant")
    other = driver.facility(gen.token, gen.id, capacity=t(1000), name="Other plant")
    driver.determination(gen.certifier, other["id"], mandate_share="0.5")  # another facility: 500 t
    driver.determination(gen.certifier, small["id"], mandate_share="0.5", certification_year=2025)  # another year
    driver.determination(gen.certifier, small["id"], mandate_share="0.999")  # this one: 1 t for 2026
    lot = driver.lot(gen.token, small["id"], gen.certificate, mass=t(5))
    driver.sell(gen.token, lot["id"], t(5))
    driver.generate(gen.token, lot["id"], mass=t("0.4"))
    base, code = _preview(engine, clock, gen.token, lot["id"])["PC"]
    assert (base, code) == (Decimal("600.000"), "additionality")
    _generates_exactly(driver, engine, clock, gen.token, lot["id"], base, "eligible_volume_exceeded")


def test_a_phase_out_determination_backs_no_post_industrial_material(driver, engine, clock):
    clock.set(datetime(2025, 6, 2, tzinfo=UTC))
    gen = driver.generator()
    existing = driver.facility(gen.token, gen.id, capacity=t(1000), name="Old plant")
    driver.determination(gen.certifier, existing["id"], certification_year=2025, newness={"basis": "phase_out"})
    pi_lot = driver.lot(gen.token, existing["id"], gen.certificate, "PI_P3.1.9", t(5), processed_on="2025-05-01")
    driver.sell(gen.token, pi_lot["id"], t(5), on="2025-05-15")
    assert _preview(engine, clock, gen.token, pi_lot["id"]) == {"PI": (Decimal("0.000"), "phase_out")}
    assert_problem(driver.post("/generations", {"lot_id": pi_lot["id"], "mass": kg(1)}, gen.token), 422,
                   "phase_out_pc_only")
    pc_lot = driver.lot(gen.token, existing["id"], gen.certificate, "PC_P3.1.9", t(5), processed_on="2025-05-01")
    driver.sell(gen.token, pc_lot["id"], t(5), on="2025-05-15")
    assert _preview(engine, clock, gen.token, pc_lot["id"]) == {"PC": (Decimal("5000.000"), "lot")}
    _generates_exactly(driver, engine, clock, gen.token, pc_lot["id"], Decimal("5000.000"), "lot_over_allocated")


def test_nothing_is_offered_a_year_after_processing(driver, engine, clock):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(2), processed_on="2026-02-10")
    driver.sell(gen.token, lot["id"], t(2))
    assert _preview(engine, clock, gen.token, lot["id"]) == {"PC": (Decimal("2000.000"), "lot")}
    clock.set(datetime(2027, 2, 11, 9, 0, tzinfo=UTC))  # RMS 8.6.3: the last day was 2027-02-10
    assert _preview(engine, clock, gen.token, lot["id"]) == {"PC": (Decimal("0.000"), "age")}
    assert_problem(driver.post("/generations", {"lot_id": lot["id"], "mass": kg(1)}, gen.token), 422,
                   "lot_too_old")



def test_nothing_is_offered_for_a_lot_processed_before_its_determination_s_basis_date(driver, engine, clock):
    """R-A8: the determination's new operation started on 2026-02-10; a lot processed before it
    backs nothing, one processed that day does."""
    gen = driver.generator()
    driver.determination(gen.certifier, gen.facility_id,
                         newness={"basis": "new_operation", "operation_start": "2026-02-10"})
    early = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(2), processed_on="2026-02-09")
    driver.sell(gen.token, early["id"], t(2))
    assert _preview(engine, clock, gen.token, early["id"]) == {"PC": (Decimal("0.000"), "basis_date")}
    assert _offer(engine, clock, gen.token, early["id"]).binding.why == (
        "the lot was processed on 2026-02-09, before the basis date 2026-02-10: only new output is additional (R-A8)")
    assert_problem(driver.post("/generations", {"lot_id": early["id"], "mass": kg(1)}, gen.token), 422,
                   "processed_before_basis")
    first_day = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(2), processed_on="2026-02-10")
    driver.sell(gen.token, first_day["id"], t(2))
    assert _preview(engine, clock, gen.token, first_day["id"]) == {"PC": (Decimal("2000.000"), "lot")}


def test_a_line_s_determination_and_the_facility_s_ceiling_bind(driver, engine, clock):
    """A 1 000 t plant with a 400 t line, each with a determination: a lot on the line has
    what is left of the line's 400 t; a lot elsewhere what is left of the plant's 1 000 t once
    the line's generations are counted (R-A2, R-A9: the two never stack)."""
    gen = driver.generator()
    # a line of another plant first, so this plant's line id is not 1 (True == 1 as a key and in SQL)
    driver.ok(f"/facilities/{gen.facility_id}/lines", {"name": "Line A", "capacity": t(10)}, gen.token)
    plant = driver.facility(gen.token, gen.id, capacity=t(1000), name="Two-level plant")
    line = driver.ok(f"/facilities/{plant['id']}/lines", {"name": "Line 1", "capacity": t(400)}, gen.token)
    driver.determination(gen.certifier, plant["id"])
    driver.determination(gen.certifier, plant["id"], line_id=line["id"])
    assert line["id"] != 1
    elsewhere = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(1000))
    driver.sell(gen.token, elsewhere["id"], t(1000))
    driver.generate(gen.token, elsewhere["id"], mass=t(50))  # the plant has used more than the line
    on_line = driver.lot(gen.token, plant["id"], gen.certificate, mass=t(1000), line_id=line["id"])
    driver.sell(gen.token, on_line["id"], t(1000))
    driver.generate(gen.token, on_line["id"], mass=t(100))
    assert _preview(engine, clock, gen.token, on_line["id"]) == {"PC": (Decimal("300000.000"), "additionality")}
    _generates_exactly(driver, engine, clock, gen.token, on_line["id"], Decimal("300000.000"), "eligible_volume_exceeded")
    base, _ = _preview(engine, clock, gen.token, elsewhere["id"])["PC"]
    assert base == Decimal("550000.000")  # 1 000 t − 50 t − the line's 400 t
    _generates_exactly(driver, engine, clock, gen.token, elsewhere["id"], base, "eligible_volume_exceeded")


def test_a_suspended_generator_is_offered_nothing(driver, engine, clock):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(2))
    driver.sell(gen.token, lot["id"], t(2))
    driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    assert _preview(engine, clock, gen.token, lot["id"]) == {"PC": (Decimal("0.000"), "standing")}
    assert _offer(engine, clock, gen.token, lot["id"]).binding.why == \
        f"the generator ({gen.id}) is suspended, not active (R-P3)"
    assert_problem(driver.post("/generations", {"lot_id": lot["id"], "mass": kg(1)}, gen.token), 422,
                   "participant_inactive")


def test_a_custody_lot_is_offered_the_account_s_credit_left_after_expiry(driver, engine, clock):
    """R-M4, R-M6: a lot of a mass-balance account is offered the credit left — after
    claims, and without the credit that has expired by today (received 2026-01-10, gone
    on 2027-01-10); the rest of the lot's eligible mass is not offered."""
    r = Reprocessor(driver)
    receipt = r.receive("2026-01-10", t(100), reference="INV-A")
    r.receive("2026-01-20", t(40), reference="INV-B")
    lot = driver.ok("/lots", r.lot_body(custody_account_id=r.account, receipts=[{"receipt_id": receipt["id"]}]),
                    r.g.token)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(800)), r.g.token)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-16", t(200), "RMS 25% PC MB"), r.g.token)  # 50 t
    assert _preview(engine, clock, r.g.token, lot["id"]) == {"PC": (Decimal("90000.000"), "credit")}
    clock.set(datetime(2027, 1, 15, 9, 0, tzinfo=UTC))  # INV-A's 50 t left expired on 2027-01-10
    assert _preview(engine, clock, r.g.token, lot["id"]) == {"PC": (Decimal("40000.000"), "credit")}
    _generates_exactly(driver, engine, clock, r.g.token, lot["id"], Decimal("40000.000"), "insufficient_credit")


def test_a_lot_whose_certificate_was_revoked_is_offered_nothing(driver, engine, clock):
    """R-G1: the certificate the lot cites, on its processing date, as the register stands now."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10), processed_on="2026-02-10")
    driver.sell(gen.token, lot["id"], t(10), on="2026-02-10")
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2026-01-15", "reason": "certifier's finding"},
              gen.certifier, status=200)
    driver.certificate(gen.certifier, gen.id, issued_on="2026-01-16")  # the generator is certified again
    offer = _offer(engine, clock, gen.token, lot["id"])
    assert (offer.base_kg, offer.binding.what) == (Decimal("0.000"), "standing")
    assert offer.binding.why.startswith(f"the lot's RMS certificate {gen.certificate} is revoked on 2026-02-10")
    assert_problem(driver.post("/generations", {"lot_id": lot["id"], "mass": kg(1)}, gen.token), 422,
                   "certificate_invalid")


@pytest.mark.parametrize(("material", "fraction", "lhv"), [("PC_P3.1.5", "0.05", None), ("PC_P2.1.1", "0", "40.0")],
                         ids=["contamination-cap", "peq-by-lhv"])
def test_the_certificates_announced_are_those_generated(driver, engine, clock, material, fraction, lhv):
    """R-K4, R-K5: the preview counts certificates as generation does — the contamination cap,
    PEQ by heating value — including after an earlier generation from the same lot."""
    gen = driver.generator()
    extra = {"lhv_mj_per_kg": lhv} if lhv else {}
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, material, kg("2345.678"),
                     non_plastic_fraction=fraction, **extra)
    driver.sell(gen.token, lot["id"], kg("2345.678"))
    driver.generate(gen.token, lot["id"], mass=kg("1000.500"))
    _generates_exactly(driver, engine, clock, gen.token, lot["id"], Decimal("1345.178"), "lot_over_allocated")
