"""The log in a SQL database: append entries, serve roots, proofs, entries, checkpoints.

Every function takes `conn`, a SQLAlchemy Session or Connection, and runs in
the caller's transaction: nothing here commits or rolls back, so an entry is
written together with the state change it records (R-X3), or not at all.

Concurrency: `append` and `sign_checkpoint` take a transaction-scoped lock
first. On PostgreSQL it is ``pg_advisory_xact_lock``, held until the caller's
commit or rollback, so concurrent appenders run one after another and each
sees its predecessor's committed entry (READ COMMITTED, PostgreSQL's default;
under REPEATABLE READ a racing append fails on the primary key instead of
forking the chain). On SQLite the registry opens write transactions with
BEGIN IMMEDIATE, which already serialises them.

`checkpoint_to_sign` and `store_checkpoint` sign without that lock (R-L4b):
the tree head is read (committed entries are always a prefix of the log:
an appender holds the lock until it commits), signed outside any
transaction, and stored idempotently: a concurrent signer of the same size
stores the same tree, and a different root for a stored size is refused.

Tree storage (`chainlog.tree`): appending leaf i stores the hashes of the
complete subtrees it completes (one per trailing 1 bit of i, one on
average); `root_at`, `inclusion_proof` and `consistency_proof` read only the
O(log n) subtree hashes they need, in one query.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from . import merkle
from .canonical import check_json_value, entry_canonical, entry_object, format_time
from .chain import GENESIS_HASH, chain_hash
from .checkpoint import Checkpoint, parse_checkpoint
from .checkpoint import sign_checkpoint as _sign_checkpoint_note
from .continuity import check_key
from .errors import RangeError, VerificationError
from .keys import Signer
from .note import parse_note
from .schema import append_only_ddl, dialect_of, metadata
from .schema import checkpoints as checkpoints_table
from .schema import entries as entries_table
from .schema import nodes as nodes_table
from .tree import completed_nodes, consistency_proof, extend, frontier, inclusion_proof, root_at

__all__ = [
    "Appended", "Tail", "StoredEntry", "StoredCheckpoint", "metadata", "append", "size", "root_at",
    "inclusion_proof", "consistency_proof", "entries", "entry", "entries_at", "iter_entries",
    "latest_checkpoint", "checkpoint_at", "iter_checkpoints", "sign_checkpoint", "checkpoint_to_sign",
    "store_checkpoint", "install_append_only",
    "entries_table", "nodes_table", "checkpoints_table",
]

#: pg_advisory_xact_lock key: the first 8 bytes of SHA-256("chainlog append lock").
LOCK_KEY = int.from_bytes(hashlib.sha256(b"chainlog append lock").digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class Appended:
    """What `append` wrote: enough to link to the entry (R-L2b) and to answer the caller."""

    index: int
    time: str
    leaf_hash: bytes
    entry_hash: bytes
    canonical: str


@dataclass
class Tail:
    """What one transaction knows of the log's end once it has appended under the lock, so that
    its next appends need neither the lock statement nor reads: the next index, the last entry's
    hash, and (from the second append) the tree's frontier. Valid only in the transaction that
    appended, and only while nothing else appends in it: the caller drops it at commit or
    rollback (a bulk request's thousand entries then cost two INSERTs each, not five statements)."""

    index: int = -1  # the next entry's index; -1: nothing appended yet in this transaction
    prev: bytes = GENESIS_HASH
    stack: list[tuple[int, bytes]] | None = None


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored; `payload` is parsed from `canonical`, the hashed text (R-L1)."""

    index: int
    time: str
    type: str
    actor: str
    payload: dict[str, Any]
    canonical: str
    leaf_hash: bytes
    entry_hash: bytes

    def to_json(self) -> dict[str, Any]:
        """The public JSON form (API and export line): hashes as lowercase hex."""
        return {
            "index": self.index, "time": self.time, "type": self.type, "actor": self.actor,
            "payload": self.payload, "canonical": self.canonical,
            "leaf_hash": self.leaf_hash.hex(), "entry_hash": self.entry_hash.hex(),
        }


@dataclass(frozen=True)
class StoredCheckpoint:
    """A signed checkpoint as stored and served (R-L4)."""

    size: int
    root: bytes
    note: str  # the full signed note text, as served
    time: str

    @property
    def checkpoint(self) -> Checkpoint:
        return parse_checkpoint(parse_note(self.note).text)


def _lock(conn: Any) -> None:
    """Serialise writers of the log for the rest of the caller's transaction."""
    name = dialect_of(conn)
    if name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))
    elif name != "sqlite":  # SQLite: the registry's BEGIN IMMEDIATE serialises writers
        raise NotImplementedError(f"chainlog.store supports PostgreSQL and SQLite, not {name}")


