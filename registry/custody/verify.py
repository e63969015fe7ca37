"""R-L7b, R-M7: the live custody accounts against the replayed log. Each
account's running sums (credit received and credit drawn or expired, per
status) and its batch columns (RMS 6.4.3.3) are exactly what its
``custody.*`` entries add up to (`registry.replay.custody_events`); so is
every ``custody_period`` row, all its kilogram columns (R-M3, R-M5: the rolling
average, the batch check and the period summaries read them;
`registry.replay.custody_periods`). A row no entry explains, a row the log
made that is missing, or a value that differs is ``state_drift`` naming table,
key and column."""

from __future__ import annotations

from sqlmodel import Session, select

from chainlog.errors import VerificationError
from registry.custody.models import CustodyAccount, CustodyPeriod
from registry.custody.rules import BATCH_KG, PERIOD_KG, STATUSES
from registry.replay.custody_events import books
from registry.replay.custody_periods import sorted_rows
from registry.replay.state import State

_LOWER = {"PC": "pc", "PI": "pi", "R": "r"}


def _drift(key, column: str, expected, found, table: str = "custody account") -> VerificationError:
    return VerificationError(f"{table} {key!r}: {column} expected {expected!r} (replayed from the log), "
                             f"found {found!r}", kind="state_drift", index=None)


def compare_accounts(session: Session, state: State) -> None:
    """Raise ``state_drift`` at the first account (by id) that differs from the replay."""
    replayed = books(state)
    seen = set()
    for account in session.exec(select(CustodyAccount).order_by(CustodyAccount.id)):
        book = replayed.get(account.id)
        if book is None:
            raise _drift(account.id, "id", "no such custody account: no log entry opened it", account.id)
        seen.add(account.id)
        for prefix in ("credited", "drawn"):
            for s in STATUSES:
                column = f"{prefix}_{_LOWER[s]}_kg"
                if getattr(account, column) != book[prefix][s]:
                    raise _drift(account.id, column, book[prefix][s], getattr(account, column))
        batch = book["batch"]  # R-M3 (RMS 6.4.3.3): the batch check reads these
        for key in ("open", *BATCH_KG):
            if getattr(account, f"batch_{key}") != batch[key]:
                raise _drift(account.id, f"batch_{key}", batch[key], getattr(account, f"batch_{key}"))
    missing = sorted(set(replayed) - seen)
    if missing:
        raise _drift(missing[0], "row", "present (opened by the log)", "missing")


def compare_periods(session: Session, state: State) -> list[VerificationError]:
    """R-L7b, R-M3, R-M5: every ``custody_period`` row against the replayed one, a merge
    join in (account, n, facility) order — the live rows streamed, the replayed ones from
    the replay's scratch table. Returns every difference."""
    drift: list[VerificationError] = []
    replayed = sorted_rows(state)
    expected = next(replayed, None)
    live = session.exec(select(CustodyPeriod).order_by(CustodyPeriod.account_id, CustodyPeriod.n,
                                                      CustodyPeriod.facility_id).execution_options(yield_per=1000))
    for row in live:
        key = (row.account_id, row.n, row.facility_id)
        while expected is not None and expected[0] < key:
            drift.append(_drift(expected[0], "row", "present (made by the log)", "missing", "custody_period"))
            expected = next(replayed, None)
        if expected is None or expected[0] != key:
            drift.append(_drift(key, "row", "no such period row: no log entry explains it", "present",
                                "custody_period"))
            continue
        for column in PERIOD_KG:
            if getattr(row, column) != expected[1][column]:
                drift.append(_drift(key, column, expected[1][column], getattr(row, column), "custody_period"))
        expected = next(replayed, None)
    while expected is not None:
        drift.append(_drift(expected[0], "row", "present (made by the log)", "missing", "custody_period"))
        expected = next(replayed, None)
    return drift
