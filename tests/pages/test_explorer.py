"""registry/explorer.py: the explorer's read queries, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from registry import explorer, participants
from registry.actors import Actor
from registry.db import UnitOfWork, session_factory
from registry.errors import Forbidden
from tests.pages.conftest import GENERATED, RETIRED

ADMIN = Actor(user_id=1, role="admin")


@pytest.fixture
def uow(demo, engine, clock):
    with UnitOfWork(session_factory(engine), clock) as uow:
        yield uow


def test_totals_add_issued_and_each_state_by_type_and_year(uow):
    rows = {(r.arc_type, r.year): r for r in explorer.registry_totals(uow)}
    pp = rows[("PP", 2026)]
    assert pp.issued == Decimal("250.000")  # 150 from the first lot, 100 drawn on the custody account
    assert pp.by_state["active"] == Decimal("175.000") and pp.by_state["retired"] == Decimal("65.000")
    assert pp.by_state["offered"] == Decimal("10.000")  # held for Cascade Trading (R-T6)
    assert pp.by_state["expired"] == Decimal("0.000")
    assert pp.issued == sum(pp.by_state.values())
    peq = rows[("PEQ", 2026)]
    assert peq.issued == peq.by_state["active"] == Decimal("753.363")
    assert all(isinstance(v, Decimal) for r in rows.values() for v in (r.issued, *r.by_state.values()))


def test_totals_count_expired_certificates(uow):
    block = explorer.block_by_serial(uow, "PC_P_PEQ_ARC-2026-2-000000000001-000000753363")
    block.state = "expired"  # as the expiry job leaves it (R-E2); the totals only read states
    uow.flush()
    peq = {(r.arc_type, r.year): r for r in explorer.registry_totals(uow)}[("PEQ", 2026)]
    assert peq.by_state["expired"] == Decimal("753.363") and peq.by_state["active"] == Decimal("0.000")
    assert peq.issued == Decimal("753.363")


@pytest.mark.parametrize(("text", "expected"), [
    (RETIRED, RETIRED),
    (GENERATED, GENERATED),  # a split parent by its exact serial: its history
    ("PC_P_PP_ARC-2026-1-000000000040", RETIRED),  # one unit inside a block's range
    ("PC_P_PP_ARC-2026-1-40", RETIRED),  # unpadded
    ("  PC_P_PP_ARC-2026-1-000000040001-000000040002 ", "PC_P_PP_ARC-2026-1-000000040001-000000050000"),
    ("PC_P_PP_ARC-2026-1-000000039999-000000040002", None),  # spans two blocks
    ("PC_P_PP_ARC-2026-1-000000250001", None),  # beyond every range
    ("PC_P_PP_ARC-2025-1-000000000001", None),  # another year
    ("PC_P_PP_ARC-2026-2-000000000001", None),  # another generator
    ("not a serial", None),
    ("", None),
])
def test_find_block(uow, text, expected):
    block = explorer.find_block(uow, text)
    assert (block.serial if block else None) == expected


def test_children_of_a_split_block_lowest_serials_first(uow):
    parts = explorer.children(uow, GENERATED)
    assert [p.serial for p in parts] == ["PC_P_PP_ARC-2026-1-000000000001-000000100000",
                                        "PC_P_PP_ARC-2026-1-000000100001-000000150000"]


def test_directory_lists_active_participants_with_facility_outcomes(uow):
    participants.register_participant(uow, ADMIN, name="Pending Co", country="MX", gpp_signed_on=date(2026, 1, 5))
    entries = {e.participant.name: e for e in explorer.directory(uow)}
    assert "Pending Co" not in entries  # not yet a participant the public deals with (R-P1)
    lakes = entries["Great Lakes Reprocessing"]
    assert lakes.is_generator and lakes.facilities[0].determination.outcome == "additional"
    assert lakes.facilities[0].determination.eligible_kg == Decimal("18000000.000")
    assert not entries["Northwind Packaging"].is_generator


def test_pending_participants_are_for_administrators(uow):
    participants.register_participant(uow, ADMIN, name="Pending Co", country="MX", gpp_signed_on=date(2026, 1, 5))
    assert [p.name for p in explorer.pending_participants(uow, ADMIN)] == ["Pending Co"]
    with pytest.raises(Forbidden):
        explorer.pending_participants(uow, Actor(user_id=2, role="member", participant_id=1))


def test_retirement_facets_and_names(uow):
    assert explorer.retirement_facets(uow) == ([2026], ["PP"])
    assert explorer.participant_names(uow, {1, 4, None}) == {1: "Great Lakes Reprocessing", 4: "Northwind Packaging"}
    assert explorer.retirement_of(uow, RETIRED).beneficiary == "Northwind Packaging"
    assert explorer.retirement_of(uow, GENERATED) is None
