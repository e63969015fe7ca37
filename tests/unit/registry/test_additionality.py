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
