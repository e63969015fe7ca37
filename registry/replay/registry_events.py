"""Replay of the events that set up who may hold and generate (R-L7):
participants, RMS certificates, facilities, determinations, lots."""

from __future__ import annotations

from datetime import date

from registry import certificate_history, certification, classification, lot_rules
from registry.certification import CertificateEvent, held_in_year
from registry.claims import parse_claim
from registry.custody import rules as custody_rules
from registry.errors import RuleViolation
from registry.lot_account import LotAccount
from registry.replay import certificate_state, custody_events, unit_checks
from registry.replay.state import ZERO, State, dec, fail


def lot_account(row: dict) -> LotAccount:
    """The replayed lot's R-B4 account: the same arithmetic the service checks."""
    return LotAccount(status=row["recycled_status"], mass_kg=row["mass_kg"], pc_kg=row["pc_kg"],
                      sold_kg=row["sold_kg"], claimed_kg=row["claimed_kg"], claimed_pc_kg=row["claimed_pc_kg"],
                      used_kg=row["used_kg"], used_pc_kg=row["used_pc_kg"])


def _get(index: int, table: dict, key, what: str) -> dict:
    if key not in table:
        raise fail(index, f"{what} {key!r} is not known from earlier entries")
    return table[key]


def _new(index: int, table: dict, key, what: str) -> None:
    if key in table:
        raise fail(index, f"{what} {key!r} is recorded twice")


# R-P1, R-P3: the participant life cycle and the transitions it allows.
_PARTICIPANT_MOVES = {
    "participant.registered": ((None,), "pending"),
    "participant.activated": (("pending", "suspended"), "active"),
    "participant.suspended": (("active",), "suspended"),
}
# R-E4: removal ends the generator registration, not the account: the status stays.
# "participant.removed" (status "removed") is how registries wrote it before (migration 0011).
_GENERATOR_REMOVALS = {"participant.generator_removed": None, "participant.removed": "removed"}


def participant(s: State, i: int, kind: str, p: dict) -> None:
    pid = p.get("participant")
    current = s.participants.get(pid)
    now = None if current is None else current["status"]
    if kind in _GENERATOR_REMOVALS:
        if current is None or current.get("generator_removed"):
            raise fail(i, f"{kind}: participant {pid} is {'already removed' if current else 'unknown'} (R-E4)")
        stated = _GENERATOR_REMOVALS[kind] or now  # the status is unchanged
        if p.get("status") != stated:
            raise fail(i, f"{kind}: participant {pid} status {p.get('status')!r}, expected {stated!r}")
        current["generator_removed"] = True
        s.participants[pid] = current
        return
    allowed, target = _PARTICIPANT_MOVES[kind]
    if now not in allowed:
        raise fail(i, f"{kind}: participant {pid} is {now or 'unknown'}, expected {' or '.join(map(str, allowed))}")
    if p.get("status") != target:
        raise fail(i, f"{kind}: participant {pid} status {p.get('status')!r}, expected {target!r}")
    for key in ("name", "country") if current is not None else ():  # RMS 8.1.4: see participant_updated
        if p.get(key) != current[key]:
            raise fail(i, f"{kind}: participant {pid} {key} {p.get(key)!r}, but the log last recorded "
                          f"{current[key]!r} (changed outside participant.updated)")
    s.participants[pid] = {**(current or {"generator_removed": False, "certificates": [], "address": None,
                                          "contacts_digest": None}),
                           "name": p.get("name"), "country": p.get("country"), "status": target}


def participant_updated(s: State, i: int, kind: str, p: dict) -> None:
    """RMS 8.1.4: a participant's name, address and contacts (as their salted
    digest, registry.participant_details) change only here; status and country never."""
    pid = p.get("participant")
    current = _get(i, s.participants, pid, "participant")
    for key in ("status", "country"):
        if p.get(key) != current[key]:
            raise fail(i, f"{kind}: participant {pid} {key} {p.get(key)!r}, expected {current[key]!r}")
    if not isinstance(p.get("name"), str) or not p["name"].strip():
        raise fail(i, f"{kind}: participant {pid} needs a name")
    setting = p.get("incoming_transfers", current.get("incoming_transfers", "automatic"))  # R-T6; absent before 0020
    if setting not in ("automatic", "review"):
        raise fail(i, f"{kind}: participant {pid} incoming_transfers {setting!r} is not automatic or review")
    s.participants[pid] = {**current, "name": p["name"], "address": p.get("address"),
                           "contacts_digest": p.get("contacts_digest"), "incoming_transfers": setting}


