"""R-T4: racing transfers on one block never move more than it holds — on
PostgreSQL, from many connections at once and from several server processes."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from sqlmodel import select

import chainlog.store
from registry.db import UnitOfWork, session_factory
from registry.errors import RegistryError
from registry.identity import actor_of, authenticate
from registry.models import Block
from registry.transfers import transfer
from tests.api.driver import t
from tests.races import race
from tests.serverproc import call, serving

ORIGINAL = Decimal("100.000")


def _scenario(driver):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    driver.sell(gen.token, lot["id"], t(100))
    block = driver.generate(gen.token, lot["id"])
    brand = driver.participant("Brand Co")["id"]
    return gen, block, brand


def _active_blocks(engine) -> list[Block]:
    with session_factory(engine)() as session:
        return list(session.exec(select(Block).where(Block.state == "active").order_by(Block.first_unit)))


def _assert_conserved(engine, brand: int, moved_successes: int, quantity: Decimal) -> None:
    blocks = _active_blocks(engine)
    assert sum(b.quantity for b in blocks) == ORIGINAL  # nothing created or lost
    assert sum(b.quantity for b in blocks if b.owner_id == brand) == quantity * moved_successes
    # The active ranges tile the original range exactly: no overlap, no gap.
    position = 1
    for b in blocks:
        assert b.first_unit == position
        position = b.last_unit + 1
    assert position == 100_001
    with session_factory(engine)() as session:
        types = Counter(e.type for e in chainlog.store.iter_entries(session))
    assert types["block.transferred"] == moved_successes  # one log entry per transfer, no more


def _race(engine, clock, token, attempts, body_for):
    """Run ``attempts`` transfers at once, each in its own connection."""
    return race(engine, clock, token, [lambda uow, actor: transfer(uow, actor, **body_for(uow))] * attempts)


def test_racing_full_transfers_move_the_block_once(pg_driver, pg_wide_engine, pg_clock):
    gen, block, brand = _scenario(pg_driver)
    outcome = _race(pg_wide_engine, pg_clock, gen.token, 30,
                    lambda uow: {"serial": block["serial"], "quantity": ORIGINAL, "to_participant_id": brand})
    assert outcome["ok"] == 1
    assert sum(outcome.values()) == 30 and set(outcome) <= {"ok", "not_owner", "block_not_active"}
    _assert_conserved(pg_wide_engine, brand, 1, ORIGINAL)


def test_racing_partial_transfers_never_overdraw(pg_driver, pg_wide_engine, pg_clock):
    gen, block, brand = _scenario(pg_driver)
    outcome = _race(pg_wide_engine, pg_clock, gen.token, 30,
                    lambda uow: {"serial": block["serial"], "quantity": Decimal("60"), "to_participant_id": brand})
    # Two 60s do not fit in 100: the first splits the block, the rest find it gone.
    assert outcome["ok"] == 1
    _assert_conserved(pg_wide_engine, brand, 1, Decimal("60"))


def test_transfers_from_many_connections_follow_the_remainder(pg_driver, pg_wide_engine, pg_clock):
    """Each worker keeps taking 7 from whatever the generator still holds:
    contention on every step, and the totals must still add up."""
    gen, _, brand = _scenario(pg_driver)
    sessions = session_factory(pg_wide_engine)
    with UnitOfWork(sessions, pg_clock) as uow:
        actor = actor_of(authenticate(uow, gen.token))
    successes = Counter()
    lock = threading.Lock()

    def worker(_):
        for _ in range(40):
            try:
                with UnitOfWork(sessions, pg_clock) as uow:
                    held = uow.session.exec(select(Block).where(
                        Block.owner_id == gen.id, Block.state == "active")).first()
                    if held is None or held.quantity < 7:
                        return
                    transfer(uow, actor, serial=held.serial, quantity=Decimal(7), to_participant_id=brand)
                    uow.commit()
                with lock:
                    successes["ok"] += 1
            except RegistryError as exc:
                assert exc.code in ("block_not_active", "insufficient_quantity"), exc.code

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(worker, range(12)))
    assert successes["ok"] == 14  # 14 × 7 = 98 of 100
    _assert_conserved(pg_wide_engine, brand, 14, Decimal(7))


def test_http_transfers_across_four_gunicorn_workers(pg_driver, pg_wide_engine, pg_url, tmp_path):
    """The same race through real HTTP: 32 concurrent clients against
    `arcreg serve --workers 4`."""
    gen, _, brand = _scenario(pg_driver)
    results = Counter()
    lock = threading.Lock()
    env = {"ARCREG_DATABASE_URL": pg_url, "ARCREG_CLOCK": "2026-03-02T09:30:00Z"}
    with serving(tmp_path, env, workers=4, log_path=tmp_path / "server.log") as (base, _):
        def client(_):
            # Bounded: at most 200 tries each; 32 clients need ~33 winning rounds.
            for _ in range(200):
                status, page = call("GET", f"{base}/api/v1/blocks?owner={gen.id}&state=active", token=gen.token)
                assert status == 200
                held = [b for b in page["items"] if Decimal(b["quantity"]) >= 3]
                if not held:
                    return
                status, body = call("POST", f"{base}/api/v1/transfers",
                                    {"serial": held[0]["serial"], "quantity": "3", "to_participant_id": brand},
                                    token=gen.token)
                with lock:
                    results[status if status == 201 else body.get("code")] += 1
                assert status == 201 or body["code"] in ("block_not_active", "insufficient_quantity"), body

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(client, range(32)))
    assert results[201] == 33  # 33 × 3 = 99 of 100
    _assert_conserved(pg_wide_engine, brand, 33, Decimal(3))
