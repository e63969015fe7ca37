"""Replay of custody events (R-M7, R-L7c): re-derive every account's credit
from the ``custody.*`` entries alone and report, as findings, a balance that
went negative, an input received twice, credit used after it expired
(R-M2, R-M4), a segregated output's claim above the incoming one (R-M3), and
an output of another product group than the account's (R-M1). The period rows
and the batch, with the R-M3 re-checks at each output and the comparison of a
``custody.period_closed`` summary with the entries before it (R-M5), are
`registry.replay.custody_periods`.

Per account and status the replay keeps the same running sums as the live
account (``registry.custody.credit``): credit received and credit drawn, and
the receipts whose credit has not come due yet, oldest first (a receipt
leaves the queue once its expiry date has passed, so memory holds only live
receipts).
"""

from __future__ import annotations

from collections import deque
from datetime import date
from decimal import Decimal

from registry import classification
from registry.custody import credit
from registry.claims import parse_claim
from registry.custody.rules import (SEGREGATION, STATUSES, ZERO, covers_lot, product_class, require_not_above,
                                    require_product_group, zeros)
from registry.errors import RuleViolation
from registry.replay import custody_periods
from registry.replay.state import State, dec, fail


def books(s: State) -> dict:
    """account id -> its replayed book (credited, drawn, due, queue of live receipts)."""
    books = getattr(s, "custody_accounts", None)
    if books is None:
        books = s.custody_accounts = {}
        s.custody_receipts = s.db.map("custody_receipts")  # "certificate\x00reference" -> log index
        s.custody_receipt_ids = s.db.map("custody_receipt_ids")  # receipt id -> [account, log index, leaf, on]
    return books


def _statuses(i: int, raw, what: str) -> dict[str, Decimal]:
    if not isinstance(raw, dict):
        raise fail(i, f"{what} must be an object of PC, PI, R")
    return {st: dec(i, raw.get(st), f"{what}.{st}") for st in STATUSES}


def _total(values: dict[str, Decimal]) -> Decimal:
    return sum(values.values(), ZERO)


def _due(book: dict, day: date) -> dict[str, Decimal]:
    """Move every receipt expiring on or before ``day`` out of the queue; its cumulative credit is due."""
    queue: deque = book["queue"]
    while queue and queue[0][0] <= day:
        _, cum, _ = queue.popleft()
        book["due"] = cum
    return book["due"]


def _not_above(book: dict, day: date, claim: str) -> None:
    """R-M3, segregation (RMS 6.4.2.2; ``services._incoming_claim``): the claim is not above that of the
    oldest receipt whose credit is not used up, first in, first out. With none left the draw is an
    overdraft, which ``_draw`` reports (R-M4)."""
    _due(book, day)
    drawn = book["drawn"]
    incoming = next((c for _, cum, c in book["queue"] if any(cum[st] > drawn[st] for st in STATUSES)), None)
    if incoming is not None:
        require_not_above(parse_claim(claim, field="claim", rule="R-M3"), parse_claim(incoming, rule="R-M3"))


def _product_group(book: dict, material_code) -> None:
    """R-M1 (``services.record_output``): an output's material is a material code of the account's
    product group, which the first output or lot draw fixes; an output of another is a finding."""
    book["class"] = require_product_group(book["class"], classification.parse_material_code(material_code).id)


def _draw(s: State, i: int, book: dict, account: int, day: date, draws: dict[str, Decimal]) -> None:
    """A draw on credit on ``day`` (an output's claim, R-M3; a custody lot's ARCs or claimed sale,
    R-M6): never on credit that had expired, never below zero (R-M4)."""
    due = _due(book, day)
    if any(draws[st] for st in STATUSES) and any(book["drawn"][st] < due[st] for st in STATUSES):
        s.finding(fail(i, f"R-M4: account {account}: the draw of {day} uses credit that had "
                          "expired (12 months after receipt) and was not retired first"))
    book["drawn"] = {st: book["drawn"][st] + draws[st] for st in STATUSES}
    short = {st: book["drawn"][st] - book["credited"][st] for st in STATUSES
             if book["drawn"][st] > book["credited"][st]}
    if short:
        s.finding(fail(i, f"R-M4: account {account}: the balance went negative on {day} "
                          f"(overdrawn by {', '.join(f'{v} kg {st}' for st, v in short.items())})"))


