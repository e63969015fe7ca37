"""The steps of a sign-in, and what a signed-in person changes on its own account (R-W1).

1. ``check_password``: email and password. A wrong email and a wrong password get
   the same answer in the same time; a disabled user does not get further.
2. ``first_step``: what the session may do next: everything (a member without a
   second factor), give a code (TOTP or recovery code), or enrol TOTP first — an
   administrator or certifier without one (TOTP is required for them).
3. ``check_code`` / ``confirm_enrolment``: the second factor.

Throttling of failed attempts (per account and per address) is the web layer's
(``api/workspace/throttle.py``): it knows the address.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from registry.accounts import passwords, recovery, sessions, totp
from registry.accounts.models import UserLogin
from registry.db import UnitOfWork, get_for_update
from registry.errors import Conflict, InvalidInput, RuleViolation
from registry.models import User

#: R-W1: the roles that may not act without a second factor.
SECOND_FACTOR_REQUIRED = ("admin", "certifier")


def needs_second_factor(user: User) -> bool:
    return user.role in SECOND_FACTOR_REQUIRED


def login_of(uow: UnitOfWork, user_id: int, *, lock: bool = False) -> UserLogin:
    """The user's credentials row (created empty on first need), locked if asked:
    a TOTP step or a password change reads and writes it under the lock."""
    row = get_for_update(uow.session, UserLogin, user_id, lock=lock)
    if row is None:
        uow.session.add(UserLogin(user_id=user_id))
        uow.flush()
        row = get_for_update(uow.session, UserLogin, user_id, lock=lock)
    return row


def user_by_email(uow: UnitOfWork, email: str) -> User | None:
    return uow.session.exec(select(User).where(User.email == (email or "").strip().lower())).first()


def check_password(uow: UnitOfWork, email: str, password: str) -> User | None:
    """The user whose email and password these are, or None. The hash is checked even
    when there is no such user (a dummy), so time tells nothing either."""
    user = user_by_email(uow, email)
    login = uow.session.get(UserLogin, user.id) if user is not None else None
    stored = login.password_hash if login is not None else None
    if not passwords.verify(stored, password) or user.disabled_at is not None:
        return None
    if passwords.needs_rehash(stored):
        login.password_hash = passwords.hash_password(password)
        uow.flush()
    return user


def first_step(uow: UnitOfWork, user: User) -> str:
    """The session method after a correct password."""
    login = uow.session.get(UserLogin, user.id)
    if login is not None and login.totp_secret:
        return sessions.PENDING_CODE
    return sessions.PENDING_ENROL if needs_second_factor(user) else sessions.PASSWORD


def check_code(uow: UnitOfWork, user_id: int, code: str, *, at: datetime) -> str | None:
    """The second step: a TOTP code (6 digits) or a recovery code. Returns the signed-in
    method, or None. The credentials row is locked: two requests with the same code
    cannot both be accepted."""
    login = login_of(uow, user_id, lock=True)
    if not login.totp_secret:
        return None
    if totp.looks_like_code(code):
        step = totp.accept(login.totp_secret, login.totp_last_step, code, at)
        if step is None:
            return None
        login.totp_last_step = step
        uow.flush()
        return sessions.PASSWORD_TOTP
    return sessions.PASSWORD_RECOVERY if recovery.use(uow, user_id, code) else None


# --- the account's own changes -------------------------------------------------------------------


def set_password(uow: UnitOfWork, user: User, password: str) -> None:
    """Store a new password (policy checked) and end every session of the user."""
    passwords.check_policy(password, email=user.email)
    login = login_of(uow, user.id, lock=True)
    login.password_hash = passwords.hash_password(password)
    login.password_changed_at = uow.clock.now()
    sessions.revoke_user_sessions(uow, user.id)
    uow.flush()


def change_password(uow: UnitOfWork, user: User, *, current: str, new: str) -> None:
    """R-W1: the current password is asked again; every session ends (the caller opens a
    fresh one for the browser that made the change)."""
    login = login_of(uow, user.id, lock=True)
    if not passwords.verify(login.password_hash, current):
        raise InvalidInput("the current password is not right", field="current_password", code="wrong_password",
                           rule="R-W1")
    set_password(uow, user, new)


def pending_secret(uow: UnitOfWork, user: User) -> str:
    """The secret being enrolled (one is made on first need and kept until confirmed,
    so reloading the page does not change the QR code already scanned)."""
    login = login_of(uow, user.id, lock=True)
    if not login.totp_pending_secret:
        login.totp_pending_secret = totp.new_secret()
        uow.flush()
    return login.totp_pending_secret


def confirm_enrolment(uow: UnitOfWork, user: User, code: str, *, at: datetime) -> list[str]:
    """The first code from the app proves it holds the secret: TOTP is on, and a new set
    of recovery codes is returned (shown once)."""
    login = login_of(uow, user.id, lock=True)
    if not login.totp_pending_secret:
        raise Conflict("start the set-up again: no authenticator is being added", code="no_pending_enrolment",
                       field="code", rule="R-W1")
    step = totp.accept(login.totp_pending_secret, None, code, at)
    if step is None:
        raise InvalidInput("that code does not match: check the app shows ARC Registry and that the phone's clock "
                           "is right, then type the current 6 digits", field="code", code="wrong_code",
                           rule="R-W1")
    login.totp_secret, login.totp_pending_secret = login.totp_pending_secret, None
    login.totp_enabled_at, login.totp_last_step = uow.clock.now(), step
    uow.flush()
    return recovery.new_codes(uow, user.id)


def disable_second_factor(uow: UnitOfWork, user: User, *, password: str) -> None:
    """A member may turn TOTP off (password asked again); an administrator or certifier
    may not (R-W1)."""
    if needs_second_factor(user):
        raise RuleViolation(f"a second factor is required for the role {user.role}: you can add another "
                            "authenticator, not remove it", code="second_factor_required", rule="R-W1")
    login = login_of(uow, user.id, lock=True)
    if not passwords.verify(login.password_hash, password):
        raise InvalidInput("the password is not right", field="password", code="wrong_password", rule="R-W1")
    clear_second_factor(uow, login)


def clear_second_factor(uow: UnitOfWork, login: UserLogin) -> None:
    login.totp_secret = login.totp_pending_secret = login.totp_enabled_at = login.totp_last_step = None
    recovery.retire_all(uow, login.user_id)
    uow.flush()


def regenerate_recovery_codes(uow: UnitOfWork, user: User) -> list[str]:
    login = login_of(uow, user.id, lock=True)
    if not login.totp_secret:
        raise Conflict("recovery codes stand in for an authenticator: add one first", code="no_second_factor",
                       rule="R-W1")
    return recovery.new_codes(uow, user.id)
