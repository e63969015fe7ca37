"""What a request handler reaches for: the unit of work, the clock, the config."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from chainlog.keys import Signer
from registry.clock import Clock
from registry.config import Config
from registry.db import UnitOfWork
from registry.signing import load_signer

EXTENSION = "arcreg"


@dataclass
class Registry:
    """The per-application state, kept in ``app.extensions["arcreg"]``."""

    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    _signer: Signer | None = None

    @property
    def signer(self) -> Signer:
        """Loaded once per process: never per request (R-L5: from file or env)."""
        if self._signer is None:
            self._signer = load_signer(self.config, create=True)
        return self._signer


def registry() -> Registry:
    return current_app.extensions[EXTENSION]


def unit_of_work() -> UnitOfWork:
    state = registry()
    return UnitOfWork(state.sessions, state.clock)
