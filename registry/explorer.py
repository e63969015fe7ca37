"""Read queries for the public registry explorer (SPEC §1: what the public,
brands and auditors see; R-R2). Read-only: nothing here writes or logs.

Quantities are summed in SQL over the integer thousandths the ``Milli``
columns store, and come back as exact Decimals (R-U3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import select

from registry.actors import Actor, require_role
from registry.db import UnitOfWork
from registry.errors import NotFound
from registry import lot_rules, rms_certificates
from registry.models import Block, Determination, Facility, Lot, Participant, Retirement, RmsCertificate

#: Block states the totals report; ``split`` parents are history, not certificates.
STATES = ("active", "offered", "retired", "expired", "forfeited", "cancelled")  # offered: held for a recipient (R-T6)
#: Participants the public directory lists: those that hold or held certificates (R-P1).
LISTED_STATUSES = ("active", "suspended")


def _milli(total: Decimal | None) -> Decimal:
    """A SUM over a ``Milli`` column comes back through the column's type: a Decimal."""
    return (total or Decimal(0)).quantize(Decimal("0.001"))


@dataclass
class TotalRow:
    """Certificates of one ARC type and generation year, by state."""

    arc_type: str
    year: int
    issued: Decimal = Decimal("0.000")
    by_state: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(STATES, Decimal("0.000")))


def registry_totals(uow: UnitOfWork) -> list[TotalRow]:
    """Issued (every generated block, whatever became of it) and the current
    quantity in each state, per ARC type and generation year."""
    rows: dict[tuple[str, int], TotalRow] = {}

    def row(arc_type: str, year: int) -> TotalRow:
        return rows.setdefault((arc_type, year), TotalRow(arc_type, year))

    # A generated block has no parent; splits only divide it (R-T2), so the
    # roots' quantities add up to everything ever issued.
    issued = uow.session.exec(
        select(Block.arc_type, Block.generation_year, func.sum(Block.quantity))
        .where(Block.parent_serial.is_(None)).group_by(Block.arc_type, Block.generation_year))
    for arc_type, year, total in issued:
        row(arc_type, year).issued = _milli(total)
    by_state = uow.session.exec(
        select(Block.arc_type, Block.generation_year, Block.state, func.sum(Block.quantity))
        .where(Block.state.in_(STATES)).group_by(Block.arc_type, Block.generation_year, Block.state))
    for arc_type, year, state, total in by_state:
        row(arc_type, year).by_state[state] = _milli(total)
    return [rows[key] for key in sorted(rows, key=lambda k: (-k[1], k[0]))]


def _parse_serial(text: str) -> tuple[str, int, int, int, int] | None:
    """``ARC-YEAR-GENERATOR-FIRST[-LAST]`` (R-G2) as (arc code, year, generator, first, last)."""
    parts = text.strip().rsplit("-", 4)
    if len(parts) == 5 and not parts[4].isdigit():
        return None
    if len(parts) == 5:
        arc_code, year, generator, first, last = parts
    else:
        parts = text.strip().rsplit("-", 3)
        if len(parts) != 4:
            return None
        arc_code, year, generator, first = parts
        last = first
    numbers = (year, generator, first, last)
    if not arc_code or not all(n.isascii() and n.isdigit() and len(n) <= 18 for n in numbers):
        return None
    return arc_code, int(year), int(generator), int(first), int(last)


def find_block(uow: UnitOfWork, text: str) -> Block | None:
    """The block a serial names: the block with exactly that serial, else the
    current (unsplit) block whose range holds the whole range ``text`` names —
    one unit (``ARC-YEAR-GEN-UNIT``) or a sub-range of a block (R-G2)."""
    text = text.strip()
    if not text or len(text) > 120:
        return None
    exact = uow.session.get(Block, text)
    if exact is not None:
        return exact
    parsed = _parse_serial(text)
    if parsed is None:
        return None
    arc_code, year, generator, first, last = parsed
    if last < first:
        return None
    return uow.session.exec(
        select(Block).where(Block.arc_code == arc_code, Block.generation_year == year,
                            Block.generator_id == generator, Block.state != "split",
                            Block.first_unit <= first, Block.last_unit >= last)).first()


def block_by_serial(uow: UnitOfWork, serial: str) -> Block | None:
    return uow.session.get(Block, serial)


def retirement_of(uow: UnitOfWork, serial: str) -> Retirement | None:
    """The retirement that retired exactly this block, if any (R-R1)."""
    return uow.session.exec(select(Retirement).where(Retirement.serial == serial)).first()


