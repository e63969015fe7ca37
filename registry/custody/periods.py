"""A custody account's balance, credit expiry and periods (R-M3–R-M5, R-M8): the
balance on a day (one statement, ``balance_sql``), the daily expiry job, the
rolling-average window, and closing a period into its volume summary (one log
entry). Reads take no locks; writes lock as ``book._writable`` does (R-X5)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import select

from registry import scope
from registry.actors import Actor
from registry.custody import balance_sql, credit, rules
from registry.custody.book import _LOWER, _check_day, _expire, _kg, _last_due, _total, _writable, get_account, sums
from registry.custody.models import CustodyAccount, CustodyClosing, CustodyOutput, CustodyPeriod, CustodyReceipt
from registry.custody.rules import STATUSES, ZERO
from registry.db import UnitOfWork, get_for_update
from registry.errors import Conflict, InvalidInput, NotFound, RuleViolation
from registry.journal import record
from registry.lockorder import note_rows_locked


def _window(uow: UnitOfWork, account: CustodyAccount, first: int, last: int) -> list[CustodyPeriod]:
    return list(uow.session.exec(select(CustodyPeriod).where(CustodyPeriod.account_id == account.id,
                                                             CustodyPeriod.n >= first, CustodyPeriod.n <= last)))


def rolling_sites(uow: UnitOfWork, account: CustodyAccount, n: int) -> dict[int, tuple[Decimal, Decimal]]:
    """Per site, (certified, total) input over the window of periods ending with ``n`` (R-M3)."""
    first = n - account.window_periods + 1
    return rules.window_sites(({"n": r.n, "facility_id": r.facility_id, "certified_kg": r.certified_kg,
                                "input_kg": r.input_kg} for r in _window(uow, account, first, n)), first, n)


# --- Balance, expiry, periods (R-M4, R-M5) -----------------------------------------------------------

def upcoming_expiries(book: balance_sql.Book) -> list[tuple[date, Decimal]]:
    """R-M4: the next days credit expires unless drawn first, and how much (all statuses), in date
    order — of the next ten receipts per status holding credit (first in, first out)."""
    upcoming: dict[date, Decimal] = defaultdict(Decimal)
    for s in STATUSES:
        start = max(book.drawn[s], book.due[s])
        for expires_on, through, added in book.upcoming[s]:  # the next receipts in FIFO order
            upcoming[expires_on] += through - max(through - added, start)
    return sorted((day, kg) for day, kg in upcoming.items() if kg > 0)


def balance(uow: UnitOfWork, actor: Actor | None, account_id: int, on: date | None = None) -> dict:
    """R-M4: the credit on ``on`` (default today) after what has expired by then, the
    next expiries, and for rolling averages the average of the window ending then.
    One statement whatever the number of receipts (``balance_sql``; a rolling
    average reads its window's period rows too); no locks."""
    on = on or uow.clock.today()
    book = balance_sql.read(uow.session, account_id, on)
    if book is None or not scope.may_read(uow, actor, book.participant_id):
        raise NotFound(f"no custody account {account_id}", code="custody_account_not_found", rule="R-M8")
    if book.last_on is not None and on < book.last_on:
        raise RuleViolation(f"the balance is read on or after the account's last event ({book.last_on})",
                            field="on", code="balance_date_before_last_event", rule="R-M4")
    left = credit.balance(book.credited, book.drawn, book.due)
    out = {"account_id": account_id, "on": on, "credit_kg": _kg(left),
           "expiring": [{"on": day, "kg": format(kg, "f")} for day, kg in upcoming_expiries(book)[:10]]}
    if book.control_system == rules.ROLLING:
        account = uow.session.get(CustodyAccount, account_id)
        sites = rolling_sites(uow, account, rules.period_of(account.starts_on, account.period_months, on))
        c = sum((v[0] for v in sites.values()), Decimal(0))
        t = sum((v[1] for v in sites.values()), Decimal(0))
        out["rolling_average"] = rules.shown(rules.fraction(c, t))
    if book.control_system == rules.BATCH:
        out["batch_average"] = rules.shown(rules.fraction(book.batch_certified_kg, book.batch_input_kg))
    return out


def expire_credit(uow: UnitOfWork, actor: Actor, account_id: int, on: date) -> dict[str, Decimal]:
    """R-M4: write the expiry of credit due by ``on`` (also done before every event)."""
    account = _writable(uow, actor, account_id)
    _check_day(uow, account, on)
    gone = _expire(uow, actor, account, on)
    account.last_on = on
    uow.flush()
    return gone


def run_credit_expiry(uow: UnitOfWork, actor: Actor, *, limit: int | None = None) -> dict:
    """R-M4, the daily job (registry.jobs): log the expiry of credit that came due
    and was never drawn, in up to ``limit`` accounts — one ``custody.credit_expired``
    entry each, dated the day the credit expired (the last due receipt's expiry
    date; a catch-up after downtime dates it the same). One indexed read per
    account finds whether any is due; only those are locked and written. Like
    block expiry (R-E2) it is bookkeeping: every event already expires what is
    due before it is recorded, and a balance read never counts expired credit."""
    today = uow.clock.today()
    done = 0
    for account_id in uow.session.exec(select(CustodyAccount.id).order_by(CustodyAccount.id)).all():
        if limit is not None and done >= limit:
            break
        last, due = _last_due(uow, account_id, today)
        account = uow.session.get(CustodyAccount, account_id)
        if last is None or not _total(credit.expiring(due, sums(account, "drawn"))) > 0:
            continue
        # the day it expired: that of the first receipt through which the due credit was received
        day = uow.session.exec(select(CustodyReceipt.expires_on).where(
            CustodyReceipt.account_id == account_id, CustodyReceipt.cum_pc_kg == due["PC"],
            CustodyReceipt.cum_pi_kg == due["PI"], CustodyReceipt.cum_r_kg == due["R"])
            .order_by(CustodyReceipt.seq).limit(1)).first()
        account = get_for_update(uow.session, CustodyAccount, account_id)  # accounts are locked like blocks
        note_rows_locked(uow)
        if _total(_expire(uow, actor, account, day)) > 0:  # re-read under the lock: none if an event beat us
            account.last_on = max(account.last_on or day, day)  # the book is kept in date order
            done += 1
    uow.flush()
    return {"credit_expired": done}


def close_period(uow: UnitOfWork, actor: Actor, account_id: int, n: int) -> CustodyClosing:
    """R-M5: after its end, a period's volume summary — opening balance, inputs by
    supplier and status, outputs by customer and claim, losses, expired credit,
    closing balance, and the recalculated average — as one log entry. Periods close
    in order; a closed period never changes."""
    account = _writable(uow, actor, account_id)
    if n < 1:
        raise InvalidInput("periods are numbered from 1", field="n", code="out_of_range", rule="R-M5")
    if n <= account.closed_periods:
        raise Conflict(f"period {n} is already closed", field="n", code="period_closed", rule="R-M5")
    if n != account.closed_periods + 1:
        raise RuleViolation(f"period {account.closed_periods + 1} closes first", field="n",
                            code="period_out_of_order", rule="R-M5")
    first, last = rules.period_bounds(account.starts_on, account.period_months, n)
    if uow.clock.today() <= last:
        raise RuleViolation(f"period {n} runs until {last}: it closes only after its end", field="n",
                            code="period_not_ended", rule="R-M5")
    if account.last_on is None or account.last_on <= last:
        _expire(uow, actor, account, last)
    uow.flush()
    summary = _summary(uow, account, n, first, last)
    closing = CustodyClosing(account_id=account.id, n=n, summary=summary, created_at=uow.clock.now())
    account.closed_periods = n
    uow.session.add(closing)
    ref = record(uow, "custody.period_closed", actor, {"account": account.id, **summary})
    closing.log_index, closing.leaf_hash = ref.index, ref.leaf_hash
    uow.flush()
    return closing


def _summary(uow: UnitOfWork, account: CustodyAccount, n: int, first: date, last: date) -> dict:
    rows = _window(uow, account, n, n)
    total = {k: sum((getattr(r, k) for r in rows), ZERO) for k in
             ("input_kg", "certified_kg", "credit_kg", "output_kg", "claimed_kg", "drawn_kg", "expired_kg")}
    previous = uow.session.get(CustodyClosing, (account.id, n - 1)) if n > 1 else None
    opening = Decimal(previous.summary["closing_kg"]) if previous else ZERO
    # Grouped in SQL: one row per supplier and per customer, however many movements the period holds.
    R, O = CustodyReceipt, CustodyOutput
    certified = R.claim.is_not(None)
    by_supplier: dict[tuple, dict[str, Decimal]] = defaultdict(rules.zeros)
    uncertified: dict[str, Decimal] = defaultdict(Decimal)
    for name, cert, is_certified, mass, *kg in uow.session.exec(
            select(R.supplier_name, R.supplier_certificate, certified, func.sum(R.mass_kg),
                   *[func.sum(getattr(R, f"certified_{_LOWER[s]}_kg")) for s in STATUSES])
            .where(R.account_id == account.id, R.on >= first, R.on <= last)
            .group_by(R.supplier_name, R.supplier_certificate, certified)):
        if not is_certified:
            uncertified[name] += mass
        else:
            by_supplier[(name, cert)] = {s: by_supplier[(name, cert)][s] + v for s, v in zip(STATUSES, kg, strict=True)}
    by_customer: dict[tuple, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for customer, claim, mass, *kg in uow.session.exec(
            select(O.customer, O.claim, func.sum(O.mass_kg), *[func.sum(getattr(O, f"claimed_{_LOWER[s]}_kg"))
                                                              for s in STATUSES])
            .where(O.account_id == account.id, O.on >= first, O.on <= last).group_by(O.customer, O.claim)):
        by_customer[(customer, claim)][0] += mass
        by_customer[(customer, claim)][1] += sum(kg, ZERO)
    inputs, outputs = rules.summary_breakdowns(by_supplier, uncertified, by_customer)
    summary = {
        "n": n, "starts_on": first.isoformat(), "ends_on": last.isoformat(),
        "opening_kg": format(opening, "f"), "inputs_kg": format(total["input_kg"], "f"),
        "certified_inputs_kg": format(total["certified_kg"], "f"), "outputs_kg": format(total["output_kg"], "f"),
        "claimed_kg": format(total["claimed_kg"], "f"),
        "losses_kg": format(total["certified_kg"] - total["credit_kg"]
                            if account.control_system == rules.MASS_BALANCE else ZERO, "f"),
        "expired_kg": format(total["expired_kg"], "f"),
        "closing_kg": format(opening + total["credit_kg"] - total["drawn_kg"] - total["expired_kg"], "f"),
        "inputs_by_supplier": inputs, "outputs_by_customer": outputs,
        "average": rules.summary_average(account.control_system, rolling_sites(uow, account, n)
                                         if account.control_system == rules.ROLLING else {},
                                         total["certified_kg"], total["input_kg"]),
    }
    return summary


def closed_periods(uow: UnitOfWork, actor: Actor | None, account_id: int, *,
                   ends_from: date | None = None) -> list[CustodyClosing]:
    """R-M5, R-M8: an account's closed periods' volume summaries, in period order, for
    whoever reads the account (``get_account``); with ``ends_from``, those whose last day
    is on or after it — an audit's window is ``rules.audit_window_start(today)``."""
    account = get_account(uow, actor, account_id)
    first = 1
    if ends_from is not None:  # periods are consecutive: the first one ending on or after the day
        while first <= account.closed_periods and rules.period_bounds(
                account.starts_on, account.period_months, first)[1] < ends_from:
            first += 1
    return list(uow.session.exec(select(CustodyClosing).where(CustodyClosing.account_id == account.id,
                                                              CustodyClosing.n >= first)
                                 .order_by(CustodyClosing.n)))


def get_period(uow: UnitOfWork, actor: Actor | None, account_id: int, n: int) -> CustodyClosing:
    """R-M5, R-M8: a closed period's volume summary."""
    account = get_account(uow, actor, account_id)
    closing = uow.session.get(CustodyClosing, (account.id, n))
    if closing is None:
        raise NotFound(f"period {n} of account {account_id} is not closed", code="period_not_closed", rule="R-M5")
    return closing
