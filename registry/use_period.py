"""The use period of a certificate (R-E1, RMS 8.8.4.1, 8.7.4).

RMS 8.8.4.1: "ARCs must be retired within the generation year or subsequent
calendar year. For example, if an ARC is generated in 2021 it must be retired
by the end of calendar year 2022." The period ends at the end of 31 December
of Y + 1, UTC; from 00:00 UTC on 1 January of Y + 2 the certificate is expired.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from registry.errors import RuleViolation


def _check_year(generation_year: int) -> int:
    if isinstance(generation_year, bool) or not isinstance(generation_year, int) or not 1 <= generation_year <= 9997:
        raise ValueError(f"generation_year must be a calendar year, got {generation_year!r}")
    return generation_year


def use_period_start(generation_year: int) -> date:
    """The first day a certificate of that generation year can exist (R-G3)."""
    return date(_check_year(generation_year), 1, 1)


def use_period_end(generation_year: int) -> date:
    """The last day of the use period: 31 December of Y + 1 (R-E1)."""
    return date(_check_year(generation_year) + 1, 12, 31)


def expires_at(generation_year: int) -> datetime:
    """The instant the use period is over: 1 January of Y + 2, 00:00 UTC.
    The period is [start, expires_at): end of day 31 December is inside it."""
    return datetime(_check_year(generation_year) + 2, 1, 1, tzinfo=UTC)


def in_use_period(generation_year: int, today: date) -> bool:
    """True when a block generated in ``generation_year`` may still be
    transferred or retired on the business date ``today`` (R-E1, R-T3)."""
    if isinstance(today, datetime):
        return in_use_period_at(generation_year, today)
    return use_period_start(generation_year) <= today <= use_period_end(generation_year)


def in_use_period_at(generation_year: int, instant: datetime) -> bool:
    """The same test for a UTC instant (R-U5); naive datetimes are refused."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: every timestamp is UTC (R-U5)")
    start = datetime(use_period_start(generation_year).year, 1, 1, tzinfo=UTC)
    return start <= instant < expires_at(generation_year)


def require_in_use_period(generation_year: int, today: date) -> None:
    """Refuse moving or retiring a block outside its use period, even before
    the expiry job has run (R-E2, R-T3): RuleViolation ``outside_use_period``."""
    if not in_use_period(generation_year, today):
        raise RuleViolation(
            f"certificates generated in {generation_year} could be transferred or retired only until "
            f"{use_period_end(generation_year)} (RMS 8.8.4.1); today is {today}",
            code="outside_use_period",
            rule="R-E1",
        )


def require_past_use_period(generation_year: int, today: date) -> None:
    """A block expires only once its use period is over (R-E1, RMS 8.7.4): on
    ``today``, a block generated in ``generation_year`` that is still inside it
    cannot be expired. RuleViolation ``inside_use_period``."""
    if today <= use_period_end(generation_year):
        raise RuleViolation(
            f"certificates generated in {generation_year} are in use until {use_period_end(generation_year)} "
            f"(RMS 8.8.4.1): they cannot expire on {today}",
            code="inside_use_period",
            rule="R-E1",
        )
