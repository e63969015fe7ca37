"""Custody account services (R-M1–R-M8): plain values and a unit of work in,
rows out; every custody event is one chain-log entry in the same transaction
as its state change (R-M7).

Lock order (R-X5, registry.lockorder): the account's participant row
(shared), then the account row — accounts are locked like blocks —, then the
log. Reads take no locks.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import select

from registry import classification, lot_rules, scope
from registry.actors import Actor, require_acts_for
from registry.certification import parse_certificate_number
from registry.claims import RmsClaim, parse_claim
from registry.custody import balance_sql, credit, rules
from registry.custody.models import CustodyAccount, CustodyClosing, CustodyOutput, CustodyPeriod, CustodyReceipt
from registry.custody.rules import STATUSES, ZERO
from registry.db import UnitOfWork, get_for_update
from registry.errors import Conflict, InvalidInput, NotFound, RuleViolation
from registry.journal import record
from registry.lockorder import note_rows_locked
from registry.models import Facility, RmsCertificate
from registry.names import check_name
from registry.rms_certificates import certificates_citable_by, is_valid_on, scope_on, sites_for
from registry.units import Mass

_LOWER = {"PC": "pc", "PI": "pi", "R": "r"}


def sums(row, prefix: str) -> dict[str, Decimal]:
    """``credited``/``drawn`` (account), ``cum``/``credit``/``certified`` (receipt) or ``claimed`` (output)."""
    return {s: getattr(row, f"{prefix}_{_LOWER[s]}_kg") for s in STATUSES}


def _set(row, prefix: str, values: dict[str, Decimal]) -> None:
    for s in STATUSES:
        setattr(row, f"{prefix}_{_LOWER[s]}_kg", values[s])


def _kg(values: dict[str, Decimal]) -> dict[str, str]:
    return {s: format(values[s], "f") for s in STATUSES}


def _total(values: dict[str, Decimal]) -> Decimal:
    return sum((values[s] for s in STATUSES), ZERO)


# --- Reading ---------------------------------------------------------------------------------------

def get_account(uow: UnitOfWork, actor: Actor | None, account_id: int) -> CustodyAccount:
    """R-M8: the participant's members, the certification body that certifies it, and
    administrators read an account; to anyone else it does not exist (R-X4)."""
    account = uow.session.get(CustodyAccount, account_id)
    if account is None or not scope.may_read(uow, actor, account.participant_id):
        raise NotFound(f"no custody account {account_id}", code="custody_account_not_found", rule="R-M8")
    return account


def _writable(uow: UnitOfWork, actor: Actor, account_id: int) -> CustodyAccount:
    """The account, locked for a write in the one lock order (R-X5): participant row
    (shared; a suspended participant records nothing, R-X10), then the account row."""
    participant_id = get_account(uow, actor, account_id).participant_id
    require_acts_for(actor, participant_id)
    scope.require_may_register(uow, participant_id)
    account = get_for_update(uow.session, CustodyAccount, account_id)
    note_rows_locked(uow)
    return account


def _check_day(uow: UnitOfWork, account: CustodyAccount, on: date, field: str = "on") -> int:
    """R-M5: events are dated from the account's start to today, in an open period,
    in date order (a correction is a new event, never a back-dated one). Returns
    the event's period."""
    if on > uow.clock.today():
        raise InvalidInput(f"{field} {on} is in the future", field=field, code="date_in_future", rule="R-M5")
    if on < account.starts_on:
        raise RuleViolation(f"the account starts on {account.starts_on}", field=field,
                            code="before_account_start", rule="R-M5")
    n = rules.period_of(account.starts_on, account.period_months, on)
    if n <= account.closed_periods:
        raise RuleViolation(f"{on} falls in period {n}, which is closed: closed periods never change; "
                            "record a correction in an open period", field=field, code="period_closed", rule="R-M5")
    if account.last_on is not None and on < account.last_on:
        raise RuleViolation(f"the account's book is kept in date order: its last event is dated "
                            f"{account.last_on}", field=field, code="out_of_order", rule="R-M5")
    return n


def _site(account: CustodyAccount, facility_id: int | None) -> int:
    if facility_id is None:
        if len(account.facility_ids) > 1:
            raise InvalidInput("a multi-site account needs the facility of each input and output",
                               field="facility_id", code="facility_required", rule="R-M5")
        return account.facility_ids[0]
    if facility_id not in account.facility_ids:
        raise RuleViolation(f"facility {facility_id} is not one of the account's sites", field="facility_id",
                            code="facility_not_in_account", rule="R-M1")
    return facility_id


