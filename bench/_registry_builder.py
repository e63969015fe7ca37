"""Shared by bench/integrity_verify.py and bench/provenance_proof.py: a realistic
registry whose log has about N entries, built THROUGH THE SERVICES (the same
calls the API makes), committed in batches of --batch operations per
transaction, and cached under /tmp keyed by N so re-runs skip the build.

Shape: an admin, a certifier, 4 certified reprocessors (certificate, facility,
additionality determination), 200 other participants (traders and brands);
lots (each registered with one sale disposition) feed generations of 100 t
blocks; then mostly transfers between random participants (70 % of the block,
30 % splitting it in two), about 2 % retirements, one generation every ~200
operations, a signed checkpoint every 10,000 entries. Interleaved over the
whole build, one block is moved ten times by partial transfers across four
owners (a lineage ten splits deep) for the provenance benchmark.

Build speed (profiled with py-spy): what is left is the services' own work —
per transfer three ORM flushes (~36 %), the locked re-read of the block
(~18 %), the log append (~15 %). The builder's own overhead was removed:
participants are held for each batch so the services' `session.get` is
answered from the identity map; 2,000 operations per transaction; the
benchmark file is built with synchronous=OFF and a 256 MiB page cache
(`bench_pragmas`); the setup objects are frozen out of the cyclic GC.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import (  # noqa: F401 (ORIGIN, SEED, SIGNER and DIGEST are used by the benchmarks through here)
    DIGEST,
    MILLI,
    ORIGIN,
    SEED,
    SIGNER,
    START,
    active_participant,
    certified_reprocessor,
    sold_lot,
    staff,
    tonnes,
)

import chainlog.store
from registry import generation, retirements, transfers
from registry.clock import FrozenClock
from registry.db import UnitOfWork, make_engine, session_factory
from registry.identity import actor_of
from registry.migrate import upgrade

CHECKPOINT_EVERY = 10_000
CACHE = Path("/tmp/arcreg_bench")


def cached_sqlite(n: int, batch: int = 2000, log=print) -> tuple[str, dict]:
    """(database url, meta) of the cached SQLite registry of ~n entries; built if absent."""
    CACHE.mkdir(exist_ok=True)
    db, meta_path = CACHE / f"registry_{n}.db", CACHE / f"registry_{n}.json"
    if not (db.exists() and meta_path.exists()):
        for p in CACHE.glob(f"registry_{n}.db*"):
            p.unlink()
        url = f"sqlite:///{db}"
        meta = build(url, n, batch=batch, log=log)
        meta_path.write_text(json.dumps(meta))
    return f"sqlite:///{db}", json.loads(meta_path.read_text())


def pem_of_signer() -> str:
    return SIGNER.private_pem().decode()


def bench_pragmas(engine) -> None:
    """SQLite settings for a benchmark BUILD only (a crash loses the scratch
    file, which is rebuilt): no fsync, a 256 MiB page cache, temp in memory.
    The services and their transactions are unchanged."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("PRAGMA cache_size=-262144")
        dbapi_connection.execute("PRAGMA temp_store=MEMORY")


def _setup(uow, today) -> tuple:
    """Staff, four certified reprocessors and 200 traders (a new registry)."""
    admin, _, certifier = staff(uow)
    gens = [certified_reprocessor(uow, admin, certifier, g, today) for g in range(4)]
    others = [active_participant(uow, admin, f"Trader {i}", today - timedelta(days=100)) for i in range(200)]
    return admin, gens, others


