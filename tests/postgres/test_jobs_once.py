"""The daily jobs run exactly once per UTC day on PostgreSQL, however many
processes race for them (R-E2: "runs once even when several server
processes are up"): real `arcreg run-jobs` processes, and the claim's
blocking behaviour between two real connections."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlmodel import select

from registry.clock import FrozenClock
from registry.db import UnitOfWork, session_factory
from registry.jobs import _claim
from registry.models import JobRun
from tests.integration.test_jobs_processes import assert_done_exactly_once, generate_blocks, race

DAY = FrozenClock(datetime(2028, 1, 1, 0, 0, 30, tzinfo=UTC))


def test_racing_processes_run_each_job_once(pg_driver, pg_url, pg_wide_engine):
    serials = generate_blocks(pg_driver, 60)
    assert_done_exactly_once(pg_wide_engine, serials, race(pg_url, 5))


def _claim_in_thread(engine, outcome: dict) -> threading.Thread:
    def claim():
        with UnitOfWork(session_factory(engine), DAY) as uow:
            run = _claim(uow, "expiry")
            outcome["claimed"] = run is not None
            if run is not None:
                uow.commit()
    thread = threading.Thread(target=claim)
    thread.start()
    return thread


def _wait_until_blocked(engine) -> None:
    """Until the other connection waits on the unique index (a lock wait)."""
    with engine.connect() as connection:
        for _ in range(200):
            waiting = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()").scalar()
            connection.rollback()  # pg_stat_activity is a per-transaction snapshot
            if waiting:
                return
            threading.Event().wait(0.05)
    raise AssertionError("the second claim never waited for the first")


def _runs(engine) -> int:
    with session_factory(engine)() as session:
        return len(list(session.exec(select(JobRun))))


def test_a_racing_claim_waits_then_skips_when_the_first_commits(pg_wide_engine):
    with UnitOfWork(session_factory(pg_wide_engine), DAY) as first:
        assert _claim(first, "expiry") is not None
        outcome: dict = {}
        thread = _claim_in_thread(pg_wide_engine, outcome)
        _wait_until_blocked(pg_wide_engine)
        assert outcome == {}  # still waiting: the first claim is undecided
        first.commit()
    thread.join(timeout=30)
    assert outcome == {"claimed": False} and _runs(pg_wide_engine) == 1


def test_a_racing_claim_takes_over_when_the_first_fails(pg_wide_engine):
    with UnitOfWork(session_factory(pg_wide_engine), DAY) as first:
        assert _claim(first, "expiry") is not None
        outcome: dict = {}
        thread = _claim_in_thread(pg_wide_engine, outcome)
        _wait_until_blocked(pg_wide_engine)
        # leaving without commit: the first run failed, its claim rolls back
    thread.join(timeout=30)
    assert outcome == {"claimed": True} and _runs(pg_wide_engine) == 1
