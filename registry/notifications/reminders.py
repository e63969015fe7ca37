"""Use-period reminders (R-N1): 30 and 7 days before a block's use period
ends (31 December of the generation year + 1, R-E1), each holder is told once
per vintage and threshold — a daily job (R-E2's scheduler: once a day across
processes, caught up at start-up).

Once each: the event's ``once_key`` (``use-period:<end>:<days>``) is unique per
participant. After downtime the job sends the threshold that applies now
(at 5 days left only the 7-day one; the missed 30-day one would say less).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlmodel import select

from registry.db import UnitOfWork
from registry.models import Block
from registry.notifications.events import BLOCK_EXPIRING, emit
from registry.use_period import use_period_end

THRESHOLDS = (7, 30)  # days before the end, smallest first


def threshold(days_left: int) -> int | None:
    """The reminder due with ``days_left`` days to the end (0: the last day), or None."""
    if days_left < 0:
        return None
    return next((t for t in THRESHOLDS if days_left <= t), None)


def run_reminders(uow: UnitOfWork) -> dict:
    today = uow.clock.today()
    years = [y for y in (today.year - 1, today.year) if 1 <= y <= 9997
             and threshold((use_period_end(y) - today).days) is not None]
    if not years:
        return {"reminded": 0}
    rows = uow.session.exec(select(Block.owner_id, Block.generation_year, Block.arc_type, Block.quantity).where(
        Block.state == "active", Block.generation_year.in_(years)))
    totals: dict[tuple[int, int], dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [0, Decimal(0)]))
    for owner_id, year, arc_type, quantity in rows:
        line = totals[(owner_id, year)][arc_type]
        line[0] += 1
        line[1] += quantity
    sent = 0
    for (owner_id, year), by_type in sorted(totals.items()):
        end = use_period_end(year)
        days = threshold((end - today).days)
        event = emit(uow, owner_id, BLOCK_EXPIRING, {
            "generation_year": year, "use_period_end": end.isoformat(), "days_before": days,
            "days_left": (end - today).days,
            "holdings": [{"arc_type": t, "blocks": n, "quantity": format(q, "f")}
                         for t, (n, q) in sorted(by_type.items())]},
            once_key=f"use-period:{end.isoformat()}:{days}")
        sent += event is not None
    return {"reminded": sent}


def reminder_days(today: date, generation_year: int) -> int | None:
    """Which reminder a block of ``generation_year`` is due for on ``today`` (for pages and tests)."""
    return threshold((use_period_end(generation_year) - today).days)
