"""Benchmark: appends per second, and proof latency in a 1,000,000-entry store.

    /work/venv/bin/python bench/chainlog_append.py
    /work/venv/bin/python bench/chainlog_append.py --appends 20000 --proof-size 100000 --backends sqlite

1. Appends: `chainlog.store.append` of N realistic entries (default 100,000),
   `--batch` appends per transaction (default 100, as the registry commits a
   request's work), on SQLite (file, WAL, BEGIN IMMEDIATE like the registry)
   and PostgreSQL (a fresh database on --postgres) -> entries/s.
2. Proofs: a store of --proof-size entries (default 1,000,000) is built with a
   bulk path that exists only here — rows computed in Python (entries, leaf
   and chain hashes, every complete subtree node) and inserted in bulk — then
   `store.inclusion_proof`, `store.consistency_proof` and `store.root_at` are
   timed at that size (target < 5 ms per inclusion proof), each answer
   checked against the root. One more `append` at that size is timed too.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chainlog import merkle, store  # noqa: E402
from chainlog.canonical import entry_canonical, format_time  # noqa: E402
from chainlog.chain import GENESIS_HASH  # noqa: E402

from chainlog_verify import payload as transfer_payload  # noqa: E402  (sibling script)

T0 = datetime(2026, 11, 23, 11, 37, 17, 123456, tzinfo=UTC)


def payload(i: int) -> dict:
    """The same realistic transfer payload the verification benchmark uses."""
    return transfer_payload(i, max(i - 1, 0), hashlib.sha256(str(i).encode()).digest())


# --- databases -------------------------------------------------------------------


def sqlite_engine(path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection):  # as registry.db does: writers serialise at BEGIN
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Postgres:
    def __init__(self, server_url: str):
        self.server_url = sa.make_url(server_url)
        self.admin = sa.create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def fresh(self) -> sa.Engine:
        name = f"chainlog_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return sa.create_engine(self.server_url.set(database=name))

    def close(self) -> None:
        with self.admin.connect() as c:
            for name in self.names:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def create_schema(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        store.metadata.create_all(conn)
        store.install_append_only(conn)


# --- 1. appends ---------------------------------------------------------------------


def bench_appends(engine: sa.Engine, n: int, batch: int) -> float:
    create_schema(engine)
    t = time.perf_counter()
    for start in range(0, n, batch):
        with engine.begin() as conn:
            for i in range(start, min(n, start + batch)):
                store.append(conn, type="block.transferred", actor=f"user:{i % 13}", payload=payload(i), time=T0)
    seconds = time.perf_counter() - t
    with engine.connect() as conn:
        assert store.size(conn) == n
    return n / seconds


# --- 2. a big store, built in bulk ---------------------------------------------------


def bulk_rows(n: int):
    """(entries rows, node rows, leaf hashes) of a log of n entries, computed in Python."""
    sha256 = hashlib.sha256
    time_text = format_time(T0)
    prev, leaves, entries = GENESIS_HASH, [], []
    for i in range(n):
        data = entry_canonical(i, time_text, "block.transferred", f"user:{i % 13}", payload(i))
        leaf = sha256(b"\x00" + data).digest()
        prev = sha256(prev + data).digest()
        leaves.append(leaf)
        entries.append((i, time_text, "block.transferred", f"user:{i % 13}", data.decode(), leaf, prev))
    nodes, level, lvl = [], leaves, 0
    while len(level) > 1:
        lvl += 1
        level = [merkle.node_hash(level[j], level[j + 1]) for j in range(0, len(level) - 1, 2)]
        nodes.extend((lvl, j, h) for j, h in enumerate(level))
    return entries, nodes, leaves


def bulk_load(engine: sa.Engine, n: int) -> list[bytes]:
    create_schema(engine)
    entries, nodes, leaves = bulk_rows(n)
    cols = ("index", "time", "type", "actor", "canonical", "leaf_hash", "entry_hash")
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur:
                with cur.copy('COPY log_entries ("index", time, type, actor, canonical, leaf_hash, entry_hash) FROM STDIN') as cp:
                    for row in entries:
                        cp.write_row(row)
                with cur.copy('COPY log_nodes (level, "index", hash) FROM STDIN') as cp:
                    for row in nodes:
                        cp.write_row(row)
            raw.commit()
        finally:
            raw.close()
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE log_entries"))
            conn.execute(sa.text("ANALYZE log_nodes"))
    else:
        with engine.begin() as conn:
            for k in range(0, len(entries), 50_000):
                conn.execute(store.entries_table.insert(), [dict(zip(cols, r, strict=True)) for r in entries[k : k + 50_000]])
            for k in range(0, len(nodes), 100_000):
                conn.execute(store.nodes_table.insert(), [dict(zip(("level", "index", "hash"), r, strict=True)) for r in nodes[k : k + 100_000]])
    return leaves


def timed(fn, repeat: int) -> tuple[float, float, float]:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.mean(samples), samples[len(samples) // 2], samples[int(len(samples) * 0.99) - 1]


def bench_proofs(engine: sa.Engine, n: int, repeat: int) -> dict:
    t = time.perf_counter()
    leaves = bulk_load(engine, n)
    built = time.perf_counter() - t
    root = merkle.root(leaves)
    rng = random.Random(7)
    out = {"build_s": built}
    with engine.connect() as conn:
        assert store.root_at(conn, n) == root

        def inclusion():
            i = rng.randrange(n)
            merkle.verify_inclusion(leaves[i], i, n, store.inclusion_proof(conn, i, n), root)

        def consistency():
            m = rng.randrange(1, n)
            proof = store.consistency_proof(conn, m, n)
            assert len(proof) <= 2 * n.bit_length()

        inclusion()  # warm the connection and the statement cache
        out["inclusion"] = timed(inclusion, repeat)
        out["consistency"] = timed(consistency, repeat)
        out["root"] = timed(lambda: store.root_at(conn, rng.randrange(1, n + 1)), repeat)
    samples = []
    for k in range(20):
        with engine.begin() as conn:
            t0 = time.perf_counter()
            store.append(conn, type="block.transferred", actor="user:1", payload=payload(n + k), time=T0)
            samples.append((time.perf_counter() - t0) * 1000)
    out["append_ms"] = statistics.median(samples)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--appends", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--proof-size", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1000, help="timed proofs per kind")
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    pg = Postgres(args.postgres) if "postgresql" in args.backends else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for backend in args.backends:
                def engine(tag: str, backend: str = backend) -> sa.Engine:
                    return pg.fresh() if backend == "postgresql" else sqlite_engine(Path(tmp) / f"{tag}.db")

                e = engine("appends")
                rate = bench_appends(e, args.appends, args.batch)
                e.dispose()
                print(f"{backend}: {args.appends:,} appends, {args.batch} per transaction: {rate:,.0f} entries/s")

                e = engine("proofs")
                r = bench_proofs(e, args.proof_size, args.repeat)
                e.dispose()
                n = args.proof_size
                print(f"{backend}: store of {n:,} entries (bulk-built in {r['build_s']:.0f} s)")
                for kind in ("inclusion", "consistency", "root"):
                    mean, p50, p99 = r[kind]
                    print(f"  {kind:11s} mean {mean:.2f} ms  p50 {p50:.2f} ms  p99 {p99:.2f} ms  ({args.repeat} calls)")
                print(f"  append at {n:,}: {r['append_ms']:.2f} ms (median of 20, one per transaction)")
    finally:
        if pg is not None:
            pg.close()


if __name__ == "__main__":
    main()
