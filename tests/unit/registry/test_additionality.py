"""R-A2..R-A7: additionality of ARC generation (Plastics Module P.7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.additionality import (
    ADDITIONAL,
    NOT_ADDITIONAL,
    Capacity,
    ClassBTest,
    DeterminationInput,
    Financial,
    Investment,
    NewOperation,
    PhaseOut,
    Quality,
    Restart,
    class_b_test,
    determine,
    eligible_volume,
    financial_ratio,
    financial_share,
    new_date,
    newness_last_year,
    phase_out_share,
    qualifying_start,
    regulatory_test,
)
from registry.additionality.newness import add_months
from registry.errors import InvalidInput, RuleViolation

D = Decimal
TONNES_1000 = D(1_000_000)  # 1000 t/yr in kg
PASSED_B = (ClassBTest("financial", True, "the CapEx loan counts on ARC revenue (Example P7.8)"),)


def inp(newness, year=2023, *, capacity=TONNES_1000, mandate="0", class_b=PASSED_B, **kwargs) -> DeterminationInput:
    return DeterminationInput(
        certification_year=year,
        capacity_kg=capacity,
        mandate_share=D(mandate),
        newness=newness,
        class_b=class_b,
        **kwargs,
    )


NEW_PLANT = NewOperation(operation_start=date(2021, 6, 1))


# --- Table P7.2: New Date -----------------------------------------------------------------


@pytest.mark.parametrize(
    "year, expected",
    [(2021, date(2018, 1, 1)), (2022, date(2019, 1, 1)), (2023, date(2020, 1, 1)), (2024, date(2021, 1, 1)),
     (2033, date(2030, 1, 1))],
)
def test_table_p7_2_new_date(year, expected):
    assert new_date(year) == expected


@pytest.mark.parametrize(
    "start, passes",
    [(date(2020, 1, 1), True), (date(2019, 12, 31), False), (date(2023, 12, 31), True)],
)
def test_new_operation_on_or_after_the_new_date(start, passes):
    result = determine(inp(NewOperation(start), 2023))
    assert result.tests[1].passed is passes
    assert result.outcome == (ADDITIONAL if passes else NOT_ADDITIONAL)
    assert result.eligible_kg == {2023: TONNES_1000 if passes else D(0)}


def test_an_operation_starting_after_the_year_is_refused():
    with pytest.raises(InvalidInput) as info:
        determine(inp(NewOperation(date(2024, 1, 1)), 2023))
    assert info.value.code == "date_out_of_range"


# --- Example P7.3: new operations and restarts (P7.2.3) -------------------------------------

SOLD_AND_RESTARTED = NewOperation(
    operation_start=date(2005, 3, 1),
    restart=Restart(stopped_on=date(2020, 4, 15), restarted_on=date(2020, 12, 15), ownership_changed=True),
)


@pytest.mark.parametrize("year", [2021, 2022, 2023])
def test_example_p7_3_restart_under_new_owner_passes_until_2023(year):
    result = determine(inp(SOLD_AND_RESTARTED, year))
    assert result.outcome == ADDITIONAL
    assert result.eligible_kg == {year: TONNES_1000}
    assert "restarted under new ownership on 2020-12-15" in result.reasons[1]


def test_example_p7_3_restart_under_new_owner_fails_for_2024():
    result = determine(inp(SOLD_AND_RESTARTED, 2024))
    assert result.outcome == NOT_ADDITIONAL
    assert result.eligible_kg == {2024: D(0)}
    assert "before the New Date 2021-01-01" in result.reasons[1]


def test_restart_under_the_same_owner_is_not_new():  # P7.2.3.3
    same_owner = replace(SOLD_AND_RESTARTED, restart=replace(SOLD_AND_RESTARTED.restart, ownership_changed=False))
    assert qualifying_start(same_owner)[0] == date(2005, 3, 1)
    result = determine(inp(same_owner, 2023))
    assert result.outcome == NOT_ADDITIONAL
    assert "same ownership" in result.reasons[1]


@pytest.mark.parametrize(
    "stopped, restarted, counts",
    [
        (date(2020, 4, 15), date(2020, 10, 15), True),  # exactly six months
        (date(2020, 4, 15), date(2020, 10, 14), False),
        (date(2020, 8, 31), date(2021, 2, 28), True),  # month end clamps
        (date(2020, 8, 31), date(2021, 2, 27), False),
    ],
)
def test_restart_needs_a_six_month_stop(stopped, restarted, counts):  # P7.2.3.2
    operation = NewOperation(date(2005, 1, 1), Restart(stopped, restarted, ownership_changed=True))
    assert (qualifying_start(operation)[0] == restarted) is counts


def test_restart_dates_must_be_in_order():
    operation = NewOperation(date(2005, 1, 1), Restart(date(2020, 12, 1), date(2020, 4, 1), True))
    with pytest.raises(InvalidInput) as info:
        determine(inp(operation))
    assert (info.value.code, info.value.field) == ("invalid_date_order", "newness.restart")


def test_add_months():
    assert add_months(date(2020, 8, 31), 6) == date(2021, 2, 28)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert add_months(date(2020, 12, 15), 1) == date(2021, 1, 15)


# --- Example P7.2: the 15-year window (P7.2.2.2) -------------------------------------------------

INSTALLED_2020 = NewOperation(operation_start=date(2020, 6, 1))


def test_example_p7_2_installed_2020_is_eligible_until_2035():
    assert newness_last_year(date(2020, 6, 1)) == 2035
    first = determine(inp(INSTALLED_2020, 2023))
    assert first.outcome == ADDITIONAL and first.newness_last_year == 2035
    later = determine(inp(INSTALLED_2020, 2035, first_certified_year=2023))
    assert later.outcome == ADDITIONAL
    assert later.eligible_kg == {2035: TONNES_1000}


def test_the_window_closes_after_15_years():
    result = determine(inp(INSTALLED_2020, 2036, first_certified_year=2023))
    assert result.outcome == NOT_ADDITIONAL
    assert "ended with 2035" in result.reasons[1]


def test_without_continuous_certification_the_new_date_of_the_year_applies():
    # Example P7.3 again: certified since 2023, the 2020 restart still counts in 2024.
    assert determine(inp(SOLD_AND_RESTARTED, 2024, first_certified_year=2023)).outcome == ADDITIONAL
    assert determine(inp(SOLD_AND_RESTARTED, 2024)).outcome == NOT_ADDITIONAL


def test_first_certified_year_cannot_follow_the_year():
    with pytest.raises(InvalidInput) as info:
        determine(inp(INSTALLED_2020, 2023, first_certified_year=2024))
    assert info.value.field == "first_certified_year"


# --- Table P7.4 / Example P7.4: financial threshold (P7.2.4.5) ----------------------------------


def financial(*investments, fmv="10000000", on=date(2021, 5, 1)) -> Financial:
    return Financial(invested_on=on, fair_market_value=D(fmv), investments=tuple(investments))


def test_example_p7_4_three_million_on_ten_qualifies_half():
    """$3M of primary equipment on a $10M facility of 1000 t/yr -> 500 t/yr."""
    result = determine(inp(financial(Investment("primary_equipment", D(3_000_000)))))
    assert result.outcome == ADDITIONAL
    assert result.basis_kg == D(500_000)
    assert result.eligible_kg == {2023: D("500000.000")}
    assert "30% of the fair market value" in result.reasons[1]


@pytest.mark.parametrize(
    "ratio, share",
    [("0", "0"), ("0.24", "0"), ("0.2499999", "0"), ("0.25", "0.5"), ("0.30", "0.5"), ("0.4999", "0.5"),
     ("0.50", "1"), ("0.51", "1"), ("1.7", "1")],
)
def test_table_p7_4_thresholds_follow_the_text(ratio, share):
    # SPEC §16: the text's "equal to or greater than 50%" qualifies all; the table's "51%" is not used.
    assert financial_share(D(ratio)) == D(share)


def test_only_primary_equipment_counts():  # P7.2.4.5 ii
    items = [Investment("primary_equipment", D(2_000_000))] + [
        Investment(category, D(1_000_000)) for category in ("labour", "engineering", "rental", "permit", "other")
    ]
    assert financial_ratio(financial(*items)) == D("0.2")
    assert determine(inp(financial(*items))).outcome == NOT_ADDITIONAL


def test_full_capacity_from_half_the_value():
    result = determine(inp(financial(Investment("primary_equipment", D(5_000_000)))))
    assert result.eligible_kg == {2023: TONNES_1000}


def test_reinvestment_before_the_new_date_does_not_count():  # P7.2.4.3
    result = determine(inp(financial(Investment("primary_equipment", D(9_000_000)), on=date(2019, 12, 31))))
    assert result.outcome == NOT_ADDITIONAL


@pytest.mark.parametrize(
    "item, fmv, code, field",
    [
        (Investment("bribes", D(1)), "10", "unknown_investment_category", "newness.investments[0].category"),
        (Investment("labour", D(-1)), "10", "must_not_be_negative", "newness.investments[0].amount"),
        (Investment("labour", D(1)), "0", "must_be_positive", "newness.fair_market_value"),
    ],
)
def test_financial_input_checks(item, fmv, code, field):
    with pytest.raises(InvalidInput) as info:
        determine(inp(financial(item, fmv=fmv)))
    assert (info.value.code, info.value.field) == (code, field)


# --- Example P7.5: quality improvement (P7.2.4.6) ---------------------------------------------------


def quality(**kwargs) -> Quality:
    return Quality(invested_on=date(2022, 3, 1), volume_kg=D("907184.740"), **kwargs)


def test_example_p7_5_1_fifteen_against_three_percent_passes():
    result = determine(inp(quality(price_increase=D("0.15"), market_increase=D("0.03"))))
    assert result.outcome == ADDITIONAL
    assert "a difference of 12%" in result.reasons[1]
    assert result.eligible_kg == {2023: D("907184.740")}


def test_example_p7_5_2_food_grade_reclassification_passes():
    """2 million lb of food-grade PET -> 907 184.740 kg eligible."""
    result = determine(inp(quality(reclassification="food grade PET")))
    assert result.outcome == ADDITIONAL
    assert result.basis_kg == D("907184.740")


@pytest.mark.parametrize(
    "price, market, passes",
    [("0.13", "0.03", True), ("0.12", "0.03", False), ("0.05", "-0.05", True), ("0.10", "0", True)],
)
def test_quality_price_margin_is_ten_points(price, market, passes):
    result = determine(inp(quality(price_increase=D(price), market_increase=D(market))))
    assert result.tests[1].passed is passes


def test_quality_needs_evidence_of_improvement():
    assert determine(inp(quality())).outcome == NOT_ADDITIONAL
    with pytest.raises(InvalidInput) as info:
        determine(inp(quality(price_increase=D("0.15"))))
    assert (info.value.code, info.value.field) == ("incomplete_price_comparison", "newness.market_increase")


# --- Example P7.6: increased capacity (P7.2.4.7) ----------------------------------------------------

LB = D("0.45359237")


def test_example_p7_6_20m_to_24m_lb_makes_4m_lb_eligible():
    before, after = D("9071847.400"), D("10886216.880")  # 20M and 24M lb in kg
    result = determine(inp(Capacity(date(2022, 1, 10), before, after), line_scoped=True, facility_lines=3))
    assert result.outcome == ADDITIONAL
    assert result.eligible_kg == {2023: D("1814369.480")}  # 4 000 000 lb
    assert result.eligible_kg[2023] == 4_000_000 * LB
    assert "20%" in result.reasons[1]


@pytest.mark.parametrize("after, passes", [("1100", True), ("1099.999", False)])
def test_capacity_increase_threshold_is_ten_percent(after, passes):
    result = determine(inp(Capacity(date(2022, 1, 10), D(1000), D(after))))
    assert result.tests[1].passed is passes
    assert result.eligible_kg[2023] == (D(after) - 1000 if passes else 0)


def test_capacity_basis_must_name_the_line_when_there_are_several():  # P7.2.4.7 iv
    basis = Capacity(date(2022, 1, 10), D(1000), D(1200))
    with pytest.raises(RuleViolation) as info:
        determine(inp(basis, facility_lines=2))
    assert (info.value.code, info.value.rule) == ("line_required", "R-A5")
    assert determine(inp(basis, facility_lines=1)).outcome == ADDITIONAL


# --- Table P7.5: phase-out exemption (P7.2.5) -------------------------------------------------------


@pytest.mark.parametrize(
    "year, share", [(2021, "0.5"), (2022, "0.4"), (2023, "0.3"), (2024, "0.2"), (2025, "0.1"), (2026, "0"), (2030, "0")]
)
def test_table_p7_5_shares(year, share):
    assert phase_out_share(year) == D(share)


def test_table_p7_5_existing_processor_in_2023_gets_30_percent_pc_only():
    result = determine(inp(PhaseOut(), 2023))
    assert result.outcome == ADDITIONAL
    assert result.eligible_kg == {2023: D("300000.000")}
    assert result.pc_only is True
    assert result.newness_last_year == 2025


def test_table_p7_5_phase_out_yields_nothing_in_2026():
    result = determine(inp(PhaseOut(), 2026))
    assert result.outcome == NOT_ADDITIONAL
    assert result.eligible_kg == {2026: D(0)}
    assert "ended on 2025-12-31" in result.reasons[1]


def test_other_bases_are_not_pc_only():
    assert determine(inp(NEW_PLANT)).pc_only is False


# --- Example P7.1: regulatory test (P7.2.1) ----------------------------------------------------------


def test_example_p7_1_forty_percent_into_a_mandate_leaves_sixty():
    result = determine(inp(NEW_PLANT, mandate="0.40"))
    assert result.outcome == ADDITIONAL
    assert result.basis_kg == TONNES_1000
    assert result.eligible_kg == {2023: D("600000.000")}
    assert "40% of output" in result.reasons[0]


def test_all_output_into_a_mandate_fails_the_regulatory_test():
    result = determine(inp(NEW_PLANT, mandate="1"))
    assert result.outcome == NOT_ADDITIONAL and not result.tests[0].passed


@pytest.mark.parametrize("share", ["-0.1", "1.01"])
def test_mandate_share_is_a_fraction(share):
    with pytest.raises(InvalidInput) as info:
        regulatory_test(D(share))
    assert info.value.field == "mandate_share"


def test_eligible_volume_rounds_half_up_to_the_gram():  # R-A7, R-U4
    assert eligible_volume(D("0.005"), D("0.9")) == D("0.001")  # 0.0005 -> 0.001
    assert eligible_volume(D("1000.001"), D("0.5")) == D("500.001")  # 500.0005, not banker's 500.000


# --- Class B (P7.3, R-A6) ------------------------------------------------------------------------


def test_class_b_needs_one_pass():
    failed = (ClassBTest("common_practice", False, "two plants in the state already do this"),)
    result = determine(inp(NEW_PLANT, class_b=failed))
    assert result.outcome == NOT_ADDITIONAL and result.eligible_kg == {2023: D(0)}
    assert "none of the recorded tests passed" in result.reasons[2]
    assert not determine(inp(NEW_PLANT, class_b=())).tests[2].passed
    mixed = failed + (ClassBTest("technology", True, "injection moulding of co-mingled film (Example P7.9)"),)
    assert class_b_test(mixed).passed


@pytest.mark.parametrize(
    "tests, code, field",
    [
        ((ClassBTest("vibes", True, "x"),), "unknown_class_b_test", "class_b[0].test"),
        ((ClassBTest("financial", True, "   "),), "rationale_required", "class_b[0].rationale"),
        ((ClassBTest("financial", True, "a"), ClassBTest("financial", False, "b")), "duplicate_class_b_test",
         "class_b[1].test"),
    ],
)
def test_class_b_records_are_checked(tests, code, field):
    with pytest.raises(InvalidInput) as info:
        class_b_test(tests)
    assert (info.value.code, info.value.field) == (code, field)


# --- the determination as a whole ---------------------------------------------------------------


def test_reasons_cover_every_test():
    result = determine(inp(NEW_PLANT))
    assert [t.test for t in result.tests] == ["regulatory", "newness", "class_b"]
    assert len(result.reasons) == 3 and all(result.reasons)


@pytest.mark.parametrize("year", [2020, 2101, True, "2023"])
def test_certification_year_is_checked(year):
    with pytest.raises(InvalidInput) as info:
        determine(inp(NEW_PLANT, year=year))
    assert info.value.field == "certification_year"


def test_capacity_must_be_positive():
    with pytest.raises(InvalidInput) as info:
        determine(inp(NEW_PLANT, capacity=D(0)))
    assert info.value.code == "must_be_positive"


@given(
    capacity=st.decimals(min_value=D("0.001"), max_value=D(10**9), places=3),
    mandate=st.decimals(min_value=0, max_value=1, places=4),
    basis=st.sampled_from([NEW_PLANT, PhaseOut(), SOLD_AND_RESTARTED]),
    year=st.integers(2021, 2040),
)
def test_eligible_volume_is_never_negative_nor_above_capacity(capacity, mandate, basis, year):
    result = determine(inp(basis, year, capacity=capacity, mandate=str(mandate)))
    eligible = result.eligible_kg[year]
    assert list(result.eligible_kg) == [year]
    assert 0 <= eligible <= capacity
    assert (eligible > 0) <= (result.outcome == ADDITIONAL)


# Found by mutation testing (docs/testing.md): the year and mandate-share bounds at their edges, and
# the refusals' code, rule, field and words.

@pytest.mark.parametrize("year", [2021, 2100])
def test_certification_years_2021_to_2100_are_accepted(year):
    from registry.additionality.determination import check_year

    assert check_year(year) == year


@pytest.mark.parametrize("year", [2020, 2101, True, 2021.0, "2021"])
def test_certification_year_refusal_in_full(year):
    from registry.additionality.determination import check_year

    with pytest.raises(InvalidInput) as info:
        check_year(year, "first_certified_year")
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "out_of_range", "R-A2", "first_certified_year",
        f"first_certified_year must be a year from 2021 to 2100, got {year!r}")


@pytest.mark.parametrize("share", [Decimal(0), Decimal(1), Decimal("0.4")])
def test_mandate_share_0_to_1_is_accepted(share):
    from registry.additionality.class_tests import check_mandate_share

    assert check_mandate_share(share) == share


@pytest.mark.parametrize("share", [Decimal("-0.001"), Decimal("1.001"), Decimal("NaN"), Decimal("Infinity"),
                                   0.5, 1, "0.5"])
def test_mandate_share_refusal_in_full(share):
    from registry.additionality.class_tests import check_mandate_share

    with pytest.raises(InvalidInput) as info:
        check_mandate_share(share)
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "out_of_range", "R-A4", "mandate_share", f"mandate_share must be a fraction between 0 and 1, got {share!r}")


# --- quality_test (P7.2.4.6) in full: found by mutation testing (docs/testing.md) -----------------

NEW_DATE_2023 = "on or after the New Date 2020-01-01 (Table P7.2) and qualifies through 2037 (P7.2.2.2)"


def _quality(volume="1000", on=date(2022, 3, 1), **kwargs) -> Quality:
    return Quality(invested_on=on, volume_kg=D(volume), **kwargs)


def test_quality_price_and_reclassification_pass_with_the_whole_volume():
    from registry.additionality.newness import quality_test

    result, basis = quality_test(
        _quality("907184.740", price_increase=D("0.15"), market_increase=D("0.03"),
                 reclassification="  food grade  "), 2023)
    assert (result.test, result.passed, result.clause) == ("newness", True, "P7.2.4.6")
    assert result.reason == (
        "Newness (quality improvement): price rose 15% against a market rise of 3%, a difference of 12% "
        "(at least the 10 points of P7.2.4.6 ii); the product was reclassified: food grade (P7.2.4.6 i); "
        f"reinvestment 2022-03-01 is {NEW_DATE_2023}; qualifies the 907184.740 kg per year meeting the new "
        "specification (P7.2.4.6 iii)")
    assert (basis.kg, basis.pc_only) == (D("907184.740"), False)


@pytest.mark.parametrize("price, market, passes", [("0.10", "0", True), ("0.0999", "0", False),
                                                    ("0.20", "0.10", True), ("0.199", "0.10", False)])
def test_quality_price_comparison_alone_decides_at_ten_points(price, market, passes):  # P7.2.4.6 ii
    from registry.additionality.newness import quality_test

    result, basis = quality_test(_quality(price_increase=D(price), market_increase=D(market)), 2023)
    assert result.passed is passes
    assert basis.kg == (D(1000) if passes else D(0))


def test_quality_price_margin_not_met_fails_with_reason():
    from registry.additionality.newness import quality_test

    result, basis = quality_test(_quality(price_increase=D("0.12"), market_increase=D("0.03")), 2023)
    assert (result.passed, basis.kg) == (False, D(0))
    assert result.reason == (
        "Newness (quality improvement): price rose 12% against a market rise of 3%, a difference of 9% "
        f"(less than the 10 points of P7.2.4.6 ii); reinvestment 2022-03-01 is {NEW_DATE_2023}")


def test_quality_reclassification_passes_even_when_the_price_comparison_fails():  # P7.2.4.6 i: either
    from registry.additionality.newness import quality_test

    result, basis = quality_test(
        _quality(price_increase=D("0.01"), market_increase=D("0.03"), reclassification="colour separated"), 2023)
    assert (result.passed, basis.kg) == (True, D(1000))


@pytest.mark.parametrize("reclassification", [None, "", "   "])
def test_quality_without_evidence_fails(reclassification):
    from registry.additionality.newness import quality_test

    result, basis = quality_test(_quality(reclassification=reclassification), 2023)
    assert (result.passed, basis.kg) == (False, D(0))
    assert result.reason == (
        "Newness (quality improvement): neither a price comparison nor a reclassification was recorded "
        f"(P7.2.4.6 i); reinvestment 2022-03-01 is {NEW_DATE_2023}")


def test_quality_reinvestment_before_the_new_date_fails_and_continuous_certification_carries_it():
    from registry.additionality.newness import quality_test

    late = _quality(on=date(2019, 12, 31), reclassification="food")
    result, basis = quality_test(late, 2023)
    assert (result.passed, basis.kg) == (False, D(0))
    assert result.reason == (
        "Newness (quality improvement): the product was reclassified: food (P7.2.4.6 i); reinvestment "
        "2019-12-31 is before the New Date 2020-01-01 of certification year 2023 (Table P7.2)")
    carried, basis = quality_test(late, 2023, 2022)
    assert (carried.passed, basis.kg) == (True, D(1000))
    assert "New Date 2019-01-01 (continuously certified since 2022)" in carried.reason


@pytest.mark.parametrize("volume", ["0", "-1"])
def test_quality_volume_refusal_in_full(volume):
    from registry.additionality.newness import quality_test

    with pytest.raises(InvalidInput) as info:
        quality_test(_quality(volume, reclassification="food"), 2023)
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "must_be_positive", "R-A5", "newness.volume", "volume must be greater than zero")


def test_quality_smallest_volume_is_accepted():
    from registry.additionality.newness import quality_test

    assert quality_test(_quality("0.001", reclassification="food"), 2023)[1].kg == D("0.001")


@pytest.mark.parametrize("price, market, missing", [("0.15", None, "market_increase"),
                                                    (None, "0.03", "price_increase")])
def test_quality_incomplete_price_comparison_refusal_in_full(price, market, missing):
    from registry.additionality.newness import quality_test

    with pytest.raises(InvalidInput) as info:
        quality_test(_quality(price_increase=price and D(price), market_increase=market and D(market),
                              reclassification="food"), 2023)
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "incomplete_price_comparison", "R-A5", f"newness.{missing}",
        "a price comparison needs both the price increase and the market index increase (P7.2.4.6 ii)")


# --- capacity_test (P7.2.4.7) in full: found by mutation testing (docs/testing.md) ----------------


def test_capacity_increase_of_ten_percent_qualifies_the_increase():
    from registry.additionality.newness import capacity_test

    result, basis = capacity_test(Capacity(date(2022, 1, 10), D(1000), D(1100)), 2023)
    assert (result.test, result.passed, result.clause) == ("newness", True, "P7.2.4.7")
    assert result.reason == (
        "Newness (increased capacity): production went from 1000.000 kg to 1100.000 kg per year, 10% "
        f"(at least the 10% of P7.2.4.7 i); reinvestment 2022-01-10 is {NEW_DATE_2023}; qualifies the "
        "increase of 100.000 kg per year (P7.2.4.7 iii)")
    assert (basis.kg, basis.pc_only) == (D(100), False)


def test_capacity_increase_below_ten_percent_fails_with_reason():
    from registry.additionality.newness import capacity_test

    result, basis = capacity_test(Capacity(date(2022, 1, 10), D(1000), D(1050)), 2023)
    assert (result.passed, basis.kg) == (False, D(0))
    assert result.reason == (
        "Newness (increased capacity): production went from 1000.000 kg to 1050.000 kg per year, 5% "
        f"(less than the 10% of P7.2.4.7 i); reinvestment 2022-01-10 is {NEW_DATE_2023}")


@pytest.mark.parametrize("before, after, passes", [("2000", "2200", True), ("2000", "2199.999", False),
                                                   ("1000", "900", False), ("1000", "3000", True)])
def test_capacity_threshold_is_relative_to_before(before, after, passes):  # P7.2.4.7 i
    from registry.additionality.newness import capacity_test

    result, basis = capacity_test(Capacity(date(2022, 1, 10), D(before), D(after)), 2023)
    assert result.passed is passes
    assert basis.kg == (D(after) - D(before) if passes else D(0))


def test_capacity_reinvestment_before_the_new_date_fails():
    from registry.additionality.newness import capacity_test

    result, basis = capacity_test(Capacity(date(2019, 12, 31), D(1000), D(2000)), 2023)
    assert (result.passed, basis.kg) == (False, D(0))
    assert result.reason.endswith(
        "reinvestment 2019-12-31 is before the New Date 2020-01-01 of certification year 2023 (Table P7.2)")
    assert capacity_test(Capacity(date(2019, 12, 31), D(1000), D(2000)), 2023, 2022)[0].passed


@pytest.mark.parametrize("before, after, name", [("0", "10", "before"), ("-1", "10", "before"),
                                                 ("10", "0", "after"), ("10", "-5", "after")])
def test_capacity_refusal_in_full(before, after, name):
    from registry.additionality.newness import capacity_test

    with pytest.raises(InvalidInput) as info:
        capacity_test(Capacity(date(2022, 1, 10), D(before), D(after)), 2023)
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "must_be_positive", "R-A5", f"newness.{name}", f"{name} must be greater than zero")


@pytest.mark.parametrize("lines, scoped, refused", [(0, False, False), (1, False, False), (2, False, True),
                                                    (2, True, False), (3, True, False)])
def test_capacity_line_scope_when_there_are_several_lines(lines, scoped, refused):  # P7.2.4.7 iv
    from registry.additionality.newness import capacity_test

    basis = Capacity(date(2022, 1, 10), D(1000), D(1200))
    if not refused:
        assert capacity_test(basis, 2023, line_scoped=scoped, facility_lines=lines)[0].passed
        return
    with pytest.raises(RuleViolation) as info:
        capacity_test(basis, 2023, line_scoped=scoped, facility_lines=lines)
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "line_required", "R-A5", None,
        "the facility runs several lines: an increased-capacity determination must name the improved line "
        "(P7.2.4.7 iv)")


# --- check_class_b and class_b_test (R-A6, P7.1.1, P7.3) in full: found by mutation testing ------------


@pytest.mark.parametrize(
    "tests, code, field, detail",
    [
        ((ClassBTest("vibes", True, "x"),), "unknown_class_b_test", "class_b[0].test",
         "Class B test must be one of common_practice, financial, technology, performance_benchmark; got 'vibes'"),
        ((ClassBTest("financial", True, "a"), ClassBTest("technology", False, "b"), ClassBTest("Financial", True, "c")),
         "unknown_class_b_test", "class_b[2].test",
         "Class B test must be one of common_practice, financial, technology, performance_benchmark; "
         "got 'Financial'"),
        ((ClassBTest("financial", True, "a"), ClassBTest("technology", False, "b"), ClassBTest("financial", 1, "")),
         "duplicate_class_b_test", "class_b[2].test", "Class B test financial is recorded twice"),
        ((ClassBTest("technology", True, "a"), ClassBTest("financial", 1, "b")), "invalid_input",
         "class_b[1].passed", "passed must be true or false"),
        ((ClassBTest("technology", "yes", "a"),), "invalid_input", "class_b[0].passed",
         "passed must be true or false"),
        ((ClassBTest("technology", None, "a"),), "invalid_input", "class_b[0].passed",
         "passed must be true or false"),
        ((ClassBTest("technology", True, "a"), ClassBTest("financial", False, " \n ")), "rationale_required",
         "class_b[1].rationale", "each Class B test needs the certifier's rationale (P7.3)"),
        ((ClassBTest("financial", True, None),), "rationale_required", "class_b[0].rationale",
         "each Class B test needs the certifier's rationale (P7.3)"),
        ((ClassBTest("financial", False),), "rationale_required", "class_b[0].rationale",
         "each Class B test needs the certifier's rationale (P7.3)"),
    ],
)
def test_class_b_refusal_in_full(tests, code, field, detail):
    from registry.additionality.class_tests import check_class_b

    with pytest.raises(InvalidInput) as info:
        check_class_b(tests)
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (code, "R-A6", field, detail)


def test_every_class_b_test_may_be_recorded_once_each():
    from registry.additionality.class_tests import check_class_b

    assert check_class_b(tuple(ClassBTest(name, i % 2 == 0, f"why {name}") for i, name in enumerate(
        ("common_practice", "financial", "technology", "performance_benchmark")))) is None
    assert check_class_b(()) is None


def test_class_b_reasons_in_full():
    passed = class_b_test((
        ClassBTest("common_practice", False, "two plants already do this"),
        ClassBTest("performance_benchmark", True, "  yield above the sector average  "),
        ClassBTest("technology", True, "food-grade HDPE (Example P7.9)"),
    ))
    assert (passed.test, passed.passed, passed.clause) == ("class_b", True, "P7.1.1")
    assert passed.reason == (
        "Class B: passed performance benchmark (yield above the sector average), technology (food-grade HDPE "
        "(Example P7.9)) (P7.3)")
    failed = class_b_test((ClassBTest("common_practice", False, "a"), ClassBTest("performance_benchmark", False, "b")))
    assert (failed.test, failed.passed, failed.clause) == ("class_b", False, "P7.1.1")
    assert failed.reason == (
        "Class B: none of the recorded tests passed (common practice, performance benchmark); at least one must "
        "(P7.1.1)")
    none = class_b_test(())
    assert (none.test, none.passed, none.clause) == ("class_b", False, "P7.1.1")
    assert none.reason == "Class B: no test was recorded; at least one must pass (P7.1.1)"


def test_class_b_test_checks_its_records():
    with pytest.raises(InvalidInput):
        class_b_test((ClassBTest("financial", True, ""),))


# --- regulatory_test (R-A4, P7.2.1) in full: found by mutation testing --------------------------------------


@pytest.mark.parametrize(
    "share, passes, reason",
    [
        ("0", True, "Regulatory/legal: no output is credited toward a legal mandate (P7.2.1.2)"),
        ("0.40", True, "Regulatory/legal: 40% of output is sold into a legal mandate and is excluded; the other 60% "
                       "may generate (P7.2.1, Example P7.1)"),
        ("0.125", True, "Regulatory/legal: 12.5% of output is sold into a legal mandate and is excluded; the other "
                        "87.5% may generate (P7.2.1, Example P7.1)"),
        ("0.999", True, "Regulatory/legal: 99.9% of output is sold into a legal mandate and is excluded; the other "
                        "0.1% may generate (P7.2.1, Example P7.1)"),
        ("1", False, "Regulatory/legal: all output is credited toward a legal mandate; none is beyond it (P7.2.1.1)"),
        ("1.000", False, "Regulatory/legal: all output is credited toward a legal mandate; none is beyond it "
                         "(P7.2.1.1)"),
    ],
)
def test_regulatory_test_in_full(share, passes, reason):
    result = regulatory_test(D(share))
    assert (result.test, result.passed, result.reason, result.clause) == ("regulatory", passes, reason, "P7.2.1")


def test_regulatory_test_checks_the_share():
    with pytest.raises(InvalidInput):
        regulatory_test(0.4)


# --- determine (R-A1, R-A2, R-A3, R-A7) in full: found by mutation testing -------------------------------


def test_determine_records_year_tests_reasons_and_volumes():
    result = determine(inp(financial(Investment("primary_equipment", D(3_000_000))), 2024, capacity=D("1000.001"),
                           mandate="0.5"))
    assert (result.outcome, result.year, result.additional) == (ADDITIONAL, 2024, True)
    assert [t.test for t in result.tests] == ["regulatory", "newness", "class_b"]
    assert result.reasons == tuple(t.reason for t in result.tests)
    # half of 1000.001 is 500.0005: the basis is rounded half up to the gram (R-U4), and the eligible volume
    # is computed from the exact basis (R-A7): 250.00025 -> 250.000.
    assert str(result.basis_kg) == "500.001"
    assert result.eligible_kg == {2024: D("250.000")}
    assert result.newness_last_year == 2036 and result.pc_only is False


@pytest.mark.parametrize("failing", ["regulatory", "newness", "class_b"])
def test_any_failing_test_makes_it_not_additional_with_zero_to_the_gram(failing):  # R-A3
    kwargs = {"mandate": "1"} if failing == "regulatory" else {}
    if failing == "class_b":
        kwargs["class_b"] = (ClassBTest("technology", False, "common"),)
    basis = NewOperation(date(2019, 12, 31)) if failing == "newness" else NEW_PLANT
    result = determine(inp(basis, 2023, **kwargs))
    assert (result.outcome, result.additional, result.newness_last_year) == (NOT_ADDITIONAL, False, None)
    assert [t.passed for t in result.tests] == [t != failing for t in ("regulatory", "newness", "class_b")]
    assert str(result.eligible_kg[2023]) == "0.000"


@pytest.mark.parametrize(
    "basis, last",
    [(PhaseOut(), 2025), (NEW_PLANT, 2036), (SOLD_AND_RESTARTED, 2035),
     (financial(Investment("primary_equipment", D(9_000_000)), on=date(2022, 2, 1)), 2037),
     (Quality(date(2021, 1, 1), D(10), reclassification="food"), 2036),
     (Capacity(date(2020, 7, 1), D(10), D(20)), 2035)],
)
def test_newness_last_year_per_basis(basis, last):  # P7.2.2.2, P7.2.5.1
    assert determine(inp(basis, 2023)).newness_last_year == last


def test_first_certified_year_reaches_every_reinvestment_basis():
    on = date(2019, 6, 1)  # before the New Date of 2023, on or after that of 2022
    for basis in (financial(Investment("primary_equipment", D(9_000_000)), on=on),
                  Quality(on, D(10), reclassification="food"), Capacity(on, D(10), D(20))):
        assert determine(inp(basis, 2023)).outcome == NOT_ADDITIONAL
        assert determine(inp(basis, 2023, first_certified_year=2022)).outcome == ADDITIONAL


def test_first_certified_year_refusals_in_full():
    assert determine(inp(INSTALLED_2020, 2023, first_certified_year=2023)).outcome == ADDITIONAL
    with pytest.raises(InvalidInput) as info:
        determine(inp(INSTALLED_2020, 2023, first_certified_year=2024))
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "out_of_range", "R-A5", "first_certified_year", "first_certified_year cannot be after the certification year")
    with pytest.raises(InvalidInput) as info:
        determine(inp(INSTALLED_2020, 2023, first_certified_year=2020))
    assert (info.value.code, info.value.rule, info.value.field) == ("out_of_range", "R-A2", "first_certified_year")


@pytest.mark.parametrize("capacity", [D(0), D("-0.001"), 1000, 1000.0, "1000"])
def test_determination_capacity_refusal_in_full(capacity):  # R-A1
    with pytest.raises(InvalidInput) as info:
        determine(inp(NEW_PLANT, capacity=capacity))
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "must_be_positive", "R-A1", "capacity", "the facility or line needs a positive annual capacity")


def test_smallest_capacity_is_accepted():
    assert determine(inp(NEW_PLANT, capacity=D("0.001"))).eligible_kg == {2023: D("0.001")}


def test_unknown_newness_basis_refusal_in_full():
    with pytest.raises(InvalidInput) as info:
        determine(inp("new_operation"))
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "unknown_newness_basis", "R-A5", "newness.basis",
        "newness.basis must be one of new_operation, financial, quality, capacity, phase_out")


def test_class_b_may_be_given_as_a_list():
    assert determine(inp(NEW_PLANT, class_b=list(PASSED_B))).outcome == ADDITIONAL


# --- financial_ratio and financial_test (P7.2.4.5) in full: found by mutation testing -----------------------


@pytest.mark.parametrize("fmv", ["0", "-1"])
def test_fair_market_value_refusal_in_full(fmv):
    with pytest.raises(InvalidInput) as info:
        financial_ratio(financial(Investment("primary_equipment", D(1)), fmv=fmv))
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "must_be_positive", "R-A5", "newness.fair_market_value", "fair_market_value must be greater than zero")


def test_investment_refusals_in_full_name_the_item():
    with pytest.raises(InvalidInput) as info:
        financial_ratio(financial(Investment("labour", D(1)), Investment("bribes", D(1))))
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "unknown_investment_category", "R-A5", "newness.investments[1].category",
        "investment category must be one of primary_equipment, labour, engineering, rental, permit, other; "
        "got 'bribes'")
    with pytest.raises(InvalidInput) as info:
        financial_ratio(financial(Investment("labour", D(1)), Investment("permit", D("-0.01"))))
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "must_not_be_negative", "R-A5", "newness.investments[1].amount", "an investment amount cannot be negative")


def test_ratio_is_exact_and_a_zero_amount_is_accepted():
    assert financial_ratio(financial(Investment("primary_equipment", D(0)), fmv="1")) == 0
    assert financial_ratio(financial(Investment("labour", D(5)), fmv="1")) == 0
    assert financial_ratio(financial(fmv="1")) == 0
    ratio = financial_ratio(financial(Investment("primary_equipment", D("2499999.999")),
                                      Investment("primary_equipment", D("0.001"))))
    assert ratio == D("0.25") and financial_share(ratio) == D("0.5")
    assert financial_ratio(financial(Investment("primary_equipment", D("2499999.999")))) < D("0.25")


@pytest.mark.parametrize(
    "amount, on, passes, kg, reason",
    [
        (3_000_000, date(2021, 5, 1), True, D(500_000),
         "Newness (financial reinvestment): qualifying investment is 30% of the fair market value, which qualifies "
         "half of the capacity (P7.2.4.5 iii-iv), 500000.000 kg per year; reinvestment 2021-05-01 is on or after "
         "the New Date 2020-01-01 (Table P7.2) and qualifies through 2036 (P7.2.2.2)"),
        (5_000_000, date(2021, 5, 1), True, D(1_000_000),
         "Newness (financial reinvestment): qualifying investment is 50% of the fair market value, which qualifies "
         "all of the capacity (P7.2.4.5 iii-iv), 1000000.000 kg per year; reinvestment 2021-05-01 is on or after "
         "the New Date 2020-01-01 (Table P7.2) and qualifies through 2036 (P7.2.2.2)"),
        (2_000_000, date(2021, 5, 1), False, D(0),
         "Newness (financial reinvestment): qualifying investment is 20% of the fair market value, below the 25% "
         "threshold (P7.2.4.5 i); reinvestment 2021-05-01 is on or after the New Date 2020-01-01 (Table P7.2) and "
         "qualifies through 2036 (P7.2.2.2)"),
        (5_000_000, date(2019, 5, 1), False, D(0),
         "Newness (financial reinvestment): qualifying investment is 50% of the fair market value, which qualifies "
         "all of the capacity (P7.2.4.5 iii-iv); reinvestment 2019-05-01 is before the New Date 2020-01-01 of "
         "certification year 2023 (Table P7.2)"),
    ],
)
def test_financial_test_in_full(amount, on, passes, kg, reason):
    from registry.additionality.newness import financial_test

    result, basis = financial_test(financial(Investment("primary_equipment", D(amount)), on=on), 2023, TONNES_1000)
    assert (result.test, result.passed, result.reason, result.clause) == ("newness", passes, reason, "P7.2.4.5")
    assert (basis.kg, basis.pc_only) == (kg, False)


# --- new operations, restarts and the dated window (P7.2.2, P7.2.3) in full: found by mutation testing ---------


@pytest.mark.parametrize(
    "operation, passes, reason",
    [
        (NewOperation(date(2021, 6, 1)), True,
         "Newness (new operation): operation started on 2021-06-01; 2021-06-01 is on or after the New Date "
         "2020-01-01 (Table P7.2) and qualifies through 2036 (P7.2.2.2); qualifies the full capacity of 1000.000 kg "
         "per year"),
        (NewOperation(date(2019, 6, 1)), False,
         "Newness (new operation): operation started on 2019-06-01; 2019-06-01 is before the New Date 2020-01-01 "
         "of certification year 2023 (Table P7.2)"),
        (SOLD_AND_RESTARTED, True,
         "Newness (new operation): the facility stopped on 2020-04-15 and restarted under new ownership on "
         "2020-12-15 (P7.2.3.2); 2020-12-15 is on or after the New Date 2020-01-01 (Table P7.2) and qualifies "
         "through 2035 (P7.2.2.2); qualifies the full capacity of 1000.000 kg per year"),
    ],
)
def test_new_operation_test_in_full(operation, passes, reason):
    from registry.additionality.newness import new_operation_test

    result, basis = new_operation_test(operation, 2023, D(1000))
    assert (result.test, result.passed, result.reason, result.clause) == ("newness", passes, reason, "P7.2.3")
    assert (basis.kg, basis.pc_only) == (D(1000) if passes else D(0), False)


def test_new_operation_carried_by_continuous_certification():
    from registry.additionality.newness import new_operation_test

    result, _ = new_operation_test(NewOperation(date(2019, 6, 1)), 2023, D(1000), 2022)
    assert result.passed
    assert "New Date 2019-01-01 (continuously certified since 2022)" in result.reason


@pytest.mark.parametrize(
    "restart, start, reason",
    [
        (None, date(2005, 3, 1), "operation started on 2005-03-01"),
        (Restart(date(2020, 4, 15), date(2020, 12, 15), False), date(2005, 3, 1),
         "the restart on 2020-12-15 was under the same ownership, which does not make a new operation (P7.2.3.3); "
         "the original start 2005-03-01 counts"),
        (Restart(date(2020, 4, 15), date(2020, 10, 14), True), date(2005, 3, 1),
         "the facility stopped on 2020-04-15 and restarted on 2020-10-14, less than six months (P7.2.3.2); the "
         "original start 2005-03-01 counts"),
        (Restart(date(2020, 4, 15), date(2020, 12, 15), True), date(2020, 12, 15),
         "the facility stopped on 2020-04-15 and restarted under new ownership on 2020-12-15 (P7.2.3.2)"),
        # the dates may coincide: stopped the day it started, restarted the day it stopped
        (Restart(date(2005, 3, 1), date(2005, 3, 1), True), date(2005, 3, 1),
         "the facility stopped on 2005-03-01 and restarted on 2005-03-01, less than six months (P7.2.3.2); the "
         "original start 2005-03-01 counts"),
    ],
)
def test_qualifying_start_in_full(restart, start, reason):
    assert qualifying_start(NewOperation(date(2005, 3, 1), restart)) == (start, reason)


@pytest.mark.parametrize("stopped, restarted", [(date(2005, 2, 28), date(2020, 1, 1)),
                                                (date(2020, 4, 15), date(2020, 4, 14))])
def test_restart_date_order_refusal_in_full(stopped, restarted):
    with pytest.raises(InvalidInput) as info:
        qualifying_start(NewOperation(date(2005, 3, 1), Restart(stopped, restarted, True)))
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "invalid_date_order", "R-A5", "newness.restart",
        "dates must run operation_start <= restart.stopped_on <= restart.restarted_on")


def test_a_future_basis_refusal_in_full():
    assert determine(inp(NewOperation(date(2023, 12, 31)), 2023)).outcome == ADDITIONAL
    with pytest.raises(InvalidInput) as info:
        determine(inp(NewOperation(date(2024, 1, 1)), 2023))
    e = info.value
    assert (e.code, e.rule, e.field, e.detail) == (
        "date_out_of_range", "R-A5", "newness",
        "2024-01-01 is after certification year 2023: a determination cannot rest on a future event")


def test_the_window_reasons_in_full():
    from registry.additionality.newness import new_operation_test

    last, _ = new_operation_test(INSTALLED_2020, 2035, D(1), 2023)
    assert last.passed and last.reason == (
        "Newness (new operation): operation started on 2020-06-01; 2020-06-01 is on or after the New Date "
        "2020-01-01 (continuously certified since 2023) (Table P7.2) and qualifies through 2035 (P7.2.2.2); "
        "qualifies the full capacity of 1.000 kg per year")
    ended, basis = new_operation_test(INSTALLED_2020, 2036, D(1), 2023)
    assert (ended.passed, basis.kg) == (False, D(0))
    assert ended.reason == (
        "Newness (new operation): operation started on 2020-06-01; the 15 years of 2020-06-01 ended with 2035; "
        "renew against the New Date of 2036 (P7.2.2.2)")


@pytest.mark.parametrize("day, months, expected", [
    (date(2021, 3, 31), 1, date(2021, 4, 30)), (date(2021, 1, 31), 1, date(2021, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)), (date(2021, 5, 31), 0, date(2021, 5, 31)),
    (date(2021, 12, 31), 12, date(2022, 12, 31)), (date(2021, 11, 30), 2, date(2022, 1, 30)),
])
def test_add_months_clamps_to_the_end_of_a_shorter_month(day, months, expected):
    assert add_months(day, months) == expected


# --- phase_out_test (P7.2.5) in full: found by mutation testing -----------------------------------------------


def test_phase_out_test_in_full():
    from registry.additionality.newness import phase_out_test

    result, basis = phase_out_test(2023, TONNES_1000)
    assert (result.test, result.passed, result.clause) == ("newness", True, "P7.2.5")
    assert result.reason == (
        "Newness exemption for existing processors: 30% of the capacity of 1000000.000 kg in 2023 (Table P7.5), "
        "300000.000 kg per year, post-consumer material only (P7.2.5.2)")
    assert (basis.kg, basis.pc_only) == (D(300_000), True)
    ended, basis = phase_out_test(2026, TONNES_1000)
    assert (ended.test, ended.passed, ended.clause) == ("newness", False, "P7.2.5")
    assert ended.reason == (
        "Newness exemption for existing processors: the phase-out period ended on 2025-12-31; it yields nothing "
        "for 2026 (P7.2.5.1)")
    assert (basis.kg, basis.pc_only) == (D(0), False)


@pytest.mark.parametrize("year, kg", [(2021, "500"), (2022, "400"), (2024, "200"), (2025, "100")])
def test_phase_out_basis_each_year(year, kg):
    from registry.additionality.newness import phase_out_test

    result, basis = phase_out_test(year, D(1000))
    assert result.passed and basis == type(basis)(D(kg), pc_only=True)


def test_capacity_test_is_not_line_scoped_unless_told():  # P7.2.4.7 iv
    from registry.additionality.newness import capacity_test

    with pytest.raises(RuleViolation):
        capacity_test(Capacity(date(2022, 1, 10), D(1000), D(1200)), 2023, facility_lines=2)


@pytest.mark.parametrize("before, after", [("1", "1.1"), ("0.001", "1"), ("100", "1")])
def test_capacity_of_a_kilogram_or_less_is_accepted(before, after):
    from registry.additionality.newness import capacity_test

    result, basis = capacity_test(Capacity(date(2022, 1, 10), D(before), D(after)), 2023)
    assert basis.kg == (D(after) - D(before) if result.passed else 0)


@pytest.mark.parametrize(("price", "market", "shown"), [
    ("0.1299", "0.03", "a difference of 9.9% (less than"),   # 9.99 points: never "10% (less than the 10 ...)"
    ("0.13", "0.03", "a difference of 10% (at least"),
    ("0.13", "0.0301", "a difference of 9.9% (less than"),
])
def test_quality_reason_never_rounds_a_miss_up_to_the_threshold(price, market, shown):
    from registry.additionality.newness import quality_test

    result, _ = quality_test(_quality(price_increase=D(price), market_increase=D(market)), 2023)
    assert shown in result.reason


def test_financial_reason_never_rounds_a_miss_up_to_the_threshold():
    from registry.additionality.newness import financial_ratio, financial_test

    spent = financial(Investment("primary_equipment", D(2_499_000)))  # 24.99% of 10M
    assert financial_ratio(spent) < D("0.25")
    result, _ = financial_test(spent, 2023, D("1000000"))
    assert "24.9% of the fair market value, below the 25% threshold" in result.reason
