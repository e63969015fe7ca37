"""R-T5: concurrent retries with one Idempotency-Key, through the test
client on SQLite and PostgreSQL (tests/idempotent_race.py)."""

from __future__ import annotations

import chainlog.store
from registry.db import session_factory
from tests.api.driver import t
from tests.idempotent_race import TRIALS, run_trials


def test_simultaneous_retries_return_the_first_result(driver, engine):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    driver.sell(gen.token, lot["id"], t(100))
    block = driver.generate(gen.token, lot["id"])
    brand = driver.participant("Brand Co")["id"]
    app = driver.client.application

    def post(body, key):
        client = app.test_client()  # one per thread
        response = client.post("/api/v1/transfers", json=body,
                               headers={"Authorization": f"Bearer {gen.token}", "Idempotency-Key": key})
        return response.status_code, response.get_json(), response.headers.get("Idempotent-Replayed") == "true"

    run_trials(post, block["serial"], brand, "client")
    with session_factory(engine)() as session:
        transferred = sum(1 for e in chainlog.store.iter_entries(session) if e.type == "block.transferred")
    assert transferred == TRIALS  # one transfer per trial, not SIMULTANEOUS
