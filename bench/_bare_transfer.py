"""The bare limit for bench/http_transfers.py: the transfer's database
transaction, and nothing else, from N threads.

Per transfer, one transaction on one connection of its own (R-X3):
  1. the block's row under a lock (``SELECT ... FOR UPDATE``; on SQLite the
     transaction is ``BEGIN IMMEDIATE``, as the registry opens it), refused
     unless active and owned by the sender (R-T1, R-T3);
  2. sender and recipient read and checked active (R-P3);
  3. the log entry appended with ``chainlog.store.append`` (advisory lock,
     chain hash, Merkle nodes: the very same log work as the registry);
  4. a whole transfer updates the block's owner and lineage link; a partial
     one inserts the two children (R-T2: the lower serials move) and marks
     the parent ``split``.
The registry part is plain SQL on the DBAPI cursor (psycopg or sqlite3): no
Flask, no ORM, no authentication, no JSON at an HTTP edge.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

import chainlog.store
from registry.blocks import format_serial
from registry.units import MILLI, exact_arithmetic

COLUMNS = ("serial", "arc_code", "arc_type", "recycled_status", "quantity", "state", "owner_id",
           "generator_id", "lot_id", "lot_reference", "determination_id", "generation_year",
           "first_unit", "last_unit", "base_kg", "parent_serial", "log_index", "leaf_hash",
           "created_at", "updated_at")


class Refused(Exception):
    pass


def _milli(value: int) -> Decimal:
    return Decimal(int(value)).scaleb(-3).quantize(MILLI)


def _payload(b: dict) -> dict:
    """registry.blocks.block_payload, from a row dict (quantities in thousandths)."""
    return {
        "serial": b["serial"], "arc_code": b["arc_code"], "arc_type": b["arc_type"],
        "recycled_status": b["recycled_status"], "quantity": format(_milli(b["quantity"]), "f"),
        "state": b["state"], "owner": b["owner_id"], "generator": b["generator_id"], "lot": b["lot_id"],
        "lot_reference": b["lot_reference"], "generation_year": b["generation_year"],
        "first": b["first_unit"], "last": b["last_unit"], "base_kg": format(_milli(b["base_kg"]), "f"),
    }


class BareTransfer:
    def __init__(self, engine, now: datetime) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.now = now
        # SQLite stores datetimes as text, the way SQLAlchemy writes them.
        self.stamp = now.replace(tzinfo=None).isoformat(" ", "microseconds") if self.sqlite else now
        mark = "?" if self.sqlite else "%s"
        lock = "" if self.sqlite else " FOR UPDATE"
        self.select_block = f"SELECT {', '.join(COLUMNS)} FROM block WHERE serial = {mark}{lock}"
        self.select_parts = f"SELECT id, status FROM participant WHERE id IN ({mark}, {mark})"
        self.update_whole = (f"UPDATE block SET owner_id = {mark}, updated_at = {mark}, log_index = {mark}, "
                             f"leaf_hash = {mark} WHERE serial = {mark}")
        self.insert_child = (f"INSERT INTO block ({', '.join(COLUMNS)}) "
                             f"VALUES ({', '.join([mark] * len(COLUMNS))})")
        self.mark_split = f"UPDATE block SET state = 'split', updated_at = {mark} WHERE serial = {mark}"

    def transfer(self, conn, user_id: int, sender: int, serial: str, units: int, recipient: int):
        """One transfer in the caller's transaction; returns (moved, remainder)
        as (serial, units) pairs, remainder None for a whole transfer."""
        cur = conn.connection.dbapi_connection.cursor()
        cur.execute(self.select_block, (serial,))
        row = cur.fetchone()
        if row is None:
            raise Refused(f"no block {serial}")
        b = dict(zip(COLUMNS, row, strict=True))
        if b["state"] != "active" or b["owner_id"] != sender or units > b["quantity"]:
            raise Refused(f"block {serial} is {b['state']}, owner {b['owner_id']}, {b['quantity']} units")
        cur.execute(self.select_parts, (sender, recipient))
        if sorted(cur.fetchall()) != [(p, "active") for p in sorted((sender, recipient))]:
            raise Refused("sender and recipient must be two active participants")
        prev = {"index": b["log_index"], "leaf_hash": b["leaf_hash"]}
        if units == b["quantity"]:
            moved, remainder = {**b, "owner_id": recipient}, None
        else:
            total = b["last_unit"] - b["first_unit"] + 1
            with exact_arithmetic():
                lower = (_milli(b["base_kg"]) * units / total).quantize(MILLI, rounding=ROUND_DOWN)
            lower_kg = int(lower.scaleb(3))
            children = []
            for owner, first, last, base in (
                    (recipient, b["first_unit"], b["first_unit"] + units - 1, lower_kg),
                    (sender, b["first_unit"] + units, b["last_unit"], b["base_kg"] - lower_kg)):
                children.append({**b, "serial": format_serial(b["arc_code"], b["generation_year"],
                                                              b["generator_id"], first, last),
                                 "quantity": last - first + 1, "owner_id": owner, "first_unit": first,
                                 "last_unit": last, "base_kg": base, "parent_serial": serial,
                                 "created_at": self.stamp, "updated_at": self.stamp})
            moved, remainder = children
        ref = chainlog.store.append(conn, type="block.transferred", actor=f"user:{user_id}", time=self.now, payload={
            "parent": serial, "from": sender, "to": recipient, "quantity": format(_milli(units), "f"),
            "moved": _payload(moved), "remainder": _payload(remainder) if remainder else None, "prev": prev})
        leaf = ref.leaf_hash.hex()
        if remainder is None:
            cur.execute(self.update_whole, (recipient, self.stamp, ref.index, leaf, serial))
            return (serial, units), None
        for child in (moved, remainder):
            child.update(log_index=ref.index, leaf_hash=leaf)
        cur.executemany(self.insert_child, [tuple(c[k] for k in COLUMNS) for c in (moved, remainder)])
        cur.execute(self.mark_split, (self.stamp, serial))
        return (moved["serial"], moved["quantity"]), (remainder["serial"], remainder["quantity"])


def summary(latencies: list[float], count: int, seconds: float) -> dict:
    """Rate and latency percentiles (ms) of one run."""
    ordered = sorted(latencies) or [float("nan")]

    def q(f):
        return ordered[min(len(ordered) - 1, int(len(ordered) * f))] * 1000

    return {"rate": count / seconds, "p50": q(0.50), "p99": q(0.99), "max": ordered[-1] * 1000,
            "mean": statistics.fmean(ordered) * 1000, "count": count}


def run(engine, now: datetime, plan, *, threads: int, seconds: float, warmup: float, max_count: int) -> dict:
    """Run transfers from ``threads`` threads for ``warmup`` + ``seconds`` (or
    ``max_count`` transfers in all), timing those after the warm-up. ``plan``
    is bench.http_transfers.Holdings: who holds what, partitioned by thread,
    and the next transfer -- the same plan the HTTP client follows."""
    bare = BareTransfer(engine, now)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counts = {"started": 0, "ok": 0, "measured": 0}
    start = time.perf_counter()
    measure_from, deadline = start + warmup, start + warmup + seconds

    def worker(k: int) -> None:
        rng = random.Random(1000 + k)
        with engine.connect() as conn:
            while time.perf_counter() < deadline:
                with lock:
                    if counts["started"] >= max_count:
                        return
                    counts["started"] += 1
                move = plan.next_move(k, rng)
                if move is None:
                    return
                t0 = time.perf_counter()
                try:
                    with conn.begin():
                        moved, remainder = bare.transfer(conn, move.user_id, move.sender, move.serial,
                                                         move.units, move.recipient)
                except Exception as exc:  # noqa: BLE001  (counted and reported; the run fails on any)
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                t1 = time.perf_counter()
                plan.done(move, moved, remainder)
                with lock:
                    counts["ok"] += 1
                    if t0 >= measure_from and t1 <= deadline:
                        counts["measured"] += 1
                        latencies.append(t1 - t0)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    window = min(time.perf_counter(), deadline) - measure_from
    return {**summary(latencies, counts["measured"], window), "ok": counts["ok"], "errors": errors}
