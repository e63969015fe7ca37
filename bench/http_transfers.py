"""Benchmark: transfers over HTTP against the bare transaction (issue 8, 1 and 2).

    /work/venv/bin/python bench/http_transfers.py --db postgresql --seconds 20 --connections 16 --workers 4
    /work/venv/bin/python bench/http_transfers.py --db sqlite --seconds 20 --connections 16 --workers 1

1. Builds a fresh registry THROUGH THE SERVICES (bench/_http_setup.py): 4
   certified reprocessors and --participants - 4 traders, every participant
   with a member and its own token, --blocks-each blocks of 100 t per
   participant (generated, then handed out by whole transfers). This is the
   seed database (PostgreSQL: a fresh database on --postgres; SQLite: a file).
2. HTTP: `arcreg serve --workers W` on a free port of 127.0.0.1 over a copy of
   the seed; --connections client threads, each with its own keep-alive
   http.client connection (gunicorn's sync workers close it after each
   response; http.client reopens it; the write rate limit is raised to
   --rate-limit, not switched off), POST /api/v1/transfers for --seconds
   (after --warmup s) or --max-requests in all. Half the transfers move a
   whole block, half split it. Each participant belongs to one client thread
   and acts with its own member token; a client moves only blocks its
   participants hold (the blocks it received appear in its holdings once the
   sender's 201 arrives), so no two requests race for a block: any refusal is
   an error. -> requests/s, p50/p99/max latency, errors.
3. Checks: active quantity per ARC type and year unchanged, the non-split
   blocks of every generator and year tile 1..next serial unit exactly, log
   size = setup + transfers, every participant's active blocks = the client's
   record of them.
4. Bare limit on another copy of the seed, the same plan of transfers:
   bench/_bare_transfer.py, 16 threads (--bare-threads) of plain DBAPI
   connections, the same checks. Prints the table and the ratio; the target is
   HTTP >= half the bare rate. Exits 1 on any error or failed check.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _bare_transfer import run as run_bare  # sibling modules
from _bare_transfer import summary
from _http_setup import SERVER_CLOCK, build

import chainlog.store
from registry.db import make_engine
from tests.serverproc import ARCREG, clean_env, free_port, wait_for

TARGET = Decimal("0.5")


# --- who holds what, and the next transfer ---------------------------------------


@dataclass(frozen=True)
class Move:
    sender: int
    user_id: int
    token: str
    serial: str
    units: int  # thousandths of a certificate
    recipient: int


class Holdings:
    """Each participant's active blocks as the load client knows them. Client
    thread k acts for the participants i with i % threads == k only, so a
    block is only ever moved by one thread; other threads only add to its
    holdings (the blocks they sent to it)."""

    def __init__(self, blocks: dict[int, list[tuple[str, int]]], members: dict[int, tuple[int, str]],
                 threads: int) -> None:
        self.blocks = {p: list(v) for p, v in blocks.items()}
        self.members = members
        ids = sorted(members)
        self.everyone = ids
        self.mine = {k: [p for i, p in enumerate(ids) if i % threads == k] for k in range(threads)}
        self.lock = threading.Lock()

    def next_move(self, k: int, rng: random.Random) -> Move | None:
        with self.lock:
            candidates = [p for p in self.mine[k] if self.blocks[p]]
            if not candidates:
                return None
            sender = rng.choice(candidates)
            held = self.blocks[sender]
            i = rng.randrange(len(held))
            serial, units = held[i]
            held[i] = held[-1]
            held.pop()
        recipient = rng.choice(self.everyone)
        while recipient == sender:
            recipient = rng.choice(self.everyone)
        if units >= 2 and rng.random() < 0.5:  # partial: whole certificates where it holds more than one
            units = rng.randint(1, (units - 1) // 1000) * 1000 if units > 1000 else rng.randint(1, units - 1)
        user_id, token = self.members[sender]
        return Move(sender, user_id, token, serial, units, recipient)

    def done(self, move: Move, moved: tuple[str, int], remainder: tuple[str, int] | None) -> None:
        with self.lock:
            self.blocks[move.recipient].append(moved)
            if remainder is not None:
                self.blocks[move.sender].append(remainder)


# --- databases ----------------------------------------------------------------------


class Databases:
    """The seed and its copies: PostgreSQL databases made from the seed as a
    template, or SQLite files copied with the backup API."""

    def __init__(self, kind: str, postgres: str, tmp: Path) -> None:
        self.kind, self.tmp, self.names = kind, tmp, []
        if kind == "postgresql":
            self.server = sa.make_url(postgres)
            self.admin = sa.create_engine(self.server, isolation_level="AUTOCOMMIT")
            self.prefix = f"arcreg_bench_http_{uuid.uuid4().hex[:8]}"

    def url(self, tag: str, template: str | None = None) -> str:
        if self.kind == "sqlite":
            path = self.tmp / f"{tag}.db"
            if template is not None:
                with sqlite3.connect(self.tmp / f"{template}.db") as src, sqlite3.connect(path) as dst:
                    src.backup(dst)
            return f"sqlite:///{path}"
        name = f"{self.prefix}_{tag}"
        with self.admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{self.prefix}_{template}"' if template else "")))
        self.names.append(name)
        return self.server.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        if self.kind == "postgresql":
            with self.admin.connect() as c:
                for name in reversed(self.names):
                    c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.admin.dispose()


def state_of(engine) -> dict:
    """What the checks compare: active totals, tiling, log size, holdings."""
    with engine.connect() as c:
        totals = {(t, y): int(q) for t, y, q in c.execute(sa.text(
            "SELECT arc_type, generation_year, SUM(quantity) FROM block WHERE state = 'active' "
            "GROUP BY arc_type, generation_year"))}
        ranges: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for g, y, first, last in c.execute(sa.text(
                "SELECT generator_id, generation_year, first_unit, last_unit FROM block "
                "WHERE state <> 'split' ORDER BY generator_id, generation_year, first_unit")):
            ranges.setdefault((g, y), []).append((first, last))
        counters = {(g, y): n for g, y, n in c.execute(sa.text(
            "SELECT generator_id, year, next_unit FROM serial_counter"))}
        holdings: dict[int, set[str]] = {}
        for owner, serial in c.execute(sa.text("SELECT owner_id, serial FROM block WHERE state = 'active'")):
            holdings.setdefault(owner, set()).add(serial)
        transferred = c.execute(sa.text(
            "SELECT COUNT(*) FROM log_entries WHERE type = 'block.transferred'")).scalar()
        return {"totals": totals, "ranges": ranges, "counters": counters, "holdings": holdings,
                "log": chainlog.store.size(c), "transferred": transferred}


def check(engine, before: dict, transfers: int, plan: Holdings) -> list[str]:
    after, problems = state_of(engine), []
    if after["totals"] != before["totals"]:
        problems.append(f"active totals changed: {before['totals']} -> {after['totals']}")
    for key, ranges in after["ranges"].items():
        position = 1
        for first, last in ranges:
            if first != position:
                problems.append(f"generator/year {key}: gap or overlap at unit {position} (next starts {first})")
                break
            position = last + 1
        if position != after["counters"].get(key):
            problems.append(f"generator/year {key}: ranges end at {position - 1}, counter at {after['counters'].get(key)}")
    if after["log"] != before["log"] + transfers or after["transferred"] != before["transferred"] + transfers:
        problems.append(f"log: {before['log']} + {transfers} transfers != {after['log']} entries")
    expected = {p: {s for s, _ in blocks} for p, blocks in plan.blocks.items() if blocks}
    if after["holdings"] != expected:
        problems.append("some participant's active blocks differ from the client's record")
    return problems


def seed_plan(engine, threads: int) -> Holdings:
    with engine.connect() as c:
        members = {p: (u, None) for p, u in c.execute(sa.text(
            "SELECT participant_id, MIN(id) FROM app_user WHERE role = 'member' GROUP BY participant_id"))}
        blocks: dict[int, list[tuple[str, int]]] = {p: [] for p in members}
        for owner, serial, q in c.execute(sa.text(
                "SELECT owner_id, serial, quantity FROM block WHERE state = 'active' ORDER BY serial")):
            blocks[owner].append((serial, int(q)))
    return Holdings(blocks, members, threads)


# --- 2. HTTP -----------------------------------------------------------------------------


def http_load(port: int, plan: Holdings, *, threads: int, seconds: float, warmup: float,
              max_count: int) -> dict:
    latencies, errors, lock = [], [], threading.Lock()
    counts = {"started": 0, "ok": 0, "measured": 0}
    start = time.perf_counter()
    measure_from, deadline = start + warmup, start + warmup + seconds

    def client(k: int) -> None:
        rng = random.Random(k)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    if counts["started"] >= max_count:
                        return
                    counts["started"] += 1
                move = plan.next_move(k, rng)
                if move is None:
                    return
                body = json.dumps({"serial": move.serial, "quantity": format(Decimal(move.units).scaleb(-3), "f"),
                                   "to_participant_id": move.recipient})
                t0 = time.perf_counter()
                try:
                    conn.request("POST", "/api/v1/transfers", body, {
                        "Content-Type": "application/json", "Authorization": f"Bearer {move.token}"})
                    response = conn.getresponse()
                    raw = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                t1 = time.perf_counter()
                if response.status != 201:
                    with lock:
                        errors.append(f"{response.status}: {raw[:300]!r}")
                    continue
                out = json.loads(raw)
                rest = out["remainder"]
                plan.done(move, (out["moved"]["serial"], int(Decimal(out["moved"]["quantity"]).scaleb(3))),
                          None if rest is None else (rest["serial"], int(Decimal(rest["quantity"]).scaleb(3))))
                with lock:
                    counts["ok"] += 1
                    if t0 >= measure_from and t1 <= deadline:
                        counts["measured"] += 1
                        latencies.append(t1 - t0)
        finally:
            conn.close()

    pool = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    window = min(time.perf_counter(), deadline) - measure_from
    return {**summary(latencies, counts["measured"], window), "ok": counts["ok"], "errors": errors}


def worker_pids(arbiter: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(arbiter)], check=False, capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (/proc/<pid>/stat)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone: its time is lost from the figure, never added twice
        total += int(fields[11]) + int(fields[12])
    return total / tick


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes serving the registry's database (none for SQLite)."""
    if not url.startswith("postgresql"):
        return []
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return [int(p) for p, in c.execute(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))]
    finally:
        engine.dispose()


