"""Recording RMS certificates and their suspensions and revocations (SPEC §4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import select

from registry import certificate_history as history
from registry import certification, disputes
from registry.actors import Actor, require_role
from registry.db import UnitOfWork, for_update
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from registry.holdings import MAX_LIMIT, Page, decode_cursor, encode_cursor
from registry.journal import record
from registry.notifications import announce
from registry.lockorder import lock_participants
from registry.models import CertificateEvent, Participant, RmsCertificate
from registry.participants import get_participant

ACTIVITIES = certification.ACTIVITIES
FACILITY_SCOPES = certification.FACILITY_SCOPES
CONTROL_SYSTEMS = certification.CONTROL_SYSTEMS


def certificate_payload(cert: RmsCertificate) -> dict:
    payload = {
        "certificate": cert.number,
        "participant": cert.participant_id,
        "body": cert.body_code,
        "issued_on": cert.issued_on.isoformat(),
        "expires_on": cert.expires_on.isoformat(),
        "activities": list(cert.activities),
        "facility_scope": cert.facility_scope,
        "product_groups": list(cert.product_groups),
        "control_systems": list(cert.control_systems),
        "facilities": [dict(site) for site in cert.facilities],
    }
    if cert.facility_scope == history.GROUP:  # R-C6, RMS 7.1.6.3: the group entity and its members
        payload.update(group_name=cert.group_name, members=list(cert.versions[-1]["members"]))
    return payload


def periods_of(cert: RmsCertificate) -> list[certification.Period]:
    """Every validity period of the certificate (R-C6); a row written before
    migration 0018 and not yet upgraded has only its own dates."""
    return certification.period_list(cert.periods or [(cert.issued_on, cert.expires_on)])


def versions_of(cert: RmsCertificate) -> list[history.ScopeVersion]:
    if cert.versions:
        return history.versions_of(cert.versions)
    return [history.ScopeVersion(cert.issued_on, tuple(cert.activities), tuple(cert.product_groups),
                                 tuple(cert.control_systems), tuple(cert.facilities))]


def scope_on(cert: RmsCertificate, day: date) -> history.ScopeVersion:
    """R-C6: the scope and sites in force on ``day``."""
    return history.scope_on(versions_of(cert), day)


def sites_for(cert: RmsCertificate, participant_id: int, day: date) -> list[dict] | None:
    """R-C6, R-G5: the sites ``participant_id`` may cite the certificate for
    on ``day`` (a group member: its own), or None when it may not cite it."""
    return history.sites_for(scope_on(cert, day), cert.facility_scope, cert.participant_id, participant_id)


def certificates_citable_by(uow: UnitOfWork, participant_id: int) -> list[RmsCertificate]:
    """The certificates a participant holds, and the group certificates that
    list it as a member in any version (R-C6), in the order recorded."""
    held = select(RmsCertificate).where(RmsCertificate.participant_id == participant_id)
    groups = select(RmsCertificate).where(RmsCertificate.facility_scope == history.GROUP,
                                          RmsCertificate.participant_id != participant_id)
    out = list(uow.session.exec(held))
    out += [c for c in uow.session.exec(groups) if any(participant_id in v.members for v in versions_of(c))]
    return sorted(out, key=lambda c: c.id)


def _require_body(actor: Actor, body_code: str) -> None:
    """R-C2: only a certifier of the issuing body (or an admin) records it."""
    require_role(actor, "certifier", "admin")
    if actor.role == "certifier" and actor.body_code != body_code:
        raise Forbidden(f"certificates of body {body_code} are recorded by that body only",
                        code="wrong_certification_body", rule="R-C2")


def _member_ids(members: list[dict] | None) -> set[int]:
    return {m["participant_id"] for m in members or [] if isinstance(m.get("participant_id"), int)}


def _group(uow: UnitOfWork, facility_scope: str, group_name: str | None,
           members: list[dict] | None) -> tuple[str | None, tuple[int, ...], list[dict] | None]:
    """R-C6 (RMS 7.1.6.3, P3.1.4): a group certificate's entity name, members
    and their facilities; none for another certificate. Members' rows are
    locked (R-X5: participant rows first) -- their standing changes too."""
    if facility_scope != history.GROUP:
        if members:
            raise InvalidInput("only a group certificate lists member participants", code="members_not_group",
                               field="members", rule="R-C6")
        return None, (), None
    name = (group_name or "").strip()
    if not name:
        raise InvalidInput("a group certificate names the group entity (RMS 7.1.6.3)", code="missing_field",
                           field="group_name", rule="R-C6")
    ids = sorted(_member_ids(members))
    locked = lock_participants(uow, set(ids), exclusive=True)  # already held: the caller locked them first
    missing = [pid for pid in ids if pid not in locked]
    if missing:
        raise NotFound(f"no participant {missing[0]}", code="participant_not_found", field="members")
    countries = dict(uow.session.exec(select(Participant.id, Participant.country)
                                      .where(Participant.id.in_(ids))).all())
    member_ids, sites = history.check_group(list(members or []), countries)
    return name, member_ids, sites


def record_certificate(uow: UnitOfWork, actor: Actor, *, participant_id: int, number: str,
                       issued_on: date, expires_on: date, activities: list[str], facility_scope: str,
                       product_groups: list[str], control_systems: list[str],
                       facilities: list[dict] | None = None, group_name: str | None = None,
                       members: list[dict] | None = None) -> RmsCertificate:
    """R-C2: record a certificate as its body issued it, with the facilities it
    covers; a group certificate (R-C6) with its entity and members instead."""
    body_code = certification.parse_certificate_number(number).body
    _require_body(actor, body_code)
    certification.check_dates(issued_on, expires_on)
    certification.check_scope(activities, facility_scope, control_systems)
    sites = certification.check_facilities(facility_scope, facilities or [])
    if facility_scope == history.GROUP and sites:
        raise InvalidInput("a group certificate lists each member's facilities under members",
                           code="facilities_under_members", field="facilities", rule="R-C6")
    # R-X5: its holder's (and a group's members') generator standing changes: their rows, in one sorted lock
    lock_participants(uow, {participant_id, *_member_ids(members)}, exclusive=True)
    participant = get_participant(uow, participant_id, lock=True)
    certification.require_north_america(participant.country)
    group_name, member_ids, member_sites = _group(uow, facility_scope, group_name, members)
    if member_sites is not None:
        sites = member_sites
    if uow.session.exec(select(RmsCertificate).where(RmsCertificate.number == number)).first():
        raise Conflict(f"certificate {number} is already recorded; a new validity period is a renewal "
                       f"(POST /rms-certificates/{number}/renew)", code="certificate_exists", field="number")
    version = history.ScopeVersion(issued_on, tuple(sorted(set(activities))),
                                   tuple(g.strip() for g in product_groups), tuple(sorted(set(control_systems))),
                                   tuple(sites), member_ids)
    cert = RmsCertificate(
        participant_id=participant.id, number=number, body_code=body_code, issued_on=issued_on,
        expires_on=expires_on, activities=list(version.activities),
        facility_scope=facility_scope, product_groups=list(version.product_groups),
        control_systems=list(version.control_systems), facilities=sites,
        periods=[{"issued_on": issued_on.isoformat(), "expires_on": expires_on.isoformat()}],
        versions=[version.as_json()], group_name=group_name,
        recorded_by=actor.user_id, created_at=uow.clock.now())
    uow.session.add(cert)
    uow.flush()
    # R-G5: sites are listed strictly from migration 0018 (replay: `certificate_state.recorded`)
    record(uow, "certificate.recorded", actor, {**certificate_payload(cert), "strict_sites": True})
    return cert


def get_certificate(uow: UnitOfWork, number: str, *, lock: bool = False) -> RmsCertificate:
    query = select(RmsCertificate).where(RmsCertificate.number == number)
    cert = uow.session.exec(for_update(query) if lock else query).first()
    if cert is None:
        raise NotFound(f"no RMS certificate {number}", code="certificate_not_found")
    return cert


def events_of(uow: UnitOfWork, cert: RmsCertificate) -> list[certification.CertificateEvent]:
    query = select(CertificateEvent).where(CertificateEvent.certificate_id == cert.id)
    return [certification.CertificateEvent(kind=e.kind, on=e.on, reason=e.reason)
            for e in uow.session.exec(query.order_by(CertificateEvent.id))]


def status_on(uow: UnitOfWork, cert: RmsCertificate, day: date) -> str:
    """R-C3 over every validity period (R-C6)."""
    return certification.status_on(day, periods_of(cert), events_of(uow, cert))


def is_valid_on(uow: UnitOfWork, cert: RmsCertificate, day: date) -> bool:
    """R-C3: within one of its periods and neither suspended nor revoked on d."""
    return status_on(uow, cert, day) == "valid"


def _lock_for_change(uow: UnitOfWork, number: str, members: list[dict] | None = None) -> RmsCertificate:
    """R-X5: a change of a certificate changes its holder's (and its group
    members') standing as generators: their rows exclusively first, then the
    certificate's row."""
    cert = get_certificate(uow, number)
    people = {cert.participant_id} | {pid for v in versions_of(cert) for pid in v.members} | _member_ids(members)
    locked = lock_participants(uow, people, exclusive=True)
    if cert.participant_id not in locked:
        get_participant(uow, cert.participant_id, lock=True)  # 404 as before
    return get_certificate(uow, number, lock=True)


