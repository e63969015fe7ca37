"""R-B3, R-B4, R-B5, R-R3, R-R4: content claims, eligible mass, ARC claims."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.lot_account import LotAccount
from registry.claims import (
    CompositionItem,
    check_claim_date,
    check_claim_type,
    check_product_claim,
    check_product_named,
    claim_share,
    disclaimer_required,
    parse_claim,
)
from registry.classification import (
    RecycledStatus,
    arc_code,
    arc_type,
    parse_material_code,
)
from registry.errors import InvalidInput, RuleViolation
from registry.quantities import (
    certificate_quantity,
)
from registry.units import parse_mass

D = Decimal
PC, PI, R = RecycledStatus.PC, RecycledStatus.PI, RecycledStatus.R
TEN_THOUSAND_T = parse_mass({"value": "10000", "unit": "t"}).kg


# --- RMS claim syntax (RMS 6.5.9, Tables 6.2 and 6.3) -------------------------------------


@pytest.mark.parametrize(
    "text, total, pc, status, system",
    [
        ("RMS 40% PC AC", 40, 40, PC, "AC"),  # Table 6.3
        ("RMS 90% PI AC", 90, 0, PI, "AC"),
        ("RMS 50%/10% PC MB", 50, 10, PC, "MB"),
        ("RMS 100% PC MB", 100, 100, PC, "MB"),
        ("RMS 75% PC MB", 75, 75, PC, "MB"),
        ("RMS 30% MB", 30, 0, R, "MB"),  # 6.5.4: no status -> the lesser "recycled"
        ("RMS 1% AC", 1, 0, R, "AC"),
        ("RMS 50%/50% PC MB", 50, 50, PC, "MB"),
    ],
)
def test_parse_claim(text, total, pc, status, system):
    claim = parse_claim(text)
    assert (claim.total_percent, claim.pc_percent, claim.status, claim.control_system) == (total, pc, status, system)
    assert claim.text == text
    assert claim.fraction == D(total) / 100


@pytest.mark.parametrize(
    "text",
    [
        "RMS 75 % PC MB", "RMS 75% PC", "75% PC MB", "rms 75% pc mb", "RMS 75% PCR MB", "RMS 75% PC SG",
        "RMS 0% MB", "RMS 075% MB", "RMS 101% MB", "RMS 150% PC MB",
        "RMS 50%/10% PI MB",  # the second figure is post-consumer
        "RMS 50%/10% MB", "RMS 10%/50% PC MB",  # pc part cannot exceed the total
        "RMS 75% MB PC",  # 6.5.9.2: order matters
        "RMS  75% PC MB", " RMS 75% PC MB", "RMS 75% PC MB\n", "", None, 75,
    ],
)
def test_malformed_claims_are_refused(text):
    with pytest.raises(InvalidInput) as info:
        parse_claim(text, field="claim")
    assert (info.value.code, info.value.field, info.value.status) == ("invalid_claim", "claim", 400)


@pytest.mark.parametrize("text", ["RMS 75.5% PC MB", "RMS 15.2% AC", "RMS 50%/10.5% PC MB"])
def test_fractional_percentages_are_refused_with_their_own_code(text):  # RMS 6.5.3
    with pytest.raises(InvalidInput) as info:
        parse_claim(text, field="claim", rule="R-M3")
    assert (info.value.code, info.value.field, info.value.rule) == ("claim_not_whole_percent", "claim", "R-M3")
    assert info.value.detail == (f"claim {text!r}: claims are expressed as a percentage rounded to the nearest "
                                 "whole number (RMS 6.5.3)")  # the clause the reprocessor must read


def test_claimed_mass_is_the_total_percentage_of_the_sale():  # R-B3, SPEC §13.1
    assert parse_claim("RMS 75% PC MB").claimed_kg(TEN_THOUSAND_T) == D("7500000.000")
    assert parse_claim("RMS 50%/10% PC MB").claimed_kg(D(1000)) == D("500.000")
    assert parse_claim("RMS 33% MB").claimed_kg(D("0.005")) == D("0.002")  # 0.00165 half-up


# --- ARC-eligible mass (R-B4) ------------------------------------------------------------------


def test_example_8_1_75_percent_claim_leaves_2500_t():
    """10 000 t of 100% PC PP sold with a 75% MB claim -> at most 2 500 t of ARCs (R-B4, registry.lot_account)."""
    claimed = parse_claim("RMS 75% PC MB").claimed_kg(TEN_THOUSAND_T)
    account = LotAccount(status="PC", mass_kg=TEN_THOUSAND_T, pc_kg=None, sold_kg=TEN_THOUSAND_T,
                         claimed_kg=claimed, claimed_pc_kg=claimed, used_kg=D(0), used_pc_kg=D(0))
    eligible = account.eligible_kg("PC")
    assert eligible == D("2500000.000")
    pp = parse_material_code("PC_P3.1.9")
    assert certificate_quantity(pp, eligible) == D("2500.000")
    assert arc_code(pp.status, arc_type(pp)) == "PC_P_PP_ARC"
    over = LotAccount(status="PC", mass_kg=TEN_THOUSAND_T, pc_kg=None, sold_kg=TEN_THOUSAND_T,
                      claimed_kg=claimed, claimed_pc_kg=claimed, used_kg=D("2500001.000"), used_pc_kg=D(0))
    with pytest.raises(RuleViolation) as info:
        over.require_invariants()  # 2 500.001 t
    assert (info.value.code, info.value.rule, info.value.status) == ("lot_over_allocated", "R-B4", 422)


def test_disclaimer_when_the_full_mass_backs_arcs():  # R-B5, RMS 8.3.4.5
    assert disclaimer_required(D(1000), D(1000))
    assert not disclaimer_required(D(1000), D("999.999"))


@given(
    st.decimals(min_value=0, max_value=10**9, places=3),
    st.integers(0, 100),
    st.decimals(min_value=0, max_value=10**9, places=3),
)
def test_an_overdraft_is_reported_never_floored(sold, percent, used):
    """R-B4: what is left is exactly sold - claimed - used; when claims and ARCs exceed the sales the
    account says so (no floor at zero hides it)."""
    claimed = parse_claim(f"RMS {percent}% MB").claimed_kg(sold) if percent else D(0)
    account = LotAccount(status="PC", mass_kg=sold, pc_kg=None, sold_kg=sold, claimed_kg=claimed,
                         claimed_pc_kg=D(0), used_kg=used, used_pc_kg=D(0))
    assert account.eligible_kg("PC") == sold - claimed - used
    assert (account.violations() == []) == (claimed + used <= sold)


# --- product claims (R-R3) ----------------------------------------------------------------------

BOTTLE = [CompositionItem("PET", D(800)), CompositionItem("PP", D(150)), CompositionItem("PE", D(50))]


def test_product_claim_matching_type_within_its_mass():
    check_product_claim("PET", D("0.800"), BOTTLE)
    check_product_claim("PP", D("0.100"), BOTTLE, already_retired=D("0.050"))


@pytest.mark.parametrize(
    "arc_type, quantity, code",
    [
        ("PS", D("0.001"), "material_mismatch"),
        ("PEQ", D("0.001"), "material_mismatch"),
        ("OTHER", D("0.001"), "material_mismatch"),
        ("PET", D("0.801"), "exceeds_product_mass"),
        ("PE", D("0.051"), "exceeds_product_mass"),
    ],
)
def test_product_claim_refusals(arc_type, quantity, code):
    with pytest.raises(RuleViolation) as info:
        check_product_claim(arc_type, quantity, BOTTLE)
    assert (info.value.code, info.value.rule) == (code, "R-R3")


def test_peq_message_points_to_general_claims():
    with pytest.raises(RuleViolation) as info:
        check_product_claim("PEQ", D(1), BOTTLE)
    assert "general claims only" in info.value.detail


def test_peq_and_other_back_products_that_name_them():
    check_product_claim("PEQ", D(1), [CompositionItem("PEQ", D(1000))])
    check_product_claim("OTHER", D("0.5"), BOTTLE + [CompositionItem("OTHER", D(500))])


def test_earlier_retirements_count_against_the_type():
    with pytest.raises(RuleViolation) as info:
        check_product_claim("PP", D("0.100"), BOTTLE, already_retired=D("0.051"))
    assert info.value.code == "exceeds_product_mass"


def test_repeated_types_in_a_composition_add_up():
    check_product_claim("PE", D(2), [CompositionItem("PE", D(1000)), CompositionItem("PE", D(1000))])


@pytest.mark.parametrize(
    "composition, code, field",
    [
        ([], "composition_required", "product.composition"),
        ([CompositionItem("HDPE", D(1))], "unknown_arc_type", "product.composition[0].arc_type"),
        ([CompositionItem("PE", D(0))], "must_be_positive", "product.composition[0].mass"),
    ],
)
def test_composition_is_checked(composition, code, field):
    with pytest.raises(InvalidInput) as info:
        check_product_claim("PE", D(1), composition)
    assert (info.value.code, info.value.field) == (code, field)


def test_claim_type():
    assert check_claim_type("general") == "general"
    with pytest.raises(InvalidInput) as info:
        check_claim_type("marketing")
    assert info.value.code == "invalid_claim_type"


# --- claim date and claim share (R-R4) --------------------------------------------------------------


def test_claim_date_before_retirement_is_refused():
    check_claim_date(None, date(2022, 5, 1))
    check_claim_date(date(2022, 5, 1), date(2022, 5, 1))
    check_claim_date(date(2022, 6, 1), date(2022, 5, 1))
    with pytest.raises(RuleViolation) as info:
        check_claim_date(date(2022, 4, 30), date(2022, 5, 1))
    assert (info.value.code, info.value.rule) == ("claim_before_retirement", "R-R4")


def test_example_8_3_claim_share_is_25_percent():
    """6 250 PC PE ARCs retired against 25 000 t of HDPE packaging -> 25%."""
    packaging = parse_mass({"value": "25000", "unit": "t"}).kg
    assert claim_share(D("6250.000"), packaging) == D("0.2500")


@pytest.mark.parametrize(
    "quantity, basis_kg, share",
    [("1", "3000", "0.3333"), ("2", "3000", "0.6667"), ("0.001", "1", "1.0000"), ("3", "2000", "1.5000")],
)
def test_claim_share_rounds_half_up_to_a_hundredth_of_a_percent(quantity, basis_kg, share):
    assert claim_share(D(quantity), D(basis_kg)) == D(share)


def test_claim_share_needs_a_basis():
    with pytest.raises(InvalidInput) as info:
        claim_share(D(1), D(0))
    assert info.value.field == "basis_mass"


# --- each refusal in full: code, rule, field and words (mutation testing, docs/testing.md) -------


@pytest.mark.parametrize(
    "text, problem",
    [
        ("RMS 75% PC", "the form is 'RMS <total>%[/<post-consumer>%] [PC|PI] <AC|MB>', e.g. 'RMS 75% PC MB'"),
        ("RMS 101% MB", "the total percentage cannot exceed 100%"),
        ("RMS 50%/10% PI MB",
         "a '/n%' post-consumer part is written with the PC designation, e.g. 'RMS 50%/10% PC MB'"),
        ("RMS 50%/10% MB",
         "a '/n%' post-consumer part is written with the PC designation, e.g. 'RMS 50%/10% PC MB'"),
        ("RMS 10%/50% PC MB", "the post-consumer part cannot exceed the total percentage"),
    ],
)
def test_a_malformed_claim_says_what_is_wrong(text, problem):  # R-B3, RMS 6.5.9
    with pytest.raises(InvalidInput) as info:
        parse_claim(text, field="sale.claim")
    error = info.value
    assert (error.code, error.rule, error.field) == ("invalid_claim", "R-B3", "sale.claim")
    assert error.detail == f"sale.claim {text!r} is not an RMS claim: {problem} (RMS 6.5.9)"
    with pytest.raises(InvalidInput) as info:
        parse_claim(text)
    assert info.value.field == "claim"


def test_the_claim_bounds_are_inclusive():  # R-B3: 100% and a post-consumer part equal to the total
    assert parse_claim("RMS 100% MB").total_percent == 100
    assert parse_claim("RMS 40%/40% PC AC").pc_percent == 40


def test_post_consumer_share_by_status():  # RMS 6.5.4-6.5.5: only PC claims a post-consumer part
    assert parse_claim("RMS 40% PC AC").pc_percent == 40
    assert parse_claim("RMS 40% PI AC").pc_percent == 0
    assert parse_claim("RMS 40% AC").pc_percent == 0
    assert parse_claim("RMS 40%/1% PC AC").pc_percent == 1
    assert parse_claim("RMS 40% PC AC").pc_split_percent is None


def test_claimed_mass_rounds_half_up_to_the_gram():  # R-B3, R-U4
    assert parse_claim("RMS 50% MB").claimed_kg(D("0.001")) == D("0.001")  # 0.0005 half-up
    assert parse_claim("RMS 49% MB").claimed_kg(D("0.001")) == D("0.000")  # 0.00049


def test_disclaimer_also_when_arcs_exceed_the_lot():  # R-B5: used >= lot mass
    assert disclaimer_required(D(1000), D("1000.001"))


def test_claim_type_refusal_in_full():  # R-R1
    assert check_claim_type("product") == "product"
    with pytest.raises(InvalidInput) as info:
        check_claim_type("marketing")
    error = info.value
    assert (error.code, error.rule, error.field) == ("invalid_claim_type", "R-R1", "claim_type")
    assert error.detail == "claim_type must be 'general' or 'product', got 'marketing'"


@pytest.mark.parametrize(
    "composition, code, field, detail",
    [
        ([], "composition_required", "product.composition",
         "a product claim needs the product's composition by material type"),
        ([CompositionItem("PE", D(1)), CompositionItem("PP", D("-1"))], "must_be_positive",
         "product.composition[1].mass", "a material's mass in the product must be greater than zero"),
    ],
)
def test_composition_refusals_in_full(composition, code, field, detail):  # R-R3
    with pytest.raises(InvalidInput) as info:
        check_product_claim("PE", D(1), composition)
    error = info.value
    assert (error.code, error.rule, error.field, error.detail) == (code, "R-R3", field, detail)


def test_the_second_items_type_is_named_by_its_index():  # R-R3
    with pytest.raises(InvalidInput) as info:
        check_product_claim("PE", D(1), [CompositionItem("PE", D(1)), CompositionItem("HDPE", D(1))])
    assert info.value.field == "product.composition[1].arc_type"


def test_product_claim_refusals_in_full():  # R-R3, RMS 8.9.1.3
    with pytest.raises(RuleViolation) as info:
        check_product_claim("PS", D(1), BOTTLE)
    assert info.value.detail == "the product contains PE, PET, PP, not PS (RMS 8.9.1.3)"
    with pytest.raises(RuleViolation) as info:
        check_product_claim("OTHER", D(1), BOTTLE)
    assert info.value.detail == ("OTHER certificates back general claims only, unless the product composition "
                                 "names OTHER (RMS 8.9.1.3)")
    with pytest.raises(RuleViolation) as info:
        check_product_claim("PP", D("0.100"), BOTTLE, already_retired=D("0.051"))
    error = info.value
    assert (error.code, error.rule, error.field) == ("exceeds_product_mass", "R-R3", None)
    assert error.detail == ("0.151 PP certificates stand for 151.000 kg, more than the 150.000 kg of PP in the "
                            "product (RMS 8.9.1.3)")
    check_product_claim("PP", D("0.100"), BOTTLE, already_retired=D("0.050"))  # exactly the product's mass
    check_product_claim("PP", D("0.150"), BOTTLE)


def test_claim_date_refusal_in_full():  # R-R4, RMS 8.8.1
    with pytest.raises(RuleViolation) as info:
        check_claim_date(date(2022, 4, 30), date(2022, 5, 1))
    assert info.value.detail == ("the claim date 2022-04-30 is before the retirement date 2022-05-01: retire "
                                 "first, then claim (RMS 8.8.1)")


def test_claim_share_refusal_in_full():  # R-R4
    for basis in (D(0), D("-1")):
        with pytest.raises(InvalidInput) as info:
            claim_share(D(1), basis)
        error = info.value
        assert (error.code, error.rule, error.field) == ("must_be_positive", "R-R4", "basis_mass")
        assert error.detail == "the claim basis mass must be greater than zero"
    assert claim_share(D(1), D("0.001")) == D("1000000.0000")
    assert claim_share(D("0.001"), D("20000")) == D("0.0001")  # 0.00005 half-up


@pytest.mark.parametrize("claim_type, named", [("product", True), ("general", False)])
def test_r_r3_a_product_claim_names_its_product_and_a_general_claim_none(claim_type, named):
    check_product_named(claim_type, named)  # accepted: nothing raised


@pytest.mark.parametrize("claim_type, named, code, detail", [
    ("product", False, "composition_required",
     "a product claim needs the product and its composition (RMS 8.9.1.3)"),
    ("general", True, "product_not_allowed", "a general claim names no product; use claim_type 'product'"),
])
def test_r_r3_a_product_claim_without_its_product_or_a_general_claim_with_one_is_refused(claim_type, named, code,
                                                                                         detail):
    """R-R3 (RMS 8.9.1.3): the one check the retirement service and replay both call."""
    with pytest.raises(InvalidInput) as info:
        check_product_named(claim_type, named)
    error = info.value
    assert (error.code, error.field, error.rule, error.status, error.detail) == (code, "product", "R-R3", 400, detail)
