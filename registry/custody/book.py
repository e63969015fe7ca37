"""A custody account's book (R-M1–R-M5, R-M8): reading an account, locking it for a
write in the one lock order (R-X5), the day and period checks every event passes,
the account's per-period rows, and the expiry of credit that every event writes
first (R-M4). Shared by the services (``services``: open, inputs, outputs),
the periods (``periods``: balance, expiry, close) and custody lots (``lots``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import select

from registry import scope
from registry.actors import Actor, require_acts_for
from registry.custody import credit, rules
from registry.custody.models import CustodyAccount, CustodyPeriod, CustodyReceipt
from registry.custody.rules import STATUSES, ZERO
from registry.db import UnitOfWork, get_for_update
from registry.errors import InvalidInput, NotFound, RuleViolation
from registry.journal import record
from registry.lockorder import note_rows_locked


_LOWER = {"PC": "pc", "PI": "pi", "R": "r"}


def sums(row, prefix: str) -> dict[str, Decimal]:
    """``credited``/``drawn`` (account), ``cum``/``credit``/``certified`` (receipt) or ``claimed`` (output)."""
    return {s: getattr(row, f"{prefix}_{_LOWER[s]}_kg") for s in STATUSES}


def _set(row, prefix: str, values: dict[str, Decimal]) -> None:
    for s in STATUSES:
        setattr(row, f"{prefix}_{_LOWER[s]}_kg", values[s])


_kg = rules.kg_text  # kilograms by status as logged (R-U3)


def _total(values: dict[str, Decimal]) -> Decimal:
    return sum((values[s] for s in STATUSES), ZERO)


# --- Reading ---------------------------------------------------------------------------------------

def get_account(uow: UnitOfWork, actor: Actor | None, account_id: int) -> CustodyAccount:
    """R-M8: the participant's members, the certification body that certifies it, and
    administrators read an account; to anyone else it does not exist (R-X4)."""
    account = uow.session.get(CustodyAccount, account_id)
    if account is None or not scope.may_read(uow, actor, account.participant_id):
        raise NotFound(f"no custody account {account_id}", code="custody_account_not_found", rule="R-M8")
    return account


def _writable(uow: UnitOfWork, actor: Actor, account_id: int) -> CustodyAccount:
    """The account, locked for a write in the one lock order (R-X5): participant row
    (shared; a suspended participant records nothing, R-X10), then the account row."""
    participant_id = get_account(uow, actor, account_id).participant_id
    require_acts_for(actor, participant_id)
    scope.require_may_register(uow, participant_id)
    account = get_for_update(uow.session, CustodyAccount, account_id)
    note_rows_locked(uow)
    return account


def _check_day(uow: UnitOfWork, account: CustodyAccount, on: date, field: str = "on") -> int:
    """R-M5: events are dated from the account's start to today, in an open period,
    in date order (a correction is a new event, never a back-dated one). Returns
    the event's period."""
    if on > uow.clock.today():
        raise InvalidInput(f"{field} {on} is in the future", field=field, code="date_in_future", rule="R-M5")
    if on < account.starts_on:
        raise RuleViolation(f"the account starts on {account.starts_on}", field=field,
                            code="before_account_start", rule="R-M5")
    n = rules.period_of(account.starts_on, account.period_months, on)
    if n <= account.closed_periods:
        raise RuleViolation(f"{on} falls in period {n}, which is closed: closed periods never change; "
                            "record a correction in an open period", field=field, code="period_closed", rule="R-M5")
    if account.last_on is not None and on < account.last_on:
        raise RuleViolation(f"the account's book is kept in date order: its last event is dated "
                            f"{account.last_on}", field=field, code="out_of_order", rule="R-M5")
    return n


def _site(account: CustodyAccount, facility_id: int | None) -> int:
    if facility_id is None:
        if len(account.facility_ids) > 1:
            raise InvalidInput("a multi-site account needs the facility of each input and output",
                               field="facility_id", code="facility_required", rule="R-M5")
        return account.facility_ids[0]
    if facility_id not in account.facility_ids:
        raise RuleViolation(f"facility {facility_id} is not one of the account's sites", field="facility_id",
                            code="facility_not_in_account", rule="R-M1")
    return facility_id


def _period(uow: UnitOfWork, account: CustodyAccount, n: int, facility_id: int) -> CustodyPeriod:
    row = uow.session.get(CustodyPeriod, (account.id, n, facility_id))
    if row is None:
        row = CustodyPeriod(account_id=account.id, n=n, facility_id=facility_id, input_kg=ZERO, certified_kg=ZERO,
                            credit_kg=ZERO, output_kg=ZERO, claimed_kg=ZERO, drawn_kg=ZERO, expired_kg=ZERO)
        uow.session.add(row)
    return row


def _last_due(uow: UnitOfWork, account_id: int, day: date) -> tuple[date | None, dict[str, Decimal]]:
    """R-M4: the expiry date and cumulative credit of the last receipt expired on ``day`` —
    one indexed read (receipts are in date order, so their expiry dates are too)."""
    last = uow.session.execute(
        select(CustodyReceipt.expires_on, CustodyReceipt.cum_pc_kg, CustodyReceipt.cum_pi_kg,
               CustodyReceipt.cum_r_kg)
        .where(CustodyReceipt.account_id == account_id, CustodyReceipt.expires_on <= day)
        .order_by(CustodyReceipt.expires_on.desc(), CustodyReceipt.seq.desc()).limit(1)).first()
    return (None, rules.zeros()) if last is None else (last[0], dict(zip(STATUSES, last[1:], strict=True)))


def _due(uow: UnitOfWork, account: CustodyAccount, day: date) -> dict[str, Decimal]:
    """R-M4: the cumulative credit of the receipts expired on ``day``."""
    return _last_due(uow, account.id, day)[1]


def _expire(uow: UnitOfWork, actor: Actor, account: CustodyAccount, day: date) -> dict[str, Decimal]:
    """R-M4: credit not consumed within 12 months expires — a logged event
    (``custody.credit_expired``) before anything else is recorded on ``day``."""
    drawn = sums(account, "drawn")
    gone = credit.expiring(_due(uow, account, day), drawn)
    if _total(gone) > 0:
        _set(account, "drawn", {s: drawn[s] + gone[s] for s in STATUSES})
        n = rules.period_of(account.starts_on, account.period_months, day)
        row = _period(uow, account, n, account.facility_ids[0])
        row.expired_kg += _total(gone)
        record(uow, "custody.credit_expired", actor, {"account": account.id, "on": day.isoformat(),
                                                      "expired_kg": _kg(gone)})
    return gone
