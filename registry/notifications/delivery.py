"""Delivering the outbox (R-N1): one pass of the webhook worker.

A pass, run by one process at a time (``worker.DeliveryWorker`` holds the
lock), does three things, each in short transactions of its own:

1. *Recover*: attempts still ``sending`` belong to a worker that died mid-request
   (kill -9, a crash): they become ``interrupted`` and their deliveries are due
   at once — the event is sent again with the same ``webhook-id`` (at least once).
2. *Claim* the due deliveries (oldest due first, at most ``batch``): each gets
   its attempt row, ``sending``, committed before anything goes on the wire.
3. *Send* them (a few at a time, each with a short timeout) and *record* each
   outcome: delivered; or the next try after an exponential backoff; or, when
   the retry window (at least 24 hours from the first try) is over, the delivery
   failed, the endpoint is disabled (``failing``) and the participant is told by
   a ``webhook.disabled`` event (in its feed and at its other endpoints).

Backoff and the window run on the registry's clock (``registry.clock``), so
tests move time; the ``webhook-timestamp`` header is the machine's time of sending.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import select

from registry.clock import Clock
from registry.db import UnitOfWork
from registry.notifications import transport
from registry.notifications.events import WEBHOOK_DISABLED, emit, public_id
from registry.notifications.models import NotificationEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from registry.notifications.targets import parse_url

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)
#: R-N1: failures are retried for at least this long after the first try.
RETRY_WINDOW = timedelta(hours=24)
BATCH = 50
CONCURRENCY = 8
DEFAULT_TIMEOUT = 5.0


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt ``attempt`` (1, 2, …): 30 s, doubling, at
    most 6 hours — 14 attempts over the first 24 hours (docs/decisions.md)."""
    return min(FIRST_RETRY * (2 ** (attempt - 1)), LONGEST_WAIT) if attempt < 20 else LONGEST_WAIT


def body_of(event: NotificationEvent) -> str:
    """The request body, ``{type, timestamp, data}`` (SPEC §13.1)."""
    stamp = event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event.type, "timestamp": stamp, "data": event.data}, separators=(",", ":"),
                      ensure_ascii=False)


@dataclass(frozen=True)
class Job:
    attempt_id: int
    delivery_id: int
    endpoint_id: int
    url: str
    secret: str
    msg_id: str
    body: str


@dataclass
class PassResult:
    recovered: int = 0
    sent: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    endpoints_disabled: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def due_count(session_factory, clock: Clock) -> int:
    """How many deliveries are due now (a cheap look before taking the lock;
    pass read-only sessions, so that on SQLite it takes no write lock)."""
    with UnitOfWork(session_factory, clock) as uow:
        return uow.session.exec(_due_query(clock.now(), count=True)).one()


def interrupted_count(session_factory, clock: Clock) -> int:
    """Attempts left ``sending`` (by a worker that died, if nobody holds the lock)."""
    with UnitOfWork(session_factory, clock) as uow:
        return uow.session.exec(select(func.count()).select_from(WebhookAttempt)
                                .where(WebhookAttempt.status == "sending")).one()


def _due_query(now: datetime, *, count: bool = False, limit: int = BATCH):
    columns = (func.count(),) if count else (WebhookDelivery, WebhookEndpoint, NotificationEvent)
    query = (select(*columns).select_from(WebhookDelivery)
             .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
             .join(NotificationEvent, NotificationEvent.id == WebhookDelivery.event_id)
             .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                    WebhookEndpoint.enabled.is_(True), WebhookEndpoint.deleted_at.is_(None)))
    if count:
        return query
    return query.order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)


def recover(session_factory, clock: Clock) -> int:
    """Attempts left ``sending`` by a worker that died: ``interrupted``, and due again now.
    Only the lock holder calls this, so no live worker owns them."""
    with UnitOfWork(session_factory, clock) as uow:
        now = clock.now()
        stale = list(uow.session.exec(select(WebhookAttempt).where(WebhookAttempt.status == "sending")))
        for attempt in stale:
            attempt.status = "interrupted"
            attempt.error = "the worker stopped during this attempt; sent again"
            delivery = uow.session.get(WebhookDelivery, attempt.delivery_id)
            if delivery.status == "pending":
                delivery.next_attempt_at = now
                attempt.next_attempt_at = now
        uow.commit()
        return len(stale)


