"""Export the log as JSON lines, for offline verification (R-L7, ``arcreg verify --export``).

Format (UTF-8, one JSON object per line, ``\\n`` after each):

- An **entry line** per entry, in index order 0, 1, 2, …::

    {"index":0,"leaf_hash":"<64 hex>","entry_hash":"<64 hex>","entry":{"actor":…,"index":0,…}}

  written exactly so: no spaces, members in this order, hashes in lowercase
  hex. The value of ``entry`` is the entry's hashed text itself, byte for
  byte — the RFC 8785 JSON of ``{index, time, type, actor, payload}``
  (R-L1), which is a JSON object, so the line stays one JSON object; a reader
  finds every field there. ``leaf_hash`` is SHA-256(0x00 ‖ entry bytes)
  (R-L3) and ``entry_hash`` is SHA-256(previous entry_hash ‖ entry bytes),
  from 32 zero bytes (R-L2), as ``GET /log/entries`` serves them. A
  verifier hashes the bytes between ``"entry":`` and the final ``}``
  directly. A line that a JSON tool has re-spelled (spaces, member order,
  escapes) still verifies, slowly: the hashed bytes are then rebuilt as
  the RFC 8785 form of the ``entry`` member, which they are by definition.

- A **checkpoint line** ``{"checkpoint": "<signed note text>"}`` for every
  signed checkpoint (R-L4), right after the entry line that brings the tree to
  that checkpoint's size (a size-0 checkpoint comes first).

Nothing else. `chainlog.verify.verify_export` reads this format without a
database. It still reads, slowly, the earlier format, whose entry lines held
the fields and the hashed text as a ``canonical`` string. The export
reflects one moment: the entries present when it starts and the checkpoints
that cover no more than those.
"""

from __future__ import annotations

from typing import IO, Any

from . import _json, store


def entry_line(e: store.StoredEntry) -> str:
    """One entry line (format above): the index, the two hashes, and the hashed text verbatim.

    The index is the entry's own; `canonical` must be the exact text that was
    hashed, as stored (a line never re-serialises it).
    """
    return (f'{{"index":{e.index},"leaf_hash":"{e.leaf_hash.hex()}","entry_hash":"{e.entry_hash.hex()}",'
            f'"entry":{e.canonical}}}\n')


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
