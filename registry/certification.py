"""RMS certificates: numbers, validity on a date, who may generate (R-C1, R-C3, R-P2)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from registry.errors import InvalidInput, RuleViolation

# RMS 6.6.3.1 writes "RMS-XXX-#####" (five) and "a six-digit number series";
# Example 6.9 has five (RMS-NSF-00234). SPEC §16: accept both.
_NUMBER = re.compile(r"RMS-(?P<body>[A-Z]{3})-(?P<serial>[0-9]{5,6})")


@dataclass(frozen=True)
class CertificateNumber:
    body: str  # the certification body's three letters
    serial: str  # the participant's number, zeros kept

    def __str__(self) -> str:
        return f"RMS-{self.body}-{self.serial}"


def parse_certificate_number(raw: Any, *, field: str = "number") -> CertificateNumber:
    """``RMS-XXX-NNNNN`` or ``RMS-XXX-NNNNNN`` (R-C1); anything else is an
    InvalidInput ``invalid_certificate_number``."""
    match = _NUMBER.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise InvalidInput(
            f"{field} {raw!r} is not an RMS certification number: the form is RMS-XXX-NNNNN, three capital "
            "letters for the certification body and five or six digits (RMS 6.6.3.1)",
            code="invalid_certificate_number",
            field=field,
            rule="R-C1",
        )
    return CertificateNumber(body=match["body"], serial=match["serial"])


def body_code(number: str) -> str:
    """The issuing body's code of a certification number (``RMS-NSF-00234`` -> ``NSF``)."""
    return parse_certificate_number(number).body


# --- Scope (R-C2, R-P2) ---------------------------------------------------------------

ACTIVITIES = ("sorting", "reprocessing", "converting", "trading")
FACILITY_SCOPES = ("single-site", "multi-site", "group")
CONTROL_SYSTEMS = ("segregation", "average-content", "mass-balance")


def check_scope(activities: Iterable[str], facility_scope: str, control_systems: Iterable[str]) -> None:
    """Certificate scope values are from the fixed lists of RMS 7.1.1 (R-C2).
    Raises InvalidInput ``invalid_scope`` naming the field."""
    activities, control_systems = list(activities), list(control_systems)
    if not activities:
        _bad_scope("activities", "at least one activity is required")
    lists = (("activities", activities, ACTIVITIES), ("control_systems", control_systems, CONTROL_SYSTEMS))
    for field, values, allowed in lists:
        for i, value in enumerate(values):
            if value not in allowed:
                _bad_scope(f"{field}[{i}]", f"must be one of {', '.join(allowed)}; got {value!r}")
    if facility_scope not in FACILITY_SCOPES:
        _bad_scope("facility_scope", f"must be one of {', '.join(FACILITY_SCOPES)}; got {facility_scope!r}")


def check_facilities(facility_scope: str, facilities: list[dict]) -> list[dict]:
    """The facilities a certificate covers, as the certificate lists them (R-C2):
    each a name, an address and a country; a single-site certificate covers at
    most one. Returns them trimmed, in the order given."""
    out = []
    for i, site in enumerate(facilities):
        name, address = (str(site.get(k, "")).strip() for k in ("name", "address"))
        for key, value in (("name", name), ("address", address)):
            if not value:
                raise InvalidInput(f"facilities[{i}].{key} is required", code="missing_field",
                                   field=f"facilities[{i}].{key}", rule="R-C2")
        out.append({"name": name, "address": address,
                    "country": check_country(site.get("country"), field=f"facilities[{i}].country")})
    if facility_scope == "single-site" and len(out) > 1:
        raise RuleViolation(f"a single-site certificate covers one facility, not {len(out)}",
                            code="too_many_facilities", field="facilities", rule="R-C2")
    return out


def _bad_scope(field: str, detail: str) -> None:
    raise InvalidInput(f"{field} {detail}", code="invalid_scope", field=field, rule="R-C2")


def require_reprocessing(activities: Iterable[str]) -> None:
    """RMS 8.1.5, 8.3.1: only a certified reprocessor generates ARCs (R-P2).
    Raises RuleViolation ``scope_excludes_reprocessing``."""
    if "reprocessing" not in set(activities):
        raise RuleViolation(
            "the RMS certificate's scope does not include reprocessing, which generating ARCs requires (RMS 8.1.5)",
            code="scope_excludes_reprocessing",
            rule="R-P2",
        )


# RMS 1.3.1: "Entities located in North America are eligible for certification".
NORTH_AMERICA = ("US", "CA", "MX")
_COUNTRY = re.compile(r"[A-Z]{2}")


