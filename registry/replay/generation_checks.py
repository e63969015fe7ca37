"""Replay of the R-G1 rules generation checks on its lot (R-L7c), with the
same pure functions as the service (registry.generation_rules): the one-year
rule on the entry's date, and the lot's own certificate on the lot's
processing date with the certificate events known at that entry."""

from __future__ import annotations

from datetime import date

from registry import generation_rules
from registry.replay import certificate_state
from registry.replay.state import State, fail


def check_recent(lot: dict, day: date) -> None:
    """RMS 8.6.3: generated within one year of processing (calendar arithmetic)."""
    generation_rules.require_recent(date.fromisoformat(lot["processed_on"]), day)


def check_cited_certificate(s: State, i: int, serial: str, lot: dict) -> None:
    """R-G1 last bullet, R-G5: the certificate the lot cites, as the replayed
    register stands at this entry."""
    number = lot.get("rms_certificate")
    cert = s.certificates.get(number) if number is not None else None
    if cert is None:
        raise fail(i, f"R-G1: block {serial}: lot {lot.get('reference', '')!s} cites RMS certificate {number!r}, "
                      "which no earlier entry recorded")
    site = s.facilities.get(lot["facility"]) or {}
    processed_on = date.fromisoformat(lot["processed_on"])
    scope = certificate_state.scope_on(cert, processed_on)  # R-C6: the scope in force that day
    generation_rules.require_cited_certificate(
        number=number, processed_on=processed_on, periods=certificate_state.periods(cert),
        events=certificate_state.events(cert), activities=scope.activities if scope is not None else (),
        facility=(site["country"], site["name"]) if site.get("country") is not None else None,
        sites=certificate_state.sites_for(cert, lot["generator"], processed_on))
