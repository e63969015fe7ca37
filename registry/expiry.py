"""Expiry of certificates past their use period (R-E1, R-E2, RMS 8.7.4, 8.8.4.1).

The state change is bookkeeping: every write path already refuses a block
outside its use period (``use_period.require_in_use_period``), so nothing
depends on when this runs. It runs from the daily job runner
(``registry.jobs``), in batches so the chain log's append lock is never held
for long while the API is serving.
"""

from __future__ import annotations

from sqlmodel import select

from registry.actors import SYSTEM
from registry.blocks import end_block
from registry.db import UnitOfWork, for_update
from registry.models import Block
from registry.offers.services import pending_offer_of
from registry.use_period import use_period_end


def run_expiry(uow: UnitOfWork, *, limit: int | None = None) -> dict:
    """Expire up to ``limit`` active blocks whose use period is over; one
    ``block.expired`` entry each. Returns ``{"expired": n}``.

    Generated in Y, the period ends 31 December Y + 1 (R-E1), so on ``today``
    exactly the blocks with ``generation_year <= today.year - 2`` are over:
    a range on an indexed column, with ``state`` (also indexed). Blocks are
    locked in serial order (the order every multi-block writer uses), then
    the log is appended to: a racing transfer either committed first (the
    block is no longer active and drops out of the locked read) or waits and
    then finds it expired.
    """
    today = uow.clock.today()
    # R-T6: a block held by an offer expires like any other; its offer closes as lapsed.
    query = for_update(select(Block)
                       .where(Block.state.in_(("active", "offered")), Block.generation_year <= today.year - 2,
                              Block.disputed.is_(False))  # R-C5: it waits for the administrator's decision
                       .order_by(Block.serial))
    if limit is not None:
        query = query.limit(limit)
    blocks = list(uow.session.exec(query))
    for block in blocks:
        offer = pending_offer_of(uow, block.serial) if block.state == "offered" else None
        details = {"offer": offer.id} if offer is not None else {}
        ref = end_block(uow, block, "expired", "block.expired", SYSTEM,
                        use_period_end=use_period_end(block.generation_year).isoformat(), **details)
        if offer is not None:
            offer.state, offer.decided_log_index, offer.decided_at = "lapsed", ref.index, uow.clock.now()
    uow.flush()
    return {"expired": len(blocks)}
