"""A certificate's history (R-C6; RMS 6.6.3.1, 7.1.6, 7.2.2, 7.4.3, P3.1.4,
P7.2.2.2): its scope and sites as amended between audits, the members of a
group certificate, which facilities a participant may cite it for on a day,
and how long a facility has been continuously certified.

Pure (plain values in, plain values or RuleViolation out), so that the
service (`registry.rms_certificates`, `registry.lots`, `registry.generation`,
`registry.determinations`) and replay (`registry.replay`) apply the same
rules (R-L7c). Validity over the certificate's periods is
`registry.certification.status_on`.

A certificate's scope is a list of **versions**, each in force from its
``effective_on`` until the next one: the first from the first issue date,
one more per amendment. A version holds the activities, product groups,
control systems and facilities; a group certificate's facilities each name
the member participant they belong to (``participant``) and the version
lists the members (7.1.6.3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from registry import certification
from registry.errors import InvalidInput, RuleViolation
from registry.names import identity_key

ONE_DAY = timedelta(days=1)
FIRST_CERTIFICATION_YEAR = 2021  # Table P7.2 (registry.additionality.determination)
GROUP = "group"


@dataclass(frozen=True)
class ScopeVersion:
    """The scope and sites in force from ``effective_on`` (R-C2, R-C6)."""

    effective_on: date
    activities: tuple[str, ...]
    product_groups: tuple[str, ...]
    control_systems: tuple[str, ...]
    facilities: tuple[dict, ...]
    members: tuple[int, ...] = ()

    def as_json(self) -> dict:
        return {"effective_on": self.effective_on.isoformat(), "activities": list(self.activities),
                "product_groups": list(self.product_groups), "control_systems": list(self.control_systems),
                "facilities": [dict(f) for f in self.facilities], "members": list(self.members)}


def version_from_json(raw: dict) -> ScopeVersion:
    return ScopeVersion(effective_on=date.fromisoformat(raw["effective_on"]),
                        activities=tuple(raw.get("activities") or ()),
                        product_groups=tuple(raw.get("product_groups") or ()),
                        control_systems=tuple(raw.get("control_systems") or ()),
                        facilities=tuple(dict(f) for f in raw.get("facilities") or ()),
                        members=tuple(raw.get("members") or ()))


def versions_of(raw: Iterable) -> list[ScopeVersion]:
    """Versions in effect order (same-day versions in the order recorded: the later one wins)."""
    out = [v if isinstance(v, ScopeVersion) else version_from_json(v) for v in raw]
    return sorted(out, key=lambda v: v.effective_on)  # stable


def scope_on(versions: Sequence, day: date) -> ScopeVersion | None:
    """The version in force on ``day``: the last one effective on or before it
    (the first, for a day before any: the certificate is not valid then)."""
    ordered = versions_of(versions)
    if not ordered:
        return None
    current = ordered[0]
    for version in ordered:
        if version.effective_on <= day:
            current = version
    return current


def sites_for(version: ScopeVersion | None, facility_scope: str, holder: int, participant: int) -> list[dict] | None:
    """The sites ``participant`` may cite the certificate for under ``version``
    (R-C6): the holder, all of a single- or multi-site certificate's sites;
    a member of a group certificate, the sites listed for it (7.1.6.3).
    None when the participant may not cite it at all."""
    if version is None:
        return None
    if facility_scope == GROUP:
        if participant not in version.members:
            return None
        return [f for f in version.facilities if f.get("participant") == participant]
    return list(version.facilities) if participant == holder else None


def lists_site(sites: Iterable[dict], country: str, name: str) -> bool:
    """R-G5: a site is listed when its country and its name's identity (R-R5) match."""
    key = identity_key(name)
    return any(s.get("country") == country and identity_key(s.get("name", "")) == key for s in sites)


# --- Recording: renewals, amendments, groups (R-C6) ------------------------------------------


def require_renewal(periods: Sequence, events: Iterable[certification.CertificateEvent],
                    issued_on: date, expires_on: date) -> None:
    """A renewal adds a validity period after the last one (RMS 7.2.2: the
    annual audit keeps the certificate valid; history kept). It may follow
    the last period at once or after a gap (the days between are not
    valid). A revoked certificate is not renewed: a new certification is a
    new certificate. Codes ``invalid_date_range``, ``period_overlaps``,
    ``certificate_revoked``."""
    certification.check_dates(issued_on, expires_on)
    last = certification.period_list(periods)[-1]
    if issued_on <= last[1]:
        raise RuleViolation(f"issued_on {issued_on} is not after the current period, {last[0]} to {last[1]}: a "
                            "renewal adds the next validity period", code="period_overlaps", field="issued_on",
                            rule="R-C6")
    revoked = [e.on for e in events if e.kind == certification.REVOKED]
    if revoked:
        raise RuleViolation(f"the certificate is revoked from {min(revoked)}: it cannot be renewed; a new "
                            "certification is recorded under a new number", code="certificate_revoked",
                            field="number", rule="R-C6")


