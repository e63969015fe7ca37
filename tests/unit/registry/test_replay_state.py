"""The replay's core (R-L7, R-L7c, R-U3, R-G2): the replayed state's helpers (`registry.replay.state`) and
the entry loop (`registry.replay.Replayer`, `replay`), without a database.

Every replay test reaches these; these pin what the rule tests take for granted: a refusal names its
entry, a quantity is a decimal string, a block's serial range matches its quantity, a rule finding lets
replay go on, the entry loop refuses a gap and a payload that is not an object and names the entry of an
unreadable one, and hands each rule the entry's own time and leaf hash.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from chainlog.errors import VerificationError
from registry.errors import RegistryError, RuleViolation
from registry.replay import Replayer, replay
from registry.replay import state as state_module
from registry.replay.state import BLOCK_FIELDS, State, block_record, broken, dec, fail

T0 = "2026-03-04T10:00:00Z"


def _entry(index: int, kind: str, payload: dict, *, leaf=None, time=T0) -> dict:
    return {"index": index, "type": kind, "payload": payload, "leaf_hash": leaf, "time": time}


def _registered(pid: int = 1) -> dict:
    return {"participant": pid, "name": f"P{pid}", "country": "DE", "status": "pending"}


# --- state.py -------------------------------------------------------------------------------------------

def test_fail_names_the_entry_as_replay_inconsistent():
    error = fail(7, "what went wrong")
    assert (error.kind, error.index) == ("replay_inconsistent", 7)
    assert str(error) == "entry 7: what went wrong"


def test_broken_names_the_rule_or_else_the_code():
    assert str(broken(3, RuleViolation("too much", code="over", rule="R-B4"))) == "entry 3: R-B4: too much"
    assert str(broken(3, RegistryError("no rule", code="some_code"))) == "entry 3: some_code: no rule"
    assert broken(3, RegistryError("x")).kind == "replay_inconsistent"


def test_dec_takes_a_decimal_string_exactly():
    assert dec(1, "20.500", "q") == Decimal("20.500") and str(dec(1, "20.500", "q")) == "20.500"
    for value in (20.5, 20, Decimal("20.5"), None, True):
        with pytest.raises(VerificationError) as caught:
            dec(4, value, "block X quantity")
        assert str(caught.value) == f"entry 4: block X quantity must be a decimal string, not {value!r}"
        assert caught.value.kind == "replay_inconsistent"
    with pytest.raises(VerificationError) as caught:
        dec(5, "twelve", "mass_kg")
    assert (str(caught.value), caught.value.index) == ("entry 5: mass_kg is not a decimal: 'twelve'", 5)


def _block(**changes) -> dict:
    payload = {"serial": "S-1", "arc_code": "PC_P_PP_ARC", "arc_type": "PP", "recycled_status": "PC",
               "quantity": "1.500", "state": "active", "owner": 1, "generator": 1, "lot": 1,
               "lot_reference": "L-1", "generation_year": 2025, "first": 1001, "last": 2500, "base_kg": "1500.000"}
    payload.update(changes)
    return payload


def test_block_record_reads_every_logged_field_quantities_as_decimals():
    record = block_record(2, _block())
    assert set(record) == {"serial", *BLOCK_FIELDS}
    assert record["quantity"] == Decimal("1.500") and type(record["base_kg"]) is Decimal
    assert (record["first"], record["last"], record["owner"], record["serial"]) == (1001, 2500, 1, "S-1")


@pytest.mark.parametrize("missing", ["serial", *BLOCK_FIELDS])
def test_a_block_payload_missing_a_field_is_refused(missing):
    payload = _block()
    del payload[missing]
    with pytest.raises(VerificationError) as caught:
        block_record(2, payload)
    assert str(caught.value) == f"entry 2: a block payload needs serial and {', '.join(BLOCK_FIELDS)}"
    with pytest.raises(VerificationError):
        block_record(2, ["not", "an", "object"])


@pytest.mark.parametrize("field", ["first", "last", "generation_year"])
@pytest.mark.parametrize("value", [True, "1001", 1001.0])
def test_block_serial_units_and_year_are_integers(field, value):
    with pytest.raises(VerificationError) as caught:
        block_record(2, _block(**{field: value}))
    assert str(caught.value) == f"entry 2: block S-1 {field} must be an integer"


@pytest.mark.parametrize("changes", [
    {"last": 2501},  # one unit more than the quantity (R-G2: a unit is 0.001 certificate)
    {"last": 2499},
    {"quantity": "0.000", "first": 1, "last": 0},  # no certificate at all
    {"quantity": "-0.001", "first": 2, "last": 1},
])
def test_a_block_whose_quantity_does_not_match_its_serial_range_is_refused(changes):
    payload = _block(**changes)
    with pytest.raises(VerificationError) as caught:
        block_record(2, payload)
    assert str(caught.value) == (f"entry 2: block S-1: quantity {Decimal(payload['quantity'])} does not match "
                                 f"its serial range {payload['first']}..{payload['last']}")


def test_a_block_quantity_not_a_decimal_string_is_refused_at_its_entry():
    with pytest.raises(VerificationError) as caught:
        block_record(2, _block(quantity=1.5))
    assert (str(caught.value), caught.value.index) == ("entry 2: block S-1 quantity must be a decimal string, "
                                                       "not 1.5", 2)
    with pytest.raises(VerificationError) as caught:
        block_record(3, _block(base_kg="kg"))
    assert (str(caught.value), caught.value.index) == ("entry 3: block S-1 base_kg is not a decimal: 'kg'", 3)


def test_the_smallest_block_is_one_unit():
    assert block_record(0, _block(quantity="0.001", first=5, last=5))["quantity"] == Decimal("0.001")


def test_a_rule_refusal_becomes_a_finding_and_replay_goes_on():
    s = State()
    try:
        s.note(1, lambda: None)
        assert s.findings == []
        s.note(2, lambda: (_ for _ in ()).throw(fail(2, "replay finding")))
        s.note(3, lambda: (_ for _ in ()).throw(RuleViolation("over the ceiling", code="c", rule="R-A9")))
        assert [(f.index, str(f)) for f in s.findings] == [(2, "entry 2: replay finding"),
                                                            (3, "entry 3: R-A9: over the ceiling")]
        with pytest.raises(KeyError):  # not a rule refusal: replay cannot go on
            s.note(4, lambda: {}["x"])
        assert len(s.findings) == 2
    finally:
        s.close()


def test_findings_are_kept_up_to_their_bound(monkeypatch):
    monkeypatch.setattr(state_module, "MAX_FINDINGS", 3)
    s = State()
    try:
        for i in range(5):
            s.finding(fail(i, "x"))
        assert [f.index for f in s.findings] == [0, 1, 2]
    finally:
        s.close()


def test_counts_count_every_map_and_the_blocks_by_state():
    s = State()
    try:
        s.participants[1] = {}
        s.certificates["C"], s.facilities[1], s.facilities[2] = {}, {}, {}
        s.determinations[1], s.lots[1], s.retirements[1] = {}, {}, {}
        s.blocks["a"], s.blocks["b"], s.blocks["c"] = {"state": "split"}, {"state": "active"}, {"state": "active"}
        s.blocks["d"] = {"state": None}  # a record without a state is counted, not a crash
        s.entries = 9
        assert s.counts() == {"entries": 9, "participants": 1, "certificates": 1, "facilities": 2,
                              "determinations": 1, "lots": 1, "blocks": 4, "retirements": 1,
                              "blocks_None": 1, "blocks_active": 2, "blocks_split": 1}
        assert list(s.counts())[-3:] == ["blocks_None", "blocks_active", "blocks_split"]
    finally:
        s.close()


def test_each_replayed_map_is_its_own_table():
    s = State(cache_records=2)
    try:
        assert s.db.cache_records == 2
        for name in State.MAPS:
            getattr(s, name)[1] = {"map": name}
        for m in s.db.maps:
            m.flush()
            m.cache.clear()
        assert all(getattr(s, name)[1] == {"map": name} for name in State.MAPS)
        assert s.blocks.tag == "state" and s.participants.tag is None
        assert (s.entries, s.findings, s.open_bulk, s.pending_disputes) == (0, [], None, None)
        assert (s.serial_high, s.current_determinations, s.used) == ({}, {}, {})
    finally:
        s.close()


# --- the entry loop (registry/replay/__init__.py) ---------------------------------------------------

@pytest.fixture()
def r():
    replayer = Replayer()
    yield replayer
    replayer.state.close()


def test_entries_are_applied_in_index_order_only(r):
    r.apply(0, "participant.registered", _registered())
    assert r.state.entries == 1 and r.state.participants[1]["status"] == "pending"
    with pytest.raises(VerificationError) as caught:
        r.apply(2, "participant.registered", _registered(2))
    assert (str(caught.value), caught.value.index) == ("entry 2: replay expected entry 1, got 2", 2)
    with pytest.raises(VerificationError):
        r.apply(0, "participant.registered", _registered(2))
    assert r.state.entries == 1


def test_a_payload_that_is_not_an_object_is_refused_at_its_entry(r):
    for payload in (None, ["participant", 1], "x"):
        with pytest.raises(VerificationError) as caught:
            r.apply(0, "participant.registered", payload)
        assert str(caught.value) == "entry 0: participant.registered: payload is not an object"
    assert r.state.entries == 0


def test_a_payload_missing_what_its_type_needs_is_refused_at_its_entry(r):
    with pytest.raises(VerificationError) as caught:
        r.apply(0, "custody.account_opened", {"account": 1})
    assert str(caught.value) == "entry 0: custody.account_opened: payload cannot be applied (KeyError: 'control_system')"
    assert caught.value.kind == "replay_inconsistent" and caught.value.__cause__ is None
    assert r.state.entries == 0
    r.apply(0, "participant.registered", {**_registered(), "extra": 1})  # more than it needs is no fault
    assert r.state.entries == 1


def test_unknown_block_events_are_refused_and_other_unknown_types_skipped(r):
    r.apply(0, "key.rotated", {"anything": 1})
    with pytest.raises(VerificationError) as caught:
        r.apply(1, "block.teleported", {})
    assert str(caught.value) == "entry 1: unknown block event 'block.teleported': the block state cannot be replayed"
    assert r.state.entries == 1


def test_each_rule_sees_the_entry_s_own_time(r):
    """R-L7c: the rules dated by the day read the entry's logged time; an entry without one (an export
    before times were logged) has none. Here: a pre-0011 removal records the entry's day (table_fields)."""
    r.apply(0, "participant.registered", _registered(1))
    r.apply(1, "participant.removed", {**_registered(1), "status": "removed"}, None, T0)
    r.apply(2, "participant.registered", _registered(2))
    r.apply(3, "participant.removed", {**_registered(2), "status": "removed"}, None, 20260304)
    assert r.state.participants[1]["generator_removed_on"] == "2026-03-04"
    assert r.state.participants[2]["generator_removed_on"] is None


