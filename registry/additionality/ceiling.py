"""When and how much a lot may generate under additionality (R-A8, R-A9).

Pure rules on plain values, shared by generation (registry.generation) and by
replay (registry.replay), so a signed log that breaks one fails verification.

* R-A8, only new output is additional (P7.2.3, P7.2.4.7 iii): a lot backs ARCs
  under a determination only if it was processed on or after the date its
  basis came into being, and the determination that applies is the one of the
  year the lot was processed.
* R-A9, the ceiling cannot be reset or stacked: what a facility (or a line)
  used in a year is counted from the lots processed there that year, under
  any determination, so withdrawing, superseding or re-recording one starts
  nothing afresh; a facility's line determinations never add to its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from registry.errors import RuleViolation
from registry.units import format_milli

from .model import NewOperation, Restart
from .newness import qualifying_start

ZERO = Decimal("0.000")


def basis_date(newness: dict) -> date | None:
    """The date a logged newness basis (a determination's ``record["newness"]``)
    makes output new from: the operation's qualifying start (a restart under new
    ownership counts from the restart, P7.2.3.2), or the date a reinvestment came
    into service. The phase-out exemption is for existing output: no date."""
    basis = newness.get("basis")
    if basis == "new_operation":
        restart = newness.get("restart")
        operation = NewOperation(
            operation_start=date.fromisoformat(newness["operation_start"]),
            restart=None if not restart else Restart(
                stopped_on=date.fromisoformat(restart["stopped_on"]),
                restarted_on=date.fromisoformat(restart["restarted_on"]),
                ownership_changed=bool(restart["ownership_changed"])))
        return qualifying_start(operation)[0]
    if basis in ("financial", "quality", "capacity"):
        return date.fromisoformat(newness["invested_on"])
    return None


def require_volume_within_capacity(newness, capacity_kg: Decimal) -> None:
    """R-A9: a declared basis volume (quality: the volume meeting the new
    specification; capacity: the production after the increase) cannot exceed
    the capacity of the facility or line it is part of."""
    declared = {"quality": ("volume_kg", "newness.volume"), "capacity": ("after_kg", "newness.after")}.get(
        newness.basis)
    if declared is None:
        return
    attribute, field = declared
    volume = getattr(newness, attribute)
    if volume > capacity_kg:
        raise RuleViolation(
            f"the declared {field.split('.')[1]} of {format_milli(volume)} kg per year exceeds the capacity of "
            f"{format_milli(capacity_kg)} kg per year it is part of", field=field, code="exceeds_capacity",
            rule="R-A9")


def require_new_output(processed_on: date, newness: dict) -> None:
    """R-A8: refuse a lot processed before its determination's basis date."""
    start = basis_date(newness)
    if start is not None and processed_on < start:
        raise RuleViolation(
            f"the lot was processed on {processed_on}, before the additional operation it would count under "
            f"existed ({newness.get('basis')} from {start}): only new output is additional (P7.2.3, P7.2.4.7 iii)",
            code="processed_before_basis", rule="R-A8")


def require_within_ceilings(base_kg: Decimal, *, year: int, covering_line: int | None, covering_eligible_kg: Decimal,
                            facility_used_kg: Decimal, line_used_kg: Decimal | None,
                            current: Iterable[tuple[int | None, bool, Decimal]]) -> None:
    """R-A2, R-A9: ``base_kg`` more fits what is left of the covering
    determination's volume (its line's, or the facility's) and of the
    facility's ceiling for the year. ``current`` lists the facility's current
    determinations for the year as (line or None, additional?, eligible kg)."""
    if covering_line is None:
        require_within_ceiling(base_kg, facility_used_kg, covering_eligible_kg, where="the facility", year=year)
        return
    require_within_ceiling(base_kg, line_used_kg, covering_eligible_kg, where=f"line {covering_line}", year=year)
    additional = [(line, eligible) for line, ok, eligible in current if ok]
    own = next((eligible for line, eligible in additional if line is None), None)
    limit = facility_ceiling_kg(own, (eligible for line, eligible in additional if line is not None))
    require_within_ceiling(base_kg, facility_used_kg, limit, where="the facility", year=year)


def facility_ceiling_kg(facility_eligible_kg: Decimal | None, line_eligible_kg: Iterable[Decimal]) -> Decimal:
    """R-A9: a facility's eligible volume for a year. Its own determination
    covers all its lines; line determinations carve parts out of it and never
    add to it, so the ceiling is the larger of the two, not their sum."""
    return max(facility_eligible_kg or ZERO, sum(line_eligible_kg, ZERO))


def require_within_ceiling(base_kg: Decimal, used_kg: Decimal, eligible_kg: Decimal, *, where: str,
                           year: int) -> None:
    """R-A2, R-A9: refuse base mass beyond what is left of a year's eligible volume."""
    if used_kg + base_kg > eligible_kg:
        left = eligible_kg - used_kg
        raise RuleViolation(
            f"{where} has {format_milli(left)} kg of eligible volume left for {year} "
            f"({format_milli(used_kg)} kg of {format_milli(eligible_kg)} kg used); {format_milli(base_kg)} kg "
            "were requested", field="mass", code="eligible_volume_exceeded", rule="R-A9")
