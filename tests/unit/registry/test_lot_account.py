"""R-B4 (R-B2, R-B3): the pure account of one base material lot (registry.lot_account).

The service and replay both refuse on this account; these tests pin its
arithmetic and its refusal (code, rule, field and the words of each broken
invariant) without a database, so a mutant of the module cannot hide behind
an API test that only looks at the status code.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from registry.errors import RuleViolation
from registry.lot_account import Component, LotAccount

D = Decimal


def account(*, status="PC", mass="1000.000", pc=None, sold="0.000", claimed="0.000", claimed_pc="0.000",
            used="0.000", used_pc="0.000") -> LotAccount:
    return LotAccount(status=status, mass_kg=D(mass), pc_kg=None if pc is None else D(pc), sold_kg=D(sold),
                      claimed_kg=D(claimed), claimed_pc_kg=D(claimed_pc), used_kg=D(used), used_pc_kg=D(used_pc))


def test_component_room_is_mass_less_claims_and_arcs():  # R-B4
    assert Component("PC", D("100.000"), D("30.000"), D("20.000")).room_kg == D("50.000")
    assert Component("PC", D("100.000"), D("70.000"), D("40.000")).room_kg == D("-10.000")  # never floored


def test_an_unsplit_lot_is_one_component_of_its_declared_status():  # R-B2
    lot = account(status="PI", mass="1000.000", claimed="100.000", used="200.000")
    assert not lot.split
    assert lot.components() == {"PI": Component("PI", D("1000.000"), D("100.000"), D("200.000"))}


def test_a_split_lot_has_a_pc_and_a_pi_component():  # R-B2: the PC part and the lesser status for the rest
    lot = account(status="PC", mass="1000.000", pc="600.000", claimed="300.000", claimed_pc="100.000",
                  used="250.000", used_pc="50.000")
    assert lot.split
    assert lot.components() == {
        "PC": Component("PC", D("600.000"), D("100.000"), D("50.000")),
        "PI": Component("PI", D("400.000"), D("200.000"), D("200.000")),
    }


def test_a_split_lot_with_no_pc_part_is_still_split():  # pc_kg 0 is documented, not absent
    lot = account(status="PI", mass="1000.000", pc="0.000")
    assert lot.split
    assert set(lot.components()) == {"PC", "PI"}


def test_sold_room_is_sold_less_claims_and_arcs():  # R-B3/R-B4
    assert account(sold="800.000", claimed="300.000", used="200.000").sold_room_kg == D("300.000")


def test_eligible_mass_is_the_lesser_of_the_component_room_and_the_sold_room():  # R-B4
    lot = account(status="PC", mass="1000.000", pc="600.000", sold="900.000", claimed="100.000",
                  claimed_pc="100.000", used="0.000", used_pc="0.000")
    # PC room 500, PI room 400, sold room 800
    assert lot.eligible_kg("PC") == D("500.000")
    assert lot.eligible_kg("PI") == D("400.000")
    assert lot.total_eligible_kg() == D("800.000")  # 900 room in the components, 800 sold and unclaimed
    # less sold: the sold room binds every component
    lot = account(status="PC", mass="1000.000", pc="600.000", sold="300.000")
    assert lot.eligible_kg("PC") == D("300.000")
    assert lot.eligible_kg("PI") == D("300.000")
    assert lot.total_eligible_kg() == D("300.000")


def test_total_eligible_mass_is_bounded_by_the_components_too():  # R-B4
    # The components' rooms add up to mass - claimed - used, so they bind only when more was
    # sold than the lot holds (an overdrawn account replay must still measure).
    lot = account(status="PC", mass="1000.000", pc="600.000", sold="1200.000", claimed="150.000",
                  claimed_pc="100.000", used="100.000", used_pc="100.000")
    # PC 600-100-100 = 400, PI 400-50-0 = 350 -> 750; sold room 1200-150-100 = 950
    assert lot.total_eligible_kg() == D("750.000")
    unsplit = account(status="PI", mass="1000.000", sold="1000.000", claimed="100.000", used="300.000")
    assert unsplit.total_eligible_kg() == D("600.000")
    unsplit = account(status="PI", mass="1000.000", sold="1100.000", claimed="100.000", used="300.000")
    assert unsplit.total_eligible_kg() == D("600.000")


def test_an_account_within_every_invariant_has_no_violation():  # R-B4: the equalities are allowed
    lot = account(status="PC", mass="1000.000", pc="600.000", sold="1000.000", claimed="400.000",
                  claimed_pc="0.000", used="600.000", used_pc="600.000")
    assert lot.violations() == []
    lot.require_invariants(field="mass")  # does not raise


def test_selling_more_than_the_lot_is_a_violation():  # R-B3/R-B4: sold <= lot mass
    assert account(mass="1000.000", sold="1000.001").violations() == [
        "1000.001 kg sold of a 1000.000 kg lot"]


def test_claims_and_arcs_beyond_the_sold_mass_are_a_violation():  # R-B4: ARC + claimed <= sold
    assert account(mass="1000.000", sold="500.000", claimed="300.000", used="200.001").violations() == [
        "claims (300.000 kg) and ARCs (200.001 kg) exceed the 500.000 kg sold or consumed"]


def test_a_component_overdrawn_is_a_violation_named_by_its_status():  # R-B4 per component (Example 8.1)
    lot = account(status="PC", mass="1000.000", pc="600.000", sold="1000.000", claimed="0.000",
                  claimed_pc="0.000", used="700.000", used_pc="601.000")
    assert lot.violations() == ["PC: claims (0.000 kg) and ARCs (601.000 kg) exceed the 600.000 kg component"]
    lot = account(status="PC", mass="1000.000", pc="600.000", sold="1000.000", claimed="350.000",
                  claimed_pc="0.000", used="51.000", used_pc="0.000")
    assert lot.violations() == ["PI: claims (350.000 kg) and ARCs (51.000 kg) exceed the 400.000 kg component"]
    lot = account(status="PI", mass="100.000", sold="100.000", claimed="0.000", used="0.000")
    assert lot.violations() == []


def test_every_broken_invariant_is_reported():  # R-B4: replay lists them all, not the first
    lot = account(status="PI", mass="100.000", sold="150.000", claimed="100.000", used="60.000")
    assert lot.violations() == [
        "150.000 kg sold of a 100.000 kg lot",
        "claims (100.000 kg) and ARCs (60.000 kg) exceed the 150.000 kg sold or consumed",
        "PI: claims (100.000 kg) and ARCs (60.000 kg) exceed the 100.000 kg component",
    ]


def test_a_write_that_breaks_the_account_is_refused_as_lot_over_allocated():  # R-B4
    lot = account(status="PI", mass="100.000", sold="150.000", claimed="100.000", used="60.000")
    with pytest.raises(RuleViolation) as info:
        lot.require_invariants(field="claim")
    error = info.value
    assert (error.code, error.rule, error.field, error.status) == ("lot_over_allocated", "R-B4", "claim", 422)
    assert error.detail == (
        "no double counting (RMS 8.3.4.3-8.3.4.4): 150.000 kg sold of a 100.000 kg lot; "
        "claims (100.000 kg) and ARCs (60.000 kg) exceed the 150.000 kg sold or consumed; "
        "PI: claims (100.000 kg) and ARCs (60.000 kg) exceed the 100.000 kg component")
    with pytest.raises(RuleViolation) as info:
        lot.require_invariants()
    assert info.value.field is None
