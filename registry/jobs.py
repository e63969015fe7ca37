"""The daily jobs: offer lapse (R-T6), expiry (R-E2), removal (R-E4), the expiry of custody
credit not drawn within 12 months (R-M4), the purge of old Idempotency-Key records (R-T5),
use-period reminders and custody credit reminders (R-N1), each run exactly once per UTC day.

Exactly once, across any number of server processes and ``arcreg run-jobs``
invocations: a job's first transaction INSERTs its ``JobRun`` row for
(name, today) and commits it together with the job's changes. A second
runner finds the row and skips; one racing it blocks on the unique index
until the first commits, then gets an IntegrityError and skips too (or, if
the first rolled back, inserts and runs it itself). A failed run leaves no
claim, so the next trigger (start-up, midnight, ``run-jobs``) retries.

Expiry works in batches of ``BATCH`` blocks per transaction: every append
holds the chain log's lock until commit, and one transaction expiring a whole
year's blocks would stall every API write at 00:00 on 1 January. The claim
commits with the first batch; later batches follow in their own
transactions. If one fails, the claim is withdrawn so a later trigger
finishes the work (the job only ever touches blocks still active, so it
resumes where it stopped). If the process dies between batches, the rest
is expired by the next day's run; until then every write path refuses those
blocks anyway (R-E2: correctness never waits for the scheduler).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlmodel import delete, select

from registry import lockorder
from registry.actors import SYSTEM
from registry.clock import Clock
from registry.custody.reminders import run_credit_reminders
from registry.custody.periods import run_credit_expiry
from registry.db import UnitOfWork
from registry.expiry import run_expiry
from registry.idempotency import purge_expired
from registry.models import JobRun
from registry.notifications.reminders import run_reminders
from registry.offers.lapse import run_lapse
from registry.removal import run_removal

log = logging.getLogger("arcreg.jobs")

BATCH = 1000


class Job(NamedTuple):
    name: str
    step: Callable[[UnitOfWork], dict]
    batched: bool = False  # the step handles at most BATCH items; call it until it does less


def _expiry_step(uow: UnitOfWork) -> dict:
    return run_expiry(uow, limit=BATCH)


def _lapse_step(uow: UnitOfWork) -> dict:
    return run_lapse(uow, limit=BATCH)


def _credit_expiry_step(uow: UnitOfWork) -> dict:
    return run_credit_expiry(uow, SYSTEM, limit=BATCH)


def _purge_step(uow: UnitOfWork) -> dict:
    return {"purged": purge_expired(uow)}


# Expiry before removal: a block past its use period is expired (R-E1), not
# forfeited, whatever happened to its generator.
# Offers lapse before expiry: an offer past its lapse date whose block is still in its
# use period returns to the sender; one whose block's period is over is expiry's (R-T6).
JOBS = (
    Job("offer-lapse", _lapse_step, batched=True),
    Job("expiry", _expiry_step, batched=True),
    Job("removal", run_removal),
    Job("custody-credit-expiry", _credit_expiry_step, batched=True),  # R-M4
    Job("idempotency-purge", _purge_step),
    # R-N1: 30 and 7 days before a use period ends (after expiry: an expired block is not reminded of).
    Job("use-period-reminders", run_reminders),
    # R-M4, R-N1: custody credit that expires within 30 days (after the expiry of what is due today).
    Job("custody-credit-reminders", run_credit_reminders),
)


def run_daily_jobs(session_factory, clock: Clock, jobs: tuple[Job, ...] = JOBS) -> dict:
    """Run each job for ``clock.today()`` unless already done today. Returns
    ``{name: {"status": "ran" | "skipped" | "failed", ...counts}}``; a failing
    job is logged and does not stop the others."""
    results = {}
    for job in jobs:
        try:
            results[job.name] = _run(session_factory, clock, job)
        except Exception as exc:  # the scheduler thread must survive any failure
            log.exception("daily job %s failed", job.name)
            results[job.name] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    return results


def _claim(uow: UnitOfWork, name: str) -> JobRun | None:
    """The day's JobRun row, inserted in ``uow``; None when already claimed."""
    day = uow.clock.today()
    taken = select(JobRun.id).where(JobRun.name == name, JobRun.day == day)
    if uow.session.exec(taken).first() is not None:
        return None
    run = JobRun(name=name, day=day, ran_at=uow.clock.now(), summary={})
    uow.session.add(run)
    try:
        uow.flush()  # PostgreSQL: waits here while a racing claim is uncommitted
    except IntegrityError:
        return None  # the other runner committed first; ours rolls back on exit
    return run


def _run(session_factory, clock: Clock, job: Job) -> dict:
    with UnitOfWork(session_factory, clock) as uow:
        lockorder.checked(uow)  # R-X5: one job step per transaction
        run = _claim(uow, job.name)
        if run is None:
            return {"status": "skipped"}
        run_id, summary = run.id, job.step(uow)
        run.summary = summary
        uow.commit()
    last = summary
    try:
        while job.batched and sum(last.values()) >= BATCH:  # a full batch: there may be more
            with UnitOfWork(session_factory, clock) as uow:
                lockorder.checked(uow)
                last = job.step(uow)
                summary = {k: summary.get(k, 0) + last.get(k, 0) for k in summary | last}
                uow.session.get(JobRun, run_id).summary = summary
                uow.commit()
    except Exception:
        _withdraw_claim(session_factory, clock, run_id)
        raise
    log.info("daily job %s for %s: %s", job.name, clock.today(), summary)
    return {"status": "ran", **summary}


def _withdraw_claim(session_factory, clock: Clock, run_id: int) -> None:
    """A later batch failed: let the next trigger finish the job today."""
    try:
        with UnitOfWork(session_factory, clock) as uow:
            uow.session.exec(delete(JobRun).where(JobRun.id == run_id))
            uow.commit()
    except Exception:
        log.exception("could not withdraw the claim of job run %s", run_id)
