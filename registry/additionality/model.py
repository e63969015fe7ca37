"""Plain inputs and results of an additionality determination (R-A2..R-A7).

The inputs mirror the body of ``POST /determinations`` (SPEC §13.1) after the
API has parsed it: dates are ``date``, masses are kilograms as ``Decimal``,
shares are fractions as ``Decimal`` (``"0.40"`` = 40%). Evidence digests are
stored by the service; the rules only need the certifier's verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


# --- Newness bases (R-A5): exactly one per determination -----------------------


@dataclass(frozen=True)
class Restart:
    """A stop and restart of an existing facility (P7.2.3.2-3)."""

    stopped_on: date
    restarted_on: date
    ownership_changed: bool


@dataclass(frozen=True)
class NewOperation:
    """P7.2.3: a newly built facility, or a qualifying restart."""

    operation_start: date
    restart: Restart | None = None
    basis: str = field(default="new_operation", init=False)


INVESTMENT_CATEGORIES = ("primary_equipment", "labour", "engineering", "rental", "permit", "other")


@dataclass(frozen=True)
class Investment:
    category: str  # one of INVESTMENT_CATEGORIES
    amount: Decimal


@dataclass(frozen=True)
class Financial:
    """P7.2.4.5: reinvestment measured against the pre-investment fair market value."""

    invested_on: date
    fair_market_value: Decimal
    investments: tuple[Investment, ...]
    basis: str = field(default="financial", init=False)


@dataclass(frozen=True)
class Quality:
    """P7.2.4.6: a price premium over the market or a reclassification.

    ``price_increase`` and ``market_increase`` are fractions (0.15 = 15%);
    ``reclassification`` describes the new specification (e.g. food grade).
    """

    invested_on: date
    volume_kg: Decimal
    price_increase: Decimal | None = None
    market_increase: Decimal | None = None
    reclassification: str | None = None
    basis: str = field(default="quality", init=False)


@dataclass(frozen=True)
class Capacity:
    """P7.2.4.7: production per year before (>= 12 months) and after."""

    invested_on: date
    before_kg: Decimal
    after_kg: Decimal
    basis: str = field(default="capacity", init=False)


@dataclass(frozen=True)
class PhaseOut:
    """P7.2.5: the newness exemption for existing processors, 2021-2025."""

    basis: str = field(default="phase_out", init=False)


Newness = NewOperation | Financial | Quality | Capacity | PhaseOut
REINVESTMENTS = (Financial, Quality, Capacity)


# --- Class B (R-A6) ----------------------------------------------------------------

CLASS_B_TESTS = ("common_practice", "financial", "technology", "performance_benchmark")


@dataclass(frozen=True)
class ClassBTest:
    """One Class B test as the certifier recorded it (P7.3)."""

    test: str  # one of CLASS_B_TESTS
    passed: bool
    rationale: str = ""


# --- The determination ----------------------------------------------------------------


@dataclass(frozen=True)
class DeterminationInput:
    """Everything the rules need for one facility (or line) and year.

    ``capacity_kg`` is the annual production capacity of the facility or line
    the determination is for (R-A1). ``first_certified_year``: the first year
    of an unbroken run of additional determinations on this same newness
    basis, if the facility is being re-determined; the 15-year window of
    P7.2.2.2 only carries a basis past its New Date under continuous
    certification. ``line_scoped``/``facility_lines``: whether the
    determination names a line, and how many lines the facility has
    (P7.2.4.7 iv).
    """

    certification_year: int
    capacity_kg: Decimal
    mandate_share: Decimal
    newness: Newness
    class_b: tuple[ClassBTest, ...] = ()
    first_certified_year: int | None = None
    line_scoped: bool = False
    facility_lines: int = 0


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test with the reason a person can read."""

    __test__ = False  # not a pytest test class

    test: str
    passed: bool
    reason: str
    clause: str


@dataclass(frozen=True)
class BasisVolume:
    """What a newness basis qualifies: the annual volume and whether only
    post-consumer material may generate from it."""

    kg: Decimal  # exact; rounded only in the eligible volume (R-A7)
    pc_only: bool = False


@dataclass(frozen=True)
class Determination:
    """R-A2: the outcome, its reasons and the eligible volume per year."""

    outcome: str  # "additional" | "not-additional"
    year: int
    reasons: tuple[str, ...]
    tests: tuple[TestResult, ...]
    basis_kg: Decimal
    eligible_kg: dict[int, Decimal]
    pc_only: bool
    # The last certification year this newness basis can carry (P7.2.2.2).
    newness_last_year: int | None = None

    @property
    def additional(self) -> bool:
        return self.outcome == ADDITIONAL


ADDITIONAL = "additional"
NOT_ADDITIONAL = "not-additional"
