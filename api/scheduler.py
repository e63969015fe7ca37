"""The daily jobs on a timer, inside each served worker (R-E2, R-E4).

APScheduler 3 ``BackgroundScheduler`` in UTC: a cron trigger at 00:00 UTC
every day, plus one run at start-up that catches up after downtime. Every
gunicorn worker has its own scheduler, so several fire at once; the JobRun
claim in ``registry.jobs`` makes the work happen once per day regardless.
Only ``arcreg serve``/``demo`` turn it on (``Config.run_scheduler``): the
application factory alone, as tests use it, never starts a thread.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from api.context import EXTENSION
from registry.checkpoint_signing import EagerSigner
from registry.jobs import run_daily_jobs
from registry.notifications.worker import DeliveryWorker

log = logging.getLogger("arcreg.scheduler")

SCHEDULER = "arcreg.scheduler"
SIGNER = "arcreg.checkpoint_signer"
WEBHOOKS = "arcreg.webhook_worker"


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """Start the app's scheduler (once per process) and return it."""
    existing = app.extensions.get(SCHEDULER)
    if existing is not None:
        return existing
    state = app.extensions[EXTENSION]

    def daily() -> None:
        results = run_daily_jobs(state.sessions, state.clock)
        log.info("daily jobs for %s: %s", state.clock.today(), results)

    scheduler = BackgroundScheduler(timezone=UTC)
    # One job: first run now (the catch-up), then at every 00:00 UTC.
    # coalesce + one instance: after a long stall, one run, never two at once.
    scheduler.add_job(daily, CronTrigger(hour=0, minute=0, timezone=UTC), id="daily-jobs",
                      next_run_time=datetime.now(UTC), coalesce=True, max_instances=1,
                      misfire_grace_time=3600)
    scheduler.start()
    app.extensions[SCHEDULER] = scheduler
    return scheduler


def start_signer(app: Flask) -> EagerSigner:
    """Start the app's eager checkpoint signer (once per process, R-L4b): every
    worker runs one, and one of them at a time signs (`SignerLock`)."""
    existing = app.extensions.get(SIGNER)
    if existing is not None:
        return existing
    state = app.extensions[EXTENSION]
    signer = EagerSigner(state.engine, state.signer, state.config.log_origin, state.clock).start()
    app.extensions[SIGNER] = signer
    return signer


def start_webhooks(app: Flask) -> DeliveryWorker:
    """Start the app's webhook delivery worker (once per process, R-N1): every
    worker runs one, and one of them at a time delivers (its database lock)."""
    existing = app.extensions.get(WEBHOOKS)
    if existing is not None:
        return existing
    state = app.extensions[EXTENSION]
    worker = DeliveryWorker(state.engine, state.clock, sessions=state.sessions,
                            timeout=state.config.webhook_timeout,
                            allow_loopback=state.config.webhooks_allow_loopback).start()
    app.extensions[WEBHOOKS] = worker
    return worker


def stop_scheduler(app: Flask) -> None:
    """Stop firing; a job already running is left to finish or, if the process
    exits first, its open transaction rolls back (R-X3). The eager signer and the
    webhook worker stop too (an attempt cut short is sent again, R-N1)."""
    scheduler = app.extensions.pop(SCHEDULER, None)
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)
    signer = app.extensions.pop(SIGNER, None)
    if signer is not None:
        signer.stop(timeout=2)
    worker = app.extensions.pop(WEBHOOKS, None)
    if worker is not None:
        worker.stop(timeout=2)
