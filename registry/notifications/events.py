"""The one place events are written (R-N1, R-N2): ``emit``.

A service calls ``emit`` in the transaction of the change it announces, after
that change's log entry, so the event commits or rolls back with its cause
(R-X3): it is never lost, and never sent for a write that rolled back. The
event is the outbox row; ``emit`` also queues one delivery per enabled
endpoint of the participant that wants the type.

Stable cursors (R-N2): ``emit`` takes the log's append lock (a service has
already taken it by appending its entry; the reminders job takes it here), and
the lock is held until commit. So event ids are given out in commit order: a
reader that saw event n will never later find a new event below n.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import chainlog.store
from sqlmodel import select

from registry.db import UnitOfWork
from registry.lockorder import log_locked, note_log_locked
from registry.notifications.models import NotificationEvent, WebhookDelivery, WebhookEndpoint

#: An event's data, or a function that gives it once the caller's rows are flushed.
Data = dict | Callable[[], dict]
_PENDING = "arcreg.pending_events"

# The event types (SPEC §13.1 "Webhooks"). Offers' types are emitted by the offers service.
TRANSFER_RECEIVED = "transfer.received"
TRANSFER_SENT = "transfer.sent"
RETIREMENT_MADE = "retirement.made"
BLOCK_GENERATED = "block.generated"
BLOCK_EXPIRING = "block.expiring"
BLOCK_EXPIRED = "block.expired"
BLOCK_FORFEITED = "block.forfeited"
BLOCK_CANCELLED = "block.cancelled"
BLOCK_DISPUTED = "block.disputed"
BLOCK_DISPUTE_DECIDED = "block.dispute_decided"
CERTIFICATE_SUSPENDED = "certificate.suspended"
CERTIFICATE_REINSTATED = "certificate.reinstated"
CERTIFICATE_REVOKED = "certificate.revoked"
WEBHOOK_DISABLED = "webhook.disabled"
OFFER_TYPES = ("offer.pending", "offer.accepted", "offer.rejected", "offer.withdrawn", "offer.lapsed")
CUSTODY_CREDIT_EXPIRING = "custody.credit_expiring"

TYPES = (
    TRANSFER_RECEIVED, TRANSFER_SENT, RETIREMENT_MADE, BLOCK_GENERATED, BLOCK_EXPIRING, BLOCK_EXPIRED,
    BLOCK_FORFEITED, BLOCK_CANCELLED, BLOCK_DISPUTED, BLOCK_DISPUTE_DECIDED, CERTIFICATE_SUSPENDED,
    CERTIFICATE_REINSTATED, CERTIFICATE_REVOKED, WEBHOOK_DISABLED, *OFFER_TYPES, CUSTODY_CREDIT_EXPIRING,
)

#: The log entry types that take a whole block out of circulation (``blocks.end_block``) and the
#: event each one is announced as.
ENDED = {
    "block.expired": BLOCK_EXPIRED,
    "block.forfeited": BLOCK_FORFEITED,
    "block.cancelled": BLOCK_CANCELLED,
    "block.dispute_cancelled": BLOCK_CANCELLED,
}


def emit(uow: UnitOfWork, participant_id: int, type: str, data: dict, *,
         log_index: int | None = None, once_key: str | None = None) -> NotificationEvent | None:
    """Write one event for ``participant_id`` in the caller's transaction and
    queue its deliveries. ``once_key``: at most one event with that key per
    participant, ever (a reminder); returns None when it exists already."""
    _hold_append_lock(uow)
    if once_key is not None:
        taken = select(NotificationEvent.id).where(NotificationEvent.participant_id == participant_id,
                                                   NotificationEvent.once_key == once_key)
        if uow.session.exec(taken).first() is not None:
            return None
    return emit_all(uow, [(participant_id, type, data)], log_index=log_index, once_key=once_key)[0]


def emit_many(uow: UnitOfWork, participant_ids: Iterable[int], type: str, data: dict, *,
              log_index: int | None = None) -> None:
    """The same event for several participants (each once)."""
    emit_all(uow, [(p, type, data) for p in sorted(set(participant_ids))], log_index=log_index)


def emit_all(uow: UnitOfWork, notices: list[tuple[int, str, Data]], *, log_index: int | None = None,
             once_key: str | None = None) -> list[NotificationEvent]:
    """Events (participant, type, data) of one change, written in one flush with one look-up of the
    endpoints that want them: a transfer's two events cost two round trips, not six (table 1).
    ``data`` may be a function, called after the caller's rows are flushed (a new row's id). Inside
    ``deferred`` the events wait for the end of the bulk request and nothing is returned."""
    for _, type, _ in notices:
        if type not in TYPES:
            raise ValueError(f"unknown event type {type!r}")  # a programming error, never a user's
    pending = uow.session.info.get(_PENDING)
    if pending is not None and once_key is None:
        pending.extend((participant_id, type, data, log_index) for participant_id, type, data in notices)
        return []
    return _write(uow, [(participant_id, type, data, log_index) for participant_id, type, data in notices],
                  once_key)


@contextmanager
def deferred(uow: UnitOfWork) -> Iterator[None]:
    """A bulk request's events (R-T7): collected while its items run and written together at the end,
    in item order, with one flush and one look-up of endpoints, instead of two round trips per item.
    Same transaction, same append lock: nothing changes for a reader (R-N2)."""
    uow.session.info[_PENDING] = pending = []
    try:
        yield
    finally:
        uow.session.info.pop(_PENDING, None)
    if pending:
        _write(uow, pending)


def _write(uow: UnitOfWork, notices: list[tuple[int, str, Data, int | None]],
           once_key: str | None = None) -> list[NotificationEvent]:
    _hold_append_lock(uow)
    session, now = uow.session, uow.clock.now()
    if any(callable(data) for _, _, data, _ in notices):
        session.flush()  # the rows the data names
    events = [NotificationEvent(participant_id=participant_id, type=type, data=data() if callable(data) else data,
                                log_index=log_index, once_key=once_key, created_at=now)
              for participant_id, type, data, log_index in notices]
    session.add_all(events)
    session.flush()  # their ids: given out under the append lock
    endpoints = _enabled_endpoints(uow, {e.participant_id for e in events})
    for event in events:
        for endpoint in endpoints.get(event.participant_id, ()):
            if endpoint.events is None or event.type in endpoint.events:
                session.add(WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id, next_attempt_at=now,
                                            created_at=now))
    return events


def _hold_append_lock(uow: UnitOfWork) -> None:
    """Event ids in commit order (stable cursors, R-N2): under the log's append lock, which a service
    that appended its entry holds already (then no statement is needed)."""
    if not log_locked(uow):
        chainlog.store.hold_append_lock(uow.session)
        note_log_locked(uow)


def _enabled_endpoints(uow: UnitOfWork, participant_ids: set[int]) -> dict[int, list[WebhookEndpoint]]:
    found: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in uow.session.exec(select(WebhookEndpoint).where(
            WebhookEndpoint.participant_id.in_(sorted(participant_ids)), WebhookEndpoint.enabled.is_(True),
            WebhookEndpoint.deleted_at.is_(None)).order_by(WebhookEndpoint.id)):
        found.setdefault(endpoint.participant_id, []).append(endpoint)
    return found


def event_json(event: NotificationEvent) -> dict:
    """The event as the feed shows it and as a delivery's body carries it (minus ``id``)."""
    return {"id": public_id(event.id), "type": event.type, "timestamp": event.created_at, "data": event.data}


def public_id(event_id: int) -> str:
    """The event's id in the feed and its deliveries' ``webhook-id`` header."""
    return f"evt_{event_id}"
