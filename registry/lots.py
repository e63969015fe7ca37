"""Base material lots: registration and dispositions (SPEC §6).

A lot is the chain-of-custody link between physical certified material and
the certificates generated from it: its ``lot.registered`` log entry is where
every block's lineage starts (R-B6, R-L2b).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import select

from registry import certification, claims, classification, lot_rules, scope, unit_totals
from registry.custody import lots as custody_lots
from registry.custody import rules as custody_rules
from registry.actors import Actor, require_acts_for
from registry.db import UnitOfWork, get_for_update
from registry.errors import Conflict, InvalidInput, NotFound, RuleViolation
from registry.facilities import get_facility, get_line
from registry.journal import record
from registry.lot_account import LotAccount
from registry.models import Disposition, Lot, RmsCertificate
from registry.names import check_name
from registry.rms_certificates import events_of, get_certificate, is_valid_on, periods_of, sites_for
from registry.units import Mass, MassRequest, exact_arithmetic, round_half_up

TRANSFORMATIONS = ("physical", "chemical")
DISPOSITION_KINDS = ("sale", "consumption")


def account(lot: Lot) -> LotAccount:
    """The lot's R-B4 account (registry.lot_account): sold, claimed and used, per component."""
    return LotAccount(status=lot.recycled_status, mass_kg=lot.mass_kg, pc_kg=lot.pc_kg, sold_kg=lot.sold_kg,
                      claimed_kg=lot.claimed_kg, claimed_pc_kg=lot.claimed_pc_kg, used_kg=lot.used_kg,
                      used_pc_kg=lot.used_pc_kg)


def eligible_kg(lot: Lot) -> Decimal:
    """Base mass the lot can still back with ARCs, all components together (R-B4)."""
    return account(lot).total_eligible_kg()


def lot_payload(lot: Lot, certificate_number: str) -> dict:
    """The lot's canonical content as the log keeps it (R-B6)."""
    return {
        "lot": lot.id,
        "generator": lot.generator_id,
        "facility": lot.facility_id,
        "line": lot.line_id,
        "reference": lot.reference,
        "material_code": lot.material_code,
        "recycled_status": lot.recycled_status,
        "mass_kg": format(lot.mass_kg, "f"),
        "pc_kg": None if lot.pc_kg is None else format(lot.pc_kg, "f"),
        "non_plastic_fraction": format(lot.non_plastic_fraction, "f"),
        "lhv_mj_per_kg": None if lot.lhv_mj_per_kg is None else format(lot.lhv_mj_per_kg, "f"),
        "processed_on": lot.processed_on.isoformat(),
        "rms_certificate": certificate_number,
        "conversion": lot.conversion,
        "inputs": lot.inputs,
        "evidence": lot.evidence,
        # R-M6: only when the lot is an output of a custody account, so earlier entries keep their shape
        **({"custody_account": lot.custody_account_id} if lot.custody_account_id is not None else {}),
    }


def _mass_json(mass: Mass) -> str:
    return format(mass.kg, "f")


def _conversion(raw: dict) -> dict:
    """RMS 5.4.2 conversion-factor documentation, normalised for the log."""
    if raw["transformation"] not in TRANSFORMATIONS:
        raise InvalidInput(f"transformation must be one of {', '.join(TRANSFORMATIONS)}",
                           field="conversion.transformation", code="invalid_choice")
    factor = raw["factor"]
    if not Decimal(0) < factor <= Decimal(100):
        raise InvalidInput("the conversion factor is a percentage in (0, 100]",
                           field="conversion.factor", code="out_of_range")

    def flows(items, name):
        out = []
        for i, item in enumerate(items):
            code = classification.parse_material_code(item["material_code"],
                                                      field=f"conversion.{name}.{i}.material_code")
            out.append({"material_code": code.id, "mass_kg": _mass_json(item["mass"])})
        return out

    return {
        "inputs": flows(raw["inputs"], "inputs"),
        "transformation": raw["transformation"],
        "description": raw["description"],
        "factor": format(factor, "f"),
        "justification": raw["justification"],
        "outputs": flows(raw["outputs"], "outputs"),
    }


