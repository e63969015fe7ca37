"""CSV export of a participant's blocks (R-N3): time and peak memory at
100,000 and 1,000,000 blocks, on SQLite and PostgreSQL. Target: memory flat
from 100,000 to 1,000,000 (the export streams with a server-side cursor).

    python bench/csv_export.py                       # both databases, 100k and 1M
    python bench/csv_export.py --backend sqlite --sizes 100000 1000000
    python bench/csv_export.py --keep /tmp/csvbench   # keep the registries; a re-run only measures

Set-up (not timed): a fresh registry migrated to head; through the services an
admin, a certified reprocessor with one sold lot and one generated block (so
the lot, determination and lineage the rows name are real); then, in bulk SQL
(executemany in batches of 50,000, never through the API), one participant
per size holding that many 1-certificate blocks copied from the generated one
with fresh serial ranges. PostgreSQL: a database ``arcreg_csvbench`` on the
server of ``ARCREG_TEST_POSTGRES_URL`` (dropped and re-created each run).

Measured, each size in a fresh child process (so one size's peak does not
hide the other's): ``GET /api/v1/blocks?owner=P`` with ``Accept: text/csv``
through the Flask app (test client, unbuffered: the body is read chunk by
chunk as a client would), as the participant's member; the wall time to the
last byte, the rows and bytes received, and the highest RSS sampled while
reading (every ~1 MiB of CSV) minus the RSS just before the request — the
export's own memory. (The process's ``ru_maxrss`` is reported too; its peak
is start-up's — imports, migrations check, app creation — not the export's.) Python's allocator peak (tracemalloc) is reported from a second run
of the smallest size only (tracing slows the export about 3x).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from _fixtures import START, active_participant, certified_reprocessor, sold_lot, staff

from registry import generation, identity
from registry.clock import FrozenClock
from registry.db import UnitOfWork, make_engine, session_factory
from registry.migrate import upgrade
from registry.models import Block, Participant, User
from sqlmodel import select
from registry.units import Mass

BATCH = 50_000
PG_NAME = "arcreg_csvbench"


def _pg_url() -> str:
    base = os.environ.get("ARCREG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    return base.rsplit("/", 1)[0] + "/" + PG_NAME


def fresh_database(backend: str, workdir: Path, reuse: bool = False) -> str:
    if backend == "sqlite":
        path = workdir / "csvbench.db"
        if not reuse:
            path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    url = _pg_url()
    if reuse:
        return url
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {PG_NAME}"))
    admin.dispose()
    return url


def reuse(url: str, sizes: list[int]) -> dict | None:
    """A registry an earlier run built (--keep): its holders, with new tokens."""
    engine = make_engine(url)
    try:
        with UnitOfWork(session_factory(engine), FrozenClock(START)) as uow:
            owners = {}
            for size in sizes:
                holder = uow.session.exec(select(Participant).where(Participant.name == f"Holder of {size}")).first()
                if holder is None:
                    return None
                user = uow.session.exec(select(User).where(User.participant_id == holder.id)).first()
                owners[size] = (holder.id, identity.issue_token(uow, user_id=user.id).token)
            uow.commit()
            return {"owners": owners, "build_s": 0.0}
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()


def build(url: str, sizes: list[int]) -> dict:
    """The registry: services for the set-up, bulk SQL for the blocks. Returns
    {size: (owner id, member token)}."""
    engine = make_engine(url)
    upgrade(engine)
    clock = FrozenClock(START)
    today = clock.today()
    owners = {}
    with UnitOfWork(session_factory(engine), clock) as uow:
        admin, _, certifier = staff(uow)
        g = certified_reprocessor(uow, admin, certifier, 1, today)
        lot = sold_lot(uow, g, "LOT-CSV-1", today)
        template = generation.generate(uow, g["actor"], lot_id=lot, mass=Mass(Decimal(1000)))
        for size in sizes:
            pid = active_participant(uow, admin, f"Holder of {size}", today - timedelta(days=100))
            user = identity.add_member(uow, admin, pid, email=f"ops@holder{size}.example")
            owners[size] = (pid, identity.issue_token(uow, user_id=user.id).token)
        uow.commit()
        row = {c.name: getattr(template, c.key) for c in Block.__table__.columns}
    started = time.perf_counter()
    unit = 10**9  # above the generated block's range
    table = Block.__table__
    with engine.begin() as conn:
        for size, (pid, _) in owners.items():
            for start in range(0, size, BATCH):
                rows = []
                for k in range(start, min(size, start + BATCH)):
                    first = unit + k * 1000
                    rows.append({**row, "serial": f"{row['arc_code']}-{row['generation_year']}-"
                                                  f"{row['generator_id']}-{first:012d}-{first + 999:012d}",
                                 "quantity": Decimal("1.000"), "owner_id": pid, "first_unit": first,
                                 "last_unit": first + 999, "base_kg": Decimal("1000.000"), "parent_serial": None})
                conn.execute(table.insert(), rows)
            unit += size * 1000
    engine.dispose()
    return {"owners": owners, "build_s": time.perf_counter() - started}


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def measure(url: str, owner: int, token: str, traced: bool) -> dict:
    """In this (child) process: one CSV export, read chunk by chunk."""
    import tracemalloc

    from api.app import create_app
    from registry.config import Config

    config = Config(database_url=url, signing_key_file=Path(tempfile.mkdtemp()) / "key.pem",
                    rate_limit="1000000/minute", read_rate_limit="1000000/minute")
    app = create_app(config, clock=FrozenClock(START + timedelta(days=1)))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/csv"}
    client.get("/api/v1/blocks?limit=1", headers={"Authorization": f"Bearer {token}"})  # warm up
    before = _rss_kib()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    response = client.get(f"/api/v1/blocks?owner={owner}", headers=headers, buffered=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = size = 0
    highest = before
    for n, chunk in enumerate(response.response):
        data = chunk if isinstance(chunk, bytes) else chunk.encode()
        size += len(data)
        rows += data.count(b"\r\n")
        if n % 16 == 0:  # every ~1 MiB of CSV
            highest = max(highest, _rss_kib())
    response.close()
    seconds = time.perf_counter() - started
    highest = max(highest, _rss_kib())
    out = {"seconds": seconds, "rows": rows - 1, "bytes": size, "rss_before_kib": before,
           "rss_during_kib": highest, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    if traced:
        out["tracemalloc_peak_kib"] = tracemalloc.get_traced_memory()[1] // 1024
    return out


def child(args) -> None:
    print(json.dumps(measure(args.url, args.owner, args.token, args.traced)))


def run(backend: str, sizes: list[int], workdir: Path, keep: bool = False) -> list[dict]:
    url = fresh_database(backend, workdir, reuse=keep)
    built = (keep and reuse(url, sizes)) or build(url, sizes)
    print(f"{backend}: {sum(sizes):,} blocks inserted in bulk in {built['build_s']:.0f} s", flush=True)
    results = []
    for size in sizes:
        for traced in ([False, True] if size == min(sizes) else [False]):
            pid, token = built["owners"][size]
            done = subprocess.run([sys.executable, __file__, "--child", "--url", url, "--owner", str(pid),
                                   "--token", token] + (["--traced"] if traced else []),
                                  capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            assert r["rows"] == size, r
            r.update(backend=backend, blocks=size, traced=traced,
                     export_mib=(r["rss_during_kib"] - r["rss_before_kib"]) / 1024)
            results.append(r)
            print(f"{backend} {size:>9,} blocks{' (traced)' if traced else ''}: {r['seconds']:.1f} s, "
                  f"{size / r['seconds']:,.0f} rows/s, {r['bytes'] / 2**20:.0f} MiB of CSV, "
                  f"RSS during the export {r['rss_during_kib'] / 1024:.0f} MiB (+{r['export_mib']:.1f} MiB over "
                  f"the {r['rss_before_kib'] / 1024:.0f} MiB before; process peak {r['peak_rss_kib'] / 1024:.0f} MiB)"
                  + (f", tracemalloc peak {r['tracemalloc_peak_kib'] / 1024:.1f} MiB" if traced else ""),
                  flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", type=Path, help="keep the registries (SQLite file in this directory, the "
                        "PostgreSQL database) and reuse them on the next run with the same directory")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--owner", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for backend in backends:
            results += run(backend, sorted(args.sizes), args.keep, keep=True)
    else:
        with tempfile.TemporaryDirectory(prefix="arcreg_csvbench_") as work:
            for backend in backends:
                results += run(backend, sorted(args.sizes), Path(work))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
