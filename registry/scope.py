"""Who may act for whom (R-X10): certifiers act only for the participants
they certify, and a suspended participant registers nothing.

Each rule lives here once; the services call it at the top of the function
that needs it, and replay (`registry.replay`) applies the same pure predicate
(`registry.certification.held_in_year`) to the certificates it rebuilt from
the log.
"""

from __future__ import annotations


from registry.actors import Actor
from registry.certification import held_in_year
from registry.db import UnitOfWork
from registry.errors import Forbidden, RuleViolation
from registry.lockorder import lock_participant
from registry.models import Participant
from registry.rms_certificates import certificates_citable_by, events_of, periods_of


def certifies(uow: UnitOfWork, body_code: str | None, participant_id: int, year: int | None = None) -> bool:
    """The body has certified the participant: the participant holds an RMS
    certificate of that body (held in ``year``, when a year is given)."""
    if body_code is None:
        return False
    certificates = [c for c in certificates_citable_by(uow, participant_id) if c.body_code == body_code]
    return any(year is None or held_in_year(periods_of(c), [(e.kind, e.on) for e in events_of(uow, c)], year)
               for c in certificates)


def require_certifies(uow: UnitOfWork, actor: Actor, participant_id: int, year: int) -> None:
    """R-X10: a certifier records (or withdraws) a determination only for a
    facility of a participant that holds a certificate of its body in the
    determination's certification year. Admins are not bound to a body."""
    if actor.role != "certifier":
        return
    if not certifies(uow, actor.body_code, participant_id, year):
        raise Forbidden(f"body {actor.body_code} holds no RMS certificate of participant {participant_id} "
                        f"for {year}: a certifier acts only for the participants its body certifies",
                        code="not_certifying_body", rule="R-X10")


def may_read(uow: UnitOfWork, actor: Actor | None, participant_id: int) -> bool:
    """R-X4, R-X10: the participant's members and admins, and certifiers of a
    body that certifies it, read its non-public records (lots)."""
    if actor is None:
        return False
    if actor.acts_for(participant_id):
        return True
    return actor.role == "certifier" and certifies(uow, actor.body_code, participant_id)


def require_may_register(uow: UnitOfWork, participant_id: int) -> Participant:
    """R-X10, R-P3: a suspended participant registers nothing (facilities,
    lines, lots, dispositions). The participant row is read under a shared
    lock (R-X5, registry.lockorder: participant rows first), so a suspension
    committed meanwhile waits for this registration or is seen by it."""
    participant = lock_participant(uow, participant_id)
    if participant.status == "suspended":
        raise RuleViolation(f"participant {participant_id} is suspended: it registers nothing until "
                            "it is reinstated", code="participant_suspended", rule="R-X10")
    return participant