def _upstream(inputs: list[dict], processed_on: date) -> list[dict]:
    """R-B6: certified inputs cited by the lot; an input's date of receipt,
    when given, is on or before the processing date (R-B8)."""
    out = []
    for i, item in enumerate(inputs):
        received_on = item.get("received_on")
        if isinstance(received_on, str):  # a domain caller's ISO date; the API gives a date
            received_on = date.fromisoformat(received_on)
        if received_on is not None and received_on > processed_on:
            raise InvalidInput(f"an input received on {received_on} cannot be processed on {processed_on}",
                               field=f"inputs.{i}.received_on", code="input_after_processing", rule="R-B8")
        certification.parse_certificate_number(item["supplier_certificate"],
                                               field=f"inputs.{i}.supplier_certificate")
        code = classification.parse_material_code(item["material_code"],
                                                  field=f"inputs.{i}.material_code")
        out.append({"supplier_certificate": item["supplier_certificate"],
                    "reference": item["reference"], "material_code": code.id,
                    "mass_kg": _mass_json(item["mass"]),
                    # only when stated, so earlier entries keep their shape
                    **({"received_on": received_on.isoformat()} if received_on is not None else {})})
    return out


def _in_register(uow: UnitOfWork, number: str):
    """R-B8: a certificate in the register as (periods, events), or None."""
    try:
        cert = get_certificate(uow, number)
    except NotFound:
        return None
    return periods_of(cert), events_of(uow, cert)


def register_lot(uow: UnitOfWork, actor: Actor, *, facility_id: int, reference: str, material_code: str,
                 mass: Mass, processed_on: date, rms_certificate: str, conversion: dict,
                 non_plastic_fraction: Decimal, line_id: int | None = None,
                 pc_mass: Mass | None = None, pi_mass: Mass | None = None,
                 lhv_mj_per_kg: Decimal | None = None, inputs: list[dict] = (),
                 evidence: list[dict] = (), custody_account_id: int | None = None,
                 receipts: list[dict] = ()) -> Lot:
    facility = get_facility(uow, actor, facility_id)
    require_acts_for(actor, facility.participant_id)
    scope.require_may_register(uow, facility.participant_id)  # R-X10: not while suspended
    if line_id is not None:
        get_line(uow, facility, line_id)
    material = classification.parse_material_code(material_code)
    status = material.status
    # R-B2: validates that a documented split adds up to the lot.
    classification.lot_components(status, mass.kg, pc_mass.kg if pc_mass is not None else None,
                                  pi_mass.kg if pi_mass is not None else None)
    if material.level1 == "P2" and lhv_mj_per_kg is None:
        raise InvalidInput("a P2 intermediate needs its lower heating value", field="lhv_mj_per_kg",
                           code="lhv_required", rule="R-B1")
    if processed_on > uow.clock.today():
        raise InvalidInput("processed_on is in the future", field="processed_on",
                           code="date_in_future")
    cert, sites = _certificate_for(uow, facility.participant_id, rms_certificate, processed_on)
    lot_rules.require_certified_site(facility.country, facility.name, sites)  # R-G5, R-C6: sites that day
    documented = _conversion(conversion)
    lot_rules.require_conversion_adds_up(material.id, mass.kg, documented)  # R-B7
    lot_rules.require_peq_is_chemical(material.level1, documented["transformation"], lhv_mj_per_kg)  # R-G6
    upstream = _inputs(uow, facility.participant_id, facility.id, material.id, processed_on, list(inputs),
                       custody_account_id, list(receipts))
    reference = check_name("reference", reference)  # R-R5: no invisible characters, no look-alike scripts
    taken = select(Lot.id).where(Lot.generator_id == facility.participant_id, Lot.reference == reference)
    if uow.session.exec(taken).first() is not None:
        raise Conflict(f"lot reference {reference} is already registered", field="reference",
                       code="lot_reference_taken", rule="R-B1")
    zero = Decimal("0.000")
    lot = Lot(
        generator_id=facility.participant_id, facility_id=facility.id, line_id=line_id,
        reference=reference, material_code=material.id, recycled_status=str(status),
        mass_kg=mass.kg, pc_kg=pc_mass.kg if pc_mass is not None else None,
        non_plastic_fraction=non_plastic_fraction, lhv_mj_per_kg=lhv_mj_per_kg,
        processed_on=processed_on, rms_certificate_id=cert.id, conversion=documented,
        inputs=upstream.items, evidence=[dict(e) for e in evidence],
        sold_kg=zero, claimed_kg=zero, claimed_pc_kg=zero, used_kg=zero, used_pc_kg=zero,
        custody_account_id=upstream.account_id, log_index=0, leaf_hash="", created_at=uow.clock.now())
    uow.session.add(lot)
    uow.flush()
    ref = record(uow, "lot.registered", actor, lot_payload(lot, cert.number))
    lot.log_index, lot.leaf_hash = ref.index, ref.leaf_hash
    uow.flush()
    return lot


