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
import time

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


def _grow(driver, h) -> None:
    """One more entry: move 0.001 from the lineage's remainder."""
    moved = driver.ok("/transfers", {"serial": h["serial"], "quantity": "0.001", "to_participant_id": h["buyer"]},
                      h["gen"].token)
    h["serial"] = moved["remainder"]["serial"]


def test_the_signer_that_took_the_lock_keeps_it_until_it_stops(driver, engine, clock, tmp_path):
    """The lock is a lease: one signer polls and signs, turn after turn; the
    others sign nothing until it stops, then one takes over (table 1's cost)."""
    h = long_lineage(driver, 1)
    key = _signer(tmp_path)
    first = EagerSigner(engine, key, ORIGIN, clock)
    second = EagerSigner(engine, key, ORIGIN, clock)
    try:
        assert first.run_once() is not None
        assert first.lock.holding  # kept after the turn
        _grow(driver, h)
        assert second.run_once() is None and not second.lock.holding  # grown, but first holds the lease
        stored = first.run_once()
        assert stored is not None and stored.size == _covered(engine)[0]
        _grow(driver, h)
        first.stop()  # its thread never started: stopping still lets go of the lock
        assert not first.lock.holding
        stored = second.run_once()
        assert stored is not None and stored.size == _covered(engine)[0] and second.lock.holding
    finally:
        first.stop()
        second.stop()


@pytest.mark.wallclock  # the follower's turns run on the real clock
def test_a_follower_tries_the_lock_only_every_few_turns(driver, engine, clock, tmp_path):
    """A signer that found the lock taken does not poll: when the lock comes
    free it takes it on its next try, every `takeover_turns` turns, not sooner."""
    long_lineage(driver, 1)
    holder = SignerLock(engine)
    assert holder.acquire()
    follower = EagerSigner(engine, _signer(tmp_path), ORIGIN, clock, interval=0.05, takeover_turns=1000).start()
    try:
        holder.release()
        time.sleep(1)  # about 20 turns, none of them a try
        size, covered = _covered(engine)
        assert covered < size and not follower.lock.holding
        follower.takeover_turns = 1
        wait_until(lambda: _covered(engine)[1] == size, timeout=10, what="the follower to take over and sign",
                   seen=lambda: _covered(engine))
        assert follower.lock.holding
    finally:
        follower.stop()
        holder.release()


def test_the_lock_goes_with_a_killed_holder(engine, tmp_path):
    """kill -9 of the process that holds the lock: another signer takes it."""
    url = engine.url.render_as_string(hide_password=False)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys; from registry.db import make_engine; from registry.checkpoint_signing import SignerLock\n"
        f"lock = SignerLock(make_engine({url!r}))\n"
        "print('held' if lock.acquire() else 'refused', flush=True)\n"
        "sys.stdin.readline()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lock = SignerLock(engine)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not lock.acquire()
        holder.kill()
        holder.wait(timeout=30)
        wait_until(lock.acquire, timeout=30, what="the lock after its holder was killed")
    finally:
        lock.release()
        if holder.poll() is None:
            holder.kill()


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
