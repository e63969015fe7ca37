"""Sign a checkpoint without holding the log's append lock (R-L4b).

Committed entries are always a prefix of the log (an appender holds the
append lock until its commit), so the tree head read in any transaction is
a tree that will never change. It is read in a short read-only
transaction, signed (Ed25519, microseconds) outside any transaction, and
stored in a one-row write that a concurrent signer of the same size turns
into a no-op (`chainlog.store.store_checkpoint`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

import chainlog.store
from chainlog.checkpoint import sign_checkpoint as sign_note
from chainlog.keys import Signer
from registry.db import read_only, read_write


#: One statement, one round trip: the log's size and the largest size a stored checkpoint covers.
_SIZES = sa.select(
    sa.select(sa.func.max(chainlog.store.entries_table.c.index)).scalar_subquery(),
    sa.select(sa.func.max(chainlog.store.checkpoints_table.c.size)).scalar_subquery(),
)


def unsigned_size(conn: Connection) -> int | None:
    """The log's size when it holds entries that no stored checkpoint covers, else None."""
    last, covered = conn.execute(_SIZES).one()
    n = 0 if last is None else int(last) + 1
    return n if n > (covered or 0) else None


def tree_grown(engine: Engine) -> bool:
    """True when the log holds entries that no stored checkpoint covers."""
    with read_only(engine).connect() as conn:
        grown = unsigned_size(conn) is not None
        conn.rollback()
    return grown


def sign_tree(engine: Engine, signer: Signer, origin: str, now: datetime, *,
              size: int | None = None, conn: Connection | None = None) -> chainlog.store.StoredCheckpoint:
    """A stored checkpoint of the tree of `size` entries (default: every committed
    entry), signed now unless one is stored already (R-L4).

    With no `size`, a stored checkpoint at least as large as the tree is returned
    as it is. Holds no lock that writers or readers wait on beyond the one-row
    insert (R-L4b); on SQLite that insert waits for the writer of the moment.
    `conn`, an autocommit connection of the caller's (the eager signer's lock
    connection), saves the pool's round trips: every read is then of a tree
    that never changes, and the insert is a statement of its own.
    """
    if conn is not None:
        return _sign(conn, signer, origin, now, size)
    with read_only(engine).connect() as reading:
        unsigned_or_stored = _unsigned(reading, signer, origin, size)
        reading.rollback()
    if isinstance(unsigned_or_stored, chainlog.store.StoredCheckpoint):
        return unsigned_or_stored
    note = sign_note(unsigned_or_stored, signer)  # outside any transaction
    with read_write(engine).begin() as writing:
        return chainlog.store.store_checkpoint(writing, unsigned_or_stored, note, now)


def _sign(conn: Connection, signer: Signer, origin: str, now: datetime,
          size: int | None) -> chainlog.store.StoredCheckpoint:
    unsigned_or_stored = _unsigned(conn, signer, origin, size)
    if isinstance(unsigned_or_stored, chainlog.store.StoredCheckpoint):
        return unsigned_or_stored
    return chainlog.store.store_checkpoint(conn, unsigned_or_stored, sign_note(unsigned_or_stored, signer), now)


def _unsigned(conn: Connection, signer: Signer, origin: str, size: int | None):
    """The stored checkpoint of the tree (see `sign_tree`), or the unsigned one to sign."""
    n = chainlog.store.size(conn) if size is None else size
    stored = chainlog.store.checkpoint_at(conn, n)
    if stored is None and size is None:
        latest = chainlog.store.latest_checkpoint(conn)
        if latest is not None and latest.size >= n:
            stored = latest
    return stored if stored is not None else chainlog.store.checkpoint_to_sign(conn, signer, origin, n)
