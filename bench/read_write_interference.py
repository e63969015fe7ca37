"""Benchmark: do deep provenance reads slow writes? (issue 16, finding 2; R-X6, R-L4b)

    .venv/bin/python bench/read_write_interference.py --db sqlite
    .venv/bin/python bench/read_write_interference.py --db postgresql \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

1. Builds a registry THROUGH THE SERVICES: a certified reprocessor and a
   trader; one block whose remainder moved 0.001 to the trader --depth times
   (its lineage: lot.registered, block.generated and --depth transfers, as the
   participant of the finding built it), and a second block for the writer.
2. `arcreg serve --workers W` on 127.0.0.1 over it, and over real HTTP:
   - alone: one writer moves 0.001 from the second block's remainder,
     --writes times in a row -> write latency p50/p99;
   - with readers: the same while --readers clients loop on the deep block's
     whole provenance (every page, following ``next``), the read rate limit
     off (the worst case: as fast as they can read);
   - the same with the default read rate limit (``ARCREG_READ_RATE_LIMIT``;
     the readers share one address, as three scripts on one host would).
   Also: the time to serve every page of the deep lineage with nothing else
   running, and one joined proof checked with verify_provenance.
3. Prints a table; the targets: p50 with readers within 1.5x of p50 alone;
   the deep lineage served in pages of at most 1,000 entries.
Bounded: --writes requests per phase, readers stop with the writer, and every
request has a 120 s timeout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _fixtures import (  # noqa: E402
    START,
    active_participant,
    certified_reprocessor,
    sold_lot,
    staff,
    tonnes,
)

import chainlog.store  # noqa: E402
from chainlog.keys import parse_vkey  # noqa: E402
from chainlog.provenance import join_pages, verify_provenance  # noqa: E402
from registry import generation, identity, transfers  # noqa: E402
from registry.clock import FrozenClock  # noqa: E402
from registry.config import DEFAULT_READ_RATE_LIMIT  # noqa: E402
from registry.db import UnitOfWork, make_engine, session_factory  # noqa: E402
from registry.migrate import upgrade  # noqa: E402
from tests.serverproc import ARCREG, clean_env, free_port, wait_for  # noqa: E402

SERVER_CLOCK = "2026-03-02T09:30:00+00:00"
MILLI = Decimal("0.001")


def build(url: str, depth: int) -> dict:
    engine = make_engine(url)
    upgrade(engine)
    clock = FrozenClock(START)
    sessions = session_factory(engine)
    today = clock.today()
    with UnitOfWork(sessions, clock) as uow:
        admin, _, certifier = staff(uow)
        g = certified_reprocessor(uow, admin, certifier, 0, today)
        token = identity.issue_token(uow, user_id=g["user_id"]).token
        trader = active_participant(uow, admin, "Trader 0", today)
        lot = sold_lot(uow, g, "LOT-DEEP", today)
        deep = generation.generate(uow, g["actor"], lot_id=lot, mass=tonnes(100)).serial
        writer = generation.generate(uow, g["actor"], lot_id=lot, mass=tonnes(100)).serial
        uow.commit()
    t0 = time.perf_counter()
    for start in range(0, depth, 200):
        with UnitOfWork(sessions, clock) as uow:
            for _ in range(min(200, depth - start)):
                deep = transfers.transfer(uow, g["actor"], serial=deep, quantity=MILLI,
                                          to_participant_id=trader).remainder.serial
            uow.commit()
    with engine.connect() as c:
        size = chainlog.store.size(c)
    engine.dispose()
    return {"token": token, "trader": trader, "deep": deep, "writer": writer, "log": size,
            "build_seconds": time.perf_counter() - t0}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))] * 1000


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def whole_provenance(conn, serial: str) -> tuple[list[dict], list[float], int]:
    """Every page of the serial's provenance: (pages, seconds per page, 429s met)."""
    pages, times, refused, query = [], [], 0, ""
    while True:
        t0 = time.perf_counter()
        status, raw = get(conn, f"/api/v1/blocks/{serial}/provenance{query}")
        if status == 429:
            return pages, times, refused + 1
        if status != 200:
            raise RuntimeError(f"provenance: HTTP {status}: {raw[:300]!r}")
        times.append(time.perf_counter() - t0)
        pages.append(json.loads(raw))
        nxt = pages[-1]["next"]
        if nxt is None:
            return pages, times, refused
        query = f"?from_index={nxt['from_index']}&size={nxt['size']}"