def renew_certificate(uow: UnitOfWork, actor: Actor, number: str, *, issued_on: date,
                      expires_on: date) -> RmsCertificate:
    """R-C6 (RMS 7.2.2): a new validity period under the same number, after
    the last one; the periods before stay in its history. Days between two
    periods are not valid (`certification.status_on`)."""
    cert = _lock_for_change(uow, number)
    _require_body(actor, cert.body_code)
    history.require_renewal(periods_of(cert), events_of(uow, cert), issued_on, expires_on)
    period = {"issued_on": issued_on.isoformat(), "expires_on": expires_on.isoformat()}
    cert.periods = [*({"issued_on": a.isoformat(), "expires_on": b.isoformat()} for a, b in periods_of(cert)),
                    period]
    cert.issued_on, cert.expires_on = issued_on, expires_on
    uow.session.add(cert)
    uow.flush()
    record(uow, "certificate.renewed", actor, {"certificate": cert.number, **period})
    return cert


def amend_certificate(uow: UnitOfWork, actor: Actor, number: str, *, effective_on: date,
                      activities: list[str] | None = None, product_groups: list[str] | None = None,
                      control_systems: list[str] | None = None, facilities: list[dict] | None = None,
                      members: list[dict] | None = None) -> RmsCertificate:
    """R-C6 (RMS 7.4.3): amend the scope and sites between audits, from
    ``effective_on`` (today or later, within a validity period). What is not
    given stays as it is; the versions before stay in its history, and a
    day's validity reads the version in force that day."""
    cert = _lock_for_change(uow, number, members)
    _require_body(actor, cert.body_code)
    versions = versions_of(cert)
    history.require_amendment_date(effective_on, uow.clock.today(), periods_of(cert), versions)
    latest = versions[-1]
    activities = sorted(set(activities)) if activities is not None else list(latest.activities)
    systems = sorted(set(control_systems)) if control_systems is not None else list(latest.control_systems)
    groups = [g.strip() for g in product_groups] if product_groups is not None else list(latest.product_groups)
    certification.check_scope(activities, cert.facility_scope, systems)
    member_ids, sites = latest.members, [dict(f) for f in latest.facilities]
    if cert.facility_scope == history.GROUP:
        if facilities is not None:
            raise InvalidInput("a group certificate lists each member's facilities under members",
                               code="facilities_under_members", field="facilities", rule="R-C6")
        if members is not None:
            _, member_ids, sites = _group(uow, cert.facility_scope, cert.group_name, members)
    else:
        if members is not None:
            raise InvalidInput("only a group certificate lists member participants", code="members_not_group",
                               field="members", rule="R-C6")
        if facilities is not None:
            sites = certification.check_facilities(cert.facility_scope, facilities)
    version = history.ScopeVersion(effective_on, tuple(activities), tuple(groups), tuple(systems), tuple(sites),
                                   tuple(member_ids))
    cert.versions = [*(v.as_json() for v in versions), version.as_json()]
    cert.activities, cert.product_groups, cert.control_systems = activities, groups, systems
    cert.facilities = sites
    uow.session.add(cert)
    uow.flush()
    record(uow, "certificate.amended", actor, {"certificate": cert.number, **version.as_json()})
    return cert


