"""The rate limiter's in-process storage (``memory://``), without a thread per write.

limits' ``MemoryStorage`` sweeps expired counters on a ``threading.Timer``
of 10 ms that it starts again on every counted hit once the previous one has
run: under load, one new thread per write request (py-spy showed the timer
threads in every worker; see docs/performance.md). Counters are already
expired lazily when they are read, so the sweep only frees the memory of
clients that stopped writing. This storage runs that sweep inline, at most
once every ``SWEEP_SECONDS``, on the request that finds it due.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage

SCHEME = "arcreg-memory"
SWEEP_SECONDS = 10.0


class SweptMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = [SCHEME]  # registered with limits under this scheme
    _next_sweep = 0.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # MemoryStorage starts a sweeping Timer here; this storage sweeps inline, so stop it at once
        # (a non-daemon timer also keeps the process alive until it fires).
        self.timer.cancel()

    # MemoryStorage calls self.__schedule_expiry() (name-mangled) on every hit.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()


def storage_uri(configured: str) -> str:
    """The URI to give Flask-Limiter: ``memory://`` becomes this storage."""
    if configured.strip().lower().startswith("memory://"):
        return f"{SCHEME}://"
    return configured
