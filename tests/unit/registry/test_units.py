"""R-U1..R-U4: masses and quantities are exact; only derived values round."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.errors import InvalidInput
from registry.units import (
    MAX_KG,
    Mass,
    Quantity,
    certificates_to_kg,
    format_milli,
    has_at_most,
    kg_to_certificates,
    parse_decimal,
    parse_kg,
    parse_mass,
    parse_quantity,
    round_half_up,
)

D = Decimal
milli_values = st.decimals(min_value=0, max_value=MAX_KG, places=3, allow_nan=False, allow_infinity=False)


def refused(code, fn, *args, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value.detail
    return info.value


# --- parse_mass (R-U1) ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, kg",
    [
        ({"value": "2500", "unit": "kg"}, "2500.000"),
        ({"value": "123.4", "unit": "kg"}, "123.400"),
        ({"value": "0.001", "unit": "kg"}, "0.001"),
        ({"value": "10000", "unit": "t"}, "10000000.000"),
        ({"value": "1.234567", "unit": "t"}, "1234.567"),
        ({"value": "100", "unit": "lb"}, "45.359"),  # 45.359237 half-up (R-U4)
        ({"value": "1", "unit": "lb"}, "0.454"),  # 0.45359237 rounds up
        ({"value": "96.94", "unit": "lb"}, "43.971"),  # Example P6.2's figure
        ({"value": "20000000", "unit": "lb"}, "9071847.400"),
        ({"value": 7, "unit": "kg"}, "7.000"),  # JSON integer
        ({"value": D("1.50"), "unit": "kg"}, "1.500"),  # JSON number via parse_float=Decimal
        ({"value": "1.2500", "unit": "kg"}, "1.250"),  # trailing zeros lose nothing
        ({"value": "1e3", "unit": "kg"}, "1000.000"),
    ],
)
def test_parse_mass_converts_to_kilograms(raw, kg):
    mass = parse_mass(raw)
    assert mass.to_json() == kg
    assert isinstance(mass.kg, Decimal)


def test_json_numbers_are_taken_as_their_decimal_text():
    body = json.loads('{"value": 12.345, "unit": "kg"}', parse_float=Decimal)
    assert parse_mass(body).to_json() == "12.345"
    too_fine = json.loads('{"value": 12.3456, "unit": "kg"}', parse_float=Decimal)
    refused("too_many_decimals", parse_mass, too_fine)


@pytest.mark.parametrize(
    "raw, code, field",
    [
        ({"value": "1.0001", "unit": "kg"}, "too_many_decimals", "mass.value"),
        ({"value": "0.0000001", "unit": "t"}, "too_many_decimals", "mass.value"),
        ({"value": "1.0001", "unit": "lb"}, "too_many_decimals", "mass.value"),
        ({"value": "-1", "unit": "kg"}, "must_be_positive", "mass.value"),
        ({"value": "0", "unit": "kg"}, "must_be_positive", "mass.value"),
        ({"value": "0.001", "unit": "lb"}, "must_be_positive", "mass.value"),  # 0.00045 kg rounds to 0
        ({"value": "abc", "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": "NaN", "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": "Infinity", "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": D("NaN"), "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": D("-Infinity"), "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": "1_000", "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": " 12", "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": "١٢", "unit": "kg"}, "invalid_number", "mass.value"),  # Arabic-Indic digits
        ({"value": "", "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": True, "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": 1.5, "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": None, "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": ["1"], "unit": "kg"}, "invalid_number", "mass.value"),
        ({"value": "1e13", "unit": "kg"}, "out_of_range", "mass.value"),
        ({"value": "1e999999999", "unit": "kg"}, "out_of_range", "mass.value"),
        ({"value": "2300000000000", "unit": "lb"}, "out_of_range", "mass.value"),
        ({"value": "1", "unit": "g"}, "invalid_unit", "mass.unit"),
        ({"value": "1", "unit": "KG"}, "invalid_unit", "mass.unit"),
        ({"value": "1"}, "invalid_mass", "mass"),
        ({"value": "1", "unit": "kg", "extra": 1}, "invalid_mass", "mass"),
        ("12 kg", "invalid_mass", "mass"),
        (12, "invalid_mass", "mass"),
    ],
)
def test_parse_mass_refuses_bad_input(raw, code, field):
    error = refused(code, parse_mass, raw)
    assert error.status == 400
    assert error.field == field


def test_python_floats_are_refused_because_their_decimal_text_is_lost():
    # 0.1 and 0.1000000000000000055511151231257827 are the same float.
    error = refused("invalid_number", parse_mass, {"value": 0.1, "unit": "kg"})
    assert "parse_float=Decimal" in error.detail


def test_parse_mass_names_the_callers_field():
    error = refused("too_many_decimals", parse_mass, {"value": "1.2345", "unit": "kg"}, field="capacity")
    assert error.field == "capacity.value"
    assert error.errors == {"capacity.value": [error.detail]}


def test_zero_mass_allowed_only_when_asked():
    assert parse_mass({"value": "0", "unit": "kg"}, allow_zero=True) == Mass.zero()
    assert parse_mass({"value": "-0", "unit": "kg"}, allow_zero=True).to_json() == "0.000"
    refused("must_not_be_negative", parse_mass, {"value": "-0.001", "unit": "kg"}, allow_zero=True)


def test_parse_kg_and_quantity():
    assert parse_kg("2500", field="basis_mass") == Mass(D("2500"))
    assert parse_quantity("2500.000") == Quantity(D(2500))
    assert parse_quantity(D("0.001")).to_json() == "0.001"
    refused("too_many_decimals", parse_quantity, "0.0001")
    refused("must_be_positive", parse_quantity, "0")
    refused("out_of_range", parse_quantity, "1000000001")


def test_every_number_is_bounded_even_without_a_maximum():
    refused("out_of_range", parse_decimal, "1e16", field="x")
    refused("out_of_range", parse_decimal, "1e99999999999999999999", field="x")
    refused("out_of_range", parse_decimal, 10**5000, field="x")


def test_parse_decimal_options():
    assert parse_decimal("-0.5", field="x", allow_negative=True) == D("-0.5")
    assert parse_decimal("0.123456", field="x", places=6) == D("0.123456")
    refused("too_many_decimals", parse_decimal, "0.1234567", field="x", places=6)
    refused("out_of_range", parse_decimal, "2", field="x", maximum=D(1))


# --- the value types -------------------------------------------------------------


def test_mass_arithmetic_and_format():
    a, b = Mass(D("2500")), Mass(D("0.001"))
    assert (a + b).to_json() == "2500.001"
    assert (a - a).to_json() == "0.000"
    assert a.tonnes == D("2.5")
    assert a > b and not Mass.zero()
    assert str(Mass(D(1))) == "1.000"
    with pytest.raises(ValueError):
        b - a  # masses are never negative
    with pytest.raises(TypeError):
        a + Quantity(D(1))  # kilograms and certificates do not add up


@pytest.mark.parametrize("bad", [1.5, 1, "1", D("NaN")])
def test_value_types_take_only_finite_decimals(bad):
    with pytest.raises((TypeError, ValueError)):
        Mass(bad)


def test_value_types_refuse_unrounded_values():
    with pytest.raises(ValueError):
        Quantity(D("0.0005"))
    with pytest.raises(ValueError):
        Mass(D("-1"))


# --- rounding and conversions (R-U2, R-U4) ------------------------------------------------


@pytest.mark.parametrize(
    "value, rounded",
    [
        ("0.0005", "0.001"),
        ("0.0004999", "0.000"),
        ("0.0015", "0.002"),  # half-up, not banker's rounding
        ("0.0025", "0.003"),
        ("-0.0005", "-0.001"),
        ("-0.0004", "0.000"),
        ("0.896860986547085201793721973", "0.897"),
        ("2500", "2500.000"),
    ],
)
def test_round_half_up(value, rounded):
    assert format(round_half_up(D(value)), "f") == rounded


def test_round_half_up_refuses_floats():
    with pytest.raises(TypeError):
        round_half_up(0.5)


@pytest.mark.parametrize(
    "kg, certificates",
    [("1000", "1.000"), ("2500000", "2500.000"), ("1", "0.001"), ("45.359", "0.045"), ("43.971", "0.044"),
     ("0.499", "0.000"), ("0.500", "0.001")],
)
def test_kg_to_certificates(kg, certificates):
    assert format(kg_to_certificates(D(kg)), "f") == certificates


def test_certificates_to_kg_is_exact():
    assert certificates_to_kg(D("0.001")) == D(1)
    assert format(certificates_to_kg(D("2500.000")), "f") == "2500000.000"


def test_format_milli():
    assert format_milli(D(2500)) == "2500.000"
    assert format_milli(D("-0")) == "0.000"
    with pytest.raises(ValueError):
        format_milli(D("0.0001"))


def test_has_at_most_reads_digits_not_a_rounded_copy():
    # 40 significant digits: a 28-digit context would round this to 1.000.
    assert not has_at_most(D("1.000000000000000000000000000000000000001"), 3)
    assert has_at_most(D("1.500000000000000000000000000000000000000"), 3)
    assert has_at_most(D("1E+5"), 0)


# --- properties ------------------------------------------------------------------------


@given(milli_values)
def test_mass_round_trips_through_its_json_string(kg):
    mass = Mass(kg)
    assert parse_mass({"value": mass.to_json(), "unit": "kg"}, allow_zero=True) == mass
    assert Decimal(mass.to_json()) == kg
    assert mass.to_json().split(".")[1].__len__() == 3


@given(st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False, allow_infinity=False))
def test_tonnes_convert_exactly(tonnes):
    assert parse_mass({"value": format(tonnes, "f"), "unit": "t"}, allow_zero=True).kg == tonnes * 1000


@given(st.decimals(min_value=D("0.001"), max_value=10**9, places=3, allow_nan=False, allow_infinity=False))
def test_pounds_round_to_the_nearest_gram(lb):
    kg = parse_mass({"value": format(lb, "f"), "unit": "lb"}, allow_zero=True).kg
    assert abs(kg - lb * D("0.45359237")) <= D("0.0005")


@given(milli_values)
def test_certificates_never_stray_more_than_half_a_kilogram(kg):
    assert abs(certificates_to_kg(kg_to_certificates(kg)) - kg) <= D("0.5")


@given(st.one_of(st.text(max_size=30), st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,25})?",
                                                     fullmatch=True),
                 st.decimals(), st.integers(), st.floats(), st.booleans(), st.none()),
       st.sampled_from(["kg", "t", "lb"]))
def test_any_input_is_either_an_exact_mass_or_a_400(value, unit):
    try:
        mass = parse_mass({"value": value, "unit": unit})
    except InvalidInput as error:
        assert error.status == 400 and error.field == "mass.value"
    else:
        assert 0 < mass.kg <= MAX_KG and has_at_most(mass.kg, 3)
