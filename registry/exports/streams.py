"""The participant lists as row streams (R-N3): the list's own query and
access checks (`registry.holdings.blocks_query`,
`registry.retirements.retirements_query`), unpaged, in the list's order,
read `BATCH` rows at a time — a server-side cursor on PostgreSQL
(``stream_results``), SQLite's cursor stepping — as plain rows (no ORM
objects, nothing kept in the session), so an export holds one batch at a
time whatever its size."""

from __future__ import annotations

from sqlalchemy.engine import Result

from registry.actors import Actor
from registry.db import UnitOfWork
from registry.holdings import blocks_query, decode_cursor
from registry.models import Block, Retirement
from registry.retirements import retirement_cursor, retirements_query

BATCH = 2000
# What GET /blocks shows of a block (api.schemas.BlockOut), nothing more.
BLOCK_SHOWN = ("serial", "arc_code", "arc_type", "recycled_status", "quantity", "state", "owner_id", "generator_id",
               "lot_id", "lot_reference", "generation_year", "first_unit", "last_unit", "parent_serial", "disputed",
               "log_index", "leaf_hash")


def _stream(uow: UnitOfWork, query) -> Result:
    # Core, on the unit of work's connection: plain rows, no ORM loading per row.
    return uow.session.connection().execute(query.execution_options(yield_per=BATCH, stream_results=True))


def block_rows(uow: UnitOfWork, actor: Actor, *, owner: int | None = None, state: str | None = None,
               arc_type: str | None = None, year: int | None = None, cursor: str | None = None,
               **_paging) -> Result:
    """GET /blocks as a stream: the same filters and access (R-P4), every block, by serial."""
    query = blocks_query(uow, actor, owner=owner, state=state, arc_type=arc_type, year=year,
                         columns=tuple(Block.__table__.c[name] for name in BLOCK_SHOWN))
    if cursor is not None:
        query = query.where(Block.serial > decode_cursor(cursor))
    return _stream(uow, query.order_by(Block.serial))


def retirement_rows(uow: UnitOfWork, actor: Actor | None, *, beneficiary: str | None = None,
                    year: int | None = None, arc_type: str | None = None, cursor: str | None = None,
                    owner: int | None = None, **_paging) -> Result:
    """GET /retirements as a stream: public (R-R2), every retirement, oldest first; ``owner``: only
    those a participant made (its workspace download)."""
    query = retirements_query(beneficiary=beneficiary, year=year, arc_type=arc_type, owner=owner,
                              columns=tuple(Retirement.__table__.columns))
    if cursor is not None:
        query = query.where(Retirement.id > retirement_cursor(cursor))
    return _stream(uow, query.order_by(Retirement.id))
