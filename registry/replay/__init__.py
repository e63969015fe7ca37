"""Replay the chain log into a fresh registry state (R-L7).

Pure: entries in, `State` out; no registry database, `Decimal` only (the
state itself sits in a private scratch file with a bounded cache, so memory
stays flat however long the log: `registry.replay.scratch`). Every entry is
applied under the rules of the service that wrote it, and an entry the
replayed state makes impossible (moving a block that is not active,
quantities that do not add up, a broken lineage link, R-L2b) raises
`VerificationError(kind="replay_inconsistent", index=i)`. The result is
what `registry.verification` compares with the live tables.

Unknown event types: a `block.*` type we cannot interpret is refused (the
block state could not be replayed); any other type (e.g. ``key.rotated``,
checked by chainlog) changes no replayed state and is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from registry.replay import (amendments, block_events, bulk, claim_rules, custody_events, disputes, name_rules,
                            offers, registry_events, staff_roles, table_fields)
from registry.replay.state import State, fail

__all__ = ["Replayer", "State", "replay"]

_SETUP = {
    "participant.registered": registry_events.participant,
    "participant.activated": registry_events.participant,
    "participant.suspended": registry_events.participant,
    "participant.updated": registry_events.participant_updated,  # RMS 8.1.4
    "participant.removed": registry_events.participant,  # before R-E4's generator flag (migration 0011)
    "participant.generator_removed": registry_events.participant,
    "facility.registered": registry_events.facility,
    "facility.line_registered": registry_events.facility,
    "determination.recorded": registry_events.determination,
    "determination.withdrawn": registry_events.determination,
    "lot.registered": registry_events.lot,
    "lot.disposition": registry_events.lot,
}


def _field(entry: Any, name: str) -> Any:
    return entry.get(name) if isinstance(entry, dict) else getattr(entry, name, None)


class Replayer:
    """Applies entries one at a time, in index order, to `self.state`."""

    def __init__(self, state: State | None = None) -> None:
        self.state = State() if state is None else state

    def apply(self, index: int, kind: str, payload: Any, leaf_hash: bytes | str | None = None,
              time: str | None = None) -> None:
        """Apply one entry; ``time`` is the entry's logged UTC time (ISO 8601),
        which dates the rules that depend on the day (R-L7c)."""
        s = self.state
        if index != s.entries:  # chainlog checks continuity; replay relies on it
            raise fail(index, f"replay expected entry {s.entries}, got {index}")
        leaf = leaf_hash.hex() if isinstance(leaf_hash, bytes | bytearray) else leaf_hash
        when = time if isinstance(time, str) else None
        if not isinstance(payload, dict):
            raise fail(index, f"{kind}: payload is not an object")
        try:
            disputes.before(s, index, kind, payload)  # R-C5: marks a finding required; disputed blocks stay
            offers.before(s, index, kind, payload)  # R-T6: transfers to a reviewing recipient are offers
            bulk.before(s, index, kind, payload)  # R-T7: a bulk retirement's items are contiguous
            if kind in _SETUP:
                _SETUP[kind](s, index, kind, payload)
                if kind == "determination.recorded":
                    s.note(index, lambda: registry_events.certified_since(s, index, payload, when))  # R-C6
                if kind == "lot.registered":
                    s.lots[payload["lot"]]["link"] = (index, leaf)  # R-L2b: lineage starts here
                    disputes.lot_registered(s, payload)
                    custody_events.lot_registered(s, index, payload)  # R-M6
            elif kind.startswith("certificate."):
                prior = disputes.certificate_before(s, kind, payload)
                registry_events.certificate(s, index, kind, payload, when)
                disputes.certificate_after(s, index, kind, payload, prior)  # R-C5: which blocks to mark
            elif kind == "block.generated":
                block_events.generated(s, index, payload, leaf, when)
            elif kind in ("block.transferred", "block.retired"):
                block_events.moved(s, index, kind, payload, leaf, when)
            elif kind == "block.offered":  # R-T6: split off and held, then the offer
                block_events.moved(s, index, kind, payload, leaf, when)
                offers.offered(s, index, payload, leaf, when)
            elif kind in offers.KINDS:
                offers.closed(s, index, kind, payload, leaf, when)
            elif kind == "block.expired" and offers.is_held(s, payload):  # R-T6: expires like any other
                offers.expired(s, index, payload, leaf, when)
            elif kind in ("block.expired", "block.forfeited", "block.cancelled"):
                block_events.ended(s, index, kind, payload, leaf, when)
            elif kind.startswith("custody."):
                custody_events.apply(s, index, kind, payload, leaf)  # R-M4, R-M7
            elif kind == "block.disputed":
                disputes.disputed(s, index, payload)
            elif kind in disputes.DECISIONS:
                disputes.decided(s, index, kind, payload, leaf)
            elif kind.startswith("block."):
                raise fail(index, f"unknown block event {kind!r}: the block state cannot be replayed")
            elif kind == "retirement.amended":  # R-R7: claim details, within 30 days
                amendments.amended(s, index, payload, leaf, when)
            elif kind in staff_roles.HANDLERS:  # R-L7b, R-P4: staff roles are log entries
                staff_roles.HANDLERS[kind](s, index, kind, payload)
            s.note(index, lambda: name_rules.check(s, index, kind, payload))  # R-R5, R-L7c: names, product caps
            s.note(index, lambda: claim_rules.check(kind, payload))  # R-R4, R-R8: claim dates and details
            table_fields.apply(s, index, kind, payload, leaf, when)  # R-L7b: what the tables are compared with
        except (KeyError, TypeError, AttributeError, ArithmeticError) as exc:
            # A payload missing what its type requires is as impossible as a bad transition.
            raise fail(index, f"{kind}: payload cannot be applied ({type(exc).__name__}: {exc})") from None
        s.entries += 1
        s.trim()

    def finish(self) -> None:
        """After the last entry: what the last entries left unchecked (R-C5)."""
        disputes.finish(self.state)
        bulk.finish(self.state)

    def apply_entry(self, entry: Any) -> None:
        """An entry as `chainlog.store.StoredEntry`, or a parsed export line (dict)."""
        self.apply(_field(entry, "index"), _field(entry, "type"), _field(entry, "payload"),
                   _field(entry, "leaf_hash"), _field(entry, "time"))


def replay(entries: Iterable[Any]) -> State:
    """Replay every entry, in order, into a fresh state (the caller closes it).
    Raises the first impossibility, or after the last entry the first rule
    finding (``state.findings`` holds them all)."""
    replayer = Replayer()
    try:
        for entry in entries:
            replayer.apply_entry(entry)
        replayer.finish()
        if replayer.state.findings:
            raise replayer.state.findings[0]
    except BaseException:
        replayer.state.close()
        raise
    return replayer.state
