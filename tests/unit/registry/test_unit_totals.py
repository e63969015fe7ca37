"""R-U6 units add up (registry.unit_totals), as pure arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.errors import InvalidInput
from registry.unit_totals import ZERO, component_lb, from_log, logged, take
from registry.units import MassRequest, parse_mass_request, to_kg


def _lb(value) -> MassRequest:
    return MassRequest(Decimal(value), "lb")


def _sequence(values, rest_kg=Decimal("10") ** 9):
    running, taken = ZERO, []
    for v in values:
        step = take(_lb(v), running_lb=running, rest_kg=rest_kg)
        running = step.running_lb
        taken.append(step.kg)
    return taken, running


def test_two_50_lb_requests_take_a_100_lb_lot_to_the_gram():
    taken, running = _sequence(["50", "50"])
    assert taken == [Decimal("22.680"), Decimal("22.679")] and sum(taken) == to_kg(Decimal(100), "lb")
    assert running == Decimal("100")


def test_three_1_lb_requests_take_a_3_lb_lot():
    taken, _ = _sequence(["1", "1", "1"])
    assert taken == [Decimal("0.454"), Decimal("0.453"), Decimal("0.454")] and sum(taken) == Decimal("1.361")


@given(st.lists(st.integers(1, 10**7), min_size=1, max_size=30))
def test_any_pound_sequence_takes_the_kilograms_of_its_sum(thousandths):
    values = [Decimal(n).scaleb(-3) for n in thousandths]
    try:
        taken, running = _sequence(values)
    except InvalidInput:  # a step that adds less than a gram is refused, never rounded to 0
        return
    assert sum(taken) == to_kg(sum(values), "lb") and running == sum(values)
    assert all(abs(k - to_kg(v, "lb")) <= Decimal("0.001") for k, v in zip(taken, values))


def test_kg_and_t_need_no_running_total():
    assert take(MassRequest(Decimal("1.5"), "t"), running_lb=Decimal(7), rest_kg=ZERO) == \
        take(MassRequest(Decimal("1500"), "kg"), running_lb=Decimal(7), rest_kg=ZERO)
    assert take(MassRequest(Decimal("1.5"), "t"), running_lb=Decimal(7), rest_kg=ZERO).kg == Decimal("1500")


def test_no_mass_takes_exactly_the_rest_and_adds_no_pounds():
    step = take(None, running_lb=Decimal("50"), rest_kg=Decimal("22.679"))
    assert (step.kg, step.running_lb) == (Decimal("22.679"), Decimal("50"))


def test_a_pound_step_that_adds_no_gram_is_refused():
    with pytest.raises(InvalidInput) as refused:
        take(_lb("0.001"), running_lb=Decimal("0.002"), rest_kg=Decimal(1))
    assert (refused.value.code, refused.value.field) == ("must_be_positive", "mass.value")


def test_component_ledgers():
    assert component_lb(split=False, status="PI", used_lb=Decimal(5), used_pc_lb=ZERO) == Decimal(5)
    assert component_lb(split=True, status="PC", used_lb=Decimal(5), used_pc_lb=Decimal(2)) == Decimal(2)
    assert component_lb(split=True, status="PI", used_lb=Decimal(5), used_pc_lb=Decimal(2)) == Decimal(3)


def test_the_request_round_trips_through_the_log():
    request = parse_mass_request({"value": "50.5", "unit": "lb"})
    assert from_log(logged(request)) == request and logged(None) is None and from_log(None) is None
    for bad in ({"value": 50, "unit": "lb"}, {"value": "1", "unit": "oz"}, {"value": "-1", "unit": "kg"},
                {"value": "0.0001", "unit": "kg"}, "50 lb"):
        with pytest.raises(ValueError):
            from_log(bad)
