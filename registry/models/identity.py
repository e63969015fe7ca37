"""Participants, users and API tokens (SPEC §3)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import JSON, Column, Field, SQLModel

from registry.sqltypes import UTCDateTime


class Participant(SQLModel, table=True):
    """An organisation that holds certificates (R-P1)."""

    __tablename__ = "participant"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    country: str = Field(max_length=2)
    status: str = Field(default="pending", max_length=16, index=True)
    # RMS 4.2.1, 8.1.3: no signed Good Practice Principles commitment, no activation.
    gpp_signed_on: date | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # RMS 8.1.4: current and accurate details (registry.participants.update_participant).
    address: str | None = Field(default=None, max_length=400)
    # [{name, role, email, phone}]: personal data, so the log carries only a salted
    # SHA-256 commitment to them (registry.participants.contacts_digest).
    contacts: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False,
                                                                        server_default="[]"))
    contacts_salt: str | None = Field(default=None, max_length=64)
    # R-E4, RMS 8.5.3: the day its registration as an ARC generator ended (removal). Its account
    # and its status are untouched: it still holds, trades and retires (RMS 8.1.2).
    generator_removed_on: date | None = None
    # R-T6: "automatic" (default) or "review": transfers to it wait for its acceptance as offers.
    incoming_transfers: str = Field(default="automatic", max_length=12,
                                    sa_column_kwargs={"server_default": "automatic"})


class User(SQLModel, table=True):
    """A person acting for one participant (member) or as registry staff (R-P4)."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    role: str = Field(max_length=16)
    # The certification body's three-letter code, for certifiers (R-C2).
    body_code: str | None = Field(default=None, max_length=3)
    participant_id: int | None = Field(default=None, foreign_key="participant.id", index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # R-X7: an administrator disabled the user; its tokens and sessions stop at once.
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ApiToken(SQLModel, table=True):
    """A bearer token, stored only as its SHA-256 (R-P5), with its lineage (R-X7)."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # R-X7: always set, never later than the parent's nor than created_at + the maximum lifetime.
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # R-X7: the token whose request created this one (None: issued from the command line,
    # or before the lineage was recorded). Revoking a token revokes its descendants.
    parent_token_id: int | None = Field(default=None, foreign_key="api_token.id", index=True)
    label: str | None = Field(default=None, max_length=100)


class WebSession(SQLModel, table=True):
    """A signed-in browser (R-X7, R-W1): the cookie holds a random secret, the table only its
    SHA-256. Expires (absolute: ``expires_at``; idle: ``last_seen_at`` + the idle limit), is
    revoked on sign-out and password change, and stops when its user is disabled. ``method``
    says how far it got (``registry.accounts.sessions``: a password alone, a password and a
    second factor, or a step still to take); ``token_id`` is the API token it was established
    with, if any (the admin pages' former token sign-in): revoking that token ends it."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    method: str = Field(max_length=32)
    token_id: int | None = Field(default=None, foreign_key="api_token.id", index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # R-W1: the last request seen (kept to the minute); None: never since created_at.
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
