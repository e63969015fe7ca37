"""Full verification of the live registry (R-L7, `arcreg verify`).

One pass over the log: entries are read in batches (constant memory for the
log itself) and handed, as export lines, to `chainlog.verify.verify_export`,
which re-hashes the chain, rebuilds the Merkle root and checks every
checkpoint signature (consistency between successive checkpoints follows, see
its docstring). Each entry is replayed (`registry.replay`) only once chainlog
has verified it. Then the replayed state is compared with the live tables;
each difference is a ``state_drift`` finding naming table, key and field
(`registry.table_compare`, R-L7b).

Memory stays flat whatever the size of the log or the registry: the log is
read in batches, the replayed state lives in a scratch SQLite file behind
bounded caches (`registry.replay.scratch`), and the comparison is a merge
join of the live table and the replayed map, both streamed in key order.

Each run is recorded in `VerificationRun`, in its own committed transaction
after the check (the check itself writes nothing).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from chainlog import export, store
from chainlog.errors import VerificationError
from chainlog.keys import Verifier
from chainlog.verify import verify_export
from registry import table_compare
from registry.clock import Clock
from registry.models import (
    Block,
    BlockDispute,
    Determination,
    Facility,
    Lot,
    Participant,
    Retirement,
    RmsCertificate,
)
from registry.models.integrity import VerificationRun
from registry.models.lots import Disposition
from registry.participant_details import contacts_digest
from registry.custody.verify import compare_accounts, compare_periods
from registry.replay import Replayer, State
from registry.replay import disputes as replay_disputes
from registry.replay.scratch import CACHE_RECORDS
from registry.replay.state import BLOCK_FIELDS
from registry.verify_report import Report

PROGRESS_EVERY = 100_000


def log_lines(conn: Any, on_entry: Callable[[store.StoredEntry], None], *, batch: int = 5000) -> Iterator[str]:
    """The log as export lines (`chainlog.export` format), calling `on_entry(e)`
    for each entry once the consumer has asked for the line after it, i.e.
    once `verify_export` has verified it. Mirrors `export.write_export`, but
    reads by index range up to the highest index so a deleted row shows up
    as a gap rather than ending the stream early."""
    n = store.size(conn)
    pending = [c for c in store.iter_checkpoints(conn) if c.size <= n]
    pending.reverse()
    while pending and pending[-1].size == 0:
        yield export.checkpoint_line(pending.pop().note)
    for start in range(0, n, batch):
        for e in store.entries(conn, start, min(n, start + batch)):
            yield _line(e)
            on_entry(e)
            while pending and pending[-1].size <= e.index + 1:
                yield export.checkpoint_line(pending.pop().note)


_js = json.JSONEncoder(ensure_ascii=False).encode


def _line(e: store.StoredEntry) -> str:
    """The entry's export line, from its hashed text (`export.entry_line`).

    The row's own columns (index, time, type, actor: what the API serves
    beside the text) must say what the hashed text says (R-L1). If they do
    not, the line is written in chainlog's earlier form, which carries both
    the fields and the hashed text, so chainlog names the entry: a changed
    column is ``payload_changed``; a hashed text naming another index (rows
    swapped or moved) is ``entries_reordered`` / ``entry_missing`` rather
    than a changed payload."""
    c = e.canonical
    if c.startswith(f'{{"actor":{_js(e.actor)},"index":{e.index},"payload":') and \
            c.endswith(f',"time":{_js(e.time)},"type":{_js(e.type)}}}'):  # JCS member order
        return export.entry_line(e)
    try:
        own = json.loads(c)
    except (ValueError, TypeError):
        return export.entry_line(e)  # not even an entry: chainlog names it
    if not isinstance(own, dict):
        return export.entry_line(e)
    index = own.get("index")
    if index != e.index and isinstance(index, int) and not isinstance(index, bool):
        return export.entry_line(replace(e, index=index, time=own.get("time"), type=own.get("type"),
                                         actor=own.get("actor")))
    if (own.get("actor"), own.get("time"), own.get("type")) != (e.actor, e.time, e.type):
        return json.dumps(e.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
    return export.entry_line(e)


class DeferredReplay:
    """Replays verified entries; keeps the first replay error instead of raising
    it inside chainlog's loop, so a log fault found later still gets its own
    kind (a deleted entry is `entry_missing`, not a replay oddity after it)."""

    def __init__(self, progress: Callable[[int], None] | None, *, cache_records: int = CACHE_RECORDS) -> None:
        self.replayer = Replayer(State(cache_records))
        self.error: VerificationError | None = None
        self.progress = progress

    def close(self) -> None:
        """Delete the replayed state's scratch file."""
        self.replayer.state.close()

    def __call__(self, entry: store.StoredEntry) -> None:
        self.apply(entry.index, entry.type, entry.payload, entry.leaf_hash, entry.time)

    def apply(self, index: int, kind: str, payload: Any, leaf_hash: bytes | str | None,
              time: str | None = None) -> None:
        if self.error is None:
            try:
                self.replayer.apply(index, kind, payload, leaf_hash, time)
            except VerificationError as exc:
                self.error = exc
        if self.progress is not None and isinstance(index, int) and (index + 1) % PROGRESS_EVERY == 0:
            self.progress(index + 1)