class Server:
    def __init__(self, url: str, tmp: Path, workers: int, read_limit: str) -> None:
        self.port = free_port()
        env = clean_env(ARCREG_DATABASE_URL=url, ARCREG_CLOCK=SERVER_CLOCK, ARCREG_RATE_LIMIT="1000000/minute",
                        ARCREG_READ_RATE_LIMIT=read_limit, ARCREG_SIGNING_KEY_FILE=str(tmp / "signing-key.pem"))
        self.log = open(tmp / f"server-{self.port}.log", "w")
        self.process = subprocess.Popen([ARCREG, "serve", "--port", str(self.port), "--workers", str(workers)],
                                        cwd=tmp, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_for(f"http://127.0.0.1:{self.port}/api/v1/health", self.process, seconds=60)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()
        self.log.close()


def phase(server: Server, setup: dict, writes: int, readers: int) -> dict:
    stop = threading.Event()
    reads = {"pages": 0, "lineages": 0, "page_seconds": [], "refused": 0, "errors": []}
    lock = threading.Lock()

    def reader() -> None:
        conn = server.connection()
        while not stop.is_set():
            try:
                pages, times, refused = whole_provenance(conn, setup["deep"])
            except Exception as exc:  # noqa: BLE001 - reported in the table
                conn.close()
                with lock:
                    reads["errors"].append(str(exc)[:200])
                stop.wait(0.2)
                continue
            with lock:
                reads["pages"] += len(times)
                reads["page_seconds"] += times
                reads["refused"] += refused
                reads["lineages"] += 0 if refused else 1
            if refused:
                stop.wait(1.0)  # a polite client honours the 429 for a while

    pool = [threading.Thread(target=reader) for _ in range(readers)]
    for t in pool:
        t.start()
    if readers:
        time.sleep(2.0)  # the readers are under way before the first timed write
    conn, latencies, errors = server.connection(), [], []
    serial = setup["writer"]
    started = time.perf_counter()
    for _ in range(writes):
        body = json.dumps({"serial": serial, "quantity": "0.001", "to_participant_id": setup["trader"]})
        t0 = time.perf_counter()
        conn.request("POST", "/api/v1/transfers", body, {"Content-Type": "application/json",
                                                          "Authorization": f"Bearer {setup['token']}"})
        response = conn.getresponse()
        raw = response.read()
        latencies.append(time.perf_counter() - t0)
        if response.status != 201:
            errors.append(f"{response.status}: {raw[:200]!r}")
            break
        serial = json.loads(raw)["remainder"]["serial"]
    elapsed = time.perf_counter() - started
    stop.set()
    for t in pool:
        t.join(timeout=300)
    setup["writer"] = serial
    return {"p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99), "writes": len(latencies),
            "seconds": elapsed, "errors": errors, "reads": reads}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--depth", type=int, default=10_000, help="transfers in the deep lineage")
    ap.add_argument("--writes", type=int, default=300, help="timed transfers per phase")
    ap.add_argument("--readers", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="arcreg-rw-"))
    admin, name = None, None
    if args.db == "sqlite":
        url = f"sqlite:///{tmp / 'registry.db'}"
    else:
        admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"arcreg_bench_rw_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    try:
        print(f"load before: {os.getloadavg()}", flush=True)
        setup = build(url, args.depth)
        print(f"built: log {setup['log']} entries, deep lineage {args.depth + 2} entries, "
              f"{setup['build_seconds']:.0f} s", flush=True)
        results = {}
        server = Server(url, tmp, args.workers, "off")
        try:
            conn = server.connection()
            vkey = json.loads(get(conn, "/api/v1/log/key")[1])["vkey"]
            pages, times, _ = whole_provenance(conn, setup["deep"])  # the first signs the checkpoint
            pages, times, _ = whole_provenance(conn, setup["deep"])
            report = verify_provenance(join_pages(pages), [parse_vkey(vkey)], serial=setup["deep"])
            assert report.entries == args.depth + 2, report
            results["lineage"] = {"pages": len(pages), "seconds": sum(times), "page_max": max(times) * 1000,
                                  "bytes": sum(len(json.dumps(p)) for p in pages)}
            print(f"deep lineage alone: {len(pages)} pages, {sum(times):.2f} s in all, "
                  f"slowest page {max(times) * 1000:.0f} ms, verified ({report.entries} entries)", flush=True)
            results["alone"] = phase(server, setup, args.writes, 0)
            print(f"alone: {results['alone']}", flush=True)
            results["readers"] = phase(server, setup, args.writes, args.readers)
            print(f"readers, no read limit: { {k: v for k, v in results['readers'].items() if k != 'reads'} }",
                  flush=True)
        finally:
            server.close()
        server = Server(url, tmp, args.workers, DEFAULT_READ_RATE_LIMIT)
        try:
            results["limited"] = phase(server, setup, args.writes, args.readers)
        finally:
            server.close()
        print(f"load after: {os.getloadavg()}")
        alone = results["alone"]["p50"]
        print(f"\n| {args.db}, {args.workers} workers | writes | p50 ms | p99 ms | x p50 alone | provenance pages "
              f"read (p50 ms/page) | 429s |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for key, label in (("alone", "writer alone"), ("readers", f"+ {args.readers} readers, read limit off"),
                           ("limited", f"+ {args.readers} readers, default read limit")):
            r = results[key]
            page = f"{r['reads']['pages']} ({pct(r['reads']['page_seconds'], 0.5):.0f})" if r["reads"]["pages"] else "-"
            print(f"| {label} | {r['writes']} | {r['p50']:.1f} | {r['p99']:.1f} | {r['p50'] / alone:.2f} | {page} | "
                  f"{r['reads']['refused'] or '-'} |")
            if r["errors"] or r["reads"]["errors"]:
                print(f"  errors: {r['errors'][:3]} {r['reads']['errors'][:3]}")
        lineage = results["lineage"]
        print(f"\ndeep lineage ({args.depth + 2} entries): {lineage['pages']} pages, {lineage['seconds']:.2f} s, "
              f"slowest page {lineage['page_max']:.0f} ms, {lineage['bytes'] / 1e6:.1f} MB")
        return 0 if not any(results[k]["errors"] for k in ("alone", "readers", "limited")) else 1
    finally:
        if admin is not None:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
