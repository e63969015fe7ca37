"""The eager signer (R-L4b): a thread that signs a checkpoint within a second
after the tree grows, whether or not anyone reads one.

Every served worker runs one (``arcreg serve``/``demo``, next to the daily
jobs' scheduler); the `SignerLock` lets one of them sign at a time, and the
others take over when it stops. Each turn (every ``interval`` seconds) is one
read-only look at the tree size and the latest checkpoint; only when the
tree grew does it take the lock and sign (`sign.sign_tree`).
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine

import chainlog.store
from chainlog.keys import Signer
from registry.checkpoint_signing.lock import SignerLock
from registry.checkpoint_signing.sign import sign_tree, tree_grown
from registry.clock import Clock

log = logging.getLogger("arcreg.signer")

INTERVAL_SECONDS = 0.5


class EagerSigner:
    def __init__(self, engine: Engine, signer: Signer, origin: str, clock: Clock, *,
                 interval: float = INTERVAL_SECONDS, lock: SignerLock | None = None) -> None:
        self.engine, self.signer, self.origin, self.clock = engine, signer, origin, clock
        self.interval = interval
        self.lock = lock or SignerLock(engine)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> chainlog.store.StoredCheckpoint | None:
        """One turn: sign if the tree grew and no other signer holds the lock;
        the checkpoint signed (or found stored), else None."""
        if not tree_grown(self.engine):
            return None
        with self.lock.held() as mine:
            if not mine:
                return None
            return sign_tree(self.engine, self.signer, self.origin, self.clock.now())

    def _run(self) -> None:
        # time.sleep, not Event.wait(interval): a timed wait never times out under libfaketime's moved
        # clock (CI runs served registries at a year's end and on a leap day); a sleep does.
        while not self._stop.is_set():
            time.sleep(self.interval)
            if self._stop.is_set():
                return
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
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