@dataclass(frozen=True)
class _Upstream:
    items: list[dict]
    account_id: int | None  # R-M6: the custody account the lot is an output of


def _inputs(uow: UnitOfWork, generator_id: int, facility_id: int, material_code: str, processed_on: date,
            inputs: list[dict], account_id: int | None, receipts: list[dict]) -> _Upstream:
    """R-B6, R-B8, R-M6: a lot's cited inputs — free text checked against the register, or,
    where the generator keeps a custody account for the lot's facility and product,
    the account's receipts (registry.custody.lots)."""
    account = custody_lots.account_for_lot(uow, generator_id=generator_id, facility_id=facility_id,
                                           material_code=material_code, account_id=account_id)
    if account is None:
        if receipts:
            raise InvalidInput("receipts are cited by lots of a custody account: name it in custody_account_id",
                               field="receipts", code="custody_account_required", rule="R-M6")
        upstream = _upstream(inputs, processed_on)
        lot_rules.require_inputs_certified(upstream, processed_on, lambda number: _in_register(uow, number))
        return _Upstream(upstream, None)
    if inputs:
        raise RuleViolation(f"the lot is an output of custody account {account.id}: its inputs are the account's "
                            "receipts (receipts: [{receipt_id}]), not free text", field="inputs",
                            code="input_not_receipt", rule="R-M6")
    return _Upstream(custody_lots.cite_receipts(uow, account, receipts, processed_on), account.id)


def _certificate_for(uow: UnitOfWork, participant_id: int, number: str,
                     day: date) -> tuple[RmsCertificate, list[dict]]:
    """R-B1: the RMS certificate the lot was produced under, valid on that
    date, and the sites the generator may cite it for that day: its own
    certificate's, or as a member of a group certificate its own (R-C6)."""
    try:
        cert = get_certificate(uow, number)
    except NotFound:
        raise InvalidInput(f"no RMS certificate {number}", field="rms_certificate",
                           code="certificate_not_found") from None
    sites = sites_for(cert, participant_id, day)
    if sites is None:
        raise RuleViolation(f"certificate {number} belongs to another participant, and does not list this one as a "
                            f"member of its group on {day}", field="rms_certificate", code="certificate_invalid",
                            rule="R-B1")
    if not is_valid_on(uow, cert, day):
        raise RuleViolation(f"certificate {number} was not valid on {day}", field="rms_certificate",
                            code="certificate_invalid", rule="R-B1")
    return cert, sites


def get_lot(uow: UnitOfWork, actor: Actor | None, lot_id: int, *, lock: bool = False) -> Lot:
    lot = get_for_update(uow.session, Lot, lot_id, lock=lock)
    # R-X10: certifiers read only the lots of participants their body certifies.
    if lot is None or not scope.may_read(uow, actor, lot.generator_id):
        raise NotFound(f"no lot {lot_id}", code="lot_not_found", rule="R-X4")
    return lot


def _claimed(claim: claims.RmsClaim, mass_kg: Decimal, lot: Lot) -> tuple[Decimal, Decimal]:
    """Mass carried as RMS content by a sale (R-B3), and its post-consumer part."""
    lot_status = classification.parse_status(lot.recycled_status)
    best = classification.RecycledStatus.PC if lot.pc_kg else lot_status
    if not classification.may_downgrade(best, claim.status):
        # RMS 5.1.2.3: a claim may keep or lower the material's status, never raise it.
        raise RuleViolation(f"a {lot.recycled_status} lot cannot carry a {claim.status} claim",
                            field="claim", code="claim_exceeds_status", rule="R-B3")
    total = claim.claimed_kg(mass_kg)
    with exact_arithmetic():
        pc = round_half_up(mass_kg * claim.pc_percent / 100)
    return total, min(pc, total)


