"""Pure rules of offers (R-T6), used by the services and by replay."""

from __future__ import annotations

from datetime import date, timedelta

from registry.errors import Conflict, InvalidInput
from registry.use_period import use_period_end

AUTOMATIC, REVIEW = "automatic", "review"
SETTINGS = (AUTOMATIC, REVIEW)
PENDING = "pending"
STATES = (PENDING, "accepted", "rejected", "withdrawn", "lapsed")
MAX_DAYS = 30  # R-T6: an offer stands at most 30 days
# The entry that closes an offer, by its outcome, and who may act.
OUTCOMES = {"accept": "accepted", "reject": "rejected", "withdraw": "withdrawn", "lapse": "lapsed"}
CLOSING = {f"block.offer_{state}": state for state in OUTCOMES.values()}


def check_setting(value: object) -> str:
    if value not in SETTINGS:
        raise InvalidInput(f"incoming_transfers is one of {', '.join(SETTINGS)}", field="incoming_transfers",
                           code="invalid_choice", rule="R-T6")
    return value


def latest_lapse_date(today: date, generation_year: int) -> date:
    """R-T6: at most 30 days, and never past the block's use period (R-E1)."""
    return min(today + timedelta(days=MAX_DAYS), use_period_end(generation_year))


def lapse_date(today: date, generation_year: int, asked: date | None) -> date:
    """The offer's lapse date: the last day it may be accepted. By default
    the latest allowed; an asked date must lie between today and it."""
    latest = latest_lapse_date(today, generation_year)
    if asked is None:
        return latest
    if not today <= asked <= latest:
        raise InvalidInput(f"lapses_on must be between {today} and {latest} (at most {MAX_DAYS} days, and within "
                           "the block's use period)", field="lapses_on", code="invalid_lapse_date", rule="R-T6")
    return asked


def require_acceptable(today: date, lapses_on: date) -> None:
    """An offer may be accepted up to and including its lapse date; after
    it, it is lapsed whether or not the daily job has run yet (R-E2:
    correctness never waits for the scheduler)."""
    if today > lapses_on:
        raise Conflict(f"the offer lapsed at the end of {lapses_on}", code="offer_lapsed", rule="R-T6")


def is_due(today: date, lapses_on: date) -> bool:
    """The lapse job returns an offer on the first day after its lapse date."""
    return today > lapses_on


def require_pending(state: str) -> None:
    """An offer is closed once: accepted, rejected, withdrawn or lapsed."""
    if state != PENDING:
        code = "offer_already_accepted" if state == "accepted" else f"offer_{state}"
        raise Conflict(f"the offer is {state}; only a pending offer can be accepted, rejected or withdrawn",
                       code=code, rule="R-T6")