def add_event(uow: UnitOfWork, actor: Actor, number: str, *, kind: str, on: date,
              reason: str) -> RmsCertificate:
    """Suspend, reinstate or revoke: a dated event, never a deletion (R-C3).

    R-C5: the date lies within the certificate's validity (issue to expiry);
    a revocation ends the certificate from its own date, so an event dated
    before it is still accepted (a future-dated revocation does not block an
    earlier suspension). A suspension or revocation that makes a past
    processing day not valid disputes the blocks of the lots processed then
    (`registry.disputes`), in this transaction.

    R-X5: the event changes its holder's standing as a generator (R-P2,
    R-E3, R-E4), so the holder's row is locked exclusively first (with the
    generators of the lots citing it, whose blocks it may dispute), then the
    certificate, then the blocks, then the log: a generation holding the
    shared lock commits before it, or waits and then sees the event."""
    cert = get_certificate(uow, number)
    holder = cert.participant_id  # a certificate's holder never changes
    generators = {lot.generator_id for lot in disputes.lots_citing(uow, cert)}
    locked = lock_participants(uow, {holder, *generators}, exclusive=True)
    if holder not in locked:
        get_participant(uow, holder, lock=True)  # 404 as before
    cert = get_certificate(uow, number, lock=True)
    _require_body(actor, cert.body_code)
    if not reason.strip():
        raise InvalidInput("a reason is required", field="reason")
    periods = periods_of(cert)
    if not certification.in_periods(on, periods):  # R-C5, over every validity period (R-C6)
        shown = ", ".join(f"{a} to {b}" for a, b in periods)
        raise RuleViolation(f"on {on} is outside the certificate's validity, {shown}", code="outside_validity",
                            field="on", rule="R-C5")
    events = events_of(uow, cert)
    revoked = [e.on for e in events if e.kind == certification.REVOKED]
    if revoked and on >= min(revoked):
        raise RuleViolation(f"the certificate is revoked from {min(revoked)}: nothing follows a revocation",
                            code="certificate_revoked", field="on", rule="R-C3")
    if kind == certification.REINSTATED and certification.status_on(
            on, periods, events) != certification.SUSPENDED:
        raise RuleViolation(f"the certificate is not suspended on {on}", code="not_suspended",
                            rule="R-C3")
    event = CertificateEvent(certificate_id=cert.id, kind=kind, on=on, reason=reason.strip(),
                             recorded_by=actor.user_id, created_at=uow.clock.now())
    lots, blocks = {}, []
    if kind in disputes.DISPUTING:  # R-C5
        after = [*events, certification.CertificateEvent(kind=kind, on=on, reason=event.reason)]
        lots = disputes.affected_lots(disputes.lots_citing(uow, cert), cert, events, after)
        blocks = disputes.lock_blocks_to_dispute(uow, lots)
    uow.session.add(event)
    uow.flush()
    finding = record(uow, f"certificate.{kind}", actor,
                     {"certificate": cert.number, "on": on.isoformat(), "reason": reason.strip(),
                      "event": event.id})
    disputes.mark(uow, actor, cert, event, finding, blocks, lots)
    announce.certificate_event(uow, cert, kind, on, reason.strip(), finding.index)  # R-N1
    return cert