def require_amendment_date(effective_on: date, today: date, periods: Sequence, versions: Sequence) -> None:
    """An amendment takes effect on a day of a validity period, not before
    today (RMS 7.4.3: the register is updated *before* claims from a new
    site; a narrowed scope cannot reach back to lots already registered),
    and not before the version in force it follows. Codes
    ``amendment_backdated``, ``outside_validity``."""
    if effective_on < today:
        raise RuleViolation(f"effective_on {effective_on} is before today, {today}: an amendment takes effect from "
                            "the day it is recorded or later (RMS 7.4.3)", code="amendment_backdated",
                            field="effective_on", rule="R-C6")
    latest = versions_of(versions)[-1].effective_on if versions else None
    if latest is not None and effective_on < latest:
        raise RuleViolation(f"effective_on {effective_on} is before the amendment in force from {latest}",
                            code="amendment_backdated", field="effective_on", rule="R-C6")
    if not certification.in_periods(effective_on, periods):
        shown = ", ".join(f"{a} to {b}" for a, b in certification.period_list(periods))
        raise RuleViolation(f"effective_on {effective_on} is outside the certificate's validity ({shown})",
                            code="outside_validity", field="effective_on", rule="R-C6")


def check_group(members: list[dict], countries: dict[int, str]) -> tuple[tuple[int, ...], list[dict]]:
    """A group certificate lists its members and their facilities (RMS
    7.1.6.3), every one in one country (P3.1.4). ``members`` are
    ``{"participant_id", "facilities": [{name, address, country}]}``;
    ``countries`` each member participant's country. Returns the member ids
    and the facilities, each naming its member. Codes ``members_required``,
    ``duplicate_member``, ``group_countries_differ`` (and those of
    `certification.check_facilities`)."""
    if not members:
        raise InvalidInput("a group certificate lists its member participants (RMS 7.1.6.3)",
                           code="members_required", field="members", rule="R-C6")
    ids, sites = [], []
    for i, member in enumerate(members):
        pid = member["participant_id"]
        if pid in ids:
            raise InvalidInput(f"participant {pid} is listed twice", code="duplicate_member",
                               field=f"members[{i}].participant_id", rule="R-C6")
        ids.append(pid)
        listed = certification.check_facilities("multi-site", list(member.get("facilities") or []))
        sites.extend({**site, "participant": pid} for site in listed)
    found = {countries[pid] for pid in ids} | {site["country"] for site in sites}
    if len(found) > 1:
        raise RuleViolation(f"a group's members and facilities must all be in one country (P3.1.4), not in "
                            f"{', '.join(sorted(found))}", code="group_countries_differ", field="members",
                            rule="R-C6")
    return tuple(ids), sites


# --- Continuous certification (P7.2.2.2) -----------------------------------------------------


def valid_spans(periods: Sequence, events: Sequence[certification.CertificateEvent], versions: Sequence,
                covers: Callable[[ScopeVersion], bool]) -> list[tuple[date, date]]:
    """The runs of days on which the certificate was valid (R-C3, over all its
    periods) with a scope that ``covers`` (e.g. lists a facility). Standing
    and scope change only at period bounds, event dates and version dates,
    so each segment between two such days is checked once."""
    periods = certification.period_list(periods)
    if not periods:
        return []
    cuts = {a for a, _ in periods} | {b + ONE_DAY for _, b in periods} | {e.on for e in events}
    cuts |= {v.effective_on for v in versions_of(versions)}
    cuts = sorted(cuts)
    spans: list[tuple[date, date]] = []
    for start, following in zip(cuts, cuts[1:]):
        end = following - ONE_DAY
        if certification.is_valid_on(start, periods, events) and covers(scope_on(versions, start)):
            if spans and spans[-1][1] + ONE_DAY == start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans


@dataclass(frozen=True)
class Held:
    """One certificate as continuity reads it: its periods, events and versions,
    its facility scope and holder."""

    periods: Sequence
    events: Sequence[certification.CertificateEvent]
    versions: Sequence
    facility_scope: str
    holder: int


def facility_certified_since(certificates: Iterable[Held], participant: int, country: str, name: str, year: int,
                             today: date) -> date | None:
    """P7.2.2.2 (R-C6): since when a facility (its participant, country and
    name) has been continuously certified into ``year``: days with a valid
    certificate that lists it for that participant (its own, or a group's
    listing it as the member's site)."""
    spans = []
    for held in certificates:
        def covers(version, held=held):
            sites = sites_for(version, held.facility_scope, held.holder, participant)
            return sites is not None and lists_site(sites, country, name)
        spans += valid_spans(held.periods, held.events, held.versions, covers)
    return continuously_certified_since(spans, year, today)


def continuously_certified_since(spans: Iterable[tuple[date, date]], year: int, today: date) -> date | None:
    """P7.2.2.2 (R-C6): the first day of the latest unbroken run of days, each
    with a valid certificate (``spans`` of every certificate that counts),
    that reaches into certification year ``year`` by ``today``. None when no
    day of the year up to today had one."""
    first, day = date(year, 1, 1), min(today, date(year, 12, 31))
    merged: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + ONE_DAY:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    runs = [start for start, end in merged if start <= day and end >= first]
    return runs[-1] if runs else None


def first_certified_year(since: date | None, year: int) -> int | None:
    """The certification year a newness basis was first tested in, when the
    facility was continuously certified from an earlier year into ``year``
    (P7.2.2.2, Example P7.2); None otherwise (``year``'s New Date applies).
    Table P7.2 starts with 2021, the first year of ARCs: certification before
    it counts from 2021."""
    if since is None or since.year >= year:
        return None
    return max(since.year, FIRST_CERTIFICATION_YEAR)

