"""R-L7 in bounded memory: the replayed state lives in a scratch SQLite file
behind a small cache (`registry.replay.scratch`), and the comparison with the
live tables is a merge join in key order. With a cache of a handful of
records (so nearly every record is written out and read back between
entries) the replay must give exactly the same state, verification must still
pass, and drift must still be found wherever it sits in key order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import select

from chainlog import store
from registry.db import session_factory
from registry.models import Block
from registry.replay import Replayer, State, replay
from registry.replay.scratch import ScratchDb, order_key
from registry.verification import verify_registry
from tests.integration.test_verify import (
    build_registry,
    tamperable_registry,
    verifier_of,
)


def _entries(engine) -> list[dict]:
    with session_factory(engine)() as session:
        return [{"index": e.index, "type": e.type, "payload": e.payload, "leaf_hash": e.leaf_hash}
                for e in store.iter_entries(session)]


def _dump(state: State) -> dict:
    return {name: list(getattr(state, name).sorted_items()) for name in State.MAPS}


def test_a_tiny_cache_replays_the_same_state_and_stays_bounded(engine, db_url, tmp_path):
    build_registry(engine, db_url, tmp_path)
    entries = _entries(engine)
    roomy = replay(entries)
    replayer = Replayer(State(cache_records=4))
    for entry in entries:
        replayer.apply_entry(entry)
        assert all(len(m.cache) <= 4 for m in replayer.state.db.maps), entry["index"]
    tiny = replayer.state
    try:
        assert _dump(tiny) == _dump(roomy)
        assert tiny.counts() == roomy.counts() and tiny.counts()["blocks"] > 4
        assert any(b["quantity"] == Decimal("20.500") for b in tiny.blocks.values())  # Decimal, exactly (R-U3)
    finally:
        tiny.close()
        roomy.close()


def _verify(engine, config, cache_records):
    with session_factory(engine)() as session:
        return verify_registry(session, [verifier_of(config)], record=False, cache_records=cache_records)


@pytest.fixture
def registry(engine, db_url, tmp_path):
    return tamperable_registry(engine, db_url, tmp_path)


def _blocks(engine) -> list[Block]:
    with session_factory(engine)() as session:
        return list(session.exec(select(Block).order_by(Block.serial)))


@pytest.mark.parametrize("cache_records", [2, 20_000])
def test_drift_is_found_wherever_it_sits_in_key_order(engine, registry, cache_records):
    assert _verify(engine, registry, cache_records).ok
    blocks = _blocks(engine)
    expired = [b for b in blocks if b.state == "expired"]
    gone, changed = expired[0], expired[-1]
    with engine.begin() as conn:  # one row missing, a later one changed: both named, the first in key order first
        conn.execute(text("DELETE FROM block WHERE serial = :s"), {"s": gone.serial})
        conn.execute(text("UPDATE block SET base_kg = base_kg + 1 WHERE serial = :s"), {"s": changed.serial})
    report = _verify(engine, registry, cache_records)
    assert (report.ok, report.error.kind) == (False, "state_drift"), report.failure()
    first, *also = report.failure().splitlines()
    assert first == (f"FAILED: state_drift: block '{gone.serial}': row expected 'present (created by "
                     f"the log)' (replayed from the log), found 'missing'")
    assert len(also) == 1 and also[0].startswith(  # R-L7b: every difference
        f"  also: block '{changed.serial}': base_kg expected Decimal('{changed.base_kg}') (replayed from the log)")

    with engine.begin() as conn:  # the last block by serial: drift after every other row matched
        conn.execute(text("UPDATE block SET base_kg = base_kg + 1 WHERE serial = :s"), {"s": blocks[-1].serial})
        conn.execute(text("UPDATE block SET base_kg = base_kg - 1 WHERE serial = :s"), {"s": changed.serial})
        conn.execute(text("DELETE FROM block WHERE serial <> :s AND state = 'expired' AND serial > :g"
                          " AND serial NOT IN (SELECT serial FROM offer)"),  # an offer's block cannot go
                     {"s": blocks[-1].serial, "g": gone.serial})
    report = _verify(engine, registry, cache_records)
    assert "found 'missing'" in report.failure()  # still the deleted ones, first in key order
    assert report.failure().startswith(f"FAILED: state_drift: block '{gone.serial}'")


def test_the_last_row_in_key_order_is_compared(engine, registry):
    last = _blocks(engine)[-1]
    with engine.begin() as conn:
        conn.execute(text("UPDATE block SET base_kg = base_kg + 1 WHERE serial = :s"), {"s": last.serial})
    report = _verify(engine, registry, 2)
    assert report.failure().startswith(f"FAILED: state_drift: block '{last.serial}': base_kg expected "), \
        report.failure()


def test_scratch_map_writes_back_mutated_records_and_orders_keys_like_sqlite():
    db = ScratchDb(cache_records=2)
    try:
        m = db.map("m", tag="state")
        for k in (10, 2, "b", "a", "B", 3):
            m[k] = {"state": "active", "n": Decimal("1.000"), "k": k}
        m.get(10)["state"] = "split"  # mutated in place, as the replay does
        db.trim()
        assert len(m.cache) <= 2
        assert m[10] == {"state": "split", "n": Decimal("1.000"), "k": 10}
        assert [k for k, _ in m.sorted_items()] == sorted([10, 2, "b", "a", "B", 3], key=order_key)
        assert m.tag_counts() == {"active": 5, "split": 1} and len(m) == 6
        assert m.get(None) is None and None not in m and 99 not in m
        with pytest.raises(TypeError):
            m[None] = {}
        with pytest.raises(TypeError):
            m.get([1])  # unhashable, as for a dict: the replay names the entry
    finally:
        db.close()


def test_prefix_items_and_drop_prefix_see_cached_and_written_records():
    """The replay's per-period lines (registry.replay.custody_periods): the records whose text key
    starts with a prefix, in key order, whether cached or written out; dropped from both."""
    db = ScratchDb(cache_records=2)
    m = db.map("lines")
    for key in ("a:1:x", "a:1:y", "a:10:z", "a:2:x", "b:1:x"):
        m[key] = {"kg": Decimal("1.500")}
        db.trim()  # most records are written out, the last stays cached
    m[7] = {"kg": Decimal(1)}
    m["a:1:x"]["kg"] += 1  # a cached change is seen
    assert [(k, v["kg"]) for k, v in m.prefix_items("a:1:")] == [("a:1:x", Decimal("2.500")),
                                                                ("a:1:y", Decimal("1.500"))]
    m.drop_prefix("a:1:")
    assert list(m.prefix_items("a:1:")) == [] and "a:1:x" not in m
    assert [k for k, _ in m.sorted_items()] == [7, "a:10:z", "a:2:x", "b:1:x"]
    db.close()
