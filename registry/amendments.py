"""Amendments of a retirement's claim details (R-R7, RMS 8.6.6, 8.8.3).

A retirement is never reversed: the certificates stay retired and the
retired quantity, serial range, beneficiary and claim type never change. Its
claim details — claim date, the beneficiary's statement, location and period
(R-R6) — may be amended openly by the retiring participant within
`WINDOW_DAYS` days of the retirement date; after that only a claim date not
recorded yet may still be added (RMS 8.6.6: the claim is made after the
retirement), within R-R8's one year. Each amendment is one
``retirement.amended`` entry naming every changed field with its old and
new value; the statement shows the history.

`check_amendment` is the one place of the rule: the service and the replay
(`registry.replay.amendments`) both call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlmodel import select

from registry import claim_details, claims, statements
from registry.actors import Actor
from registry.db import UnitOfWork, get_for_update
from registry.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from registry.journal import record
from registry.lockorder import lock_participants, note_rows_locked
from registry.models import Retirement, RetirementAmendment
from registry.participants import require_active

WINDOW_DAYS = 30
AMENDABLE = ("claim_date", "statement", "location", "period")
# R-R7, RMS 8.8.3: the retired certificates themselves never change.
RETIRED_QUANTITY = ("quantity", "serial")
STATEMENT_MAX = 2000


def last_amendment_day(retired_on: date) -> date:
    """R-R7: the last day claim details may be amended (30 days after the retirement date)."""
    return retired_on + timedelta(days=WINDOW_DAYS)


def _value(field: str, raw: Any) -> Any:
    """A new value as the log records it (JSON: dates as ISO text), checked."""
    if raw is None:
        return None
    if field == "claim_date":
        if isinstance(raw, date):
            return raw.isoformat()
        try:
            return date.fromisoformat(raw).isoformat()
        except (TypeError, ValueError):
            raise InvalidInput("claim_date is an ISO date", field="claim_date", code="invalid_date",
                               rule="R-R7") from None
    if field == "statement":
        if not isinstance(raw, str):
            raise InvalidInput("statement is text", field="statement", code="invalid_statement", rule="R-R7")
        text = raw.strip()  # free text, kept as retire() keeps it (R-R8: labelled as the beneficiary's words)
        if len(text) > STATEMENT_MAX:
            raise InvalidInput(f"statement is at most {STATEMENT_MAX} characters", field="statement",
                               code="invalid_statement", rule="R-R7")
        return text or None
    if field == "location":
        return claim_details.parse_location(raw).to_json()
    return claim_details.parse_period(raw).to_json()


def current_details(retirement: Retirement) -> dict:
    """The amendable claim details of a retirement as the log records them."""
    return {"claim_date": retirement.claim_date.isoformat() if retirement.claim_date else None,
            "statement": retirement.statement,
            "location": claim_details.location_of(retirement),
            "period": claim_details.period_of(retirement)}


def check_amendment(*, retired_on: date, amended_on: date, changes: Mapping[str, Mapping]) -> None:
    """R-R7 on a set of changes ``{field: {"from", "to"}}``: within the
    window anything amendable; after it only a claim date added where there
    was none. The new claim date obeys R-R4 and R-R8; a new location and
    period obey R-R6."""
    if not changes:
        raise InvalidInput("nothing to amend: every value given is the recorded one", code="nothing_to_amend",
                           rule="R-R7")
    for field in changes:
        if field not in AMENDABLE:
            raise InvalidInput(f"{field} is not a claim detail", field=field, code="claim_detail_not_amendable",
                               rule="R-R7")
    only_adds_claim_date = set(changes) == {"claim_date"} and changes["claim_date"].get("from") is None \
        and changes["claim_date"].get("to") is not None
    if amended_on > last_amendment_day(retired_on) and not only_adds_claim_date:
        raise RuleViolation(
            f"claim details may be amended until {last_amendment_day(retired_on)} ({WINDOW_DAYS} days after the "
            f"retirement on {retired_on}); after that only a missing claim date may be added",
            code="amendment_window_closed", rule="R-R7")
    new = changes.get("claim_date", {}).get("to")
    if new is not None:
        claim_date = date.fromisoformat(new)
        claims.check_claim_date(claim_date, retired_on)  # R-R4
        statements.check_claim_date_within_year(claim_date, retired_on)  # R-R8
    if changes.get("location", {}).get("to") is not None:
        claim_details.parse_location(changes["location"]["to"])  # R-R6
    if changes.get("period", {}).get("to") is not None:
        claim_details.parse_period(changes["period"]["to"])


def refuse_fixed_fields(given: Mapping[str, Any]) -> None:
    """R-R7, RMS 8.8.3: the retired quantity, the block and what the claim is
    for never change; naming them in an amendment is refused, not ignored."""
    for field in given:
        if field in RETIRED_QUANTITY:
            raise RuleViolation("a retirement is final: the retired quantity and serial range cannot be amended "
                                "(RMS 8.8.3)", field=field, code="quantity_not_amendable", rule="R-R7")
        if field not in AMENDABLE:
            raise RuleViolation(f"{field} cannot be amended; only {', '.join(AMENDABLE)} can",
                                field=field, code="claim_detail_not_amendable", rule="R-R7")


def amend(uow: UnitOfWork, actor: Actor, retirement_id: int, **given: Any) -> Retirement:
    """Amend the claim details in ``given`` (a field given as None clears it)
    of the actor's retirement ``retirement_id`` (R-R7), with one
    ``retirement.amended`` entry in the caller's transaction (R-X3)."""
    refuse_fixed_fields(given)
    found = uow.session.get(Retirement, retirement_id)
    if found is None:
        raise NotFound(f"no retirement {retirement_id}", code="retirement_not_found")
    # "By the retiring participant": its members, not an administrator (decisions.md, R-R7).
    if actor.role != "member" or actor.participant_id != found.owner_id:
        raise Forbidden("only the participant that retired may amend the claim details",
                        code="not_retiring_participant", rule="R-R7")
    wanted = {field: _value(field, raw) for field, raw in given.items()}
    # R-X5: the owner (shared: its status must hold until commit), the retirement row, then the log.
    owner = lock_participants(uow, {found.owner_id})[found.owner_id]
    retirement = get_for_update(uow.session, Retirement, retirement_id)
    note_rows_locked(uow)
    require_active(owner, "retiring participant")  # R-P3
    before = current_details(retirement)
    changes = {field: {"from": before[field], "to": value} for field, value in wanted.items()
               if before[field] != value}
    amended_on = uow.clock.today()
    check_amendment(retired_on=retirement.retired_on, amended_on=amended_on, changes=changes)
    ref = record(uow, "retirement.amended", actor, {
        "retirement": retirement.id,
        "serial": retirement.serial,
        "owner": retirement.owner_id,
        "retired_on": retirement.retired_on.isoformat(),
        "amended_on": amended_on.isoformat(),
        "changes": changes,
    })
    apply_changes(retirement, {field: change["to"] for field, change in changes.items()})
    uow.session.add(retirement)
    uow.session.add(RetirementAmendment(log_index=ref.index, retirement_id=retirement.id, serial=retirement.serial,
                                        amended_on=amended_on, changes=changes, leaf_hash=ref.leaf_hash))
    uow.flush()
    return retirement


def apply_changes(retirement: Retirement, new: Mapping[str, Any]) -> None:
    """Set the row's columns from the new values as the log records them."""
    if "claim_date" in new:
        retirement.claim_date = date.fromisoformat(new["claim_date"]) if new["claim_date"] else None
    if "statement" in new:
        retirement.statement = new["statement"]
    if "location" in new:
        for column, value in claim_details.location_columns(claim_details.parse_location(new["location"])).items():
            setattr(retirement, column, value)
    if "period" in new:
        for column, value in claim_details.period_columns(claim_details.parse_period(new["period"])).items():
            setattr(retirement, column, value)


def history(uow: UnitOfWork, retirement_id: int) -> list[RetirementAmendment]:
    """The amendments of a retirement, oldest first (R-R7: the statement shows them)."""
    return list(uow.session.exec(select(RetirementAmendment).where(
        RetirementAmendment.retirement_id == retirement_id).order_by(RetirementAmendment.log_index)))
