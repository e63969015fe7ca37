"""Removal of generators that lost eligibility for more than a year, and
forfeiture of the certificates they still hold (R-E4, RMS 8.5.3).

RMS 8.5.3: a generator without a valid RMS certificate for more than one
year is removed from the registry; the ARCs it generated and still holds are
forfeited. Certificates it sold stay with their buyers (RMS 8.5.1). Not being
able to generate meanwhile (R-E3) is enforced at generation itself.

Removal ends the registration as an ARC generator, not the account (SPEC
§16, RMS 8.1.2): it is ``Participant.generator_removed_on``, not a status.
The participant keeps its status, and what it acquired from others stays
its own and usable; no block is left active yet unmovable. The log entry is
``participant.generator_removed``; registries written before this recorded
``participant.removed`` with status "removed", which replay reads as the
same removal (migration 0011 restored the status the participant had).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from sqlmodel import select

from registry import certification
from registry.actors import SYSTEM
from registry.blocks import end_block
from registry.calendar import one_year_after
from registry.db import UnitOfWork, for_update
from registry.errors import RuleViolation
from registry.journal import record
from registry.lockorder import lock_participants
from registry.models import Block, CertificateEvent, Participant, RmsCertificate
from registry.participants import participant_payload

ONE_DAY = timedelta(days=1)


def _last_valid_day(certificate, events, today: date) -> date | None:
    """The last day up to ``today`` on which the certificate was valid (R-C3).

    Its standing only changes on its issue date, the day after its expiry
    and on event dates, so the last valid day is ``min(expiry, today)`` or
    the day before some event: check those few candidates with the rule
    itself (``certification.status_on``) instead of re-deriving it.
    """
    periods = certification.period_list(getattr(certificate, "periods", None)
                                        or [(certificate.issued_on, certificate.expires_on)])  # R-C6
    candidates = {min(b, today) for _, b in periods} | {e.on - ONE_DAY for e in events}
    valid = [d for d in candidates if d <= today and certification.is_valid_on(d, periods, events)]
    return max(valid, default=None)


def inactive_since(certificates: Iterable, events: Mapping[str, Iterable[certification.CertificateEvent]],
                   today: date) -> date | None:
    """The first day of the current period without any valid certificate:
    the day after the last day any of ``certificates`` was valid.

    ``certificates`` are the participant's reprocessing certificates (objects
    with ``number``, ``issued_on``, ``expires_on``); ``events`` their
    suspensions, reinstatements and revocations by number. None when one is
    valid today, or when none was ever valid (it never was a generator).
    """
    last = [_last_valid_day(c, list(events.get(c.number, ())), today) for c in certificates]
    last = [d for d in last if d is not None]
    if not last or max(last) >= today:
        return None
    return max(last) + ONE_DAY


def removal_due(since: date | None, today: date) -> bool:
    """R-E4 "for more than one year": inactive since 2027-01-01 (a
    certificate that expired 2026-12-31) completes its year on the
    anniversary, 2028-01-01; it is removed from 2028-01-02."""
    return since is not None and today > one_year_after(since)


def _reprocessing_certificates(uow: UnitOfWork) -> dict[int, list[RmsCertificate]]:
    """Certificates covering reprocessing (R-P2), by participant not yet removed as a generator."""
    query = (select(RmsCertificate).join(Participant, Participant.id == RmsCertificate.participant_id)
             .where(Participant.generator_removed_on.is_(None))
             .execution_options(populate_existing=True))  # the second read, under the locks, is fresh
    by_participant: dict[int, list[RmsCertificate]] = defaultdict(list)
    for cert in uow.session.exec(query):
        if "reprocessing" in cert.activities and cert.facility_scope != "group":
            by_participant[cert.participant_id].append(cert)
    # R-C6: a group certificate certifies its members (each generates under it for its own sites)
    active = set(uow.session.exec(select(Participant.id).where(Participant.generator_removed_on.is_(None))))
    groups = (select(RmsCertificate).where(RmsCertificate.facility_scope == "group")
              .execution_options(populate_existing=True))
    for cert in uow.session.exec(groups):
        if "reprocessing" in cert.activities:
            for member in (cert.versions[-1]["members"] if cert.versions else []):
                if member in active:
                    by_participant[member].append(cert)
    return by_participant


def _events(uow: UnitOfWork, certificates: list[RmsCertificate]) -> dict[str, list]:
    numbers = {c.id: c.number for c in certificates}
    query = (select(CertificateEvent).where(CertificateEvent.certificate_id.in_(list(numbers)))
             .order_by(CertificateEvent.id).execution_options(populate_existing=True))
    events: dict[str, list] = defaultdict(list)
    for e in uow.session.exec(query):
        events[numbers[e.certificate_id]].append(certification.CertificateEvent(e.kind, e.on, e.reason))
    return events


def _due(uow: UnitOfWork, today: date) -> dict[int, date]:
    """Participants due for removal today, with the day they became inactive."""
    certificates = _reprocessing_certificates(uow)
    events = _events(uow, [c for certs in certificates.values() for c in certs])
    due = {}
    for participant_id in sorted(certificates):
        since = inactive_since(certificates[participant_id], events, today)
        if removal_due(since, today):
            due[participant_id] = since
    return due


def run_removal(uow: UnitOfWork) -> dict:
    """Remove every generator due for removal and forfeit what it generated
    and still holds. Returns ``{"removed": n, "forfeited": m}``.

    R-X5: every participant to remove is locked exclusively first, all in one
    sorted statement (``lock_participants``), before any block and the log;
    then which are due is decided again on what the locks protect (a
    certificate reinstated meanwhile locked the participant too)."""
    today = uow.clock.today()
    candidates = _due(uow, today)
    if not candidates:
        return {"removed": 0, "forfeited": 0}
    locked = lock_participants(uow, candidates, exclusive=True)
    due = {p: since for p, since in _due(uow, today).items() if p in locked}
    removed = forfeited = 0
    for participant_id in sorted(due):
        participant = locked[participant_id]
        if participant.generator_removed_on is not None:  # removed meanwhile by a racing run
            continue
        forfeited += _remove(uow, participant, due[participant_id])
        removed += 1
    return {"removed": removed, "forfeited": forfeited}


def _remove(uow: UnitOfWork, participant: Participant, since: date) -> int:
    # Lock order (R-X5): the participant (locked by run_removal), its blocks
    # (by serial), then the log (on the first append).
    participant_id = participant.id
    today = uow.clock.today()
    # Blocks past their use period are expiry's (R-E1), which runs first.
    blocks = list(uow.session.exec(for_update(
        select(Block).where(Block.owner_id == participant_id, Block.generator_id == participant_id,
                            Block.state == "active", Block.generation_year >= today.year - 1,
                            # R-C5: a disputed block waits for the administrator's decision (SPEC §16)
                            Block.disputed.is_(False))
        .order_by(Block.serial))))
    # R-E4: the generator registration ends; the account and its status stay (RMS 8.1.2).
    participant.generator_removed_on = today
    uow.flush()
    record(uow, "participant.generator_removed", SYSTEM, {
        **participant_payload(participant), "generator_removed_on": today.isoformat(),
        "inactive_since": since.isoformat(),
        "reason": "no valid RMS certificate covering reprocessing for more than one year (RMS 8.5.3)"})
    for block in blocks:
        end_block(uow, block, "forfeited", "block.forfeited", SYSTEM, participant=participant_id)
    uow.flush()
    return len(blocks)


def require_registered_generator(participant: Participant) -> None:
    """R-E4: a participant removed as a generator generates no more ARCs; it
    still holds, trades and retires what it has (RMS 8.1.2)."""
    if participant.generator_removed_on is not None:
        raise RuleViolation(f"participant {participant.id} was removed as an ARC generator on "
                            f"{participant.generator_removed_on} (RMS 8.5.3)", code="generator_removed",
                            rule="R-E4")
