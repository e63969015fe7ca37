"""Users and bearer tokens (R-P4, R-P5).

Tokens are 256 random bits, shown once and stored only as their SHA-256:
a stolen database gives no usable token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from registry.db import UnitOfWork
from registry.errors import Conflict, InvalidInput, Unauthorized
from registry.models import ApiToken, User

ROLES = ("admin", "certifier", "member")
TOKEN_PREFIX = "arc_"


@dataclass(frozen=True)
class IssuedToken:
    id: int
    token: str  # the only time the secret is visible
    expires_at: datetime | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(uow: UnitOfWork, *, email: str, role: str, body_code: str | None = None,
                participant_id: int | None = None) -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput("not an email address", field="email", code="invalid_email")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role", rule="R-P4")
    if uow.session.exec(select(User).where(User.email == email)).first():
        raise Conflict(f"a user with email {email} exists", code="email_taken", field="email")
    user = User(email=email, role=role, body_code=body_code, participant_id=participant_id,
                created_at=uow.clock.now())
    uow.session.add(user)
    uow.flush()
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


def authenticate(uow: UnitOfWork, token: str) -> User:
    """The user a bearer token stands for; Unauthorized if none, revoked or expired."""
    row = uow.session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    now = uow.clock.now()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise Unauthorized("invalid, revoked or expired token", code="invalid_token", rule="R-P5")
    return uow.session.get(User, row.user_id)


def create_admin(uow: UnitOfWork, email: str) -> tuple[User, IssuedToken]:
    """Bootstrap (SPEC §13.1): a registry administrator and one token."""
    user = create_user(uow, email=email, role="admin")
    return user, issue_token(uow, user_id=user.id)
