"""Time for the registry's rules (R-U5).

Nothing in ``registry/`` reads the wall clock directly: services take a
``Clock`` so tests, demos and replays can pin "now". ``ARCREG_CLOCK`` freezes
the registry's clock (demos and tests only; /health announces it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime


class Clock:
    """The real clock: UTC, timezone-aware."""

    frozen = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


class FrozenClock(Clock):
    """A clock that always answers the same instant (may be moved by tests)."""

    frozen = True

    def __init__(self, instant: datetime) -> None:
        self.set(instant)

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            # R-U5: every timestamp is UTC; a naive instant is read as UTC.
            instant = instant.replace(tzinfo=UTC)
        self._instant = instant.astimezone(UTC)

    def now(self) -> datetime:
        return self._instant


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 date or date-time into an aware UTC datetime."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def clock_from_setting(setting: str | None) -> Clock:
    return FrozenClock(parse_instant(setting)) if setting else Clock()
