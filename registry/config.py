"""Configuration from the environment (SPEC §13.2)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///arcreg.db"
DEFAULT_LOG_ORIGIN = "localhost/arc-registry"
KEY_FILE_NAME = "arcreg-signing-key.pem"
# Writes per client (participant, user, or address when anonymous): an
# integration uploading a season's lots never meets it; a client stuck in a
# retry loop is stopped within seconds. Per worker with memory:// storage.
DEFAULT_RATE_LIMIT = "600/minute;10000/hour"
DEFAULT_RATE_LIMIT_STORAGE = "memory://"
# R-X7: the longest a token may live, in days (ARCREG_TOKEN_MAX_LIFETIME_DAYS).
DEFAULT_TOKEN_MAX_LIFETIME_DAYS = 365
MAX_TOKEN_MAX_LIFETIME_DAYS = 36500  # a hundred years; keeps now + lifetime far from year 9999
# How long an admin page sign-in lasts (ARCREG_SESSION_HOURS); never beyond its token's expiry.
DEFAULT_SESSION_HOURS = 12
# R-W1: a signed-in browser with no request for this long is signed out (ARCREG_SESSION_IDLE_MINUTES).
DEFAULT_SESSION_IDLE_MINUTES = 30
# R-W1: failed sign-in attempts (password or second factor) allowed per account and per client
# address before sign-in is refused for a while, whatever is typed (ARCREG_LOGIN_RATE_LIMIT,
# ARCREG_LOGIN_ADDRESS_RATE_LIMIT; "off" disables one).
DEFAULT_LOGIN_RATE_LIMIT = "5/minute;20/hour"
DEFAULT_LOGIN_ADDRESS_RATE_LIMIT = "20/minute;200/hour"
# R-W1: how long a password reset link works (ARCREG_RESET_LINK_HOURS).
DEFAULT_RESET_LINK_HOURS = 24


def _days(value: str | None, default: int, name: str, most: int) -> int:
    if not value:
        return default
    try:
        days = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if not 1 <= days <= most:
        raise ValueError(f"{name} must be from 1 to {most}, not {days}")
    return days
def _seconds(value: str | None, default: float, name: str) -> float:
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {value!r}") from None
    if not 0.1 <= seconds <= 60:
        raise ValueError(f"{name} must be from 0.1 to 60 seconds, not {seconds}")
    return seconds


# Expensive public reads (provenance proofs, certificate lineage pages) per
# client address and worker (R-X6; pages of 500 entries): a person following
# a lineage never meets it; a script looping on deep proofs is slowed to one
# page every three seconds.
DEFAULT_READ_RATE_LIMIT = "20/minute;300/hour"


@dataclass(frozen=True)
class Config:
    # The runtime URL: `serve`, the jobs and every command but `db upgrade` connect with it.
    database_url: str = DEFAULT_DATABASE_URL
    # R-L8b, PostgreSQL only: the URL of the role that owns the tables, for
    # `arcreg db upgrade`, which migrates as it and grants the runtime role
    # (the user of database_url) what the server needs. None: one role, as before.
    owner_database_url: str | None = None
    # None: a key generated on first start next to the database (SPEC §13.2).
    signing_key_file: Path | None = None
    # PEM of the signing key itself, for deployments that inject secrets by environment.
    signing_key_pem: str | None = None
    log_origin: str = DEFAULT_LOG_ORIGIN
    # An ISO date-time that freezes the clock: demos and tests only.
    clock: str | None = None
    # R-X2: bodies over 1 MiB are refused with 413.
    max_request_bytes: int = 1024 * 1024
    run_scheduler: bool = False
    # Flask-Limiter notation, ";"-separated; "off" disables write rate limiting.
    rate_limit: str = DEFAULT_RATE_LIMIT
    # memory:// counts per process; redis://host:6379 shares the counts between workers.
    rate_limit_storage: str = DEFAULT_RATE_LIMIT_STORAGE
    # R-X6: the same notation for expensive reads, per client address; "off" disables it.
    read_rate_limit: str = DEFAULT_READ_RATE_LIMIT
    # Reverse proxies in front of the registry whose X-Forwarded-For/-Proto are
    # trusted (0: none; the client address is the TCP peer).
    trusted_proxies: int = 0
    # R-X7: maximum token lifetime in days, and the admin pages' session length in hours.
    token_max_lifetime_days: int = DEFAULT_TOKEN_MAX_LIFETIME_DAYS
    session_hours: int = DEFAULT_SESSION_HOURS
    # R-N1: http:// and loopback webhook targets (development and tests only; /health says so).
    webhooks_allow_loopback: bool = False
    # R-N1: seconds a webhook attempt may take (connect, send, first answer).
    webhook_timeout: float = 5.0
    # R-W1: sign-in for people (idle expiry, throttling of failures, reset links).
    session_idle_minutes: int = DEFAULT_SESSION_IDLE_MINUTES
    login_rate_limit: str = DEFAULT_LOGIN_RATE_LIMIT
    login_address_rate_limit: str = DEFAULT_LOGIN_ADDRESS_RATE_LIMIT
    reset_link_hours: int = DEFAULT_RESET_LINK_HOURS
    # Signs the pages' CSRF cookie (ARCREG_SECRET_KEY); None: derived from the log's signing key.
    secret_key: str | None = None

    @property
    def token_max_lifetime(self) -> timedelta:
        return timedelta(days=self.token_max_lifetime_days)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    @property
    def session_idle(self) -> timedelta:
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def reset_link_lifetime(self) -> timedelta:
        return timedelta(hours=self.reset_link_hours)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        key_file = env.get("ARCREG_SIGNING_KEY_FILE")
        return cls(
            database_url=env.get("ARCREG_DATABASE_URL") or DEFAULT_DATABASE_URL,
            owner_database_url=env.get("ARCREG_OWNER_DATABASE_URL") or None,
            signing_key_file=Path(key_file) if key_file else None,
            signing_key_pem=env.get("ARCREG_SIGNING_KEY") or None,
            log_origin=env.get("ARCREG_LOG_ORIGIN") or DEFAULT_LOG_ORIGIN,
            clock=env.get("ARCREG_CLOCK") or None,
            rate_limit=env.get("ARCREG_RATE_LIMIT") or DEFAULT_RATE_LIMIT,
            rate_limit_storage=env.get("ARCREG_RATE_LIMIT_STORAGE") or DEFAULT_RATE_LIMIT_STORAGE,
            read_rate_limit=env.get("ARCREG_READ_RATE_LIMIT") or DEFAULT_READ_RATE_LIMIT,
            trusted_proxies=int(env.get("ARCREG_TRUSTED_PROXIES") or 0),
            token_max_lifetime_days=_days(env.get("ARCREG_TOKEN_MAX_LIFETIME_DAYS"), DEFAULT_TOKEN_MAX_LIFETIME_DAYS,
                                          "ARCREG_TOKEN_MAX_LIFETIME_DAYS", MAX_TOKEN_MAX_LIFETIME_DAYS),
            session_hours=_days(env.get("ARCREG_SESSION_HOURS"), DEFAULT_SESSION_HOURS, "ARCREG_SESSION_HOURS",
                                24 * 30),
            webhooks_allow_loopback=(env.get("ARCREG_WEBHOOKS_ALLOW_LOOPBACK") or "0").strip().lower()
            in ("1", "true", "yes", "on"),
            webhook_timeout=_seconds(env.get("ARCREG_WEBHOOK_TIMEOUT"), 5.0, "ARCREG_WEBHOOK_TIMEOUT"),
            session_idle_minutes=_days(env.get("ARCREG_SESSION_IDLE_MINUTES"), DEFAULT_SESSION_IDLE_MINUTES,
                                       "ARCREG_SESSION_IDLE_MINUTES", 24 * 60),
            login_rate_limit=env.get("ARCREG_LOGIN_RATE_LIMIT") or DEFAULT_LOGIN_RATE_LIMIT,
            login_address_rate_limit=env.get("ARCREG_LOGIN_ADDRESS_RATE_LIMIT") or DEFAULT_LOGIN_ADDRESS_RATE_LIMIT,
            reset_link_hours=_days(env.get("ARCREG_RESET_LINK_HOURS"), DEFAULT_RESET_LINK_HOURS,
                                   "ARCREG_RESET_LINK_HOURS", 24 * 30),
            secret_key=env.get("ARCREG_SECRET_KEY") or None,
        )

    def with_(self, **changes) -> Config:
        return replace(self, **changes)

    def default_key_path(self) -> Path:
        """Where the generated key lives when none is configured: next to a
        SQLite database file, else in the working directory."""
        if self.signing_key_file is not None:
            return self.signing_key_file
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            db_path = Path(self.database_url[len(prefix):])
            return db_path.resolve().parent / KEY_FILE_NAME
        return Path.cwd() / KEY_FILE_NAME
