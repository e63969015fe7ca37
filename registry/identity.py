"""Users and bearer tokens (R-P4, R-P5).

Tokens are 256 random bits, shown once and stored only as their SHA-256:
a stolen database gives no usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from registry import staff_roles
from registry.actors import SYSTEM, Actor, require_role
from registry.db import UnitOfWork, get_for_update
from registry.errors import Conflict, InvalidInput, NotFound, Unauthorized
from registry.models import ApiToken, Participant, User

ROLES = ("admin", "certifier", "member")
TOKEN_PREFIX = "arc_"


@dataclass(frozen=True)
class IssuedToken:
    id: int
    token: str  # the only time the secret is visible
    expires_at: datetime | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BODY_CODE = re.compile(r"^[A-Z]{3}$")


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, body_code=user.body_code,
                 participant_id=user.participant_id)


def create_user(uow: UnitOfWork, *, email: str, role: str, body_code: str | None = None,
                participant_id: int | None = None, actor: Actor = SYSTEM) -> User:
    """A user; a staff role (admin, certifier) it is created with is logged, by
    ``actor``, in the same transaction (R-L7b, `registry.staff_roles`)."""
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise InvalidInput("not an email address", field="email", code="invalid_email")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role", rule="R-P4")
    if role == "certifier" and (body_code is None or not _BODY_CODE.match(body_code)):
        # R-C2: a certifier acts for one certification body, named by its code.
        raise InvalidInput("a certifier needs the body's three capital letters", field="body_code",
                           code="invalid_body_code", rule="R-P4")
    if role != "certifier" and body_code is not None:
        raise InvalidInput("only a certifier has a body code", field="body_code", rule="R-P4")
    if uow.session.exec(select(User).where(User.email == email)).first():
        raise Conflict(f"a user with email {email} exists", code="email_taken", field="email")
    user = User(email=email, role=role, body_code=body_code, participant_id=participant_id,
                created_at=uow.clock.now())
    uow.session.add(user)
    uow.flush()
    staff_roles.record_grant(uow, actor, user)
    return user


def issue_token(uow: UnitOfWork, *, user_id: int, expires_at: datetime | None = None) -> IssuedToken:
    if expires_at is not None and expires_at <= uow.clock.now():
        raise InvalidInput("expires_at must be in the future", field="expires_at", rule="R-P5")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 32 bytes = 256 bits (R-P5)
    row = ApiToken(user_id=user_id, token_hash=hash_token(token), created_at=uow.clock.now(),
                   expires_at=expires_at)
    uow.session.add(row)
    uow.flush()
    return IssuedToken(id=row.id, token=token, expires_at=expires_at)


def add_staff_user(uow: UnitOfWork, actor: Actor, *, email: str, role: str,
                   body_code: str | None = None) -> User:
    """POST /users: registry staff (admin) or a certification body's user."""
    require_role(actor, "admin")
    if role not in ("admin", "certifier"):
        raise InvalidInput("staff users are admin or certifier; members are added to a participant",
                           field="role", rule="R-P4")
    return create_user(uow, email=email, role=role, body_code=body_code, actor=actor)


def add_member(uow: UnitOfWork, actor: Actor, participant_id: int, *, email: str) -> User:
    """POST /participants/{id}/users: a user acting for that participant."""
    require_role(actor, "admin")
    if uow.session.get(Participant, participant_id) is None:
        raise NotFound(f"no participant {participant_id}", code="participant_not_found")
    return create_user(uow, email=email, role="member", participant_id=participant_id)


def create_token_for(uow: UnitOfWork, actor: Actor, user_id: int, *,
                     expires_at: datetime | None) -> IssuedToken:
    """POST /users/{id}/tokens: an administrator, or the user for itself."""
    if not (actor.is_admin or actor.user_id == user_id) or uow.session.get(User, user_id) is None:
        raise NotFound(f"no user {user_id}", code="user_not_found", rule="R-X4")
    return issue_token(uow, user_id=user_id, expires_at=expires_at)


def revoke_token(uow: UnitOfWork, actor: Actor, token_id: int) -> None:
    """DELETE /tokens/{id}: the token's user or an administrator (R-P5)."""
    row = get_for_update(uow.session, ApiToken, token_id)
    if row is None or not (actor.is_admin or actor.user_id == row.user_id):
        raise NotFound(f"no token {token_id}", code="token_not_found", rule="R-X4")
    if row.revoked_at is None:
        row.revoked_at = uow.clock.now()
        uow.flush()


def authenticate(uow: UnitOfWork, token: str) -> User:
    """The user a bearer token stands for; Unauthorized if none, revoked or expired (R-P5).

    The row is found by the SHA-256 of the presented token: the database
    compares hashes, whose timing tells nothing usable about any stored token
    (matching a prefix of a hash gives no preimage). The match is then
    confirmed in constant time, so no secret is ever compared byte by byte.
    """
    presented = hash_token(token)
    found = uow.session.exec(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                             .where(ApiToken.token_hash == presented)).first()
    row, user = found if found is not None else (None, None)
    now = uow.clock.now()
    if (row is None or not hmac.compare_digest(row.token_hash.encode(), presented.encode())
            or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now)):
        raise Unauthorized("invalid, revoked or expired token", code="invalid_token", rule="R-P5")
    return user


def create_admin(uow: UnitOfWork, email: str) -> tuple[User, IssuedToken]:
    """Bootstrap (SPEC §13.1): a registry administrator and one token."""
    user = create_user(uow, email=email, role="admin")
    return user, issue_token(uow, user_id=user.id)