def check_lines(lines, verifiers: Sequence[Verifier | str], on_entry: DeferredReplay) -> Report:
    """chainlog verification of `lines` plus the replay fed by `on_entry`.
    The report's error is the earliest problem; rule findings (R-L7c) are all listed."""
    state = on_entry.replayer.state
    try:
        result = verify_export(lines, verifiers)
        on_entry.replayer.finish()  # R-C5: the marks a finding at the log's end requires
    except VerificationError as exc:
        findings = list(state.findings)
        return Report(ok=False, size=state.entries, error=_earliest(exc, on_entry.error, *findings[:1]),
                      counts=state.counts(), findings=findings)
    findings = list(state.findings)
    error = _earliest(on_entry.error, *findings[:1])
    return Report(ok=error is None, size=result.size, checkpoints=result.checkpoints,
                  signed_size=result.signed_size, root_hex=result.root_hex, counts=state.counts(), error=error,
                  findings=findings)


def _earliest(*errors: VerificationError | None) -> VerificationError | None:
    """The problem at the lowest index (one with no index, a log fault, counts as the latest)."""
    present = [e for e in errors if e is not None]
    return min(present, key=lambda e: (e.index is None, e.index or 0), default=None)


# What is compared, table by table: (label, model, key column, replayed map
# name, {replayed field: live column}). Blocks come last: the biggest table.
COMPARED = (
    ("participant", Participant, "id", "participants",
     {**{n: n for n in ("status", "name", "country", "address")},  # RMS 8.1.4 (contacts: DERIVED)
      # R-E4: removed as a generator (the date is in the entry; entries before migration 0011 lack it)
      "generator_removed": Participant.generator_removed_on.is_not(None).label("generator_removed")}),
    # R-C2: who holds the certificate and its validity dates (dates compared as ISO text).
    ("RMS certificate", RmsCertificate, "number", "certificates",
     {"participant": "participant_id", "issued_on": "issued_on", "expires_on": "expires_on"}),
    ("lot", Lot, "id", "lots", {n: n for n in ("mass_kg", "sold_kg", "claimed_kg", "claimed_pc_kg", "used_kg",
                                               "used_pc_kg", "disclaimer_required",
                                               "sold_lb", "used_lb", "used_pc_lb")}),  # R-U6
    ("facility", Facility, "id", "facilities", {"participant": "participant_id", "name": "name"}),
    ("lot disposition", Disposition, "id", "dispositions",  # R-B3: what was sold and claimed
     {"lot": "lot_id", "mass_kg": "mass_kg", "claimed_kg": "claimed_kg", "claimed_pc_kg": "claimed_pc_kg"}),
    ("determination", Determination, "id", "determinations",
     {n: n for n in ("status", "outcome", "eligible_kg", "used_kg")}),
    # R-R2: the public retirement record.
    ("retirement", Retirement, "serial", "retirements",
     {"owner": "owner_id", "quantity": "quantity", "beneficiary": "beneficiary"}),
    ("block", Block, "serial", "blocks", {**BLOCK_FIELDS, "determination": "determination_id"}),
    # R-C5: each dispute (by its block.disputed entry) and its outcome.
    ("block dispute", BlockDispute, "log_index", "disputes",
     {"serial": "serial", "outcome": "outcome", "decision_log_index": "decision_log_index"}),
)


