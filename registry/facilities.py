"""Facilities and production lines of a generator (R-A1)."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from registry import scope
from registry.actors import Actor, require_acts_for
from registry.countries import parse_country
from registry.db import UnitOfWork
from registry.errors import InvalidInput, NotFound, RuleViolation
from registry.journal import record
from registry.models import Facility, ProductionLine
from registry.units import Mass


def facility_payload(facility: Facility) -> dict:
    return {
        "facility": facility.id,
        "participant": facility.participant_id,
        "name": facility.name,
        "address": facility.address,
        "country": facility.country,
        "capacity_kg": format(facility.capacity_kg, "f"),
    }


def get_facility(uow: UnitOfWork, actor: Actor | None, facility_id: int) -> Facility:
    """A facility the actor may act on (its owner's members, admins, certifiers)."""
    facility = uow.session.get(Facility, facility_id)
    visible = facility is not None and actor is not None and (
        actor.role == "certifier" or actor.acts_for(facility.participant_id))
    if not visible:
        raise NotFound(f"no facility {facility_id}", code="facility_not_found", rule="R-X4")
    return facility


def get_line(uow: UnitOfWork, facility: Facility, line_id: int, field: str = "line_id") -> ProductionLine:
    line = uow.session.get(ProductionLine, line_id)
    if line is None or line.facility_id != facility.id:
        raise NotFound(f"facility {facility.id} has no line {line_id}", code="line_not_found",
                       field=field)
    return line


def register_facility(uow: UnitOfWork, actor: Actor, *, participant_id: int, name: str, address: str,
                      country: str, capacity: Mass) -> Facility:
    require_acts_for(actor, participant_id)
    scope.require_may_register(uow, participant_id)  # R-X10: not while suspended
    if not capacity:
        raise InvalidInput("capacity must be positive", field="capacity", code="must_be_positive")
    facility = Facility(participant_id=participant_id, name=name.strip(), address=address.strip(),
                        country=parse_country(country), capacity_kg=capacity.kg,
                        created_at=uow.clock.now())
    uow.session.add(facility)
    uow.flush()
    record(uow, "facility.registered", actor, facility_payload(facility))
    return facility


def _require_lines_within_capacity(uow: UnitOfWork, facility: Facility, capacity_kg: Decimal) -> None:
    """R-A9: a line is part of its facility: its capacity, and the sum of the
    facility's line capacities, never exceed the facility's capacity, so line
    determinations cannot stack volume the facility does not have."""
    lines = uow.session.exec(select(ProductionLine.capacity_kg).where(ProductionLine.facility_id == facility.id))
    total = sum(lines, Decimal("0.000")) + capacity_kg
    if total > facility.capacity_kg:
        raise RuleViolation(
            f"the facility's lines would have {total} kg per year of capacity, more than the facility's "
            f"{facility.capacity_kg} kg", field="capacity", code="exceeds_capacity", rule="R-A9")


def register_line(uow: UnitOfWork, actor: Actor, facility_id: int, *, name: str,
                  capacity: Mass) -> ProductionLine:
    facility = get_facility(uow, actor, facility_id)
    require_acts_for(actor, facility.participant_id)
    scope.require_may_register(uow, facility.participant_id)  # R-X10: not while suspended
    if not capacity:
        raise InvalidInput("capacity must be positive", field="capacity", code="must_be_positive")
    _require_lines_within_capacity(uow, facility, capacity.kg)
    line = ProductionLine(facility_id=facility.id, name=name.strip(), capacity_kg=capacity.kg,
                          created_at=uow.clock.now())
    uow.session.add(line)
    uow.flush()
    record(uow, "facility.line_registered", actor, {
        "facility": facility.id, "line": line.id, "name": line.name,
        "capacity_kg": format(line.capacity_kg, "f"),
    })
    return line
