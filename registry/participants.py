"""Participants: registration, activation, suspension (SPEC §3, R-P1, R-P3)."""

from __future__ import annotations

from datetime import date

from registry.actors import Actor, require_role
from registry.countries import parse_country
from registry.db import UnitOfWork
from registry.lockorder import lock_participant
from registry.errors import InvalidInput, NotFound, RuleViolation
from registry.journal import record
from registry.models import Participant
from registry.names import check_name

# R-E4: removal as a generator is not a status (Participant.generator_removed_on).
STATUSES = ("pending", "active", "suspended")


def participant_payload(participant: Participant) -> dict:
    """The participant's state as the log records it (replayed by verification)."""
    return {
        "participant": participant.id,
        "name": participant.name,
        "country": participant.country,
        "status": participant.status,
        "gpp_signed_on": participant.gpp_signed_on.isoformat() if participant.gpp_signed_on else None,
    }


def get_participant(uow: UnitOfWork, participant_id: int, *, lock: bool = False) -> Participant:
    """The participant; with ``lock``, under the exclusive lock of a write
    that changes it (R-X5: stage 1 of the lock order, registry.lockorder)."""
    if lock:
        return lock_participant(uow, participant_id, exclusive=True)
    participant = uow.session.get(Participant, participant_id)
    if participant is None:
        raise NotFound(f"no participant {participant_id}", code="participant_not_found")
    return participant


def read_participant(uow: UnitOfWork, actor: Actor, participant_id: int) -> Participant:
    # R-X4: someone who may not read it learns nothing about its existence.
    participant = uow.session.get(Participant, participant_id)
    if participant is None or not actor.acts_for(participant_id):
        raise NotFound(f"no participant {participant_id}", code="participant_not_found")
    return participant


def register_participant(uow: UnitOfWork, actor: Actor, *, name: str, country: str,
                         gpp_signed_on: date | None) -> Participant:
    require_role(actor, "admin")
    name = check_name("name", name)  # R-R5: no invisible characters, no look-alike scripts
    if not name:
        raise InvalidInput("a participant needs a name", field="name")
    if gpp_signed_on is not None and gpp_signed_on > uow.clock.today():
        raise InvalidInput("the commitment cannot be signed in the future", field="gpp_signed_on",
                           code="date_in_future", rule="R-P1")
    participant = Participant(name=name, country=parse_country(country), status="pending",
                              gpp_signed_on=gpp_signed_on, created_at=uow.clock.now())
    uow.session.add(participant)
    uow.flush()
    record(uow, "participant.registered", actor, participant_payload(participant))
    return participant


def activate_participant(uow: UnitOfWork, actor: Actor, participant_id: int) -> Participant:
    require_role(actor, "admin")
    participant = get_participant(uow, participant_id, lock=True)
    if participant.status == "active":
        raise RuleViolation("the participant is already active", code="already_active")
    if participant.gpp_signed_on is None:
        # RMS 4.2.1, 8.1.3: the Good Practice Principles commitment comes first.
        raise RuleViolation("no signed Good Practice Principles commitment", code="gpp_not_signed",
                            rule="R-P1")
    participant.status = "active"
    uow.flush()
    record(uow, "participant.activated", actor, participant_payload(participant))
    return participant


def suspend_participant(uow: UnitOfWork, actor: Actor, participant_id: int, *, reason: str) -> Participant:
    require_role(actor, "admin")
    if not reason.strip():
        raise InvalidInput("a suspension needs a reason", field="reason")
    participant = get_participant(uow, participant_id, lock=True)
    if participant.status != "active":
        raise RuleViolation(f"only an active participant can be suspended (it is {participant.status})",
                            code="participant_inactive", rule="R-P3")
    # R-P3: its holdings become inactive; nothing is lost.
    participant.status = "suspended"
    uow.flush()
    record(uow, "participant.suspended", actor, {**participant_payload(participant), "reason": reason})
    return participant


def require_active(participant: Participant, role: str = "participant") -> None:
    """R-P3: only an active participant holds, moves or receives certificates."""
    if participant.status != "active":
        raise RuleViolation(f"the {role} ({participant.id}) is {participant.status}, not active",
                            code="participant_inactive", rule="R-P3")