def run_http(url: str, tmp: Path, plan: Holdings, args, arcreg: str = ARCREG) -> tuple[dict, Path]:
    port = free_port()
    # The write rate limit stays on (its cost is part of the path) but high
    # enough that the benchmark's clients, faster than any real one, never meet it.
    env = clean_env(ARCREG_DATABASE_URL=url, ARCREG_CLOCK=SERVER_CLOCK, ARCREG_RATE_LIMIT=args.rate_limit,
                    ARCREG_SIGNING_KEY_FILE=str(tmp / "signing-key.pem"))
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([arcreg, "serve", "--port", str(port), "--workers", str(args.workers),
                                   "--threads", str(args.threads)],
                                  cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    spies = []
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health", server, seconds=60)
        if args.py_spy:
            args.py_spy.mkdir(parents=True, exist_ok=True)
            for pid in worker_pids(server.pid):
                spies.append(subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--format", "raw",
                     "--duration", str(int(args.warmup + args.seconds)), "--rate", "200", "--nonblocking",
                     "-o", str(args.py_spy / f"{args.db}-worker-{pid}.txt")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        # CPU per transfer, of the server's processes and of the database's: a figure that other load on
        # the machine changes far less than requests/s (it slows both runs of an A/B alike).
        server_pids = [server.pid, *worker_pids(server.pid)]
        server_cpu = cpu_seconds(server_pids)
        result = {}

        def load():
            nonlocal result
            result = http_load(port, plan, threads=args.connections, seconds=args.seconds, warmup=args.warmup,
                               max_count=args.max_requests)
        loader = threading.Thread(target=load)
        loader.start()
        time.sleep(min(1.0, args.warmup))  # the workers' pools are connected by now
        backends = backend_pids(url)
        db_cpu = cpu_seconds(backends)
        loader.join()
        server_cpu = cpu_seconds(server_pids) - server_cpu
        db_cpu = cpu_seconds(backends) - db_cpu
        result["server_cpu_ms"] = 1000 * server_cpu / max(result["ok"], 1)
        result["db_cpu_ms"] = 1000 * db_cpu / max(result["ok"], 1) if backends else None
    finally:
        for spy in spies:
            spy.wait(timeout=120)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
    return result, log_path


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--seconds", type=float, default=20, help="measured load per run (at most 60)")
    ap.add_argument("--warmup", type=float, default=2, help="seconds of load before measuring")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None, help="gunicorn workers (default 4, SQLite 1)")
    ap.add_argument("--threads", type=int, default=1, help="request threads per gunicorn worker")
    ap.add_argument("--bare-threads", type=int, default=16)
    ap.add_argument("--max-requests", type=int, default=200_000, help="bound on transfers per run")
    ap.add_argument("--participants", type=int, default=64)
    ap.add_argument("--blocks-each", type=int, default=8)
    ap.add_argument("--rate-limit", default="1000000/minute", help="ARCREG_RATE_LIMIT of the server")
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--compare-arcreg", default=None,
                    help="A/B: the `arcreg` of another checkout; HTTP runs alternate between it (B) and this one (A), "
                         "--rounds each, on fresh copies of one seed, and no bare run")
    ap.add_argument("--rounds", type=int, default=3, help="HTTP runs of each side with --compare-arcreg")
    ap.add_argument("--py-spy", type=Path, default=None, help="record the workers with py-spy into this folder")
    args = ap.parse_args()
    args.seconds = min(args.seconds, 60.0)
    args.workers = args.workers or (4 if args.db == "postgresql" else 1)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="arcreg_http_bench_"))
    dbs = Databases(args.db, args.postgres, tmp)
    failures: list[str] = []
    try:
        t = time.perf_counter()
        seed_url = dbs.url("seed")
        engine = make_engine(seed_url)
        meta = build(engine, participants=args.participants, blocks_each=args.blocks_each)
        engine.dispose()
        print(f"seed: {meta['participants']} participants, {meta['blocks']} blocks, {meta['log']} log entries "
              f"(built through the services in {time.perf_counter() - t:.1f} s)", flush=True)
        if args.compare_arcreg:
            return compare(dbs, tmp, args, meta["tokens"])

        url = dbs.url("http", template="seed")
        engine = make_engine(url)
        plan, before = seed_plan(engine, args.connections), state_of(engine)
        for p, token in meta["tokens"].items():
            plan.members[p] = (plan.members[p][0], token)
        engine.dispose()
        h, log_path = run_http(url, tmp, plan, args)
        engine = make_engine(url)
        problems = check(engine, before, h["ok"], plan)
        engine.dispose()
        failures += [f"HTTP: {e}" for e in h["errors"][:10]] + [f"HTTP check: {p}" for p in problems]
        print(f"HTTP: {h['ok']} transfers, {h['count']} measured in {args.seconds:.0f} s, "
              f"{len(h['errors'])} errors, checks {'passed' if not problems else 'FAILED'}", flush=True)
        if h["errors"]:
            shutil.copy(log_path, Path.cwd() / f"http_transfers_{args.db}_server.log")

        url = dbs.url("bare", template="seed")
        engine = make_engine(url, pool_size=args.bare_threads, max_overflow=0)
        plan, before = seed_plan(engine, args.bare_threads), state_of(engine)
        b = run_bare(engine, datetime.fromisoformat(SERVER_CLOCK), plan, threads=args.bare_threads,
                     seconds=args.seconds, warmup=args.warmup, max_count=args.max_requests)
        problems = check(engine, before, b["ok"], plan)
        engine.dispose()
        failures += [f"bare: {e}" for e in b["errors"][:10]] + [f"bare check: {p}" for p in problems]
        print(f"bare: {b['ok']} transfers, {b['count']} measured, {len(b['errors'])} errors, "
              f"checks {'passed' if not problems else 'FAILED'}", flush=True)
    finally:
        dbs.close()
        shutil.rmtree(tmp, ignore_errors=True)

    ratio = Decimal(h["rate"] / b["rate"]).quantize(Decimal("0.01"))
    met = ratio >= TARGET and not failures
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print()
    print(f"| database | workers | conns | HTTP req/s | p50 ms | p99 ms | max ms | errors | bare threads "
          f"| bare tx/s | bare p50 ms | ratio | target >= {TARGET} | load after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.db} | {args.workers} | {args.connections} | {h['rate']:.0f} | {h['p50']:.1f} | {h['p99']:.1f} "
          f"| {h['max']:.0f} | {len(h['errors'])} | {args.bare_threads} | {b['rate']:.0f} | {b['p50']:.1f} "
          f"| {ratio} | {'met' if met else 'MISSED'} | {load} |")
    for failure in failures:
        print("FAILURE:", failure, file=sys.stderr)
    return 1 if failures else 0


