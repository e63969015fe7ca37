"""The daily job that lapses offers (R-T6), run by the daily job runner
(`registry.jobs`: once per UTC day across processes, at start-up and at
00:00, catching up after downtime, R-E2).

An offer lapses on the first day after its lapse date: its held block
returns to the sender, one ``block.offer_lapsed`` entry each. Offers whose
block is already past its use period are left to expiry (`registry.expiry`),
which expires the held block like any other and closes its offer. Until the
job runs, acceptance is refused anyway (``rules.require_acceptable``).
"""

from __future__ import annotations

from sqlmodel import select

from registry.actors import SYSTEM
from registry.db import UnitOfWork, for_update
from registry.lockorder import note_rows_locked
from registry.models import Block
from registry.offers import rules
from registry.offers.models import Offer
from registry.offers.services import close, pending_offer_of


def run_lapse(uow: UnitOfWork, *, limit: int | None = None) -> dict:
    """Lapse up to ``limit`` due offers. Returns ``{"lapsed": n}``."""
    today = uow.clock.today()
    due = (select(Offer.serial).join(Block, Block.serial == Offer.serial)
           .where(Offer.state == rules.PENDING, Offer.lapses_on < today,
                  Block.generation_year >= today.year - 1)  # past its use period: expiry's
           .order_by(Offer.serial))
    if limit is not None:
        due = due.limit(limit)
    serials = list(uow.session.exec(due))
    if not serials:
        return {"lapsed": 0}
    # Blocks in serial order (every multi-block writer's order), then the log.
    blocks = list(uow.session.exec(for_update(select(Block).where(Block.serial.in_(serials))
                                              .order_by(Block.serial))))
    note_rows_locked(uow)
    lapsed = 0
    for block in blocks:
        offer = pending_offer_of(uow, block.serial)  # an acceptance may have won the race
        if offer is None or block.state != "offered" or not rules.is_due(today, offer.lapses_on):
            continue
        close(uow, SYSTEM, offer, block, "lapsed")
        lapsed += 1
    return {"lapsed": lapsed}