# --- The public register (R-C4; RMS 5.2.6, 6.1.4.1, 7.1.3) ------------------------------------


@dataclass(frozen=True)
class Holder:
    participant_id: int
    name: str


@dataclass(frozen=True)
class HistoryEvent:
    """A suspension, reinstatement or revocation as the register shows it (R-C3)."""

    kind: str
    on: date
    reason: str
    recorded_at: datetime


@dataclass(frozen=True)
class RegisterEntry:
    """A certificate as anyone may read it: holder, body, scope, validity and
    status history (R-C4), so a buyer can check a supplier (RMS 6.1.4.1)."""

    number: str
    body_code: str
    holder: Holder
    issued_on: date
    expires_on: date
    activities: list[str]
    facility_scope: str
    facilities: list[dict]
    product_groups: list[str]
    control_systems: list[str]
    status_today: str
    history: list[HistoryEvent]
    # R-C6: every validity period (renewals), every scope version (amendments), a group's entity and members
    periods: list[dict] = field(default_factory=list)
    versions: list[dict] = field(default_factory=list)
    group_name: str | None = None
    members: list[Holder] = field(default_factory=list)

    @property
    def valid_today(self) -> bool:
        return self.status_today == "valid"


def _register_entries(uow: UnitOfWork, certs: list[RmsCertificate]) -> list[RegisterEntry]:
    """Register entries of these certificates: their holders' names and their
    events in two queries (plain reads, no locks)."""
    if not certs:
        return []
    people = {c.participant_id for c in certs} | {pid for c in certs for pid in versions_of(c)[-1].members}
    names = dict(uow.session.exec(select(Participant.id, Participant.name)
                                  .where(Participant.id.in_(people))).all())
    events: dict[int, list[CertificateEvent]] = {}
    for e in uow.session.exec(select(CertificateEvent).where(CertificateEvent.certificate_id.in_(
            [c.id for c in certs])).order_by(CertificateEvent.id)):
        events.setdefault(e.certificate_id, []).append(e)
    today = uow.clock.today()
    out = []
    for c in certs:
        mine = events.get(c.id, [])
        standing = certification.status_on(
            today, periods_of(c),
            [certification.CertificateEvent(kind=e.kind, on=e.on, reason=e.reason) for e in mine])
        history = sorted((HistoryEvent(e.kind, e.on, e.reason, e.created_at) for e in mine),
                         key=lambda h: h.on)  # in effect order; same-day events as recorded
        out.append(RegisterEntry(
            number=c.number, body_code=c.body_code, holder=Holder(c.participant_id, names[c.participant_id]),
            issued_on=c.issued_on, expires_on=c.expires_on, activities=list(c.activities),
            facility_scope=c.facility_scope, facilities=[dict(site) for site in c.facilities],
            product_groups=list(c.product_groups), control_systems=list(c.control_systems),
            status_today=standing, history=history,
            periods=[{"issued_on": a, "expires_on": b} for a, b in periods_of(c)],
            versions=[v.as_json() for v in versions_of(c)], group_name=c.group_name,
            members=[Holder(pid, names[pid]) for pid in versions_of(c)[-1].members]))
    return out


