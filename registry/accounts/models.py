"""Sign-in credentials of people (R-W1; migration 0023).

Kept apart from ``app_user``: the users table is part of what ``arcreg
verify`` holds to the log (staff roles, R-L7b), credentials are not. A
credential is a secret of one person, never a public record, so it is not a
log entry (docs/decisions.md, "Credentials are not log entries").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlmodel import Column, Field, SQLModel

from registry.sqltypes import UTCDateTime


def _instant(nullable: bool) -> Field:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class UserLogin(SQLModel, table=True):
    """One user's password (argon2id PHC string) and TOTP second factor."""

    __tablename__ = "user_login"

    user_id: int = Field(primary_key=True, foreign_key="app_user.id")
    password_hash: str | None = Field(default=None, max_length=255)
    password_changed_at: datetime | None = _instant(True)
    # Base32 TOTP secret (RFC 6238, 160 bits); ``totp_pending_secret`` is one shown for enrolment and
    # not confirmed yet. ``totp_last_step``: the time step of the last code accepted (no code twice).
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_enabled_at: datetime | None = _instant(True)
    totp_pending_secret: str | None = Field(default=None, max_length=64)
    totp_last_step: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))


class RecoveryCode(SQLModel, table=True):
    """A single-use second factor, stored as the SHA-256 of a 64-bit random code."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Set when the code was used, or replaced by a new set (``retired_at``).
    used_at: datetime | None = _instant(True)
    retired_at: datetime | None = _instant(True)


class PasswordReset(SQLModel, table=True):
    """A one-time password reset link an administrator created (R-W1: no email server)."""

    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    secret_hash: str = Field(max_length=64, unique=True)
    created_by: int | None = Field(default=None, foreign_key="app_user.id")  # None: the command line
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = _instant(True)
    # The link also removes the user's second factor (a lost phone and lost recovery codes).
    clears_totp: bool = False
