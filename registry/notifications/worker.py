"""The webhook delivery worker (R-N1): a thread in every served worker
process (``arcreg serve``/``demo``, next to the eager signer) and one pass in
``arcreg run-jobs``. One process at a time delivers: the pass runs under a
database lock (PostgreSQL advisory lock, SQLite file lock; the same mechanism
as the checkpoint signer's, with its own key), and another process takes
over when the holder stops — recovering what it left half-sent.

Sleeps between turns (``registry.polling``: ``time.sleep``, never a timed wait).
"""

from __future__ import annotations

import hashlib
import logging
import threading

from sqlalchemy import Engine

from registry.checkpoint_signing.lock import SignerLock
from registry.clock import Clock
from registry.db import read_only
from registry.db import session_factory as make_sessions
from registry.polling import PollingThread
from registry.notifications.delivery import (DEFAULT_TIMEOUT, PassResult, deliver_pass, due_count,
                                             interrupted_count)

INTERVAL_SECONDS = 0.2
#: Advisory lock key: the first 8 bytes of SHA-256("arcreg webhook delivery").
LOCK_KEY = int.from_bytes(hashlib.sha256(b"arcreg webhook delivery").digest()[:8], "big", signed=True)
_MEMORY_LOCK = threading.Lock()


def delivery_lock(engine: Engine) -> SignerLock:
    return SignerLock(engine, key=LOCK_KEY, suffix="webhook-lock", memory_lock=_MEMORY_LOCK)


class DeliveryWorker(PollingThread):
    thread_name = "arcreg-webhook-worker"
    logger_name = "arcreg.webhooks"
    failure = "webhook delivery failed"

    def __init__(self, engine: Engine, clock: Clock, *, timeout: float = DEFAULT_TIMEOUT,
                 allow_loopback: bool = False, interval: float = INTERVAL_SECONDS, sessions=None) -> None:
        super().__init__(interval, delivery_lock(engine))
        self.engine, self.clock = engine, clock
        self.sessions = sessions or make_sessions(engine)
        self.read_sessions = make_sessions(read_only(engine))  # the look before the lock: no write lock
        self.timeout, self.allow_loopback = timeout, allow_loopback

    def run_once(self) -> PassResult | None:
        """One turn: if anything is due or was left half-sent, and no other
        process delivers, a pass. An empty result when nothing is due; None
        when another process holds the lock (a lease: the holder keeps it, see
        `registry.polling`)."""
        if not self.lock.acquire():
            return None
        if not due_count(self.read_sessions, self.clock) and not interrupted_count(self.read_sessions, self.clock):
            return PassResult()
        return deliver_pass(self.sessions, self.clock, timeout=self.timeout,
                            allow_loopback=self.allow_loopback, read_sessions=self.read_sessions)

    def after_turn(self, result: PassResult | None) -> None:
        if result is not None and result.sent:
            logging.getLogger(self.logger_name).info("webhook deliveries: %s", result.as_dict())
