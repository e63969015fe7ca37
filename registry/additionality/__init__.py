"""Additionality of ARC generation (R-A2..R-A7, Plastics Module P.7).

Pure rules: a :class:`DeterminationInput` in, a :class:`Determination` out.

* :mod:`.model` -- the input and result dataclasses (mirroring ``POST /determinations``);
* :mod:`.newness` -- New Date, new operations, reinvestments, the 15-year
  window and the phase-out exemption (Class A newness);
* :mod:`.class_tests` -- the regulatory test (Class A) and the Class B tests;
* :mod:`.determination` -- :func:`determine`, which combines them.
"""

from .class_tests import class_b_test, regulatory_test
from .determination import determine, eligible_volume, newness_test
from .model import (
    ADDITIONAL,
    CLASS_B_TESTS,
    INVESTMENT_CATEGORIES,
    NOT_ADDITIONAL,
    BasisVolume,
    Capacity,
    ClassBTest,
    Determination,
    DeterminationInput,
    Financial,
    Investment,
    NewOperation,
    PhaseOut,
    Quality,
    Restart,
    TestResult,
)
from .newness import (
    capacity_test,
    financial_ratio,
    financial_share,
    financial_test,
    new_date,
    new_operation_test,
    newness_last_year,
    phase_out_share,
    phase_out_test,
    qualifying_start,
    quality_test,
)

__all__ = [
    "ADDITIONAL",
    "CLASS_B_TESTS",
    "INVESTMENT_CATEGORIES",
    "NOT_ADDITIONAL",
    "BasisVolume",
    "Capacity",
    "ClassBTest",
    "Determination",
    "DeterminationInput",
    "Financial",
    "Investment",
    "NewOperation",
    "PhaseOut",
    "Quality",
    "Restart",
    "TestResult",
    "capacity_test",
    "class_b_test",
    "determine",
    "eligible_volume",
    "financial_ratio",
    "financial_share",
    "financial_test",
    "new_date",
    "new_operation_test",
    "newness_test",
    "newness_last_year",
    "phase_out_share",
    "phase_out_test",
    "qualifying_start",
    "quality_test",
    "regulatory_test",
]
