"""Custody account services (R-M1–R-M8): plain values and a unit of work in,
rows out; every custody event is one chain-log entry in the same transaction
as its state change (R-M7).

Lock order (R-X5, registry.lockorder): the account's participant row
(shared), then the account row — accounts are locked like blocks —, then the
log. Reads take no locks.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import select

from registry import classification, lot_rules, scope
from registry.actors import Actor, require_acts_for
from registry.certification import parse_certificate_number
from registry.claims import RmsClaim, parse_claim
from registry.custody import credit, rules
from registry.custody.book import _LOWER, _check_day, _expire, _kg, _period, _set, _site, _total, _writable, sums
from registry.custody.models import CustodyAccount, CustodyOutput, CustodyReceipt
from registry.custody.periods import _window
from registry.custody.rules import STATUSES, ZERO
from registry.db import UnitOfWork
from registry.errors import Conflict, InvalidInput, RuleViolation
from registry.journal import record
from registry.models import Facility, RmsCertificate
from registry.names import check_name
from registry.rms_certificates import certificates_citable_by, is_valid_on, scope_on, sites_for
from registry.units import Mass


# --- Opening an account (R-M1) -------------------------------------------------------------------

def open_account(uow: UnitOfWork, actor: Actor, *, participant_id: int, product_group: str, control_system: str,
                 facility_ids: list[int], starts_on: date, period_months: int, window_periods: int | None = None,
                 conversion_factor: Decimal | None = None) -> CustodyAccount:
    """R-M1: one product group under one control system, at one facility or (rolling
    average, mass balance) several, within the scope of the participant's valid RMS
    certificate (R-C2), with one reconciliation period of at most 12 months."""
    require_acts_for(actor, participant_id)
    scope.require_may_register(uow, participant_id)
    window, factor = rules.check_account(control_system, facility_ids, starts_on, period_months, window_periods,
                                         conversion_factor)
    group = check_name("product_group", product_group)
    if not group:
        raise InvalidInput("product_group is required", field="product_group", code="missing_field", rule="R-M1")
    sites = []
    for i, fid in enumerate(facility_ids):
        facility = uow.session.get(Facility, fid)
        if facility is None or facility.participant_id != participant_id:
            raise RuleViolation(f"facility {fid} is not one of participant {participant_id}'s",
                                field=f"facility_ids[{i}]", code="facility_not_found", rule="R-M1")
        sites.append(facility)
    _require_certified_scope(uow, participant_id, control_system, group, sites)
    zero = ZERO
    account = CustodyAccount(
        participant_id=participant_id, product_group=group, control_system=control_system,
        facility_ids=list(facility_ids), starts_on=starts_on, period_months=period_months, window_periods=window,
        conversion_factor=factor, credited_pc_kg=zero, credited_pi_kg=zero, credited_r_kg=zero, drawn_pc_kg=zero,
        drawn_pi_kg=zero, drawn_r_kg=zero, batch_input_kg=zero, batch_certified_kg=zero, batch_output_kg=zero,
        batch_claimed_kg=zero, created_at=uow.clock.now())
    uow.session.add(account)
    uow.flush()
    ref = record(uow, "custody.account_opened", actor, {
        "account": account.id, "participant": participant_id, "product_group": group,
        "control_system": control_system, "facilities": list(facility_ids), "starts_on": starts_on.isoformat(),
        "period_months": period_months, "window_periods": window, "conversion_factor": format(factor, "f")})
    account.log_index, account.leaf_hash = ref.index, ref.leaf_hash
    uow.flush()
    return account


def _require_certified_scope(uow: UnitOfWork, participant_id: int, control_system: str, group: str,
                             sites: list[Facility]) -> None:
    """R-M1, R-C2: a valid certificate of the participant covers the control system,
    the product group and every facility (multi-site: a multi-site certificate, not
    a group certificate, RMS 6.4.4.8 iii). A member of a group certificate opens
    accounts at its own listed facilities only, one facility each: members do not
    pool (R-C6). Each certificate is read with the scope and sites in force today."""
    today = uow.clock.today()
    certs = [c for c in certificates_citable_by(uow, participant_id) if is_valid_on(uow, c, today)
             and sites_for(c, participant_id, today) is not None]
    if not certs:
        raise RuleViolation(f"participant {participant_id} holds no RMS certificate valid on {today}",
                            field="participant_id", code="certificate_invalid", rule="R-C2")
    wanted = rules.CERTIFICATE_SYSTEM[control_system]
    certs = [c for c in certs if wanted in scope_on(c, today).control_systems]
    if not certs:
        raise RuleViolation(f"no valid RMS certificate of the participant covers the {wanted} control system",
                            field="control_system", code="control_system_not_certified", rule="R-C2")
    key = group.casefold()
    certs = [c for c in certs if any(g.strip().casefold() == key for g in scope_on(c, today).product_groups)]
    if not certs:
        raise RuleViolation(f"no valid RMS certificate of the participant covers the product group {group!r}",
                            field="product_group", code="product_group_not_certified", rule="R-C2")
    if len(sites) > 1:
        certs = [c for c in certs if c.facility_scope == "multi-site"]
        if not certs:
            raise RuleViolation("a multi-site account needs a multi-site certificate (not a group certificate: "
                                "RMS 6.4.4.8 iii)", field="facility_ids", code="multi_site_not_certified",
                                rule="R-C2")
    problem = None
    for cert in certs:
        try:
            for i, site in enumerate(sites):
                try:
                    lot_rules.require_certified_site(site.country, site.name, sites_for(cert, participant_id, today))
                except RuleViolation as error:
                    raise RuleViolation(error.detail, field=f"facility_ids[{i}]", code=error.code,
                                        rule="R-C2") from None
            return
        except RuleViolation as error:
            problem = problem or error
    raise problem


# --- Inputs (R-M2) -------------------------------------------------------------------------------

def receive_input(uow: UnitOfWork, actor: Actor, account_id: int, *, on: date, supplier_name: str, reference: str,
                  material_code: str, mass: Mass, claim: str | None = None, supplier_certificate: str | None = None,
                  supplier_participant_id: int | None = None, facility_id: int | None = None) -> CustodyReceipt:
    """R-M2: a receipt, received once registry-wide per (supplier certificate,
    reference); a certified one (it has a claim) cites a supplier certificate in
    the register, valid on the receipt date (R-C3); an uncertified one adds mass
    and no credit."""
    account = _writable(uow, actor, account_id)
    n = _check_day(uow, account, on)
    site = _site(account, facility_id)
    code = classification.parse_material_code(material_code)
    supplier_name = check_name("supplier_name", supplier_name)
    reference = check_name("reference", reference)
    if not supplier_name or not reference:
        raise InvalidInput("supplier_name and reference are required",
                           field="supplier_name" if not supplier_name else "reference", code="missing_field")
    parsed = parse_claim(claim, field="claim", rule="R-M2") if claim is not None else None
    if parsed is not None:
        rules.require_input_fits(account.control_system, parsed)
        if supplier_certificate is None:
            raise InvalidInput("a certified input (one with a claim) cites its supplier's RMS certificate",
                               field="supplier_certificate", code="supplier_certificate_required", rule="R-M2")
    if supplier_certificate is not None:
        parse_certificate_number(supplier_certificate, field="supplier_certificate")
        cert = uow.session.exec(select(RmsCertificate).where(RmsCertificate.number == supplier_certificate)).first()
        if cert is None:
            raise RuleViolation(f"RMS certificate {supplier_certificate} is not in this register: a certified "
                                "input cites a certificate the registry can check", field="supplier_certificate",
                                code="supplier_certificate_unknown", rule="R-M2")
        if supplier_participant_id is not None and cert.participant_id != supplier_participant_id:
            raise RuleViolation(f"RMS certificate {supplier_certificate} is not participant "
                                f"{supplier_participant_id}'s", field="supplier_certificate",
                                code="supplier_certificate_mismatch", rule="R-M2")
        if parsed is not None and not is_valid_on(uow, cert, on):
            raise RuleViolation(f"RMS certificate {supplier_certificate} was not valid on {on}",
                                field="supplier_certificate", code="certificate_invalid", rule="R-C3")
        supplier_participant_id = cert.participant_id
        taken = uow.session.exec(select(CustodyReceipt.id).where(
            CustodyReceipt.supplier_certificate == supplier_certificate, CustodyReceipt.reference == reference)).first()
        if taken is not None:
            raise Conflict(f"{reference} of {supplier_certificate} has already been received (receipt {taken}): an "
                           "input is received once in the whole registry", field="reference",
                           code="receipt_duplicate", rule="R-M2")
        _require_matches_sale(uow, cert.participant_id, reference, mass.kg, claim)
    certified = rules.by_status(parsed, mass.kg) if parsed is not None else rules.zeros()
    added = (rules.apply_factor(certified, account.conversion_factor)
             if account.control_system in rules.CREDIT_SYSTEMS else rules.zeros())
    _expire(uow, actor, account, on)
    credited = sums(account, "credited")
    cum = {s: credited[s] + added[s] for s in STATUSES}
    _set(account, "credited", cum)
    if not account.batch_open:  # RMS 6.4.3.3: a batch begins with the first input after an output
        account.batch_input_kg = account.batch_certified_kg = account.batch_output_kg = ZERO
        account.batch_claimed_kg = ZERO
    account.batch_open = True
    account.batch_input_kg += mass.kg
    account.batch_certified_kg += _total(certified)
    row = _period(uow, account, n, site)
    row.input_kg += mass.kg
    row.certified_kg += _total(certified)
    row.credit_kg += _total(added)
    receipt = CustodyReceipt(
        account_id=account.id, seq=account.receipts, on=on, expires_on=rules.credit_expires_on(on), facility_id=site,
        supplier_name=supplier_name, supplier_participant_id=supplier_participant_id,
        supplier_certificate=supplier_certificate, reference=reference, material_code=code.id, mass_kg=mass.kg,
        claim=claim, created_at=uow.clock.now())
    _set(receipt, "certified", certified)
    _set(receipt, "credit", added)
    _set(receipt, "cum", cum)
    account.receipts += 1
    account.last_on = on
    uow.session.add(receipt)
    uow.flush()
    ref = record(uow, "custody.input_received", actor, {
        "account": account.id, "receipt": receipt.id, "seq": receipt.seq, "on": on.isoformat(),
        "expires_on": receipt.expires_on.isoformat(), "facility": site, "supplier_name": supplier_name,
        "supplier_participant": supplier_participant_id, "supplier_certificate": supplier_certificate,
        "reference": reference, "material_code": code.id, "mass_kg": format(mass.kg, "f"), "claim": claim,
        "certified_kg": _kg(certified), "credit_kg": _kg(added)})
    receipt.log_index = ref.index
    uow.flush()
    return receipt


def _require_matches_sale(uow: UnitOfWork, supplier_id: int, reference: str, mass_kg: Decimal,
                          claim: str | None) -> None:
    """R-M2: when the supplier keeps an account here and recorded this sale as an
    output, the receipt matches it (mass and claim)."""
    sale = uow.session.exec(select(CustodyOutput).join(CustodyAccount, CustodyAccount.id == CustodyOutput.account_id)
                            .where(CustodyOutput.reference == reference,
                                   CustodyAccount.participant_id == supplier_id)).first()
    if sale is not None and (sale.mass_kg != mass_kg or sale.claim != claim):
        raise RuleViolation(f"the supplier recorded {reference} as {sale.mass_kg} kg with claim {sale.claim!r}; "
                            f"this receipt says {mass_kg} kg with {claim!r}", field="reference",
                            code="receipt_mismatch", rule="R-M2")


# --- Outputs (R-M3, R-M4) ------------------------------------------------------------------------

def record_output(uow: UnitOfWork, actor: Actor, account_id: int, *, on: date, customer: str, reference: str,
                  material_code: str, mass: Mass, claim: str | None = None,
                  facility_id: int | None = None) -> CustodyOutput:
    """R-M3: production or a sale and the claim it leaves with. Mass balance and
    segregation draw the claimed mass on first-in-first-out credit, never
    overdrawn (R-M4); average content claims at most the batch's or the rolling
    average (Examples 6.2, 6.4–6.6)."""
    account = _writable(uow, actor, account_id)
    n = _check_day(uow, account, on)
    site = _site(account, facility_id)
    code = classification.parse_material_code(material_code)
    customer = check_name("customer", customer)
    reference = check_name("reference", reference)
    if not customer or not reference:
        raise InvalidInput("customer and reference are required", field="customer" if not customer else "reference",
                           code="missing_field")
    product_class = rules.require_product_group(account.output_class, code.id)  # R-M1
    parsed = parse_claim(claim, field="claim", rule="R-M3") if claim is not None else None
    claimed = rules.by_status(parsed, mass.kg) if parsed is not None else rules.zeros()
    _expire(uow, actor, account, on)
    draws = rules.zeros()
    system = account.control_system
    if parsed is not None:
        rules.require_output_fits(system, parsed)
        if system == rules.SEGREGATION:
            rules.require_not_above(parsed, _incoming_claim(uow, account))
        if system in rules.CREDIT_SYSTEMS:
            draws = credit.plan(claimed, credit.balance(sums(account, "credited"), sums(account, "drawn")))
        elif system == rules.BATCH:
            rules.require_batch(parsed, _batch(account), _total(claimed))
        else:
            _require_rolling(uow, account, parsed, n, site, _total(claimed))
    if system == rules.BATCH:
        rules.require_batch_mass(_batch(account), mass.kg)
        account.batch_output_kg += mass.kg
        account.batch_claimed_kg += _total(claimed)
        account.batch_open = False
    drawn = sums(account, "drawn")
    _set(account, "drawn", {s: drawn[s] + draws[s] for s in STATUSES})
    account.output_class = product_class
    account.last_on = on
    row = _period(uow, account, n, site)
    row.output_kg += mass.kg
    row.claimed_kg += _total(claimed)
    row.drawn_kg += _total(draws)
    output = CustodyOutput(account_id=account.id, on=on, facility_id=site, customer=customer, reference=reference,
                           material_code=code.id, mass_kg=mass.kg, claim=claim, created_at=uow.clock.now())
    _set(output, "claimed", claimed)
    uow.session.add(output)
    uow.flush()
    ref = record(uow, "custody.output_recorded", actor, {
        "account": account.id, "output": output.id, "on": on.isoformat(), "facility": site, "customer": customer,
        "reference": reference, "material_code": code.id, "mass_kg": format(mass.kg, "f"), "claim": claim,
        "claimed_kg": _kg(claimed), "drawn_kg": _kg(draws)})
    output.log_index = ref.index
    uow.flush()
    return output


def _cursor(uow: UnitOfWork, account: CustodyAccount, status: str, after: Decimal, limit: int = 1):
    """The receipts holding credit of ``status`` beyond the first ``after`` kg, oldest first:
    an indexed range read on the cumulative column (O(log n))."""
    column = getattr(CustodyReceipt, f"cum_{_LOWER[status]}_kg")
    return list(uow.session.exec(select(CustodyReceipt).where(CustodyReceipt.account_id == account.id, column > after)
                                 .order_by(column, CustodyReceipt.seq).limit(limit)))


def _incoming_claim(uow: UnitOfWork, account: CustodyAccount) -> RmsClaim | None:
    """Segregation: the claim of the oldest receipt whose credit is not used up (FIFO)."""
    drawn = sums(account, "drawn")
    heads = [r for s in STATUSES for r in _cursor(uow, account, s, drawn[s])]
    if not heads:
        return None
    return parse_claim(min(heads, key=lambda r: r.seq).claim)


def _batch(account: CustodyAccount) -> dict[str, Decimal]:
    """The batch being produced (RMS 6.4.3.3) as plain values (``rules.BATCH_KG``)."""
    return {k: getattr(account, f"batch_{k}") for k in rules.BATCH_KG}


def _require_rolling(uow: UnitOfWork, account: CustodyAccount, claim: RmsClaim, n: int, site: int,
                     claimed_kg: Decimal) -> None:
    """R-M3, rolling average (RMS 6.4.3.4): ``rules.require_rolling`` on the period rows of
    the window plus one reconciliation period."""
    first = max(1, n - account.window_periods + 1)
    rows = [{k: getattr(r, k) for k in ("n", "facility_id", *rules.PERIOD_KG)}
            for r in _window(uow, account, max(1, first - 1), n)]
    rules.require_rolling(claim, rows, n=n, window_periods=account.window_periods,
                          multi_site=len(account.facility_ids) > 1, site=site, claimed_kg=claimed_kg)
