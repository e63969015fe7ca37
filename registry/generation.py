"""Generation (issuance) of ARC and PEQ certificate blocks (SPEC §8).

One generation: every refusal of R-G1 checked, one block with a fresh serial
range (R-G2), the lot's and the determination's usage updated, and one
``block.generated`` log entry linking back to the lot's ``lot.registered``
entry (R-L2b) — all in the caller's transaction (R-G4).
"""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from registry import additionality as additionality_rules
from registry import classification, generation_rules, quantities, unit_totals
from registry.actors import Actor, require_acts_for
from registry.blocks import block_payload, new_serial
from registry.custody import credit as custody_credit
from registry.custody import lots as custody_lots
from registry.custody.balance_sql import read as read_book
from registry.custody.models import CustodyAccount
from registry.db import UnitOfWork
from registry.additionality import ceiling
from registry.determinations import CURRENT, applicable_determinations, require_within_ceilings, used_kg
from registry.errors import InvalidInput, RegistryError, RuleViolation
from registry.journal import LogRef, record
from registry.notifications import announce
from registry.lots import account, get_lot
from registry.models import Block, Determination, Facility, Lot, Participant, RmsCertificate
from registry.lockorder import lock_participant
from registry.participants import require_active
from registry.removal import require_registered_generator
from registry.rms_certificates import (certificates_citable_by, events_of, is_valid_on, periods_of, scope_on,
                                      sites_for)
from registry.units import Mass, MassRequest
from registry.use_period import use_period_end


def _require_generator_certified(uow: UnitOfWork, generator_id: int, today: date) -> None:
    """R-P2, RMS 8.6.4, R-E3: a valid RMS certificate covering reprocessing,
    today (its own, or a group's listing it, R-C6)."""
    certificates = certificates_citable_by(uow, generator_id)
    if not any("reprocessing" in scope_on(c, today).activities and sites_for(c, generator_id, today) is not None
               and is_valid_on(uow, c, today) for c in certificates):
        raise RuleViolation("the generator holds no RMS certificate valid today that covers "
                            "reprocessing", code="certificate_invalid", rule="R-P2")


def _require_cited_certificate(uow: UnitOfWork, lot: Lot) -> None:
    """R-G1 last bullet, R-G5: the lot's own certificate, on the lot's processing
    date, as the register stands now (registry.generation_rules)."""
    cert = uow.session.get(RmsCertificate, lot.rms_certificate_id)
    facility = uow.session.get(Facility, lot.facility_id)
    generation_rules.require_cited_certificate(
        number=cert.number, processed_on=lot.processed_on, periods=periods_of(cert),
        events=events_of(uow, cert), activities=scope_on(cert, lot.processed_on).activities,
        facility=(facility.country, facility.name), sites=sites_for(cert, lot.generator_id, lot.processed_on))


def _component(lot: Lot, requested: str | None) -> str:
    parts = account(lot).components()
    if requested is None:
        if len(parts) > 1:
            raise InvalidInput("a split lot generates per component: name PC or PI",
                               field="component", code="component_required", rule="R-G1")
        return next(iter(parts))
    if requested not in parts:
        raise InvalidInput(f"the lot has no {requested} component", field="component",
                           code="invalid_component", rule="R-B2")
    return requested


