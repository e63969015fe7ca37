"""At most one eager signer at a time, across processes (R-L4b).

The lock is a lease: the signer that gets it keeps it for as long as it runs,
so only one worker polls the log twice a second and the others merely try
the lock now and then, to take over when the holder's process ends (the
lock goes with its connection or file descriptor).

On PostgreSQL a session-level advisory lock (its own key, never the log's
append lock) on a connection of its own in autocommit, which the holder also
uses for its one-statement polls; on SQLite an exclusive ``flock`` on a file
next to the database (``<db>.signer-lock``), or a process lock for an
in-memory database. Trying never waits.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, func, select

from registry.db import read_write

#: Advisory lock key: the first 8 bytes of SHA-256("arcreg checkpoint signer").
LOCK_KEY = int.from_bytes(hashlib.sha256(b"arcreg checkpoint signer").digest()[:8], "big", signed=True)
_MEMORY_LOCK = threading.Lock()


class SignerLock:
    """The lock, for the checkpoint signer by default; another one-at-a-time
    worker (the webhook deliverer, R-N1) names its own key and file suffix."""

    def __init__(self, engine: Engine, *, key: int = LOCK_KEY, suffix: str = "signer-lock",
                 memory_lock: threading.Lock = _MEMORY_LOCK) -> None:
        self.engine = engine
        self.key, self.suffix, self.memory_lock = key, suffix, memory_lock
        #: PostgreSQL: the connection that holds the lock while it is held.
        self.connection: Connection | None = None
        self._fd: int | None = None
        self._memory = False

    def lock_path(self) -> str | None:
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
            return None
        return f"{os.path.abspath(database)}.{self.suffix}"

    @property
    def holding(self) -> bool:
        return self.connection is not None or self._fd is not None or self._memory

    def acquire(self) -> bool:
        """Take the lock unless another signer holds it; True if this one holds it now."""
        if self.holding:
            return True
        if self.engine.dialect.name == "postgresql":
            conn = read_write(self.engine).connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                got = bool(conn.execute(select(func.pg_try_advisory_lock(self.key))).scalar())
            except Exception:
                conn.close()
                raise
            if got:
                self.connection = conn
            else:
                conn.close()
            return got
        path = self.lock_path()
        if path is None:
            self._memory = self.memory_lock.acquire(blocking=False)
            return self._memory
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go of the lock (closing its connection or descriptor); a no-op when not held."""
        conn, self.connection = self.connection, None
        if conn is not None:
            try:  # at once, not when the server notices the connection is gone
                conn.execute(select(func.pg_advisory_unlock(self.key)))
            except Exception:  # noqa: BLE001 - a broken connection: its session, and the lock, end with it
                conn.invalidate()
            conn.close()
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        if self._memory:
            self._memory = False
            self.memory_lock.release()

    @contextmanager
    def held(self) -> Iterator[bool]:
        """Yield True while this caller holds the lock, False if another signer does."""
        already = self.holding
        got = self.acquire()
        try:
            yield got
        finally:
            if got and not already:
                self.release()
