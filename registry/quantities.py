"""Certificate quantities (R-K4, R-K5, R-U2, R-U4): the contamination cap, PEQ by
heating value, and the per-generation quantity that adds up to one rounding of
a lot's total. Moved out of ``registry.classification`` (behaviour unchanged)."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from registry.classification import PEQ, MaterialCode, arc_type
from registry.errors import InvalidInput, RuleViolation
from registry.units import KG_PER_CERTIFICATE, MILLI, exact_arithmetic, parse_decimal, round_half_up

# P6.1.3.2: the reference LHV of polyethylene.
PE_REFERENCE_LHV = Decimal("44.6")
# P6.2.2: at most 2% of the claimed mass may be non-plastic.
MIN_PLASTIC_SHARE = Decimal("0.98")
# Hydrogen (~120 MJ/kg) has the highest heating value of any substance; a
# figure above this bound is a typo, not a measurement.
MAX_LHV = Decimal(150)
FRACTION_PLACES = 6


def parse_fraction(raw: Any, *, field: str, rule: str = "R-K5") -> Decimal:
    """A mass fraction 0 <= f <= 1 with at most 6 decimals (e.g. ``"0.05"``)."""
    return parse_decimal(raw, field=field, places=FRACTION_PLACES, maximum=Decimal(1), rule=rule)


def parse_lhv(raw: Any, *, field: str = "lhv_mj_per_kg") -> Decimal:
    """Lower heating value in MJ/kg: > 0, at most 3 decimals, at most 150."""
    return parse_decimal(raw, field=field, allow_zero=False, maximum=MAX_LHV, rule="R-K4")


def _exact_claimable(dry_kg: Decimal, non_plastic_fraction: Decimal) -> Decimal:
    with exact_arithmetic():
        plastic = dry_kg * (1 - non_plastic_fraction)
        # P6.2.2: non-plastic may be at most 2% of the *claimed* mass, so the
        # claim can carry up to plastic / 0.98, never more than the dry mass.
        return min(dry_kg, plastic / MIN_PLASTIC_SHARE)


def claimable_mass(dry_kg: Decimal, non_plastic_fraction: Decimal) -> Decimal:
    """Mass a base material may claim under the contamination cap (R-K5).

    min(dry, dry x (1 - f) / 0.98), rounded half-up to the gram (R-U4).
    Example P6.2: 1% pigment -> all of it; 5% ash -> 96.94% of the dry mass.
    """
    _check_fraction(non_plastic_fraction)
    return round_half_up(_exact_claimable(dry_kg, non_plastic_fraction))


def peq_quantity(mass_kg: Decimal, lhv_mj_per_kg: Decimal) -> Decimal:
    """PEQ certificates for an intermediate (R-K4, P6.1.3).

    mass x LHV / (44.6 MJ/kg x 1000 kg/PEQ), half-up to 0.001 (R-U4):
    Example P6.1, 1000 kg at 40.0 MJ/kg -> 0.897 PEQ.
    """
    with exact_arithmetic():
        return round_half_up(mass_kg * lhv_mj_per_kg / (PE_REFERENCE_LHV * KG_PER_CERTIFICATE))


def _exact_certificates(
    type_: str, base_kg: Decimal, non_plastic_fraction: Decimal, lhv: Decimal | None
) -> Decimal:
    with exact_arithmetic():
        claimable = _exact_claimable(base_kg, non_plastic_fraction)
        if type_ == PEQ:
            return claimable * lhv / PE_REFERENCE_LHV / KG_PER_CERTIFICATE
        return claimable / KG_PER_CERTIFICATE


def certificate_quantity(
    material: MaterialCode,
    base_kg: Decimal,
    *,
    non_plastic_fraction: Decimal = Decimal(0),
    lhv_mj_per_kg: Decimal | None = None,
) -> Decimal:
    """Certificates a base mass yields: contamination cap (R-K5), then 1000 kg
    per ARC or the LHV ratio for PEQ (R-K4), rounded once half-up to 0.001
    (R-U4) -- never rounding the intermediate claimable mass.

    Raises RuleViolation ``material_not_eligible`` (R-K2) and InvalidInput
    ``lhv_required`` when a P2 intermediate has no LHV (R-B1).
    """
    type_ = arc_type(material)
    _check_fraction(non_plastic_fraction)
    lhv = _required_lhv(type_, lhv_mj_per_kg)
    return round_half_up(_exact_certificates(type_, base_kg, non_plastic_fraction, lhv))


def generation_quantity(
    material: MaterialCode,
    *,
    used_before_kg: Decimal,
    mass_kg: Decimal,
    non_plastic_fraction: Decimal = Decimal(0),
    lhv_mj_per_kg: Decimal | None = None,
) -> Decimal:
    """Certificates for using ``mass_kg`` more of a lot (or lot component)
    whose base mass already used is ``used_before_kg``.

    The quantity is Q(used + mass) - Q(used), Q being certificate_quantity:
    successive generations from one lot then add up to exactly one rounding
    of the lot's total, so splitting a lot into 500 g requests can never
    turn half-up rounding into extra certificates (RMS 8.3.4.3).

    Raises RuleViolation ``quantity_below_minimum`` when the mass is too
    small to make 0.001 certificate (R-U2), plus certificate_quantity's.
    """
    if mass_kg <= 0 or used_before_kg < 0:
        raise ValueError("mass_kg must be positive and used_before_kg non-negative")
    kwargs = {"non_plastic_fraction": non_plastic_fraction, "lhv_mj_per_kg": lhv_mj_per_kg}
    before = certificate_quantity(material, used_before_kg, **kwargs)
    after = certificate_quantity(material, used_before_kg + mass_kg, **kwargs)
    quantity = after - before
    if quantity <= 0:
        raise RuleViolation(
            f"{mass_kg} kg of {material.id} is less than 0.001 certificate; use more base material",
            code="quantity_below_minimum",
            rule="R-U2",
        )
    return quantity


def generation_quantity_range(
    material: MaterialCode,
    *,
    mass_kg: Decimal,
    non_plastic_fraction: Decimal = Decimal(0),
    lhv_mj_per_kg: Decimal | None = None,
) -> tuple[Decimal, Decimal]:
    """The least and the greatest quantity `generation_quantity` can give for
    ``mass_kg``, whatever base mass was used before -- for a verifier that
    knows the mass generated but not what the lot had used (R-L7c).

    Q(x), certificate_quantity, is the half-up rounding of c * x, c fixed by
    the material (R-K4, R-K5). Each rounding moves a value by [-0.0005,
    0.0005), so Q(u + m) - Q(u) lies strictly within 0.001 of c * m: it is
    c * m when that is a whole number of thousandths, else c * m rounded down
    or up to 0.001.
    """
    type_ = arc_type(material)
    _check_fraction(non_plastic_fraction)
    lhv = _required_lhv(type_, lhv_mj_per_kg)
    exact = _exact_certificates(type_, mass_kg, non_plastic_fraction, lhv)
    with exact_arithmetic():
        return (exact.quantize(MILLI, rounding=ROUND_FLOOR), exact.quantize(MILLI, rounding=ROUND_CEILING))


def _required_lhv(type_: str, lhv: Decimal | None) -> Decimal | None:
    if type_ != PEQ:
        return None
    if lhv is None or lhv <= 0:
        raise InvalidInput(
            "a P2 intermediate needs its lower heating value in MJ/kg to count PEQ",
            code="lhv_required",
            field="lhv_mj_per_kg",
            rule="R-K4",
        )
    return lhv


def _check_fraction(fraction: Decimal) -> None:
    if not isinstance(fraction, Decimal) or not 0 <= fraction <= 1:
        raise ValueError(f"non_plastic_fraction must be a Decimal in [0, 1], got {fraction!r}")
