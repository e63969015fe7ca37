"""A replayed RMS certificate (R-C3, R-C6): its validity periods, events and
scope versions as the log recorded them, read with the service's pure rules
(`registry.certification`, `registry.certificate_history`).

A certificate's replayed record is a dict: ``issued_on``/``expires_on`` (its
latest period), ``periods`` ([[issued, expires], ...] ISO dates),
``events`` ([(kind, on)]), ``versions`` (scope versions as
`ScopeVersion.as_json`), ``activities``/``facilities`` (the latest
version), ``participant`` (the holder), ``facility_scope``, ``group_name``
and ``adopt_sites`` (recorded before sites were listed: the sites of its
lots are its sites, as migration 0018 listed them).
"""

from __future__ import annotations

from datetime import date

from registry import certificate_history, certification
from registry.replay.state import State


def recorded(p: dict) -> dict:
    """The replayed record of a ``certificate.recorded`` payload."""
    issued, expires = p.get("issued_on"), p.get("expires_on")
    sites = [dict(f) for f in p.get("facilities") or []]
    version = {"effective_on": issued, "activities": sorted(set(p.get("activities") or [])),
               "product_groups": list(p.get("product_groups") or []),
               "control_systems": sorted(set(p.get("control_systems") or [])), "facilities": sites,
               "members": list(p.get("members") or [])}
    return {"participant": p.get("participant"), "issued_on": issued, "expires_on": expires, "events": [],
            "body": p.get("body"), "activities": version["activities"], "facilities": sites,
            "facility_scope": p.get("facility_scope"), "group_name": p.get("group_name"),
            "periods": [[issued, expires]], "versions": [version],
            # entries before migration 0018 did not list sites strictly (docs/decisions.md)
            "adopt_sites": not sites and not p.get("strict_sites")}


def periods(cert: dict) -> list[certification.Period]:
    return certification.period_list(cert.get("periods") or [[cert["issued_on"], cert["expires_on"]]])


def events(cert: dict) -> list[certification.CertificateEvent]:
    return [certification.CertificateEvent(kind, date.fromisoformat(on)) for kind, on in cert["events"]]


def versions(cert: dict) -> list[certificate_history.ScopeVersion]:
    return certificate_history.versions_of(cert.get("versions") or [])


def scope_on(cert: dict, day: date) -> certificate_history.ScopeVersion | None:
    return certificate_history.scope_on(versions(cert), day)


def sites_for(cert: dict, participant, day: date) -> list[dict] | None:
    return certificate_history.sites_for(scope_on(cert, day), cert.get("facility_scope") or "",
                                         cert.get("participant"), participant)


def citable_by(s: State, participant) -> list[dict]:
    """The certificates a participant holds and the group certificates listing it (R-C6)."""
    out = [s.certificates[n] for n in s.participants.get(participant, {}).get("certificates", ())]
    out += [s.certificates[n] for n in s.participants.get(participant, {}).get("group_certificates", ())]
    return out


def adopt_site(cert: dict, site: dict) -> None:
    """A certificate recorded before sites were listed covers the sites of its
    lots (migration 0018 listed them in the order the lots were registered)."""
    entry = {"name": site.get("name"), "address": site.get("address"), "country": site.get("country")}
    if entry not in cert["facilities"]:
        cert["facilities"] = [*cert["facilities"], entry]
        cert["versions"][0]["facilities"] = list(cert["facilities"])
