"""R-L4b: checkpoints are signed eagerly, by one signer at a time, and never
under a lock that writers or readers wait on (issue 16, findings 2 and 9).

- with no read at all, a checkpoint covering a write appears (the signer
  thread; and a real `arcreg serve` with two workers);
- two signers racing on the same tree store one checkpoint, the same one,
  without an error; the signer lock is held by one signer at a time, across
  processes too;
- every stored checkpoint still verifies (`arcreg verify`'s checks).
"""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select, text

import chainlog.store
from chainlog.keys import Signer
from registry.checkpoint_signing import EagerSigner, SignerLock, sign_tree
from registry.config import Config
from registry.signing import load_signer
from tests.api.lineage import long_lineage
from tests.serverproc import call, serving
from tests.threads import Worker, finish, wait_until

ORIGIN = Config().log_origin


def _signer(tmp_path) -> Signer:
    return load_signer(Config(signing_key_file=tmp_path / "key.pem"))


def _covered(engine) -> tuple[int, int]:
    """(log size, size of the latest stored checkpoint)."""
    with engine.connect() as conn:
        latest = chainlog.store.latest_checkpoint(conn)
        return chainlog.store.size(conn), 0 if latest is None else latest.size


def _count_checkpoints(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(chainlog.store.checkpoints_table)).scalar_one()


@pytest.mark.wallclock  # the signer thread polls on the real clock
def test_a_checkpoint_covering_a_write_appears_with_no_read(driver, engine, clock, tmp_path):
    h = long_lineage(driver, 1)  # the driver never reads a checkpoint
    size, covered = _covered(engine)
    assert covered < size  # nothing signed it yet: checkpoints were only signed when read (finding 9)
    signer = EagerSigner(engine, _signer(tmp_path), ORIGIN, clock, interval=0.1).start()
    try:
        wait_until(lambda: _covered(engine)[1] == size, timeout=10, what="a checkpoint of the tree",
                   seen=lambda: _covered(engine))
        driver.ok("/transfers", {"serial": h["serial"], "quantity": "0.001", "to_participant_id": h["buyer"]},
                  h["gen"].token)
        wait_until(lambda: _covered(engine)[1] == size + 1, timeout=10, what="a checkpoint of the new entry",
                   seen=lambda: _covered(engine))
    finally:
        signer.stop()
    with engine.connect() as conn:
        for stored in chainlog.store.iter_checkpoints(conn):
            assert chainlog.store.root_at(conn, stored.size) == stored.root


def test_two_signers_racing_store_one_checkpoint_without_error(driver, engine, clock, tmp_path):
    long_lineage(driver, 1)
    key = _signer(tmp_path)
    before = _count_checkpoints(engine)
    barrier = threading.Barrier(4)
    results = []

    def race():
        barrier.wait(timeout=30)
        results.append(sign_tree(engine, key, ORIGIN, clock.now()))

    workers = [Worker(race, name=f"signer-{n}") for n in range(4)]
    for w in workers:
        w.start()
    finish(workers, timeout=120)
    assert len({(r.size, r.note) for r in results}) == 1
    assert _count_checkpoints(engine) == before + 1
    size, covered = _covered(engine)
    assert covered == size == results[0].size


def test_eager_signers_take_turns(driver, engine, clock, tmp_path):
    """Two eager signers (two workers' threads): while one holds the signer lock
    the other's turn signs nothing and raises nothing."""
    long_lineage(driver, 1)
    key = _signer(tmp_path)
    first = EagerSigner(engine, key, ORIGIN, clock)
    second = EagerSigner(engine, key, ORIGIN, clock)
    with first.lock.held() as mine:
        assert mine
        assert second.run_once() is None  # the tree grew, but another signer holds the lock
        with second.lock.held() as theirs:
            assert not theirs
    stored = second.run_once()
    assert stored is not None and stored.size == _covered(engine)[0]
    assert first.run_once() is None  # nothing new to sign


def test_the_signer_lock_excludes_another_process(engine, tmp_path):
    lock = SignerLock(engine)
    url = engine.url.render_as_string(hide_password=False)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys; from registry.db import make_engine; from registry.checkpoint_signing import SignerLock\n"
        f"lock = SignerLock(make_engine({url!r}))\n"
        "with lock.held() as mine:\n"
        "    print('held' if mine else 'refused', flush=True)\n"
        "    sys.stdin.readline()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with lock.held() as mine:
            assert not mine
    finally:
        holder.communicate("\n", timeout=60)
    with lock.held() as mine:
        assert mine


@pytest.mark.wallclock
@pytest.mark.slow
def test_served_registry_signs_without_being_read(driver, engine, db_url, tmp_path):
    """`arcreg serve --workers 2` on this database: a write over HTTP, no read of
    any checkpoint, and a checkpoint of the new tree is stored."""
    h = long_lineage(driver, 1)
    env = {"ARCREG_DATABASE_URL": db_url, "ARCREG_SIGNING_KEY_FILE": str(tmp_path / "key.pem"),
           "ARCREG_CLOCK": "2026-03-02T09:30:00Z"}
    with serving(tmp_path, env, workers=2) as (base, _process):
        status, body = call("POST", f"{base}/api/v1/transfers", {
            "serial": h["serial"], "quantity": "0.001", "to_participant_id": h["buyer"]}, token=h["gen"].token)
        assert status == 201, body
        size = _covered(engine)[0]
        wait_until(lambda: _covered(engine)[1] == size, timeout=10, what="the served registry to sign",
                   seen=lambda: _covered(engine))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM log_checkpoints WHERE size = :n"), {"n": size}).scalar() == 1
