"""Certificate blocks: serial ranges, lookups and their log payload (R-G2, R-T1)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from registry.actors import Actor
from registry.db import UnitOfWork, get_for_update
from registry.journal import LogRef, record
from registry.errors import NotFound, RuleViolation
from registry.lockorder import note_rows_locked
from registry.models import Block, SerialCounter
from registry.units import MILLI, exact_arithmetic

UNITS_PER_CERTIFICATE = 1000  # a serial unit is 0.001 certificate (R-G2)
SERIAL_DIGITS = 12


def format_serial(arc_code: str, year: int, generator_id: int, first: int, last: int) -> str:
    """R-G2: ``{ARC ID code}-{year}-{generator id}-{first}-{last}``."""
    return f"{arc_code}-{year}-{generator_id}-{first:0{SERIAL_DIGITS}d}-{last:0{SERIAL_DIGITS}d}"


def units_of(quantity: Decimal) -> int:
    units = quantity * UNITS_PER_CERTIFICATE
    if units != units.to_integral_value() or units <= 0:
        raise ValueError(f"{quantity} is not a positive whole number of serial units")
    return int(units)


def new_serial(uow: UnitOfWork, generator_id: int, year: int, arc_code: str,
               quantity: Decimal) -> tuple[int, int, str]:
    """Take the next serial range of the generator's year under a row lock, so
    that concurrent generations never overlap (R-G2)."""
    counter = get_for_update(uow.session, SerialCounter, (generator_id, year))
    if counter is None:
        counter = SerialCounter(generator_id=generator_id, year=year, next_unit=1)
        uow.session.add(counter)
    first = counter.next_unit
    last = first + units_of(quantity) - 1
    if last >= 10 ** SERIAL_DIGITS:
        # R-X9: a well-formed request the serial space cannot hold is refused, never a 500.
        left = 10 ** SERIAL_DIGITS - first
        raise RuleViolation(
            f"the serial space of generator {generator_id} for {year} is exhausted: {left} serial units "
            f"({Decimal(left) / UNITS_PER_CERTIFICATE} certificates) are left, {units_of(quantity)} were asked for",
            code="serial_space_exhausted", field="mass", rule="R-G2")
    counter.next_unit = last + 1
    uow.flush()
    return first, last, format_serial(arc_code, year, generator_id, first, last)


def block_payload(block: Block) -> dict:
    """The block's state as the log records it (R-L1; replayed by verification)."""
    return {
        "serial": block.serial,
        "arc_code": block.arc_code,
        "arc_type": block.arc_type,
        "recycled_status": block.recycled_status,
        "quantity": format(block.quantity, "f"),
        "state": block.state,
        "owner": block.owner_id,
        "generator": block.generator_id,
        "lot": block.lot_id,
        "lot_reference": block.lot_reference,
        "generation_year": block.generation_year,
        "first": block.first_unit,
        "last": block.last_unit,
        "base_kg": format(block.base_kg, "f"),
    }


def get_block(uow: UnitOfWork, serial: str, *, lock: bool = False) -> Block:
    block = get_for_update(uow.session, Block, serial, lock=lock)
    if block is None:
        raise NotFound(f"no block {serial}", code="block_not_found")
    return block


def link(block: Block) -> dict:
    """R-L2b: the block's last lineage entry, for the next entry's ``prev``."""
    return {"index": block.log_index, "leaf_hash": block.leaf_hash}


def lock_active_block(uow: UnitOfWork, serial: str) -> Block:
    """The block under a row lock, refused unless active (R-T1).

    The lock is what makes racing transfers and retirements safe (R-T4): the
    second request waits, then sees the first one's result (a smaller block,
    or a ``split`` parent that no longer holds anything).
    """
    block = get_block(uow, serial, lock=True)
    note_rows_locked(uow)  # R-X5: no participant row may be locked from here on
    require_active_block(block)
    return block


def require_active_block(block: Block) -> None:
    """R-T1: only active blocks move (an offered one is held, R-T6)."""
    if block.state != "active":
        raise RuleViolation(f"block {block.serial} is {block.state}; only active blocks move",
                            code="block_not_active", rule="R-T1")


def split(uow: UnitOfWork, parent: Block, quantity: Decimal) -> tuple[Block, Block]:
    """Split an active block into two adjacent ranges (R-T2): the lower
    serials (``quantity`` of them) and the rest. The parent becomes ``split``:
    history, not a holding. The caller assigns owners and states."""
    units = units_of(quantity)
    total = parent.last_unit - parent.first_unit + 1
    if not 0 < units < total:
        raise ValueError("a split leaves two non-empty blocks")
    # The base mass follows the quantity, rounded down to the gram for the
    # lower part so the two parts add up exactly to the parent's.
    with exact_arithmetic():
        lower_base = (parent.base_kg * units / total).quantize(MILLI, rounding=ROUND_DOWN)
    now = uow.clock.now()
    children = []
    for first, last, base in ((parent.first_unit, parent.first_unit + units - 1, lower_base),
                              (parent.first_unit + units, parent.last_unit, parent.base_kg - lower_base)):
        child = Block(
            serial=format_serial(parent.arc_code, parent.generation_year, parent.generator_id, first, last),
            arc_code=parent.arc_code, arc_type=parent.arc_type, recycled_status=parent.recycled_status,
            quantity=Decimal(last - first + 1).scaleb(-3), state="active",
            owner_id=parent.owner_id, generator_id=parent.generator_id, lot_id=parent.lot_id,
            lot_reference=parent.lot_reference, determination_id=parent.determination_id,
            generation_year=parent.generation_year, first_unit=first, last_unit=last, base_kg=base,
            parent_serial=parent.serial, log_index=parent.log_index, leaf_hash=parent.leaf_hash,
            created_at=now, updated_at=now)
        uow.session.add(child)
        children.append(child)
    parent.state = "split"
    parent.updated_at = now
    # Not flushed here: the caller gives the children their owner, state and
    # lineage first, so each row is written once.
    return children[0], children[1]


def stamp(blocks: list[Block], ref) -> None:
    """Point each block's lineage at the entry that just recorded it."""
    for block in blocks:
        block.log_index, block.leaf_hash = ref.index, ref.leaf_hash


def end_block(uow: UnitOfWork, block: Block, state: str, event_type: str, actor: Actor,
              **details) -> LogRef:
    """Take a whole block out of circulation (expired, forfeited, cancelled):
    its new state and one log entry continuing its lineage (R-L2b)."""
    prev = link(block)
    block.state = state
    block.updated_at = uow.clock.now()
    ref = record(uow, event_type, actor, {**block_payload(block), **details, "prev": prev})
    stamp([block], ref)
    from registry.notifications import announce

    announce.ended(uow, block, event_type, ref.index)  # R-N1: the holder is told, with its cause
    return ref