def lookup_certificate(uow: UnitOfWork, actor: Actor | None, number: str) -> RegisterEntry:
    """Public (R-C4): a certificate by its number. A number not of the form
    RMS-XXX-NNNNN is 400 ``invalid_certificate_number`` (R-C1); one that is
    not recorded, 404 ``certificate_not_found``."""
    certification.parse_certificate_number(number)
    return _register_entries(uow, [get_certificate(uow, number)])[0]


def list_register(uow: UnitOfWork, actor: Actor | None, *, participant: int | None = None,
                  limit: int = 100, cursor: str | None = None) -> Page:
    """Public (R-C4): the register, or one participant's certificates (those
    it holds and the group certificates it is a member of, R-C6), in the
    order they were recorded, paginated with an opaque cursor. An unknown
    participant is 404 ``participant_not_found``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit", code="out_of_range")
    after = 0
    if cursor is not None:
        after = decode_cursor(cursor)
        if not (after.isascii() and after.isdigit() and len(after) <= 18):
            raise InvalidInput("not a cursor from this API", field="cursor", code="invalid_cursor")
        after = int(after)
    if participant is not None:  # its own, and the group certificates that list it as a member (R-C6)
        get_participant(uow, participant)
        rows = [c for c in certificates_citable_by(uow, participant) if c.id > after][:limit + 1]
    else:
        query = select(RmsCertificate).where(RmsCertificate.id > after)
        rows = list(uow.session.exec(query.order_by(RmsCertificate.id).limit(limit + 1)))
    certs = rows[:limit]
    return Page(_register_entries(uow, certs), encode_cursor(str(certs[-1].id)) if len(rows) > limit else None)


def certificates_of(uow: UnitOfWork, participant_ids) -> dict[int, list[RegisterEntry]]:
    """Each participant's certificates, oldest first (the participants page, R-C4)."""
    wanted = sorted({i for i in participant_ids if i is not None})
    if not wanted:
        return {}
    certs = list(uow.session.exec(select(RmsCertificate).where(RmsCertificate.participant_id.in_(wanted))
                                  .order_by(RmsCertificate.id)))
    out: dict[int, list[RegisterEntry]] = {}
    for entry in _register_entries(uow, certs):
        out.setdefault(entry.holder.participant_id, []).append(entry)
    return out
