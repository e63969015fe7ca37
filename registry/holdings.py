"""Reading holdings: block lists with filters and pages, and per-participant
totals (SPEC §9, §13)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import select

from registry.actors import Actor
from registry.db import UnitOfWork
from registry.errors import Forbidden, InvalidInput
from registry.models import Block
from registry.participants import read_participant
from registry.sqltypes import Milli

STATES = ("active", "offered", "retired", "expired", "forfeited", "cancelled")  # offered: R-T6
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("not a cursor from this API", field="cursor", code="invalid_cursor") from None


def blocks_query(uow: UnitOfWork, actor: Actor, *, owner: int | None = None, state: str | None = None,
                 arc_type: str | None = None, year: int | None = None, columns: tuple = ()):
    """The SELECT of a block list (R-P4 checked here), unordered and unpaged:
    ``list_blocks`` pages it, the CSV export streams it (R-N3). With
    ``columns``, only those (plain rows, no ORM objects)."""
    if owner is None:
        if not actor.is_admin:
            owner = actor.participant_id
            if owner is None:  # a certifier holds nothing and may not list everyone's (R-P4)
                raise Forbidden("you may list only your own participant's blocks", code="not_owner",
                                rule="R-P4")
    if owner is not None and not actor.acts_for(owner):
        raise Forbidden("you may list only your own participant's blocks", code="not_owner", rule="R-P4")
    if state is not None and state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}", field="state", code="invalid_choice")
    query = (select(*columns) if columns else select(Block)).where(Block.state != "split")
    if owner is not None:
        query = query.where(Block.owner_id == owner)
    if state is not None:
        query = query.where(Block.state == state)
    if arc_type is not None:
        query = query.where(Block.arc_type == arc_type)
    if year is not None:
        query = query.where(Block.generation_year == year)
    return query


def list_blocks(uow: UnitOfWork, actor: Actor, *, owner: int | None = None, state: str | None = None,
                arc_type: str | None = None, year: int | None = None, limit: int = 100,
                cursor: str | None = None) -> Page:
    """Blocks by owner, state, ARC type and generation year, ordered by
    serial. Members see their own participant's; admins anyone's."""
    query = blocks_query(uow, actor, owner=owner, state=state, arc_type=arc_type, year=year)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit", code="out_of_range")
    if cursor is not None:
        query = query.where(Block.serial > decode_cursor(cursor))
    rows = list(uow.session.exec(query.order_by(Block.serial).limit(limit + 1)))
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items, encode_cursor(items[-1].serial) if more else None)


@dataclass(frozen=True)
class HoldingLine:
    arc_type: str
    generation_year: int
    state: str
    quantity: Decimal
    blocks: int


def holdings(uow: UnitOfWork, actor: Actor, participant_id: int) -> list[HoldingLine]:
    """Totals per ARC type, generation year and state of what a participant
    holds or held (active/retired/expired/forfeited/cancelled)."""
    read_participant(uow, actor, participant_id)
    query = (select(Block.arc_type, Block.generation_year, Block.state,
                    func.sum(Block.quantity, type_=Milli()), func.count())
             .where(Block.owner_id == participant_id, Block.state != "split")
             .group_by(Block.arc_type, Block.generation_year, Block.state)
             .order_by(Block.arc_type, Block.generation_year, Block.state))
    return [HoldingLine(t, y, s, q, n) for t, y, s, q, n in uow.session.exec(query)]
