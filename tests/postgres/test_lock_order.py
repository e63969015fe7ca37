"""R-X5: one lock order. A suspension racing with writes that depend on the
participant's status gives neither a deadlock, nor a 500, nor a log that
replay rejects — on PostgreSQL, through `arcreg serve --workers 4`.

Issue 16, finding 1: 8 threads loop small transfers (or retirements) from
participant B's blocks, each following its remainder, while an administrator
alternates suspend / activate of B every 0.3–0.8 s for 12 rounds. Before the
lock order, suspensions and transfers deadlocked (500) and transfers
committed after the suspension, so replay rejected the log for good.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from decimal import Decimal

from sqlalchemy import text
from sqlmodel import select

import chainlog.store
from registry import lockorder
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry.identity import actor_of, authenticate
from registry.models import Block
from registry.signing import load_signer
from registry.transfers import transfer
from registry.verification import verify_registry
from tests.api.driver import t
from tests.serverproc import call, serving
from tests.threads import Problems, Worker, finish, wait_until

THREADS = 8
ROUNDS = 12
MAX_WRITES_PER_THREAD = 3000  # bounded however fast the server is
SMALL = "0.001"
ORIGINAL = Decimal("100.000")


def _blocks_of_b(driver) -> tuple:
    """Participant B, a generator holding THREADS blocks (one chain per
    thread), and a recipient C."""
    gen = driver.generator("Generator B")
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    driver.sell(gen.token, lot["id"], t(100))
    serials = [driver.generate(gen.token, lot["id"], mass=t(10))["serial"] for _ in range(THREADS)]
    recipient = driver.participant("Recipient C")["id"]
    return gen, serials, recipient


def _next_serial(serial: str) -> str:
    """The remainder after taking 0.001 (one serial unit) off the bottom (R-T2)."""
    code, year, generator, first, last = serial.rsplit("-", 4)
    return f"{code}-{year}-{generator}-{int(first) + 1:0{len(first)}d}-{last}"


def _verify(engine, pg_url, key_file):
    verifier = load_signer(Config(database_url=pg_url, signing_key_file=key_file)).verifier
    with session_factory(engine)() as session:
        return verify_registry(session, [verifier], record=False)


def _no_write_while_suspended(engine, participant: int, write_type: str) -> int:
    """Replay's rule, stated directly: between `participant.suspended` and
    the next `participant.activated` of B, no write from B is logged.
    Returns how many suspensions the log holds."""
    suspended = False
    suspensions = 0
    with session_factory(engine)() as session:
        for entry in chainlog.store.iter_entries(session):
            if entry.type in ("participant.suspended", "participant.activated") \
                    and entry.payload["participant"] == participant:
                suspended = entry.type == "participant.suspended"
                suspensions += suspended
            elif entry.type == write_type and suspended:
                owner = entry.payload.get("from", entry.payload.get("owner"))
                assert owner != participant, f"entry {entry.index} ({write_type}) logged while B was suspended"
    return suspensions


def _race(pg_driver, pg_wide_engine, pg_url, tmp_path, path: str, body_for) -> Counter:
    gen, serials, recipient = _blocks_of_b(pg_driver)
    key_file = tmp_path / "key.pem"  # the driver's app signed with it; the server goes on with it
    env = {"ARCREG_DATABASE_URL": pg_url, "ARCREG_CLOCK": "2026-03-02T09:30:00Z",
           "ARCREG_SIGNING_KEY_FILE": str(key_file)}
    problems = Problems()
    outcomes: Counter = Counter()
    lock = threading.Lock()
    done = threading.Event()

    with serving(tmp_path, env, workers=4, log_path=tmp_path / "server.log") as (base, _):
        def writer(serial: str) -> None:
            for _ in range(MAX_WRITES_PER_THREAD):
                if done.is_set():
                    return
                status, body = call("POST", f"{base}/api/v1{path}", body_for(serial, recipient), token=gen.token)
                code = body.get("code") if status != 201 else None
                with lock:
                    outcomes[(status, code)] += 1
                if status == 201:
                    serial = _next_serial(serial)
                elif not (status == 422 and code == "participant_inactive"):
                    problems.add(f"{path} from {serial}: HTTP {status} {body!r}"[:2000])
                    return

        def administrator() -> None:
            rng = random.Random(16)
            try:
                for round_ in range(ROUNDS):
                    for action, body in (("suspend", {"reason": f"audit round {round_}"}), ("activate", None)):
                        time.sleep(rng.uniform(0.3, 0.8))
                        status, answer = call("POST", f"{base}/api/v1/participants/{gen.id}/{action}", body,
                                              token=pg_driver.admin)
                        with lock:
                            outcomes[(action, status)] += 1
                        problems.status(f"{action} round {round_}", status, [200], answer)
            finally:
                done.set()

        workers = [Worker(writer, serial, name=f"writer-{i}") for i, serial in enumerate(serials)]
        workers.append(Worker(administrator, name="administrator"))
        for worker in workers:
            worker.start()
        finish(workers, timeout=180, problems=problems)

    assert outcomes[("suspend", 200)] == ROUNDS and outcomes[("activate", 200)] == ROUNDS, outcomes
    assert outcomes[(201, None)] > 0, outcomes
    # The race happened: writes were refused while B was suspended, and
    # nothing else was (no 500, no deadlock, no other code).
    assert outcomes[(422, "participant_inactive")] > 0, outcomes
    assert set(outcomes) <= {(201, None), (422, "participant_inactive"), ("suspend", 200),
                             ("activate", 200)}, outcomes
    return gen, outcomes, key_file


def _check_log(pg_wide_engine, pg_url, key_file, gen, write_type, successes: int) -> None:
    assert _no_write_while_suspended(pg_wide_engine, gen.id, write_type) == ROUNDS
    with session_factory(pg_wide_engine)() as session:
        logged = sum(1 for e in chainlog.store.iter_entries(session) if e.type == write_type)
        held = sum(b.quantity for b in session.exec(select(Block).where(Block.owner_id == gen.id,
                                                                        Block.state == "active")))
    assert logged == successes  # exactly one entry per success the clients saw
    assert held == Decimal(10 * THREADS) - Decimal(SMALL) * successes  # nothing created or lost
    report = _verify(pg_wide_engine, pg_url, key_file)  # R-L7: replay accepts the log
    assert report.ok, report.failure()


def test_suspension_racing_with_transfers(pg_driver, pg_wide_engine, pg_url, tmp_path):
    gen, outcomes, key_file = _race(
        pg_driver, pg_wide_engine, pg_url, tmp_path, "/transfers",
        lambda serial, recipient: {"serial": serial, "quantity": SMALL, "to_participant_id": recipient})
    _check_log(pg_wide_engine, pg_url, key_file, gen, "block.transferred", outcomes[(201, None)])


def test_suspension_racing_with_retirements(pg_driver, pg_wide_engine, pg_url, tmp_path):
    gen, outcomes, key_file = _race(
        pg_driver, pg_wide_engine, pg_url, tmp_path, "/retirements",
        lambda serial, _: {"serial": serial, "quantity": SMALL, "beneficiary": "Brand Co",
                           "claim_type": "general", "reporting_year": 2026})
    _check_log(pg_wide_engine, pg_url, key_file, gen, "block.retired", outcomes[(201, None)])


def _waiting_on_a_lock(engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar() > 0


def test_a_block_that_changed_hands_meanwhile_locks_its_new_owner_without_waiting(
        pg_driver, pg_wide_engine, pg_clock):
    """R-X5's one exception: a transfer read the block's owner (A), locked A
    and the recipient, then waited for the block while a transfer of the
    whole block to B committed. It may not wait for B's row while holding
    the block; B is free, so it takes B's lock at once and moves the block
    from B (an administrator acts for every participant)."""
    gen = pg_driver.generator()
    lot = pg_driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    pg_driver.sell(gen.token, lot["id"], t(100))
    serial = pg_driver.generate(gen.token, lot["id"])["serial"]
    b = pg_driver.participant("Trader B")["id"]
    c = pg_driver.participant("Trader C")["id"]
    sessions = session_factory(pg_wide_engine)
    with UnitOfWork(sessions, pg_clock) as uow:
        admin = actor_of(authenticate(uow, pg_driver.admin))
    problems = Problems()
    outcome = {}

    first = UnitOfWork(sessions, pg_clock).__enter__()
    try:
        lockorder.checked(first)
        transfer(first, admin, serial=serial, quantity=ORIGINAL, to_participant_id=b)  # holds the block

        def second() -> None:
            with UnitOfWork(sessions, pg_clock) as uow:
                lockorder.checked(uow)
                outcome["result"] = transfer(uow, admin, serial=serial, quantity=Decimal(1), to_participant_id=c)
                uow.commit()

        worker = Worker(second, name="second transfer")
        worker.start()
        wait_until(lambda: _waiting_on_a_lock(pg_wide_engine), timeout=30, what="the second transfer to wait",
                   workers=[worker], problems=problems)
        first.commit()
    finally:
        first.__exit__(None, None, None)
    finish([worker], timeout=30, problems=problems)
    result = outcome["result"]
    assert (result.moved.owner_id, result.remainder.owner_id) == (c, b)
    with session_factory(pg_wide_engine)() as session:
        moves = [(e.payload["from"], e.payload["to"]) for e in chainlog.store.iter_entries(session)
                 if e.type == "block.transferred"]
    assert moves == [(gen.id, b), (b, c)]