# Replayed fields the log carries as a function of live columns, per table:
# (replayed field, live columns, function of their values).
DERIVED = {
    # RMS 8.1.4: contacts are personal data; the log commits to them with a salted digest.
    "participant": (("contacts_digest", ("contacts", "contacts_salt"), contacts_digest),),
}


def compare_state(session: Session, state: State) -> list[VerificationError]:
    """Every live row and field that differs from the replay, as ``state_drift``
    findings naming table, key and field (R-L7b): `COMPARED` and `DERIVED`,
    and what `registry.table_compare` adds to them (every other stored field
    a page, a proof, a statement or a rule reads; certificate events; staff
    roles). A merge join in key order per table: the live table is streamed
    (only the compared columns, `yield_per` batches; a server-side cursor on
    PostgreSQL) beside the replayed map streamed from its scratch table, so
    memory does not grow with either. Reported: a live row no entry created,
    a row the log created that is missing, every differing field."""
    drift = table_compare.compare(session, state, COMPARED, DERIVED)
    drift.extend(_compare_disputed(session, state))
    return drift


def _compare_disputed(session: Session, state: State) -> list[VerificationError]:
    """R-C5: the blocks flagged ``disputed`` are those the log leaves under an open dispute."""
    live = set(session.scalars(select(Block.serial).where(Block.disputed.is_(True))))
    replayed = replay_disputes.open_serials(state)
    return [table_compare.drift("block", serial, "disputed", serial in replayed, serial in live)
            for serial in sorted(live ^ replayed)]


def verify_registry(session: Session, verifiers: Sequence[Verifier | str], *, record: bool = True,
                    clock: Clock | None = None,
                    progress: Callable[[int], None] | None = None,
                    cache_records: int = CACHE_RECORDS) -> Report:
    """R-L7: verify the log and the live tables. Never raises VerificationError:
    the report carries the first one. Ends `session`'s transaction (rollback:
    it only read) before recording the run, so SQLite's write lock is free.
    `cache_records`: replayed records held in memory per map (the rest wait
    in the replay's scratch file; `registry.replay.scratch`)."""
    clock = clock or Clock()  # R-U5: the run's timestamps come from a clock too
    started = clock.now()
    replay = DeferredReplay(progress, cache_records=cache_records)
    try:
        report = check_lines(log_lines(session, replay), verifiers, replay)
        if replay.error is None and report.root_hex:  # the log verified and replayed to its end
            drift = compare_state(session, replay.replayer.state)
            try:
                compare_accounts(session, replay.replayer.state)  # R-M7 (registry.custody.verify)
            except VerificationError as exc:
                drift.append(exc)
            drift.extend(compare_periods(session, replay.replayer.state))  # R-M3, R-M5 (registry.custody.verify)
            if drift:  # R-L7b: each one named, after the rule findings (R-L7c)
                report.ok = False
                report.error = report.error or drift[0]
                report.findings.extend(drift)
    finally:
        replay.close()
    session.rollback()
    if record:
        _record(session, report, started, clock.now())
    return report


def _record(session: Session, report: Report, started: datetime, finished: datetime) -> None:
    error = report.error
    run = VerificationRun(started_at=started, finished_at=finished, ok=report.ok,
                          size=report.size, checkpoints=report.checkpoints,
                          bad_index=None if error is None else error.index,
                          kind=None if error is None else error.kind[:40],
                          detail=report.failure() or f"ok: {report.counts}")
    with Session(session.get_bind()) as writer:
        writer.add(run)
        writer.commit()
