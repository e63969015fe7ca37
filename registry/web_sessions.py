"""Server-side sessions of the registry's pages (R-X7; reused by R-W1's sign-in).

A browser that signs in gets a random 256-bit secret in a cookie; the table
keeps only its SHA-256, the user, how it was established (``method``), and
the token it was established with, if any. A session expires (the configured
length, and never after that token), is revoked on sign-out and when that
token is revoked (``identity.revoke_tree``), and stops when its user is
disabled. The cookie never holds an API token.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from sqlmodel import select

from registry.db import UnitOfWork
from registry.identity import lock_live_token, hash_token
from registry.models import User, WebSession

SESSION_PREFIX = "ses_"
SIGNED_IN_WITH_TOKEN = "api_token"


def open_session(uow: UnitOfWork, *, user_id: int, method: str, lifetime: timedelta,
                 token_id: int | None = None) -> str:
    """A new session for the user; returns its secret (the cookie's value), shown only here.
    With ``token_id`` the token is locked and must still be live (a concurrent revocation
    then sees the session and ends it), and the session ends no later than the token."""
    now = uow.clock.now()
    expires_at = now + lifetime
    if token_id is not None:
        expires_at = min(expires_at, lock_live_token(uow, token_id).expires_at)
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    uow.session.add(WebSession(secret_hash=hash_token(secret), user_id=user_id, method=method,
                               token_id=token_id, created_at=now, expires_at=expires_at))
    uow.flush()
    return secret


def session_user(uow: UnitOfWork, secret: str) -> User | None:
    """The user of a live session, or None: unknown, revoked, expired, or its user disabled.
    One indexed query, the session's hash joined with its user."""
    if not secret:
        return None
    presented = hash_token(secret)
    found = uow.session.exec(select(WebSession, User).join(User, User.id == WebSession.user_id)
                             .where(WebSession.secret_hash == presented)).first()
    if found is None:
        return None
    row, user = found
    if (not hmac.compare_digest(row.secret_hash.encode(), presented.encode()) or row.revoked_at is not None
            or row.expires_at <= uow.clock.now() or user.disabled_at is not None):
        return None
    return user


def close_session(uow: UnitOfWork, secret: str) -> None:
    """Sign-out: the session is revoked server-side, so its cookie is worthless even if kept."""
    if not secret:
        return
    row = uow.session.exec(select(WebSession).where(WebSession.secret_hash == hash_token(secret))).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = uow.clock.now()
        uow.flush()
