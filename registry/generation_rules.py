"""Rules of R-G1 that generation checks on the lot it generates from, pure
(plain values in, RuleViolation out) so that the service
(registry.generation) and replay (registry.replay.generation_checks) apply the
same ones (R-L7c):

* RMS 8.6.3: ARCs are generated within one year of processing, by calendar
  arithmetic (SPEC R-G1: processed on 2023-02-28 -> last day 2024-02-28;
  processed on 2024-02-29 -> last day 2025-02-28);
* RMS 8.3.1, 8.3.2, 8.6.4: the certificate the lot cites was valid on the
  lot's processing date as the register stands at generation (events
  recorded since the lot was registered count), covers reprocessing, and
  lists the lot's site (R-G5, registry.lot_rules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from registry import certification, lot_rules
from registry.additionality.ceiling import basis_date, facility_ceiling_kg
from registry.calendar import one_year_after
from registry.custody.credit import SERVES
from registry.errors import RuleViolation


def last_generation_day(processed_on: date) -> date:
    """The last day a lot processed on ``processed_on`` may generate: the
    same day of the next calendar year; 28 February for 29 February."""
    return one_year_after(processed_on)


def require_recent(processed_on: date, today: date) -> None:
    """RMS 8.6.3 (R-G1): refuse ``lot_too_old`` once today is past the last day."""
    last = last_generation_day(processed_on)
    if today > last:
        raise RuleViolation(f"the lot was processed on {processed_on}, more than one year ago: it could generate "
                            f"until {last} (RMS 8.6.3)", field="lot_id", code="lot_too_old", rule="R-G1")


def require_cited_certificate(*, number: str, processed_on: date, periods: Iterable,
                              events: Iterable[certification.CertificateEvent], activities: Iterable[str],
                              facility: tuple[str, str] | None, sites: Sequence[dict] | None) -> None:
    """R-G1, last bullet (RMS 8.3.1, 8.3.2, 8.6.4): the lot's own certificate,
    re-checked at generation with the events known then. Codes:
    ``certificate_invalid`` (not valid on the processing date),
    ``scope_excludes_reprocessing``, ``facility_not_certified`` (R-G5).
    ``facility`` is the lot's site as (country, name); None when a replayed
    log predates facilities carrying their country (no R-G5 check then).
    ``periods`` are every validity period (R-C6); ``activities`` and
    ``sites`` the scope in force on the processing date, the sites being
    those the generator may cite it for (a group member's own), None when
    it may not cite it."""
    standing = certification.status_on(processed_on, periods, events)
    if standing != "valid":
        raise RuleViolation(f"the lot's RMS certificate {number} is {standing.replace('_', ' ')} on "
                            f"{processed_on}, the day the lot was processed: it was not valid on {processed_on} "
                            "as the register now stands (RMS 8.6.4)", field="lot_id", code="certificate_invalid",
                            rule="R-G1")
    if "reprocessing" not in set(activities):
        raise RuleViolation(f"the lot's RMS certificate {number} does not cover reprocessing, which generating "
                            "ARCs requires (RMS 8.3.1)", field="lot_id", code="scope_excludes_reprocessing",
                            rule="R-G1")
    if sites is None:
        raise RuleViolation(f"the lot's RMS certificate {number} is not the generator's, nor a group certificate "
                            f"listing it on {processed_on}", field="lot_id", code="certificate_invalid", rule="R-G1")
    if facility is not None:
        lot_rules.require_certified_site(facility[0], facility[1], list(sites))  # R-G5


# --- What a lot can back, before generating (R-W2) ---------------------------------------------

@dataclass(frozen=True)
class Limit:
    """One bound on the base mass a generation may use, in words and kilograms."""

    what: str  # "lot", "standing", "age", "additionality", "facility", "basis_date", "phase_out", "credit"
    kg: Decimal
    why: str


@dataclass(frozen=True)
class Availability:
    """How much base mass one component of a lot can back with ARCs today, every bound
    that applies and which one binds (``base_kg`` = the least, never below zero)."""

    status: str
    limits: tuple[Limit, ...]
    base_kg: Decimal
    binding: Limit | None
    certificates: Decimal


def availability(*, status: str, sold_kg: Decimal, claimed_kg: Decimal, used_kg: Decimal, lot_eligible_kg: Decimal,
                 processed_on: date, today: date, year: int, lot_line: int | None,
                 current: Sequence[tuple[int, int | None, bool, Decimal, bool, dict]],
                 facility_used_kg: Decimal, line_used_kg: Mapping[int, Decimal],
                 credit_kg: Mapping[str, Decimal] | None,
                 quantity: Callable[[Decimal], Decimal], refused: Sequence[str] = ()) -> Availability:
    """R-W2: the base mass a generation from the lot's component ``status`` can use today and
    why, from the same bounds `registry.generation.generate` enforces, on plain values:

    * R-B4: the component's ARC-eligible mass, sold − claimed − used (``lot_eligible_kg``);
    * R-G1, RMS 8.6.3: nothing once the lot is more than a year old;
    * R-A2, R-A8: the determination of the year the lot was processed (``current``: the
      facility's current ones as (id, line, additional?, eligible kg, post-consumer only?,
      newness record)) — the line's own, else the facility's — and what is left of its
      volume; R-A9: what is left of the facility's ceiling for the year; R-A5: a phase-out
      determination backs post-consumer material only; R-A8: only output processed on or
      after the basis date;
    * R-M4, R-M6: for a lot of a custody account, the credit left (``credit_kg`` by status,
      after expiry), its own status first and then better ones (``credit.SERVES``).

    ``quantity`` turns base kilograms into certificates (R-K4, R-K5: the caller's
    `quantities.generation_quantity`, which refuses too little mass); ``refused`` holds
    the refusals of the generator's own standing (R-P2, R-G1: not active, no valid
    certificate covering reprocessing today, the lot's certificate not valid on its
    processing date), each of which allows nothing."""
    zero = Decimal("0.000")
    limits = [Limit("lot", lot_eligible_kg,
                    f"{sold_kg} kg sold or consumed, {claimed_kg} kg carried as RMS claims on sales, {used_kg} kg "
                    f"already used for ARCs: {lot_eligible_kg} kg of the {status} component can back ARCs (R-B4)")]
    limits += [Limit("standing", zero, why) for why in refused]
    last = last_generation_day(processed_on)
    if today > last:
        limits.append(Limit("age", zero, f"the lot could generate until {last}, one year after processing "
                                         "(RMS 8.6.3, R-G1)"))
    covering = next((d for d in current if d[1] is not None and d[1] == lot_line), None) \
        or next((d for d in current if d[1] is None), None)
    if covering is None:
        limits.append(Limit("additionality", zero, f"no additionality determination covers the facility for {year}, "
                                                   "the year the lot was processed (R-A2, R-A8)"))
    elif not covering[2]:
        limits.append(Limit("additionality", zero, f"determination {covering[0]} found the facility not additional "
                                                   f"for {year} (R-A3)"))
    else:
        ident, line, _, eligible, pc_only, newness = covering
        used = line_used_kg.get(line, zero) if line is not None else facility_used_kg
        where = f"line {line}" if line is not None else "the facility"
        limits.append(Limit("additionality", eligible - used,
                            f"determination {ident} gives {where} {eligible} kg of eligible volume for {year}; "
                            f"{used} kg are used: {eligible - used} kg left (R-A2, R-A9)"))
        if line is not None:
            own = next((d[3] for d in current if d[1] is None and d[2]), None)
            ceiling = facility_ceiling_kg(own, (d[3] for d in current if d[1] is not None and d[2]))
            limits.append(Limit("facility", ceiling - facility_used_kg,
                                f"the facility's ceiling for {year} is {ceiling} kg; {facility_used_kg} kg are used "
                                f"(R-A9)"))
        start = basis_date(newness)
        if start is not None and processed_on < start:
            limits.append(Limit("basis_date", zero, f"the lot was processed on {processed_on}, before the basis date "
                                                    f"{start}: only new output is additional (R-A8)"))
        if pc_only and status != "PC":
            limits.append(Limit("phase_out", zero, "the phase-out exemption backs post-consumer material only (R-A5)"))
    if credit_kg is not None:
        have = sum((max(zero, credit_kg[s]) for s in SERVES[status]), zero)
        limits.append(Limit("credit", have, f"the lot's custody account has {have} kg of certified credit a "
                                            f"{status} claim may draw, after expiry (R-M4, R-M6)"))
    binding = min(limits, key=lambda limit: limit.kg)
    base_kg = max(binding.kg, zero)
    certificates = zero
    if base_kg > 0:
        try:
            certificates = quantity(base_kg)
        except RuleViolation:  # R-U2: less than 0.001 certificate
            certificates = zero
    return Availability(status=status, limits=tuple(limits), base_kg=base_kg, binding=binding,
                        certificates=certificates)
