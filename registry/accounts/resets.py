"""One-time password reset links (R-W1: an administrator starts a reset; no email
server is assumed — the administrator hands the link over).

A link is a random 256-bit secret; the table keeps its SHA-256. It works once,
until it expires (``ARCREG_RESET_LINK_HOURS``, default 24), and only the newest
link of a user works. Using it sets the new password and ends every session of
the user; a link made with ``clears_totp`` also removes the second factor (a
lost phone and lost recovery codes), which an administrator or certifier then
enrols again at the next sign-in. The first administrator's link comes from
the command line (``arcreg reset-link EMAIL``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from registry.accounts import signin
from registry.accounts.models import PasswordReset
from registry.actors import Actor, require_role
from registry.db import UnitOfWork, for_update
from registry.errors import Conflict, NotFound, RuleViolation
from registry.identity import hash_token
from registry.models import User

RESET_PREFIX = "rst_"
DEFAULT_LIFETIME = timedelta(hours=24)


def create_link(uow: UnitOfWork, actor: Actor, user_id: int, *, lifetime: timedelta = DEFAULT_LIFETIME,
                clears_totp: bool = False) -> str:
    """A new link's secret (shown once); the user's earlier unused links stop working."""
    require_role(actor, "admin")
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", code="user_not_found")
    if user.disabled_at is not None:
        raise Conflict(f"user {user.email} is disabled: enable it first", code="user_disabled", rule="R-X7")
    now = uow.clock.now()
    uow.session.execute(update(PasswordReset).where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None),
                                                    PasswordReset.expires_at > now).values(expires_at=now))
    secret = RESET_PREFIX + secrets.token_urlsafe(32)
    uow.session.add(PasswordReset(user_id=user_id, secret_hash=hash_token(secret), created_by=actor.user_id,
                                  created_at=now, expires_at=now + lifetime, clears_totp=clears_totp))
    uow.flush()
    return secret


def _live(uow: UnitOfWork, secret: str, *, lock: bool) -> tuple[PasswordReset, User] | None:
    if not secret:
        return None
    query = select(PasswordReset).where(PasswordReset.secret_hash == hash_token(secret))
    row = uow.session.exec(for_update(query) if lock else query).first()
    if row is None or row.used_at is not None or row.expires_at <= uow.clock.now():
        return None
    user = uow.session.get(User, row.user_id)
    return None if user.disabled_at is not None else (row, user)


def link_user(uow: UnitOfWork, secret: str) -> User | None:
    """The user a live link is for, or None (unknown, used, expired, superseded)."""
    found = _live(uow, secret, lock=False)
    return None if found is None else found[1]


def use_link(uow: UnitOfWork, secret: str, new_password: str) -> User:
    """Set the password through the link, once. The link's row is locked: two uses
    racing, one wins."""
    found = _live(uow, secret, lock=True)
    if found is None:
        raise RuleViolation("this reset link was used already, has expired, or was replaced by a newer one: ask "
                            "an administrator for a new link", code="reset_link_invalid", rule="R-W1")
    row, user = found
    signin.set_password(uow, user, new_password)  # ends every session of the user
    if row.clears_totp:
        signin.clear_second_factor(uow, signin.login_of(uow, user.id, lock=True))
    row.used_at = uow.clock.now()
    uow.flush()
    return user
