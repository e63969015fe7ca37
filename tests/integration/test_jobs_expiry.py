"""The expiry job (R-E1, R-E2, RMS 8.7.4, 8.8.4.1) and the daily job runner,
on SQLite and PostgreSQL: a registry built through the API, the job run
against the same database."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlmodel import select

import chainlog.store
from api.scheduler import SCHEDULER, start_scheduler, stop_scheduler
from registry import jobs
from registry.db import session_factory
from registry.jobs import Job, run_daily_jobs
from registry.models import JobRun
from tests.api.driver import snapshot, t
from tests.api.test_errors_and_health import assert_problem

LAST_DAY = datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC)  # generated 2026: last day of use (R-E1)
FIRST_DAY_AFTER = datetime(2028, 1, 1, 0, 0, tzinfo=UTC)


def _block(driver, gen, mass=t(10)) -> dict:
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=mass)
    driver.sell(gen.token, lot["id"], mass)
    return driver.generate(gen.token, lot["id"])


def _entries(engine, event_type: str) -> list:
    with session_factory(engine)() as session:
        return [e for e in chainlog.store.iter_entries(session) if e.type == event_type]


def _state(driver, serial: str) -> str:
    return driver.get(f"/blocks/{serial}").get_json()["state"]


def _runs(engine) -> list[tuple[str, str]]:
    with session_factory(engine)() as session:
        return sorted((r.name, r.day.isoformat()) for r in session.exec(select(JobRun)))


def _registry(driver):
    """Blocks generated in 2026 in every state that matters: held by the
    generator, split by a transfer (parent, moved part, remainder), retired."""
    gen = driver.generator()
    brand = driver.participant("Brand Co")
    kept = _block(driver, gen)
    parent = _block(driver, gen)
    moved = driver.ok("/transfers", {"serial": parent["serial"], "quantity": "4.000",
                                     "to_participant_id": brand["id"]}, gen.token)
    retired = _block(driver, gen)
    driver.ok("/retirements", {"serial": retired["serial"], "quantity": retired["quantity"],
                               "beneficiary": "Brand Co", "claim_type": "general", "reporting_year": 2026},
              gen.token)
    active = [kept, moved["moved"], moved["remainder"]]
    return gen, brand, active, parent, retired


def test_blocks_expire_on_the_first_day_after_the_use_period(driver, engine, clock):
    gen, brand, active, parent, retired = _registry(driver)
    sessions = session_factory(engine)

    clock.set(LAST_DAY)
    result = run_daily_jobs(sessions, clock)
    assert result["expiry"] == {"status": "ran", "expired": 0}
    assert all(_state(driver, b["serial"]) == "active" for b in active)

    clock.set(FIRST_DAY_AFTER)
    last_links = {b["serial"]: driver.get(f"/blocks/{b['serial']}").get_json()["log"] for b in active}
    result = run_daily_jobs(sessions, clock)
    assert result["expiry"] == {"status": "ran", "expired": 3}
    for block in active:
        assert _state(driver, block["serial"]) == "expired"
    assert _state(driver, parent["serial"]) == "split"  # history stays history
    assert _state(driver, retired["serial"]) == "retired"  # RMS 8.8.3: retirement is final

    entries = _entries(engine, "block.expired")
    assert sorted(e.payload["serial"] for e in entries) == sorted(last_links)  # one entry per block
    for entry in entries:
        assert entry.actor == "system" and entry.payload["state"] == "expired"
        assert entry.payload["use_period_end"] == "2027-12-31"
        assert entry.payload["prev"] == last_links[entry.payload["serial"]]  # R-L2b
        stamped = driver.get(f"/blocks/{entry.payload['serial']}").get_json()["log"]
        assert stamped == {"index": entry.index, "leaf_hash": entry.leaf_hash.hex()}

    # Idempotent: a second run the same day does nothing at all.
    before = snapshot(engine)
    again = run_daily_jobs(sessions, clock)
    names = ("offer-lapse", "expiry", "removal", "custody-credit-expiry", "idempotency-purge", "use-period-reminders",
             "custody-credit-reminders")
    assert again == {name: {"status": "skipped"} for name in names}
    assert snapshot(engine) == before
    assert _runs(engine) == sorted((name, day) for name in names
                                   for day in ("2027-12-31", "2028-01-01"))
    # The next day it runs again and finds nothing more to expire.
    clock.set(datetime(2028, 1, 2, tzinfo=UTC))
    assert run_daily_jobs(sessions, clock)["expiry"] == {"status": "ran", "expired": 0}


def test_write_paths_refuse_an_out_of_period_block_before_the_job_ran(driver, engine, clock):
    gen = driver.generator()
    brand = driver.participant("Brand Co")
    block = _block(driver, gen)
    clock.set(FIRST_DAY_AFTER)
    before = snapshot(engine)
    transfer = {"serial": block["serial"], "quantity": "1.000", "to_participant_id": brand["id"]}
    assert_problem(driver.post("/transfers", transfer, gen.token), 422, "outside_use_period")
    retirement = {"serial": block["serial"], "quantity": "1.000", "beneficiary": "Brand Co",
                  "claim_type": "general", "reporting_year": 2027}
    assert_problem(driver.post("/retirements", retirement, gen.token), 422, "outside_use_period")
    assert snapshot(engine) == before
    assert _state(driver, block["serial"]) == "active"  # the job has not run: still refused


def test_expiry_works_in_batches_under_one_claim(driver, engine, clock, monkeypatch):
    gen = driver.generator()
    blocks = [_block(driver, gen, t(2)) for _ in range(5)]
    monkeypatch.setattr(jobs, "BATCH", 2)  # 2 + 2 + 1: three transactions
    clock.set(FIRST_DAY_AFTER)
    result = run_daily_jobs(session_factory(engine), clock)
    assert result["expiry"] == {"status": "ran", "expired": 5}
    assert all(_state(driver, b["serial"]) == "expired" for b in blocks)
    assert len(_entries(engine, "block.expired")) == 5
    with session_factory(engine)() as session:
        runs = list(session.exec(select(JobRun).where(JobRun.name == "expiry")))
    assert [(r.day.isoformat(), r.summary) for r in runs] == [("2028-01-01", {"expired": 5})]


def _failing(calls: list, fail_on: int):
    def step(uow):
        calls.append(1)
        if len(calls) == fail_on:
            raise RuntimeError("disk full")
        return jobs.run_expiry(uow, limit=jobs.BATCH)
    return step


@pytest.mark.parametrize("fail_on", [1, 2], ids=["first-batch", "later-batch"])
def test_a_failed_run_leaves_no_claim_and_the_next_trigger_finishes(driver, engine, clock, monkeypatch,
                                                                    fail_on):
    gen = driver.generator()
    blocks = [_block(driver, gen, t(2)) for _ in range(3)]
    monkeypatch.setattr(jobs, "BATCH", 2)
    clock.set(FIRST_DAY_AFTER)
    sessions = session_factory(engine)
    calls: list = []
    flaky = (Job("expiry", _failing(calls, fail_on), batched=True),)

    result = run_daily_jobs(sessions, clock, flaky)
    assert result["expiry"]["status"] == "failed" and "disk full" in result["expiry"]["error"]
    assert _runs(engine) == []  # no claim: the job is not done for today
    # A failed first batch rolled back entirely; a failed later batch keeps
    # what earlier batches committed, each block with its entry.
    expired = [b for b in blocks if _state(driver, b["serial"]) == "expired"]
    assert len(expired) == (0 if fail_on == 1 else 2) == len(_entries(engine, "block.expired"))

    result = run_daily_jobs(sessions, clock, flaky)
    assert result["expiry"] == {"status": "ran", "expired": 3 - len(expired)}
    assert all(_state(driver, b["serial"]) == "expired" for b in blocks)
    assert len(_entries(engine, "block.expired")) == 3
    assert _runs(engine) == [("expiry", "2028-01-01")]


def test_one_failing_job_does_not_stop_the_others(engine, clock):
    def broken(uow):
        raise RuntimeError("boom")

    result = run_daily_jobs(session_factory(engine), clock,
                            (Job("broken", broken), *jobs.JOBS))
    assert result["broken"]["status"] == "failed"
    assert {name: r["status"] for name, r in result.items() if name != "broken"} == {
        "offer-lapse": "ran", "expiry": "ran", "removal": "ran", "custody-credit-expiry": "ran",
        "idempotency-purge": "ran", "use-period-reminders": "ran",
        "custody-credit-reminders": "ran"}


def test_the_app_factory_starts_no_scheduler(app):
    # Only `arcreg serve`/`demo` schedule jobs (Config.run_scheduler): tests never get a thread.
    assert SCHEDULER not in app.extensions
    assert not any(thread.name == "APScheduler" for thread in threading.enumerate())


@pytest.mark.wallclock  # APScheduler plans the next run on the real clock
def test_scheduler_catches_up_at_start_and_then_fires_at_midnight_utc(app, driver, engine, clock):
    block = _block(driver, driver.generator())
    clock.set(FIRST_DAY_AFTER)
    scheduler = start_scheduler(app)
    try:
        assert start_scheduler(app) is scheduler  # once per process
        deadline = time.monotonic() + 20
        while len(_runs(engine)) < 3 and time.monotonic() < deadline:  # all three jobs done
            time.sleep(0.1)
        assert _state(driver, block["serial"]) == "expired"  # the start-up run
        (job,) = scheduler.get_jobs()
        next_run = job.next_run_time.astimezone(UTC)
        assert (next_run.hour, next_run.minute, next_run.second) == (0, 0, 0)
        assert next_run > datetime.now(UTC)
    finally:
        stop_scheduler(app)
    assert not scheduler.running and SCHEDULER not in app.extensions
