"""R-L7, R-M7: the live custody accounts against the replayed log. Each
account's running sums (credit received and credit drawn or expired, per
status) are exactly what its ``custody.*`` entries add up to
(`registry.replay.custody_events`); a row no entry opened, an opened account
that is missing, or a sum that differs is ``state_drift``."""

from __future__ import annotations

from sqlmodel import Session, select

from chainlog.errors import VerificationError
from registry.custody.models import CustodyAccount
from registry.custody.rules import STATUSES
from registry.replay.custody_events import books
from registry.replay.state import State

_LOWER = {"PC": "pc", "PI": "pi", "R": "r"}


def _drift(key, column: str, expected, found) -> VerificationError:
    return VerificationError(f"custody account {key!r}: {column} expected {expected!r} (replayed from the log), "
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
    missing = sorted(set(replayed) - seen)
    if missing:
        raise _drift(missing[0], "row", "present (opened by the log)", "missing")
