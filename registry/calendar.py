"""Calendar arithmetic for the business dates' rules (R-U5)."""

from __future__ import annotations

from datetime import date


def one_year_after(day: date) -> date:
    """The same day one year later; 29 February's anniversary is 28 February
    (SPEC R-G1's calendar rule: processed on 2024-02-29 → last day 2025-02-28)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
