"""The replay's bounded-memory store (`registry.replay.scratch`, R-L7, R-U3), in isolation.

The integration test (`tests/integration/test_verify_scratch.py`) shows a tiny cache replays a real
log to the same state; these pin the store's own promises, each in milliseconds: quantities come back
exactly, the cache stays bounded and evicts the least recently used records, every record written out
can be read back, key order is SQLite's (integers before text), and a prefix range holds exactly the
keys starting with it.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest

from registry.replay import scratch
from registry.replay.scratch import ScratchDb, order_key


@pytest.fixture()
def db():
    store = ScratchDb(cache_records=4)
    yield store
    store.close()


def test_records_come_back_exactly_decimals_included(db):
    m = db.map("m")
    record = {"quantity": Decimal("20.500"), "tiny": Decimal("0.001"), "pair": ("a", "b"), "n": 3, "none": None}
    m["k"] = record
    m.evict(1)  # written out and dropped from the cache
    assert m.cache == {}
    back = m["k"]
    assert back == record
    assert type(back["quantity"]) is Decimal and str(back["quantity"]) == "20.500"  # R-U3: exact, not 20.5
    assert back["pair"] == ("a", "b")
    m[7] = ("x", "1")  # a tuple record is stored as it is
    m[8] = [1, 2]
    m.evict(2)
    assert m[7] == ("x", "1") and m[8] == [1, 2]


def test_a_stored_pair_only_becomes_a_decimal_when_it_is_marked_as_one(db):
    m = db.map("m")
    m["k"] = {"two": ("1", "2"), "three": ("a", "b", "c"), "one": ("x",)}
    m.evict(1)
    assert m["k"] == {"two": ("1", "2"), "three": ("a", "b", "c"), "one": ("x",)}


def test_keys_are_integers_or_texts(db):
    m = db.map("m")
    for key in ((1, 2), None, 1.5, b"k"):
        with pytest.raises(TypeError) as caught:
            m[key] = {}
        assert str(caught.value) == f"a replayed key must be an integer or a string, not {key!r}"
        assert m.get(key, "default") == "default"  # looked up without asking SQLite
        assert key not in m
    assert len(m) == 0


def test_get_reads_the_cache_then_the_table(db):
    m = db.map("m")
    assert m.get("absent") is None and m.get("absent", 5) == 5
    with pytest.raises(KeyError) as caught:
        m["absent"]
    assert caught.value.args == ("absent",)
    m["a"] = {"v": 1}
    m.evict(1)
    assert "a" not in m.cache and "a" in m
    assert m.cache == {"a": {"v": 1}}  # read back into the cache
    assert m.get("a") == {"v": 1}


def test_a_cached_record_is_the_one_replay_changes(db):
    m = db.map("m")
    m["a"] = {"v": 1}
    m["a"]["v"] = 2  # replay mutates records in place
    m.flush()
    assert m["a"] == {"v": 2}
    m.cache.clear()
    assert m["a"] == {"v": 2}  # flush wrote the change
    m["a"] = {"v": 3}  # a record set again replaces the stored one
    m.flush()
    m.cache.clear()
    assert m["a"] == {"v": 3}


def test_trim_keeps_each_cache_within_its_bound_evicting_the_least_recently_used(db):
    m, other = db.map("m"), db.map("other")
    for k in range(4):
        m[k] = {"k": k}
    db.trim()
    assert list(m.cache) == [0, 1, 2, 3]  # at the bound: nothing written out
    m.get(0)  # now the most recently used
    m[1] = {"k": 1}  # set again: most recently used too
    m[4] = {"k": 4}
    other["x"] = {"k": "x"}
    assert list(m.cache) == [2, 3, 0, 1, 4]
    db.trim()
    assert list(m.cache) == [1, 4]  # down to half the bound, the oldest out first
    assert list(other.cache) == ["x"]
    assert [m[k] for k in range(5)] == [{"k": k} for k in range(5)]  # the evicted ones read back
    assert len(m) == 5 and len(other) == 1


def test_evict_writes_out_exactly_that_many_oldest_records(db):
    m = db.map("m")
    for k in "abcd":
        m[k] = {"k": k}
    m.evict(3)
    assert list(m.cache) == ["d"]
    assert db.conn.execute("SELECT k FROM m ORDER BY k").fetchall() == [("a",), ("b",), ("c",)]


def test_flush_writes_every_cached_record_and_keeps_it_cached(db):
    m = db.map("m")
    m["a"], m["b"] = {"k": 1}, {"k": 2}
    m.flush()
    assert list(m.cache) == ["a", "b"]
    assert db.conn.execute("SELECT COUNT(*) FROM m").fetchone() == (2,)


def test_len_counts_cached_and_stored_records_once(db):
    m = db.map("m")
    for k in range(6):
        m[k] = {"k": k}
    m.evict(3)
    m[0] = {"k": 0}  # stored and cached again
    assert len(m) == 6


def test_tag_counts_count_records_by_their_tag_field(db):
    blocks, plain = db.map("blocks", tag="state"), db.map("plain")
    blocks[1], blocks[2], blocks[3] = {"state": "active"}, {"state": "active"}, {"state": "retired"}
    blocks[4] = ("not", "a dict")
    blocks.evict(2)
    blocks[5] = {"other": 1}
    assert blocks.tag_counts() == {"active": 2, "retired": 1, None: 2}
    plain[1], plain[2] = {"state": "active"}, {"state": "x"}
    assert plain.tag_counts() == {None: 2}  # a map without a tag keeps none


def test_sorted_items_put_integers_before_texts_in_code_point_order(db):
    m = db.map("m")
    keys = ["b", 10, "a", 2, "Z", "é", "ab", -1]
    for k in keys:
        m[k] = {"k": k}
    m.evict(3)
    ordered = [k for k, _ in m.sorted_items()]
    assert ordered == sorted(keys, key=order_key) == [-1, 2, 10, "Z", "a", "ab", "b", "é"]
    assert [v["k"] for v in m.values()] == ordered
    assert order_key(3) == (0, 3) and order_key("3") == (1, "3")


def test_sorted_items_stream_more_rows_than_one_fetch(db):
    m = db.map("m")
    count = scratch._FETCH * 2 + 1
    db.conn.executemany(m._put_sql, m._rows((k, {"k": k}) for k in range(count)))
    items = list(m.sorted_items())
    assert len(items) == count and items[-1] == (count - 1, {"k": count - 1})


def test_prefix_items_hold_exactly_the_texts_starting_with_the_prefix(db):
    m = db.map("m")
    for k in ["ab", "ab\x00", "abz", "ab\U0010ffff", "ac", "aa", "a", "b", 1]:
        m[k] = {"k": k}
    m.evict(4)  # some stored, some cached
    assert [k for k, _ in m.prefix_items("ab")] == ["ab", "ab\x00", "abz", "ab\U0010ffff"]
    assert [k for k, _ in m.prefix_items("a")] == ["a", "aa", "ab", "ab\x00", "abz", "ab\U0010ffff", "ac"]
    assert m._range("ab") == ("ab", "ac")
    m.drop_prefix("ab")
    assert [k for k, _ in m.sorted_items()] == [1, "a", "aa", "ac", "b"]
    assert "ab" not in m and "abz" not in m


def test_prefix_items_stream_more_rows_than_one_fetch(db):
    m = db.map("m")
    count = scratch._FETCH + 1
    db.conn.executemany(m._put_sql, m._rows((f"p{k:05}", {"k": k}) for k in range(count)))
    assert sum(1 for _ in m.prefix_items("p")) == count


def test_the_scratch_database_keeps_no_journal_and_no_fsync(db):
    """It is scratch (module docstring): 16 KiB pages, no journal, no fsync, a bounded page cache, temporary
    tables in the file, one connection."""
    pragma = lambda name: db.conn.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("page_size") == 16384
    assert pragma("journal_mode") == "off"
    assert pragma("synchronous") == 0
    assert pragma("cache_size") == -scratch.PAGE_CACHE_KIB
    assert pragma("temp_store") == 1  # FILE
    assert pragma("locking_mode") == "exclusive"
    assert db.conn.isolation_level is None  # autocommit: nothing held open between statements


def test_close_drops_the_database(db):
    m = db.map("m")
    m["a"] = {"k": 1}
    m.flush()
    db.close()
    with pytest.raises(sqlite3.ProgrammingError):  # closed: SQLite has deleted its temporary file
        db.conn.execute("SELECT 1")


def test_trim_keeps_half_an_odd_bound_too():
    store = ScratchDb(cache_records=5)
    try:
        m = store.map("m")
        for k in range(6):
            m[k] = {"k": k}
        store.trim()
        assert list(m.cache) == [4, 5]  # 6 - (6 - 5 // 2) records kept: the two most recent
        assert len(m) == 6
    finally:
        store.close()
