"""Webhooks and the event feed (R-N1, R-N2): registration and its refusals
(SSRF, https), events written with their cause, delivery to a real receiver on
127.0.0.1 signed per Standard Webhooks (verified with the library's verifier),
retries with backoff on the registry's clock, the endpoint disabled after 24
hours of failures, and the feed's stable cursors. Both databases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from api import create_app
from registry.config import Config
from registry.db import session_factory
from registry.notifications.delivery import RETRY_WINDOW, backoff, deliver_pass
from registry.notifications.models import NotificationEvent, WebhookAttempt
from tests.api.driver import Driver, bootstrap_admin, snapshot, t
from tests.api.test_errors_and_health import assert_problem
from tests.api.test_transfers import _block
from tests.conftest import TEST_RATE_LIMIT, TEST_TOKEN_LIFETIME_DAYS
from tests.webhook_receiver import Receiver

TIMEOUT = 0.5


@pytest.fixture
def app(engine, db_url, clock, tmp_path):
    config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem", rate_limit=TEST_RATE_LIMIT,
                    token_max_lifetime_days=TEST_TOKEN_LIFETIME_DAYS, read_rate_limit=TEST_RATE_LIMIT,
                    webhooks_allow_loopback=True, webhook_timeout=TIMEOUT)
    app = create_app(config, clock=clock, engine=engine)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def deliver(engine, clock, *, allow_loopback=True):
    return deliver_pass(session_factory(engine), clock, timeout=TIMEOUT, allow_loopback=allow_loopback)


def _brand(driver, name="Brand Co"):
    participant = driver.participant(name)
    return participant["id"], driver.member(participant["id"])


def _events(driver, token, after=None, **query):
    path = "/events" + ("?" + "&".join(f"{k}={v}" for k, v in {"after": after, **query}.items() if v is not None)
                        if after is not None or query else "")
    response = driver.get(path, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _verify(secret, request):
    return Webhook(secret).verify(request.body, request.headers)


def test_registration_delivery_and_feed(driver, engine, clock, receiver):
    gen = driver.generator()
    brand, brand_token = _brand(driver)
    hook = driver.ok("/webhooks", {"url": receiver.url}, brand_token)
    assert hook["secret"].startswith("whsec_") and hook["enabled"] is True and hook["events"] is None
    listed = driver.get("/webhooks", brand_token).get_json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

    block = _block(driver, gen)
    moved = driver.ok("/transfers", {"serial": block["serial"], "quantity": "40",
                                     "to_participant_id": brand}, gen.token)
    feed = _events(driver, brand_token)
    assert [e["type"] for e in feed["items"]] == ["transfer.received"]
    event = feed["items"][0]
    assert event["data"]["serial"] == moved["moved"]["serial"]
    assert event["data"]["quantity"] == "40.000" and event["data"]["log_index"] == moved["log"]["index"]
    # The sender's own feed has its side of it, and its generation.
    assert [e["type"] for e in _events(driver, gen.token)["items"]] == ["block.generated", "transfer.sent"]

    result = deliver(engine, clock)
    assert result.delivered == 1 and result.sent == 1
    [request] = receiver.received
    assert request.headers["webhook-id"] == event["id"]
    body = _verify(hook["secret"], request)  # the library's verifier: signature and timestamp
    assert body == {"type": "transfer.received", "timestamp": event["timestamp"], "data": event["data"]}
    with pytest.raises(WebhookVerificationError):  # and not with another key
        Webhook(driver.ok("/webhooks", {"url": receiver.url}, brand_token)["secret"]).verify(
            request.body, request.headers)
    attempts = driver.get(f"/webhooks/{hook['id']}/deliveries", brand_token).get_json()["items"]
    assert [(a["event_id"], a["type"], a["attempt"], a["status"], a["response_status"]) for a in attempts] == [
        (event["id"], "transfer.received", 1, "delivered", 204)]
    # Nothing more is due: a second pass sends nothing.
    assert deliver(engine, clock).sent == 0


def test_failures_back_off_on_the_registry_clock_then_recover(driver, engine, clock, receiver):
    brand, token = _brand(driver)
    hook = driver.ok("/webhooks", {"url": receiver.url, "events": ["transfer.received"]}, token)
    gen = driver.generator()
    driver.ok("/transfers", {"serial": _block(driver, gen)["serial"], "quantity": "1",
                             "to_participant_id": brand}, gen.token)
    receiver.mode = "fail"
    assert deliver(engine, clock).failed_attempts == 1
    assert deliver(engine, clock).sent == 0  # not due before its backoff
    clock.set(clock.now() + backoff(1) - timedelta(seconds=1))
    assert deliver(engine, clock).sent == 0
    clock.set(clock.now() + timedelta(seconds=1))
    receiver.mode = "hang"  # longer than the timeout
    receiver.hang_seconds = TIMEOUT * 4
    assert deliver(engine, clock).failed_attempts == 1
    clock.set(clock.now() + backoff(2))
    receiver.mode = "ok"
    assert deliver(engine, clock).delivered == 1
    attempts = driver.get(f"/webhooks/{hook['id']}/deliveries", token).get_json()["items"]
    assert [(a["attempt"], a["status"], a["response_status"]) for a in attempts] == [
        (3, "delivered", 204), (2, "timeout", None), (1, "http_error", 500)]
    assert attempts[2]["next_attempt_at"] is not None
    # Every try carried the same webhook-id, and each was signed afresh.
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1 and len(receiver.received) == 3
    for request in receiver.received:
        _verify(hook["secret"], request)


def test_a_day_of_failures_disables_the_endpoint_and_says_so(driver, engine, clock, receiver):
    brand, token = _brand(driver)
    hook = driver.ok("/webhooks", {"url": receiver.url, "events": ["transfer.received"]}, token)
    other = Receiver().start()
    try:
        told = driver.ok("/webhooks", {"url": other.url, "events": ["webhook.disabled"]}, token)
        gen = driver.generator()
        driver.ok("/transfers", {"serial": _block(driver, gen)["serial"], "quantity": "1",
                                 "to_participant_id": brand}, gen.token)
        receiver.mode = "fail"
        start = clock.now()
        tries = 0
        while True:
            result = deliver(engine, clock)
            tries += result.sent
            if result.endpoints_disabled:
                break
            clock.set(clock.now() + timedelta(hours=7))  # at least every backoff
            assert clock.now() - start < RETRY_WINDOW + timedelta(days=1)
        assert clock.now() - start >= RETRY_WINDOW  # at least 24 hours of retries (R-N1)
        state = driver.get(f"/webhooks/{hook['id']}", token).get_json()
        assert state["enabled"] is False and state["disabled_reason"] == "failing"
        [notice] = [e for e in _events(driver, token)["items"] if e["type"] == "webhook.disabled"]
        assert notice["data"]["webhook_id"] == hook["id"] and notice["data"]["reason"] == "failing"
        # The participant's other endpoint hears of it, signed with its own key.
        deliver(engine, clock)
        [request] = other.received
        assert _verify(told["secret"], request)["type"] == "webhook.disabled"
        # No more tries to the disabled endpoint, and new events are not queued for it.
        before = len(receiver.received)
        clock.set(clock.now() + timedelta(days=1))
        driver.ok("/transfers", {"serial": _block(driver, gen)["serial"], "quantity": "1",
                                 "to_participant_id": brand}, gen.token)
        deliver(engine, clock)
        assert len(receiver.received) == before == tries
        # Enabled again, its pending delivery goes at once (the failed one stays failed).
        receiver.mode = "ok"
        driver.ok(f"/webhooks/{hook['id']}/enable", token=token, status=200)
        assert deliver(engine, clock).sent == 0
    finally:
        other.stop()


def test_deleted_and_disabled_endpoints_get_nothing(driver, engine, clock, receiver):
    brand, token = _brand(driver)
    hook = driver.ok("/webhooks", {"url": receiver.url}, token)
    gen = driver.generator()
    driver.ok(f"/webhooks/{hook['id']}/disable", token=token, status=200)
    driver.ok("/transfers", {"serial": _block(driver, gen)["serial"], "quantity": "1",
                             "to_participant_id": brand}, gen.token)
    assert deliver(engine, clock).sent == 0
    driver.ok(f"/webhooks/{hook['id']}/enable", token=token, status=200)
    driver.ok("/transfers", {"serial": _block(driver, gen)["serial"], "quantity": "1",
                             "to_participant_id": brand}, gen.token)
    receiver.mode = "fail"
    assert deliver(engine, clock).sent == 1  # only the event after enabling
    response = driver.client.delete(f"/api/v1/webhooks/{hook['id']}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    clock.set(clock.now() + timedelta(hours=1))
    assert deliver(engine, clock).sent == 0  # its pending retry was cancelled
    assert_problem(driver.get(f"/webhooks/{hook['id']}", token), 404, "webhook_not_found")
    assert driver.get("/webhooks", token).get_json()["items"] == []


def test_someone_elses_webhook_is_not_found(driver, receiver):
    _, token = _brand(driver)
    _, other = _brand(driver, "Other Brand")
    hook = driver.ok("/webhooks", {"url": receiver.url}, token)
    assert_problem(driver.get(f"/webhooks/{hook['id']}", other), 404, "webhook_not_found")
    assert_problem(driver.get(f"/webhooks/{hook['id']}/deliveries", other), 404, "webhook_not_found")
    assert_problem(driver.post(f"/webhooks/{hook['id']}/disable", None, other), 404, "webhook_not_found")
    assert driver.get(f"/webhooks/{hook['id']}", driver.admin).status_code == 200  # an admin reads
    assert_problem(driver.post("/webhooks", {"url": receiver.url}, driver.admin), 403, "forbidden_role")


@pytest.mark.parametrize(("url", "status", "code"), [
    ("ftp://hooks.example.com/x", 400, "webhook_url_not_https"),
    ("https://user:pw@hooks.example.com/x", 400, "invalid_webhook_url"),
    ("https:///nohost", 400, "invalid_webhook_url"),
    ("https://hooks.example.com:99999/x", 400, "invalid_webhook_url"),
    ("https://10.1.2.3/hook", 422, "webhook_target_refused"),
    ("https://192.168.0.10/hook", 422, "webhook_target_refused"),
    ("https://169.254.169.254/latest/meta-data", 422, "webhook_target_refused"),
    ("https://[fe80::1]/hook", 422, "webhook_target_refused"),
    ("https://[::ffff:10.0.0.1]/hook", 422, "webhook_target_refused"),
    ("https://100.64.0.1/hook", 422, "webhook_target_refused"),
    ("https://0.0.0.0/hook", 422, "webhook_target_refused"),
])
def test_bad_urls_are_refused_and_nothing_is_written(driver, engine, url, status, code):
    _, token = _brand(driver)
    before = snapshot(engine)
    body = assert_problem(driver.post("/webhooks", {"url": url}, token), status, code)
    assert "url" in body["errors"]
    assert snapshot(engine) == before


def test_bad_bodies_are_refused(driver, engine, receiver):
    _, token = _brand(driver)
    before = snapshot(engine)
    assert_problem(driver.post("/webhooks", {"url": receiver.url, "events": ["nope"]}, token), 400,
                   "invalid_event_types")
    assert_problem(driver.post("/webhooks", {"url": receiver.url, "events": []}, token), 400, "invalid_input")
    assert_problem(driver.post("/webhooks", {"url": receiver.url, "secret": "x"}, token), 400, "invalid_input")
    assert_problem(driver.post("/webhooks", {"url": 5}, token), 400, "invalid_input")
    assert snapshot(engine) == before


def test_loopback_and_http_only_in_development(engine, db_url, clock, tmp_path):
    """Without ARCREG_WEBHOOKS_ALLOW_LOOPBACK: http is refused, loopback too (R-N1)."""
    config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem", rate_limit=TEST_RATE_LIMIT,
                    token_max_lifetime_days=TEST_TOKEN_LIFETIME_DAYS, read_rate_limit=TEST_RATE_LIMIT)
    app = create_app(config, clock=clock, engine=engine)
    driver = Driver(app.test_client(), bootstrap_admin(engine, clock))
    assert driver.get("/health").get_json()["webhooks"] == {"allow_loopback": False}
    _, token = _brand(driver)
    before = snapshot(engine)
    assert_problem(driver.post("/webhooks", {"url": "http://127.0.0.1:9/hook"}, token), 400,
                   "webhook_url_not_https")
    for url in ("https://127.0.0.1/hook", "https://[::1]/hook", "https://localhost/hook"):
        assert_problem(driver.post("/webhooks", {"url": url}, token), 422, "webhook_target_refused")
    assert snapshot(engine) == before


def test_delivery_checks_the_target_again(driver, engine, clock, receiver):
    """An endpoint accepted in development is refused at delivery once loopback
    is no longer allowed: nothing is sent, the attempt says why."""
    brand, token = _brand(driver)
    hook = driver.ok("/webhooks", {"url": receiver.url}, token)
    gen = driver.generator()
    driver.ok("/transfers", {"serial": _block(driver, gen)["serial"], "quantity": "1",
                             "to_participant_id": brand}, gen.token)
    assert deliver(engine, clock, allow_loopback=False).failed_attempts == 1
    assert receiver.received == []
    [attempt] = driver.get(f"/webhooks/{hook['id']}/deliveries", token).get_json()["items"]
    assert attempt["status"] == "refused_target"


def test_unresolvable_hosts_are_accepted_and_retried(driver, engine, clock):
    """A .invalid name never resolves (and is never looked up): registration
    accepts it (a name may resolve later; delivery checks again), attempts fail."""
    brand, token = _brand(driver)
    hook = driver.ok("/webhooks", {"url": "https://hooks.arc-demo.invalid/arc"}, token)
    gen = driver.generator()
    driver.ok("/transfers", {"serial": _block(driver, gen)["serial"], "quantity": "1",
                             "to_participant_id": brand}, gen.token)
    deliver(engine, clock)
    [attempt] = driver.get(f"/webhooks/{hook['id']}/deliveries", token).get_json()["items"]
    assert attempt["status"] == "unresolvable" and "RFC 6761" in attempt["error"]


def test_feed_pages_with_stable_cursors(driver, engine, clock):
    brand, token = _brand(driver)
    gen = driver.generator()
    serials = []
    for _ in range(5):
        block = _block(driver, gen, mass=t(1))
        serials.append(driver.ok("/transfers", {"serial": block["serial"], "quantity": "1",
                                               "to_participant_id": brand}, gen.token)["moved"]["serial"])
    first = _events(driver, token, limit=2)
    second = _events(driver, token, after=first["next_cursor"], limit=2)
    third = _events(driver, token, after=second["next_cursor"], limit=2)
    items = first["items"] + second["items"] + third["items"]
    assert [e["data"]["serial"] for e in items] == serials
    # The end of the feed: no items, and the same cursor to poll with.
    end = _events(driver, token, after=third["next_cursor"])
    assert end == {"items": [], "next_cursor": third["next_cursor"]}
    # A cursor gives the same page every time.
    assert _events(driver, token, after=first["next_cursor"], limit=2) == second
    # Refusals: a bad cursor, someone else's feed; an admin names the participant.
    assert_problem(driver.get("/events?after=abc", token), 400, "invalid_cursor")
    assert_problem(driver.get(f"/events?participant_id={gen.id}", token), 403, "not_owner")
    assert_problem(driver.get("/events", driver.admin), 403, "not_owner")
    assert _events(driver, driver.admin, participant_id=brand)["items"] == items
    assert driver.get("/events").status_code == 401


def test_a_refused_write_emits_nothing(driver, engine):
    brand, token = _brand(driver)
    gen = driver.generator()
    block = _block(driver, gen)
    before = _events(driver, token)
    assert_problem(driver.post("/transfers", {"serial": block["serial"], "quantity": "1000",
                                              "to_participant_id": brand}, gen.token), 422, "insufficient_quantity")
    assert _events(driver, token) == before
    with session_factory(engine)() as session:
        assert session.exec(select(NotificationEvent).where(NotificationEvent.participant_id == brand)).all() == []


def test_retirement_expiry_and_reminders(driver, engine, clock):
    """retirement.made; block.expiring 30 and 7 days before the end, once each
    (the daily job, run twice a day); block.expired."""
    from registry.jobs import run_daily_jobs

    gen = driver.generator()
    block = _block(driver, gen)  # generated 2026: the use period ends 2027-12-31
    driver.ok("/retirements", {"serial": block["serial"], "quantity": "10", "beneficiary": "Acme Foods",
                               "claim_type": "general", "reporting_year": 2026}, gen.token)
    assert [e["type"] for e in _events(driver, gen.token)["items"]][-1] == "retirement.made"
    sessions = session_factory(engine)

    def day(text):
        from datetime import UTC, datetime
        clock.set(datetime.fromisoformat(text).replace(tzinfo=UTC))
        run_daily_jobs(sessions, clock)
        run_daily_jobs(sessions, clock)  # a second runner the same day: skipped
        return [e for e in _events(driver, gen.token)["items"] if e["type"] == "block.expiring"]

    assert day("2027-11-30T01:00:00") == []  # 31 days left
    [thirty] = day("2027-12-01T01:00:00")
    assert thirty["data"]["days_before"] == 30 and thirty["data"]["use_period_end"] == "2027-12-31"
    assert thirty["data"]["holdings"] == [{"arc_type": block["arc_type"], "blocks": 1, "quantity": "90.000"}]
    assert len(day("2027-12-02T01:00:00")) == 1  # once
    reminders = day("2027-12-24T01:00:00")
    assert [r["data"]["days_before"] for r in reminders] == [30, 7]
    assert len(day("2027-12-31T01:00:00")) == 2
    day("2028-01-01T01:00:00")
    types = [e["type"] for e in _events(driver, gen.token)["items"]]
    assert types[-1] == "block.expired" and types.count("block.expiring") == 2


def test_reminders_after_downtime_send_the_threshold_that_applies(driver, engine, clock):
    from datetime import UTC, datetime

    from registry.jobs import run_daily_jobs

    gen = driver.generator()
    _block(driver, gen)
    clock.set(datetime(2027, 12, 26, 1, tzinfo=UTC))  # down from before 1 December until 5 days left
    run_daily_jobs(session_factory(engine), clock)
    reminders = [e for e in _events(driver, gen.token)["items"] if e["type"] == "block.expiring"]
    assert [r["data"]["days_before"] for r in reminders] == [7]


def test_certificate_suspension_tells_its_holder_and_the_disputed_blocks_holders(driver, engine, clock):
    gen = driver.generator()
    brand, token = _brand(driver)
    block = _block(driver, gen)
    driver.ok("/transfers", {"serial": block["serial"], "quantity": "30", "to_participant_id": brand}, gen.token)
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-01-01", "reason": "audit finding"},
              gen.certifier, status=200)
    gen_types = [e["type"] for e in _events(driver, gen.token)["items"]]
    assert "certificate.suspended" in gen_types and "block.disputed" in gen_types
    assert "block.disputed" in [e["type"] for e in _events(driver, token)["items"]]


def test_the_secret_is_sealed_in_an_idempotent_replay(driver, engine, receiver):
    _, token = _brand(driver)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "hook-1"}
    first = driver.client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=headers)
    again = driver.client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=headers)
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json() == again.get_json()
    from sqlalchemy import text as sql
    with engine.connect() as connection:
        stored = connection.execute(sql("SELECT body FROM idempotency_record")).scalar_one()
    assert first.get_json()["secret"] not in stored


def test_attempts_are_recorded_before_sending(driver, engine, clock, receiver):
    """An attempt is written as ``sending`` before the request leaves; one left so
    by a dead worker is marked ``interrupted`` by the next pass and sent again."""
    from registry.notifications import delivery

    brand, token = _brand(driver)
    driver.ok("/webhooks", {"url": receiver.url}, token)
    gen = driver.generator()
    driver.ok("/transfers", {"serial": _block(driver, gen)["serial"], "quantity": "1",
                             "to_participant_id": brand}, gen.token)
    sessions = session_factory(engine)
    [job] = delivery.claim(sessions, clock)  # a worker claims, then dies before recording
    with sessions() as session:
        assert session.get(WebhookAttempt, job.attempt_id).status == "sending"
    result = deliver(engine, clock)
    assert result.recovered == 1 and result.delivered == 1
    with sessions() as session:
        statuses = [a.status for a in session.exec(select(WebhookAttempt).order_by(WebhookAttempt.id))]
    assert statuses == ["interrupted", "delivered"]
    assert json.loads(receiver.received[0].body)["type"] == "transfer.received"


def test_two_workers_deliver_each_event_once(driver, engine, db_url, clock, receiver):
    """Two workers racing turn after turn (each its own engine): the lock lets
    one deliver at a time, so no event is sent twice (R-N1)."""
    from registry.db import make_engine
    from registry.notifications.worker import DeliveryWorker
    from tests.threads import Worker, finish

    brand, token = _brand(driver)
    driver.ok("/webhooks", {"url": receiver.url}, token)
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(12))
    driver.sell(gen.token, lot["id"], t(12))
    for _ in range(12):
        serial = driver.generate(gen.token, lot["id"], mass=t(1))["serial"]
        driver.ok("/transfers", {"serial": serial, "quantity": "1", "to_participant_id": brand}, gen.token)
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        workers = [DeliveryWorker(e, clock, timeout=TIMEOUT, allow_loopback=True) for e in engines]

        def turns(worker):
            for _ in range(20):
                worker.run_once()

        threads = [Worker(turns, w, name=f"deliverer-{i}") for i, w in enumerate(workers)]
        for thread in threads:
            thread.start()
        finish(threads, timeout=120)
        for worker in workers:
            worker.stop()
    finally:
        for e in engines:
            e.dispose()
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 12 and len(set(ids)) == 12