def generate(uow: UnitOfWork, actor: Actor, *, lot_id: int, mass: Mass | MassRequest | None = None,
             component: str | None = None) -> Block:
    today = uow.clock.today()
    # R-X5: the generator's row (shared) before the lot, the
    # determination, the serial counter and the log. A lot's generator never changes.
    generator_id = get_lot(uow, actor, lot_id).generator_id
    require_acts_for(actor, generator_id)
    generator = lock_participant(uow, generator_id)
    lot = get_lot(uow, actor, lot_id, lock=True)
    require_active(generator, "generator")
    require_registered_generator(generator)  # R-E4
    _require_generator_certified(uow, generator.id, today)
    generation_rules.require_recent(lot.processed_on, today)  # RMS 8.6.3
    _require_cited_certificate(uow, lot)
    material = classification.parse_material_code(lot.material_code)
    arc_type = classification.arc_type(material)  # R-K2: refuses P1, P4, P5
    status = _component(lot, component)
    before = account(lot)
    eligible = before.eligible_kg(status)

    request = MassRequest.of(mass)
    running_lb = unit_totals.component_lb(split=lot.pc_kg is not None, status=status, used_lb=lot.used_lb,
                                          used_pc_lb=lot.used_pc_lb)
    # R-U6: pounds convert as this component's running total; no mass takes all that is eligible.
    taken = unit_totals.take(request, running_lb=running_lb, rest_kg=eligible)
    base_kg = taken.kg
    if base_kg <= 0:
        raise RuleViolation("the lot has no ARC-eligible mass left", code="lot_over_allocated",
                            rule="R-B4")
    if base_kg > eligible:
        # R-B4, RMS 8.3.4.3: generated only once, never beyond sold − claimed − used, per component.
        raise RuleViolation(f"requested {base_kg} kg but only {eligible} kg of the lot "
                            "are ARC-eligible", field="mass", code="lot_over_allocated", rule="R-B4")

    # R-A8: the determination of the year the lot was processed, and only output made after its basis.
    year_processed = lot.processed_on.year
    # R-A9: locks every current determination of the facility-year, so generations there run one at a time.
    determination, current = applicable_determinations(uow, lot, year_processed)
    ceiling.require_new_output(lot.processed_on, determination.record["newness"])
    if determination.pc_only and status != "PC":
        # P7.2.5.2: during the phase-out only post-consumer material generates.
        raise RuleViolation("the phase-out exemption covers post-consumer material only",
                            code="phase_out_pc_only", rule="R-A5")
    require_within_ceilings(uow, lot, base_kg, determination, current, year_processed)

    custody = None
    if lot.custody_account_id is not None:
        # R-M6: the lot is an output of a custody account: its ARCs draw the account's credit, first in,
        # first out, in this transaction; insufficient_credit when it is not there (R-M4)
        custody = custody_lots.draw(uow, actor, lot.custody_account_id, on=today, facility_id=lot.facility_id,
                                    material_code=lot.material_code, claimed=custody_lots.arc_claim(status, base_kg),
                                    arcs=True)

    quantity = quantities.generation_quantity(
        material, used_before_kg=before.components()[status].used_kg, mass_kg=base_kg,
        non_plastic_fraction=lot.non_plastic_fraction, lhv_mj_per_kg=lot.lhv_mj_per_kg)

    lot.used_kg += base_kg
    lot.used_lb += taken.running_lb - running_lb
    if status == "PC" and lot.pc_kg is not None:
        lot.used_pc_kg += base_kg
        lot.used_pc_lb += taken.running_lb - running_lb
    account(lot).require_invariants(field="mass")  # R-B4: the invariants hold after the write too
    if lot.used_kg == lot.mass_kg:
        lot.disclaimer_required = True  # R-B5, RMS 8.3.4.5
    determination.used_kg += base_kg

    year = today.year  # R-G3: the year of issuance in the registry
    code = classification.arc_code(classification.parse_status(status), arc_type)
    first, last, serial = new_serial(uow, generator.id, year, code, quantity)
    now = uow.clock.now()
    block = Block(serial=serial, arc_code=code, arc_type=arc_type, recycled_status=status,
                  quantity=quantity, state="active", owner_id=generator.id, generator_id=generator.id,
                  lot_id=lot.id, lot_reference=lot.reference, determination_id=determination.id, generation_year=year,
                  first_unit=first, last_unit=last, base_kg=base_kg, parent_serial=None,
                  log_index=0, leaf_hash="", created_at=now, updated_at=now)
    uow.session.add(block)
    uow.flush()
    lot_link = LogRef(lot.log_index, lot.leaf_hash)
    ref = record(uow, "block.generated", actor, {
        **block_payload(block),
        "determination": determination.id,
        "use_period_end": use_period_end(year).isoformat(),
        "lot_used_kg": format(lot.used_kg, "f"),
        "requested": unit_totals.logged(request),  # R-U6: replay re-derives base_kg from it
        "disclaimer_required": lot.disclaimer_required,
        "prev": lot_link.link(),  # R-L2b: the lineage starts at the lot
        **({"custody": custody} if custody is not None else {}),  # R-M6: the credit the ARCs drew
    })
    block.log_index, block.leaf_hash = ref.index, ref.leaf_hash
    uow.flush()
    announce.generated(uow, block)  # R-N1: with its cause
    return block




def availability_of(uow: UnitOfWork, actor: Actor | None, lot_id: int) -> list[generation_rules.Availability]:
    """R-W2: for each component of a lot, how much base mass a generation could use today and why
    (`generation_rules.availability` on what `generate` reads, without its locks): the generate
    form shows it before anything is submitted. Plain reads; nothing is written."""
    lot = get_lot(uow, actor, lot_id)
    today = uow.clock.today()
    year = lot.processed_on.year
    current = [(d.id, d.line_id, d.outcome == additionality_rules.ADDITIONAL, d.eligible_kg, d.pc_only,
                d.record.get("newness", {}))
               for d in uow.session.exec(select(Determination).where(
                   Determination.facility_id == lot.facility_id, Determination.certification_year == year,
                   Determination.status == CURRENT).order_by(Determination.id))]
    lines = {d[1]: used_kg(uow, lot.facility_id, year, d[1]) for d in current if d[1] is not None}
    facility_used = used_kg(uow, lot.facility_id, year)
    credit_kg = None
    if lot.custody_account_id is not None:
        book = read_book(uow.session, lot.custody_account_id, max(today, _last_on(uow, lot.custody_account_id)))
        credit_kg = custody_credit.balance(book.credited, book.drawn, book.due)
    refused = []
    for check in (lambda: require_active(uow.session.get(Participant, lot.generator_id), "generator"),
                  lambda: _require_generator_certified(uow, lot.generator_id, today),
                  lambda: _require_cited_certificate(uow, lot)):
        try:
            check()
        except RegistryError as error:
            refused.append(f"{error.detail} ({error.rule})" if error.rule else error.detail)
    material = classification.parse_material_code(lot.material_code)
    balance = account(lot)
    out = []
    for status, component in balance.components().items():
        def quantity(base_kg, used_before=component.used_kg):
            return quantities.generation_quantity(
                material, used_before_kg=used_before, mass_kg=base_kg,
                non_plastic_fraction=lot.non_plastic_fraction, lhv_mj_per_kg=lot.lhv_mj_per_kg)
        out.append(generation_rules.availability(
            status=status, sold_kg=lot.sold_kg, claimed_kg=component.claimed_kg, used_kg=component.used_kg,
            lot_eligible_kg=balance.eligible_kg(status), processed_on=lot.processed_on, today=today, year=year,
            lot_line=lot.line_id, current=current, facility_used_kg=facility_used, line_used_kg=lines,
            credit_kg=credit_kg, quantity=quantity, refused=refused))
    return out


def _last_on(uow: UnitOfWork, account_id: int) -> date:
    last = uow.session.get(CustodyAccount, account_id).last_on
    return last or date.min
