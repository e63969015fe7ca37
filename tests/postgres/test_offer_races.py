"""R-T6 under concurrency: accept, withdraw and the lapse job racing on the
same offers from several processes on PostgreSQL -- four gunicorn workers
answering HTTP acceptances and withdrawals, and lapse runs from the test
process on connections of their own. Exactly one of them closes each offer,
with one log entry; the others are refused with the offer's new state; the
log replays."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlmodel import select

import chainlog.store
from registry import lockorder
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry.models import Block, Offer
from registry.offers.lapse import run_lapse
from registry.signing import load_signer
from registry.verification import verify_registry
from tests.api.driver import t
from tests.api.test_offers import patch
from tests.serverproc import call, serving

OFFERS = 6
HTTP_PER_ACTION = 4  # per offer: 4 acceptances and 4 withdrawals
# The lapse runs start a little after the barrier: in-process they skip the HTTP round trip, and
# without a head start for the workers they would win every offer.
LAPSE_DELAYS = (0.25, 0.6, 1.2)
CLOSING = {"block.offer_accepted", "block.offer_withdrawn", "block.offer_lapsed"}


def test_accept_withdraw_and_lapse_race_exactly_one_wins(pg_driver, pg_wide_engine, pg_url, pg_clock, tmp_path):
    driver = pg_driver
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    driver.sell(gen.token, lot["id"], t(100))
    block = driver.generate(gen.token, lot["id"])
    brand = driver.participant("Brand Co")["id"]
    brand_token = driver.member(brand)
    assert patch(driver, brand, {"incoming_transfers": "review"}, brand_token).status_code == 200
    today = pg_clock.today().isoformat()
    offers, serial = [], block["serial"]
    for _ in range(OFFERS):  # each offer lapses at the end of today: acceptable today, due tomorrow
        response = driver.post("/transfers", {"serial": serial, "quantity": "1", "to_participant_id": brand,
                                              "lapses_on": today}, gen.token)
        assert response.status_code == 202, response.get_data(as_text=True)
        offers.append(response.get_json()["offer"]["id"])
        page = driver.get(f"/blocks?owner={gen.id}&state=active", gen.token).get_json()
        serial = page["items"][0]["serial"]

    tomorrow = FrozenClock(pg_clock.now() + timedelta(days=1))
    sessions = session_factory(pg_wide_engine)
    key = tmp_path / "key.pem"
    env = {"ARCREG_DATABASE_URL": pg_url, "ARCREG_CLOCK": pg_clock.now().isoformat().replace("+00:00", "Z"),
           "ARCREG_SIGNING_KEY_FILE": str(key)}
    statuses: dict[int, Counter] = {o: Counter() for o in offers}
    lapsed = Counter()
    guard = threading.Lock()
    with serving(tmp_path, env, workers=4, log_path=tmp_path / "server.log") as (base, _):
        jobs = [("http", o, action) for o in offers for action in ("accept", "withdraw")
                for _ in range(HTTP_PER_ACTION)] + [("lapse", None, delay) for delay in LAPSE_DELAYS]
        barrier = threading.Barrier(len(jobs))

        def run(job):
            kind, offer, action = job
            barrier.wait()
            if kind == "lapse":
                time.sleep(action)
                with UnitOfWork(sessions, tomorrow) as uow:
                    lockorder.checked(uow)
                    result = run_lapse(uow)
                    uow.commit()
                with guard:
                    lapsed["runs"] += 1
                    lapsed["offers"] += result["lapsed"]
                return
            token = brand_token if action == "accept" else gen.token
            status, body = call("POST", f"{base}/api/v1/offers/{offer}/{action}", token=token)
            with guard:
                statuses[offer][(action, status, body.get("code") or body.get("state"))] += 1

        with ThreadPoolExecutor(len(jobs)) as pool:
            list(pool.map(run, jobs))

    with session_factory(pg_wide_engine)() as session:
        closing = Counter()
        for entry in chainlog.store.iter_entries(session):
            if entry.type in CLOSING:
                closing[entry.payload["offer"]] += 1
        rows = {o.id: o for o in session.exec(select(Offer))}
        blocks = {b.serial: b for b in session.exec(select(Block).where(Block.serial.in_([r.serial for r in rows.values()])))}
    won_by_lapse = 0
    for offer in offers:
        assert closing[offer] == 1, (offer, closing)  # exactly one closing entry per offer
        row = rows[offer]
        wins = [k for k, n in statuses[offer].items() if k[1] == 200 for _ in range(n)]
        if row.state == "lapsed":
            won_by_lapse += 1
            assert wins == []
        else:
            assert len(wins) == 1 and wins[0][2] == row.state, statuses[offer]
        for (action, status, code), _ in statuses[offer].items():
            assert status == 200 or (status == 409 and code in (
                "offer_already_accepted", "offer_withdrawn", "offer_lapsed")), statuses[offer]
        block_row = blocks[row.serial]
        assert block_row.state == "active"
        assert block_row.owner_id == (brand if row.state == "accepted" else gen.id)
    print("offer states:", Counter(rows[o].state for o in offers), "http:", statuses)
    assert lapsed["runs"] == len(LAPSE_DELAYS) and lapsed["offers"] == won_by_lapse
    signer = load_signer(Config(database_url=pg_url, signing_key_file=key))
    with session_factory(pg_wide_engine)() as session:
        report = verify_registry(session, [signer.verifier], record=False)
    assert report.ok, report.error
