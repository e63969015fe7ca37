"""The daily custody credit-expiry job (R-M4, with R-E2's runner: once per UTC
day across processes, catching up at start-up), on SQLite and PostgreSQL, the
clock pinned: credit received on D and never drawn expires on D + 12 months as
one logged ``custody.credit_expired`` entry per account, dated that day even
when the job runs later; the balance a reader sees never changes because of it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from api.scheduler import start_scheduler, stop_scheduler
from registry.db import session_factory
from registry.jobs import run_daily_jobs
from tests.api.custody_driver import book
from tests.api.driver import t
from tests.api.test_errors_and_health import assert_problem
from tests.api.test_participant_details import verify
from tests.integration.test_jobs_expiry import _entries, _runs


def _at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T00:00:00+00:00").astimezone(UTC)


def test_unused_credit_expires_twelve_months_after_receipt(driver, engine, clock, db_url, tmp_path):
    b = book(driver)
    account = b.open(starts_on="2025-03-01")["id"]
    b.receive(account, "2025-03-10", t(5), "RMS 100% PC MB")
    b.receive(account, "2025-06-01", t(2), "RMS 100% PC MB")
    assert b.output(account, "2025-07-01", t(1), "RMS 100% PC MB").status_code == 201  # FIFO: 1 t of the first
    sessions = session_factory(engine)

    clock.set(_at("2026-03-09"))
    assert run_daily_jobs(sessions, clock)["custody-credit-expiry"] == {"status": "ran", "credit_expired": 0}
    assert _entries(engine, "custody.credit_expired") == []

    clock.set(_at("2026-03-10"))
    shown = b.balance(account, "2026-03-10")
    assert shown["credit_kg"]["PC"] == "2000.000"  # the reader never waits for the job
    assert run_daily_jobs(sessions, clock)["custody-credit-expiry"] == {"status": "ran", "credit_expired": 1}
    [entry] = _entries(engine, "custody.credit_expired")
    assert entry.actor == "system"
    assert entry.payload == {"account": account, "on": "2026-03-10",
                             "expired_kg": {"PC": "4000.000", "PI": "0.000", "R": "0.000"}}
    assert b.balance(account, "2026-03-10") == shown
    # Once a day: a second run (another process, arcreg run-jobs) does nothing.
    assert run_daily_jobs(sessions, clock)["custody-credit-expiry"] == {"status": "skipped"}
    # The book is kept in date order: the expiry is its latest event.
    assert_problem(b.output(account, "2026-03-09", t(1)), 422, "out_of_order")
    assert b.output(account, "2026-03-10", t(2), "RMS 100% PC MB").status_code == 201
    assert verify(driver, engine, db_url, tmp_path).ok


@pytest.mark.wallclock  # APScheduler plans its runs on the real clock
def test_a_late_run_dates_the_expiry_on_the_day_the_credit_expired(app, driver, engine, clock, db_url, tmp_path):
    """Downtime: the start-up catch-up (api.scheduler) expires what came due while the registry was down."""
    b = book(driver)
    accounts = [b.open(starts_on="2025-03-01")["id"] for _ in range(2)]
    b.receive(accounts[0], "2025-03-05", t(3), "RMS 100% PC MB")
    b.receive(accounts[1], "2025-03-06", t(1), "RMS 50% PC MB")
    b.receive(accounts[1], "2025-03-07", t(1), certified=False)  # no credit: nothing to expire

    clock.set(_at("2026-03-20"))
    scheduler = start_scheduler(app)
    try:
        deadline = time.monotonic() + 20
        while ("custody-credit-expiry", "2026-03-20") not in _runs(engine) and time.monotonic() < deadline:
            time.sleep(0.1)  # the start-up run
    finally:
        stop_scheduler(app)
    got = {e.payload["account"]: (e.payload["on"], e.payload["expired_kg"]["PC"])
           for e in _entries(engine, "custody.credit_expired")}
    assert got == {accounts[0]: ("2026-03-05", "3000.000"), accounts[1]: ("2026-03-06", "500.000")}
    assert verify(driver, engine, db_url, tmp_path).ok


def _credit_notices(driver, token) -> list[dict]:
    items = driver.get("/events", token).get_json()["items"]
    return [e["data"] for e in items if e["type"] == "custody.credit_expiring"]


def test_credit_about_to_expire_is_announced_once_per_expiry_date(driver, engine, clock):
    """R-M4, R-N1: 30 days before undrawn credit expires, the holder is told what expires when;
    once per account and first expiry date, and not for credit already drawn."""
    b = book(driver)
    account = b.open(starts_on="2025-03-01")["id"]
    b.receive(account, "2025-03-10", t(5), "RMS 100% PC MB")  # expires 2026-03-10
    b.receive(account, "2025-04-20", t(2), "RMS 100% PC MB")  # expires 2026-04-20
    assert b.output(account, "2025-07-01", t(1), "RMS 100% PC MB").status_code == 201  # FIFO: 1 t of the first
    sessions = session_factory(engine)

    clock.set(_at("2026-02-07"))  # 31 days before the first expiry: nothing yet
    assert run_daily_jobs(sessions, clock)["custody-credit-reminders"] == {"status": "ran", "reminded": 0}
    clock.set(_at("2026-02-08"))
    assert run_daily_jobs(sessions, clock)["custody-credit-reminders"] == {"status": "ran", "reminded": 1}
    assert _credit_notices(driver, b.token) == [{
        "account_id": account, "product_group": "PP resin", "days": 30, "kg": "4000.000",
        "expiring": [{"on": "2026-03-10", "kg": "4000.000"}]}]
    clock.set(_at("2026-02-09"))  # the same first expiry date: no second notice
    assert run_daily_jobs(sessions, clock)["custody-credit-reminders"] == {"status": "ran", "reminded": 0}

    # The rest of the first receipt's credit is drawn (4 t): the next notice is the second receipt's,
    # 30 days before it expires.
    clock.set(_at("2026-03-01"))
    drawn = b.output(account, "2026-03-01", t(4), "RMS 100% PC MB")
    assert drawn.status_code == 201, drawn.get_data(as_text=True)
    clock.set(_at("2026-03-21"))
    assert run_daily_jobs(sessions, clock)["custody-credit-reminders"] == {"status": "ran", "reminded": 1}
    assert _credit_notices(driver, b.token)[-1] == {
        "account_id": account, "product_group": "PP resin", "days": 30, "kg": "2000.000",
        "expiring": [{"on": "2026-04-20", "kg": "2000.000"}]}