def _require_registering(s: State, i: int, kind: str, pid) -> None:
    """R-X10: a suspended participant registers nothing."""
    if _get(i, s.participants, pid, "participant")["status"] == "suspended":
        s.finding(fail(i, f"R-X10: {kind}: participant {pid} is suspended and registers nothing"))


def _require_certified_by(s: State, i: int, kind: str, body, facility_id, year) -> None:
    """R-X10: a certifier's body acts only for a participant holding one of its
    certificates in the determination's year (`registry.certification.held_in_year`).
    Entries by an admin (no body) and entries written before the body was
    logged are not bound to a body."""
    if body is None:
        return
    pid = _get(i, s.facilities, facility_id, "facility")["participant"]
    _get(i, s.participants, pid, "participant")
    for cert in certificate_state.citable_by(s, pid):
        if cert.get("body") == body and held_in_year(
                certificate_state.periods(cert), [(k, date.fromisoformat(on)) for k, on in cert["events"]], year):
            return
    s.finding(fail(i, f"R-X10: {kind}: body {body} holds no certificate of participant {pid} for {year}"))


def _add_members(s: State, i: int, number: str, members) -> None:
    """R-C6, R-X10: a group certificate certifies each member it lists."""
    for pid in members:
        row = _get(i, s.participants, pid, "participant")
        if number not in row.get("group_certificates", ()):
            row.setdefault("group_certificates", []).append(number)
            s.participants[pid] = row


def _check_group(s: State, i: int, kind: str, number: str, version: dict) -> None:
    """R-C6 (RMS 7.1.6.3, P3.1.4): a group lists members, all in one country."""
    members = version.get("members") or []
    countries = {_get(i, s.participants, pid, "participant").get("country") for pid in members}
    countries |= {site.get("country") for site in version.get("facilities") or []}
    if not members or len(countries) > 1:
        s.finding(fail(i, f"R-C6: {kind}: group certificate {number} lists {len(members)} members in "
                          f"{', '.join(sorted(map(str, countries))) or 'no country'}: one country (P3.1.4), "
                          "at least one member"))


def certificate(s: State, i: int, kind: str, p: dict, time: str | None = None) -> None:
    number = p.get("certificate")
    if kind == "certificate.recorded":
        _new(i, s.certificates, number, "RMS certificate")
        holder = _get(i, s.participants, p.get("participant"), "participant")
        holder.setdefault("certificates", []).append(number)  # R-X10: who certifies it
        s.participants[p.get("participant")] = holder
        cert = certificate_state.recorded(p)
        if cert["facility_scope"] == certificate_history.GROUP:
            _check_group(s, i, kind, number, cert["versions"][0])
            _add_members(s, i, number, cert["versions"][0]["members"])
        s.certificates[number] = cert
        return
    cert = _get(i, s.certificates, number, "RMS certificate")
    if kind == "certificate.renewed":
        _renewed(s, i, number, cert, p)
        return
    if kind == "certificate.amended":
        _amended(s, i, kind, number, cert, p, time)
        return
    on = p.get("on")
    revoked = [e[1] for e in cert["events"] if e[0] == "revoked"]
    if not isinstance(on, str) or (revoked and on >= min(revoked)):  # R-C3: nothing follows a revocation
        raise fail(i, f"{kind}: certificate {number} is revoked from {min(revoked) if revoked else '?'}, "
                      f"the event is dated {on!r}")
    if not certification.in_periods(date.fromisoformat(on), certificate_state.periods(cert)):  # R-C5, R-C6
        s.finding(fail(i, f"R-C5: {kind}: certificate {number}: {on} is outside its validity, "
                          + ", ".join(f"{a} to {b}" for a, b in certificate_state.periods(cert))))
    cert["events"].append((kind.split(".", 1)[1], on))


