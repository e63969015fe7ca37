"""Configuration from the environment (SPEC §13.2)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///arcreg.db"
DEFAULT_LOG_ORIGIN = "localhost/arc-registry"
KEY_FILE_NAME = "arcreg-signing-key.pem"


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        key_file = env.get("ARCREG_SIGNING_KEY_FILE")
        return cls(
            database_url=env.get("ARCREG_DATABASE_URL") or DEFAULT_DATABASE_URL,
            signing_key_file=Path(key_file) if key_file else None,
            signing_key_pem=env.get("ARCREG_SIGNING_KEY") or None,
            log_origin=env.get("ARCREG_LOG_ORIGIN") or DEFAULT_LOG_ORIGIN,
            clock=env.get("ARCREG_CLOCK") or None,
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
