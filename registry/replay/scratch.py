"""Bounded-memory storage for the replayed state (R-L7).

The replay must not hold the registry in memory: a log of millions of entries
creates hundreds of thousands of blocks (a splitting transfer or retirement
makes two and keeps the parent as ``split`` history). Each replayed map is a
`ScratchMap`: a dict-like view over a table of a private, temporary SQLite
database (``sqlite3.connect("")``: a file SQLite creates in its temporary
directory and deletes when the connection closes), fronted by a small
write-back cache of recently used records. The replay code reads and mutates
records as plain dicts; `ScratchDb.trim`, called between entries, writes the
least recently used records out when a cache exceeds its bound. Memory is
therefore the cache bound plus SQLite's page cache, whatever the log's size.

It is scratch: no journal, no fsync, 16 KiB pages. Records are dicts of
plain values (or tuples); they are stored with `marshal` (fast, and they are
ours: made by the replay in this process, never read from elsewhere), each
`Decimal` as its exact string, so quantities come back exactly (R-U3).

Keys are ints or strings (the registry's ids and serials); iteration in key
order (`sorted_items`) is what the comparison with the live tables merges on.
"""

from __future__ import annotations

import marshal
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

CACHE_RECORDS = 20_000  # per map: ~30 MiB for blocks, the biggest records
PAGE_CACHE_KIB = 16_384  # SQLite's page cache for the scratch database
_FETCH = 5_000
_DEC = "\x00Decimal"  # marks a Decimal stored as its string


def _dumps(value: Any) -> bytes:
    if type(value) is dict:
        value = {k: (_DEC, str(v)) if type(v) is Decimal else v for k, v in value.items()}
    return marshal.dumps(value)


def _loads(data: bytes) -> Any:
    value = marshal.loads(data)
    if type(value) is dict:
        for k, v in value.items():
            if type(v) is tuple and len(v) == 2 and v[0] == _DEC:
                value[k] = Decimal(v[1])
    return value


def order_key(key: Any) -> tuple[int, Any]:
    """SQLite's order of an untyped key column: integers before text, text
    by code point (= UTF-8 bytes, BINARY collation)."""
    return (0, key) if isinstance(key, int) else (1, key)


def _storable(key: Any) -> bool:
    return isinstance(key, int | str)


class ScratchDb:
    """The temporary database holding every map of one replay."""

    def __init__(self, cache_records: int = CACHE_RECORDS) -> None:
        self.conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        for pragma in ("page_size=16384", "journal_mode=OFF", "synchronous=OFF", f"cache_size=-{PAGE_CACHE_KIB}",
                       "temp_store=FILE", "locking_mode=EXCLUSIVE"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.cache_records = cache_records
        self.maps: list[ScratchMap] = []

    def map(self, name: str, tag: str | None = None) -> ScratchMap:
        m = ScratchMap(self, name, tag)
        self.maps.append(m)
        return m

    def trim(self) -> None:
        """Write out least recently used records where a cache is over its bound."""
        for m in self.maps:
            if len(m.cache) > self.cache_records:
                m.evict(len(m.cache) - self.cache_records // 2)

    def close(self) -> None:
        self.conn.close()  # SQLite deletes the temporary file


class ScratchMap:
    """key -> record (a dict or tuple), stored in table `name`; `tag` names
    a record field kept in its own column for `tag_counts`."""

    def __init__(self, db: ScratchDb, name: str, tag: str | None) -> None:
        self.db, self.name, self.tag = db, name, tag
        self.cache: dict[Any, Any] = {}  # insertion order = least recently used first
        db.conn.execute(f"CREATE TABLE {name} (k PRIMARY KEY NOT NULL, tag, v BLOB NOT NULL) WITHOUT ROWID")
        self._get_sql = f"SELECT v FROM {name} WHERE k = ?"
        self._put_sql = f"INSERT OR REPLACE INTO {name} (k, tag, v) VALUES (?, ?, ?)"

    def _rows(self, items) -> list[tuple]:
        tag = self.tag
        return [(k, v.get(tag) if tag is not None and isinstance(v, dict) else None, _dumps(v))
                for k, v in items]

    def evict(self, count: int) -> None:
        cache = self.cache
        out = []
        for k in cache:
            out.append(k)
            if len(out) == count:
                break
        self.db.conn.executemany(self._put_sql, self._rows((k, cache[k]) for k in out))
        for k in out:
            del cache[k]

    def flush(self) -> None:
        """Write every cached record (they stay cached)."""
        self.db.conn.executemany(self._put_sql, self._rows(self.cache.items()))

    def get(self, key: Any, default: Any = None) -> Any:
        cache = self.cache
        if key in cache:
            value = cache.pop(key)
            cache[key] = value  # most recently used
            return value
        if not _storable(key):
            return default
        row = self.db.conn.execute(self._get_sql, (key,)).fetchone()
        if row is None:
            return default
        value = cache[key] = _loads(row[0])
        return value

    def __getitem__(self, key: Any) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: Any) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __setitem__(self, key: Any, value: Any) -> None:
        if not _storable(key):
            raise TypeError(f"a replayed key must be an integer or a string, not {key!r}")
        self.cache.pop(key, None)
        self.cache[key] = value

    def __len__(self) -> int:
        self.flush()
        return self.db.conn.execute(f"SELECT COUNT(*) FROM {self.name}").fetchone()[0]

    def tag_counts(self) -> dict[Any, int]:
        self.flush()
        return dict(self.db.conn.execute(f"SELECT tag, COUNT(*) FROM {self.name} GROUP BY tag"))

    def sorted_items(self) -> Iterator[tuple[Any, Any]]:
        """Every (key, record) in key order (`order_key`), streamed."""
        self.flush()
        cursor = self.db.conn.execute(f"SELECT k, v FROM {self.name} ORDER BY k")
        while rows := cursor.fetchmany(_FETCH):
            for k, v in rows:
                yield k, _loads(v)

    def _range(self, prefix: str) -> tuple[str, str]:
        """The text keys starting with ``prefix`` are those in [prefix, upper) (code point order)."""
        return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)

    def prefix_items(self, prefix: str) -> Iterator[tuple[str, Any]]:
        """Every (key, record) whose key is a text starting with ``prefix`` (not empty), in key
        order: the cached ones are written out first, the range is read from the index."""
        cached = [(k, v) for k, v in self.cache.items() if isinstance(k, str) and k.startswith(prefix)]
        self.db.conn.executemany(self._put_sql, self._rows(cached))
        cursor = self.db.conn.execute(f"SELECT k, v FROM {self.name} WHERE k >= ? AND k < ? ORDER BY k",
                                      self._range(prefix))
        while rows := cursor.fetchmany(_FETCH):
            for k, v in rows:
                yield k, _loads(v)

    def drop_prefix(self, prefix: str) -> None:
        """Forget every record whose key is a text starting with ``prefix`` (not empty)."""
        for k in [k for k in self.cache if isinstance(k, str) and k.startswith(prefix)]:
            del self.cache[k]
        self.db.conn.execute(f"DELETE FROM {self.name} WHERE k >= ? AND k < ?", self._range(prefix))

    def values(self) -> Iterator[Any]:
        for _, v in self.sorted_items():
            yield v


_MISSING = object()
