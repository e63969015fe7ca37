"""Benchmark: one bulk retirement of 1 000 items over HTTP against 1 000
single retirements, in the same run (issue 18, R-T7).

    .venv/bin/python bench/bulk_retirements.py --db sqlite
    .venv/bin/python bench/bulk_retirements.py --db postgresql

1. Builds a seed registry THROUGH THE SERVICES: one certified reprocessor
   holding 2 x --items blocks of 100 t (generated from sold lots), its
   member's token; the daily jobs run for the server's day.
2. Serves a copy with `arcreg serve` on a free port of 127.0.0.1 (one worker:
   the client sends one request at a time).
3. Singles: --items POST /api/v1/retirements, one after another over one
   keep-alive connection, each retiring 1 certificate of its own block (a
   split: the block's remainder stays active).
4. Bulk: one POST /api/v1/retirements/bulk with --items items, the same
   claim, each retiring 1 certificate of one of the other blocks.
5. Checks: every request 201, --items retirements each, one log entry per
   item, one statement page (200) listing every item's serial.

Prints the time per item of each and the ratio (target: bulk >= 5x faster
per item). Exits 1 on any error or failed check.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import START, certified_reprocessor, sold_lot, staff, tonnes  # sibling modules
from _http_setup import SERVER_CLOCK
from http_transfers import Databases

from registry import generation, identity
from registry.clock import FrozenClock, parse_instant
from registry.db import UnitOfWork, make_engine, session_factory
from registry.jobs import run_daily_jobs
from registry.migrate import upgrade
from tests.serverproc import ARCREG, clean_env, free_port, wait_for

TARGET = 5
PER_LOT = 49  # 100 t blocks from a 5 000 t lot (1 % non-plastic)


def build(engine, blocks: int) -> tuple[str, list[str]]:
    upgrade(engine)
    clock = FrozenClock(START)
    sessions = session_factory(engine)
    with UnitOfWork(sessions, clock) as uow:
        admin, _, certifier = staff(uow)
        g = certified_reprocessor(uow, admin, certifier, 0, clock.today())
        token = identity.issue_token(uow, user_id=g["user_id"]).token
        uow.commit()
    serials: list[str] = []
    while len(serials) < blocks:
        with UnitOfWork(sessions, clock) as uow:
            lot = sold_lot(uow, g, f"LOT-{len(serials) // PER_LOT:06d}", clock.today())
            for _ in range(min(PER_LOT, blocks - len(serials))):
                serials.append(generation.generate(uow, g["actor"], lot_id=lot, mass=tonnes(100)).serial)
            uow.commit()
    results = run_daily_jobs(sessions, FrozenClock(parse_instant(SERVER_CLOCK)))
    assert all(r["status"] == "ran" for r in results.values()), results
    return token, serials


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                if attempt == 2:
                    raise
                self.connection.close()  # gunicorn's sync worker closed it: reopen
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        raise AssertionError("unreachable")


CLAIM = {"beneficiary": "Brand Co", "claim_type": "general", "reporting_year": 2026}


def run(url: str, tmp: Path, token: str, singles: list[str], bulk: list[str]) -> dict:
    port = free_port()
    env = clean_env(ARCREG_DATABASE_URL=url, ARCREG_CLOCK=SERVER_CLOCK, ARCREG_RATE_LIMIT="1000000/minute",
                    ARCREG_SIGNING_KEY_FILE=str(tmp / "signing-key.pem"))
    with open(tmp / "server.log", "w") as log:
        server = subprocess.Popen([ARCREG, "serve", "--port", str(port), "--workers", "1"], cwd=tmp, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    errors: list[str] = []
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health", server, seconds=60)
        client = Client(port, token)
        t = time.perf_counter()
        for serial in singles:
            status, body = client.request("POST", "/api/v1/retirements", {"serial": serial, "quantity": "1", **CLAIM})
            if status != 201:
                errors.append(f"single {serial}: {status} {body[:200]!r}")
        single_s = time.perf_counter() - t
        t = time.perf_counter()
        status, body = client.request("POST", "/api/v1/retirements/bulk",
                                      {**CLAIM, "items": [{"serial": s, "quantity": "1"} for s in bulk]})
        bulk_s = time.perf_counter() - t
        statement_ok = False
        if status != 201:
            errors.append(f"bulk: {status} {body[:300]!r}")
        else:
            out = json.loads(body)
            if len(out["retirements"]) != len(bulk):
                errors.append(f"bulk: {len(out['retirements'])} retirements for {len(bulk)} items")
            status, page = client.request("GET", out["statement"])
            statement_ok = status == 200 and all(s.encode() in page for s in
                                                 (r["serial"] for r in out["retirements"]))
            if not statement_ok:
                errors.append("the bulk statement page does not list every item")
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"single_s": single_s, "bulk_s": bulk_s, "errors": errors}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="sqlite")
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="arcreg_bulk_bench_"))
    dbs = Databases(args.db, args.postgres, tmp)
    try:
        t = time.perf_counter()
        url = dbs.url("seed")
        engine = make_engine(url)
        token, serials = build(engine, 2 * args.items)
        print(f"seed: {len(serials)} blocks (built through the services in {time.perf_counter() - t:.1f} s)",
              flush=True)
        r = run(url, tmp, token, serials[:args.items], serials[args.items:])
        with engine.connect() as c:
            retired = c.execute(sa.text("SELECT COUNT(*) FROM log_entries WHERE type = 'block.retired'")).scalar()
            bulk_rows = c.execute(sa.text("SELECT COUNT(*) FROM retirement WHERE bulk_id IS NOT NULL")).scalar()
        engine.dispose()
        if retired != 2 * args.items or bulk_rows != args.items:
            r["errors"].append(f"log: {retired} block.retired entries, {bulk_rows} bulk rows")
    finally:
        dbs.close()
    single, bulk = r["single_s"] / args.items * 1000, r["bulk_s"] / args.items * 1000
    ratio = single / bulk
    print(f"\n{args.db}: {args.items} items each")
    print(f"  single retirements: {r['single_s']:.2f} s in all, {single:.2f} ms per item")
    print(f"  one bulk retirement: {r['bulk_s']:.2f} s in all, {bulk:.2f} ms per item")
    print(f"  bulk is {ratio:.1f}x faster per item (target >= {TARGET}x): {'met' if ratio >= TARGET else 'NOT met'}")
    for e in r["errors"][:10]:
        print(f"  ERROR {e}")
    return 1 if r["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
