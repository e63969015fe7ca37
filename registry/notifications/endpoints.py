"""Webhook endpoints: registration, listing, disabling, deletion, attempts (R-N1).

Account configuration, not registry state: no log entry (docs/decisions.md).
A participant's members manage its endpoints; an administrator may read them.
Someone else's endpoint is 404, as if it did not exist (R-X4).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import select, update

from registry.actors import Actor, require_role
from registry.db import UnitOfWork
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound
from registry.holdings import MAX_LIMIT
from registry.notifications.events import TYPES
from registry.notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from registry.notifications.targets import check_for_registration

MAX_ENDPOINTS = 10  # per participant
SECRET_BYTES = 24


@dataclass(frozen=True)
class Registered:
    """The new endpoint and its secret, shown this once."""

    endpoint: WebhookEndpoint
    secret: str
    holds_secret = True  # an Idempotency-Key replay of this response is sealed (api/auth.py)


def new_secret() -> str:
    """A Standard Webhooks key: ``whsec_`` and the base64 of random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


def _check_events(events) -> list[str] | None:
    if events is None:
        return None
    if not events:
        raise InvalidInput("events lists at least one type (leave it out for every type)", field="events",
                           code="invalid_event_types")
    unknown = sorted({e for e in events if e not in TYPES})
    if unknown:
        raise InvalidInput(f"unknown event types: {', '.join(unknown)}; known: {', '.join(TYPES)}",
                           field="events", code="invalid_event_types", rule="R-N1")
    return list(dict.fromkeys(events))


def register(uow: UnitOfWork, actor: Actor, *, url: str, events: list[str] | None = None,
             allow_loopback: bool = False) -> Registered:
    """R-N1: a participant's member registers an endpoint for its participant's events."""
    require_role(actor, "member")
    if actor.participant_id is None:
        raise Forbidden("only a participant's member registers webhooks", code="forbidden_role", rule="R-N1")
    events = _check_events(events)
    check_for_registration(url, allow_loopback=allow_loopback)
    count = uow.session.exec(select(func.count()).select_from(WebhookEndpoint).where(
        WebhookEndpoint.participant_id == actor.participant_id, WebhookEndpoint.deleted_at.is_(None))).one()
    if count >= MAX_ENDPOINTS:
        raise Conflict(f"a participant has at most {MAX_ENDPOINTS} webhook endpoints", field="url",
                       code="too_many_webhooks", rule="R-N1")
    secret = new_secret()
    endpoint = WebhookEndpoint(participant_id=actor.participant_id, url=url, secret=secret, events=events,
                               enabled=True, created_by=actor.user_id, created_at=uow.clock.now())
    uow.session.add(endpoint)
    uow.flush()
    return Registered(endpoint, secret)


def get_endpoint(uow: UnitOfWork, actor: Actor, endpoint_id: int, *, lock: bool = False) -> WebhookEndpoint:
    query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.deleted_at.is_(None))
    if lock:
        query = query.with_for_update()
    endpoint = uow.session.exec(query).first()
    if endpoint is None or not actor.acts_for(endpoint.participant_id):
        raise NotFound(f"no webhook {endpoint_id}", code="webhook_not_found")
    return endpoint


def list_endpoints(uow: UnitOfWork, actor: Actor, *, participant_id: int | None = None) -> list[WebhookEndpoint]:
    participant_id = participant_id if participant_id is not None else actor.participant_id
    if participant_id is None or not actor.acts_for(participant_id):
        raise Forbidden("you may list only your own participant's webhooks", code="not_owner", rule="R-P4")
    return list(uow.session.exec(select(WebhookEndpoint).where(
        WebhookEndpoint.participant_id == participant_id, WebhookEndpoint.deleted_at.is_(None))
        .order_by(WebhookEndpoint.id)))


def _require_member(actor: Actor, endpoint: WebhookEndpoint) -> None:
    if actor.role != "member":  # an administrator reads, the participant decides
        raise Forbidden("only the participant's members change its webhooks", code="forbidden_role",
                        rule="R-N1")


def set_enabled(uow: UnitOfWork, actor: Actor, endpoint_id: int, *, enabled: bool) -> WebhookEndpoint:
    """Disable (nothing is sent; new events are not queued for it) or enable it
    again: its pending deliveries are tried at once, with a fresh retry window."""
    endpoint = get_endpoint(uow, actor, endpoint_id, lock=True)
    _require_member(actor, endpoint)
    now = uow.clock.now()
    if enabled and not endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = True, None, None
        uow.session.exec(update(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
            .values(next_attempt_at=now, retry_until=None))
    elif not enabled and endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = False, "by_participant", now
    uow.flush()
    return endpoint


def delete(uow: UnitOfWork, actor: Actor, endpoint_id: int) -> None:
    """Delete an endpoint: nothing more is sent to it; its pending deliveries are cancelled."""
    endpoint = get_endpoint(uow, actor, endpoint_id, lock=True)
    _require_member(actor, endpoint)
    now = uow.clock.now()
    endpoint.deleted_at, endpoint.enabled = now, False
    uow.session.exec(update(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
        .values(status="cancelled", finished_at=now))
    uow.flush()


@dataclass(frozen=True)
class AttemptPage:
    items: list[dict]
    next_cursor: str | None


def attempts(uow: UnitOfWork, actor: Actor, endpoint_id: int, *, limit: int = 100,
             cursor: str | None = None) -> AttemptPage:
    """Every attempt to the endpoint, newest first (R-N1: each attempt is visible)."""
    from registry.notifications.events import public_id
    from registry.notifications.models import NotificationEvent

    endpoint = get_endpoint(uow, actor, endpoint_id)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit", code="out_of_range")
    query = (select(WebhookAttempt, NotificationEvent.type)
             .join(NotificationEvent, NotificationEvent.id == WebhookAttempt.event_id)
             .where(WebhookAttempt.endpoint_id == endpoint.id))
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 18:
            raise InvalidInput("cursor is not one this list gave", field="cursor", code="invalid_cursor")
        query = query.where(WebhookAttempt.id < int(cursor))
    rows = list(uow.session.exec(query.order_by(WebhookAttempt.id.desc()).limit(limit + 1)))
    items = [{"event_id": public_id(a.event_id), "type": type_, "attempt": a.attempt, "status": a.status,
              "at": a.at, "response_status": a.response_status, "error": a.error,
              "next_attempt_at": a.next_attempt_at} for a, type_ in rows[:limit]]
    next_cursor = str(rows[limit - 1][0].id) if len(rows) > limit else None
    return AttemptPage(items, next_cursor)
