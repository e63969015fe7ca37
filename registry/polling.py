"""A background thread that takes a turn every ``interval`` seconds, in every
served worker process: the eager checkpoint signer (R-L4b) and the webhook
delivery worker (R-N1).

Each runs one process at a time, under a lock that is a lease
(`registry.checkpoint_signing.lock.SignerLock`): the thread that took it keeps
it and takes every turn; the others try it only every ``takeover_turns`` turns,
and take over when the holder's process ends. So one worker, not every worker,
polls the database, and the request workers keep their round trips (and their
threads' turns at the interpreter lock) for requests: table 1 of
docs/performance.md.

It sleeps with ``time.sleep``, never a timed ``Event.wait(interval)``: a timed
wait never times out under libfaketime's moved clock (CI runs served registries
at a year's end and on a leap day); a sleep does. A failing turn is logged and
the next turn tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from registry.checkpoint_signing.lock import SignerLock

#: A thread that does not hold the lock tries it every this many turns.
TAKEOVER_TURNS = 10


class PollingThread:
    thread_name = "arcreg-poller"
    logger_name = "arcreg"
    failure = "a background turn failed"

    def __init__(self, interval: float, lock: SignerLock, *, takeover_turns: int = TAKEOVER_TURNS) -> None:
        self.interval, self.lock, self.takeover_turns = interval, lock, takeover_turns
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> Any:
        """One turn; it starts with ``self.lock.acquire()`` and does nothing without it."""
        raise NotImplementedError

    def after_turn(self, result: Any) -> None:
        """What to do with a turn's result (nothing by default)."""

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            time.sleep(self.interval)
            if self._stop.is_set():
                return
            turn += 1
            if not self.lock.holding and turn % self.takeover_turns:
                continue  # another process's thread takes the turns; try the lock again later
            try:
                self.after_turn(self.run_once())
            except Exception:  # noqa: BLE001 - logged; the next turn tries again
                logging.getLogger(self.logger_name).exception(self.failure)

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 5) -> None:
        """Stop the thread (if started) and let go of the lock, so another process takes over."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.lock.release()
