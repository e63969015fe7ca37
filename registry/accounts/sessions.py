"""Server-side sessions of people signed in to the pages (R-W1, R-X7).

A browser that signs in gets a random 256-bit secret in a cookie; the table
(``web_session``) keeps only its SHA-256, the user, and how far the sign-in
got (``method``). A session ends at the first of: its absolute expiry
(``ARCREG_SESSION_HOURS``), its idle expiry (``ARCREG_SESSION_IDLE_MINUTES``
with no request), sign-out, a password change or reset, and its user being
disabled (checked on every request as well as revoked at the time).

A sign-in that still owes a step gets a *pending* session, good only for
that step and for ``PENDING_LIFETIME``: the second factor (``PENDING_CODE``),
or, for an administrator or certifier without one, enrolling it
(``PENDING_ENROL``). Finishing the step replaces the pending session by a
new one with a new secret.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from registry.db import UnitOfWork
from registry.identity import hash_token
from registry.models import User, WebSession

SESSION_PREFIX = "ses_"
PASSWORD = "password"  # a member without a second factor
PASSWORD_TOTP = "password+totp"
PASSWORD_RECOVERY = "password+recovery"
SIGNED_IN = (PASSWORD, PASSWORD_TOTP, PASSWORD_RECOVERY)
PENDING_CODE = "pending:code"
PENDING_ENROL = "pending:enrol"
PENDING_LIFETIME = timedelta(minutes=10)
# The idle clock is moved on at most once a minute: a page view then costs no write.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetimes:
    absolute: timedelta
    idle: timedelta


def open_session(uow: UnitOfWork, *, user_id: int, method: str, lifetimes: Lifetimes) -> str:
    """A new session; returns its secret (the cookie's value), shown only here."""
    now = uow.clock.now()
    lifetime = PENDING_LIFETIME if method not in SIGNED_IN else lifetimes.absolute
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    uow.session.add(WebSession(secret_hash=hash_token(secret), user_id=user_id, method=method,
                               created_at=now, expires_at=now + lifetime, last_seen_at=now))
    uow.flush()
    return secret


def find(uow: UnitOfWork, secret: str, *, idle: timedelta) -> tuple[WebSession, User] | None:
    """The live session and its user, or None: unknown, revoked, expired, idle too long,
    or its user disabled. One indexed query, the session's hash joined with its user."""
    if not secret:
        return None
    presented = hash_token(secret)
    found = uow.session.exec(select(WebSession, User).join(User, User.id == WebSession.user_id)
                             .where(WebSession.secret_hash == presented)).first()
    if found is None:
        return None
    row, user = found
    now = uow.clock.now()
    if (not hmac.compare_digest(row.secret_hash.encode(), presented.encode()) or row.revoked_at is not None
            or row.expires_at <= now or (row.last_seen_at or row.created_at) + idle <= now
            or user.disabled_at is not None):
        return None
    return row, user


def touch(uow: UnitOfWork, row: WebSession) -> bool:
    """Move the idle clock on (at most once per ``TOUCH_EVERY``); True if it wrote."""
    now = uow.clock.now()
    if now - (row.last_seen_at or row.created_at) < TOUCH_EVERY:
        return False
    uow.session.execute(update(WebSession).where(WebSession.id == row.id, WebSession.revoked_at.is_(None))
                        .values(last_seen_at=now))
    return True


def close_session(uow: UnitOfWork, secret: str) -> None:
    """Sign-out: the session is revoked server-side, so its cookie is worthless even if kept."""
    if not secret:
        return
    uow.session.execute(update(WebSession).where(WebSession.secret_hash == hash_token(secret),
                                                 WebSession.revoked_at.is_(None))
                        .values(revoked_at=uow.clock.now()))


def revoke_user_sessions(uow: UnitOfWork, user_id: int) -> None:
    """Every session of the user ends now (password changed or reset, R-W1)."""
    uow.session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
                        .values(revoked_at=uow.clock.now()))
