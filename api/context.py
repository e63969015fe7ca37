"""What a request handler reaches for: the unit of work, the clock, the config."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, has_request_context, request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from chainlog.keys import Signer
from registry.clock import Clock
from registry.config import Config
from registry.db import UnitOfWork
from registry.signing import load_log_signer

EXTENSION = "arcreg"


@dataclass
class Registry:
    """The per-application state, kept in ``app.extensions["arcreg"]``."""

    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    # R-X6: transactions that only read (SQLite: BEGIN DEFERRED, no write lock).
    read_sessions: sessionmaker[Session] | None = None
    # R-W1: TOTP codes are checked against real time, the time the phone shows, even when the
    # registry's clock is pinned (ARCREG_CLOCK); tests pin this one too.
    otp_clock: Clock = field(default_factory=Clock)
    _signer: Signer | None = None

    @property
    def signer(self) -> Signer:
        """Loaded once per process: never per request (R-L5: from file or env),
        and only if it is the key of the log's checkpoints (R-L5b)."""
        if self._signer is None:
            self._signer = load_log_signer(self.config, self.engine, create=True)
        return self._signer


def check_signing_key(state: Registry) -> None:
    """At start-up, before any request: load the key and check it against the
    log (R-L5b), so that a changed or missing key stops the process before it
    serves anything, and so that no request ever opens a second connection to
    load it (on SQLite that one would wait for the request's own write lock).
    A database not migrated yet has signed nothing: its key is loaded on first use."""
    from sqlalchemy import inspect

    if inspect(state.engine).has_table("log_checkpoints"):
        _ = state.signer


def registry() -> Registry:
    return current_app.extensions[EXTENSION]


# The unit of work a write's authentication opened, until its handler takes it.
_OPENED = "arcreg.opened_unit_of_work"


def unit_of_work() -> UnitOfWork:
    """A new unit of work, or the one this request's authentication opened:
    a write then costs one connection and one transaction, not two."""
    opened = request.environ.pop(_OPENED, None) if has_request_context() else None
    if opened is not None:
        return opened
    state = registry()
    return UnitOfWork(state.sessions, state.clock)


def read_unit_of_work() -> UnitOfWork:
    """A unit of work that only reads (R-X6): it holds no lock that a writer
    waits on. A write request's own opened unit of work is continued instead."""
    opened = request.environ.pop(_OPENED, None) if has_request_context() else None
    if opened is not None:
        return opened
    state = registry()
    return UnitOfWork(state.read_sessions or state.sessions, state.clock)


def open_for_request() -> UnitOfWork:
    """Open a unit of work that the request's handler will continue."""
    uow = unit_of_work().__enter__()
    request.environ[_OPENED] = uow
    return uow


def close_unclaimed(_exc: BaseException | None = None) -> None:
    """Teardown: roll back and close a unit of work no handler took (the
    request was refused before its handler ran)."""
    uow = request.environ.pop(_OPENED, None)
    if uow is not None:
        uow.__exit__(None, None, None)
