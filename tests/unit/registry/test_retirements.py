"""The pure parts of registry/retirements.py (R-R1, R-R3, R-R5): the product a claim names,
the reporting-year window, the stated composition and its restatement.

Found missing by mutation testing (docs/testing.md): the API tests reach these only through
whole retirements, and no test looked at the bounds' edges or at a refusal's words.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from registry.claims import CompositionItem
from registry.errors import InvalidInput, RuleViolation
from registry.retirements import (
    ProductClaim,
    ProductYear,
    _check_reporting_year,
    _check_same_composition,
    _product,
    stated_composition,
)
from registry.units import parse_mass


def _refusal(error, call, *args):
    with pytest.raises(error) as info:
        call(*args)
    e = info.value
    return e.code, e.rule, e.field, e.detail


def test_product_claim_to_json_is_the_api_shape_in_kg():
    claim = ProductClaim("Bottle", (CompositionItem("PP", Decimal("2.5")), CompositionItem("PE", Decimal("1"))))
    assert claim.to_json() == {"name": "Bottle", "composition": [
        {"arc_type": "PP", "mass": {"value": "2.500", "unit": "kg"}},
        {"arc_type": "PE", "mass": {"value": "1.000", "unit": "kg"}},
    ]}


def test_product_from_the_api_shape_or_a_product_claim():
    assert _product(None) is None
    given = ProductClaim("Bottle", (CompositionItem("PP", Decimal(3)),))
    assert _product(given) == given
    # A mass is a Mass (its kg are taken) or a Decimal of kg; the name is stripped (R-R5).
    raw = {"name": "  Bottle ", "composition": [{"arc_type": "PP", "mass": parse_mass({"value": "2", "unit": "t"})},
                                                {"arc_type": "PE", "mass": Decimal("1.5")}]}
    assert _product(raw) == ProductClaim("Bottle", (CompositionItem("PP", Decimal("2000")),
                                                    CompositionItem("PE", Decimal("1.5"))))
    assert _product({"name": "Bottle"}) == ProductClaim("Bottle", ())
    assert _product({"name": "Bottle", "composition": None}) == ProductClaim("Bottle", ())


@pytest.mark.parametrize("raw", [{"composition": []}, {"name": None}, {"name": "   "},
                                 ProductClaim(" ", ())])
def test_a_product_claim_names_the_product(raw):
    assert _refusal(InvalidInput, _product, raw) == (
        "product_name_required", "R-R3", "product.name", "a product claim names the product")


def test_the_product_name_is_checked_for_look_alikes():
    code, rule, field, _ = _refusal(InvalidInput, _product, {"name": "Bottle\u200b", "composition": []})
    assert (code, rule, field) == ("name_not_allowed", "R-R5", "product.name")


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_reporting_year_from_the_generation_year_to_the_year_after_retirement(year):
    _check_reporting_year(year, 2025, date(2026, 12, 31))


@pytest.mark.parametrize("year", [2024, 2028])
def test_reporting_year_outside_the_window_is_refused(year):
    assert _refusal(InvalidInput, _check_reporting_year, year, 2025, date(2026, 1, 1)) == (
        "invalid_reporting_year", "R-R1", "reporting_year",
        f"reporting_year must be between the generation year 2025 and 2027, got {year}")


def test_stated_composition_adds_up_per_type():
    assert stated_composition(None) == {}
    assert stated_composition({}) == {}
    assert stated_composition({"composition": None}) == {}
    product = ProductClaim("Bottle", (CompositionItem("PP", Decimal("2.5")), CompositionItem("PE", Decimal(1)),
                                      CompositionItem("PP", Decimal("0.25")))).to_json()
    assert stated_composition(product) == {"PP": Decimal("2.750"), "PE": Decimal("1.000")}


def test_composition_must_not_change_within_a_reporting_year():
    earlier = ProductYear(claimed={"PP": Decimal(1)}, declared_kg={"PP": Decimal("2.5")})
    same = ProductClaim("Bottle", (CompositionItem("PP", Decimal("2")), CompositionItem("PP", Decimal("0.5")),
                                   CompositionItem("PE", Decimal(7))))  # PE was not stated before: free
    _check_same_composition(same, earlier)
    larger = ProductClaim("Bottle", (CompositionItem("PE", Decimal(7)), CompositionItem("PP", Decimal("2.6"))))
    assert _refusal(RuleViolation, _check_same_composition, larger, earlier) == (
        "composition_changed", "R-R5", "product.composition",
        "this product's PP mass for the reporting year was stated as 2.500 kg, not 2.600 kg")