def _custody(leaf) -> State:
    from tests.integration.test_replay_rules_custody import _input, _opened
    r = Replayer()
    r.apply(0, "custody.account_opened", _opened(1), None, T0)
    r.apply(1, "custody.input_received", _input(1, "INV-1"), leaf, T0)
    return r.state


@pytest.mark.parametrize("leaf,expected", [(b"\x01\xab" * 16, "01ab" * 16), (bytearray(b"\x02" * 32), "02" * 32),
                                           ("ff" * 32, "ff" * 32), (None, None)])
def test_each_rule_sees_the_entry_s_leaf_hash_as_hex(leaf, expected):
    """R-L2b: a later entry cites this one by index and leaf hash; the hash arrives as bytes from the
    store and as hex from an export, and is kept as hex."""
    s = _custody(leaf)
    try:
        assert s.custody_receipt_ids[1] == [1, 1, expected, "2025-02-01"]
    finally:
        s.close()


@pytest.mark.parametrize("as_object", [False, True])
def test_replay_hands_each_entry_s_leaf_hash_on(as_object):
    from tests.integration.test_replay_rules_custody import _input, _opened
    lines = [_entry(0, "custody.account_opened", _opened(1), leaf=b"\x01" * 32),
             _entry(1, "custody.input_received", _input(1, "INV-1"), leaf=b"\x02" * 32)]
    s = replay([SimpleNamespace(**line) for line in lines] if as_object else lines)
    try:
        assert s.custody_receipt_ids[1] == [1, 1, "02" * 32, "2025-02-01"]
    finally:
        s.close()


