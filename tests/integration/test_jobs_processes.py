"""The daily jobs as they run in production: `arcreg run-jobs` processes
racing each other, and `arcreg serve` catching up at start-up (R-E2, SPEC
§13.2). Real processes against the test's database, SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import time

import pytest
from sqlmodel import select

import chainlog.store
from registry.db import session_factory
from registry.models import Block, JobRun
from tests.api.driver import t
from tests.serverproc import ARCREG, call, clean_env, serving

AFTER_USE_PERIOD = "2028-01-01T00:00:30Z"  # generated 2026 (the driver's clock): expired now
JOB_NAMES = ("offer-lapse", "expiry", "removal", "custody-credit-expiry", "idempotency-purge", "use-period-reminders",
             "custody-credit-reminders")


def generate_blocks(driver, count: int) -> list[str]:
    """``count`` blocks of 1 certificate, generated in 2026 from one lot."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(count))
    driver.sell(gen.token, lot["id"], t(count))
    return [driver.generate(gen.token, lot["id"], mass=t(1))["serial"] for _ in range(count)]


def start_run_jobs(db_url: str, clock_setting: str = AFTER_USE_PERIOD, cwd=None) -> subprocess.Popen:
    env = clean_env(ARCREG_DATABASE_URL=db_url, ARCREG_CLOCK=clock_setting)
    return subprocess.Popen([ARCREG, "run-jobs"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def race(db_url: str, processes: int) -> list[str]:
    """Start ``processes`` run-jobs commands together; their outputs, all exit 0."""
    started = [start_run_jobs(db_url) for _ in range(processes)]
    outputs = []
    for process in started:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(out)
    return outputs


def assert_done_exactly_once(engine, serials: list[str], outputs: list[str]) -> None:
    """One JobRun per job for the day, one run reported, one entry per block."""
    for name in JOB_NAMES:
        assert sum(f"  {name}: ran" in out for out in outputs) == 1, outputs
        assert sum(f"  {name}: skipped" in out for out in outputs) == len(outputs) - 1, outputs
    with session_factory(engine)() as session:
        runs = sorted((r.name, r.day.isoformat()) for r in session.exec(select(JobRun)))
        assert runs == sorted((name, "2028-01-01") for name in JOB_NAMES)
        expired = [e.payload["serial"] for e in chainlog.store.iter_entries(session)
                   if e.type == "block.expired"]
        states = {b.serial: b.state for b in session.exec(select(Block))}
    assert sorted(expired) == sorted(serials)  # exactly one entry per block
    assert all(states[s] == "expired" for s in serials)
    assert sum(f"expired {len(serials)})" in out for out in outputs) == 1


def test_run_jobs_command(driver, db_url, engine):
    serials = generate_blocks(driver, 2)
    process = start_run_jobs(db_url, "2027-12-31T23:59:59Z")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert out.splitlines() == ["daily jobs for 2027-12-31:", "  offer-lapse: ran (lapsed 0)",
                                "  expiry: ran (expired 0)",
                                "  removal: ran (removed 0, forfeited 0)",
                                "  custody-credit-expiry: ran (credit_expired 0)",
                                "  idempotency-purge: ran (purged 0)",
                                # R-N1: the holder's 7-day reminder (the use period ends today)
                                "  use-period-reminders: ran (reminded 1)",
                                "  custody-credit-reminders: ran (reminded 0)",
                                "  webhooks: nothing due"]

    out = race(db_url, 1)[0]
    assert out.splitlines()[:3] == ["daily jobs for 2028-01-01:", "  offer-lapse: ran (lapsed 0)",
                                    "  expiry: ran (expired 2)"]
    again = race(db_url, 1)[0]  # idempotent: the day's jobs are done
    assert again.splitlines()[1:] == [f"  {name}: skipped" for name in JOB_NAMES] + ["  webhooks: nothing due"]
    with session_factory(engine)() as session:
        assert {session.get(Block, s).state for s in serials} == {"expired"}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_two_processes_on_sqlite_run_each_job_once(driver, db_url, engine, backend):
    serials = generate_blocks(driver, 30)
    assert_done_exactly_once(engine, serials, race(db_url, 2))


def test_run_jobs_refuses_an_unmigrated_database(tmp_path):
    process = start_run_jobs(f"sqlite:///{tmp_path / 'empty.db'}", cwd=tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and "arcreg db upgrade" in err and "Traceback" not in err


@pytest.mark.slow
def test_serve_runs_the_catch_up_job_at_start_up(driver, db_url, tmp_path):
    serials = generate_blocks(driver, 3)
    env = {"ARCREG_DATABASE_URL": db_url, "ARCREG_CLOCK": AFTER_USE_PERIOD,
           "ARCREG_SIGNING_KEY_FILE": str(tmp_path / "serve-key.pem")}
    with serving(tmp_path, env, workers=2, log_path=tmp_path / "serve.log") as (base, _process):
        deadline = time.monotonic() + 20
        states = set()
        while time.monotonic() < deadline:
            states = {call("GET", f"{base}/api/v1/blocks/{s}")[1]["state"] for s in serials}
            if states == {"expired"}:
                break
            time.sleep(0.2)
        assert states == {"expired"}, (tmp_path / "serve.log").read_text()
    log = (tmp_path / "serve.log").read_text()
    assert log.count("daily job expiry for 2028-01-01: {'expired': 3}") == 1  # one worker ran it
    assert "Traceback" not in log