def _existing(uow) -> tuple:
    """The same cast read back from a registry built earlier (to grow it):
    (admin, gens, others, active pool, number of lots, time of the last entry)."""
    from sqlalchemy import text
    from sqlmodel import select

    from registry.clock import parse_instant
    from registry.models import Block, Facility, Lot, Participant, RmsCertificate, User

    users = uow.session.exec(select(User)).all()
    admin = actor_of(next(u for u in users if u.role == "admin"))
    people = uow.session.exec(select(Participant).order_by(Participant.id)).all()
    gens = []
    for p in people:
        if p.name.startswith("Reprocessor "):
            member = next(u for u in users if u.participant_id == p.id)
            cert = uow.session.exec(select(RmsCertificate.number).where(RmsCertificate.participant_id == p.id)).one()
            fac = uow.session.exec(select(Facility.id).where(Facility.participant_id == p.id)).one()
            gens.append({"id": p.id, "actor": actor_of(member), "cert": cert, "facility": fac, "lot": None,
                         "left": 0})
    others = [p.id for p in people if p.name.startswith("Trader ")]
    pool = [[b.serial, b.owner_id, b.quantity]
            for b in uow.session.exec(select(Block).where(Block.state == "active").order_by(Block.serial))]
    lot_count = len(uow.session.exec(select(Lot.id)).all())
    last = parse_instant(uow.session.execute(text("SELECT max(time) FROM log_entries")).scalar())
    return admin, gens, others, pool, lot_count, last


