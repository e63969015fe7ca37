"""The eager signer (R-L4b): a thread that signs a checkpoint within a second
after the tree grows, whether or not anyone reads one.

Every served worker runs one (``arcreg serve``/``demo``, next to the daily
jobs' scheduler). The first to take the `SignerLock` keeps it and is the
only one that polls: each turn (every ``interval`` seconds) is one statement
on the lock's own connection, and only when the tree grew does it sign
(`sign.sign_tree`). The others try the lock every ``takeover_turns`` turns
and take over when the holder's process ends. One poller instead of one per
worker keeps the request workers' database round trips (and their threads'
turns at the interpreter lock) to a minimum: table 1 of docs/performance.md.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine

import chainlog.store
from chainlog.keys import Signer
from registry.checkpoint_signing.lock import SignerLock
from registry.checkpoint_signing.sign import sign_tree, unsigned_size
from registry.db import read_only
from registry.clock import Clock

log = logging.getLogger("arcreg.signer")

INTERVAL_SECONDS = 0.5
#: A signer that does not hold the lock tries it every this many turns (5 s).
TAKEOVER_TURNS = 10


class EagerSigner:
    def __init__(self, engine: Engine, signer: Signer, origin: str, clock: Clock, *,
                 interval: float = INTERVAL_SECONDS, lock: SignerLock | None = None,
                 takeover_turns: int = TAKEOVER_TURNS) -> None:
        self.engine, self.signer, self.origin, self.clock = engine, signer, origin, clock
        self.interval, self.takeover_turns = interval, takeover_turns
        self.lock = lock or SignerLock(engine)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> chainlog.store.StoredCheckpoint | None:
        """One turn: take the lock if no other signer holds it, then sign if the
        tree grew; the checkpoint signed (or found stored), else None."""
        if not self.lock.acquire():
            return None
        try:
            n = self._unsigned_size()
        except Exception:
            self.lock.release()  # a broken connection: let go, and try again on a later turn
            raise
        if n is None:
            return None
        return sign_tree(self.engine, self.signer, self.origin, self.clock.now(), size=n, conn=self.lock.connection)

    def _unsigned_size(self) -> int | None:
        if self.lock.connection is not None:  # PostgreSQL: the lock's own connection, autocommit
            return unsigned_size(self.lock.connection)
        with read_only(self.engine).connect() as conn:
            n = unsigned_size(conn)
            conn.rollback()
        return n

    def _run(self) -> None:
        # time.sleep, not Event.wait(interval): a timed wait never times out under libfaketime's moved
        # clock (CI runs served registries at a year's end and on a leap day); a sleep does.
        turn = 0
        while not self._stop.is_set():
            time.sleep(self.interval)
            if self._stop.is_set():
                break
            turn += 1
            if not self.lock.holding and turn % self.takeover_turns:
                continue  # another signer polls; try the lock again later
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - logged; the next turn tries again
                log.exception("eager checkpoint signing failed")

    def start(self) -> EagerSigner:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="arcreg-checkpoint-signer", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 5) -> None:
        """Stop the thread (if started) and let go of the lock, so another signer takes over."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.lock.release()