def hold_append_lock(conn: Any) -> None:
    """Take the append lock without appending: for a writer whose rows must be
    ordered with the log's commits (the registry's event outbox, R-N2)."""
    _lock(conn)


_last_entry = (
    sa.select(entries_table.c.index, entries_table.c.entry_hash).order_by(entries_table.c.index.desc()).limit(1)
)
_insert_entry = entries_table.insert()
_insert_nodes = nodes_table.insert()


def append(conn: Any, *, type: str, actor: str, payload: dict[str, Any], time: datetime,
           tail: Tail | None = None) -> Appended:
    """Append one entry (R-L1..R-L3) in the caller's transaction; never commits. With a `tail`
    kept for this transaction, appends after its first skip the lock and the reads (`Tail`)."""
    time_text = format_time(time)
    entry_object(0, time_text, type, actor, payload)  # refuse bad input before taking the lock
    check_json_value(payload)
    if tail is not None and tail.index >= 0:  # this transaction holds the lock and knows the end
        index, prev = tail.index, tail.prev
    else:
        _lock(conn)
        last = conn.execute(_last_entry).first()
        index, prev = (0, GENESIS_HASH) if last is None else (last[0] + 1, bytes(last[1]))
    canonical = entry_canonical(index, time_text, type, actor, payload)
    leaf = merkle.leaf_hash(canonical)
    entry_hash = chain_hash(prev, canonical)

    if tail is None or tail.index < 0:  # a single append reads no more with a tail than without
        new_nodes = completed_nodes(conn, index, leaf)
    else:
        if tail.stack is None:  # the second append reads the frontier, once
            tail.stack = frontier(conn, index)
        new_nodes = extend(tail.stack, index, leaf)
    text = canonical.decode("utf-8")
    conn.execute(_insert_entry, {
        "index": index, "time": time_text, "type": type, "actor": actor,
        "canonical": text, "leaf_hash": leaf, "entry_hash": entry_hash,
    })
    if new_nodes:
        conn.execute(_insert_nodes, new_nodes)
    if tail is not None:
        tail.index, tail.prev = index + 1, entry_hash
    return Appended(index, time_text, leaf, entry_hash, text)


def size(conn: Any) -> int:
    """Number of entries in the log."""
    last = conn.execute(sa.select(sa.func.max(entries_table.c.index))).scalar()
    return 0 if last is None else int(last) + 1


def _stored_entry(row: Any) -> StoredEntry:
    canonical = row.canonical
    return StoredEntry(
        index=int(row.index), time=row.time, type=row.type, actor=row.actor,
        payload=json.loads(canonical)["payload"], canonical=canonical,
        leaf_hash=bytes(row.leaf_hash), entry_hash=bytes(row.entry_hash),
    )


