"""R-B7, R-G6, R-G5: the pure lot rules (registry.lot_rules) the service and
replay (R-L7c) both apply to a ``lot.registered`` entry. Each refusal is
checked for its code, rule, field and words, and each bound at its edge."""

from __future__ import annotations

from decimal import Decimal

import pytest

from registry.errors import RuleViolation
from registry.lot_rules import (
    LHV_MAX_MJ_PER_KG,
    require_certified_site,
    require_conversion_adds_up,
    require_peq_is_chemical,
)

D = Decimal


def conversion(*, inputs=("600000.000",), outputs=(("PC_P3.1.9", "500000.000"),), factor="83.333"):
    return {"inputs": [{"material_code": "PC_P5.1.6", "mass_kg": m} for m in inputs],
            "outputs": [{"material_code": c, "mass_kg": m} for c, m in outputs], "factor": factor}


def refused(call, *args) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        call(*args)
    return info.value


# --- R-B7 ------------------------------------------------------------------------------------


def test_conversion_stated_to_the_factors_precision_adds_up():  # R-B7: 500 t from 600 t at 83.333%
    require_conversion_adds_up("PC_P3.1.9", D("500000.000"), conversion())


def test_output_above_the_factor_is_refused():  # R-B7
    # 500/600 = 83.33333...%; to the 4 places the factor states it is 83.3333, above 83.3332
    error = refused(require_conversion_adds_up, "PC_P3.1.9", D("500000.000"), conversion(factor="83.3332"))
    assert (error.code, error.rule, error.field) == ("conversion_inconsistent", "R-B7", "conversion.factor")
    assert error.detail == ("conversion documentation does not add up: 500000.000 kg of output from 600000.000 kg "
                            "of input is more than the conversion factor of 83.3332% allows (RMS 5.4.2)")


def test_the_ratio_is_rounded_half_up_at_the_factors_last_digit():  # R-B7
    # 1 of 8 is 12.5%: stated to whole percent it rounds half up to 13, above a factor of 12
    require_conversion_adds_up("PC_P3.1.9", D("1.000"), conversion(inputs=("8.000",), outputs=(("PC_P3.1.9", "1.000"),),
                                                                     factor="13"))
    error = refused(require_conversion_adds_up, "PC_P3.1.9", D("1.000"),
                    conversion(inputs=("8.000",), outputs=(("PC_P3.1.9", "1.000"),), factor="12"))
    assert error.field == "conversion.factor"
    # 1 of 8 to one decimal is 12.5: within 12.5, beyond 12.4
    require_conversion_adds_up("PC_P3.1.9", D("1.000"), conversion(inputs=("8.000",), outputs=(("PC_P3.1.9", "1.000"),),
                                                                     factor="12.5"))
    refused(require_conversion_adds_up, "PC_P3.1.9", D("1.000"),
            conversion(inputs=("8.000",), outputs=(("PC_P3.1.9", "1.000"),), factor="12.4"))


def test_the_factor_bounds_all_outputs_over_all_inputs():  # R-B7: every output counts, every input counts
    two_outputs = conversion(inputs=("100.000",), outputs=(("PC_P3.1.9", "60.000"), ("PC_P3.1.5", "30.000")),
                             factor="90")
    require_conversion_adds_up("PC_P3.1.9", D("60.000"), two_outputs)
    assert refused(require_conversion_adds_up, "PC_P3.1.9", D("60.000"),
                   dict(two_outputs, factor="89")).field == "conversion.factor"
    two_inputs = conversion(inputs=("50.000", "50.000"), outputs=(("PC_P3.1.9", "90.000"),), factor="90")
    require_conversion_adds_up("PC_P3.1.9", D("90.000"), two_inputs)
    assert refused(require_conversion_adds_up, "PC_P3.1.9", D("90.000"),
                   dict(two_inputs, factor="89")).field == "conversion.factor"


def test_no_input_documented_cannot_add_up():  # R-B7: no input, no output
    error = refused(require_conversion_adds_up, "PC_P3.1.9", D("1.000"), conversion(inputs=()))
    assert (error.code, error.field) == ("conversion_inconsistent", "conversion.factor")
    error = refused(require_conversion_adds_up, "PC_P3.1.9", D("1.000"), conversion(inputs=("0.000",)))
    assert error.field == "conversion.factor"


def test_an_input_under_a_kilogram_is_still_an_input():  # R-B7: any input above zero has a ratio
    small = conversion(inputs=("0.800",), outputs=(("PC_P3.1.9", "0.500"),), factor="62.5")
    require_conversion_adds_up("PC_P3.1.9", D("0.500"), small)
    assert refused(require_conversion_adds_up, "PC_P3.1.9", D("0.500"),
                   dict(small, factor="62.4")).field == "conversion.factor"