def compare(dbs: Databases, tmp: Path, args, tokens: dict) -> int:
    """A/B of two servers on the same seed, run after run (A, B, A, B, ...): requests/s and the CPU
    each transfer costs the server's processes and the database's."""
    rows, failures = [], []
    for n in range(args.rounds):
        for side, arcreg in (("A", ARCREG), ("B", args.compare_arcreg)):
            url = dbs.url(f"{side.lower()}{n}", template="seed")
            engine = make_engine(url)
            plan, before = seed_plan(engine, args.connections), state_of(engine)
            for p, token in tokens.items():
                plan.members[p] = (plan.members[p][0], token)
            engine.dispose()
            h, _ = run_http(url, tmp, plan, args, arcreg)
            engine = make_engine(url)
            problems = check(engine, before, h["ok"], plan)
            engine.dispose()
            failures += h["errors"][:10] + problems
            rows.append((side, h))
            print(f"{side}{n}: {h['rate']:.0f} req/s, server CPU {h['server_cpu_ms']:.2f} ms/transfer"
                  + (f", database CPU {h['db_cpu_ms']:.2f} ms/transfer" if h["db_cpu_ms"] is not None else "")
                  + f", {len(h['errors'])} errors", flush=True)
    print()
    print("| side | server | runs | req/s (median) | server CPU ms/transfer (median) | database CPU ms/transfer (median) |")
    print("|---|---|---|---|---|---|")
    for side, arcreg in (("A", ARCREG), ("B", args.compare_arcreg)):
        mine = [h for s, h in rows if s == side]
        db = [h["db_cpu_ms"] for h in mine if h["db_cpu_ms"] is not None]
        db_cell = f"{statistics.median(db):.2f}" if db else "-"
        print(f"| {side} | {arcreg} | {len(mine)} | {statistics.median(h['rate'] for h in mine):.0f} "
              f"| {statistics.median(h['server_cpu_ms'] for h in mine):.2f} | {db_cell} |")
    for failure in failures:
        print("FAILURE:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
