"""Certificate blocks: serial ranges, lookups and their log payload (R-G2, R-T1)."""

from __future__ import annotations

from decimal import Decimal

from registry.db import UnitOfWork
from registry.errors import NotFound
from registry.models import Block, SerialCounter

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
    counter = uow.session.get(SerialCounter, (generator_id, year), with_for_update=True)
    if counter is None:
        counter = SerialCounter(generator_id=generator_id, year=year, next_unit=1)
        uow.session.add(counter)
    first = counter.next_unit
    last = first + units_of(quantity) - 1
    if last >= 10 ** SERIAL_DIGITS:
        raise ValueError("serial range exhausted for this generator and year")
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
    block = uow.session.get(Block, serial, with_for_update=lock)
    if block is None:
        raise NotFound(f"no block {serial}", code="block_not_found")
    return block
