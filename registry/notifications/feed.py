"""The event feed (R-N2): ``GET /events?after=CURSOR``.

The same events the webhooks deliver, for clients that cannot receive them.
The cursor is the last event's id: ids are given out in commit order
(``events.emit``), so a cursor never skips an event committed later.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from registry.actors import Actor
from registry.db import UnitOfWork
from registry.errors import Forbidden, InvalidInput
from registry.holdings import MAX_LIMIT
from registry.notifications.events import event_json
from registry.notifications.models import NotificationEvent


@dataclass(frozen=True)
class FeedPage:
    items: list[dict]
    next_cursor: str  # where the next read starts: the last item's, or the given cursor when none came


def parse_cursor(after: str | None) -> int:
    if after is None or after == "":
        return 0
    if not after.isdigit() or len(after) > 18:
        raise InvalidInput("after is a cursor this feed gave (next_cursor)", field="after", code="invalid_cursor",
                           rule="R-N2")
    return int(after)


def read_events(uow: UnitOfWork, actor: Actor, *, after: str | None = None, limit: int = 100,
                participant_id: int | None = None) -> FeedPage:
    """The participant's events after the cursor, oldest first. Members read
    their own participant's; an administrator names the participant."""
    participant_id = participant_id if participant_id is not None else actor.participant_id
    if participant_id is None or not actor.acts_for(participant_id):
        raise Forbidden("you may read only your own participant's events", code="not_owner", rule="R-N2")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit", code="out_of_range")
    start = parse_cursor(after)
    rows = list(uow.session.exec(select(NotificationEvent).where(
        NotificationEvent.participant_id == participant_id, NotificationEvent.id > start)
        .order_by(NotificationEvent.id).limit(limit)))
    next_cursor = str(rows[-1].id) if rows else str(start)
    return FeedPage([event_json(e) for e in rows], next_cursor)
