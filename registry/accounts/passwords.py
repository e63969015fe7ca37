"""Passwords: argon2id hashes and the policy a new password meets (R-W1)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from registry.errors import InvalidInput

# argon2-cffi's defaults are argon2id with RFC 9106's second recommended profile
# (3 passes, 64 MiB, 4 lanes): a stolen table costs an attacker that per guess.
HASHER = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 256  # a passphrase fits; a megabyte "password" is not hashed


def check_policy(password: str, *, email: str, field: str = "password") -> None:
    """R-W1: a new password is 12 to 256 characters and is not the email address.
    No composition rules (NIST SP 800-63B): length is what resists guessing."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_LENGTH} characters; a few unrelated words make a "
                           "good one", field=field, code="password_too_short", rule="R-W1")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_LENGTH} characters", field=field,
                           code="password_too_long", rule="R-W1")
    if password.strip().lower() == email.strip().lower():
        raise InvalidInput("a password must not be the email address", field=field, code="password_is_email",
                           rule="R-W1")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return HASHER.hash("no account has this password")


def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash. With no hash (no such user, or no
    password yet) a dummy hash is checked all the same, so the answer takes as long
    and does not tell which email addresses have accounts."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """A hash made with older parameters is replaced at the next successful sign-in."""
    return HASHER.check_needs_rehash(stored)
