"""A custody balance in one SQL statement (R-M4; issue 17's benchmark target).

One round trip reads everything a balance needs: the account's running sums
(credit received, credit drawn or expired, per status), the cumulative credit
of the last receipt expired on the day asked (one indexed read on
``(account_id, expires_on, seq)``), and per status the next ten receipts
holding credit in first-in-first-out order (an indexed range read on
``(account_id, cum_*, seq)`` starting after max(drawn, due)). The three parts
are a ``UNION ALL`` of rows of one shape, so the statement is the same on
SQLite and PostgreSQL; nothing scans the account's receipts, whatever their
number. Reads take no locks (R-X6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import case, func, literal, null, select, union_all

from registry.custody.models import CustodyAccount as A
from registry.custody.models import CustodyReceipt as R
from registry.custody.rules import STATUSES

_LOWER = {"PC": "pc", "PI": "pi", "R": "r"}
#: Receipts per status shown as the next expiries.
UPCOMING = 10
_N = 11  # quantity columns of the row shape


@dataclass(frozen=True)
class Book:
    """What one statement read: the account's sums, the due credit on the day, the next receipts."""

    participant_id: int
    control_system: str
    last_on: date | None
    credited: dict[str, Decimal]
    drawn: dict[str, Decimal]
    due: dict[str, Decimal]
    batch_certified_kg: Decimal
    batch_input_kg: Decimal
    upcoming: dict[str, list[tuple[date, Decimal, Decimal]]]  # status -> (expires_on, cum, credit), FIFO order


def _row(kind, day, participant, system, *quantities):
    cells = [literal(kind, sa.String()).label("kind"), day.label("day"), participant.label("participant"),
             system.label("system")]
    padded = list(quantities) + [null()] * (_N - len(quantities))
    # raw integers (thousandths): only the values used are converted (`_kg`), not 11 × 31 cells
    cells += [sa.type_coerce(q, sa.BigInteger()).label(f"n{i}") for i, q in enumerate(padded)]
    return cells


def _statement() -> sa.CompoundSelect:
    """The statement, with bind parameters ``account_id`` and ``on``. Built once: building it
    costs more than running it (~9 ms of Python against ~0.4 ms of SQLite)."""
    account_id = sa.bindparam("account_id", type_=sa.Integer())
    on = sa.bindparam("on", type_=sa.Date())
    due = (select(R.cum_pc_kg.label("pc"), R.cum_pi_kg.label("pi"), R.cum_r_kg.label("r"))
           .where(R.account_id == account_id, R.expires_on <= on)
           .order_by(R.expires_on.desc(), R.seq.desc()).limit(1).subquery("due"))
    base = (select(A.participant_id, A.control_system, A.last_on, A.batch_certified_kg, A.batch_input_kg,
                   *[getattr(A, f"credited_{_LOWER[s]}_kg").label(f"credited_{s}") for s in STATUSES],
                   *[getattr(A, f"drawn_{_LOWER[s]}_kg").label(f"drawn_{s}") for s in STATUSES],
                   *[func.coalesce(due.c[_LOWER[s]], 0).label(f"due_{s}") for s in STATUSES])
            .select_from(A).outerjoin(due, sa.true()).where(A.id == account_id).cte("base"))
    parts = [select(*_row("A", base.c.last_on, base.c.participant_id, base.c.control_system,
                          *[base.c[f"{k}_{s}"] for k in ("credited", "drawn", "due") for s in STATUSES],
                          base.c.batch_certified_kg, base.c.batch_input_kg))]
    for s in STATUSES:
        cum = getattr(R, f"cum_{_LOWER[s]}_kg")
        part = getattr(R, f"credit_{_LOWER[s]}_kg")
        start = select(case((base.c[f"drawn_{s}"] > base.c[f"due_{s}"], base.c[f"drawn_{s}"]),
                            else_=base.c[f"due_{s}"])).scalar_subquery()
        nxt = (select(R.expires_on, cum.label("cum"), part.label("part"))
               .where(R.account_id == account_id, cum > start)
               .order_by(cum, R.seq).limit(UPCOMING).subquery(f"next_{s.lower()}"))
        parts.append(select(*_row(s, nxt.c.expires_on, null(), null(), nxt.c.cum, nxt.c.part)))
    return union_all(*parts)


_STATEMENT: sa.CompoundSelect | None = None


def statement() -> sa.CompoundSelect:
    global _STATEMENT
    if _STATEMENT is None:
        _STATEMENT = _statement()
    return _STATEMENT


def read(session, account_id: int, on: date) -> Book | None:
    """The account's book on ``on`` in one statement; None when there is no such account."""
    rows = session.connection().execute(statement(), {"account_id": account_id, "on": on}).all()  # Core: no ORM layer
    head = None
    raw: dict[str, list] = {s: [] for s in STATUSES}
    for kind, day, participant, system, *n in rows:  # one pass; only the values used are converted
        if kind == "A":
            head = (day, participant, system, n)
        else:
            raw[kind].append((n[0], day, n[1]))
    if head is None:
        return None
    day, participant, system, n = head
    q = [_kg(v) for v in n]
    return Book(participant_id=participant, control_system=system, last_on=_day(day),
                credited=dict(zip(STATUSES, q[0:3], strict=True)), drawn=dict(zip(STATUSES, q[3:6], strict=True)),
                due=dict(zip(STATUSES, q[6:9], strict=True)), batch_certified_kg=q[9], batch_input_kg=q[10],
                upcoming={s: [(_day(d), _kg(c), _kg(p)) for c, d, p in sorted(items, key=lambda item: item[0])]
                          for s, items in raw.items()})


def _kg(value) -> Decimal:
    """Thousandths (``Milli``'s stored integer) as kilograms with 3 places: the same value
    ``Milli`` reads, without a type's result processing per cell."""
    return Decimal(int(value)).scaleb(-3)


def _day(value) -> date | None:
    """SQLite hands a union's date column back as text."""
    return date.fromisoformat(value) if isinstance(value, str) else value
