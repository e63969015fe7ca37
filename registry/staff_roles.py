"""Staff roles are log entries (R-L7b, R-P4).

Granting or revoking a registry role that carries power over other
participants' objects — ``admin`` (registry staff) or ``certifier`` (a
certification body's user, R-C2) — writes one entry in the same transaction
as the change (R-X3): ``user.role_granted`` {user, role, body} or
``user.role_revoked`` {user, role}. The payload holds the user's id, the
role and, for a certifier, the body's three-letter code: no personal data
(the email stays in the users table only). Replay derives every user's
staff role from these entries (`registry.replay.staff_roles`) and
`arcreg verify` holds the users table to it, so a role written into the
table directly is named. Members are not logged: a member acts only for its
participant, which its own entries show.

Registries whose staff users predate this got one ``user.role_granted``
entry per staff user from migration 0012 (docs/decisions.md).
"""

from __future__ import annotations

from registry.actors import Actor
from registry.db import UnitOfWork
from registry.journal import LogRef, record
from registry.models import User

STAFF_ROLES = ("admin", "certifier")


def grant_payload(user_id: int, role: str, body_code: str | None) -> dict:
    """The entry's payload: id, role, body (certifiers only; None for an admin)."""
    return {"user": user_id, "role": role, "body": body_code if role == "certifier" else None}


def record_grant(uow: UnitOfWork, actor: Actor, user: User) -> LogRef | None:
    """Log the staff role ``user`` was just created with (nothing for a member)."""
    if user.role not in STAFF_ROLES:
        return None
    return record(uow, "user.role_granted", actor, grant_payload(user.id, user.role, user.body_code))
