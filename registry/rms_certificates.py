"""Recording RMS certificates and their suspensions and revocations (SPEC §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import select

from registry import certification, disputes
from registry.actors import Actor, require_role
from registry.db import UnitOfWork, for_update
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from registry.holdings import MAX_LIMIT, Page, decode_cursor, encode_cursor
from registry.journal import record
from registry.lockorder import lock_participants
from registry.models import CertificateEvent, Participant, RmsCertificate
from registry.participants import get_participant

ACTIVITIES = certification.ACTIVITIES
FACILITY_SCOPES = certification.FACILITY_SCOPES
CONTROL_SYSTEMS = certification.CONTROL_SYSTEMS


def certificate_payload(cert: RmsCertificate) -> dict:
    return {
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


def _require_body(actor: Actor, body_code: str) -> None:
    """R-C2: only a certifier of the issuing body (or an admin) records it."""
    require_role(actor, "certifier", "admin")
    if actor.role == "certifier" and actor.body_code != body_code:
        raise Forbidden(f"certificates of body {body_code} are recorded by that body only",
                        code="wrong_certification_body", rule="R-C2")


def record_certificate(uow: UnitOfWork, actor: Actor, *, participant_id: int, number: str,
                       issued_on: date, expires_on: date, activities: list[str], facility_scope: str,
                       product_groups: list[str], control_systems: list[str],
                       facilities: list[dict] | None = None) -> RmsCertificate:
    """R-C2: record a certificate as its body issued it, with the facilities it covers."""
    body_code = certification.parse_certificate_number(number).body
    _require_body(actor, body_code)
    certification.check_dates(issued_on, expires_on)
    certification.check_scope(activities, facility_scope, control_systems)
    sites = certification.check_facilities(facility_scope, facilities or [])
    participant = get_participant(uow, participant_id, lock=True)  # R-X5: its generator standing changes
    certification.require_north_america(participant.country)
    if uow.session.exec(select(RmsCertificate).where(RmsCertificate.number == number)).first():
        raise Conflict(f"certificate {number} is already recorded", code="certificate_exists",
                       field="number")
    cert = RmsCertificate(
        participant_id=participant.id, number=number, body_code=body_code, issued_on=issued_on,
        expires_on=expires_on, activities=sorted(set(activities)),
        facility_scope=facility_scope, product_groups=[g.strip() for g in product_groups],
        control_systems=sorted(set(control_systems)), facilities=sites,
        recorded_by=actor.user_id, created_at=uow.clock.now())
    uow.session.add(cert)
    uow.flush()
    record(uow, "certificate.recorded", actor, certificate_payload(cert))
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
    return certification.status_on(day, cert.issued_on, cert.expires_on, events_of(uow, cert))


def is_valid_on(uow: UnitOfWork, cert: RmsCertificate, day: date) -> bool:
    """R-C3: issue ≤ d ≤ expiry and neither suspended nor revoked on d."""
    return status_on(uow, cert, day) == "valid"


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
    if not cert.issued_on <= on <= cert.expires_on:  # R-C5
        raise RuleViolation(f"on {on} is outside the certificate's validity, {cert.issued_on} to "
                            f"{cert.expires_on}", code="outside_validity", field="on", rule="R-C5")
    events = events_of(uow, cert)
    revoked = [e.on for e in events if e.kind == certification.REVOKED]
    if revoked and on >= min(revoked):
        raise RuleViolation(f"the certificate is revoked from {min(revoked)}: nothing follows a revocation",
                            code="certificate_revoked", field="on", rule="R-C3")
    if kind == certification.REINSTATED and certification.status_on(
            on, cert.issued_on, cert.expires_on, events) != certification.SUSPENDED:
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

    @property
    def valid_today(self) -> bool:
        return self.status_today == "valid"


def _register_entries(uow: UnitOfWork, certs: list[RmsCertificate]) -> list[RegisterEntry]:
    """Register entries of these certificates: their holders' names and their
    events in two queries (plain reads, no locks)."""
    if not certs:
        return []
    names = dict(uow.session.exec(select(Participant.id, Participant.name)
                                  .where(Participant.id.in_({c.participant_id for c in certs}))).all())
    events: dict[int, list[CertificateEvent]] = {}
    for e in uow.session.exec(select(CertificateEvent).where(CertificateEvent.certificate_id.in_(
            [c.id for c in certs])).order_by(CertificateEvent.id)):
        events.setdefault(e.certificate_id, []).append(e)
    today = uow.clock.today()
    out = []
    for c in certs:
        mine = events.get(c.id, [])
        standing = certification.status_on(
            today, c.issued_on, c.expires_on,
            [certification.CertificateEvent(kind=e.kind, on=e.on, reason=e.reason) for e in mine])
        history = sorted((HistoryEvent(e.kind, e.on, e.reason, e.created_at) for e in mine),
                         key=lambda h: h.on)  # in effect order; same-day events as recorded
        out.append(RegisterEntry(
            number=c.number, body_code=c.body_code, holder=Holder(c.participant_id, names[c.participant_id]),
            issued_on=c.issued_on, expires_on=c.expires_on, activities=list(c.activities),
            facility_scope=c.facility_scope, facilities=[dict(site) for site in c.facilities],
            product_groups=list(c.product_groups), control_systems=list(c.control_systems),
            status_today=standing, history=history))
    return out


def lookup_certificate(uow: UnitOfWork, actor: Actor | None, number: str) -> RegisterEntry:
    """Public (R-C4): a certificate by its number. A number not of the form
    RMS-XXX-NNNNN is 400 ``invalid_certificate_number`` (R-C1); one that is
    not recorded, 404 ``certificate_not_found``."""
    certification.parse_certificate_number(number)
    return _register_entries(uow, [get_certificate(uow, number)])[0]


def list_register(uow: UnitOfWork, actor: Actor | None, *, participant: int | None = None,
                  limit: int = 100, cursor: str | None = None) -> Page:
    """Public (R-C4): the register, or one participant's certificates, in the
    order they were recorded, paginated with an opaque cursor. An unknown
    participant is 404 ``participant_not_found``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit", code="out_of_range")
    query = select(RmsCertificate)
    if participant is not None:
        get_participant(uow, participant)
        query = query.where(RmsCertificate.participant_id == participant)
    if cursor is not None:
        after = decode_cursor(cursor)
        if not (after.isascii() and after.isdigit() and len(after) <= 18):
            raise InvalidInput("not a cursor from this API", field="cursor", code="invalid_cursor")
        query = query.where(RmsCertificate.id > int(after))
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