def build(url: str, n: int, *, batch: int = 2000, seed: int = 1, log=print) -> dict:
    rng = random.Random(seed)
    engine = make_engine(url)
    bench_pragmas(engine)
    upgrade(engine)
    clock = FrozenClock(START)
    sessions = session_factory(engine)
    t0 = time.perf_counter()
    today = clock.today()

    def tick():
        clock.set(clock.now() + timedelta(seconds=7))

    pool: list[list] = []  # [serial, owner_id, quantity] of active blocks
    lot_no = [0]
    with UnitOfWork(sessions, clock) as uow:
        resumed = _existing(uow) if chainlog.store.size(uow.session) else None
    if resumed is None:
        with UnitOfWork(sessions, clock) as uow:
            admin, gens, others = _setup(uow, today)
            uow.commit()
    else:  # grow a registry built earlier (e.g. a snapshot) to n entries; its deep lineage is already there
        admin, gens, others, pool, lot_no[0], last = resumed
        clock.set(last + timedelta(seconds=7))
        log(f"  growing: {len(pool):,} active blocks, {lot_no[0]:,} lots", file=sys.stderr)
    everyone = [g["id"] for g in gens] + others

    # The builder's own overhead, found by profiling (py-spy): the services look
    # participants up with session.get, which is answered from the session's
    # identity map only while something holds the object (it is a weak map), so
    # each transfer re-read owner and recipient (~18 % of the build). Holding
    # the participants for the batch's session keeps them there. Also: the ORM
    # makes many short-lived cyclic objects; the setup is frozen out of the
    # collector and the young generation is collected less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)

    def hold_participants(uow):
        from sqlmodel import select

        from registry.models import Participant

        return uow.session.exec(select(Participant)).all()

    def new_lot(uow, g):
        lot_no[0] += 1
        g["lot"], g["left"] = sold_lot(uow, g, f"LOT-{lot_no[0]:06d}", today), 50

    def gen(uow, g=None):
        g = g or rng.choice(gens)
        if g["left"] == 0:
            new_lot(uow, g)
        g["left"] -= 1
        block = generation.generate(uow, g["actor"], lot_id=g["lot"], mass=tonnes(100))
        return block

    # The deep lineage: a block moved ten times by partial transfers, interleaved over the build.
    deep = {"serial": None, "owner": None, "qty": None, "step": 0}
    deep_owners = others[:4]
    deep_at = {} if resumed else {max(1, (k * n) // 12): k for k in range(12)}  # op number -> step

    def deep_step(uow, k):
        if k == 0:
            g = gens[0]
            b = gen(uow, g)
            deep.update(serial=b.serial, owner=g["id"], qty=b.quantity)
            return
        if deep["step"] >= 10:
            return
        to = deep_owners[deep["step"] % 4]
        if to == deep["owner"]:
            to = deep_owners[(deep["step"] + 1) % 4]
        q = (deep["qty"] * Decimal("0.75")).quantize(MILLI, rounding=ROUND_DOWN)
        r = transfers.transfer(uow, admin, serial=deep["serial"], quantity=q, to_participant_id=to)
        pool.append([r.remainder.serial, deep["owner"], r.remainder.quantity])
        deep.update(serial=r.moved.serial, owner=to, qty=q, step=deep["step"] + 1)

    def size(uow):
        return chainlog.store.size(uow.session)

    ops = counts = 0
    tally = {"generations": 0, "transfers": 0, "partial": 0, "retirements": 0}
    with UnitOfWork(sessions, clock) as uow:
        entries = size(uow)
    last_cp = 0
    while entries < n:
        with UnitOfWork(sessions, clock) as uow:
            held = hold_participants(uow)  # noqa: F841 (kept alive for the batch)
            for _ in range(batch):
                ops += 1
                tick()
                if ops in deep_at:
                    deep_step(uow, deep_at[ops])
                    continue
                r = rng.random()
                if not pool or r < 0.005:
                    b = gen(uow)
                    pool.append([b.serial, b.owner_id, b.quantity])
                    tally["generations"] += 1
                    continue
                i = rng.randrange(len(pool))
                serial, owner, qty = pool[i]
                if r < 0.025 and owner in others:
                    part = qty >= Decimal("0.002") and rng.random() < 0.5
                    q = (qty / 2).quantize(MILLI, rounding=ROUND_DOWN) if part else qty
                    ret = retirements.retire(uow, admin, serial=serial, quantity=q, beneficiary=f"Brand {owner}",
                                             claim_type="general", reporting_year=today.year)
                    pool[i] = pool[-1]
                    pool.pop()
                    if part:
                        rest = [b for b in retirements.recorded_blocks(uow, ret) if b is not None and b.state == "active"]
                        for b in rest:
                            pool.append([b.serial, b.owner_id, b.quantity])
                    tally["retirements"] += 1
                    continue
                to = rng.choice(everyone)
                if to == owner:
                    to = others[(others.index(to) + 1) % len(others)] if to in others else others[0]
                part = qty >= Decimal("0.002") and rng.random() < 0.3
                q = (qty / 2).quantize(MILLI, rounding=ROUND_DOWN) if part else qty
                res = transfers.transfer(uow, admin, serial=serial, quantity=q, to_participant_id=to)
                pool[i] = [res.moved.serial, to, res.moved.quantity]
                if res.remainder is not None:
                    pool.append([res.remainder.serial, owner, res.remainder.quantity])
                    tally["partial"] += 1
                tally["transfers"] += 1
            entries = size(uow)
            if entries // CHECKPOINT_EVERY > last_cp:
                chainlog.store.sign_checkpoint(uow.session, SIGNER, ORIGIN, clock.now())
                last_cp = entries // CHECKPOINT_EVERY
            uow.commit()
        counts += 1
        if counts % 20 == 0:
            el = time.perf_counter() - t0
            log(f"  build: {entries:,} entries, {el:.0f} s ({entries / el:,.0f} entries/s)", file=sys.stderr)
    with UnitOfWork(sessions, clock) as uow:
        chainlog.store.sign_checkpoint(uow.session, SIGNER, ORIGIN, clock.now())
        uow.commit()
        entries = size(uow)
    engine.dispose()
    return {"entries": entries, "ops": ops, "build_seconds": time.perf_counter() - t0, "deep_serial": deep["serial"],
            "deep_steps": deep["step"], "clock": clock.now().isoformat(), "origin": ORIGIN, **tally,
            "active_pool": len(pool)}


def add_deep_lineage(url: str, clock_after: str, *, admin_user_id: int = 1) -> str:
    """Append, through the services, one generation and ten successive partial
    transfers across four owners: a block ten splits deep at the end of an
    existing registry (used for a snapshot taken before the interleaved one
    was complete). Returns its serial."""
    from sqlmodel import select

    from registry.actors import Actor
    from registry.clock import parse_instant
    from registry.models import Participant

    engine = make_engine(url)
    clock = FrozenClock(parse_instant(clock_after) + timedelta(seconds=7))
    admin = Actor(user_id=admin_user_id, role="admin")
    with UnitOfWork(session_factory(engine), clock) as uow:
        ps = uow.session.exec(select(Participant).order_by(Participant.id)).all()
        gen_p = next(p for p in ps if p.name == "Reprocessor 0")
        traders = [p.id for p in ps if p.name.startswith("Trader ")][:4]
        from registry.models import Lot
        lot = uow.session.exec(select(Lot).where(Lot.generator_id == gen_p.id).order_by(Lot.id.desc())).first()
        block = generation.generate(uow, admin, lot_id=lot.id, mass=tonnes(100))
        serial, qty = block.serial, block.quantity
        for step in range(10):
            to = traders[step % 4]
            clock.set(clock.now() + timedelta(seconds=7))
            q = (qty * Decimal("0.75")).quantize(MILLI, rounding=ROUND_DOWN)
            r = transfers.transfer(uow, admin, serial=serial, quantity=q, to_participant_id=to)
            serial, qty = r.moved.serial, q
        chainlog.store.sign_checkpoint(uow.session, SIGNER, ORIGIN, clock.now())
        uow.commit()
    engine.dispose()
    return serial


def snapshot(src_db: Path, log=print) -> int:
    """Copy a registry being built (a consistent SQLite backup of its committed
    batches), add a ten-split lineage and a final checkpoint, and cache it under
    its own size. Returns that size (the key for --sizes)."""
    import sqlite3

    tmp = CACHE / "snapshot.db"
    for p in CACHE.glob("snapshot.db*"):
        p.unlink()
    with sqlite3.connect(src_db) as src, sqlite3.connect(tmp) as dst:
        src.backup(dst)
    url = f"sqlite:///{tmp}"
    engine = make_engine(url)
    with UnitOfWork(session_factory(engine), FrozenClock(START)) as uow:
        from sqlalchemy import text
        last_time = uow.session.execute(text("SELECT max(time) FROM log_entries")).scalar()
    engine.dispose()
    serial = add_deep_lineage(url, last_time)
    engine = make_engine(url)
    with UnitOfWork(session_factory(engine), FrozenClock(START)) as uow:
        n = chainlog.store.size(uow.session)
    engine.dispose()
    tmp.rename(CACHE / f"registry_{n}.db")
    (CACHE / f"registry_{n}.json").write_text(json.dumps({
        "entries": n, "build_seconds": float("nan"), "deep_serial": serial, "deep_steps": 10,
        "snapshot_of": str(src_db), "generations": -1, "transfers": -1, "partial": -1, "retirements": -1}))
    log(f"snapshot of {src_db}: {n:,} entries, deep block {serial}")
    return n


def grow(src_size: int, n: int, log=print) -> None:
    """Cache a registry of n entries made by growing the cached one of
    src_size entries (a snapshot, with its deep lineage) through the same
    services and operation mix: a 1M registry without rebuilding from zero."""
    import shutil

    src = CACHE / f"registry_{src_size}.db"
    dst = CACHE / f"registry_{n}.db"
    for p in CACHE.glob(f"registry_{n}.db*"):
        p.unlink()
    shutil.copyfile(src, dst)
    meta = json.loads((CACHE / f"registry_{src_size}.json").read_text())
    grown = build(f"sqlite:///{dst}", n, seed=src_size, log=log)
    (CACHE / f"registry_{grown['entries']}.json").write_text(json.dumps(
        {**grown, "grown_from": src_size, "deep_serial": meta["deep_serial"], "deep_steps": meta["deep_steps"]}))
    if grown["entries"] != n:
        dst.rename(CACHE / f"registry_{grown['entries']}.db")
    log(f"grown from {src_size:,} to {grown['entries']:,} entries")
