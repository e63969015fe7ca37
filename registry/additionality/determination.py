"""Combining the additionality tests into one determination (R-A2, R-A3, R-A7)."""

from __future__ import annotations

from decimal import Decimal

from registry.errors import InvalidInput
from registry.units import exact_arithmetic, round_half_up

from .class_tests import class_b_test, regulatory_test
from .model import (
    ADDITIONAL,
    NOT_ADDITIONAL,
    BasisVolume,
    Capacity,
    DeterminationInput,
    Determination,
    Financial,
    NewOperation,
    PhaseOut,
    Quality,
    TestResult,
)
from .newness import (
    PHASE_OUT_LAST_YEAR,
    capacity_test,
    financial_test,
    new_operation_test,
    newness_last_year,
    phase_out_test,
    qualifying_start,
    quality_test,
)

# Table P7.2 starts with certification year 2021, the first year of ARCs.
FIRST_CERTIFICATION_YEAR = 2021
LAST_CERTIFICATION_YEAR = 2100


def check_year(year: int, field: str = "certification_year") -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not (
        FIRST_CERTIFICATION_YEAR <= year <= LAST_CERTIFICATION_YEAR
    ):
        raise InvalidInput(
            f"{field} must be a year from {FIRST_CERTIFICATION_YEAR} to {LAST_CERTIFICATION_YEAR}, got {year!r}",
            code="out_of_range",
            field=field,
            rule="R-A2",
        )
    return year


def newness_test(inp: DeterminationInput) -> tuple[TestResult, BasisVolume]:
    """R-A5: the one newness basis of the determination, tested for its year."""
    year, first, basis = inp.certification_year, inp.first_certified_year, inp.newness
    if isinstance(basis, NewOperation):
        return new_operation_test(basis, year, inp.capacity_kg, first)
    if isinstance(basis, Financial):
        return financial_test(basis, year, inp.capacity_kg, first)
    if isinstance(basis, Quality):
        return quality_test(basis, year, first)
    if isinstance(basis, Capacity):
        return capacity_test(basis, year, first, line_scoped=inp.line_scoped, facility_lines=inp.facility_lines)
    if isinstance(basis, PhaseOut):
        return phase_out_test(year, inp.capacity_kg)
    raise InvalidInput(
        "newness.basis must be one of new_operation, financial, quality, capacity, phase_out",
        code="unknown_newness_basis",
        field="newness.basis",
        rule="R-A5",
    )


def eligible_volume(basis_kg: Decimal, mandate_share: Decimal) -> Decimal:
    """R-A7: basis x (1 - mandate share), half-up to the gram (R-U4)."""
    with exact_arithmetic():
        return round_half_up(basis_kg * (1 - mandate_share))


def determine(inp: DeterminationInput) -> Determination:
    """Run every test and combine them (R-A3, P7.1.1).

    Additional only when both Class A tests (regulatory, newness) and at
    least one Class B test pass; otherwise the eligible volume is zero. A
    determination for certification year Y covers calendar year Y only:
    capacities are annual, Table P7.5 changes share every calendar year, and
    RMS certification is renewed by an annual audit (RMS 7.2.2).
    """
    year = check_year(inp.certification_year)
    if inp.first_certified_year is not None:
        check_year(inp.first_certified_year, "first_certified_year")
        if inp.first_certified_year > year:
            raise InvalidInput(
                "first_certified_year cannot be after the certification year",
                code="out_of_range",
                field="first_certified_year",
                rule="R-A5",
            )
    if not isinstance(inp.capacity_kg, Decimal) or inp.capacity_kg <= 0:
        raise InvalidInput(
            "the facility or line needs a positive annual capacity", code="must_be_positive", field="capacity",
            rule="R-A1",
        )
    regulatory = regulatory_test(inp.mandate_share)
    newness, basis = newness_test(inp)
    class_b = class_b_test(tuple(inp.class_b))
    tests = (regulatory, newness, class_b)
    additional = all(t.passed for t in tests) and basis.kg > 0
    eligible = eligible_volume(basis.kg, inp.mandate_share) if additional else Decimal("0.000")
    return Determination(
        outcome=ADDITIONAL if additional else NOT_ADDITIONAL,
        year=year,
        reasons=tuple(t.reason for t in tests),
        tests=tests,
        basis_kg=round_half_up(basis.kg),
        eligible_kg={year: eligible},
        pc_only=basis.pc_only,
        newness_last_year=_last_year(inp) if additional else None,
    )


def _last_year(inp: DeterminationInput) -> int:
    """The last certification year the basis can carry (P7.2.2.2, P7.2.5.1)."""
    basis = inp.newness
    if isinstance(basis, PhaseOut):
        return PHASE_OUT_LAST_YEAR
    if isinstance(basis, NewOperation):
        return newness_last_year(qualifying_start(basis)[0])
    return newness_last_year(basis.invested_on)
