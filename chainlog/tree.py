"""The Merkle tree as stored: O(log n) subtree reads for roots and proofs (R-L3).

``log_nodes`` holds the hash of every complete aligned subtree of level >= 1;
level 0 is ``log_entries.leaf_hash``. RFC 9162 proofs are lists of MTHs of
leaf ranges (`merkle.inclusion_ranges`, `merkle.consistency_ranges`); each
range is the right fold of at most ~log n stored subtrees
(`merkle.subtree_nodes`), so a root or proof for any tree size reads O(log n)
rows in one query and never the leaves. Functions take the caller's Session
or Connection and only read, except that `completed_nodes` is what `append`
inserts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from . import merkle
from .errors import RangeError
from .schema import dialect_of
from .schema import entries as entries_table
from .schema import nodes as nodes_table

# SQLite: (level, index) pairs are matched as an OR of equalities, not a
# row-value IN: SQLite answers the OR from the primary key (MULTI-INDEX OR)
# but scans the table for a row-value IN. Statements are cached per number of
# pairs. PostgreSQL: one statement whatever the number, the pairs passed as two
# arrays and joined through unnest (a nested loop of primary-key probes); an OR
# of ~200 pairs (a provenance proof) cost ~11 ms there, mostly in planning it.
_fetch_cache: dict[tuple[bool, int], Any] = {}
_SQLITE_PAIRS = 400


def _pg_fetch_statement() -> Any:
    keys = sa.func.unnest(sa.bindparam("levels", type_=ARRAY(sa.SmallInteger)),
                          sa.bindparam("indexes", type_=ARRAY(sa.BigInteger))
                          ).table_valued("level", "index").render_derived(name="wanted")
    leaves = (sa.select(sa.literal(0, sa.SmallInteger).label("level"), entries_table.c.index, entries_table.c.leaf_hash)
              .where(entries_table.c.index == sa.any_(sa.bindparam("leaves", type_=ARRAY(sa.BigInteger)))))
    inner = (sa.select(nodes_table.c.level, nodes_table.c.index, nodes_table.c.hash)
             .join(keys, sa.and_(nodes_table.c.level == keys.c.level, nodes_table.c.index == keys.c.index)))
    return sa.union_all(leaves, inner)


_PG_FETCH = _pg_fetch_statement()


def _fetch_statement(with_leaves: bool, pairs: int) -> Any:
    key = (with_leaves, pairs)
    stmt = _fetch_cache.get(key)
    if stmt is None:
        parts = []
        if with_leaves:
            parts.append(
                sa.select(
                    sa.literal(0, sa.SmallInteger).label("level"), entries_table.c.index, entries_table.c.leaf_hash
                )
                .where(entries_table.c.index.in_(sa.bindparam("leaves", expanding=True)))
            )
        if pairs:
            parts.append(
                sa.select(nodes_table.c.level, nodes_table.c.index, nodes_table.c.hash).where(sa.or_(*(
                    sa.and_(nodes_table.c.level == sa.bindparam(f"l{k}"), nodes_table.c.index == sa.bindparam(f"i{k}"))
                    for k in range(pairs)
                )))
            )
        stmt = _fetch_cache[key] = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    return stmt


def fetch(conn: Any, ids: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Hashes of subtrees (level, index) in one query (SQLite: one per 400 pairs); absent ones are missing
    from the result."""
    ids = set(ids)
    if not ids:
        return {}
    leaves = [i for level, i in ids if level == 0]
    inner = [(level, i) for level, i in ids if level > 0]
    fetched = _pg_rows if dialect_of(conn) == "postgresql" else _sqlite_rows
    return {(row[0], row[1]): bytes(row[2]) for row in fetched(conn, leaves, inner)}


def _pg_rows(conn: Any, leaves: list[int], inner: list[tuple[int, int]]) -> Iterable[Any]:
    return conn.execute(_PG_FETCH, {"leaves": leaves, "levels": [level for level, _ in inner],
                                    "indexes": [i for _, i in inner]})


