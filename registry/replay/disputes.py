"""Replay of R-C5: back-dated certificate findings and the disputes they open.

At a suspension or revocation entry, replay computes from its own state
which blocks the event must dispute (`registry.disputes.newly_invalid` on
the lots citing the certificate, their blocks in state active or retired and
not already disputed) and checks that the ``block.disputed`` entries that
follow it (the same transaction: the entries are contiguous) name exactly
those blocks: a missing or an extra mark is a finding. A move, retirement,
expiry, forfeiture or R-E5 cancellation of a disputed block is a finding;
the administrator's decisions (``block.dispute_cleared``,
``block.dispute_cancelled``, ``block.dispute_upheld``) must close an open
dispute, and a cancellation ends the block like R-E5 without restoring the
lot's eligible mass.

State: ``s.blocks[serial]["dispute"]`` is the index of the block's open
``block.disputed`` entry; ``s.disputes`` (by that index) holds each
dispute's serial and outcome, compared with the ``block_dispute`` table;
``s.certificate_lots`` lists the lots citing each certificate.
"""

from __future__ import annotations

from datetime import date

from registry import certification
from registry.disputes import DISPUTING, MARKED_STATES, newly_invalid
from registry.replay import certificate_state
from registry.replay.block_events import _active, _check_prev, _same, _set
from registry.replay.state import BLOCK_FIELDS, State, block_record, fail

DECISIONS = {"block.dispute_cleared": "cleared", "block.dispute_cancelled": "cancelled",
             "block.dispute_upheld": "upheld"}
KINDS = ("block.disputed", *DECISIONS)
# Entries that take a block out of circulation or move it, and the payload key naming it.
_MOVES = {"block.transferred": "parent", "block.retired": "parent", "block.expired": "serial",
          "block.forfeited": "serial", "block.cancelled": "serial"}


def _events(cert: dict) -> list[certification.CertificateEvent]:
    return [certification.CertificateEvent(kind, date.fromisoformat(on)) for kind, on in cert["events"]]


def _close_pending(s: State) -> None:
    """The marks a finding required and the log does not hold (R-C5)."""
    pending = s.pending_disputes
    if pending is None:
        return
    s.pending_disputes = None
    if pending["expected"]:
        s.finding(fail(pending["index"], f"R-C5: {pending['kind']} of certificate {pending['certificate']}: no "
                                         f"block.disputed entry for {', '.join(sorted(pending['expected']))}"))


def before(s: State, i: int, kind: str, p: dict) -> None:
    """Called for every entry before it is applied."""
    if kind != "block.disputed":
        _close_pending(s)
    key = _MOVES.get(kind)
    if key is not None:
        block = s.blocks.get(p.get(key))
        if block is not None and block.get("dispute") is not None:
            s.finding(fail(i, f"R-C5: {kind}: block {p.get(key)} is disputed (entry {block['dispute']}) and "
                              "cannot move or end until an administrator cancels or clears it"))


def lot_registered(s: State, p: dict) -> None:
    number = p.get("rms_certificate")
    if isinstance(number, str):
        s.certificate_lots[number] = [*s.certificate_lots.get(number, ()), (p.get("lot"), p.get("processed_on"))]


def certificate_before(s: State, kind: str, p: dict) -> list | None:
    """The certificate's events before a suspension or revocation is applied."""
    cert = s.certificates.get(p.get("certificate"))
    if kind.split(".", 1)[1] not in DISPUTING or cert is None:
        return None
    return _events(cert)


def certificate_after(s: State, i: int, kind: str, p: dict, before_events: list | None) -> None:
    """Which blocks the event must dispute, as the register now stands (R-C5)."""
    if before_events is None:
        return
    number = p.get("certificate")
    cert = s.certificates[number]
    periods = certificate_state.periods(cert)  # R-C6: every validity period
    after = _events(cert)
    lots = {lot for lot, processed in s.certificate_lots.get(number, ())
            if newly_invalid(date.fromisoformat(processed), periods, before_events, after)}
    expected = set()
    if lots:  # a scan of the replayed blocks: certificate events are rare
        expected = {serial for serial, b in s.blocks.sorted_items()
                    if b["lot"] in lots and b["state"] in MARKED_STATES and b.get("dispute") is None}
    s.pending_disputes = {"index": i, "kind": kind, "certificate": number, "expected": expected}


def disputed(s: State, i: int, p: dict) -> None:
    serial = p.get("serial")
    pending = s.pending_disputes
    if pending is None or serial not in pending["expected"]:
        why = "no certificate finding just before it requires it" if pending is None else \
            f"the finding at entry {pending['index']} does not make its lot's processing day not valid"
        s.finding(fail(i, f"R-C5: block.disputed: block {serial}: {why}"))
    else:
        pending["expected"].discard(serial)
        if p.get("finding") != pending["index"] or p.get("certificate") != pending["certificate"]:
            s.finding(fail(i, f"R-C5: block.disputed: block {serial} names finding {p.get('finding')} of "
                              f"{p.get('certificate')}, not entry {pending['index']}"))
    block = s.blocks.get(serial)
    if block is None:
        raise fail(i, f"block.disputed: block {serial!r} was never created by an earlier entry")
    if block.get("dispute") is not None:
        raise fail(i, f"block.disputed: block {serial} is already disputed (entry {block['dispute']})")
    if block["state"] not in MARKED_STATES or p.get("state") != block["state"]:
        raise fail(i, f"block.disputed: block {serial} is {block['state']} (the entry says {p.get('state')})")
    block["dispute"] = i
    s.blocks[serial] = block
    s.disputes[i] = {"serial": serial, "outcome": "open", "decision_log_index": None}


def decided(s: State, i: int, kind: str, p: dict, leaf: str | None) -> None:
    """The administrator's decision on an open dispute (R-C5)."""
    serial = p.get("serial")
    block = s.blocks.get(serial)
    if block is None or block.get("dispute") is None:
        raise fail(i, f"{kind}: block {serial} is not disputed")
    index = block["dispute"]
    outcome = DECISIONS[kind]
    if outcome == "cancelled":  # R-E5 for any holder; the lot's eligible mass is NOT restored
        _active(s, i, serial, kind)
        _check_prev(i, serial, p, block["link"])
        _same(i, serial, {**block, "state": "cancelled"}, block_record(i, p), BLOCK_FIELDS)
        block = {**block, "state": "cancelled"}
        _set(s, block, i, leaf, block["determination"])
    elif outcome == "upheld" and block["state"] != "retired":
        raise fail(i, f"{kind}: block {serial} is {block['state']}: only a retired block's finding is upheld")
    block["dispute"] = None
    s.blocks[serial] = block
    if p.get("dispute_entry") != index:
        s.finding(fail(i, f"R-C5: {kind}: block {serial}: names dispute entry {p.get('dispute_entry')}, "
                          f"its open dispute is entry {index}"))
    s.disputes[index] = {**s.disputes[index], "outcome": outcome, "decision_log_index": i}


def finish(s: State) -> None:
    """After the last entry."""
    _close_pending(s)


def open_serials(s: State) -> set[str]:
    """The blocks under an open dispute (compared with ``block.disputed``)."""
    return {d["serial"] for _, d in s.disputes.sorted_items() if d["outcome"] == "open"}
