"""Users and bearer tokens (R-P4, R-P5, R-X7).

Tokens are 256 random bits, shown once and stored only as their SHA-256:
a stolen database gives no usable token.

R-X7, token lineage: a token records the token whose request created it
(``parent_token_id``); it always has an expiry, never later than its
parent's nor than its creation + the maximum lifetime (configurable,
default 365 days). Revoking a token revokes its descendants, and the
sessions signed in with any of them, in the same transaction
(``revoke_token``), so authentication stays one indexed query
(``authenticate_token``): the token row joined with its user, whose
``disabled_at`` stops all its tokens at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select

from registry import staff_roles
from registry.actors import SYSTEM, Actor, require_role
from registry.config import DEFAULT_TOKEN_MAX_LIFETIME_DAYS
from registry.db import UnitOfWork, for_update, get_for_update
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation, Unauthorized
from registry.lockorder import lock_participant
from registry.models import ApiToken, Participant, User, WebSession

ROLES = ("admin", "certifier", "member")
TOKEN_PREFIX = "arc_"
DEFAULT_MAX_LIFETIME = timedelta(days=DEFAULT_TOKEN_MAX_LIFETIME_DAYS)
# R-X7: a participant whose users may not create tokens (SPEC §16: removal as a generator is
# not a status and ends no account, so only suspension stops new tokens).
NO_NEW_TOKENS = ("suspended",)
_IN_CHUNK = 500  # ids per IN (...) list: far below every driver's parameter limit


@dataclass(frozen=True)
class IssuedToken:
    id: int
    token: str  # the only time the secret is visible
    expires_at: datetime
    parent_token_id: int | None = None
    label: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BODY_CODE = re.compile(r"^[A-Z]{3}$")


def actor_of(user: User, token_id: int | None = None) -> Actor:
    return Actor(user_id=user.id, role=user.role, body_code=user.body_code,
                 participant_id=user.participant_id, token_id=token_id)


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


def token_expiry(now: datetime, requested: datetime | None, *, max_lifetime: timedelta,
                 parent_expires_at: datetime | None) -> datetime:
    """R-X7: the expiry of a new token. Omitted: the earliest of now + the maximum
    lifetime and the parent's expiry. Given: it must be in the future (R-P5, 400), and
    is refused (422, field ``expires_at``) beyond the maximum lifetime or the parent's
    expiry, never silently shortened."""
    ceiling = now + max_lifetime
    if requested is None:
        return ceiling if parent_expires_at is None else min(ceiling, parent_expires_at)
    if requested <= now:
        raise InvalidInput("expires_at must be in the future", field="expires_at", rule="R-P5")
    if requested > ceiling:
        raise RuleViolation(f"a token lives at most {max_lifetime.days} days: expires_at must be no later "
                            f"than {ceiling.isoformat()}", code="token_lifetime_exceeded", field="expires_at",
                            rule="R-X7")
    if parent_expires_at is not None and requested > parent_expires_at:
        raise RuleViolation("a token expires no later than the token that created it, which expires at "
                            f"{parent_expires_at.isoformat()}", code="token_outlives_parent", field="expires_at",
                            rule="R-X7")
    return requested


def _require_may_get_tokens(uow: UnitOfWork, user: User) -> None:
    """R-X7: a disabled user, or a user of a suspended participant, gets no new token. The
    participant row is read under a shared lock (R-X5: participants first), so a suspension
    committed meanwhile waits for this issue or is seen by it."""
    if user.disabled_at is not None:
        raise Conflict(f"user {user.id} is disabled", code="user_disabled", rule="R-X7")
    if user.participant_id is not None:
        participant = lock_participant(uow, user.participant_id)
        if participant.status in NO_NEW_TOKENS:
            raise Forbidden(f"participant {participant.id} is {participant.status}: its users cannot create "
                            "tokens until it is reinstated", code="participant_suspended", rule="R-X7")


def lock_live_token(uow: UnitOfWork, token_id: int) -> ApiToken:
    """The token under a row lock, refused if it was revoked or expired meanwhile: with the
    lock, a concurrent revocation either sees what this transaction creates from the token
    (and revokes it too) or is seen here (R-X7)."""
    row = get_for_update(uow.session, ApiToken, token_id)
    if row is None or row.revoked_at is not None or row.expires_at <= uow.clock.now():
        raise Unauthorized("invalid, revoked or expired token", code="invalid_token", rule="R-P5")
    return row


def issue_token(uow: UnitOfWork, *, user_id: int, expires_at: datetime | None = None,
                parent_token_id: int | None = None, max_lifetime: timedelta = DEFAULT_MAX_LIFETIME,
                label: str | None = None) -> IssuedToken:
    """A new token for the user (R-P5), created with ``parent_token_id`` (R-X7; None: from
    the command line)."""
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", code="user_not_found")
    _require_may_get_tokens(uow, user)
    now = uow.clock.now()
    parent = None if parent_token_id is None else lock_live_token(uow, parent_token_id)
    expiry = token_expiry(now, expires_at, max_lifetime=max_lifetime,
                          parent_expires_at=None if parent is None else parent.expires_at)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 32 bytes = 256 bits (R-P5)
    row = ApiToken(user_id=user_id, token_hash=hash_token(token), created_at=now, expires_at=expiry,
                   parent_token_id=parent_token_id, label=label)
    uow.session.add(row)
    uow.flush()
    return IssuedToken(id=row.id, token=token, expires_at=expiry, parent_token_id=parent_token_id, label=label)


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


def _require_self_or_admin(uow: UnitOfWork, actor: Actor, user_id: int) -> User:
    """R-X4: another user's tokens do not exist for the caller (404)."""
    user = uow.session.get(User, user_id) if (actor.is_admin or actor.user_id == user_id) else None
    if user is None:
        raise NotFound(f"no user {user_id}", code="user_not_found", rule="R-X4")
    return user