def test_the_lot_is_at_most_the_documented_output_of_its_code():  # R-B7
    outputs = (("PC_P3.1.9", "300.000"), ("PC_P3.1.9", "200.000"), ("PC_P3.1.5", "100.000"))
    mixed = conversion(inputs=("1000.000",), outputs=outputs, factor="60")
    require_conversion_adds_up("PC_P3.1.9", D("500.000"), mixed)  # both PC_P3.1.9 outputs count, not PC_P3.1.5
    error = refused(require_conversion_adds_up, "PC_P3.1.9", D("500.001"), mixed)
    assert (error.code, error.rule, error.field) == ("conversion_inconsistent", "R-B7", "mass")
    assert error.detail == ("conversion documentation does not add up: the lot's 500.001 kg exceed the 500.000 kg "
                            "of PC_P3.1.9 the conversion documents (RMS 5.4.2)")


def test_a_conversion_without_an_output_of_the_lots_code_is_refused():  # R-B7
    error = refused(require_conversion_adds_up, "PC_P3.1.5", D("1.000"), conversion())
    assert (error.code, error.rule, error.field) == ("conversion_inconsistent", "R-B7", "conversion.outputs")
    assert error.detail == ("conversion documentation does not add up: the conversion documents no output of "
                            "PC_P3.1.5, the lot's material (RMS 5.4.2)")
    zero = conversion(outputs=(("PC_P3.1.9", "0.000"),))
    assert refused(require_conversion_adds_up, "PC_P3.1.9", D("0.000"), zero).field == "conversion.outputs"


# --- R-G6 ------------------------------------------------------------------------------------


def test_only_p2_intermediates_are_held_to_the_peq_rule():  # R-G6
    require_peq_is_chemical("P3", "physical", None)
    require_peq_is_chemical("P1", "physical", D("60"))


def test_a_p2_intermediate_must_come_from_chemical_recycling():  # R-G6
    error = refused(require_peq_is_chemical, "P2", "physical", D("42"))
    assert (error.code, error.rule, error.field) == ("peq_not_chemical", "R-G6", "conversion.transformation")
    assert error.detail == ("PEQ certificates are for chemical recycling: a P2 intermediate's conversion is "
                            "'chemical' (P6.1.3)")


@pytest.mark.parametrize("lhv", ["0.001", "42", "50"])
def test_a_plausible_heating_value_is_accepted(lhv):  # R-G6: above 0, at most 50 MJ/kg
    require_peq_is_chemical("P2", "chemical", D(lhv))


@pytest.mark.parametrize("lhv", [None, "0", "-1", "50.001", "51"])
def test_an_implausible_heating_value_is_refused(lhv):  # R-G6
    error = refused(require_peq_is_chemical, "P2", "chemical", None if lhv is None else D(lhv))
    assert (error.code, error.rule, error.field) == ("lhv_implausible", "R-G6", "lhv_mj_per_kg")
    assert error.detail == ("a hydrocarbon intermediate's lower heating value lies above 0 and at most 50 MJ/kg, "
                            f"not {lhv}")


def test_the_heating_value_ceiling_is_methanes():  # R-G6: 50.0 MJ/kg
    assert LHV_MAX_MJ_PER_KG == D("50")


# --- R-G5 ------------------------------------------------------------------------------------

SITES = [{"name": "Plant A", "country": "US"}, {"name": "Usine B", "country": "CA"}]


@pytest.mark.parametrize("country", ["US", "CA", "MX"])
def test_a_certificate_listing_no_site_covers_none(country):  # R-G5, strict since migration 0018 (R-C6)
    error = refused(require_certified_site, country, "Anything", [])
    assert (error.code, error.rule) == ("facility_not_certified", "R-G5")
    assert "covers no site" in error.detail


def test_a_site_outside_north_america_is_refused():  # R-G5 (RMS 1.3.1)
    error = refused(require_certified_site, "DE", "Werk Berlin", [])
    assert (error.code, error.rule, error.field) == ("facility_not_certified", "R-G5", "facility_id")
    assert error.detail == ("the facility is in DE: RMS certification covers sites in North America (US, CA, MX) "
                            "only (RMS 1.3.1)")
    assert refused(require_certified_site, "DE", "Plant A", [{"name": "Plant A", "country": "DE"}]).code == \
        "facility_not_certified"


def test_a_listed_site_is_matched_by_country_and_name_identity():  # R-G5, R-R5
    require_certified_site("US", "plant  a", SITES)
    require_certified_site("CA", "USINE B", SITES)
    error = refused(require_certified_site, "US", "Plant B", SITES)
    assert (error.code, error.rule, error.field) == ("facility_not_certified", "R-G5", "facility_id")
    assert error.detail == ("the certificate covers Plant A (US); Usine B (CA), not this facility (RMS 7.1.3); a site "
                            "added between audits is an amendment of the certificate (RMS 7.4.3)")
    # the right name in the wrong country is another site
    assert refused(require_certified_site, "CA", "Plant A", SITES).code == "facility_not_certified"
    assert refused(require_certified_site, "US", "Usine B", SITES).code == "facility_not_certified"