def _renewed(s: State, i: int, number: str, cert: dict, p: dict) -> None:
    """R-C6: a new validity period after the last, never for a revoked certificate."""
    try:
        certificate_history.require_renewal(certificate_state.periods(cert), certificate_state.events(cert),
                                            date.fromisoformat(p["issued_on"]), date.fromisoformat(p["expires_on"]))
    except RuleViolation as error:
        s.finding(fail(i, f"R-C6: certificate.renewed: certificate {number}: {error.detail}"))
    cert["periods"] = [*cert.get("periods", [[cert["issued_on"], cert["expires_on"]]]),
                       [p["issued_on"], p["expires_on"]]]
    cert["issued_on"], cert["expires_on"] = p["issued_on"], p["expires_on"]


def _amended(s: State, i: int, kind: str, number: str, cert: dict, p: dict, time: str | None) -> None:
    """R-C6: a scope version from its date (not before the entry's day, within a
    period); a group's members in one country."""
    version = {k: p.get(k) for k in ("effective_on", "activities", "product_groups", "control_systems",
                                     "facilities", "members")}
    try:
        today = date.fromisoformat(time[:10]) if isinstance(time, str) else date.fromisoformat(p["effective_on"])
        certificate_history.require_amendment_date(date.fromisoformat(p["effective_on"]), today,
                                                   certificate_state.periods(cert), certificate_state.versions(cert))
    except RuleViolation as error:
        s.finding(fail(i, f"R-C6: {kind}: certificate {number}: {error.detail}"))
    if cert.get("facility_scope") == certificate_history.GROUP:
        _check_group(s, i, kind, number, version)
        _add_members(s, i, number, version.get("members") or [])
    elif version.get("members"):
        s.finding(fail(i, f"R-C6: {kind}: certificate {number} is not a group certificate: it lists no members"))
    cert["versions"] = [*cert["versions"], version]
    cert["activities"], cert["facilities"] = list(version["activities"] or []), list(version["facilities"] or [])
    cert["adopt_sites"] = False


def facility(s: State, i: int, kind: str, p: dict) -> None:
    fid = p.get("facility")
    if kind == "facility.registered":
        _new(i, s.facilities, fid, "facility")
        _require_registering(s, i, kind, p.get("participant"))
        s.facilities[fid] = {"participant": p.get("participant"), "name": p.get("name"), "country": p.get("country"),
                             "capacity_kg": dec(i, p.get("capacity_kg"), "capacity_kg"), "lines_kg": ZERO}
    else:
        row = _get(i, s.facilities, fid, "facility")
        _require_registering(s, i, kind, row["participant"])
        _new(i, s.lines, p.get("line"), "production line")
        capacity = dec(i, p.get("capacity_kg"), "capacity_kg")
        row["lines_kg"] = row.get("lines_kg", ZERO) + capacity
        if row["lines_kg"] > row["capacity_kg"]:  # R-A9: lines are parts of their facility
            s.finding(fail(i, f"R-A9: facility {fid}: its lines have {row['lines_kg']} kg per year of capacity, "
                          f"more than its {row['capacity_kg']} kg"))
        s.lines[p.get("line")] = {"facility": fid, "capacity_kg": capacity}