def create_token_for(uow: UnitOfWork, actor: Actor, user_id: int, *, expires_at: datetime | None,
                     max_lifetime: timedelta = DEFAULT_MAX_LIFETIME, label: str | None = None) -> IssuedToken:
    """POST /users/{id}/tokens: an administrator, or the user for itself. The new token's
    parent is the token the request came with (R-X7)."""
    _require_self_or_admin(uow, actor, user_id)
    return issue_token(uow, user_id=user_id, expires_at=expires_at, parent_token_id=actor.token_id,
                       max_lifetime=max_lifetime, label=label)


def list_tokens(uow: UnitOfWork, actor: Actor, user_id: int, *, before: int | None = None,
                limit: int = 100) -> dict:
    """GET /users/{id}/tokens: the user's tokens, newest first, without secrets (R-X7)."""
    _require_self_or_admin(uow, actor, user_id)
    query = select(ApiToken).where(ApiToken.user_id == user_id)
    if before is not None:
        query = query.where(ApiToken.id < before)
    rows = uow.session.exec(query.order_by(ApiToken.id.desc()).limit(limit + 1)).all()
    now = uow.clock.now()
    items = [{"id": r.id, "label": r.label, "created_at": r.created_at, "expires_at": r.expires_at,
              "revoked_at": r.revoked_at, "parent_token_id": r.parent_token_id,
              "active": r.revoked_at is None and r.expires_at > now} for r in rows[:limit]]
    return {"items": items, "next_before": rows[limit - 1].id if len(rows) > limit else None}


def _chunks(ids: list[int]):
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start:start + _IN_CHUNK]


