"""Scale benchmark (issue 8, table 5): a PostgreSQL registry with many blocks
and transfers made offline through the service layer, then the hot read
paths and the expiry job timed through the app, with their query plans.

    python bench/scale.py --blocks 100000 --transfers 1000000
    python bench/scale.py --blocks 20000 --transfers 100000 --minutes 20   # bounded build

The registry is built in a PostgreSQL database of its own (``arcreg_scale_*``
on the local server, kept between runs so a second run only measures):
certified reprocessors generate 10 t blocks, then transfers between 1,000
participants (30 % partial, splitting the block) and ~2 % retirements, 1,000
operations per transaction, a signed checkpoint every 10,000 entries.
``--minutes`` stops the build where it is (it resumes on the next run).

Measured through the Flask app (the test client: routing, auth, schemas,
queries, JSON; no socket) with an admin token: ``GET /blocks?owner=`` (first
and a later page, one state), ``GET /retirements`` (all, by beneficiary, by
year and type), one retirement, a participant's holdings summary, a block's
provenance, one transfer; and the expiry job's batch of 1,000 run in a
transaction that is rolled back, with the clock moved past the blocks' use
period. Every statement those run is explained (EXPLAIN ANALYZE, rolled back);
a sequential scan of a table over 10,000 rows is flagged.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
import query_plans
from _fixtures import (
    MILLI,
    ORIGIN,
    SIGNER,
    START,
    active_participant,
    certified_reprocessor,
    sold_lot,
    staff,
    tonnes,
)
from sqlalchemy import func, select

import chainlog.store
from registry import (
    expiry,
    generation,
    retirements,
    transfers,
)
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import UnitOfWork, make_engine, session_factory
from registry.identity import actor_of
from registry.migrate import upgrade
from registry.models import Block, Retirement, User

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
CACHE = Path("/tmp/arcreg_bench")
GENERATORS, TRADERS, BATCH = 10, 1000, 1000


def database(name: str, fresh: bool) -> str:
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or fresh:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{SERVER}/{name}"


class Builder:
    """Builds (or resumes) the registry; its progress lives in a JSON file."""

    def __init__(self, url: str, state_file: Path, seed: int = 1):
        self.engine = make_engine(url)
        self.sessions = session_factory(self.engine)
        self.state_file = state_file
        self.rng = random.Random(seed)
        self.s = json.loads(state_file.read_text()) if state_file.exists() else None

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.s))

    def uow(self, clock: FrozenClock) -> UnitOfWork:
        return UnitOfWork(self.sessions, clock)

    def setup(self) -> None:
        upgrade(self.engine)
        clock = FrozenClock(START)
        today = clock.today()
        with self.uow(clock) as uow:
            admin, token, certifier = staff(uow)
            gens = [certified_reprocessor(uow, admin, certifier, g, today, capacity_t=100_000_000)
                    for g in range(GENERATORS)]
            traders = [active_participant(uow, admin, f"Trader {i}", today - timedelta(days=100))
                       for i in range(TRADERS)]
            uow.commit()
        self.s = {"admin": admin.user_id, "token": token, "traders": traders, "clock": START.isoformat(),
                  "gens": [{"id": g["id"], "member": g["user_id"], "cert": g["cert"], "facility": g["facility"]}
                           for g in gens],
                  "lots": 0, "blocks": 0, "transfers": 0, "partial": 0, "retirements": 0, "pool": [],
                  "checkpoint_at": 0}
        self.save()

    def _actor(self, uow, user_id):
        return actor_of(uow.session.get(User, user_id))

    def run(self, blocks: int, transfers_wanted: int, deadline: float) -> None:
        s, rng = self.s, self.rng
        clock = FrozenClock(datetime.fromisoformat(s["clock"]))
        everyone = [g["id"] for g in s["gens"]] + s["traders"]
        t0, done0 = time.perf_counter(), s["blocks"] + s["transfers"] + s["retirements"]
        while (s["blocks"] < blocks or s["transfers"] < transfers_wanted) and time.monotonic() < deadline:
            with self.uow(clock) as uow:
                admin = self._actor(uow, s["admin"])
                for _ in range(BATCH):
                    clock.set(clock.now() + timedelta(seconds=2))
                    if s["blocks"] < blocks:
                        g = s["gens"][s["blocks"] % GENERATORS]
                        actor = self._actor(uow, g["member"])
                        if s["blocks"] % (GENERATORS * 500) < GENERATORS:  # 500 blocks of 10 t per 5,000 t lot
                            self.s["lots"] += 1
                            g["lot"] = sold_lot(uow, {**g, "actor": actor}, f"LOT-{self.s['lots']:07d}",
                                                clock.today())
                        b = generation.generate(uow, actor, lot_id=g["lot"], mass=tonnes(10))
                        s["pool"].append([b.serial, b.owner_id, str(b.quantity)])
                        s["blocks"] += 1
                        continue
                    if s["transfers"] >= transfers_wanted:
                        break
                    pool = s["pool"]
                    i = rng.randrange(len(pool))
                    serial, owner, qty = pool[i][0], pool[i][1], Decimal(pool[i][2])
                    if rng.random() < 0.02 and owner in s["traders"]:
                        retirements.retire(uow, admin, serial=serial, quantity=qty, beneficiary=f"Brand {owner}",
                                           claim_type="general", reporting_year=clock.today().year)
                        pool[i] = pool[-1]
                        pool.pop()
                        s["retirements"] += 1
                        continue
                    to = rng.choice(everyone)
                    if to == owner:
                        to = s["traders"][0] if owner != s["traders"][0] else s["traders"][1]
                    part = qty >= Decimal("0.002") and rng.random() < 0.3
                    q = (qty / 2).quantize(MILLI, rounding=ROUND_DOWN) if part else qty
                    r = transfers.transfer(uow, admin, serial=serial, quantity=q, to_participant_id=to)
                    pool[i] = [r.moved.serial, to, str(r.moved.quantity)]
                    if r.remainder is not None:
                        pool.append([r.remainder.serial, owner, str(r.remainder.quantity)])
                        s["partial"] += 1
                    s["transfers"] += 1
                size = chainlog.store.size(uow.session)
                if size // 10_000 > s["checkpoint_at"]:
                    chainlog.store.sign_checkpoint(uow.session, SIGNER, ORIGIN, clock.now())
                    s["checkpoint_at"] = size // 10_000
                uow.commit()
            s["clock"] = clock.now().isoformat()
            self.save()
            ops = s["blocks"] + s["transfers"] + s["retirements"] - done0
            print(f"  build: {s['blocks']:,} blocks, {s['transfers']:,} transfers, {s['retirements']:,} retirements, "
                  f"{size:,} entries; {ops / (time.perf_counter() - t0):,.0f} ops/s", file=sys.stderr)


def timed(client, path, headers, n=30, method="get", body=None):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = getattr(client, method)(path, headers=headers, json=body)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code < 300, (path, r.status_code, r.get_data(as_text=True)[:300])
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1] if len(times) >= 100 else times[-1]


def measure(url: str, state: dict) -> list[str]:
    from api import create_app

    engine = make_engine(url)
    clock = FrozenClock(datetime.fromisoformat(state["clock"]))
    app = create_app(Config(database_url=url, signing_key_pem=SIGNER.private_pem().decode(), log_origin=ORIGIN),
                     clock=clock, engine=engine)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {state['token']}"}
    with engine.connect() as conn:
        counts = {"blocks": conn.execute(select(func.count()).select_from(Block)).scalar_one(),
                  "retirements": conn.execute(select(func.count()).select_from(Retirement)).scalar_one(),
                  "entries": chainlog.store.size(conn)}
        owner = conn.execute(select(Block.owner_id, func.count()).where(Block.state == "active")
                             .group_by(Block.owner_id).order_by(func.count().desc()).limit(1)).one()[0]
        ret = conn.execute(select(Retirement.id, Retirement.beneficiary).order_by(Retirement.id.desc())
                           .limit(1)).one()
        deep = conn.execute(select(Block.serial).where(Block.state == "active")
                            .order_by(Block.log_index.desc()).limit(1)).scalar_one()
    page2 = client.get(f"/api/v1/blocks?owner={owner}&limit=100", headers=auth).get_json()["next_cursor"]
    reads = [
        ("GET /blocks?owner= (first page of 100)", f"/api/v1/blocks?owner={owner}&limit=100"),
        *([("GET /blocks?owner= (second page)", f"/api/v1/blocks?owner={owner}&limit=100&cursor={page2}")]
          if page2 else []),
        ("GET /blocks?owner=&state=retired", f"/api/v1/blocks?owner={owner}&state=retired"),
        ("GET /retirements (first page)", "/api/v1/retirements"),
        ("GET /retirements?beneficiary=", f"/api/v1/retirements?beneficiary={ret[1].replace(' ', '%20')}"),
        ("GET /retirements?year=&arc_type=", "/api/v1/retirements?year=2026&arc_type=PP"),
        ("GET /retirements/{id}", f"/api/v1/retirements/{ret[0]}"),
        ("GET /participants/{id}/holdings", f"/api/v1/participants/{owner}/holdings"),
        ("GET /blocks/{serial}/provenance", f"/api/v1/blocks/{deep}/provenance"),
        ("GET / (explorer home: totals)", "/"),
        ("GET /certificates/{serial} (explorer)", f"/certificates/{deep}"),
    ]
    out = [(f"registry: {counts['blocks']:,} block rows, {counts['retirements']:,} retirements, "
            f"{counts['entries']:,} log entries; owner {owner}"), "",
           "| call | p50 ms | max ms (30 calls) | sequential scans of big tables |", "| --- | --- | --- | --- |"]
    plans_text = []
    for name, path in reads:
        with query_plans.captured(engine) as statements:
            client.get(path, headers=auth)
        p50, worst = timed(client, path, auth)
        plans = query_plans.explain(engine, statements)
        seq = sorted({t for p in plans for t in p.seq_scans_on_big})
        out.append(f"| {name} | {p50:.1f} | {worst:.1f} | {', '.join(seq) or 'none'} |")
        plans_text += query_plans.report(name, plans)
    # The expiry job: one batch of 1,000, clock past the use period, rolled back.
    late = FrozenClock(datetime(START.year + 3, 1, 2, tzinfo=UTC))  # past every use period, whatever today is
    sessions = session_factory(engine)
    times = []
    for k in range(3):
        with query_plans.captured(engine) as statements, UnitOfWork(sessions, late) as uow:
            t = time.perf_counter()
            n = expiry.run_expiry(uow, limit=1000)["expired"]
            times.append((time.perf_counter() - t) * 1000)
        if k == 0:
            plans = query_plans.explain(engine, statements[:3])
            plans_text += query_plans.report("expiry job (batch of 1,000, rolled back)", plans)
    seq = sorted({t for p in plans for t in p.seq_scans_on_big})
    out.append(f"| expiry job, batch of {n:,} (rolled back) | {statistics.median(times):.0f} | {max(times):.0f} | "
               f"{', '.join(seq) or 'none'} |")
    return out + ["", "Plans (first parameters seen, EXPLAIN ANALYZE):", ""] + plans_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blocks", type=int, default=100_000)
    ap.add_argument("--transfers", type=int, default=1_000_000)
    ap.add_argument("--minutes", type=float, default=None, help="stop building after this long (resumes next run)")
    ap.add_argument("--fresh", action="store_true", help="drop the cached database and build again")
    args = ap.parse_args()
    CACHE.mkdir(exist_ok=True)
    name = f"arcreg_scale_{args.blocks}"
    state_file = CACHE / f"{name}.json"
    fresh = args.fresh or not state_file.exists()
    if fresh and state_file.exists():
        state_file.unlink()
    url = database(name, fresh)
    b = Builder(url, state_file)
    if b.s is None:
        b.setup()
    upgrade(b.engine)  # a cached registry gets the newest migrations (indexes) before it is measured
    deadline = time.monotonic() + (args.minutes * 60 if args.minutes else 10 ** 9)
    b.run(args.blocks, args.transfers, deadline)
    b.engine.dispose()
    for line in measure(url, b.s):
        print(line)


if __name__ == "__main__":
    main()
