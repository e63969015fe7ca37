"""A participant's account statement for a period (R-N4).

Opening holdings (active certificates at the start of the first day), every
movement in and out during the period with its log index, and closing
holdings (at the end of the last day), by ARC type and vintage. Days are UTC
days of the entries' logged time (R-U5). Everything is read from the log
(`registry.exports.movements`), in index order, so a statement is what the
log says and it adds up by construction: for every line, opening + in − out
= closing.

Reading: one pass over the movement entries logged before the period ends,
with a server-side cursor (constant memory), prefiltered in SQL on the entry
type, the time and the participant's id in the canonical text (the exact
check is made on the parsed payload). Entries before the period are summed,
not kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from chainlog.store import entries_table
from registry.actors import Actor
from registry.db import UnitOfWork
from registry.errors import InvalidInput
from registry.exports.movements import IN, MOVEMENT_TYPES, PARTICIPANT_KEYS, Movement, of_entry
from registry.participants import read_participant

ZERO = Decimal("0.000")
BATCH = 1000


@dataclass(frozen=True)
class Line:
    """One ARC type and vintage of a statement."""

    arc_type: str
    vintage: int
    opening: Decimal
    incoming: Decimal
    outgoing: Decimal
    closing: Decimal


@dataclass(frozen=True)
class StatementMovement:
    log_index: int
    time: str
    movement: Movement
    balance: Decimal  # the line's holding after this movement


@dataclass
class AccountStatement:
    participant_id: int
    participant_name: str
    start: date
    end: date
    opening: dict[tuple[str, int], Decimal]
    movements: Iterator[StatementMovement]
    # Filled in once `movements` has been read to the end.
    lines: list[Line] = field(default_factory=list)
    log_size: int = 0


def _instant(day: date) -> str:
    """The first instant of a UTC day as entry times are written (chainlog.canonical.format_time)."""
    return f"{day.isoformat()}T00:00:00.000000Z"


def _prefilter(participant_id: int):
    """Entries whose canonical text names the participant under one of the
    movement keys (``"owner":5,`` or ``"owner":5}``): a superset, the parsed
    payload decides."""
    text = entries_table.c.canonical
    return sa.or_(*(text.like(f'%"{key}":{participant_id}{end}%')
                    for key in PARTICIPANT_KEYS for end in (",", "}")))


def check_period(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput(f"the period ends ({end}) before it starts ({start})", field="to",
                           code="invalid_period", rule="R-N4")


def account_statement(uow: UnitOfWork, actor: Actor, participant_id: int, *, start: date,
                      end: date) -> AccountStatement:
    """The statement of ``participant_id`` (its members and admins, R-X4)
    from ``start`` to ``end``, both days included. Its ``movements`` are
    streamed: read them once, to the end; ``lines`` is then complete."""
    participant = read_participant(uow, actor, participant_id)
    check_period(start, end)
    begins, ends = _instant(start), _instant(end + timedelta(days=1))
    size = uow.session.execute(sa.select(sa.func.count()).select_from(entries_table)).scalar_one()
    opening: dict[tuple[str, int], Decimal] = {}
    before = _movement_rows(uow, participant_id, entries_table.c.time < begins)
    try:
        for row in before:  # summed, not kept
            for m in _mine(row, participant_id):
                opening[(m.arc_type, m.vintage)] = opening.get((m.arc_type, m.vintage), ZERO) + m.signed
    finally:
        before.close()
    statement = AccountStatement(participant_id, participant.name, start, end,
                                 {k: v for k, v in opening.items() if v}, iter(()), log_size=size)
    during = _movement_rows(uow, participant_id, entries_table.c.time >= begins, entries_table.c.time < ends)
    statement.movements = _during(statement, during, participant_id)
    return statement


def _movement_rows(uow: UnitOfWork, participant_id: int, *when):
    """The movement entries naming the participant, logged ``when``, in index
    order, read `BATCH` at a time (a server-side cursor on PostgreSQL)."""
    e = entries_table.c
    return uow.session.execute(
        sa.select(e.index, e.time, e.type, e.canonical)
        .where(e.type.in_(MOVEMENT_TYPES), *when, _prefilter(participant_id))
        .order_by(e.index).execution_options(yield_per=BATCH, stream_results=True))


def _mine(row, participant_id: int) -> list[Movement]:
    payload = json.loads(row.canonical)["payload"]
    return [m for m in of_entry(row.type, payload) if m.participant_id == participant_id]


def _during(statement: AccountStatement, rows, participant_id: int) -> Iterator[StatementMovement]:
    balances = dict(statement.opening)
    incoming: dict[tuple[str, int], Decimal] = {}
    outgoing: dict[tuple[str, int], Decimal] = {}
    try:
        for row in rows:
            for m in _mine(row, participant_id):
                key = (m.arc_type, m.vintage)
                balances[key] = balances.get(key, ZERO) + m.signed
                totals = incoming if m.direction == IN else outgoing
                totals[key] = totals.get(key, ZERO) + m.quantity
                yield StatementMovement(row.index, row.time, m, balances[key])
    finally:
        rows.close()
    keys = sorted(set(statement.opening) | set(incoming) | set(outgoing))
    statement.lines = [Line(t, v, statement.opening.get((t, v), ZERO), incoming.get((t, v), ZERO),
                            outgoing.get((t, v), ZERO), balances.get((t, v), ZERO)) for t, v in keys]