def _period(uow: UnitOfWork, account: CustodyAccount, n: int, facility_id: int) -> CustodyPeriod:
    row = uow.session.get(CustodyPeriod, (account.id, n, facility_id))
    if row is None:
        row = CustodyPeriod(account_id=account.id, n=n, facility_id=facility_id, input_kg=ZERO, certified_kg=ZERO,
                            credit_kg=ZERO, output_kg=ZERO, claimed_kg=ZERO, drawn_kg=ZERO, expired_kg=ZERO)
        uow.session.add(row)
    return row


def _last_due(uow: UnitOfWork, account_id: int, day: date) -> tuple[date | None, dict[str, Decimal]]:
    """R-M4: the expiry date and cumulative credit of the last receipt expired on ``day`` —
    one indexed read (receipts are in date order, so their expiry dates are too)."""
    last = uow.session.execute(
        select(CustodyReceipt.expires_on, CustodyReceipt.cum_pc_kg, CustodyReceipt.cum_pi_kg,
               CustodyReceipt.cum_r_kg)
        .where(CustodyReceipt.account_id == account_id, CustodyReceipt.expires_on <= day)
        .order_by(CustodyReceipt.expires_on.desc(), CustodyReceipt.seq.desc()).limit(1)).first()
    return (None, rules.zeros()) if last is None else (last[0], dict(zip(STATUSES, last[1:], strict=True)))


def _due(uow: UnitOfWork, account: CustodyAccount, day: date) -> dict[str, Decimal]:
    """R-M4: the cumulative credit of the receipts expired on ``day``."""
    return _last_due(uow, account.id, day)[1]


def _expire(uow: UnitOfWork, actor: Actor, account: CustodyAccount, day: date) -> dict[str, Decimal]:
    """R-M4: credit not consumed within 12 months expires — a logged event
    (``custody.credit_expired``) before anything else is recorded on ``day``."""
    drawn = sums(account, "drawn")
    gone = credit.expiring(_due(uow, account, day), drawn)
    if _total(gone) > 0:
        _set(account, "drawn", {s: drawn[s] + gone[s] for s in STATUSES})
        n = rules.period_of(account.starts_on, account.period_months, day)
        row = _period(uow, account, n, account.facility_ids[0])
        row.expired_kg += _total(gone)
        record(uow, "custody.credit_expired", actor, {"account": account.id, "on": day.isoformat(),
                                                      "expired_kg": _kg(gone)})
    return gone


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
    product_class = code.id.split("_", 1)[1]
    if account.output_class is not None and account.output_class != product_class:
        raise RuleViolation(f"the account's outputs are {account.output_class}: its credit is not allocated to "
                            f"another product group ({product_class}; RMS 6.4.4.5)", field="material_code",
                            code="product_group_mismatch", rule="R-M1")
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
            _require_batch(account, parsed, mass.kg, _total(claimed))
        else:
            _require_rolling(uow, account, parsed, n, site, _total(claimed))
    if system == rules.BATCH:
        if account.batch_output_kg + mass.kg > account.batch_input_kg:
            raise RuleViolation(f"the batch's inputs were {account.batch_input_kg} kg; {account.batch_output_kg} kg "
                                "of it are already out", field="mass", code="batch_exceeded", rule="R-M3")
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


def _require_batch(account: CustodyAccount, claim: RmsClaim, mass_kg: Decimal, claimed_kg: Decimal) -> None:
    """R-M3, batch level (RMS 6.4.3.3, Example 6.2): the claim is at most the batch's
    certified share, and the batch's claims never exceed its certified input."""
    if account.batch_input_kg == 0:
        rules.require_within_average(claim, None, "batch's average content")
    rules.require_within_average(claim, rules.fraction(account.batch_certified_kg, account.batch_input_kg),
                                 "batch's average content")
    if account.batch_claimed_kg + claimed_kg > account.batch_certified_kg:
        raise RuleViolation(f"the batch's claims would reach {account.batch_claimed_kg + claimed_kg} kg, above its "
                            f"{account.batch_certified_kg} kg of certified input", field="claim",
                            code="claim_exceeds_inputs", rule="R-M3")


def _window(uow: UnitOfWork, account: CustodyAccount, first: int, last: int) -> list[CustodyPeriod]:
    return list(uow.session.exec(select(CustodyPeriod).where(CustodyPeriod.account_id == account.id,
                                                             CustodyPeriod.n >= first, CustodyPeriod.n <= last)))


