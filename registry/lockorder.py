"""R-X5: the one lock order of every write, enforced here.

Every write takes its locks in this order, and only in this order:

1. **Participant rows**, all it depends on, sorted by id, in one statement
   (``lock_participants``): *shared* (``FOR SHARE``) by a write that depends
   on a participant's status — transfers (sender and recipient), retirements,
   generation, facilities, lines, lots, dispositions; *exclusive* (``FOR NO
   KEY UPDATE``) by a write that changes it — suspension, activation,
   details, removal as a generator, an RMS certificate's suspension,
   reinstatement or revocation (its generator status).
2. **Other rows**: blocks (by serial), lots, facilities, determinations,
   serial counters, certificates, and per-product advisory locks.
3. **The log's append lock** (``chainlog.store.append``, via
   ``registry.journal.record``), last, held until commit.

So a write never commits on a status that changed before it committed (the
status change waits for the shared lock, or the write waits and then reads
the new status), and no two writers wait for each other in a cycle: a
suspension holds only the participant row when it waits for the log lock,
and no holder of the log lock waits for a participant row. Exclusive
participant (and every other) row lock is ``FOR NO KEY UPDATE``, not ``FOR
UPDATE`` (``registry.db.get_for_update``): no write changes a primary key,
and the foreign-key checks of rows inserted after the log lock (a split
block names its owner, generator, lot and determination) take ``FOR KEY
SHARE``, which ``FOR NO KEY UPDATE`` does not block.

A row lock alone would let a stream of shared lockers starve a suspension:
PostgreSQL grants ``FOR SHARE`` to a newcomer while others hold it, even
with an exclusive locker waiting. So on PostgreSQL each participant lock is
preceded by a transaction-scoped advisory lock on the participant — shared
or exclusive as the row lock — in the same sorted order: the lock manager
queues a new shared request behind a waiting exclusive one, so a suspension
waits only for the writes already under way.

On SQLite the registry serialises writers (``BEGIN IMMEDIATE``) and the
statements carry no lock clause; the order is still checked, so a write
path that breaks it fails its tests on either database.

The order is checked at run time in every transaction that is one write
(``checked``: each API write request, each job step): ``lock_participants``
refuses to lock a participant not locked yet once the transaction holds a
block row (``note_rows_locked``) or has appended to the log
(``note_log_locked``). Writes that touch several participants name them all
in one call. Builders that run many writes in one transaction with nobody
else writing (the demo, benchmark set-ups, test fixtures) are not checked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import event, text
from sqlalchemy.orm import Session
from sqlmodel import select

from registry.db import UnitOfWork, is_postgres
from registry.errors import Conflict, NotFound
from registry.models import Participant

_STATE = "arcreg.lockorder"
#: The advisory-lock class of participant gates (two-int keys: (class, participant id));
#: the first 4 bytes of SHA-256("arcreg participant gate"). Two-int keys never
#: collide with the single-bigint keys of the log and of product claims.
GATE_CLASS = int.from_bytes(hashlib.sha256(b"arcreg participant gate").digest()[:4], "big", signed=True)
SHARED, EXCLUSIVE = "shared", "exclusive"


class LockOrderViolation(AssertionError):
    """A write path asked for a participant lock after a later-stage lock: a
    programming error (it could deadlock on PostgreSQL), never a user error."""


def _state(session: Session) -> dict:
    return session.info.setdefault(_STATE, {"participants": {}, "stage": 1, "checked": False})


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    # Locks end with the transaction; so does what we know about them.
    if transaction.parent is None:
        session.info.pop(_STATE, None)


def checked(uow: UnitOfWork) -> None:
    """This transaction is one write: check the lock order in it."""
    _state(uow.session)["checked"] = True


def note_rows_locked(uow: UnitOfWork) -> None:
    """The transaction holds a stage-2 row lock (a block)."""
    state = _state(uow.session)
    state["stage"] = max(state["stage"], 2)


def log_locked(uow: UnitOfWork) -> bool:
    """Whether this transaction holds the log's append lock already."""
    return _state(uow.session)["stage"] == 3


