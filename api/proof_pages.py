"""Provenance proof pages kept in memory (R-X6: bounded cost of deep lineages).

A page of a provenance proof is fixed by (serial, the log index it starts at,
the checkpoint size it is proven against, its limit): the log is append-only
(R-L8), so the same key always gives the same bytes. Each worker keeps the
serialised pages it served, least recently used first out, up to
``MAX_BYTES``; readers looping on one deep lineage then cost a lookup per page
instead of a walk, a proof and a serialisation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import Flask

MAX_BYTES = 32 * 1024 * 1024
EXTENSION = "arcreg.proof_pages"


class PageCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_make(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            body = self._pages.get(key)
            if body is not None:
                self._pages.move_to_end(key)
                self.hits += 1
                return body
            self.misses += 1
        body = make()  # outside the lock: another thread may make the same page meanwhile, harmlessly
        if len(body) <= self.max_bytes:
            with self._lock:
                if key not in self._pages:
                    self._pages[key] = body
                    self._bytes += len(body)
                while self._bytes > self.max_bytes:
                    _, dropped = self._pages.popitem(last=False)
                    self._bytes -= len(dropped)
        return body


def pages_of(app: Flask) -> PageCache:
    """The app's cache (one per application: tests run several over different databases)."""
    cache = app.extensions.get(EXTENSION)
    if cache is None:
        cache = app.extensions.setdefault(EXTENSION, PageCache())
    return cache
