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

from sqlalchemy import Engine

import chainlog.store
from chainlog.checkpoint import sign_checkpoint as sign_note
from chainlog.keys import Signer
from registry.db import read_only, read_write


def tree_grown(engine: Engine) -> bool:
    """True when the log holds entries that no stored checkpoint covers."""
    with read_only(engine).connect() as conn:
        n = chainlog.store.size(conn)
        latest = chainlog.store.latest_checkpoint(conn)
        conn.rollback()
    return n > 0 and (latest is None or latest.size < n)


def sign_tree(engine: Engine, signer: Signer, origin: str, now: datetime, *,
              size: int | None = None) -> chainlog.store.StoredCheckpoint:
    """A stored checkpoint of the tree of `size` entries (default: every committed
    entry), signed now unless one is stored already (R-L4).

    With no `size`, a stored checkpoint at least as large as the tree is returned
    as it is. Holds no lock that writers or readers wait on beyond the one-row
    insert (R-L4b); on SQLite that insert waits for the writer of the moment.
    """
    with read_only(engine).connect() as conn:
        n = chainlog.store.size(conn) if size is None else size
        stored = chainlog.store.checkpoint_at(conn, n)
        if stored is None and size is None:
            latest = chainlog.store.latest_checkpoint(conn)
            if latest is not None and latest.size >= n:
                stored = latest
        unsigned = None if stored is not None else chainlog.store.checkpoint_to_sign(conn, signer, origin, n)
        conn.rollback()
    if stored is not None:
        return stored
    note = sign_note(unsigned, signer)  # outside any transaction
    with read_write(engine).begin() as conn:
        return chainlog.store.store_checkpoint(conn, unsigned, note, now)
