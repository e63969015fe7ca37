"""A retirement's claim location and claim period (R-R6).

A holder retiring on behalf of a beneficiary that is not a participant (a
reseller retiring for its customer) records where the claim is made — an
ISO 3166-1 country and optionally an ISO 3166-2 subdivision of it — and the
period it covers (from, to). Both are claim details: shown on the statement,
logged in the retirement's entry, amendable within 30 days (R-R7).

The log carries them as ``claim.location = {"country", "subdivision"}`` and
``claim.period = {"from", "to"}`` (ISO dates), and only when stated, so
entries written before R-R6 keep their shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from registry.countries import parse_country
from registry.errors import InvalidInput, RuleViolation

# ISO 3166-2: the country's alpha-2 code, a hyphen, 1 to 3 letters or digits (e.g. DE-BY, US-CA, FR-75C).
_SUBDIVISION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")
# The longest claim period a retirement may state: a reporting year's claim covers at most
# two calendar years (a fiscal year straddling two); longer is a typo (decisions.md, R-R6).
MAX_PERIOD_DAYS = 731


@dataclass(frozen=True)
class Location:
    country: str
    subdivision: str | None = None

    def to_json(self) -> dict:
        return {"country": self.country, "subdivision": self.subdivision}


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def to_json(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def _date(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} is an ISO date (YYYY-MM-DD)", field=field, code="invalid_date",
                           rule="R-R6") from None


def parse_location(raw: Location | Mapping | None, field: str = "location") -> Location | None:
    """R-R6: an ISO 3166-1 alpha-2 country and an optional ISO 3166-2
    subdivision of that country (its code starts with the country's)."""
    if raw is None or isinstance(raw, Location):
        return raw
    if not isinstance(raw, Mapping):
        raise InvalidInput("location is {country, subdivision?}", field=field, code="invalid_location",
                           rule="R-R6")
    country = parse_country(raw.get("country") or "", field=f"{field}.country")
    subdivision = raw.get("subdivision")
    if subdivision is not None:
        subdivision = subdivision.strip().upper() if isinstance(subdivision, str) else subdivision
        if not isinstance(subdivision, str) or not _SUBDIVISION.fullmatch(subdivision):
            raise InvalidInput(f"{subdivision!r} is not an ISO 3166-2 subdivision code (e.g. DE-BY)",
                               field=f"{field}.subdivision", code="invalid_subdivision", rule="R-R6")
        if subdivision[:2] != country:
            raise InvalidInput(f"the subdivision {subdivision} is not in {country}",
                               field=f"{field}.subdivision", code="subdivision_not_in_country", rule="R-R6")
    return Location(country, subdivision)


def parse_period(raw: Period | Mapping | None, field: str = "period") -> Period | None:
    """R-R6: the claim period, ``from`` on or before ``to``, both required,
    at most `MAX_PERIOD_DAYS` long."""
    if raw is None or isinstance(raw, Period):
        return raw
    if not isinstance(raw, Mapping) or raw.get("from") is None or raw.get("to") is None:
        raise InvalidInput("period is {from, to}, both ISO dates", field=field, code="invalid_period",
                           rule="R-R6")
    start, end = _date(raw["from"], f"{field}.from"), _date(raw["to"], f"{field}.to")
    if end < start:
        raise RuleViolation(f"the claim period ends ({end}) before it starts ({start})", field=f"{field}.to",
                            code="period_reversed", rule="R-R6")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise RuleViolation(f"a claim period is at most {MAX_PERIOD_DAYS} days, not {(end - start).days + 1}",
                            field=f"{field}.to", code="period_too_long", rule="R-R6")
    return Period(start, end)


def location_columns(location: Location | None) -> dict:
    """The retirement row's columns of a location."""
    return {"location_country": location.country if location else None,
            "location_subdivision": location.subdivision if location else None}


def period_columns(period: Period | None) -> dict:
    return {"period_from": period.start if period else None, "period_to": period.end if period else None}


def location_of(row: Any) -> dict | None:
    """A retirement row's location as the API and the log show it."""
    if row.location_country is None:
        return None
    return {"country": row.location_country, "subdivision": row.location_subdivision}


def period_of(row: Any) -> dict | None:
    if row.period_from is None:
        return None
    return {"from": row.period_from.isoformat(), "to": row.period_to.isoformat()}
