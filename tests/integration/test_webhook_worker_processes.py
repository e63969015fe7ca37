"""The webhook worker as it runs in production (R-N1): inside `arcreg serve`
and `arcreg run-jobs`, real processes against the test's database, SQLite and
PostgreSQL. A kill -9 of the serving processes in the middle of a delivery
loses no event: after a restart the receiver gets every event at least once,
each time with the same ``webhook-id``, and the cut-short attempt is recorded."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from sqlmodel import select
from standardwebhooks.webhooks import Webhook

from registry.db import session_factory
from registry.notifications.models import WebhookAttempt
from tests.api.driver import t
from tests.serverproc import ARCREG, clean_env, kill_hard, serving
from tests.webhook_receiver import Receiver

CLOCK = "2026-03-02T09:30:00Z"  # the driver's clock (tests.conftest.NOW)


@pytest.fixture
def app(engine, db_url, clock, tmp_path):
    from api import create_app
    from registry.config import Config
    from tests.conftest import TEST_RATE_LIMIT, TEST_TOKEN_LIFETIME_DAYS

    config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem", rate_limit=TEST_RATE_LIMIT,
                    token_max_lifetime_days=TEST_TOKEN_LIFETIME_DAYS, read_rate_limit=TEST_RATE_LIMIT,
                    webhooks_allow_loopback=True)
    app = create_app(config, clock=clock, engine=engine)
    app.config["TESTING"] = True
    return app


def _env(db_url, tmp_path, **extra) -> dict:
    return {"ARCREG_DATABASE_URL": db_url, "ARCREG_SIGNING_KEY_FILE": str(tmp_path / "key.pem"),
            "ARCREG_CLOCK": CLOCK, "ARCREG_WEBHOOKS_ALLOW_LOOPBACK": "1", **extra}


def _transfers(driver, receiver, count):
    """A brand with an endpoint at ``receiver``, and ``count`` transfers to it."""
    gen = driver.generator()
    brand = driver.participant("Brand Co")["id"]
    token = driver.member(brand)
    hook = driver.ok("/webhooks", {"url": receiver.url, "events": ["transfer.received"]}, token)
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(count))
    driver.sell(gen.token, lot["id"], t(count))
    for _ in range(count):
        serial = driver.generate(gen.token, lot["id"], mass=t(1))["serial"]
        driver.ok("/transfers", {"serial": serial, "quantity": "1", "to_participant_id": brand}, gen.token)
    events = driver.get("/events", token).get_json()["items"]
    assert len(events) == count
    return hook, events


def _wait(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.wallclock
@pytest.mark.slow
def test_kill_9_mid_delivery_loses_no_event(driver, engine, db_url, tmp_path):
    receiver = Receiver(mode="block").start()  # holds every request until released
    try:
        hook, events = _transfers(driver, receiver, 3)
        env = _env(db_url, tmp_path, ARCREG_WEBHOOK_TIMEOUT="30")
        with serving(tmp_path, env, workers=2, log_path=tmp_path / "serve1.log") as (_base, process):
            _wait(lambda: receiver.arrived.is_set(), 30, "the first delivery to arrive")
            time.sleep(0.3)  # let the rest of the batch go out too
            kill_hard(process)  # mid-delivery: the receiver has not answered
        cut_short = {r.headers["webhook-id"] for r in receiver.received}
        assert cut_short  # at least the first was in flight
        sessions = session_factory(engine)
        with sessions() as session:
            assert {a.status for a in session.exec(select(WebhookAttempt))} == {"sending"}
        receiver.mode = "ok"
        receiver.release.set()
        with serving(tmp_path, env, workers=2, log_path=tmp_path / "serve2.log"):
            _wait(lambda: {e["id"] for e in events} <= {r.headers["webhook-id"] for r in receiver.received
                                                        if r.at and r.headers.get("webhook-id")}
                  and len(receiver.received) >= len(events) + len(cut_short), 60, "every event to be delivered")
        by_id = {}
        for request in receiver.received:
            body = Webhook(hook["secret"]).verify(request.body, request.headers)
            by_id.setdefault(request.headers["webhook-id"], []).append(body)
        assert set(by_id) == {e["id"] for e in events}  # every event, none lost
        for event in events:
            bodies = by_id[event["id"]]
            # A cut-short one came again, with the same id and the same body.
            assert len(bodies) == (2 if event["id"] in cut_short else 1)
            assert all(b == {"type": event["type"], "timestamp": event["timestamp"], "data": event["data"]}
                       for b in bodies)
        with sessions() as session:
            statuses = sorted(a.status for a in session.exec(select(WebhookAttempt)))
        assert statuses == sorted(["interrupted"] * len(cut_short) + ["delivered"] * len(events))
    finally:
        receiver.stop()


@pytest.mark.wallclock
@pytest.mark.slow
def test_run_jobs_delivers_what_is_due(driver, db_url, tmp_path):
    receiver = Receiver().start()
    try:
        hook, events = _transfers(driver, receiver, 2)
        result = subprocess.run([ARCREG, "run-jobs"], cwd=tmp_path, env=clean_env(**_env(db_url, tmp_path)),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "webhooks: sent 2, delivered 2\n" in result.stdout
        assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted(e["id"] for e in events)
        for request in receiver.received:
            assert json.loads(request.body)["type"] == "transfer.received"
            Webhook(hook["secret"]).verify(request.body, request.headers)
    finally:
        receiver.stop()