def _sqlite_rows(conn: Any, leaves: list[int], inner: list[tuple[int, int]]) -> Iterable[Any]:
    # SQLite refuses an expression tree deeper than 1,000, i.e. an OR of ~1,000
    # pairs (a provenance of ~70 entries in a 1M log): ask in chunks, the
    # leaves with the first.
    chunks = [inner[k:k + _SQLITE_PAIRS] for k in range(0, len(inner), _SQLITE_PAIRS)] or [[]]
    for n, chunk in enumerate(chunks):
        with_leaves = bool(leaves) and n == 0
        params: dict[str, Any] = {"leaves": leaves} if with_leaves else {}
        for k, (level, i) in enumerate(chunk):
            params[f"l{k}"], params[f"i{k}"] = level, i
        yield from conn.execute(_fetch_statement(with_leaves, len(chunk)), params)


def range_hashes(conn: Any, ranges: list[tuple[int, int]], size: int, what: str) -> list[bytes]:
    """MTH of each RFC 9162 leaf range from stored subtrees; RangeError unless the log has `size` entries."""
    plans = [merkle.subtree_nodes(a, b) for a, b in ranges]
    wanted = {node for plan in plans for node in plan}
    if size > 0:
        wanted.add((0, size - 1))  # the last leaf of the tree must exist
    got = fetch(conn, wanted)
    if len(got) != len(wanted):
        raise RangeError(f"{what}: tree size {size} is larger than the log")
    return [merkle.fold([got[n] for n in plan]) for plan in plans]


def completed_nodes(conn: Any, index: int, leaf_hash: bytes) -> list[dict[str, Any]]:
    """Rows for ``log_nodes`` that leaf `index` completes (one per trailing 1 bit of `index`).

    Each new subtree's left child is an already stored subtree (a leaf at
    level 0), read in one query; its right child is the one just computed.
    """
    completed = ((index + 1) & -(index + 1)).bit_length() - 1
    lefts = [(level - 1, ((index + 1) >> (level - 1)) - 2) for level in range(1, completed + 1)]
    got = fetch(conn, lefts)
    rows, h = [], leaf_hash
    for level, left in zip(range(1, completed + 1), lefts, strict=True):
        h = merkle.node_hash(got[left], h)
        rows.append({"level": level, "index": ((index + 1) >> level) - 1, "hash": h})
    return rows


def frontier(conn: Any, size: int) -> list[tuple[int, bytes]]:
    """The perfect subtrees that make up the first `size` leaves, largest (leftmost) first, as
    (level, hash): one per set bit of `size`, read in one query."""
    ids, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            ids.append((level, start >> level))
            start += 1 << level
    got = fetch(conn, ids)
    return [(level, got[(level, i)]) for level, i in ids]


def extend(stack: list[tuple[int, bytes]], index: int, leaf_hash: bytes) -> list[dict[str, Any]]:
    """Add leaf `index` to the frontier `stack` (of the first `index` leaves, changed in place) and
    return the `log_nodes` rows it completes: the same rows as `completed_nodes`, without a read."""
    rows, level, h = [], 0, leaf_hash
    while stack and stack[-1][0] == level:
        h = merkle.node_hash(stack.pop()[1], h)
        level += 1
        rows.append({"level": level, "index": ((index + 1) >> level) - 1, "hash": h})
    stack.append((level, h))
    return rows


def root_at(conn: Any, size: int) -> bytes:
    """MTH of the first `size` entries (RangeError if the log is shorter)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise RangeError(f"tree size must be a non-negative integer, not {size!r}")
    if size == 0:
        return merkle.EMPTY_ROOT
    return range_hashes(conn, [(0, size)], size, "root")[0]


def inclusion_proof(conn: Any, index: int, size: int) -> list[bytes]:
    """Audit path of entry `index` in the tree of `size` (RFC 9162 §2.1.3)."""
    return range_hashes(conn, merkle.inclusion_ranges(index, size), size, "inclusion proof")


def consistency_proof(conn: Any, first: int, second: int) -> list[bytes]:
    """Consistency proof from size `first` to `second` (RFC 9162 §2.1.4)."""
    return range_hashes(conn, merkle.consistency_ranges(first, second), second, "consistency proof")