def rolling_sites(uow: UnitOfWork, account: CustodyAccount, n: int) -> dict[int, tuple[Decimal, Decimal]]:
    """Per site, (certified, total) input over the window of periods ending with ``n`` (R-M3)."""
    sites: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in _window(uow, account, n - account.window_periods + 1, n):
        sites[row.facility_id][0] += row.certified_kg
        sites[row.facility_id][1] += row.input_kg
    return {fid: (c, t) for fid, (c, t) in sites.items() if t > 0}


def _require_rolling(uow: UnitOfWork, account: CustodyAccount, claim: RmsClaim, n: int, site: int,
                     claimed_kg: Decimal) -> None:
    """R-M3, rolling average (RMS 6.4.3.4, Examples 6.4–6.6): the claim is at most the
    average over the window ending with the output's period — multi-site: the
    overall average for a contributing site, its own below the 20% threshold; and
    claims over the window never exceed the certified input of the window plus one
    reconciliation period (6.4.3.4 v)."""
    first = max(1, n - account.window_periods + 1)
    sites = rolling_sites(uow, account, n)
    if len(account.facility_ids) > 1 and sites:
        ceiling, contributes = rules.multi_site_ceiling(sites, site)
        what = (f"multi-site rolling average over periods {first}–{n}" if contributes else
                "site's own rolling average (it is below 20% of the multi-site average, RMS 6.4.3.4 vi c)")
    else:
        c, t = sites.get(site, (Decimal(0), Decimal(0)))
        ceiling, what = rules.fraction(c, t), f"rolling average over periods {first}–{n}"
    rules.require_within_average(claim, ceiling, what)
    rows = _window(uow, account, max(1, first - 1), n)
    claimed = sum((r.claimed_kg for r in rows if r.n >= first), Decimal(0)) + claimed_kg
    contributing = sum((r.certified_kg for r in rows), Decimal(0))
    if claimed > contributing:
        raise RuleViolation(f"claims over periods {first}–{n} would reach {claimed} kg, above the {contributing} kg "
                            "of certified input of the window plus one reconciliation period (RMS 6.4.3.4 v)",
                            field="claim", code="claim_exceeds_inputs", rule="R-M3")


# --- Balance, expiry, periods (R-M4, R-M5) -----------------------------------------------------------

def upcoming_expiries(book: balance_sql.Book) -> list[tuple[date, Decimal]]:
    """R-M4: the next days credit expires unless drawn first, and how much (all statuses), in date
    order — of the next ten receipts per status holding credit (first in, first out)."""
    upcoming: dict[date, Decimal] = defaultdict(Decimal)
    for s in STATUSES:
        start = max(book.drawn[s], book.due[s])
        for expires_on, through, added in book.upcoming[s]:  # the next receipts in FIFO order
            upcoming[expires_on] += through - max(through - added, start)
    return sorted((day, kg) for day, kg in upcoming.items() if kg > 0)


def balance(uow: UnitOfWork, actor: Actor | None, account_id: int, on: date | None = None) -> dict:
    """R-M4: the credit on ``on`` (default today) after what has expired by then, the
    next expiries, and for rolling averages the average of the window ending then.
    One statement whatever the number of receipts (``balance_sql``; a rolling
    average reads its window's period rows too); no locks."""
    on = on or uow.clock.today()
    book = balance_sql.read(uow.session, account_id, on)
    if book is None or not scope.may_read(uow, actor, book.participant_id):
        raise NotFound(f"no custody account {account_id}", code="custody_account_not_found", rule="R-M8")
    if book.last_on is not None and on < book.last_on:
        raise RuleViolation(f"the balance is read on or after the account's last event ({book.last_on})",
                            field="on", code="balance_date_before_last_event", rule="R-M4")
    left = credit.balance(book.credited, book.drawn, book.due)
    out = {"account_id": account_id, "on": on, "credit_kg": _kg(left),
           "expiring": [{"on": day, "kg": format(kg, "f")} for day, kg in upcoming_expiries(book)[:10]]}
    if book.control_system == rules.ROLLING:
        account = uow.session.get(CustodyAccount, account_id)
        sites = rolling_sites(uow, account, rules.period_of(account.starts_on, account.period_months, on))
        c = sum((v[0] for v in sites.values()), Decimal(0))
        t = sum((v[1] for v in sites.values()), Decimal(0))
        out["rolling_average"] = rules.shown(rules.fraction(c, t))
    if book.control_system == rules.BATCH:
        out["batch_average"] = rules.shown(rules.fraction(book.batch_certified_kg, book.batch_input_kg))
    return out


