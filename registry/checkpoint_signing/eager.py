"""The eager signer (R-L4b): a thread that signs a checkpoint within a second
after the tree grows, whether or not anyone reads one.

Every served worker runs one (``arcreg serve``/``demo``, next to the daily
jobs' scheduler). The first to take the `SignerLock` keeps it and is the
only one that polls (`registry.polling`): each turn (every ``interval``
seconds) is one statement on the lock's own connection, and only when the
tree grew does it sign (`sign.sign_tree`). The others try the lock every
``takeover_turns`` turns and take over when the holder's process ends.
"""

from __future__ import annotations

from sqlalchemy import Engine

import chainlog.store
from chainlog.keys import Signer
from registry.checkpoint_signing.lock import SignerLock
from registry.checkpoint_signing.sign import sign_tree, unsigned_size
from registry.clock import Clock
from registry.db import read_only
from registry.polling import TAKEOVER_TURNS, PollingThread

INTERVAL_SECONDS = 0.5


class EagerSigner(PollingThread):
    thread_name = "arcreg-checkpoint-signer"
    logger_name = "arcreg.signer"
    failure = "eager checkpoint signing failed"

    def __init__(self, engine: Engine, signer: Signer, origin: str, clock: Clock, *,
                 interval: float = INTERVAL_SECONDS, lock: SignerLock | None = None,
                 takeover_turns: int = TAKEOVER_TURNS) -> None:
        super().__init__(interval, lock or SignerLock(engine), takeover_turns=takeover_turns)
        self.engine, self.signer, self.origin, self.clock = engine, signer, origin, clock

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