@dataclass(frozen=True)
class Backing:
    """What stands behind a block (R-R8, R-B8): the facility that processed
    its lot, and the lot's RMS certificate with its standing on the
    processing date and today, as the register now stands (R-C3, R-C5)."""

    facility_name: str
    facility_country: str
    certificate: str
    processed_on: date
    status_at_processing: str
    status_today: str


def backing(uow: UnitOfWork, lot_id: int, today: date) -> Backing | None:
    row = uow.session.exec(
        select(Lot, Facility, RmsCertificate)
        .join(Facility, Facility.id == Lot.facility_id)
        .join(RmsCertificate, RmsCertificate.id == Lot.rms_certificate_id)
        .where(Lot.id == lot_id)).first()
    if row is None:
        return None
    lot, facility, cert = row
    return Backing(facility.name, facility.country, cert.number, lot.processed_on,
                   rms_certificates.status_on(uow, cert, lot.processed_on),
                   rms_certificates.status_on(uow, cert, today))


@dataclass(frozen=True)
class CitedInput:
    """A lot's cited input (R-B6) as a buyer should read it (R-B8): its supplier
    certificate's standing on the input's date, or None when the number is not
    in this register (not verifiable here)."""

    supplier_certificate: str
    reference: str
    material_code: str
    mass_kg: str
    day: date
    standing: str | None
    supplier_name: str | None = None
    log_index: int | None = None  # a custody receipt's entry (R-M6): the proof reaches it


def cited_inputs(uow: UnitOfWork, inputs: list[dict], processed_on: date) -> list[CitedInput]:
    out = []
    for item in inputs or ():
        day = lot_rules.input_day(item, processed_on)
        try:
            cert = rms_certificates.get_certificate(uow, item["supplier_certificate"])
        except NotFound:
            standing = None
        else:
            standing = rms_certificates.status_on(uow, cert, day)
        link = item.get("log") if isinstance(item.get("log"), dict) else {}
        out.append(CitedInput(item["supplier_certificate"], item["reference"], item["material_code"],
                              item["mass_kg"], day, standing, item.get("supplier_name"), link.get("index")))
    return out


def children(uow: UnitOfWork, serial: str) -> list[Block]:
    """The parts a split block was divided into, lowest serials first (R-T2)."""
    return list(uow.session.exec(select(Block).where(Block.parent_serial == serial).order_by(Block.first_unit)))


def participant_names(uow: UnitOfWork, ids) -> dict[int, str]:
    """Names of participants: public, as the log records them (R-L1)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = uow.session.exec(select(Participant.id, Participant.name).where(Participant.id.in_(wanted)))
    return {participant_id: name for participant_id, name in rows}


@dataclass(frozen=True)
class FacilityOutcome:
    facility: Facility
    determination: Determination | None  # the current one of the latest certification year


@dataclass(frozen=True)
class DirectoryEntry:
    participant: Participant
    facilities: list[FacilityOutcome]

    @property
    def is_generator(self) -> bool:
        return bool(self.facilities)


def directory(uow: UnitOfWork) -> list[DirectoryEntry]:
    """The public participants directory: name, country, status, with each
    generator's facilities and their current additionality outcome (R-A2, R-A7)."""
    people = list(uow.session.exec(select(Participant).where(Participant.status.in_(LISTED_STATUSES))
                                   .order_by(Participant.name, Participant.id)))
    facilities: dict[int, list[Facility]] = {}
    for facility in uow.session.exec(select(Facility).order_by(Facility.id)):
        facilities.setdefault(facility.participant_id, []).append(facility)
    current: dict[int, Determination] = {}
    for d in uow.session.exec(select(Determination).where(Determination.status == "current",
                                                          Determination.line_id.is_(None))
                              .order_by(Determination.certification_year, Determination.id)):
        current[d.facility_id] = d  # the latest certification year wins
    return [DirectoryEntry(p, [FacilityOutcome(f, current.get(f.id)) for f in facilities.get(p.id, [])])
            for p in people]


def retirement_facets(uow: UnitOfWork) -> tuple[list[int], list[str]]:
    """Reporting years and ARC types that retirements exist for: the search form's choices."""
    years = sorted(uow.session.exec(select(Retirement.reporting_year).distinct()), reverse=True)
    types = sorted(uow.session.exec(select(Retirement.arc_type).distinct()))
    return list(years), list(types)


def pending_participants(uow: UnitOfWork, actor: Actor | None) -> list[Participant]:
    """Participants waiting for an administrator's activation (R-P1): admin only."""
    require_role(actor, "admin")
    return list(uow.session.exec(select(Participant).where(Participant.status == "pending")
                                 .order_by(Participant.created_at, Participant.id)))
