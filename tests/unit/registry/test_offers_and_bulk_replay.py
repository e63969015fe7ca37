"""The pure rules of offers (R-T6) and the replay checks of offers and bulk
retirements (R-T7) on hand-made entries."""

from __future__ import annotations

from datetime import date

import pytest

from registry.errors import Conflict, InvalidInput
from registry.offers import rules
from registry.replay import bulk, offers
from registry.replay.state import State


@pytest.mark.parametrize("today, year, latest", [
    (date(2026, 3, 2), 2026, date(2026, 4, 1)),  # 30 days
    (date(2027, 12, 20), 2026, date(2027, 12, 31)),  # never past the use period (R-E1)
    (date(2027, 12, 31), 2026, date(2027, 12, 31)),
])
def test_the_lapse_date_is_at_most_30_days_and_inside_the_use_period(today, year, latest):
    assert rules.lapse_date(today, year, None) == latest
    assert rules.lapse_date(today, year, today) == today
    with pytest.raises(InvalidInput) as refused:
        rules.lapse_date(today, year, date.fromordinal(latest.toordinal() + 1))
    assert refused.value.code == "invalid_lapse_date" and refused.value.field == "lapses_on"
    with pytest.raises(InvalidInput):
        rules.lapse_date(today, year, date.fromordinal(today.toordinal() - 1))


def test_an_offer_is_acceptable_through_its_lapse_date_and_due_after_it():
    rules.require_acceptable(date(2026, 4, 1), date(2026, 4, 1))
    with pytest.raises(Conflict) as late:
        rules.require_acceptable(date(2026, 4, 2), date(2026, 4, 1))
    assert late.value.code == "offer_lapsed"
    assert not rules.is_due(date(2026, 4, 1), date(2026, 4, 1)) and rules.is_due(date(2026, 4, 2), date(2026, 4, 1))


@pytest.mark.parametrize("state, code", [("accepted", "offer_already_accepted"), ("rejected", "offer_rejected"),
                                         ("withdrawn", "offer_withdrawn"), ("lapsed", "offer_lapsed")])
def test_a_closed_offer_names_how_it_closed(state, code):
    rules.require_pending("pending")
    with pytest.raises(Conflict) as closed:
        rules.require_pending(state)
    assert closed.value.code == code


@pytest.fixture
def state():
    s = State()
    yield s
    s.close()


def test_replay_flags_a_transfer_that_should_have_been_an_offer_and_the_reverse(state):
    state.participants[1] = {"status": "active", "incoming_transfers": "review"}
    state.participants[2] = {"status": "active"}  # before migration 0020: automatic
    offers.before(state, 5, "block.transferred", {"to": 1})
    offers.before(state, 6, "block.offered", {"to": 2})
    offers.before(state, 7, "block.offered", {"to": 1})
    offers.before(state, 8, "block.transferred", {"to": 2})
    assert [f.index for f in state.findings] == [5, 6]
    assert all("R-T6" in str(f) for f in state.findings)


def _retired(item, items):
    return {"bulk": {"item": item, "items": items}}


def test_replay_requires_a_bulk_retirements_items_in_order_and_complete(state):
    for i, (kind, payload) in enumerate([("block.retired", _retired(0, 3)), ("block.retired", _retired(1, 3)),
                                         ("block.retired", _retired(2, 3)), ("block.retired", {})]):
        bulk.before(state, i, kind, payload)
    assert state.findings == [] and state.open_bulk is None
    bulk.before(state, 4, "block.retired", _retired(0, 3))
    bulk.before(state, 5, "block.transferred", {})  # item 1 missing
    bulk.before(state, 6, "block.retired", _retired(2, 3))  # a stray item
    assert [f.index for f in state.findings] == [5, 6]
    bulk.before(state, 7, "block.retired", _retired(0, 2))
    state.entries = 8
    bulk.finish(state)  # the log ends inside a bulk
    assert [f.index for f in state.findings] == [5, 6, 8]


def test_replay_refuses_a_bulk_marker_out_of_range(state):
    with pytest.raises(Exception) as refused:
        bulk.before(state, 0, "block.retired", _retired(0, 1001))
    assert "R-T7" in str(refused.value)


@pytest.mark.parametrize("marker", [{"item": 0, "items": 0}, {"item": -1, "items": 3}, {"item": 3, "items": 3},
                                    {"item": True, "items": 3}, {"item": 0, "items": True}, {"item": 0.0, "items": 3},
                                    {"item": 0, "items": 3.0}, {"item": "0", "items": 3}, {"items": 3}, [0, 3]])
def test_replay_refuses_a_bulk_marker_that_is_not_two_integers_in_range(state, marker):
    """R-T7: ``bulk`` is ``{item, items}``, integers (not bools or floats), 0 <= item < items."""
    with pytest.raises(Exception) as refused:
        bulk.before(state, 4, "block.retired", {"bulk": marker})
    assert "R-T7" in str(refused.value) and refused.value.index == 4


def test_replay_accepts_the_largest_bulk_and_a_bulk_of_one(state):
    """R-T7: up to `MAX_ITEMS` items; a bulk of one item closes at once."""
    bulk.before(state, 0, "block.retired", _retired(0, bulk.MAX_ITEMS))
    assert state.open_bulk == [0, 1, bulk.MAX_ITEMS]
    state.open_bulk = None
    bulk.before(state, 1, "block.retired", _retired(0, 1))
    assert state.open_bulk is None
    bulk.before(state, 2, "block.transferred", {})
    bulk.finish(state)
    assert state.findings == []


def test_replay_finds_an_item_of_another_bulk_size_and_each_gap_once(state):
    """R-T7: item 1 of 4 does not continue a bulk of 3 (a stray, and the bulk of 3 still misses
    its item 1); a gap is one finding, not one per entry."""
    bulk.before(state, 0, "block.retired", _retired(0, 3))
    bulk.before(state, 1, "block.retired", _retired(1, 4))
    assert [f.index for f in state.findings] == [1] and "follows no item 0" in str(state.findings[0])
    bulk.before(state, 2, "block.retired", _retired(0, 2))
    bulk.before(state, 3, "block.transferred", {})
    bulk.before(state, 4, "block.transferred", {})
    state.entries = 5
    bulk.finish(state)
    assert [f.index for f in state.findings] == [1, 2, 3]
    assert "at entry 0 lists 3 items; item 1 is missing" in str(state.findings[1])
    assert "at entry 2 lists 2 items; item 1 is missing" in str(state.findings[2])


def test_replay_reads_a_bulk_marker_on_retirements_only(state):
    """R-T7: only ``block.retired`` entries are bulk items; a marker on another entry neither opens
    a bulk nor continues one."""
    bulk.before(state, 0, "block.transferred", _retired(0, 2))
    assert state.open_bulk is None
    bulk.before(state, 1, "block.retired", _retired(0, 2))
    bulk.before(state, 2, "block.transferred", _retired(1, 2))  # not item 1: the bulk misses it
    assert [f.index for f in state.findings] == [2]


def test_replay_names_the_first_entry_of_a_bulk_it_finds_incomplete(state):
    for i, item in enumerate((0, 1, 2)):
        bulk.before(state, 7 + i, "block.retired", _retired(item, 4))
    bulk.before(state, 10, "block.expired", {})
    assert [f.index for f in state.findings] == [10]
    assert "the bulk retirement at entry 7 lists 4 items; item 3 is missing" in str(state.findings[0])
