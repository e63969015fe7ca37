"""R-X3: killing the server (kill -9, workers and all) in the middle of a
stream of transfers leaves state and log exactly consistent: no half
transfer, no entry without its change, no change without its entry."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from decimal import Decimal

from sqlmodel import select

import chainlog.store
from registry.db import session_factory
from registry.models import Block
from tests.api.driver import t
from tests.serverproc import ARCREG, call, clean_env, kill_hard, serving

ORIGINAL = Decimal("100.000")


def _check_consistent(engine) -> int:
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
    return len(transfers)


def test_kill_minus_nine_during_transfers(pg_driver, pg_wide_engine, pg_url, tmp_path):
    gen = pg_driver.generator()
    lot = pg_driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    pg_driver.sell(gen.token, lot["id"], t(100))
    pg_driver.generate(gen.token, lot["id"])
    brand = pg_driver.participant("Brand Co")["id"]
    env = {"ARCREG_DATABASE_URL": pg_url, "ARCREG_CLOCK": "2026-03-02T09:30:00Z"}
    rng = random.Random(7)
    done = 0
    for round_ in range(3):
        with serving(tmp_path, env, workers=2, log_path=tmp_path / f"server{round_}.log") as (base, process):
            stop = threading.Event()

            def stream():
                while not stop.is_set():
                    try:
                        status, page = call("GET", f"{base}/api/v1/blocks?owner={gen.id}&state=active",
                                            token=gen.token, timeout=5)
                        held = [b for b in page.get("items", []) if Decimal(b["quantity"]) > 1]
                        if status != 200 or not held:
                            return
                        call("POST", f"{base}/api/v1/transfers", {"serial": held[0]["serial"],
                             "quantity": "0.5", "to_participant_id": brand}, token=gen.token, timeout=5)
                    except OSError:
                        return  # the server died under us: that is the point

            threads = [threading.Thread(target=stream) for _ in range(4)]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.8, 2.0))
            kill_hard(process)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        transferred = _check_consistent(pg_wide_engine)
        # R-L7: the full verification (chain, tree, checkpoints, replay against
        # the tables) passes after every kill.
        verified = subprocess.run([ARCREG, "verify"], cwd=tmp_path, env=clean_env(**env), capture_output=True,
                                  text=True, timeout=120)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert transferred > done  # the stream made progress before each kill
        done = transferred
