"""Benchmark: full verification of a live registry (R-L7, `arcreg verify`).

    /work/venv/bin/python bench/integrity_verify.py                        # 100k and 1M entries
    /work/venv/bin/python bench/integrity_verify.py --sizes 100000         # one size
    /work/venv/bin/python bench/integrity_verify.py --sizes 100000 --pg    # also on PostgreSQL (copied)

The registry is built through the services by bench/_registry_builder.py
(participants, certified reprocessors, lots, generations, then mostly
transfers, some retirements; 2,000 operations per transaction) and cached under
/tmp/arcreg_bench keyed by N, so re-runs skip the build. Each phase runs in a
fresh process:

- ``verify``: `registry.verification.verify_registry(session, [verifier],
  record=False)` — chain, Merkle root, checkpoint signatures, replay of every
  entry, replayed state vs the live tables (timed; max RSS; RSS before the
  call, i.e. interpreter + libraries);
- ``cli``: a real `arcreg verify` process on the same database (wall time;
  max RSS of that process alone: `_child_usage.run_measured`);
- ``bare``: the bare limit — the same log lines through chainlog's
  verification alone (no replay, no comparison): time, CPU and max RSS; the
  ratio verify/bare (CPU) is printed;
- ``memory``: the same verify_registry under tracemalloc (peak traced bytes,
  and the bytes held once the log is read: the replay keeps its state in a
  scratch SQLite file behind bounded caches; time not used).

Memory is flat when max RSS does not grow from one size to the next.
verify, cli and bare run --repeat times, interleaved, and the best of each is
kept. The machine's load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _registry_builder as builder
from _child_usage import run_measured


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _session(url: str):
    from registry.db import make_engine, session_factory

    return session_factory(make_engine(url))()


def phase_verify(url: str) -> dict:
    from registry.verification import verify_registry

    session = _session(url)
    before = _rss_mb()
    t, c = time.perf_counter(), time.process_time()
    report = verify_registry(session, [builder.SIGNER.verifier], record=False)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    assert report.ok, report.failure()
    return {"seconds": seconds, "cpu": cpu, "entries": report.size, "checkpoints": report.checkpoints,
            "counts": report.counts, "rss_before_mb": before, "max_rss_mb": _rss_mb()}


def phase_bare(url: str) -> dict:
    """The bare limit: the same log lines through chainlog's verification
    alone (chain, Merkle root, checkpoint signatures), no replay, no
    comparison with the tables."""
    from chainlog.verify import verify_export
    from registry.verification import log_lines

    session = _session(url)
    t, c = time.perf_counter(), time.process_time()
    result = verify_export(log_lines(session, lambda _e: None), [builder.SIGNER.verifier])
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {"seconds": seconds, "cpu": cpu, "entries": result.size, "max_rss_mb": _rss_mb()}


def phase_memory(url: str) -> dict:
    import tracemalloc

    from registry import verification

    session = _session(url)
    held = {}
    real_compare = verification.compare_state

    def compare(session, state):  # measure what the replayed state holds once the log is read
        held["after_replay_kb"] = tracemalloc.get_traced_memory()[0] / 1024
        held["blocks"] = len(state.blocks)
        return real_compare(session, state)

    verification.compare_state = compare
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    report = verification.verify_registry(session, [builder.SIGNER.verifier], record=False)
    _current, peak = tracemalloc.get_traced_memory()
    assert report.ok, report.failure()
    return {"traced_peak_kb": (peak - base) / 1024, "held_after_replay_kb": held["after_replay_kb"] - base / 1024,
            "blocks": held["blocks"]}


def phase_cli(url: str) -> dict:
    env = {**os.environ, "ARCREG_DATABASE_URL": url, "ARCREG_SIGNING_KEY": builder.pem_of_signer(),
           "ARCREG_LOG_ORIGIN": builder.ORIGIN}
    arcreg = str(Path(sys.executable).with_name("arcreg"))
    run = run_measured([arcreg, "verify"], env=env, cwd=str(Path(__file__).resolve().parents[1]))
    return {"seconds": run["seconds"], "max_rss_mb": run["max_rss_mb"], "out": run["out"].splitlines()[0][:90]}


def run_phase(phase: str, url: str) -> dict:
    if phase == "cli":
        return phase_cli(url)
    cmd = [sys.executable, __file__, "--phase", phase, "--url", url]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def copy_to_postgres(sqlite_url: str, n: int) -> str:
    """A PostgreSQL copy of the cached registry (same rows, via the ORM tables)."""
    from sqlalchemy import MetaData, create_engine, text

    from registry.db import make_engine
    from registry.migrate import upgrade

    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
    name = f"bench_integrity_{n}"
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        c.execute(text(f"CREATE DATABASE {name}"))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    dst = make_engine(url)
    upgrade(dst)
    src = create_engine(sqlite_url)
    meta = MetaData()
    meta.reflect(dst)
    with src.connect() as s, dst.begin() as d:
        d.execute(text("SET session_replication_role = replica"))  # no FK checks while copying
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = s.execute(text(f"SELECT * FROM {table.name}")).mappings()
            chunk = []
            for row in rows:
                chunk.append(dict(row))
                if len(chunk) == 5000:
                    d.execute(table.insert(), chunk)
                    chunk = []
            if chunk:
                d.execute(table.insert(), chunk)
        for table in meta.sorted_tables:  # sequences past the copied ids
            for col in table.primary_key.columns:
                if col.autoincrement is True or (col.type.python_type is int and len(table.primary_key.columns) == 1):
                    d.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
                                   f"COALESCE((SELECT MAX({col.name}) FROM {table.name}), 1))"))
    return url


def drop_postgres(n: int) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS bench_integrity_{n} WITH (FORCE)"))


def measure(label: str, url: str, n: int, repeat: int, tracemalloc: bool) -> None:
    runs: dict[str, list[dict]] = {"verify": [], "cli": [], "bare": []}
    for _ in range(repeat):
        runs["verify"].append(run_phase("verify", url))
        runs["cli"].append(run_phase("cli", url))
        runs["bare"].append(run_phase("bare", url))
    v = min(runs["verify"], key=lambda r: r["seconds"])
    c = min(runs["cli"], key=lambda r: r["seconds"])
    b = min(runs["bare"], key=lambda r: r["cpu"])
    e = v["entries"]
    print(f"{label}: {e:,} entries, {v['checkpoints']} checkpoints; best of {repeat}, wall (CPU); "
          f"load average {os.getloadavg()[0]:.1f}\n"
          f"  replayed: {v['counts']}\n"
          f"  verify_registry {v['seconds']:7.2f} s ({v['cpu']:.2f})  {e / v['seconds']:8,.0f} entries/s  "
          f"{v['seconds'] / e * 1e6:6.1f} µs/entry ({v['cpu'] / e * 1e6:.1f} CPU)\n"
          f"  bare limit (chainlog verification of the same lines, no replay/compare) {b['seconds']:.2f} s "
          f"({b['cpu']:.2f} CPU, {b['cpu'] / e * 1e6:.1f} µs/entry), max RSS {b['max_rss_mb']:.1f} MiB; "
          f"ratio verify/bare {v['cpu'] / b['cpu']:.2f} (CPU)\n"
          f"  arcreg verify   {c['seconds']:7.2f} s           {e / c['seconds']:8,.0f} entries/s  ({c['out']})\n"
          f"  memory: verify process RSS before {v['rss_before_mb']:.1f} MiB, max {v['max_rss_mb']:.1f} MiB; "
          f"arcreg verify max RSS {max(r['max_rss_mb'] for r in runs['cli']):.1f} MiB")
    if tracemalloc:
        m = run_phase("memory", url)
        print(f"  tracemalloc: peak {m['traced_peak_kb'] / 1024:.1f} MiB, held after the log pass (the replay's "
              f"bounded caches; the rest is in its scratch file) {m['held_after_replay_kb'] / 1024:.1f} MiB "
              f"for {m['blocks']:,} replayed blocks")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs of each phase; the best is kept")
    ap.add_argument("--batch", type=int, default=2000, help="operations per transaction when building")
    ap.add_argument("--pg", action="store_true", help="also verify a PostgreSQL copy of the registry")
    ap.add_argument("--no-tracemalloc", action="store_true")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps({"verify": phase_verify, "memory": phase_memory, "bare": phase_bare}[args.phase](args.url)))
        return
    print(f"python {sys.version.split()[0]}, cpus: {os.cpu_count()}")
    for n in args.sizes:
        url, meta = builder.cached_sqlite(n, batch=args.batch)
        if "snapshot_of" in meta:
            print(f"N={n:,}: a snapshot of {meta['snapshot_of']} taken while it was being built")
        else:
            print(f"N={n:,}: built in {meta['build_seconds']:.0f} s "
                  f"({meta['entries'] / meta['build_seconds']:,.0f} entries/s through the services); "
                  f"{meta['generations']} generations, {meta['transfers']} transfers ({meta['partial']} partial), "
                  f"{meta['retirements']} retirements")
        measure("SQLite", url, n, args.repeat, not args.no_tracemalloc)
        if args.pg:
            t = time.perf_counter()
            pg = copy_to_postgres(url, n)
            print(f"  (PostgreSQL copy made in {time.perf_counter() - t:.0f} s)")
            try:
                measure("PostgreSQL", pg, n, args.repeat, False)
            finally:
                drop_postgres(n)


if __name__ == "__main__":
    main()