def check_country(raw: Any, *, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code in capitals (R-P1): InvalidInput ``invalid_country``."""
    if not isinstance(raw, str) or not _COUNTRY.fullmatch(raw):
        raise InvalidInput(
            f"{field} must be an ISO 3166-1 alpha-2 code such as US, got {raw!r}",
            code="invalid_country",
            field=field,
            rule="R-P1",
        )
    return raw


def require_north_america(country: str) -> None:
    """R-P2, RMS 1.3.1: RMS certification is for entities in the US, Canada or
    Mexico only. Raises RuleViolation ``outside_north_america``."""
    if check_country(country) not in NORTH_AMERICA:
        raise RuleViolation(
            f"RMS certification is open to entities located in North America (US, CA, MX) only, not {country} "
            "(RMS 1.3.1)",
            code="outside_north_america",
            rule="R-P2",
        )


# --- Validity on a date (R-C3) --------------------------------------------------------------

SUSPENDED = "suspended"
REVOKED = "revoked"
REINSTATED = "reinstated"
EVENT_KINDS = (SUSPENDED, REVOKED, REINSTATED)


@dataclass(frozen=True)
class CertificateEvent:
    """A dated change of a certificate's standing (never a deletion)."""

    kind: str  # suspended | revoked | reinstated
    on: date
    reason: str = ""


def check_dates(issued_on: date, expires_on: date) -> None:
    if expires_on < issued_on:
        raise InvalidInput(
            f"expires_on {expires_on} is before issued_on {issued_on}",
            code="invalid_date_range",
            field="expires_on",
            rule="R-C3",
        )


#: A validity period: (issued_on, expires_on), both days included (R-C3). A
#: certificate renewed under its number has several (R-C6, RMS 7.2.2).
Period = tuple[date, date]


def period_list(periods: Iterable) -> list[Period]:
    """Periods in date order, from (issued, expires) pairs or their JSON form
    ``{"issued_on": ISO, "expires_on": ISO}``."""
    out = []
    for item in periods:
        if isinstance(item, dict):
            item = (item["issued_on"], item["expires_on"])
        issued, expires = (d if isinstance(d, date) else date.fromisoformat(d) for d in item)
        out.append((issued, expires))
    return sorted(out)


def in_periods(day: date, periods: Iterable) -> bool:
    return any(issued <= day <= expires for issued, expires in period_list(periods))


def status_on(day: date, periods: Iterable, events: Iterable[CertificateEvent] = ()) -> str:
    """The certificate's standing on ``day``: ``valid``, ``not_yet_valid``,
    ``expired``, ``suspended`` or ``revoked`` (R-C3), over every validity
    period it had (R-C6): a day outside all of them is not valid -- before
    the first ``not_yet_valid``, after one (between two, or after the last)
    ``expired``.

    Events take effect on their own date, in date order (same-day events in
    the order given): a suspension lasts until a later reinstatement, if
    any, across a renewal too; a revocation is permanent -- nothing after it
    reinstates or renews the certificate (RMS 4.2.2 distinguishes suspension
    from revocation).
    """
    periods = period_list(periods)
    standing = "valid"
    for event in sorted(events, key=lambda e: e.on):  # sorted() is stable
        if event.kind not in EVENT_KINDS:
            raise ValueError(f"unknown certificate event {event.kind!r}")
        if event.on > day:
            break
        if event.kind == REVOKED:
            return REVOKED
        standing = SUSPENDED if event.kind == SUSPENDED else "valid"
    if not periods or day < periods[0][0]:
        return "not_yet_valid"
    if not in_periods(day, periods):
        return "expired"
    return standing


def is_valid_on(day: date, periods: Iterable, events: Iterable[CertificateEvent] = ()) -> bool:
    """R-C3: within one of its validity periods, neither suspended nor revoked on day."""
    return status_on(day, periods, events) == "valid"


def held_in_year(periods: Iterable, events: Iterable[tuple[str, date]], year: int) -> bool:
    """R-X10: the certificate was held on some day of ``year``: one of its
    periods overlaps the year and it was not revoked before that day (a
    revocation on D ends it from D). A suspension does not end it: the body
    that suspended it still certifies the participant. ``events`` are (kind,
    date) pairs. Pure, so that replay applies the same rule (`registry.scope`)."""
    end = date(year, 12, 31)
    for kind, on in events:
        if kind == REVOKED:
            end = min(end, on - timedelta(days=1))
    return any(max(date(year, 1, 1), issued) <= min(end, expires) for issued, expires in period_list(periods))


def require_valid_on(day: date, number: str, periods: Iterable, events: Iterable[CertificateEvent] = ()) -> None:
    """Refuse an act that needs a valid certificate on ``day`` (R-C3, RMS
    8.5.1, 8.6.4): RuleViolation ``certificate_invalid``."""
    standing = status_on(day, periods, events)
    if standing != "valid":
        raise RuleViolation(
            f"RMS certificate {number} is {standing.replace('_', ' ')} on {day}",
            code="certificate_invalid",
            rule="R-C3",
        )
