"""Replay of custody events (R-M7, R-L7c): re-derive every account's credit
from the ``custody.*`` entries alone and report, as findings, a balance that
went negative, an input received twice, and credit used after it expired
(R-M2, R-M4).

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

from registry.custody import credit
from registry.custody.rules import STATUSES, ZERO, zeros
from registry.replay.state import State, dec, fail


def books(s: State) -> dict:
    """account id -> its replayed book (credited, drawn, due, queue of live receipts)."""
    books = getattr(s, "custody_accounts", None)
    if books is None:
        books = s.custody_accounts = {}
        s.custody_receipts = s.db.map("custody_receipts")  # "certificate\x00reference" -> log index
    return books


def _statuses(i: int, raw, what: str) -> dict[str, Decimal]:
    if not isinstance(raw, dict):
        raise fail(i, f"{what} must be an object of PC, PI, R")
    return {st: dec(i, raw.get(st), f"{what}.{st}") for st in STATUSES}


def _due(book: dict, day: date) -> dict[str, Decimal]:
    """Move every receipt expiring on or before ``day`` out of the queue; its cumulative credit is due."""
    queue: deque = book["queue"]
    while queue and queue[0][0] <= day:
        _, cum = queue.popleft()
        book["due"] = cum
    return book["due"]


def apply(s: State, i: int, kind: str, p: dict) -> None:
    accounts = books(s)
    if kind == "custody.account_opened":
        if p["account"] in accounts:
            raise fail(i, f"custody account {p['account']} opened twice")
        accounts[p["account"]] = {"credited": zeros(), "drawn": zeros(), "due": zeros(), "queue": deque(),
                               "system": p["control_system"]}
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
        _due(book, day)
        book["credited"] = {st: book["credited"][st] + added[st] for st in STATUSES}
        if any(added[st] for st in STATUSES):
            book["queue"].append((date.fromisoformat(p["expires_on"]), dict(book["credited"])))
    elif kind == "custody.credit_expired":
        gone = _statuses(i, p["expired_kg"], "expired_kg")
        expected = credit.expiring(_due(book, day), book["drawn"])
        if gone != expected:
            s.finding(fail(i, f"R-M4: account {p['account']}: {gone} kg expired on {day}, the receipts say "
                              f"{expected}"))
        book["drawn"] = {st: book["drawn"][st] + gone[st] for st in STATUSES}
    elif kind == "custody.output_recorded":
        draws = _statuses(i, p["drawn_kg"], "drawn_kg")
        due = _due(book, day)
        if any(draws[st] for st in STATUSES) and any(book["drawn"][st] < due[st] for st in STATUSES):
            s.finding(fail(i, f"R-M4: account {p['account']}: the output of {day} draws on credit that had "
                              "expired (12 months after receipt) and was not retired first"))
        book["drawn"] = {st: book["drawn"][st] + draws[st] for st in STATUSES}
        short = {st: book["drawn"][st] - book["credited"][st] for st in STATUSES
                 if book["drawn"][st] > book["credited"][st]}
        if short:
            s.finding(fail(i, f"R-M4: account {p['account']}: the balance went negative on {day} "
                              f"(overdrawn by {', '.join(f'{v} kg {st}' for st, v in short.items())})"))
    elif kind == "custody.period_closed":
        pass  # the summary is derived from the events before it
    else:
        raise fail(i, f"unknown custody event {kind!r}")


def balances(s: State) -> dict[int, dict[str, Decimal]]:
    """Each account's credit as replayed (before expiries not yet logged)."""
    return {aid: {st: b["credited"][st] - b["drawn"][st] for st in STATUSES}
            for aid, b in books(s).items()}


__all__ = ["ZERO", "apply", "balances", "books"]