def expire_credit(uow: UnitOfWork, actor: Actor, account_id: int, on: date) -> dict[str, Decimal]:
    """R-M4: write the expiry of credit due by ``on`` (also done before every event)."""
    account = _writable(uow, actor, account_id)
    _check_day(uow, account, on)
    gone = _expire(uow, actor, account, on)
    account.last_on = on
    uow.flush()
    return gone


def run_credit_expiry(uow: UnitOfWork, actor: Actor, *, limit: int | None = None) -> dict:
    """R-M4, the daily job (registry.jobs): log the expiry of credit that came due
    and was never drawn, in up to ``limit`` accounts — one ``custody.credit_expired``
    entry each, dated the day the credit expired (the last due receipt's expiry
    date; a catch-up after downtime dates it the same). One indexed read per
    account finds whether any is due; only those are locked and written. Like
    block expiry (R-E2) it is bookkeeping: every event already expires what is
    due before it is recorded, and a balance read never counts expired credit."""
    today = uow.clock.today()
    done = 0
    for account_id in uow.session.exec(select(CustodyAccount.id).order_by(CustodyAccount.id)).all():
        if limit is not None and done >= limit:
            break
        last, due = _last_due(uow, account_id, today)
        account = uow.session.get(CustodyAccount, account_id)
        if last is None or not _total(credit.expiring(due, sums(account, "drawn"))) > 0:
            continue
        # the day it expired: that of the first receipt through which the due credit was received
        day = uow.session.exec(select(CustodyReceipt.expires_on).where(
            CustodyReceipt.account_id == account_id, CustodyReceipt.cum_pc_kg == due["PC"],
            CustodyReceipt.cum_pi_kg == due["PI"], CustodyReceipt.cum_r_kg == due["R"])
            .order_by(CustodyReceipt.seq).limit(1)).first()
        account = get_for_update(uow.session, CustodyAccount, account_id)  # accounts are locked like blocks
        note_rows_locked(uow)
        if _total(_expire(uow, actor, account, day)) > 0:  # re-read under the lock: none if an event beat us
            account.last_on = max(account.last_on or day, day)  # the book is kept in date order
            done += 1
    uow.flush()
    return {"credit_expired": done}


def close_period(uow: UnitOfWork, actor: Actor, account_id: int, n: int) -> CustodyClosing:
    """R-M5: after its end, a period's volume summary — opening balance, inputs by
    supplier and status, outputs by customer and claim, losses, expired credit,
    closing balance, and the recalculated average — as one log entry. Periods close
    in order; a closed period never changes."""
    account = _writable(uow, actor, account_id)
    if n < 1:
        raise InvalidInput("periods are numbered from 1", field="n", code="out_of_range", rule="R-M5")
    if n <= account.closed_periods:
        raise Conflict(f"period {n} is already closed", field="n", code="period_closed", rule="R-M5")
    if n != account.closed_periods + 1:
        raise RuleViolation(f"period {account.closed_periods + 1} closes first", field="n",
                            code="period_out_of_order", rule="R-M5")
    first, last = rules.period_bounds(account.starts_on, account.period_months, n)
    if uow.clock.today() <= last:
        raise RuleViolation(f"period {n} runs until {last}: it closes only after its end", field="n",
                            code="period_not_ended", rule="R-M5")
    if account.last_on is None or account.last_on <= last:
        _expire(uow, actor, account, last)
    uow.flush()
    summary = _summary(uow, account, n, first, last)
    closing = CustodyClosing(account_id=account.id, n=n, summary=summary, created_at=uow.clock.now())
    account.closed_periods = n
    uow.session.add(closing)
    ref = record(uow, "custody.period_closed", actor, {"account": account.id, **summary})
    closing.log_index, closing.leaf_hash = ref.index, ref.leaf_hash
    uow.flush()
    return closing


