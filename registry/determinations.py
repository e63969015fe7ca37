"""Recording additionality determinations and finding the one that covers a
generation (R-A2–R-A7). The tests themselves are pure: registry.additionality."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import func, select

from registry import additionality, certificate_history, scope
from registry.additionality import ceiling
from registry.actors import Actor, require_role
from registry.db import UnitOfWork, for_update, get_for_update
from registry.errors import NotFound, RuleViolation
from registry.facilities import get_facility, get_line
from registry.journal import record
from registry.jsonable import jsonable
from registry.models import Determination, Facility, Lot, ProductionLine
from registry.rms_certificates import certificates_citable_by, events_of, periods_of, versions_of
from registry.sqltypes import Milli

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


def certified_since(uow: UnitOfWork, facility: Facility, year: int) -> date | None:
    """P7.2.2.2, R-C6: the first day of the facility's latest unbroken run of
    days with a valid RMS certificate listing it (its participant's own, or a
    group's listing it as the member's site), reaching into ``year`` --
    read from the certificates' history, not from earlier determinations."""
    held = [certificate_history.Held(periods_of(c), events_of(uow, c), versions_of(c), c.facility_scope,
                                     c.participant_id) for c in certificates_citable_by(uow, facility.participant_id)]
    return certificate_history.facility_certified_since(held, facility.participant_id, facility.country,
                                                        facility.name, year, uow.clock.today())


def record_determination(uow: UnitOfWork, actor: Actor, *, facility_id: int, certification_year: int,
                         mandate_share: Decimal, newness, class_b: list[dict], evidence: list[dict],
                         line_id: int | None = None) -> Determination:
    require_role(actor, "certifier", "admin")
    facility = get_facility(uow, actor, facility_id)
    scope.require_certifies(uow, actor, facility.participant_id, certification_year)  # R-X10
    line: ProductionLine | None = get_line(uow, facility, line_id) if line_id is not None else None
    lines = uow.session.exec(select(ProductionLine.id).where(ProductionLine.facility_id == facility.id))
    ceiling.require_volume_within_capacity(newness, (line or facility).capacity_kg)  # R-A9
    newness_record = jsonable(newness)
    since = certified_since(uow, facility, certification_year)  # P7.2.2.2, R-C6
    inputs = additionality.DeterminationInput(
        certification_year=certification_year,
        capacity_kg=(line or facility).capacity_kg,
        mandate_share=mandate_share,
        newness=newness,
        class_b=tuple(additionality.ClassBTest(test=t["test"], passed=t["passed"],
                                               rationale=t["rationale"]) for t in class_b),
        first_certified_year=certificate_history.first_certified_year(since, certification_year),
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
    # P7.2.2.2, R-C6: continuously certified since (replay re-derives it from the certificates' history)
    payload["certified_since"] = since.isoformat() if since is not None else None
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


def applicable_determinations(uow: UnitOfWork, lot: Lot, year: int) -> tuple[Determination, list[Determination]]:
    """R-A2, R-A8: the current determinations of the lot's facility for ``year``
    (the year the lot was processed), locked for the usage update: the one that
    covers the lot (its line's own, else its facility's), and all of them (for
    the R-A9 ceiling)."""
    query = select(Determination).where(
        Determination.facility_id == lot.facility_id, Determination.certification_year == year,
        Determination.status == CURRENT).order_by(Determination.id)
    current = list(uow.session.exec(for_update(query)))
    # A line's own determination is more specific than its facility's.
    covering = next((d for d in current if d.line_id is not None and d.line_id == lot.line_id), None) \
        or next((d for d in current if d.line_id is None), None)
    if covering is None:
        raise RuleViolation(f"no additionality determination covers the lot's facility for {year}, the year "
                            "it was processed", code="not_additional", rule="R-A2")
    if covering.outcome != additionality.ADDITIONAL:
        raise RuleViolation(f"the facility is not additional for {year}: "
                            + "; ".join(covering.reasons), code="not_additional", rule="R-A3")
    return covering, current


def used_kg(uow: UnitOfWork, facility_id: int, year: int, line_id: int | None = None) -> Decimal:
    """R-A9: base mass already used for ARCs from the lots a facility (or one of
    its lines) processed in ``year``, under whatever determination: derived from
    the lots, so no determination's own record can reset it."""
    query = select(func.sum(Lot.used_kg, type_=Milli())).where(
        Lot.facility_id == facility_id, Lot.processed_on >= date(year, 1, 1), Lot.processed_on <= date(year, 12, 31))
    if line_id is not None:
        query = query.where(Lot.line_id == line_id)
    return uow.session.exec(query).one() or Decimal("0.000")


def require_within_ceilings(uow: UnitOfWork, lot: Lot, base_kg: Decimal, covering: Determination,
                            current: list[Determination], year: int) -> None:
    """R-A2, R-A9 (registry.additionality.ceiling) on the facility's usage for the year."""
    line_used = used_kg(uow, lot.facility_id, year, covering.line_id) if covering.line_id is not None else None
    ceiling.require_within_ceilings(
        base_kg, year=year, covering_line=covering.line_id, covering_eligible_kg=covering.eligible_kg,
        facility_used_kg=used_kg(uow, lot.facility_id, year), line_used_kg=line_used,
        current=[(d.line_id, d.outcome == additionality.ADDITIONAL, d.eligible_kg) for d in current])
