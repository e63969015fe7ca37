"""RMS content claims on sales, ARC-eligible mass, and ARC claims on retirement
(R-B3, R-B4, R-B5, R-R3, R-R4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from registry.classification import OTHER, PEQ, RecycledStatus, parse_arc_type
from registry.errors import InvalidInput, RuleViolation
from registry.units import KG_PER_CERTIFICATE, exact_arithmetic, format_milli, round_half_up

# --- RMS claim syntax (RMS 6.5.9) ------------------------------------------------

# RMS Table 6.2: the control systems a claim can name.
CONTROL_SYSTEMS = {"AC": "average content", "MB": "mass balance allocation"}

# RMS 6.5.9.2: "RMS", total %, optional "/post-consumer %", optional status,
# control system -- in that order, one space apart. RMS 6.5.3: whole percents.
_CLAIM = re.compile(
    r"RMS (?P<total>[1-9][0-9]{0,2})%(?:/(?P<pc>[1-9][0-9]{0,2})%)?(?: (?P<status>PC|PI))? (?P<system>AC|MB)"
)


@dataclass(frozen=True)
class RmsClaim:
    """A parsed RMS chain-of-custody claim, e.g. ``RMS 50%/10% PC MB``."""

    text: str
    total_percent: int
    status: RecycledStatus
    control_system: str  # "AC" | "MB"
    pc_split_percent: int | None = None  # the "/10%" of "50%/10%"

    @property
    def pc_percent(self) -> int:
        """Post-consumer share of the material the claim covers."""
        if self.pc_split_percent is not None:
            return self.pc_split_percent
        return self.total_percent if self.status is RecycledStatus.PC else 0

    @property
    def fraction(self) -> Decimal:
        return Decimal(self.total_percent) / 100

    def claimed_kg(self, mass_kg: Decimal) -> Decimal:
        """Mass carried as RMS content by a sale of ``mass_kg`` (R-B3):
        the total percentage times the mass, half-up to the gram (R-U4)."""
        with exact_arithmetic():
            return round_half_up(mass_kg * self.total_percent / 100)


# RMS 6.5.3: a claim with a fractional percentage is otherwise well formed ("RMS 15.5% AC").
_FRACTIONAL = re.compile(r"RMS [0-9]+(?:\.[0-9]+)?%(?:/[0-9]+(?:\.[0-9]+)?%)?(?: (?:PC|PI))? (?:AC|MB)")


def parse_claim(raw: Any, *, field: str = "claim", rule: str = "R-B3") -> RmsClaim:
    """Parse RMS claim syntax (RMS 6.5.9, Tables 6.2-6.3).

    ``RMS 40% PC AC``, ``RMS 90% PI AC``, ``RMS 50%/10% PC MB``,
    ``RMS 100% PC MB``; with no status the claim defaults to the lesser
    status R (6.5.4, 6.5.9.4). A "/n%" post-consumer part needs the PC
    designation and cannot exceed the total (6.5.9.3). Raises InvalidInput
    ``invalid_claim``, or ``claim_not_whole_percent`` for a percentage that is
    not a whole number (6.5.3). ``rule`` names the rule of the caller (R-B3 on
    lot dispositions, R-M2/R-M3 on custody inputs and outputs): one parser.
    """
    if isinstance(raw, str) and "." in raw and _FRACTIONAL.fullmatch(raw):
        raise InvalidInput(
            f"{field} {raw!r}: claims are expressed as a percentage rounded to the nearest whole number "
            "(RMS 6.5.3)",
            code="claim_not_whole_percent",
            field=field,
            rule=rule,
        )
    match = _CLAIM.fullmatch(raw) if isinstance(raw, str) else None
    problem = None
    if match is None:
        problem = "the form is 'RMS <total>%[/<post-consumer>%] [PC|PI] <AC|MB>', e.g. 'RMS 75% PC MB'"
    else:
        total = int(match["total"])
        pc = int(match["pc"]) if match["pc"] else None
        status = match["status"]
        if total > 100:
            problem = "the total percentage cannot exceed 100%"
        elif pc is not None and status != "PC":
            problem = "a '/n%' post-consumer part is written with the PC designation, e.g. 'RMS 50%/10% PC MB'"
        elif pc is not None and pc > total:
            problem = "the post-consumer part cannot exceed the total percentage"
    if problem:
        raise InvalidInput(
            f"{field} {raw!r} is not an RMS claim: {problem} (RMS 6.5.9)",
            code="invalid_claim",
            field=field,
            rule=rule,
        )
    return RmsClaim(
        text=raw,
        total_percent=total,
        status=RecycledStatus(status) if status else RecycledStatus.R,
        control_system=match["system"],
        pc_split_percent=pc,
    )


# --- R-B5 (the R-B4 account of a lot is registry.lot_account) ---------------------------------


def disclaimer_required(lot_mass_kg: Decimal, used_kg: Decimal) -> bool:
    """R-B5 (RMS 8.3.4.5): when ARCs stand for the lot's full mass, its sales
    carry no RMS claim and the buyers must be told."""
    return used_kg >= lot_mass_kg


# --- ARC claims at retirement (R-R3, R-R4) -------------------------------------------------

CLAIM_TYPES = ("general", "product")


@dataclass(frozen=True)
class CompositionItem:
    """One material of a product (R-R3): ARC type and its mass in the product."""

    arc_type: str
    mass_kg: Decimal


def check_claim_type(raw: Any) -> str:
    if raw not in CLAIM_TYPES:
        raise InvalidInput(
            f"claim_type must be 'general' or 'product', got {raw!r}",
            code="invalid_claim_type",
            field="claim_type",
            rule="R-R1",
        )
    return raw


def check_product_named(claim_type: str, named: bool) -> None:
    """R-R3 (RMS 8.9.1.3): a product claim names the product and its
    composition; a general claim names none: an unchecked product on a
    general claim would read like a verified product claim in the public
    record (R-R2), so it is refused rather than dropped."""
    if claim_type == "product" and not named:
        raise InvalidInput("a product claim needs the product and its composition (RMS 8.9.1.3)",
                           field="product", code="composition_required", rule="R-R3")
    if claim_type == "general" and named:
        raise InvalidInput("a general claim names no product; use claim_type 'product'",
                           field="product", code="product_not_allowed", rule="R-R3")


def composition_by_type(composition: list[CompositionItem] | tuple[CompositionItem, ...]) -> dict[str, Decimal]:
    """Mass per ARC type in a product; repeated types add up."""
    if not composition:
        raise InvalidInput(
            "a product claim needs the product's composition by material type",
            code="composition_required",
            field="product.composition",
            rule="R-R3",
        )
    totals: dict[str, Decimal] = {}
    for i, item in enumerate(composition):
        type_ = parse_arc_type(item.arc_type, field=f"product.composition[{i}].arc_type")
        if item.mass_kg <= 0:
            raise InvalidInput(
                "a material's mass in the product must be greater than zero",
                code="must_be_positive",
                field=f"product.composition[{i}].mass",
                rule="R-R3",
            )
        totals[type_] = totals.get(type_, Decimal(0)) + item.mass_kg
    return totals


def check_product_claim(
    arc_type: str,
    quantity: Decimal,
    composition: list[CompositionItem] | tuple[CompositionItem, ...],
    *,
    already_retired: Decimal = Decimal(0),
) -> None:
    """R-R3 (RMS 8.9.1.3): ARCs behind a product claim represent a material
    type the product contains, and per type no more tonnes than the product
    holds of it (one certificate = 1 t). ``already_retired`` is what earlier
    retirements already claimed of this type for the same product.

    PEQ and OTHER describe no resin a product could contain, so they back
    only general claims -- unless the composition names them explicitly.
    Raises RuleViolation ``material_mismatch``, ``exceeds_product_mass``.
    """
    by_type = composition_by_type(composition)
    if arc_type not in by_type:
        if arc_type in (PEQ, OTHER):
            detail = (
                f"{arc_type} certificates back general claims only, unless the product composition "
                f"names {arc_type}"
            )
        else:
            detail = f"the product contains {', '.join(sorted(by_type))}, not {arc_type}"
        raise RuleViolation(f"{detail} (RMS 8.9.1.3)", code="material_mismatch", rule="R-R3")
    with exact_arithmetic():
        claimed_kg = (quantity + already_retired) * KG_PER_CERTIFICATE
    if claimed_kg > by_type[arc_type]:
        raise RuleViolation(
            f"{quantity + already_retired} {arc_type} certificates stand for {format_milli(claimed_kg)} kg, more than "
            f"the {format_milli(by_type[arc_type])} kg of {arc_type} in the product (RMS 8.9.1.3)",
            code="exceeds_product_mass",
            rule="R-R3",
        )


def check_claim_date(claim_date: date | None, retired_on: date) -> None:
    """R-R4 (RMS 8.8.1-8.8.2): certificates are retired before any claim is
    made, so a claim date before the retirement date is refused."""
    if claim_date is not None and claim_date < retired_on:
        raise RuleViolation(
            f"the claim date {claim_date} is before the retirement date {retired_on}: retire first, then claim "
            "(RMS 8.8.1)",
            code="claim_before_retirement",
            rule="R-R4",
        )


SHARE_PLACES = Decimal("0.0001")


def claim_share(retired_quantity: Decimal, basis_kg: Decimal) -> Decimal:
    """R-R4 helper: retired tonnes / packaging tonnes, as a fraction to
    0.0001 (0.01%), half-up. Example 8.3: 6 250 ARCs on 25 000 t -> 0.2500."""
    if basis_kg <= 0:
        raise InvalidInput(
            "the claim basis mass must be greater than zero", code="must_be_positive", field="basis_mass", rule="R-R4"
        )
    with exact_arithmetic():
        share = retired_quantity * KG_PER_CERTIFICATE / basis_kg
        return share.quantize(SHARE_PLACES, rounding=ROUND_HALF_UP)
