"""R-X3: killing the server (kill -9, workers and all) in the middle of a
stream of transfers leaves state and log exactly consistent: no half
transfer, no entry without its change, no change without its entry."""

from __future__ import annotations

import json
import random
import subprocess
import threading
from decimal import Decimal
from http.client import HTTPException

from sqlmodel import select

import chainlog.store
from registry.db import session_factory
from registry.models import Block
from tests.api.driver import t
from tests.serverproc import ARCREG, call, clean_env, kill_hard, serving
from tests.threads import Problems, Worker, finish, wait_until

ORIGINAL = Decimal("100.000")


def _check_consistent(engine) -> set[int]:
    """The log indexes of all transfer entries, after checking state and log agree."""
    with session_factory(engine)() as session:
        blocks = list(session.exec(select(Block).order_by(Block.first_unit)))
        entries = {e.index: e for e in chainlog.store.iter_entries(session)}
    active = [b for b in blocks if b.state == "active"]
    assert sum(b.quantity for b in active) == ORIGINAL
    position = 1
    for b in active:  # active ranges tile the generated range exactly
        assert b.first_unit == position
        position = b.last_unit + 1
    assert position == 100_001
    transfers = [e for e in entries.values() if e.type == "block.transferred"]
    # Every split parent has exactly one transfer entry, and no entry lacks its split.
    assert sorted(e.payload["parent"] for e in transfers) == sorted(b.serial for b in blocks if b.state == "split")
    for b in blocks:  # every block's lineage pointer names a real entry about it
        entry = entries[b.log_index]
        assert entry.leaf_hash.hex() == b.leaf_hash
        assert b.serial in json.dumps(entry.payload)
    return {e.index for e in transfers}


class Stream:
    """What the stream threads of one round sent and saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = 0  # transfer requests sent
        self.in_flight = 0  # sent, no answer yet
        self.confirmed: list[int] = []  # log indexes of the 201s
        self.refused = 0  # 422 block_not_active: another thread split that block first

    def __repr__(self) -> str:
        return (f"{self.sent} transfers sent, {len(self.confirmed)} confirmed, {self.refused} refused in a race, "
                f"{self.in_flight} in flight")


def test_kill_minus_nine_during_transfers(pg_driver, pg_wide_engine, pg_url, tmp_path):
    gen = pg_driver.generator()
    lot = pg_driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    pg_driver.sell(gen.token, lot["id"], t(100))
    pg_driver.generate(gen.token, lot["id"])
    brand = pg_driver.participant("Brand Co")["id"]
    env = {"ARCREG_DATABASE_URL": pg_url, "ARCREG_CLOCK": "2026-03-02T09:30:00Z"}
    rng = random.Random(7)
    before: set[int] = set()
    for round_ in range(3):
        with serving(tmp_path, env, workers=2, log_path=tmp_path / f"server{round_}.log") as (base, process):
            stop, killed, seen, problems = threading.Event(), threading.Event(), Stream(), Problems()

            def stream():
                while not stop.is_set():
                    try:
                        status, page = call("GET", f"{base}/api/v1/blocks?owner={gen.id}&state=active",
                                            token=gen.token, timeout=30)
                        if not problems.status("GET /blocks", status, {200}, page):
                            return
                        held = [b for b in page["items"] if Decimal(b["quantity"]) > 1]
                        if not held:
                            problems.add(f"the generator holds nothing to transfer: {page}")
                            return
                        with seen.lock:
                            seen.sent += 1
                            seen.in_flight += 1
                        status, body = call("POST", f"{base}/api/v1/transfers", {
                            "serial": held[0]["serial"], "quantity": "0.5", "to_participant_id": brand},
                            token=gen.token, timeout=30)
                        with seen.lock:
                            seen.in_flight -= 1
                            if status == 201:
                                seen.confirmed.append(body["id"])
                            elif status == 422 and body.get("code") == "block_not_active":
                                seen.refused += 1
                            else:
                                problems.status("POST /transfers", status, {201}, body)
                                return
                    except (OSError, HTTPException):
                        if killed.is_set():
                            return  # the server died under us: that is the point
                        raise  # before the kill, a lost connection is a failure

            threads = [Worker(stream, name=f"stream-{n}") for n in range(4)]
            for thread in threads:
                thread.start()
            # Kill once the stream has made progress (a varying amount per round), at a
            # moment a transfer is in flight -- whatever the speed of the machine.
            target = rng.randint(2, 8)
            wait_until(lambda: len(seen.confirmed) >= target and seen.in_flight > 0, timeout=120,
                       what=f"{target} confirmed transfers and one in flight", seen=lambda: seen,
                       workers=threads, problems=problems)
            killed.set()
            kill_hard(process)
            stop.set()
            finish(threads, timeout=60, problems=problems)
        transfers = _check_consistent(pg_wide_engine)
        new = transfers - before
        # Every transfer the clients saw confirmed survived the kill; beyond those, only
        # requests left without an answer may have been applied -- none was applied twice.
        assert set(seen.confirmed) <= new, (sorted(seen.confirmed), sorted(new))
        unanswered = seen.sent - len(seen.confirmed) - seen.refused
        assert len(new) <= len(seen.confirmed) + unanswered, (len(new), seen)
        assert len(seen.confirmed) >= target  # the stream made progress before each kill
        # R-L7: the full verification (chain, tree, checkpoints, replay against
        # the tables) passes after every kill.
        verified = subprocess.run([ARCREG, "verify"], cwd=tmp_path, env=clean_env(**env), capture_output=True,
                                  text=True, timeout=120)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        before = transfers