def note_log_locked(uow: UnitOfWork) -> None:
    """The transaction holds the log's append lock (stage 3)."""
    _state(uow.session)["stage"] = 3


def lock_participants(uow: UnitOfWork, ids: Iterable[int], *, exclusive: bool = False) -> dict[int, Participant]:
    """Lock these participants' rows — shared, or exclusive when the caller
    changes them — sorted by id in one statement, and return them by id,
    freshly read. Unknown ids are simply absent from the result.

    Stage 1 of the lock order: refused (``LockOrderViolation``) once the
    transaction holds a block row or the log lock, unless every participant
    asked for is already locked at least as strongly."""
    wanted = sorted({int(i) for i in ids if i is not None})
    mode = EXCLUSIVE if exclusive else SHARED
    state = _state(uow.session)
    held = state["participants"]
    missing = [i for i in wanted if held.get(i) not in (mode, EXCLUSIVE)]
    if missing and state["stage"] > 1 and state["checked"]:
        raise LockOrderViolation(
            f"participant rows {missing} locked after a block row or the log lock (R-X5: participants first)")
    if not wanted:
        return {}
    if missing and is_postgres(uow.session):
        _gate(uow, missing, exclusive)
    query = (select(Participant).where(Participant.id.in_(wanted)).order_by(Participant.id)
             .with_for_update(read=not exclusive, key_share=exclusive)
             .execution_options(populate_existing=True))
    rows = {p.id: p for p in uow.session.exec(query)}
    for i in rows:
        if held.get(i) != EXCLUSIVE:
            held[i] = mode
    return rows


def _gate(uow: UnitOfWork, ids: list[int], exclusive: bool) -> None:
    """The fair queue in front of the participant rows (see the module doc):
    one advisory lock per participant, in ``ids`` order (sorted), in one
    statement whose select list PostgreSQL evaluates left to right."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    calls = ", ".join(f"{function}(:gate, :p{n})" for n in range(len(ids)))
    uow.session.execute(text(f"SELECT {calls}"), {"gate": GATE_CLASS, **{f"p{n}": i for n, i in enumerate(ids)}})


def hold_prelocked(uow: UnitOfWork, blocks: dict, participants: dict[int, Participant]) -> None:
    """A write over many blocks (a bulk request, R-T7) locked its participants
    and then its blocks, in this order, up front: each step finds them here
    (``prelocked``) instead of locking them again. Forgotten with the
    transaction, like every lock."""
    _state(uow.session)["prelocked"] = (blocks, participants)


def prelocked(uow: UnitOfWork, key) -> tuple | None:
    """(row, participants) when ``hold_prelocked`` holds the row ``key``."""
    held = _state(uow.session).get("prelocked")
    if held is None or key not in held[0]:
        return None
    return held[0][key], held[1]


def lock_participant(uow: UnitOfWork, participant_id: int, *, exclusive: bool = False) -> Participant:
    """One participant under ``lock_participants``; 404 when there is none."""
    participant = lock_participants(uow, [participant_id], exclusive=exclusive).get(participant_id)
    if participant is None:
        raise NotFound(f"no participant {participant_id}", code="participant_not_found")
    return participant


def lock_new_owner(uow: UnitOfWork, participant_id: int) -> Participant:
    """The one exception to the order, which cannot deadlock because it never
    waits: a block whose owner changed between our first (unlocked) read
    and its row lock (a racing transfer of the whole block committed) needs
    its new owner's shared lock. Taken with ``SKIP LOCKED``: when a status
    change holds the row, the write is refused with 409 ``concurrent_change``
    (retry it) instead of waiting while holding the block."""
    state = _state(uow.session)
    if state["participants"].get(participant_id) is not None:
        return uow.session.get(Participant, participant_id)
    query = (select(Participant).where(Participant.id == participant_id)
             .with_for_update(read=True, skip_locked=True).execution_options(populate_existing=True))
    participant = uow.session.exec(query).first()
    if participant is None:
        raise Conflict("the block changed hands while this request waited for it, and its new owner's "
                       "status is being changed: retry the request", code="concurrent_change", rule="R-X5")
    state["participants"][participant_id] = SHARED
    return participant