def determination(s: State, i: int, kind: str, p: dict) -> None:
    did = p.get("determination")
    if kind == "determination.withdrawn":
        d = _get(i, s.determinations, did, "determination")
        _require_certified_by(s, i, kind, p.get("body"), d.get("facility"), d.get("year"))
        if d["status"] != "current":
            raise fail(i, f"determination {did} is {d['status']}, not current")
        d["status"] = "withdrawn"
        s.current_determinations.pop((d.get("facility"), d.get("line"), d.get("year")), None)
        return
    _new(i, s.determinations, did, "determination")
    _get(i, s.facilities, p.get("facility"), "facility")
    _require_certified_by(s, i, kind, p.get("body"), p.get("facility"), p.get("year"))
    used = dec(i, p.get("used_kg"), "used_kg")
    key = (p.get("facility"), p.get("line"), p.get("year"))
    current = s.current_determinations.get(key)
    if p.get("supersedes") != current:  # R-A7: one current per facility (line) and year
        raise fail(i, f"R-A7: determination {did} supersedes {p.get('supersedes')}, but the current determination "
                      f"of facility {key[0]}, line {key[1]}, {key[2]} is {current}")
    inherited = ZERO
    if p.get("supersedes") is not None:
        previous = _get(i, s.determinations, p["supersedes"], "determination")
        if previous["status"] != "current":
            raise fail(i, f"determination {p['supersedes']} is {previous['status']}: it cannot be superseded")
        previous["status"] = "superseded"  # R-A7: history, never deleted
        inherited = previous["used_kg"]
    if used != inherited:  # the eligible volume is the facility's, not the paper's
        raise fail(i, f"determination {did} starts with used_kg {used}, expected {inherited}")
    s.determinations[did] = {"status": "current", "outcome": p.get("outcome"),
                             "eligible_kg": dec(i, p.get("eligible_kg"), "eligible_kg"), "used_kg": used,
                             "facility": p.get("facility"), "line": p.get("line"), "year": p.get("year"),
                             "pc_only": p.get("pc_only"), "newness": (p.get("record") or {}).get("newness") or {}}
    s.current_determinations[key] = did


def _check_lot_rules(s: State, i: int, p: dict, mass) -> None:
    """R-B7, R-G6, R-G5 on the lot as logged (registry.lot_rules); the sites
    the generator may cite its certificate for on the processing day (R-C6)."""
    site = s.facilities[p.get("facility")]
    cert = s.certificates.get(p.get("rms_certificate")) or {}
    processed_on = date.fromisoformat(p["processed_on"])
    sites = certificate_state.sites_for(cert, p.get("generator"), processed_on) if cert else []
    if sites is None:
        raise RuleViolation(f"certificate {p.get('rms_certificate')} is not the generator's, nor a group's listing "
                            f"it on {processed_on}", code="certificate_invalid", rule="R-B1")
    lhv = None if p.get("lhv_mj_per_kg") is None else dec(i, p["lhv_mj_per_kg"], "lhv_mj_per_kg")
    material = classification.parse_material_code(p.get("material_code"))
    lot_rules.require_conversion_adds_up(material.id, mass, p["conversion"])
    lot_rules.require_peq_is_chemical(material.level1, p["conversion"]["transformation"], lhv)
    if site.get("country") is not None:
        lot_rules.require_certified_site(site["country"], site["name"], sites)
    lot_rules.require_inputs_certified(p.get("inputs") or [], date.fromisoformat(p["processed_on"]),
                                       lambda number: _in_register(s, number))  # R-B8


def _in_register(s: State, number: str):
    """R-B8 in replay: a certificate as the register stood at this entry."""
    cert = s.certificates.get(number)
    if cert is None:
        return None
    return certificate_state.periods(cert), [CertificateEvent(kind, date.fromisoformat(on))
                                             for kind, on in cert["events"]]


