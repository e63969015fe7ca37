"""Export the log as JSON lines, for offline verification (R-L7, ``arcreg verify --export``).

Format (UTF-8, one JSON object per line, ``\\n`` after each):

- An **entry line** per entry, in index order 0, 1, 2, …::

    {"index": 0, "time": "2026-11-23T11:37:17.123456Z", "type": "lot.registered",
     "actor": "user:7", "payload": {...}, "canonical": "{\\"actor\\":…}",
     "leaf_hash": "<64 hex>", "entry_hash": "<64 hex>"}

  Members come in this order and ``payload`` is read back from the hashed
  text, so its own members are in RFC 8785 (sorted) order.
  ``canonical`` is the exact text that was hashed: the RFC 8785 JSON of
  ``{index, time, type, actor, payload}`` (R-L1); ``leaf_hash`` is
  SHA-256(0x00 ‖ canonical) (R-L3) and ``entry_hash`` is
  SHA-256(previous entry_hash ‖ canonical), from 32 zero bytes (R-L2). These
  are the same objects as ``GET /log/entries`` returns.

- A **checkpoint line** ``{"checkpoint": "<signed note text>"}`` for every
  signed checkpoint (R-L4), right after the entry line that brings the tree to
  that checkpoint's size (a size-0 checkpoint comes first).

Nothing else. `chainlog.verify.verify_export` reads this format without a
database; the export reflects one moment: the entries present when it starts
and the checkpoints that cover no more than those.
"""

from __future__ import annotations

from typing import IO, Any

from . import _json, store


def entry_line(e: store.StoredEntry) -> str:
    """One entry line: compact JSON, members in the order above, non-ASCII kept as is.

    `chainlog.verify` rebuilds exactly these bytes to verify a line quickly;
    any other valid JSON spelling of the same object still verifies, slower.
    """
    return _json.dumps_line(e.to_json()).decode("utf-8") + "\n"


def checkpoint_line(note: str) -> str:
    return _json.dumps_line({"checkpoint": note}).decode("utf-8") + "\n"


def write_export(conn: Any, fp: IO[str], *, batch: int = 5000) -> tuple[int, int]:
    """Stream the whole log to the text file `fp`; return (entries, checkpoints) written.

    Reads entries `batch` at a time (constant memory). Runs in the caller's
    transaction and writes nothing to the database.
    """
    n = store.size(conn)
    pending = [c for c in store.iter_checkpoints(conn) if c.size <= n]
    pending.reverse()  # pop() from the end gives increasing sizes
    written_checkpoints = 0

    def flush(upto: int) -> None:
        nonlocal written_checkpoints
        while pending and pending[-1].size <= upto:
            fp.write(checkpoint_line(pending.pop().note))
            written_checkpoints += 1

    flush(0)
    start = 0
    while start < n:
        chunk = store.entries(conn, start, min(n, start + batch))
        for e in chunk:
            fp.write(entry_line(e))
            flush(e.index + 1)
        start += batch
    return n, written_checkpoints
