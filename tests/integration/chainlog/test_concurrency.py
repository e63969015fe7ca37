"""Concurrent appends from several PostgreSQL connections serialise (R-L2, R-L4).

Each thread has its own connection and transactions; the advisory lock in
`store.append` must make them take turns: no index used twice, no gap, no
broken chain, tree nodes exactly right, and every checkpoint consistent.
"""

from __future__ import annotations

import io
import random
import threading
from datetime import UTC, datetime

import sqlalchemy as sa

from chainlog import merkle, store
from chainlog.chain import GENESIS_HASH, chain_hash
from chainlog.export import write_export
from chainlog.keys import Signer
from chainlog.verify import verify_export

T0 = datetime(2026, 11, 23, 11, 37, 17, 123456, tzinfo=UTC)
ORIGIN = "registry.example/log"
SIGNER = Signer.from_seed(ORIGIN, bytes(range(32)))
THREADS, TRANSACTIONS, PER_TX = 6, 8, 3  # 144 entries


def test_concurrent_appends_never_fork_the_log(pg_engine):
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(w: int) -> None:
        rng = random.Random(w)
        try:
            start.wait()
            for t in range(TRANSACTIONS):
                with pg_engine.begin() as conn:
                    for k in range(PER_TX):
                        store.append(conn, type="block.transferred", actor=f"user:{w}",
                                     payload={"worker": w, "tx": t, "k": k}, time=T0)
                    if rng.random() < 0.3:  # checkpoints signed while others append
                        store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    total = THREADS * TRANSACTIONS * PER_TX

    with pg_engine.begin() as conn:
        store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
    with pg_engine.connect() as conn:
        entries = store.entries(conn, 0, total + 10)
        assert [e.index for e in entries] == list(range(total))
        # Each worker's entries of one transaction are contiguous: transactions took turns.
        seen = {(e.payload["worker"], e.payload["tx"]) for e in entries}
        assert len(seen) == THREADS * TRANSACTIONS
        for i in range(0, total, PER_TX):
            group = entries[i : i + PER_TX]
            assert len({(e.payload["worker"], e.payload["tx"]) for e in group}) == 1
        prev = GENESIS_HASH
        for e in entries:
            prev = chain_hash(prev, e.canonical.encode())
            assert e.entry_hash == prev
        leaves = [e.leaf_hash for e in entries]
        nodes = {(r.level, r.index): bytes(r.hash) for r in conn.execute(sa.select(store.nodes_table))}
        expected_nodes = {
            (level, i): merkle.root(leaves[i << level : (i + 1) << level])
            for level in range(1, total.bit_length())
            for i in range(total >> level)
        }
        assert nodes == expected_nodes
        checkpoints = list(store.iter_checkpoints(conn))
        assert checkpoints[-1].size == total
        for cp in checkpoints:
            assert cp.root == merkle.root(leaves[: cp.size])
        out = io.StringIO()
        write_export(conn, out)
    report = verify_export(out.getvalue().splitlines(), [SIGNER.vkey])
    assert report.size == total and report.signed_size == total