def apply(s: State, i: int, kind: str, p: dict, leaf: str | None = None) -> None:
    accounts = books(s)
    if kind == "custody.account_opened":
        if p["account"] in accounts:
            raise fail(i, f"custody account {p['account']} opened twice")
        accounts[p["account"]] = {"credited": zeros(), "drawn": zeros(), "due": zeros(), "queue": deque(),
                               "system": p["control_system"], "participant": p.get("participant"),
                               "facilities": list(p.get("facilities") or []), "class": None}
        custody_periods.opened(accounts[p["account"]], p)  # R-M3, R-M5: period rows and the batch
        return
    book = accounts.get(p.get("account"))
    if book is None:
        raise fail(i, f"{kind}: no custody account {p.get('account')}")
    day = date.fromisoformat(p["on"]) if "on" in p else None
    if kind == "custody.input_received":
        added = _statuses(i, p["credit_kg"], "credit_kg")
        if p.get("supplier_certificate") is not None:
            key = f"{p['supplier_certificate']}\x00{p['reference']}"
            if key in s.custody_receipts:
                s.finding(fail(i, f"R-M2: {p['reference']} of {p['supplier_certificate']} was already received "
                                  f"(entry {s.custody_receipts[key]}): an input is received once"))
            else:
                s.custody_receipts[key] = i
        if p.get("receipt") is not None:
            s.custody_receipt_ids[p["receipt"]] = [p["account"], i, leaf, p["on"]]
        _due(book, day)
        book["credited"] = {st: book["credited"][st] + added[st] for st in STATUSES}
        if any(added[st] for st in STATUSES):
            book["queue"].append((date.fromisoformat(p["expires_on"]), dict(book["credited"]), p.get("claim")))
        custody_periods.input_received(s, i, p["account"], book, p, day, dec(i, p["mass_kg"], "mass_kg"),
                                       _statuses(i, p["certified_kg"], "certified_kg"), added)  # R-M2
    elif kind == "custody.credit_expired":
        gone = _statuses(i, p["expired_kg"], "expired_kg")
        expected = credit.expiring(_due(book, day), book["drawn"])
        if gone != expected:
            s.finding(fail(i, f"R-M4: account {p['account']}: {gone} kg expired on {day}, the receipts say "
                              f"{expected}"))
        book["drawn"] = {st: book["drawn"][st] + gone[st] for st in STATUSES}
        custody_periods.credit_expired(s, p["account"], book, day, _total(gone))
    elif kind == "custody.output_recorded":
        draws = _statuses(i, p["drawn_kg"], "drawn_kg")
        if book["system"] == SEGREGATION and p.get("claim") is not None:
            s.note(i, lambda: _not_above(book, day, p["claim"]))  # R-M3, RMS 6.4.2.2
        custody_periods.output_recorded(s, i, p["account"], book, p, day, dec(i, p["mass_kg"], "mass_kg"),
                                        _statuses(i, p["claimed_kg"], "claimed_kg"), _total(draws))  # R-M3
        _draw(s, i, book, p["account"], day, draws)
        s.note(i, lambda: _product_group(book, p.get("material_code")))  # R-M1, RMS 6.4.4.5
    elif kind == "custody.period_closed":
        custody_periods.period_closed(s, i, p["account"], book, p)  # R-M5: the summary is the entries' sums
    else:
        raise fail(i, f"unknown custody event {kind!r}")


# --- Lots as outputs of an account (R-M6) -------------------------------------------------------------

