"""At most one eager signer at a time, across processes (R-L4b).

On PostgreSQL a transaction-scoped advisory lock (its own key, never the
log's append lock) on a connection of its own; on SQLite an exclusive
``flock`` on a file next to the database (``<db>.signer-lock``), or a
process lock for an in-memory database. Trying never waits: a signer that
does not get the lock skips its turn, and takes over when the holder's
process ends (the lock goes with its connection or file descriptor).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select

from registry.db import read_write

#: pg_try_advisory_xact_lock key: the first 8 bytes of SHA-256("arcreg checkpoint signer").
LOCK_KEY = int.from_bytes(hashlib.sha256(b"arcreg checkpoint signer").digest()[:8], "big", signed=True)
_MEMORY_LOCK = threading.Lock()


class SignerLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def lock_path(self) -> str | None:
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
            return None
        return f"{os.path.abspath(database)}.signer-lock"

    @contextmanager
    def held(self) -> Iterator[bool]:
        """Yield True while this caller holds the lock, False if another signer does."""
        if self.engine.dialect.name == "postgresql":
            with read_write(self.engine).connect() as conn:
                try:
                    yield bool(conn.execute(select(func.pg_try_advisory_xact_lock(LOCK_KEY))).scalar())
                finally:
                    conn.rollback()  # releases the lock
            return
        path = self.lock_path()
        if path is None:
            got = _MEMORY_LOCK.acquire(blocking=False)
            try:
                yield got
            finally:
                if got:
                    _MEMORY_LOCK.release()
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True  # closing the descriptor releases the lock
        finally:
            os.close(fd)