def test_the_cache_is_trimmed_after_each_entry():
    r = Replayer(State(cache_records=2))
    try:
        for i in range(6):
            r.apply(i, "participant.registered", _registered(i + 1))
            assert len(r.state.participants.cache) <= 2
        assert len(r.state.participants) == 6
    finally:
        r.state.close()


def test_replay_takes_stored_entries_and_export_lines_alike():
    lines = [_entry(0, "participant.registered", _registered(1)),
             _entry(1, "participant.removed", {**_registered(1), "status": "removed"})]
    stored = [SimpleNamespace(**line) for line in lines]  # as chainlog.store.StoredEntry: attributes
    del stored[0].time, stored[0].leaf_hash  # an object without them replays as an entry without them
    by_line, by_attribute = replay(lines), replay(stored)
    try:
        for s in (by_line, by_attribute):
            assert s.entries == 2
            assert s.participants[1]["generator_removed_on"] == "2026-03-04"
    finally:
        by_line.close()
        by_attribute.close()


def test_replay_raises_the_first_finding_after_the_last_entry(monkeypatch):
    from registry.replay import name_rules
    seen = []

    def finding_at(s, index, kind, payload):
        seen.append(index)
        if index in (1, 2):
            raise fail(index, f"finding {index}")

    monkeypatch.setattr(name_rules, "check", finding_at)
    lines = [_entry(i, "participant.registered", _registered(i + 1)) for i in range(4)]
    with pytest.raises(VerificationError) as caught:
        replay(lines)
    assert (str(caught.value), caught.value.index) == ("entry 1: finding 1", 1)
    assert seen == [0, 1, 2, 3]  # replay went on to the last entry
    seen.clear()
    with pytest.raises(VerificationError) as caught:
        replay(lines[:1] + [_entry(1, "participant.registered", _registered(1))])  # registered twice
    assert caught.value.index == 1 and "expected None" in str(caught.value)


