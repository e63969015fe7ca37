"""R-A8, R-A9, R-A2: when and how much a lot may generate under additionality
(registry.additionality.ceiling), the pure rules generation and replay share.
Each bound is checked at its edge and each refusal for its code, rule, field
and words."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from registry.additionality.ceiling import (
    basis_date,
    facility_ceiling_kg,
    require_new_output,
    require_volume_within_capacity,
    require_within_ceiling,
    require_within_ceilings,
)
from registry.additionality.model import Capacity, Financial, NewOperation, PhaseOut, Quality
from registry.errors import RuleViolation

D = Decimal


def refused(call, *args, **kwargs) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        call(*args, **kwargs)
    return info.value


# --- basis_date (R-A8) -----------------------------------------------------------------------


def test_a_new_operation_counts_from_its_start():
    assert basis_date({"basis": "new_operation", "operation_start": "2024-03-01"}) == date(2024, 3, 1)
    assert basis_date({"basis": "new_operation", "operation_start": "2024-03-01", "restart": None}) == date(2024, 3, 1)


def test_a_restart_under_new_ownership_after_six_months_counts_from_the_restart():  # P7.2.3.2
    newness = {"basis": "new_operation", "operation_start": "2010-01-01",
               "restart": {"stopped_on": "2023-01-01", "restarted_on": "2023-07-01", "ownership_changed": True}}
    assert basis_date(newness) == date(2023, 7, 1)


def test_a_restart_under_the_same_owner_counts_from_the_original_start():  # P7.2.3.3
    newness = {"basis": "new_operation", "operation_start": "2010-01-01",
               "restart": {"stopped_on": "2023-01-01", "restarted_on": "2023-07-01", "ownership_changed": False}}
    assert basis_date(newness) == date(2010, 1, 1)
    # the flag is read for its truth, as the log records it (0/1 from older entries)
    newness["restart"]["ownership_changed"] = 1
    assert basis_date(newness) == date(2023, 7, 1)


@pytest.mark.parametrize("basis", ["financial", "quality", "capacity"])
def test_a_reinvestment_counts_from_its_service_date(basis):  # P7.2.4.7 iii
    assert basis_date({"basis": basis, "invested_on": "2025-05-20"}) == date(2025, 5, 20)


def test_the_phase_out_exemption_has_no_date():  # P7.2.5: existing output
    assert basis_date({"basis": "phase_out"}) is None
    assert basis_date({}) is None


# --- require_new_output (R-A8) ---------------------------------------------------------------

INVESTED = {"basis": "capacity", "invested_on": "2025-05-20"}


def test_a_lot_processed_on_or_after_the_basis_date_is_new_output():  # R-A8
    require_new_output(date(2025, 5, 20), INVESTED)
    require_new_output(date(2025, 12, 31), INVESTED)
    require_new_output(date(2000, 1, 1), {"basis": "phase_out"})


def test_a_lot_processed_before_the_basis_date_is_refused():  # R-A8
    error = refused(require_new_output, date(2025, 5, 19), INVESTED)
    assert (error.code, error.rule, error.status) == ("processed_before_basis", "R-A8", 422)
    assert error.detail == ("the lot was processed on 2025-05-19, before the additional operation it would count "
                            "under existed (capacity from 2025-05-20): only new output is additional (P7.2.3, "
                            "P7.2.4.7 iii)")


# --- require_volume_within_capacity (R-A9) ---------------------------------------------------


def test_a_quality_volume_up_to_the_capacity_is_accepted_and_above_it_refused():  # R-A9
    quality = Quality(invested_on=date(2025, 1, 1), volume_kg=D("1000.000"), reclassification="food grade")
    require_volume_within_capacity(quality, D("1000.000"))
    error = refused(require_volume_within_capacity, quality, D("999.999"))
    assert (error.code, error.rule, error.field) == ("exceeds_capacity", "R-A9", "newness.volume")
    assert error.detail == ("the declared volume of 1000.000 kg per year exceeds the capacity of 999.999 kg per "
                            "year it is part of")


def test_a_capacity_after_figure_up_to_the_capacity_is_accepted_and_above_it_refused():  # R-A9
    capacity = Capacity(invested_on=date(2025, 1, 1), before_kg=D("5000.000"), after_kg=D("800.000"))
    require_volume_within_capacity(capacity, D("800.000"))  # the before figure is not what is bounded
    error = refused(require_volume_within_capacity, capacity, D("799.999"))
    assert (error.code, error.rule, error.field) == ("exceeds_capacity", "R-A9", "newness.after")
    assert error.detail == ("the declared after of 800.000 kg per year exceeds the capacity of 799.999 kg per "
                            "year it is part of")


def test_bases_without_a_declared_volume_are_not_bounded():  # R-A9 applies to quality and capacity only
    require_volume_within_capacity(NewOperation(operation_start=date(2025, 1, 1)), D("0"))
    require_volume_within_capacity(Financial(invested_on=date(2025, 1, 1), fair_market_value=D("1"),
                                             investments=()), D("0"))
    require_volume_within_capacity(PhaseOut(), D("0"))


# --- require_within_ceiling (R-A2, R-A9) -----------------------------------------------------


def test_base_mass_up_to_what_is_left_fits():  # R-A9: used + base <= eligible
    require_within_ceiling(D("400.000"), D("600.000"), D("1000.000"), where="the facility", year=2026)


def test_base_mass_beyond_what_is_left_is_refused():  # R-A9
    error = refused(require_within_ceiling, D("400.001"), D("600.000"), D("1000.000"), where="line 3", year=2026)
    assert (error.code, error.rule, error.field) == ("eligible_volume_exceeded", "R-A9", "mass")
    assert error.detail == ("line 3 has 400.000 kg of eligible volume left for 2026 (600.000 kg of 1000.000 kg "
                            "used); 400.001 kg were requested")


# --- facility_ceiling_kg (R-A9: line determinations never add to the facility's) -------------


def test_the_facility_ceiling_is_the_larger_of_its_own_and_its_lines_together():
    assert facility_ceiling_kg(D("1000.000"), [D("300.000"), D("400.000")]) == D("1000.000")
    assert facility_ceiling_kg(D("500.000"), [D("300.000"), D("400.000")]) == D("700.000")
    assert facility_ceiling_kg(None, [D("300.000"), D("400.000")]) == D("700.000")
    assert facility_ceiling_kg(D("500.000"), []) == D("500.000")
    assert facility_ceiling_kg(None, []) == D("0.000")


# --- require_within_ceilings -----------------------------------------------------------------


def within(base, **kwargs):
    defaults = dict(year=2026, covering_line=None, covering_eligible_kg=D("1000.000"), facility_used_kg=D("0.000"),
                    line_used_kg=None, current=())
    defaults.update(kwargs)
    return require_within_ceilings(D(base), **defaults)


def test_a_facility_determination_bounds_the_facilitys_use():  # R-A2, R-A9
    within("400.000", facility_used_kg=D("600.000"))
    error = refused(within, "400.001", facility_used_kg=D("600.000"))
    assert error.detail.startswith("the facility has 400.000 kg of eligible volume left for 2026 ")


def test_a_line_determination_bounds_the_lines_use():  # R-A9
    current = [(3, True, D("1000.000"))]
    within("400.000", covering_line=3, line_used_kg=D("600.000"), facility_used_kg=D("600.000"), current=current)
    error = refused(within, "400.001", covering_line=3, line_used_kg=D("600.000"), facility_used_kg=D("600.000"),
                    current=current)
    assert error.detail.startswith("line 3 has 400.000 kg of eligible volume left for 2026 (600.000 kg of ")


def test_a_line_also_counts_against_the_facilitys_ceiling():  # R-A9: lines never add to the facility
    # line 3 has room (100 of 1000 used) but the facility's ceiling, the larger of its own 1200 and its
    # additional lines' 1000 + 500, is 1500 and 1450 of it is used
    current = [(None, True, D("1200.000")), (3, True, D("1000.000")), (4, True, D("500.000"))]
    within("50.000", covering_line=3, line_used_kg=D("100.000"), facility_used_kg=D("1450.000"), current=current)
    error = refused(within, "50.001", covering_line=3, line_used_kg=D("100.000"), facility_used_kg=D("1450.000"),
                    current=current)
    assert error.detail == ("the facility has 50.000 kg of eligible volume left for 2026 (1450.000 kg of 1500.000 kg "
                            "used); 50.001 kg were requested")


def test_the_facilitys_own_determination_sets_its_ceiling_when_larger():  # R-A9
    current = [(None, True, D("2000.000")), (3, True, D("1000.000")), (4, True, D("500.000"))]
    within("100.000", covering_line=3, line_used_kg=D("100.000"), facility_used_kg=D("1900.000"), current=current)
    error = refused(within, "100.001", covering_line=3, line_used_kg=D("100.000"), facility_used_kg=D("1900.000"),
                    current=current)
    assert error.detail.startswith("the facility has 100.000 kg of eligible volume left for 2026 (1900.000 kg of "
                                   "2000.000 kg used)")


def test_not_additional_determinations_add_nothing_to_the_facilitys_ceiling():  # R-A3, R-A9
    current = [(None, False, D("5000.000")), (3, True, D("1000.000")), (4, False, D("5000.000"))]
    within("100.000", covering_line=3, line_used_kg=D("0.000"), facility_used_kg=D("900.000"), current=current)
    error = refused(within, "100.001", covering_line=3, line_used_kg=D("0.000"), facility_used_kg=D("900.000"),
                    current=current)
    assert error.detail.startswith("the facility has 100.000 kg of eligible volume left for 2026 (900.000 kg of "
                                   "1000.000 kg used)")
