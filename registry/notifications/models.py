"""Webhook endpoints, the event outbox, deliveries and attempts (R-N1, R-N2; migration 0021).

None of these is registry state a page, proof, statement or rule reads: an
event is a notice *about* a log entry (it carries the entry's index), and an
endpoint is account configuration (docs/decisions.md, "Webhooks ... 2026-12-06").
So they are written without log entries and are not compared with the replay.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint
from sqlmodel import JSON, Column, Field, SQLModel

from registry.sqltypes import UTCDateTime


def _instant(nullable: bool = False) -> Field:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class WebhookEndpoint(SQLModel, table=True):
    """A participant's HTTPS endpoint and its Standard Webhooks secret (R-N1)."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    url: str = Field(max_length=2000)
    # The ``whsec_…`` key: the registry signs with it, so it is kept as given (shown once).
    secret: str = Field(max_length=100)
    # Event types delivered; None: every type.
    events: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    enabled: bool = True
    # Why the endpoint is disabled: "by_participant" or "failing" (retries exhausted).
    disabled_reason: str | None = Field(default=None, max_length=40)
    disabled_at: datetime | None = _instant(nullable=True)
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _instant()
    # Deleted endpoints are kept (their attempts stay readable by the operator); never delivered to.
    deleted_at: datetime | None = _instant(nullable=True)


class NotificationEvent(SQLModel, table=True):
    """One event for one participant: the outbox row written in its cause's
    transaction (R-N1) and the feed's item (R-N2). ``id`` is the feed's cursor
    and the deliveries' ``webhook-id``; ids are given out under the log's append
    lock, so they grow in commit order (``registry.notifications.events``)."""

    __tablename__ = "notification_event"
    __table_args__ = (
        Index("ix_notification_event_participant", "participant_id", "id"),
        # "once each" (use-period reminders): a reminder's key may occur once per participant.
        UniqueConstraint("participant_id", "once_key", name="uq_notification_event_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id")
    type: str = Field(max_length=60)
    data: dict = Field(sa_column=Column(JSON, nullable=False))
    # The log entry that caused it, when one did.
    log_index: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    once_key: str | None = Field(default=None, max_length=100)
    created_at: datetime = _instant()


class WebhookDelivery(SQLModel, table=True):
    """One event to one endpoint: pending until delivered, failed when its
    retries are exhausted, cancelled when its endpoint is deleted."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_delivery_event_endpoint"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="notification_event.id")
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True)
    status: str = Field(default="pending", max_length=16)  # pending | delivered | failed | cancelled
    attempts: int = 0
    next_attempt_at: datetime = _instant()
    # Retries go on until this instant at least (24 hours after the first try, R-N1).
    retry_until: datetime | None = _instant(nullable=True)
    created_at: datetime = _instant()
    finished_at: datetime | None = _instant(nullable=True)


class WebhookAttempt(SQLModel, table=True):
    """Every attempt, as the participant sees it (R-N1): written as ``sending``
    before the request goes out, so an attempt cut short by a crash is recorded
    too (``interrupted``)."""

    __tablename__ = "webhook_attempt"
    # Recovery looks for attempts left "sending" on every pass.
    __table_args__ = (Index("ix_webhook_attempt_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", index=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True)
    event_id: int = Field(foreign_key="notification_event.id")
    attempt: int
    # sending | delivered | http_error | timeout | network_error | unresolvable | refused_target | interrupted
    status: str = Field(max_length=20)
    response_status: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = _instant()
    # The registry-clock instant of the next try after a failure (None when delivered or given up).
    next_attempt_at: datetime | None = _instant(nullable=True)
