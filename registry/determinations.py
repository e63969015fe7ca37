"""Recording additionality determinations and finding the one that covers a
generation (R-A2–R-A7). The tests themselves are pure: registry.additionality."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import or_, select

from registry import additionality, scope
from registry.actors import Actor, require_role
from registry.db import UnitOfWork, for_update, get_for_update
from registry.errors import NotFound, RuleViolation
from registry.facilities import get_facility, get_line
from registry.journal import record
from registry.jsonable import jsonable
from registry.models import Determination, Lot, ProductionLine

CURRENT, SUPERSEDED, WITHDRAWN = "current", "superseded", "withdrawn"


def determination_payload(d: Determination) -> dict:
    return {
        "determination": d.id,
        "facility": d.facility_id,
        "line": d.line_id,
        "year": d.certification_year,
        "basis": d.basis,
        "outcome": d.outcome,
        "reasons": list(d.reasons),
        "eligible_kg": format(d.eligible_kg, "f"),
        "used_kg": format(d.used_kg, "f"),
        "pc_only": d.pc_only,
        "status": d.status,
        "record": d.record,
    }


def _current(uow: UnitOfWork, facility_id: int, line_id: int | None, year: int) -> Determination | None:
    query = select(Determination).where(
        Determination.facility_id == facility_id, Determination.line_id == line_id,
        Determination.certification_year == year, Determination.status == CURRENT)
    return uow.session.exec(for_update(query)).first()


def _first_certified_year(uow: UnitOfWork, facility_id: int, line_id: int | None, year: int,
                          newness: dict) -> int | None:
    """Start of the unbroken run of additional determinations on this same
    newness basis ending the year before (P7.2.2.2: 15 years under continuous
    certification)."""
    query = select(Determination).where(
        Determination.facility_id == facility_id, Determination.line_id == line_id,
        Determination.outcome == additionality.ADDITIONAL, Determination.status != WITHDRAWN,
        Determination.certification_year < year)
    years = {d.certification_year for d in uow.session.exec(query) if d.record.get("newness") == newness}
    first = None
    while (year - 1) in years:
        year -= 1
        first = year
    return first


def record_determination(uow: UnitOfWork, actor: Actor, *, facility_id: int, certification_year: int,
                         mandate_share: Decimal, newness, class_b: list[dict], evidence: list[dict],
                         line_id: int | None = None) -> Determination:
    require_role(actor, "certifier", "admin")
    facility = get_facility(uow, actor, facility_id)
    scope.require_certifies(uow, actor, facility.participant_id, certification_year)  # R-X10
    line: ProductionLine | None = get_line(uow, facility, line_id) if line_id is not None else None
    lines = uow.session.exec(select(ProductionLine.id).where(ProductionLine.facility_id == facility.id))
    newness_record = jsonable(newness)
    inputs = additionality.DeterminationInput(
        certification_year=certification_year,
        capacity_kg=(line or facility).capacity_kg,
        mandate_share=mandate_share,
        newness=newness,
        class_b=tuple(additionality.ClassBTest(test=t["test"], passed=t["passed"],
                                               rationale=t["rationale"]) for t in class_b),
        first_certified_year=_first_certified_year(uow, facility.id, line_id, certification_year,
                                                   newness_record),
        line_scoped=line is not None,
        facility_lines=len(list(lines)),
    )
    result = additionality.determine(inputs)
    previous = _current(uow, facility.id, line_id, certification_year)
    determination = Determination(
        facility_id=facility.id, line_id=line_id, certification_year=certification_year,
        basis=newness.basis,
        record={"mandate_share": format(mandate_share, "f"), "newness": newness_record,
                "class_b": jsonable(class_b), "evidence": jsonable(evidence),
                "tests": jsonable(result.tests), "basis_kg": format(result.basis_kg, "f")},
        outcome=result.outcome, reasons=list(result.reasons),
        eligible_kg=result.eligible_kg[certification_year],
        # A superseding determination inherits what was already generated in
        # the year: the eligible volume is the facility's, not the paper's.
        used_kg=previous.used_kg if previous else Decimal("0.000"),
        pc_only=result.pc_only, status=CURRENT, recorded_by=actor.user_id,
        created_at=uow.clock.now())
    uow.session.add(determination)
    uow.flush()
    if previous is not None:
        # R-A7: superseded, never deleted; the old one stays in history.
        previous.status, previous.superseded_by = SUPERSEDED, determination.id
    payload = determination_payload(determination)
    payload["supersedes"] = previous.id if previous else None
    payload["body"] = actor.body_code  # R-X10: replay re-checks the body certifies the participant
    record(uow, "determination.recorded", actor, payload)
    return determination


def withdraw_determination(uow: UnitOfWork, actor: Actor, determination_id: int, *,
                           reason: str) -> Determination:
    """R-A7, RMS 8.5.2: no more generation under it; generated ARCs stay active."""
    require_role(actor, "certifier", "admin")
    determination = get_for_update(uow.session, Determination, determination_id)
    if determination is None:
        raise NotFound(f"no determination {determination_id}", code="determination_not_found")
    scope.require_certifies(uow, actor, get_facility(uow, actor, determination.facility_id).participant_id,
                            determination.certification_year)  # R-X10
    if determination.status != CURRENT:
        raise RuleViolation(f"the determination is {determination.status}", code="determination_not_current")
    determination.status = WITHDRAWN
    uow.flush()
    record(uow, "determination.withdrawn", actor,
           {"determination": determination.id, "reason": reason, "body": actor.body_code})
    return determination


def get_determination(uow: UnitOfWork, actor: Actor | None, determination_id: int) -> Determination:
    determination = uow.session.get(Determination, determination_id)
    if determination is None:
        raise NotFound(f"no determination {determination_id}", code="determination_not_found")
    get_facility(uow, actor, determination.facility_id)  # R-X4: same visibility as the facility
    return determination


def covering_determination(uow: UnitOfWork, lot: Lot, year: int) -> Determination:
    """R-A2, R-G1: the current determination for the lot's line (or its whole
    facility) and this year, locked for the usage update."""
    query = select(Determination).where(
        Determination.facility_id == lot.facility_id, Determination.certification_year == year,
        Determination.status == CURRENT,
        or_(Determination.line_id == lot.line_id, Determination.line_id.is_(None)))
    candidates = list(uow.session.exec(for_update(query)))
    # A line's own determination is more specific than its facility's.
    candidates.sort(key=lambda d: d.line_id is None)
    if not candidates:
        raise RuleViolation(f"no additionality determination covers the lot's facility for {year}",
                            code="not_additional", rule="R-A2")
    determination = candidates[0]
    if determination.outcome != additionality.ADDITIONAL:
        raise RuleViolation(f"the facility is not additional for {year}: "
                            + "; ".join(determination.reasons), code="not_additional", rule="R-A3")
    return determination