def claim(session_factory, clock: Clock, *, batch: int = BATCH) -> list[Job]:
    """The due deliveries, each with its new ``sending`` attempt, committed."""
    with UnitOfWork(session_factory, clock) as uow:
        now = clock.now()
        claimed = []
        for delivery, endpoint, event in uow.session.exec(_due_query(now, limit=batch)).all():
            delivery.attempts += 1
            if delivery.retry_until is None:
                delivery.retry_until = now + RETRY_WINDOW
            attempt = WebhookAttempt(delivery_id=delivery.id, endpoint_id=endpoint.id, event_id=event.id,
                                     attempt=delivery.attempts, status="sending", at=now)
            uow.session.add(attempt)
            claimed.append((attempt, delivery, endpoint, event))
        uow.flush()  # the attempts' ids, in one flush
        jobs = [Job(attempt.id, delivery.id, endpoint.id, endpoint.url, endpoint.secret, public_id(event.id),
                    body_of(event)) for attempt, delivery, endpoint, event in claimed]
        uow.commit()
        return jobs


def _send(job: Job, *, timeout: float, allow_loopback: bool) -> transport.Outcome:
    try:
        target = parse_url(job.url, allow_loopback=allow_loopback)
    except Exception as exc:  # noqa: BLE001 - e.g. an http URL once loopback is no longer allowed
        return transport.Outcome("refused_target", error=str(getattr(exc, "detail", exc)))
    return transport.send(target, secret=job.secret, msg_id=job.msg_id, body=job.body, timeout=timeout,
                          allow_loopback=allow_loopback)


def record(session_factory, clock: Clock, results: list[tuple[Job, transport.Outcome]],
           summary: PassResult) -> None:
    """Write the outcomes of a batch in one transaction."""
    with UnitOfWork(session_factory, clock) as uow:
        now = clock.now()
        session = uow.session
        attempts = {a.id: a for a in session.exec(select(WebhookAttempt).where(
            WebhookAttempt.id.in_([job.attempt_id for job, _ in results])))}
        deliveries = {d.id: d for d in session.exec(select(WebhookDelivery).where(
            WebhookDelivery.id.in_([job.delivery_id for job, _ in results])))}
        for job, outcome in results:
            attempt, delivery = attempts[job.attempt_id], deliveries[job.delivery_id]
            attempt.status, attempt.response_status, attempt.error = outcome.status, outcome.response_status, \
                outcome.error
            summary.sent += 1
            if delivery.status != "pending":  # cancelled (endpoint deleted) while we were sending
                continue
            if outcome.ok:
                delivery.status, delivery.finished_at = "delivered", now
                summary.delivered += 1
                continue
            summary.failed_attempts += 1
            if now >= delivery.retry_until:
                delivery.status, delivery.finished_at = "failed", now
                summary.given_up += 1
                summary.endpoints_disabled += _disable_failing(uow, job.endpoint_id, delivery, now)
            else:
                delivery.next_attempt_at = attempt.next_attempt_at = now + backoff(delivery.attempts)
        uow.commit()


def _disable_failing(uow: UnitOfWork, endpoint_id: int, delivery: WebhookDelivery, now: datetime) -> int:
    """R-N1: retries exhausted — disable the endpoint and tell the participant."""
    endpoint = uow.session.get(WebhookEndpoint, endpoint_id)
    if not endpoint.enabled or endpoint.deleted_at is not None:
        return 0
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = False, "failing", now
    uow.flush()
    emit(uow, endpoint.participant_id, WEBHOOK_DISABLED, {
        "webhook_id": endpoint.id, "url": endpoint.url, "reason": "failing",
        "detail": f"every attempt to deliver event {public_id(delivery.event_id)} failed for "
                  f"{int(RETRY_WINDOW.total_seconds() // 3600)} hours ({delivery.attempts} attempts); "
                  "nothing more is sent until the endpoint is enabled again",
        "attempts": delivery.attempts})
    return 1


def deliver_pass(session_factory, clock: Clock, *, timeout: float = DEFAULT_TIMEOUT,
                 allow_loopback: bool = False, batch: int = BATCH, concurrency: int = CONCURRENCY,
                 until_idle: bool = True, read_sessions=None) -> PassResult:
    """Recover, then claim, send and record batches until nothing is due
    (or one batch when ``until_idle`` is False). The caller holds the lock."""
    stale = interrupted_count(read_sessions or session_factory, clock)
    summary = PassResult(recovered=recover(session_factory, clock) if stale else 0)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="arcreg-webhook") as pool:
        while True:
            jobs = claim(session_factory, clock, batch=batch)
            if not jobs:
                break
            outcomes = list(pool.map(lambda j: _send(j, timeout=timeout, allow_loopback=allow_loopback), jobs))
            record(session_factory, clock, list(zip(jobs, outcomes, strict=True)), summary)
            if not until_idle or len(jobs) < batch:
                break
    return summary