def revoke_tree(uow: UnitOfWork, root: ApiToken) -> list[int]:
    """R-X7: revoke the token (locked by the caller), every token created with it or with
    one of those, and the sessions signed in with any of them, in this transaction. Walks
    the lineage a generation at a time, each under row locks: a child being created from a
    token of this generation is waited for and then found by the next step."""
    now = uow.clock.now()
    root.revoked_at = now
    revoked, frontier = [root.id], [root.id]
    while frontier:
        children: list[ApiToken] = []
        for chunk in _chunks(frontier):
            children += uow.session.exec(for_update(select(ApiToken).where(
                ApiToken.parent_token_id.in_(chunk), ApiToken.revoked_at.is_(None)))).all()
        for child in children:
            child.revoked_at = now
        frontier = [child.id for child in children]
        revoked += frontier
    uow.flush()
    for chunk in _chunks(revoked):
        for session in uow.session.exec(select(WebSession).where(WebSession.token_id.in_(chunk),
                                                                 WebSession.revoked_at.is_(None))):
            session.revoked_at = now
    uow.flush()
    return revoked


def revoke_token(uow: UnitOfWork, actor: Actor, token_id: int) -> None:
    """DELETE /tokens/{id}: the token's user or an administrator (R-P5); its descendants
    and their sessions with it (R-X7). Revoking a revoked token again changes nothing: its
    descendants were revoked with it, and no token is created from a revoked one."""
    row = get_for_update(uow.session, ApiToken, token_id)
    if row is None or not (actor.is_admin or actor.user_id == row.user_id):
        raise NotFound(f"no token {token_id}", code="token_not_found", rule="R-X4")
    if row.revoked_at is None:
        revoke_tree(uow, row)


def set_user_disabled(uow: UnitOfWork, actor: Actor, user_id: int, *, disabled: bool) -> User:
    """POST /users/{id}/disable and /enable (admin, R-X7). A disabled user's tokens are
    refused at authentication (they work again when it is enabled) and its sessions end
    for good. An administrator does not disable itself (no lock-out by a slip)."""
    require_role(actor, "admin")
    user = get_for_update(uow.session, User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", code="user_not_found")
    if disabled and user.id == actor.user_id:
        raise Conflict("an administrator cannot disable itself", code="cannot_disable_self", rule="R-X7")
    now = uow.clock.now()
    if not disabled:
        user.disabled_at = None
    elif user.disabled_at is None:
        user.disabled_at = now
        for session in uow.session.exec(select(WebSession).where(WebSession.user_id == user.id,
                                                                 WebSession.revoked_at.is_(None))):
            session.revoked_at = now
    uow.flush()
    return user


def disable_user(uow: UnitOfWork, actor: Actor, user_id: int) -> User:
    return set_user_disabled(uow, actor, user_id, disabled=True)


def enable_user(uow: UnitOfWork, actor: Actor, user_id: int) -> User:
    return set_user_disabled(uow, actor, user_id, disabled=False)


def authenticate_token(uow: UnitOfWork, token: str) -> tuple[ApiToken, User]:
    """The token row and the user a bearer token stands for; Unauthorized if none, revoked,
    expired (R-P5, R-X7: revocation reaches descendants when it is made) or its user is
    disabled (R-X7). One indexed query: the token's hash joined with its user.

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
            or row.revoked_at is not None or row.expires_at <= now):
        raise Unauthorized("invalid, revoked or expired token", code="invalid_token", rule="R-P5")
    if user.disabled_at is not None:
        raise Unauthorized("this token's user is disabled", code="user_disabled", rule="R-X7")
    return row, user


def authenticate(uow: UnitOfWork, token: str) -> User:
    """The user a bearer token stands for (see ``authenticate_token``)."""
    return authenticate_token(uow, token)[1]


def create_admin(uow: UnitOfWork, email: str, *,
                 max_lifetime: timedelta = DEFAULT_MAX_LIFETIME) -> tuple[User, IssuedToken]:
    """Bootstrap (SPEC §13.1): a registry administrator and one token (no parent, R-X7)."""
    user = create_user(uow, email=email, role="admin")
    return user, issue_token(uow, user_id=user.id, max_lifetime=max_lifetime)
