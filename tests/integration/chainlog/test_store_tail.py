"""Appends that keep a `store.Tail` for their transaction (a bulk request's
thousand entries) write the same log as appends that read the log's end each
time: the same entries, chain and stored subtree hashes, so the same roots and
proofs, from any starting size; and after the first append of a transaction
they send only INSERTs (no lock statement, no reads). SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from chainlog import merkle, store
from chainlog.schema import nodes as nodes_table
from tests.integration.chainlog.test_store import T0, payload


def _append(conn, i: int, tail=None) -> store.Appended:
    return store.append(conn, type="block.transferred", actor="user:1", payload=payload(i), time=T0, tail=tail)


def _stored(conn) -> tuple[list, list]:
    entries = [(e.index, e.entry_hash, e.leaf_hash) for e in store.entries(conn, 0, store.size(conn))]
    nodes = conn.execute(sa.select(nodes_table.c.level, nodes_table.c.index, nodes_table.c.hash)
                         .order_by(nodes_table.c.level, nodes_table.c.index)).all()
    return entries, [tuple(n) for n in nodes]


class _Statements:
    def __init__(self, engine) -> None:
        self.engine, self.seen = engine, []

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(" ".join(statement.split()).split(" ")[0].upper())


def test_a_kept_tail_writes_the_same_log_from_any_size(engine):
    # Transactions of 1, 2, ... 9 entries, starting at sizes 0, 1, 3, 6, 10, 15, 21, 28, 36: frontiers
    # of one to four subtrees, of every level up to 5.
    n = 0
    for k in range(1, 10):
        with engine.begin() as conn:
            tail = store.Tail()
            got = [_append(conn, n + j, tail) for j in range(k)]
            assert [a.index for a in got] == list(range(n, n + k))
            assert tail.index == n + k and tail.prev == got[-1].entry_hash
        n += k
    with engine.connect() as conn:
        entries, nodes = _stored(conn)
        leaves = [leaf for _, _, leaf in entries]
        # Every stored subtree is the RFC 9162 hash of its leaves; every root is that of the leaves so far.
        for level, index, h in nodes:
            assert h == merkle.root(leaves[index << level:(index + 1) << level])
        assert len(nodes) == sum(((i + 1) & -(i + 1)).bit_length() - 1 for i in range(n))
        for size in range(1, n + 1):
            assert store.root_at(conn, size) == merkle.root(leaves[:size])


def test_after_the_first_append_only_inserts_are_sent(engine):
    with engine.begin() as conn:
        for i in range(5):
            _append(conn, i)
    with engine.begin() as conn, _Statements(engine) as statements:
        tail = store.Tail()
        _append(conn, 5, tail)
        first = list(statements.seen)
        statements.seen.clear()
        _append(conn, 6, tail)  # reads the frontier once
        assert statements.seen.count("SELECT") == 1
        statements.seen.clear()
        for i in range(7, 40):
            _append(conn, i, tail)
    assert set(statements.seen) == {"INSERT"}, statements.seen
    assert "SELECT" in first  # the first append locks and reads the end as without a tail
    with engine.connect() as conn:
        leaves = [e.leaf_hash for e in store.entries(conn, 0, 40)]
        assert store.root_at(conn, 40) == merkle.root(leaves)
