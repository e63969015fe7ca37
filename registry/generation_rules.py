"""Rules of R-G1 that generation checks on the lot it generates from, pure
(plain values in, RuleViolation out) so that the service
(registry.generation) and replay (registry.replay.generation_checks) apply the
same ones (R-L7c):

* RMS 8.6.3: ARCs are generated within one year of processing, by calendar
  arithmetic (SPEC R-G1: processed on 2023-02-28 -> last day 2024-02-28;
  processed on 2024-02-29 -> last day 2025-02-28);
* RMS 8.3.1, 8.3.2, 8.6.4: the certificate the lot cites was valid on the
  lot's processing date as the register stands at generation (events
  recorded since the lot was registered count), covers reprocessing, and
  lists the lot's site (R-G5, registry.lot_rules).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from registry import certification, lot_rules
from registry.calendar import one_year_after
from registry.errors import RuleViolation


def last_generation_day(processed_on: date) -> date:
    """The last day a lot processed on ``processed_on`` may generate: the
    same day of the next calendar year; 28 February for 29 February."""
    return one_year_after(processed_on)


def require_recent(processed_on: date, today: date) -> None:
    """RMS 8.6.3 (R-G1): refuse ``lot_too_old`` once today is past the last day."""
    last = last_generation_day(processed_on)
    if today > last:
        raise RuleViolation(f"the lot was processed on {processed_on}, more than one year ago: it could generate "
                            f"until {last} (RMS 8.6.3)", field="lot_id", code="lot_too_old", rule="R-G1")


def require_cited_certificate(*, number: str, processed_on: date, periods: Iterable,
                              events: Iterable[certification.CertificateEvent], activities: Iterable[str],
                              facility: tuple[str, str] | None, sites: Sequence[dict] | None) -> None:
    """R-G1, last bullet (RMS 8.3.1, 8.3.2, 8.6.4): the lot's own certificate,
    re-checked at generation with the events known then. Codes:
    ``certificate_invalid`` (not valid on the processing date),
    ``scope_excludes_reprocessing``, ``facility_not_certified`` (R-G5).
    ``facility`` is the lot's site as (country, name); None when a replayed
    log predates facilities carrying their country (no R-G5 check then).
    ``periods`` are every validity period (R-C6); ``activities`` and
    ``sites`` the scope in force on the processing date, the sites being
    those the generator may cite it for (a group member's own), None when
    it may not cite it."""
    standing = certification.status_on(processed_on, periods, events)
    if standing != "valid":
        raise RuleViolation(f"the lot's RMS certificate {number} is {standing.replace('_', ' ')} on "
                            f"{processed_on}, the day the lot was processed: it was not valid on {processed_on} "
                            "as the register now stands (RMS 8.6.4)", field="lot_id", code="certificate_invalid",
                            rule="R-G1")
    if "reprocessing" not in set(activities):
        raise RuleViolation(f"the lot's RMS certificate {number} does not cover reprocessing, which generating "
                            "ARCs requires (RMS 8.3.1)", field="lot_id", code="scope_excludes_reprocessing",
                            rule="R-G1")
    if sites is None:
        raise RuleViolation(f"the lot's RMS certificate {number} is not the generator's, nor a group certificate "
                            f"listing it on {processed_on}", field="lot_id", code="certificate_invalid", rule="R-G1")
    if facility is not None:
        lot_rules.require_certified_site(facility[0], facility[1], list(sites))  # R-G5