def test_the_entry_loop_names_each_rule_finding_by_its_own_entry(r):
    """R-L7c: a look-alike name (R-R5) and a transfer to a participant that reviews incoming transfers
    (R-T6: it must be an offer) are findings at the entry that logged them; replay goes on."""
    r.apply(0, "participant.registered", _registered(1))
    r.apply(1, "participant.registered", {**_registered(2), "name": "P\u200b2"})
    r.apply(2, "participant.updated", {**_registered(1), "incoming_transfers": "review"})
    with pytest.raises(VerificationError) as unknown:  # no such block: the transfer itself is refused
        r.apply(3, "block.transferred", {"from": 2, "to": 1, "parent": "S-1", "moved": {}, "remainder": None})
    assert unknown.value.index == 3
    assert [(f.index, "R-R5" in str(f), "R-T6" in str(f)) for f in r.state.findings] == [
        (1, True, False), (3, False, True)], r.state.findings


def test_the_entry_loop_checks_a_bulk_retirement_s_items_at_their_entry(r):
    """R-T7: a bulk retirement's item that follows no earlier item is a finding at its own entry (the
    retirement itself is then refused: no such block)."""
    r.apply(0, "participant.registered", _registered(1))
    with pytest.raises(VerificationError):
        r.apply(1, "block.retired", {"bulk": {"item": 1, "items": 3}, "retired": {"serial": "S-1"}})
    assert [(f.index, "R-T7" in str(f)) for f in r.state.findings] == [(1, True)], r.state.findings
