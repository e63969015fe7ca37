"""R-T5: concurrent retries with one Idempotency-Key against a real
`arcreg serve --workers 4` on PostgreSQL (tests/idempotent_race.py)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import chainlog.store
from registry.db import session_factory
from tests.api.driver import t
from tests.idempotent_race import TRIALS, run_trials
from tests.serverproc import serving


def test_simultaneous_retries_against_four_server_processes(pg_driver, pg_wide_engine, pg_url, tmp_path):
    gen = pg_driver.generator()
    lot = pg_driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    pg_driver.sell(gen.token, lot["id"], t(100))
    block = pg_driver.generate(gen.token, lot["id"])
    brand = pg_driver.participant("Brand Co")["id"]
    env = {"ARCREG_DATABASE_URL": pg_url, "ARCREG_CLOCK": "2026-03-02T09:30:00Z",
           "ARCREG_SIGNING_KEY_FILE": str(tmp_path / "key.pem")}
    with serving(tmp_path, env, workers=4, log_path=tmp_path / "server.log") as (base, _):
        def post(body, key):
            request = urllib.request.Request(f"{base}/api/v1/transfers", data=json.dumps(body).encode(),
                                             method="POST")
            for name, value in (("Content-Type", "application/json"), ("Authorization", f"Bearer {gen.token}"),
                                ("Idempotency-Key", key)):
                request.add_header(name, value)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, json.loads(response.read()), \
                        response.headers.get("Idempotent-Replayed") == "true"
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read() or b"{}"), False

        run_trials(post, block["serial"], brand, "server")
    with session_factory(pg_wide_engine)() as session:
        transferred = sum(1 for e in chainlog.store.iter_entries(session) if e.type == "block.transferred")
    assert transferred == TRIALS
