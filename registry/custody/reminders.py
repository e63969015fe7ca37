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

from datetime import timedelta

from sqlmodel import select

from registry.custody import balance_sql
from registry.custody.models import CustodyAccount
from registry.custody.services import upcoming_expiries
from registry.db import UnitOfWork
from registry.notifications.events import CUSTODY_CREDIT_EXPIRING, emit

NOTICE_DAYS = 30


def run_credit_reminders(uow: UnitOfWork) -> dict:
    today = uow.clock.today()
    horizon = today + timedelta(days=NOTICE_DAYS)
    sent = 0
    accounts = uow.session.exec(select(CustodyAccount.id, CustodyAccount.participant_id,
                                       CustodyAccount.product_group).order_by(CustodyAccount.id))
    for account_id, participant_id, product_group in accounts.all():
        book = balance_sql.read(uow.session, account_id, today)
        soon = [(day, kg) for day, kg in upcoming_expiries(book) if day <= horizon] if book else []
        if not soon:
            continue
        event = emit(uow, participant_id, CUSTODY_CREDIT_EXPIRING, {
            "account_id": account_id, "product_group": product_group, "days": NOTICE_DAYS,
            "kg": format(sum(kg for _, kg in soon), "f"),
            "expiring": [{"on": day.isoformat(), "kg": format(kg, "f")} for day, kg in soon]},
            once_key=f"custody-credit:{account_id}:{soon[0][0].isoformat()}")
        sent += event is not None
    return {"reminded": sent}
