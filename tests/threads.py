"""Worker threads whose failures fail the test.

A plain ``threading.Thread`` that raises just prints a traceback and ends:
``is_alive()`` is then False exactly as for a thread that finished its work,
and the test passes. ``Worker`` records the exception instead; ``Problems``
collects what a worker saw but could not raise (an unexpected HTTP status, a
body it did not expect); ``finish`` joins the workers and fails with all of it;
``wait_until`` waits for a condition the test needs (never a fixed sleep) and
fails loudly, with what was seen, when it does not come in time or a worker
has crashed meanwhile.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable


class Worker(threading.Thread):
    """A daemon thread that keeps the exception its target raised."""

    def __init__(self, target: Callable, *args, name: str | None = None, **kwargs) -> None:
        super().__init__(target=target, args=args, kwargs=kwargs, name=name, daemon=True)
        self.error: BaseException | None = None
        self.error_traceback = ""

    def run(self) -> None:
        try:
            super().run()
        except BaseException as exc:  # noqa: BLE001 -- recorded and reported by finish()
            self.error = exc
            self.error_traceback = traceback.format_exc()


class Problems:
    """A thread-safe list of the unexpected things the workers saw."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[str] = []

    def add(self, what: str) -> None:
        with self._lock:
            self._items.append(what)

    def status(self, what: str, status: int, expected: Iterable[int], body=None) -> bool:
        """Record ``status`` unless it is one of ``expected``; True if it was expected."""
        if status in set(expected):
            return True
        self.add(f"{what}: HTTP {status} (expected {sorted(set(expected))}): {body!r}"[:2000])
        return False

    @property
    def items(self) -> list[str]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        return len(self.items)


def _crashed(workers: Iterable[Worker]) -> list[str]:
    return [f"thread {w.name} raised:\n{w.error_traceback}" for w in workers if w.error is not None]


def _stuck(workers: Iterable[Worker]) -> list[str]:
    frames = sys._current_frames()
    return [f"thread {w.name} still running after the timeout, at:\n"
            + "".join(traceback.format_stack(frames[w.ident]) if w.ident in frames else [])
            for w in workers if w.is_alive()]


def check(workers: Iterable[Worker] = (), problems: Problems | None = None) -> None:
    """Fail now if a worker has crashed or a problem was recorded."""
    failures = _crashed(workers) + (problems.items if problems is not None else [])
    if failures:
        raise AssertionError(f"{len(failures)} worker failure(s):\n" + "\n".join(failures))


def finish(workers: Iterable[Worker], *, timeout: float, problems: Problems | None = None) -> None:
    """Join every worker within ``timeout`` seconds in all, then fail with every
    worker that is still running, every exception raised and every problem recorded."""
    workers = list(workers)
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()))
    failures = _stuck(workers) + _crashed(workers) + (problems.items if problems is not None else [])
    if failures:
        raise AssertionError(f"{len(failures)} worker failure(s):\n" + "\n".join(failures))


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, seen: Callable[[], object] = lambda: None,
               workers: Iterable[Worker] = (), problems: Problems | None = None, poll: float = 0.05) -> float:
    """Wait for ``condition()`` to hold; return the seconds it took. Fails at
    once if a worker crashes or records a problem meanwhile, and after
    ``timeout`` seconds with ``what`` was awaited and ``seen()``."""
    workers = list(workers)
    start = time.monotonic()
    while not condition():
        check(workers, problems)
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; seen: {seen()}")
        time.sleep(poll)
    return time.monotonic() - start