def lot(s: State, i: int, kind: str, p: dict) -> None:
    lid = p.get("lot")
    if kind == "lot.registered":
        _new(i, s.lots, lid, "lot")
        _require_registering(s, i, kind, p.get("generator"))
        if _get(i, s.facilities, p.get("facility"), "facility")["participant"] != p.get("generator"):
            raise fail(i, f"lot {lid}: facility {p.get('facility')} is not the generator's")
        mass = dec(i, p.get("mass_kg"), "mass_kg")
        cited = s.certificates.get(p.get("rms_certificate"))
        if cited is not None and cited.get("adopt_sites"):  # R-G5: as migration 0018 listed them
            certificate_state.adopt_site(cited, s.facilities[p.get("facility")])
        s.note(i, lambda: _check_lot_rules(s, i, p, mass))
        processed_on = p["processed_on"]
        s.lots[lid] = {"generator": p.get("generator"), "mass_kg": mass,
                       "facility": p.get("facility"), "line": p.get("line"), "processed_on": processed_on,
                       "rms_certificate": p.get("rms_certificate"),  # R-G1: re-checked at generation
                       "year": int(processed_on[:4]), "material_code": p.get("material_code"),
                       "recycled_status": p.get("recycled_status"),
                       "non_plastic_fraction": dec(i, p.get("non_plastic_fraction"), "non_plastic_fraction"),
                       "lhv_mj_per_kg": None if p.get("lhv_mj_per_kg") is None else dec(
                           i, p["lhv_mj_per_kg"], "lhv_mj_per_kg"),
                       "pc_kg": None if p.get("pc_kg") is None else dec(i, p["pc_kg"], "pc_kg"),
                       "sold_kg": ZERO, "claimed_kg": ZERO, "claimed_pc_kg": ZERO, "used_kg": ZERO,
                       "used_pc_kg": ZERO, "sold_lb": ZERO, "used_lb": ZERO, "used_pc_lb": ZERO,  # R-U6
                       "disclaimer_required": False, "link": None,
                       "custody_account": p.get("custody_account")}  # R-M6
        return
    row = _get(i, s.lots, lid, "lot")
    _require_registering(s, i, kind, row["generator"])
    _new(i, s.dispositions, p.get("disposition"), "disposition")
    mass = dec(i, p.get("mass_kg"), "mass_kg")
    claimed, claimed_pc = dec(i, p.get("claimed_kg"), "claimed_kg"), dec(i, p.get("claimed_pc_kg"), "claimed_pc_kg")
    if mass <= 0 or row["sold_kg"] + mass > row["mass_kg"]:  # R-B3
        raise fail(i, f"lot {lid}: disposing of {mass} kg leaves more sold than its {row['mass_kg']} kg")
    unit_checks.disposition(i, p, row, mass)  # R-U6: the kilograms follow from the logged request
    if claimed > mass or claimed_pc > claimed:
        raise fail(i, f"lot {lid}: {claimed} kg claimed on a sale of {mass} kg")
    if claimed and row["disclaimer_required"]:  # R-B5
        raise fail(i, f"lot {lid}: a claim on a sale of a lot whose ARCs cover its full mass")
    drawn = None if p.get("claim") is None or row.get("custody_account") is None else \
        custody_rules.by_status(parse_claim(p["claim"]), mass)
    custody_events.lot_drawn(s, i, "the claimed sale", lid, row, p, drawn)  # R-M6
    row["sold_kg"] += mass
    row["claimed_kg"] += claimed
    row["claimed_pc_kg"] += claimed_pc
    found = lot_account(row).violations()
    if found:  # R-B2, R-B4: no double counting, per component
        s.finding(fail(i, f"R-B4: lot {lid}: " + "; ".join(found)))
    s.dispositions[p.get("disposition")] = {"lot": lid, "mass_kg": mass, "claimed_kg": claimed,
                                            "claimed_pc_kg": claimed_pc}


def certified_since(s: State, i: int, p: dict, time: str | None) -> None:
    """P7.2.2.2, R-C6: the determination's "continuously certified since",
    re-derived from the replayed certificates' history on the entry's day
    (`registry.determinations.certified_since`). Entries before it was
    logged carry no such field."""
    if "certified_since" not in p or not isinstance(time, str):
        return
    site = _get(i, s.facilities, p.get("facility"), "facility")
    held = [certificate_history.Held(certificate_state.periods(c), certificate_state.events(c),
                                     certificate_state.versions(c), c.get("facility_scope") or "", c.get("participant"))
            for c in certificate_state.citable_by(s, site["participant"])]
    since = certificate_history.facility_certified_since(held, site["participant"], site.get("country"),
                                                         site.get("name"), p.get("year"),
                                                         date.fromisoformat(time[:10]))
    expected = since.isoformat() if since is not None else None
    if p["certified_since"] != expected:
        s.finding(fail(i, f"R-C6: determination {p.get('determination')}: continuously certified since "
                          f"{p['certified_since']!r}, but the certificates' history says {expected!r} (P7.2.2.2)"))
