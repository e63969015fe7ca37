"""Custody credit about to expire (R-M4, R-N1): a daily job tells an account's
holder, with a ``custody.credit_expiring`` event, of the credit that expires
within the next 30 days unless an output or a generation draws it first.

Once per account and expiry date: the event's ``once_key``
(``custody-credit:<account>:<first day>``) names the first day credit
expires. When that credit has expired or been drawn, the next expiry date is
a new notice; a day with nothing new sends nothing. One statement per
account (``balance_sql``, no locks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import select

from registry.custody import balance_sql
from registry.custody.models import CustodyAccount
from registry.custody.periods import upcoming_expiries
from registry.db import UnitOfWork
from registry.notifications.events import CUSTODY_CREDIT_EXPIRING, emit

NOTICE_DAYS = 30


@dataclass(frozen=True)
class Expiring:
    """An account's credit that expires within ``NOTICE_DAYS`` unless drawn first: (day, kg), in date order."""

    account_id: int
    participant_id: int
    product_group: str
    days: list[tuple[date, Decimal]]

    @property
    def kg(self) -> Decimal:
        return sum((kg for _, kg in self.days), Decimal(0))


def expiring_soon(uow: UnitOfWork, participant_id: int | None = None) -> list[Expiring]:
    """R-M4: each account's credit expiring within ``NOTICE_DAYS`` of today (of one participant, or
    all): the daily notice and the workspace's "needs attention" list read the same. No locks."""
    today = uow.clock.today()
    horizon = today + timedelta(days=NOTICE_DAYS)
    query = select(CustodyAccount.id, CustodyAccount.participant_id, CustodyAccount.product_group)
    if participant_id is not None:
        query = query.where(CustodyAccount.participant_id == participant_id)
    out = []
    for account_id, owner_id, product_group in uow.session.exec(query.order_by(CustodyAccount.id)).all():
        book = balance_sql.read(uow.session, account_id, today)
        soon = [(day, kg) for day, kg in upcoming_expiries(book) if day <= horizon] if book else []
        if soon:
            out.append(Expiring(account_id, owner_id, product_group, soon))
    return out


def run_credit_reminders(uow: UnitOfWork) -> dict:
    sent = 0
    for found in expiring_soon(uow):
        event = emit(uow, found.participant_id, CUSTODY_CREDIT_EXPIRING, {
            "account_id": found.account_id, "product_group": found.product_group, "days": NOTICE_DAYS,
            "kg": format(found.kg, "f"),
            "expiring": [{"on": day.isoformat(), "kg": format(kg, "f")} for day, kg in found.days]},
            once_key=f"custody-credit:{found.account_id}:{found.days[0][0].isoformat()}")
        sent += event is not None
    return {"reminded": sent}