def _summary(uow: UnitOfWork, account: CustodyAccount, n: int, first: date, last: date) -> dict:
    rows = _window(uow, account, n, n)
    total = {k: sum((getattr(r, k) for r in rows), ZERO) for k in
             ("input_kg", "certified_kg", "credit_kg", "output_kg", "claimed_kg", "drawn_kg", "expired_kg")}
    previous = uow.session.get(CustodyClosing, (account.id, n - 1)) if n > 1 else None
    opening = Decimal(previous.summary["closing_kg"]) if previous else ZERO
    # Grouped in SQL: one row per supplier and per customer, however many movements the period holds.
    R, O = CustodyReceipt, CustodyOutput
    certified = R.claim.is_not(None)
    by_supplier: dict[tuple, dict[str, Decimal]] = defaultdict(rules.zeros)
    uncertified: dict[str, Decimal] = defaultdict(Decimal)
    for name, cert, is_certified, mass, *kg in uow.session.exec(
            select(R.supplier_name, R.supplier_certificate, certified, func.sum(R.mass_kg),
                   *[func.sum(getattr(R, f"certified_{_LOWER[s]}_kg")) for s in STATUSES])
            .where(R.account_id == account.id, R.on >= first, R.on <= last)
            .group_by(R.supplier_name, R.supplier_certificate, certified)):
        if not is_certified:
            uncertified[name] += mass
        else:
            by_supplier[(name, cert)] = {s: by_supplier[(name, cert)][s] + v for s, v in zip(STATUSES, kg, strict=True)}
    by_customer: dict[tuple, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for customer, claim, mass, *kg in uow.session.exec(
            select(O.customer, O.claim, func.sum(O.mass_kg), *[func.sum(getattr(O, f"claimed_{_LOWER[s]}_kg"))
                                                              for s in STATUSES])
            .where(O.account_id == account.id, O.on >= first, O.on <= last).group_by(O.customer, O.claim)):
        by_customer[(customer, claim)][0] += mass
        by_customer[(customer, claim)][1] += sum(kg, ZERO)
    summary = {
        "n": n, "starts_on": first.isoformat(), "ends_on": last.isoformat(),
        "opening_kg": format(opening, "f"), "inputs_kg": format(total["input_kg"], "f"),
        "certified_inputs_kg": format(total["certified_kg"], "f"), "outputs_kg": format(total["output_kg"], "f"),
        "claimed_kg": format(total["claimed_kg"], "f"),
        "losses_kg": format(total["certified_kg"] - total["credit_kg"]
                            if account.control_system == rules.MASS_BALANCE else ZERO, "f"),
        "expired_kg": format(total["expired_kg"], "f"),
        "closing_kg": format(opening + total["credit_kg"] - total["drawn_kg"] - total["expired_kg"], "f"),
        "inputs_by_supplier": [{"supplier": name, "certificate": cert, "certified_kg": _kg(kg)}
                               for (name, cert), kg in sorted(by_supplier.items(), key=lambda kv: str(kv[0]))]
        + [{"supplier": name, "certificate": None, "uncertified_kg": format(kg, "f")}
           for name, kg in sorted(uncertified.items())],
        "outputs_by_customer": [{"customer": c, "claim": claim, "mass_kg": format(m, "f"), "claimed_kg": format(k, "f")}
                                for (c, claim), (m, k) in sorted(by_customer.items(), key=lambda kv: str(kv[0]))],
        "average": None,
    }
    if account.control_system == rules.ROLLING:
        sites = rolling_sites(uow, account, n)
        summary["average"] = rules.shown(rules.fraction(sum((v[0] for v in sites.values()), Decimal(0)),
                                                        sum((v[1] for v in sites.values()), Decimal(0))))
    elif account.control_system == rules.BATCH:
        summary["average"] = rules.shown(rules.fraction(total["certified_kg"], total["input_kg"]))
    return summary


def closed_periods(uow: UnitOfWork, actor: Actor | None, account_id: int, *,
                   ends_from: date | None = None) -> list[CustodyClosing]:
    """R-M5, R-M8: an account's closed periods' volume summaries, in period order, for
    whoever reads the account (``get_account``); with ``ends_from``, those whose last day
    is on or after it — an audit's window is ``rules.audit_window_start(today)``."""
    account = get_account(uow, actor, account_id)
    first = 1
    if ends_from is not None:  # periods are consecutive: the first one ending on or after the day
        while first <= account.closed_periods and rules.period_bounds(
                account.starts_on, account.period_months, first)[1] < ends_from:
            first += 1
    return list(uow.session.exec(select(CustodyClosing).where(CustodyClosing.account_id == account.id,
                                                              CustodyClosing.n >= first)
                                 .order_by(CustodyClosing.n)))


def get_period(uow: UnitOfWork, actor: Actor | None, account_id: int, n: int) -> CustodyClosing:
    """R-M5, R-M8: a closed period's volume summary."""
    account = get_account(uow, actor, account_id)
    closing = uow.session.get(CustodyClosing, (account.id, n))
    if closing is None:
        raise NotFound(f"period {n} of account {account_id} is not closed", code="period_not_closed", rule="R-M5")
    return closing
