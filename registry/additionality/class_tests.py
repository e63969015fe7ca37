"""The regulatory test (Class A) and the Class B tests (R-A4, R-A6; P7.2.1, P7.3)."""

from __future__ import annotations

from decimal import Decimal

from registry.errors import InvalidInput

from .model import CLASS_B_TESTS, ClassBTest, TestResult


def check_mandate_share(share: Decimal) -> Decimal:
    """The recorded share of output sold into a legal mandate: a fraction 0..1."""
    if not isinstance(share, Decimal) or not share.is_finite() or not 0 <= share <= 1:
        raise InvalidInput(
            f"mandate_share must be a fraction between 0 and 1, got {share!r}",
            code="out_of_range",
            field="mandate_share",
            rule="R-A4",
        )
    return share


def regulatory_test(mandate_share: Decimal) -> TestResult:
    """P7.2.1: output credited toward a legal mandate cannot back ARCs.

    The test passes when some output lies beyond the mandate; the mandated
    share is then excluded from the eligible volume (Example P7.1: 40% into
    a mandate, 60% may generate), which determine() applies (R-A7).
    """
    share = check_mandate_share(mandate_share)
    percent = format((share * 100).normalize(), "f")
    remaining = format(((1 - share) * 100).normalize(), "f")
    if share == 1:
        reason = "Regulatory/legal: all output is credited toward a legal mandate; none is beyond it (P7.2.1.1)"
        return TestResult("regulatory", False, reason, "P7.2.1")
    if share == 0:
        reason = "Regulatory/legal: no output is credited toward a legal mandate (P7.2.1.2)"
    else:
        reason = (
            f"Regulatory/legal: {percent}% of output is sold into a legal mandate and is excluded; "
            f"the other {remaining}% may generate (P7.2.1, Example P7.1)"
        )
    return TestResult("regulatory", True, reason, "P7.2.1")


def check_class_b(tests: tuple[ClassBTest, ...]) -> None:
    """R-A6: each recorded test is a known one, recorded once, with the
    certifier's rationale (P7.3)."""
    seen: set[str] = set()
    for i, test in enumerate(tests):
        if test.test not in CLASS_B_TESTS:
            raise InvalidInput(
                f"Class B test must be one of {', '.join(CLASS_B_TESTS)}; got {test.test!r}",
                code="unknown_class_b_test",
                field=f"class_b[{i}].test",
                rule="R-A6",
            )
        if test.test in seen:
            raise InvalidInput(
                f"Class B test {test.test} is recorded twice",
                code="duplicate_class_b_test",
                field=f"class_b[{i}].test",
                rule="R-A6",
            )
        seen.add(test.test)
        if not isinstance(test.passed, bool):
            raise InvalidInput(
                "passed must be true or false", code="invalid_input", field=f"class_b[{i}].passed", rule="R-A6"
            )
        if not (test.rationale or "").strip():
            raise InvalidInput(
                "each Class B test needs the certifier's rationale (P7.3)",
                code="rationale_required",
                field=f"class_b[{i}].rationale",
                rule="R-A6",
            )


def class_b_test(tests: tuple[ClassBTest, ...]) -> TestResult:
    """P7.1.1: at least one Class B test must pass."""
    check_class_b(tests)
    passed = [t for t in tests if t.passed]
    if passed:
        names = ", ".join(f"{t.test.replace('_', ' ')} ({t.rationale.strip()})" for t in passed)
        return TestResult("class_b", True, f"Class B: passed {names} (P7.3)", "P7.1.1")
    if tests:
        names = ", ".join(t.test.replace("_", " ") for t in tests)
        reason = f"Class B: none of the recorded tests passed ({names}); at least one must (P7.1.1)"
    else:
        reason = "Class B: no test was recorded; at least one must pass (P7.1.1)"
    return TestResult("class_b", False, reason, "P7.1.1")