def _check_index(v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise RangeError(f"entry indexes must be non-negative integers, not {v!r}")


def entries(conn: Any, start: int, end: int) -> list[StoredEntry]:
    """Entries with start <= index < end, in order (fewer if the log ends sooner)."""
    _check_index(start)
    _check_index(end)
    if end < start:
        raise RangeError(f"end {end} is before start {start}")
    rows = conn.execute(
        sa.select(entries_table)
        .where(entries_table.c.index >= start, entries_table.c.index < end)
        .order_by(entries_table.c.index)
    )
    return [_stored_entry(r) for r in rows]


def entry(conn: Any, index: int) -> StoredEntry | None:
    """The entry at `index`, or None if the log is shorter."""
    _check_index(index)
    # An equality, not the range of `entries`: PostgreSQL estimates a range
    # over a big log at thousands of rows and plans a parallel scan whose
    # start-up alone is ~5 ms; the primary key answers this in ~0.05 ms.
    row = conn.execute(sa.select(entries_table).where(entries_table.c.index == index)).first()
    return None if row is None else _stored_entry(row)


def entries_at(conn: Any, indexes: list[int]) -> list[StoredEntry]:
    """The entries at these indexes, in index order (those past the log's end are left out)."""
    for index in indexes:
        _check_index(index)
    if not indexes:
        return []
    rows = conn.execute(sa.select(entries_table).where(entries_table.c.index.in_(sorted(set(indexes))))
                        .order_by(entries_table.c.index))
    return [_stored_entry(r) for r in rows]


def iter_entries(conn: Any, *, batch: int = 5000) -> Iterator[StoredEntry]:
    """All entries in order, read `batch` at a time by primary key (constant memory)."""
    start = 0
    while True:
        chunk = entries(conn, start, start + batch)
        yield from chunk
        if len(chunk) < batch:
            return
        start += batch


def _stored_checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(int(row.size), bytes(row.root), row.note, row.time)


def latest_checkpoint(conn: Any) -> StoredCheckpoint | None:
    row = conn.execute(sa.select(checkpoints_table).order_by(checkpoints_table.c.size.desc()).limit(1)).first()
    return None if row is None else _stored_checkpoint(row)


def checkpoint_at(conn: Any, size: int) -> StoredCheckpoint | None:
    row = conn.execute(sa.select(checkpoints_table).where(checkpoints_table.c.size == size)).first()
    return None if row is None else _stored_checkpoint(row)


def iter_checkpoints(conn: Any) -> Iterator[StoredCheckpoint]:
    """Every stored checkpoint, by increasing size."""
    for row in conn.execute(sa.select(checkpoints_table).order_by(checkpoints_table.c.size)):
        yield _stored_checkpoint(row)


def sign_checkpoint(conn: Any, signer: Signer, origin: str, now: datetime) -> StoredCheckpoint:
    """Sign and store a checkpoint of the current tree, unless the latest one already covers it.

    Before signing it proves the new tree consistent with the latest stored
    checkpoint, so the log never signs two checkpoints that fork or roll back
    (R-L4); on failure it raises VerificationError(kind="inconsistent_checkpoint").
    A signer other than the log's key raises KeyContinuityError (kind="key_changed", R-L5b).
    """
    time_text = format_time(now)
    _lock(conn)
    n = size(conn)
    last = latest_checkpoint(conn)
    if last is not None and last.size == n:
        return last
    root = root_at(conn, n)
    if last is not None:
        # R-L5b: only the key in force (the latest checkpoint's, or one a
        # key.rotated entry introduced from it) signs the log; never silently another.
        check_key(conn, signer.verifier)
        if last.size > n:
            raise VerificationError(
                f"latest checkpoint has size {last.size} but the log has {n} entries: refusing a rollback",
                kind="inconsistent_checkpoint",
            )
        previous = last.checkpoint
        if previous.origin != origin:
            raise VerificationError(
                f"checkpoint origin: expected {previous.origin!r} (latest checkpoint), got {origin!r}",
                kind="inconsistent_checkpoint",
            )
        try:
            proof = consistency_proof(conn, last.size, n)
            merkle.verify_consistency(last.size, n, last.root, root, proof)
        except VerificationError as exc:
            raise VerificationError(
                f"tree of size {n} is not consistent with the checkpoint of size {last.size}: {exc}",
                kind="inconsistent_checkpoint",
            ) from None
    note = _sign_checkpoint_note(Checkpoint(origin, n, root), signer)
    conn.execute(checkpoints_table.insert().values(size=n, root=root, note=note, time=time_text))
    return StoredCheckpoint(n, root, note, time_text)


def _neighbours(conn: Any, n: int) -> tuple[StoredCheckpoint | None, StoredCheckpoint | None]:
    """The stored checkpoints just below (or at) and just above size `n`."""
    c = checkpoints_table.c
    below = conn.execute(sa.select(checkpoints_table).where(c.size <= n).order_by(c.size.desc()).limit(1)).first()
    above = conn.execute(sa.select(checkpoints_table).where(c.size > n).order_by(c.size).limit(1)).first()
    return (None if below is None else _stored_checkpoint(below)), (None if above is None else _stored_checkpoint(above))


def _check_consistent(conn: Any, older: StoredCheckpoint, n: int, root: bytes) -> None:
    try:
        proof = consistency_proof(conn, older.size, n)
        merkle.verify_consistency(older.size, n, older.root, root, proof)
    except VerificationError as exc:
        raise VerificationError(f"tree of size {n} is not consistent with the checkpoint of size {older.size}: {exc}",
                                kind="inconsistent_checkpoint") from None


def checkpoint_to_sign(conn: Any, signer: Signer, origin: str, n: int) -> Checkpoint:
    """The checkpoint of the first `n` entries, proven consistent with the stored
    checkpoints around it (no fork, R-L4) and for the key in force (R-L5b).

    Takes no lock and writes nothing (R-L4b): sign it outside any transaction
    and store it with `store_checkpoint`.
    """
    root = root_at(conn, n)
    below, above = _neighbours(conn, n)
    if below is not None or above is not None:
        check_key(conn, signer.verifier)
    for stored in (below, above):
        if stored is not None and stored.checkpoint.origin != origin:
            raise VerificationError(f"checkpoint origin: expected {stored.checkpoint.origin!r} "
                                    f"(stored checkpoint), got {origin!r}", kind="inconsistent_checkpoint")
    if below is not None:
        _check_consistent(conn, below, n, root)
    if above is not None:  # a concurrent signer stored a larger tree first: ours must be its prefix
        try:
            merkle.verify_consistency(n, above.size, root, above.root, consistency_proof(conn, n, above.size))
        except VerificationError as exc:
            raise VerificationError(f"tree of size {n} is not a prefix of the checkpoint of size {above.size}: "
                                    f"{exc}", kind="inconsistent_checkpoint") from None
    return Checkpoint(origin, n, root)


def store_checkpoint(conn: Any, checkpoint: Checkpoint, note: str, now: datetime) -> StoredCheckpoint:
    """Store a signed checkpoint unless one of its size is stored already; return
    the stored one. Idempotent, and takes no lock but the new row's (R-L4b): two
    signers of the same tree store one row; a different root for a stored size
    is a fork and raises VerificationError(kind="inconsistent_checkpoint")."""
    name = dialect_of(conn)
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    row = {"size": checkpoint.size, "root": checkpoint.root, "note": note, "time": format_time(now)}
    conn.execute(insert(checkpoints_table).values(**row).on_conflict_do_nothing(index_elements=["size"]))
    stored = checkpoint_at(conn, checkpoint.size)
    if stored.root != checkpoint.root:
        raise VerificationError(f"a checkpoint of size {checkpoint.size} with another root is stored: refusing a fork",
                                kind="inconsistent_checkpoint")
    return stored


def install_append_only(conn: Any) -> None:
    """Create the triggers refusing UPDATE/DELETE/TRUNCATE on the log tables (R-L8)."""
    for statement in append_only_ddl(dialect_of(conn)):
        conn.execute(sa.text(statement))
