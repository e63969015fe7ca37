"""Corrections by the registry administrator (R-E5, RMS 8.6.2).

RMS 8.6.2: the administrator may cancel ARCs still held by their generator
to correct an inaccurate registration. Nothing is deleted: the block becomes
``cancelled`` with a ``block.cancelled`` entry, and the base material it
stood for returns to the lot and to the additionality determination, so a
corrected generation can use it again (R-B4, R-A2).
"""

from __future__ import annotations

from registry.actors import Actor, require_role
from registry.blocks import end_block, lock_active_block
from registry.db import UnitOfWork, get_for_update
from registry.disputes import require_not_disputed
from registry.errors import InvalidInput, RuleViolation
from registry.models import Block, Determination, Lot
from registry.use_period import require_in_use_period


def _current_determination(uow: UnitOfWork, determination_id: int) -> Determination:
    """The block's determination, or the one that superseded it: a superseding
    determination inherits the year's used volume (R-A7), so that is where
    the volume goes back to."""
    determination = get_for_update(uow.session, Determination, determination_id)
    while determination.superseded_by is not None:
        determination = get_for_update(uow.session, Determination, determination.superseded_by)
    return determination


def cancel_block(uow: UnitOfWork, actor: Actor, serial: str, *, reason: str) -> Block:
    require_role(actor, "admin")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a cancellation needs a reason", field="reason", rule="R-E5")
    # Lock order: block, lot, determination, then the log, like generation
    # (lot, determination, log) and transfers (block, log).
    block = lock_active_block(uow, serial)  # retired, split, expired ... are history (R-T1)
    require_not_disputed(block)  # R-C5: a disputed block is decided by registry.disputes.decide
    if block.owner_id != block.generator_id:
        # RMS 8.6.2: only what the generator still holds; sold ARCs belong to their buyer.
        raise RuleViolation(f"block {serial} is held by participant {block.owner_id}, not by its generator",
                            code="not_held_by_generator", rule="R-E5")
    # R-E2: an out-of-period block is expired in all but name; no write touches it.
    require_in_use_period(block.generation_year, uow.clock.today())

    lot = get_for_update(uow.session, Lot, block.lot_id)
    lot.used_kg -= block.base_kg
    if block.recycled_status == "PC" and lot.pc_kg is not None:
        lot.used_pc_kg -= block.base_kg
    lot.disclaimer_required = lot.used_kg == lot.mass_kg  # R-B5 holds only while fully used
    determination = _current_determination(uow, block.determination_id)
    determination.used_kg -= block.base_kg

    end_block(uow, block, "cancelled", "block.cancelled", actor, reason=reason,
              lot_used_kg=format(lot.used_kg, "f"), disclaimer_required=lot.disclaimer_required,
              determination=determination.id,
              determination_used_kg=format(determination.used_kg, "f"))
    uow.flush()
    return block
