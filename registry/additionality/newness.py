"""The Newness test (Class A) and its phase-out exemption (R-A5, Plastics Module P7.2.2-P7.2.5).

Each basis yields a TestResult and, when it passes, the annual volume it
qualifies. Volumes stay exact here; the determination rounds once (R-A7).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_FLOOR, Decimal

from registry.errors import InvalidInput, RuleViolation
from registry.units import exact_arithmetic, format_milli, round_half_up

from .model import (
    INVESTMENT_CATEGORIES,
    BasisVolume,
    Capacity,
    Financial,
    NewOperation,
    Quality,
    TestResult,
)

NEWNESS_YEARS = 15  # P7.2.2.2
RESTART_MIN_MONTHS = 6  # P7.2.3.2
# P7.2.4.5 (iii)-(iv): the text's 25% and 50% bounds; Table P7.4's "51% or
# more" is read as the text says (SPEC §16).
HALF_THRESHOLD = Decimal("0.25")
FULL_THRESHOLD = Decimal("0.50")
QUALITY_PRICE_MARGIN = Decimal("0.10")  # P7.2.4.6 (ii): 10 percentage points
CAPACITY_MIN_INCREASE = Decimal("0.10")  # P7.2.4.7 (i)
# Table P7.5: share of capacity eligible in each year of the phase-out.
PHASE_OUT_SHARES = {
    2021: Decimal("0.50"),
    2022: Decimal("0.40"),
    2023: Decimal("0.30"),
    2024: Decimal("0.20"),
    2025: Decimal("0.10"),
}
PHASE_OUT_END = date(2025, 12, 31)
PHASE_OUT_LAST_YEAR = PHASE_OUT_END.year

_NEWNESS = "newness"
_NONE = BasisVolume(Decimal(0))


def new_date(certification_year: int) -> date:
    """Table P7.2: January 1 three years before the certification year."""
    return date(certification_year - 3, 1, 1)


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def newness_last_year(basis_date: date) -> int:
    """P7.2.2.2: a newness basis holds for 15 years after the installation or
    reinvestment. Determinations are per calendar year, so it holds through
    the 15th calendar year after it (Example P7.2: installed 2020 -> eligible
    until 2035, 2035 included)."""
    return basis_date.year + NEWNESS_YEARS


def _dated_newness(basis_date: date, year: int, first_certified_year: int | None) -> tuple[bool, str]:
    """The date conditions every dated basis shares.

    A basis is new for the first certification year when it is on or after
    that year's New Date (P7.2.2.1, P7.2.4.3). Under continuous certification
    it then holds through the 15th calendar year after it (P7.2.2.2; Example
    P7.2 reads "until 2035" for a 2020 installation, so 2035 is included).
    """
    if basis_date > date(year, 12, 31):
        raise InvalidInput(
            f"{basis_date} is after certification year {year}: a determination cannot rest on a future event",
            code="date_out_of_range",
            field="newness",
            rule="R-A5",
        )
    initial_year = first_certified_year or year
    threshold = new_date(initial_year)
    last_year = newness_last_year(basis_date)
    if basis_date < threshold:
        return False, (
            f"{basis_date} is before the New Date {threshold} of certification year {initial_year} (Table P7.2)"
        )
    if year > last_year:
        return False, (
            f"the 15 years of {basis_date} ended with {last_year}; renew against the New Date of {year} (P7.2.2.2)"
        )
    since = f" (continuously certified since {initial_year})" if first_certified_year else ""
    return True, (
        f"{basis_date} is on or after the New Date {threshold}{since} (Table P7.2) and qualifies "
        f"through {last_year} (P7.2.2.2)"
    )


# --- New operations (P7.2.3) ---------------------------------------------------------


def qualifying_start(operation: NewOperation) -> tuple[date, str]:
    """The date an operation counts as new from, and why.

    P7.2.3.2: an existing facility is new again when it stopped for at least
    six months, changed ownership and restarted -- from the restart.
    P7.2.3.3: a restart under the same owner changes nothing.
    """
    restart = operation.restart
    if restart is None:
        return operation.operation_start, f"operation started on {operation.operation_start}"
    if not operation.operation_start <= restart.stopped_on <= restart.restarted_on:
        raise InvalidInput(
            "dates must run operation_start <= restart.stopped_on <= restart.restarted_on",
            code="invalid_date_order",
            field="newness.restart",
            rule="R-A5",
        )
    original = f"the original start {operation.operation_start} counts"
    if not restart.ownership_changed:
        return operation.operation_start, (
            f"the restart on {restart.restarted_on} was under the same ownership, which does not make a "
            f"new operation (P7.2.3.3); {original}"
        )
    if restart.restarted_on < add_months(restart.stopped_on, RESTART_MIN_MONTHS):
        return operation.operation_start, (
            f"the facility stopped on {restart.stopped_on} and restarted on {restart.restarted_on}, less than "
            f"six months (P7.2.3.2); {original}"
        )
    return restart.restarted_on, (
        f"the facility stopped on {restart.stopped_on} and restarted under new ownership on "
        f"{restart.restarted_on} (P7.2.3.2)"
    )


def new_operation_test(
    operation: NewOperation, year: int, capacity_kg: Decimal, first_certified_year: int | None = None
) -> tuple[TestResult, BasisVolume]:
    """P7.2.3: a new operation qualifies the full capacity."""
    start, why_start = qualifying_start(operation)
    passed, why_date = _dated_newness(start, year, first_certified_year)
    reason = f"Newness (new operation): {why_start}; {why_date}"
    if passed:
        reason += f"; qualifies the full capacity of {_kg(capacity_kg)} per year"
    return _result(passed, reason, "P7.2.3"), BasisVolume(capacity_kg) if passed else _NONE


# --- Eligible reinvestments (P7.2.4) ---------------------------------------------------


def financial_ratio(financial: Financial) -> Decimal:
    """Qualifying investment / pre-investment fair market value (exact).

    P7.2.4.5 (ii): only primary reprocessing equipment counts; labour,
    engineering studies, rentals and permits (and anything else) do not.
    """
    if financial.fair_market_value <= 0:
        raise InvalidInput(
            "fair_market_value must be greater than zero",
            code="must_be_positive",
            field="newness.fair_market_value",
            rule="R-A5",
        )
    for i, item in enumerate(financial.investments):
        if item.category not in INVESTMENT_CATEGORIES:
            raise InvalidInput(
                f"investment category must be one of {', '.join(INVESTMENT_CATEGORIES)}; got {item.category!r}",
                code="unknown_investment_category",
                field=f"newness.investments[{i}].category",
                rule="R-A5",
            )
        if item.amount < 0:
            raise InvalidInput(
                "an investment amount cannot be negative",
                code="must_not_be_negative",
                field=f"newness.investments[{i}].amount",
                rule="R-A5",
            )
    with exact_arithmetic():
        qualifying = sum((i.amount for i in financial.investments if i.category == "primary_equipment"), Decimal(0))
        return qualifying / financial.fair_market_value


def financial_share(ratio: Decimal) -> Decimal:
    """Share of capacity a reinvestment ratio qualifies (P7.2.4.5 iii-iv):
    below 25% none, from 25% half, from 50% all."""
    if ratio >= FULL_THRESHOLD:
        return Decimal(1)
    if ratio >= HALF_THRESHOLD:
        return Decimal("0.5")
    return Decimal(0)


def financial_test(
    financial: Financial, year: int, capacity_kg: Decimal, first_certified_year: int | None = None
) -> tuple[TestResult, BasisVolume]:
    ratio = financial_ratio(financial)
    share = financial_share(ratio)
    in_time, why_date = _dated_newness(financial.invested_on, year, first_certified_year)
    qualifying = f"qualifying investment is {_percent(ratio)} of the fair market value"
    if share == 0:
        reason = f"{qualifying}, below the 25% threshold (P7.2.4.5 i)"
    else:
        portion = "all" if share == 1 else "half"
        reason = f"{qualifying}, which qualifies {portion} of the capacity (P7.2.4.5 iii-iv)"
    passed = in_time and share > 0
    with exact_arithmetic():
        basis = capacity_kg * share
    if passed:
        reason += f", {_kg(basis)} per year"
    reason = f"Newness (financial reinvestment): {reason}; reinvestment {why_date}"
    return _result(passed, reason, "P7.2.4.5"), BasisVolume(basis) if passed else _NONE


def quality_test(
    quality: Quality, year: int, first_certified_year: int | None = None
) -> tuple[TestResult, BasisVolume]:
    """P7.2.4.6: a price premium of at least 10 points over the market index,
    or a reclassification; the basis is the volume meeting the new specification."""
    if quality.volume_kg <= 0:
        raise InvalidInput(
            "volume must be greater than zero", code="must_be_positive", field="newness.volume", rule="R-A5"
        )
    findings = []
    improved = False
    if quality.price_increase is not None or quality.market_increase is not None:
        if quality.price_increase is None or quality.market_increase is None:
            missing = "price_increase" if quality.price_increase is None else "market_increase"
            raise InvalidInput(
                "a price comparison needs both the price increase and the market index increase (P7.2.4.6 ii)",
                code="incomplete_price_comparison",
                field=f"newness.{missing}",
                rule="R-A5",
            )
        margin = quality.price_increase - quality.market_increase
        met = margin >= QUALITY_PRICE_MARGIN
        improved |= met
        findings.append(
            f"price rose {_percent(quality.price_increase)} against a market rise of "
            f"{_percent(quality.market_increase)}, a difference of {_percent(margin)} "
            f"({'at least' if met else 'less than'} the 10 points of P7.2.4.6 ii)"
        )
    if quality.reclassification and quality.reclassification.strip():
        improved = True
        findings.append(f"the product was reclassified: {quality.reclassification.strip()} (P7.2.4.6 i)")
    if not findings:
        findings.append("neither a price comparison nor a reclassification was recorded (P7.2.4.6 i)")
    in_time, why_date = _dated_newness(quality.invested_on, year, first_certified_year)
    passed = improved and in_time
    reason = f"Newness (quality improvement): {'; '.join(findings)}; reinvestment {why_date}"
    if passed:
        reason += f"; qualifies the {_kg(quality.volume_kg)} per year meeting the new specification (P7.2.4.6 iii)"
    return _result(passed, reason, "P7.2.4.6"), BasisVolume(quality.volume_kg) if passed else _NONE


def capacity_test(
    capacity: Capacity,
    year: int,
    first_certified_year: int | None = None,
    *,
    line_scoped: bool = False,
    facility_lines: int = 0,
) -> tuple[TestResult, BasisVolume]:
    """P7.2.4.7: production up by at least 10%; the basis is the increase,
    and only from the improved line (iv)."""
    for name, value in (("before", capacity.before_kg), ("after", capacity.after_kg)):
        if value <= 0:
            raise InvalidInput(
                f"{name} must be greater than zero", code="must_be_positive", field=f"newness.{name}", rule="R-A5"
            )
    if facility_lines > 1 and not line_scoped:
        raise RuleViolation(
            "the facility runs several lines: an increased-capacity determination must name the improved line "
            "(P7.2.4.7 iv)",
            code="line_required",
            rule="R-A5",
        )
    with exact_arithmetic():
        increase = capacity.after_kg / capacity.before_kg - 1
        added = capacity.after_kg - capacity.before_kg
    met = increase >= CAPACITY_MIN_INCREASE
    in_time, why_date = _dated_newness(capacity.invested_on, year, first_certified_year)
    passed = met and in_time
    reason = (
        f"Newness (increased capacity): production went from {_kg(capacity.before_kg)} to "
        f"{_kg(capacity.after_kg)} per year, {_percent(increase)} "
        f"({'at least' if met else 'less than'} the 10% of P7.2.4.7 i); reinvestment {why_date}"
    )
    if passed:
        reason += f"; qualifies the increase of {_kg(added)} per year (P7.2.4.7 iii)"
    return _result(passed, reason, "P7.2.4.7"), BasisVolume(added) if passed else _NONE


# --- Phase-out exemption (P7.2.5) ---------------------------------------------------------


def phase_out_share(year: int) -> Decimal:
    """Table P7.5: 50/40/30/20/10 % for 2021-2025, nothing from 2026."""
    return PHASE_OUT_SHARES.get(year, Decimal(0))


def phase_out_test(year: int, capacity_kg: Decimal) -> tuple[TestResult, BasisVolume]:
    """P7.2.5: existing capacity, shrinking yearly, post-consumer only (P7.2.5.2)."""
    share = phase_out_share(year)
    if share == 0:
        reason = (
            f"Newness exemption for existing processors: the phase-out period ended on {PHASE_OUT_END}; "
            f"it yields nothing for {year} (P7.2.5.1)"
        )
        return _result(False, reason, "P7.2.5"), _NONE
    with exact_arithmetic():
        basis = capacity_kg * share
    reason = (
        f"Newness exemption for existing processors: {_percent(share)} of the capacity of {_kg(capacity_kg)} "
        f"in {year} (Table P7.5), {_kg(basis)} per year, post-consumer material only (P7.2.5.2)"
    )
    return _result(True, reason, "P7.2.5"), BasisVolume(basis, pc_only=True)


# --- helpers ---------------------------------------------------------------------------------


def _result(passed: bool, reason: str, clause: str) -> TestResult:
    return TestResult(test=_NEWNESS, passed=passed, reason=reason, clause=clause)


def _kg(value: Decimal) -> str:
    return f"{format_milli(round_half_up(value))} kg"


def _percent(fraction: Decimal) -> str:
    """The fraction as a percentage to 0.1%, rounded down: a figure below a threshold never reads as
    the threshold itself (9.99% is "9.9%, below the 10%", never "10%, below the 10%")."""
    with exact_arithmetic():
        text = format((fraction * 100).quantize(Decimal("0.1"), rounding=ROUND_FLOOR).normalize(), "f")
    return f"{text}%"
