"""Replay of offers (R-T6).

``block.offered`` is applied like a transfer by `block_events.moved` (the
held block keeps its sender as owner, state ``offered``); here the offer is
recorded and its lapse date checked against the entry's day (at most 30
days, never past the use period: `registry.offers.rules`). A closing entry
(``block.offer_accepted``, ``…_rejected``, ``…_withdrawn``, ``…_lapsed``)
must close a pending offer and give its block back as active -- the
recipient's when accepted, else the sender's, serial range unchanged; an
acceptance after the lapse date, or with a party not active, and a lapse
before it, are findings. ``block.expired`` of a held block closes its offer
as lapsed. A transfer to a participant that reviews incoming transfers, and
an offer to one that does not, are findings (the setting is replayed from
``participant.updated``).
"""

from __future__ import annotations

from datetime import date

from registry import use_period
from registry.offers import rules
from registry.replay.block_events import _check_prev, _same, _set, check_expiry
from registry.replay.state import BLOCK_FIELDS, State, block_record, fail

KINDS = tuple(rules.CLOSING)


def _reviews(s: State, pid) -> bool:
    """Whether the participant reviews incoming transfers (else, and before migration 0020: automatic)."""
    return s.participants.get(pid, {}).get("incoming_transfers") == rules.REVIEW


def before(s: State, i: int, kind: str, p: dict) -> None:
    """R-T6: a transfer to a reviewing recipient is an offer, and only then."""
    if kind == "block.transferred" and _reviews(s, p.get("to")):
        s.finding(fail(i, f"R-T6: block.transferred to participant {p.get('to')}, which reviews incoming "
                          "transfers: it must be an offer"))
    elif kind == "block.offered" and not _reviews(s, p.get("to")):
        s.finding(fail(i, f"R-T6: block.offered to participant {p.get('to')}, which accepts transfers "
                          "automatically"))


def offered(s: State, i: int, p: dict, leaf: str | None, time: str | None) -> None:
    """After `block_events.moved` applied the split: the offer itself."""
    held = p["moved"]
    lapses_on = p.get("lapses_on")
    if not isinstance(lapses_on, str):
        raise fail(i, "block.offered: lapses_on must be a date")
    lapses = date.fromisoformat(lapses_on)
    if time is not None:
        day = date.fromisoformat(time[:10])
        latest = rules.latest_lapse_date(day, held["generation_year"])
        if not day <= lapses <= latest:
            s.finding(fail(i, f"R-T6: block.offered: lapses on {lapses_on}, outside {day}..{latest} (at most "
                              f"{rules.MAX_DAYS} days, within the use period)"))
    s.offers[i] = {"serial": held["serial"], "from": p.get("from"), "to": p.get("to"), "state": rules.PENDING,
                   "lapses_on": lapses_on, "leaf": leaf, "decided": None}


def _pending(s: State, i: int, kind: str, oid) -> dict:
    offer = s.offers.get(oid) if isinstance(oid, int) and not isinstance(oid, bool) else None
    if offer is None:
        raise fail(i, f"{kind}: offer {oid!r} was never made by an earlier entry")
    if offer["state"] != rules.PENDING:
        raise fail(i, f"{kind}: offer {oid} is already {offer['state']} (entry {offer['decided']})")
    return offer


def closed(s: State, i: int, kind: str, p: dict, leaf: str | None, time: str | None) -> None:
    outcome = rules.CLOSING[kind]
    oid = p.get("offer")
    offer = _pending(s, i, kind, oid)
    serial = offer["serial"]
    block = s.blocks.get(serial)
    if block is None or block["state"] != "offered" or p.get("serial") != serial:
        raise fail(i, f"{kind}: offer {oid} holds block {serial}, the entry names {p.get('serial')!r}")
    if (p.get("from"), p.get("to")) != (offer["from"], offer["to"]):
        raise fail(i, f"{kind}: offer {oid} is from {offer['from']} to {offer['to']}")
    _check_prev(i, serial, p, block["link"])
    owner = offer["to"] if outcome == "accepted" else offer["from"]
    after = {**block, "state": "active", "owner": owner}
    _same(i, serial, after, block_record(i, p), BLOCK_FIELDS)
    if time is not None:
        day = date.fromisoformat(time[:10])
        lapses = date.fromisoformat(offer["lapses_on"])
        if outcome == "accepted":
            s.note(i, lambda: rules.require_acceptable(day, lapses))
            s.note(i, lambda: use_period.require_in_use_period(block["generation_year"], day))
        elif outcome == "lapsed" and not rules.is_due(day, lapses):
            s.finding(fail(i, f"R-T6: {kind}: offer {oid} lapses at the end of {offer['lapses_on']}, not on {day}"))
    if outcome == "accepted":  # R-T3, R-P3: the transfer completes between two active participants
        for pid in (offer["from"], offer["to"]):
            if s.participants.get(pid, {}).get("status") != "active":
                s.finding(fail(i, f"R-P3: {kind}: offer {oid}: participant {pid} is not active"))
    _set(s, after, i, leaf, block["determination"])
    s.offers[oid] = {**offer, "state": outcome, "decided": i}


def is_held(s: State, p: dict) -> bool:
    block = s.blocks.get(p.get("serial"))
    return block is not None and block["state"] == "offered"


def expired(s: State, i: int, p: dict, leaf: str | None, time: str | None = None) -> None:
    """block.expired of a held block (R-E1, R-T6): it expires like any other,
    and its offer closes as lapsed."""
    serial = p.get("serial")
    block = s.blocks.get(serial)
    oid = p.get("offer")
    offer = _pending(s, i, "block.expired", oid)
    if offer["serial"] != serial:
        raise fail(i, f"block.expired: offer {oid} holds block {offer['serial']}, not {serial}")
    check_expiry(s, i, block, p, time)  # R-E1
    _check_prev(i, serial, p, block["link"])
    after = {**block, "state": "expired"}
    _same(i, serial, after, block_record(i, p), BLOCK_FIELDS)
    _set(s, after, i, leaf, block["determination"])
    s.offers[oid] = {**offer, "state": "lapsed", "decided": i}