def lot_registered(s: State, i: int, p: dict) -> None:
    """R-M6 at a ``lot.registered`` entry: a lot at a facility where its generator keeps a
    credit account for its product names that account, and its inputs are receipts of
    it, received on or before processing, cited with their entries' links."""
    accounts = books(s)
    named = p.get("custody_account")
    klass = product_class(str(p.get("material_code")))
    if named is None:
        covering = sorted(a for a, b in accounts.items() if covers_lot(b["facilities"], b["class"], b["system"],
                                                                   p.get("facility"), p.get("material_code") or "_")
                          and b["participant"] == p.get("generator"))
        if covering:
            s.finding(fail(i, f"R-M6: lot {p.get('lot')} names no custody account, yet its generator keeps "
                              f"account {covering[0]} for its facility and product: its ARCs would not draw credit"))
        return
    book = accounts.get(named)
    if book is None or book["participant"] != p.get("generator") or not covers_lot(
            book["facilities"], book["class"], book["system"], p.get("facility"), p.get("material_code") or "_"):
        s.finding(fail(i, f"R-M6: lot {p.get('lot')} names custody account {named}, which is not its generator's "
                          f"credit account for facility {p.get('facility')} and product {klass}"))
        return
    for n, item in enumerate(p.get("inputs") or []):
        known = s.custody_receipt_ids.get(item.get("receipt")) if isinstance(item, dict) else None
        link = item.get("log") if isinstance(item, dict) else None
        if known is None or known[0] != named or not isinstance(link, dict) or \
                link.get("index") != known[1] or (known[2] is not None and link.get("leaf_hash") != known[2]):
            s.finding(fail(i, f"R-M6: lot {p.get('lot')} input {n} does not cite a receipt of custody account "
                              f"{named} by its entry"))
        elif known[3] > p["processed_on"]:
            s.finding(fail(i, f"R-M6: lot {p.get('lot')} input {n}: receipt received on {known[3]}, after "
                              f"processing on {p['processed_on']}"))


def lot_drawn(s: State, i: int, what: str, lot_id, lot: dict, p: dict, claimed: dict[str, Decimal] | None, *,
              arcs: bool = False) -> None:
    """R-M6 at a ``block.generated`` (``arcs``; ``claimed``: the base mass by status) or a claimed
    ``lot.disposition``: a custody lot's entry draws exactly that on its account, first in,
    first out (the draw ``credit.plan`` gives), never overdrawn; a lot of no account draws nothing.
    The draw is added to the period row of the lot's facility (``custody_periods.lot_drew``)."""
    named = lot.get("custody_account")
    drawn = p.get("custody")
    if named is None or claimed is None:
        if drawn is not None:
            s.finding(fail(i, f"R-M6: {what} of lot {lot_id} draws custody credit it has no account for"))
        return
    if not isinstance(drawn, dict) or drawn.get("account") != named:
        s.finding(fail(i, f"R-M6: {what} of lot {lot_id} draws no credit on its custody account {named}: "
                          "claims + ARCs would exceed certified input"))
        return
    book = books(s)[named]
    day = date.fromisoformat(drawn["on"])
    draws = _statuses(i, drawn.get("drawn_kg"), "custody.drawn_kg")
    _due(book, day)
    try:
        expected = credit.plan(claimed, {st: book["credited"][st] - book["drawn"][st] for st in STATUSES})
    except RuleViolation as error:
        expected = None
        s.finding(fail(i, f"R-M4, R-M6: {what} of lot {lot_id} on account {named}: {error.detail}"))
    if expected is not None and expected != draws:
        s.finding(fail(i, f"R-M6: {what} of lot {lot_id} drew {draws} kg of credit; first in, first out it "
                          f"draws {expected}"))
    _draw(s, i, book, named, day, draws)
    custody_periods.lot_drew(s, named, book, day, lot.get("facility"), _total(draws), _total(claimed), arcs)
    book["class"] = product_class(lot["material_code"])


__all__ = ["ZERO", "apply", "books", "lot_drawn", "lot_registered"]
