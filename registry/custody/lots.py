"""Lots as outputs of a custody account (R-M6; RMS 6.4.4, 8.3.4).

Where a generator keeps a credit account (mass balance or segregation, R-M4)
for a lot's facility and product, the lot is an output of that account:

* registering it names the account (``custody_account_required`` when one
  covers the lot and none is named), and its inputs cite the account's
  receipts instead of free text (R-B6, R-M2) — each citation carries the
  receipt's ``custody.input_received`` entry (index, leaf hash);
* its ARC generations and its claimed sales draw the account's credit, first
  in, first out, in the same transaction (R-M4): refused with
  ``insufficient_credit`` when the credit is not there. So over any period
  claims + ARCs ≤ certified input after conversion, and the balance is never
  negative.

Lock order (R-X5): the caller holds the participant row (shared) and the lot;
the account row is locked next, like a block, then the log.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import select

import chainlog.store

from registry.actors import Actor
from registry.claims import RmsClaim
from registry.custody import credit, rules
from registry.custody.models import CustodyAccount, CustodyReceipt
from registry.custody.rules import STATUSES, ZERO
from registry.custody.book import _check_day, _expire, _kg, _period, _set, _total, sums
from registry.db import UnitOfWork, get_for_update
from registry.errors import InvalidInput, RuleViolation
from registry.lockorder import note_rows_locked
from registry.units import Mass


def _candidates(uow: UnitOfWork, generator_id: int, facility_id: int, material_code: str) -> list[CustodyAccount]:
    rows = uow.session.exec(select(CustodyAccount).where(CustodyAccount.participant_id == generator_id)
                            .order_by(CustodyAccount.id))
    return [a for a in rows if rules.covers_lot(a.facility_ids, a.output_class, a.control_system, facility_id, material_code)]


def account_for_lot(uow: UnitOfWork, *, generator_id: int, facility_id: int, material_code: str,
                    account_id: int | None) -> CustodyAccount | None:
    """R-M6: the account a new lot is an output of, or None when the generator keeps none for it."""
    if account_id is None:
        found = _candidates(uow, generator_id, facility_id, material_code)
        if found:
            raise RuleViolation(
                f"the generator keeps custody account(s) {', '.join(str(a.id) for a in found)} for this facility "
                "and product: the lot is an output of one of them — name it in custody_account_id (its ARCs and "
                "claimed sales draw on the account's credit)", field="custody_account_id",
                code="custody_account_required", rule="R-M6")
        return None
    account = uow.session.get(CustodyAccount, account_id)
    if account is None or account.participant_id != generator_id:
        raise RuleViolation(f"custody account {account_id} is not one of the generator's",
                            field="custody_account_id", code="custody_account_mismatch", rule="R-M6")
    if not rules.covers_lot(account.facility_ids, account.output_class, account.control_system, facility_id, material_code):
        raise RuleViolation(
            f"custody account {account_id} ({account.control_system}, sites {account.facility_ids}, product "
            f"{account.output_class or 'not fixed yet'}) does not cover a {rules.product_class(material_code)} lot at "
            f"facility {facility_id}: lots draw on mass-balance or segregation credit of their own site and product "
            "(RMS 6.4.4.5)", field="custody_account_id", code="custody_account_mismatch", rule="R-M6")
    return account


def cite_receipts(uow: UnitOfWork, account: CustodyAccount, receipts: list[dict], processed_on: date) -> list[dict]:
    """R-B6, R-M2: a custody lot's inputs are receipts of its account, received on or
    before the processing date; each citation is the receipt as logged and a link to
    its entry, so the lot's entry reaches back to the receipt and its supplier's
    certificate. Returns the lot's ``inputs`` as the log keeps them."""
    out = []
    for i, item in enumerate(receipts):
        field = f"receipts.{i}.receipt_id"
        receipt = uow.session.get(CustodyReceipt, item["receipt_id"])
        if receipt is None or receipt.account_id != account.id:
            raise RuleViolation(f"receipt {item['receipt_id']} is not a receipt of custody account {account.id}",
                                field=field, code="receipt_not_found", rule="R-M6")
        if receipt.on > processed_on:
            raise InvalidInput(f"receipt {receipt.id} was received on {receipt.on}, after processing on "
                               f"{processed_on}", field=field, code="input_after_processing", rule="R-B8")
        mass: Mass | None = item.get("mass")
        mass_kg = receipt.mass_kg if mass is None else mass.kg
        if mass_kg > receipt.mass_kg:
            raise RuleViolation(f"receipt {receipt.id} was {receipt.mass_kg} kg; the lot cites {mass_kg} kg of it",
                                field=f"receipts.{i}.mass", code="receipt_exceeded", rule="R-M6")
        if any(c.get("receipt") == receipt.id for c in out):
            raise InvalidInput(f"receipt {receipt.id} is cited twice", field=field, code="duplicate_receipt",
                               rule="R-M6")
        leaf = chainlog.store.entry(uow.session, receipt.log_index).leaf_hash.hex()
        out.append(citation(receipt, mass_kg, leaf))
    return out


def citation(receipt: CustodyReceipt, mass_kg: Decimal, leaf_hash: str) -> dict:
    """A lot input citing a receipt (R-B6, R-M6), in the shape of free-text inputs plus the receipt's link."""
    return {"receipt": receipt.id, "supplier_certificate": receipt.supplier_certificate,
            "supplier_name": receipt.supplier_name, "reference": receipt.reference,
            "material_code": receipt.material_code, "mass_kg": format(mass_kg, "f"),
            "received_on": receipt.on.isoformat(), "claim": receipt.claim,
            "log": {"index": receipt.log_index, "leaf_hash": leaf_hash}}


def draw(uow: UnitOfWork, actor: Actor, account_id: int, *, on: date, facility_id: int, material_code: str,
         claimed: dict[str, Decimal], claim: RmsClaim | None = None, arcs: bool = False,
         field: str = "mass") -> dict:
    """R-M6, R-M4: a lot's ARC generation (``arcs``: ``claimed`` is the base mass, by
    component status) or claimed sale (``claim``) draws the account's credit on
    ``on``, first in, first out, never overdrawn. Expiry due by then is logged
    first. Returns the payload part the caller's entry carries:
    ``{"account", "on", "drawn_kg"}``."""
    account = get_for_update(uow.session, CustodyAccount, account_id)
    note_rows_locked(uow)
    n = _check_day(uow, account, on, field="on")
    klass = rules.require_product_group(account.output_class, material_code)  # R-M1
    if claim is not None:
        rules.require_output_fits(account.control_system, claim, field="claim")
    _expire(uow, actor, account, on)
    draws = credit.plan(claimed, credit.balance(sums(account, "credited"), sums(account, "drawn")), field=field)
    drawn = sums(account, "drawn")
    _set(account, "drawn", {s: drawn[s] + draws[s] for s in STATUSES})
    account.output_class = klass
    account.last_on = on
    row = _period(uow, account, n, facility_id)
    row.drawn_kg += _total(draws)
    if arcs:
        row.arc_kg += _total(draws)
    else:
        row.claimed_kg += _total(claimed)
    uow.flush()
    return {"account": account.id, "on": on.isoformat(), "drawn_kg": _kg(draws)}


def arc_claim(status: str, base_kg: Decimal) -> dict[str, Decimal]:
    """R-M6: ARCs on ``base_kg`` of a component claim that much certified mass of its status."""
    out = rules.zeros()
    out[status] = base_kg
    return out


__all__ = ["ZERO", "account_for_lot", "arc_claim", "cite_receipts", "citation", "draw"]