def add_disposition(uow: UnitOfWork, actor: Actor, lot_id: int, *, kind: str, on: date,
                    counterparty: str, mass: Mass | MassRequest | None = None, claim: str | None = None) -> Lot:
    """R-B3: a sale or consumption, with the RMS claim it carried. R-U6: a mass
    in pounds is converted as the lot's running total of pound dispositions
    (registry.unit_totals); no mass takes exactly what is left."""
    # R-X10: not while suspended; the participant row is locked before the lot (lock order).
    owner = get_lot(uow, actor, lot_id).generator_id
    require_acts_for(actor, owner)
    scope.require_may_register(uow, owner)
    lot = get_lot(uow, actor, lot_id, lock=True)
    require_acts_for(actor, lot.generator_id)
    if kind not in DISPOSITION_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(DISPOSITION_KINDS)}", field="kind",
                           code="invalid_choice")
    if on < lot.processed_on or on > uow.clock.today():
        raise InvalidInput("a disposition is dated between processing and today", field="on",
                           code="invalid_date")
    request = MassRequest.of(mass)
    taken = unit_totals.take(request, running_lb=lot.sold_lb, rest_kg=lot.mass_kg - lot.sold_kg)
    mass_kg = taken.kg
    if (request is None and mass_kg <= 0) or lot.sold_kg + mass_kg > lot.mass_kg:
        raise RuleViolation(f"requested {mass_kg} kg but only {lot.mass_kg - lot.sold_kg} kg of the lot are left "
                            "to dispose of", field="mass", code="lot_over_allocated", rule="R-B3")
    claimed_kg = claimed_pc_kg = Decimal("0.000")
    if claim is not None:
        if lot.disclaimer_required:
            # RMS 8.3.4.5: ARCs were generated for the full mass; its sales carry no claim.
            raise RuleViolation("ARCs were generated for the whole lot: its sales carry no RMS claim",
                                field="claim", code="disclaimer_required", rule="R-B5")
        claimed_kg, claimed_pc_kg = _claimed(claims.parse_claim(claim), mass_kg, lot)
    disposition = Disposition(lot_id=lot.id, kind=kind, on=on, counterparty=counterparty.strip(),
                              mass_kg=mass_kg, claim=claim, claimed_kg=claimed_kg,
                              claimed_pc_kg=claimed_pc_kg, log_index=0, created_at=uow.clock.now())
    custody = None
    if claim is not None and lot.custody_account_id is not None:
        # R-M6: a claimed sale of a custody lot draws the account's credit, never overdrawn (R-M4)
        parsed = claims.parse_claim(claim)
        custody = custody_lots.draw(uow, actor, lot.custody_account_id, on=on, facility_id=lot.facility_id,
                                    material_code=lot.material_code, claimed=custody_rules.by_status(parsed, mass_kg),
                                    claim=parsed, field="claim")
    lot.sold_kg += mass_kg
    lot.sold_lb = taken.running_lb  # R-U6
    lot.claimed_kg += claimed_kg
    lot.claimed_pc_kg += claimed_pc_kg
    # R-B2, R-B4: claims on sales and ARCs never count the same mass twice, per component.
    account(lot).require_invariants(field="claim" if claim is not None else "mass")
    uow.session.add(disposition)
    uow.flush()
    ref = record(uow, "lot.disposition", actor, {
        "lot": lot.id, "disposition": disposition.id, "kind": kind, "on": on.isoformat(),
        "counterparty": disposition.counterparty, "mass_kg": format(mass_kg, "f"),
        "requested": unit_totals.logged(request),  # R-U6: replay re-derives mass_kg from it
        "claim": claim, "claimed_kg": format(claimed_kg, "f"),
        "claimed_pc_kg": format(claimed_pc_kg, "f"),
        **({"custody": custody} if custody is not None else {}),  # R-M6: the credit it drew
    })
    disposition.log_index = ref.index
    uow.flush()
    return lot
