"""R-G4, R-X3: a write and its chain-log entries are one transaction, proven
by injected failure (issue 21, item 7), on SQLite and PostgreSQL.

For generation, transfer, retirement (through the HTTP API) and expiry
(through the daily job runner), an exception is raised

- ``after_append``: once the write's last log entry has been appended
  (`chainlog.store.append` runs for real, then raises), and
- ``before_commit``: once everything was written — the session flushed,
  state and entries sent to the database — just before the commit
  (`UnitOfWork.commit` flushes for real, then raises).

Inside the failing transaction the test sees the state change and the new
entries (so the failure really comes after them); afterwards every table and
the log are exactly as before, verification (`arcreg verify`'s
`verify_registry`) passes, and the same write, retried without the fault,
commits. (Custody writes are not covered: the registry has none yet.)
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, func, select

import chainlog.store
from registry.db import UnitOfWork
from registry.jobs import JOBS, run_daily_jobs
from tests.api.driver import snapshot, t
from tests.api.test_errors_and_health import assert_problem
from tests.integration.test_replay_rules import Log


class InjectedFailure(RuntimeError):
    pass


def _row_counts(connection) -> dict[str, int]:
    """Rows per table, and blocks per state (as "block:<state>")."""
    metadata = MetaData()
    metadata.reflect(connection)
    counts = {name: connection.execute(select(func.count()).select_from(table)).scalar()
              for name, table in metadata.tables.items() if name != "alembic_version"}
    block = metadata.tables["block"]
    for state, n in connection.execute(select(block.c.state, func.count()).group_by(block.c.state)):
        counts[f"block:{state}"] = n
    return counts


class Fault:
    """Raises InjectedFailure at one point of the write path, once, recording
    what the failing transaction itself could see at that moment."""

    def __init__(self, monkeypatch, point: str, appends: int) -> None:
        self.point, self.appends, self.fired = point, appends, False
        self.in_transaction: dict | None = None
        self.log_size_in_transaction: int | None = None
        if point == "after_append":
            real_append = chainlog.store.append
            seen = []

            def append(conn, **kwargs):
                appended = real_append(conn, **kwargs)
                seen.append(appended.index)
                if len(seen) == self.appends and not self.fired:
                    conn.flush()  # the pending state changes too: what commit would send
                    self._fire(conn.connection())
                return appended

            monkeypatch.setattr(chainlog.store, "append", append)
        else:
            real_commit = UnitOfWork.commit

            def commit(uow):
                if self.fired:
                    return real_commit(uow)
                uow.session.flush()
                self._fire(uow.session.connection())

            monkeypatch.setattr(UnitOfWork, "commit", commit)

    def _fire(self, connection) -> None:
        self.fired = True
        self.in_transaction = _row_counts(connection)
        self.log_size_in_transaction = chainlog.store.size(connection)
        raise InjectedFailure(f"injected {self.point}")


# --- the writes ----------------------------------------------------------------------------


def _holding(driver, gen, mass=t(10)) -> dict:
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=mass)
    driver.sell(gen.token, lot["id"], mass)
    return driver.generate(gen.token, lot["id"])


def _api_write(path):
    def write(driver, setup):
        body, token = setup
        response = driver.post(path, body, token)
        if response.status_code >= 500:
            assert_problem(response, 500, "internal_error")
            return False
        assert response.status_code == 201, response.get_data(as_text=True)
        return True
    return write


def _generation_setup(driver, clock):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    driver.sell(gen.token, lot["id"], t(10))
    return ({"lot_id": lot["id"], "mass": t(4)}, gen.token), 1


def _transfer_setup(driver, clock):
    gen = driver.generator()
    block = _holding(driver, gen)
    buyer = driver.participant("Brand Co")["id"]
    return ({"serial": block["serial"], "quantity": "2.500", "to_participant_id": buyer}, gen.token), 1


def _retirement_setup(driver, clock):
    gen = driver.generator()
    block = _holding(driver, gen)
    return ({"serial": block["serial"], "quantity": "2.500", "beneficiary": "Brand Co",
             "claim_type": "general", "reporting_year": 2026}, gen.token), 1


def _expiry_setup(driver, clock):
    gen = driver.generator()
    for mass in (t(1), t(2), t(3)):
        _holding(driver, gen, mass)
    clock.set(datetime(2028, 1, 2, 0, 30, tzinfo=UTC))  # generated in 2026: use period over (R-E1)
    return None, 3


def _expiry_write(driver, setup):
    state = driver.client.application.extensions["arcreg"]
    expiry = tuple(job for job in JOBS if job.name == "expiry")
    result = run_daily_jobs(state.sessions, state.clock, expiry)["expiry"]
    if result["status"] == "failed":
        assert "InjectedFailure" in result["error"]
        return False
    assert result == {"status": "ran", "expired": 3}, result
    return True


# What each write changes, as row counts: (table or "block:<state>", rows added).
WRITES = {
    # notification_event: the events (R-N1) commit and roll back with their cause.
    "generation": (_generation_setup, _api_write("/generations"),
                   {"block": 1, "block:active": 1, "notification_event": 1}),
    "transfer": (_transfer_setup, _api_write("/transfers"),
                 {"block": 2, "block:split": 1, "block:active": 1, "notification_event": 2}),
    "retirement": (_retirement_setup, _api_write("/retirements"),
                   {"block": 2, "block:split": 1, "block:retired": 1, "retirement": 1, "notification_event": 1}),
    "expiry": (_expiry_setup, _expiry_write,
               {"block:expired": 3, "block:active": -3, "job_run": 1, "notification_event": 3}),
}


@pytest.mark.parametrize("point", ["after_append", "before_commit"])
@pytest.mark.parametrize("write", list(WRITES))
def test_a_failure_after_the_write_leaves_neither_state_nor_entry(write, point, driver, engine, app, clock,
                                                                  monkeypatch):
    setup_write, do_write, changes = WRITES[write]
    setup, appends = setup_write(driver, clock)
    log = Log(app, engine)
    log.assert_verifies()  # signs a checkpoint over the setup: nothing left to sign later
    before = snapshot(engine)
    size = len(log.entries())
    with engine.connect() as connection:
        counts_before = _row_counts(connection)

    fault = Fault(monkeypatch, point, appends)
    assert do_write(driver, setup) is False
    assert fault.fired
    # The failure came after the write: its own transaction held the change and its entries ...
    assert fault.log_size_in_transaction == size + appends
    expected = {**{k: counts_before.get(k, 0) + n for k, n in changes.items()},
                "log_entries": counts_before["log_entries"] + appends}
    # The retirement record and the events carry their entry's index: they are written after the append.
    later = {"retirement", "notification_event"} if point == "after_append" else set()
    assert {k: fault.in_transaction.get(k, 0) for k in expected if k not in later} == \
        {k: n for k, n in expected.items() if k not in later}
    # ... and none of it remains.
    assert snapshot(engine) == before
    assert len(log.entries()) == size
    log.assert_verifies()

    monkeypatch.undo()  # the same write without the fault commits, entries and all
    assert do_write(driver, setup) is True
    assert len(log.entries()) == size + appends
    with engine.connect() as connection:
        after = _row_counts(connection)
    assert {k: after.get(k, 0) for k in expected} == expected
    log.assert_verifies()
