"""Replay of bulk retirements (R-T7): a bulk retirement's items are
``block.retired`` entries carrying ``bulk: {item, items}``, written in one
transaction, so contiguous in the log: item 0 first, then 1, 2, … up to
``items - 1`` (at most `MAX_ITEMS`). A missing, repeated or stray item is a
finding. The bulk's id is the index of its item 0 (``retirement.bulk_id``,
`registry.replay.table_fields`)."""

from __future__ import annotations

from registry.replay.state import State, fail

MAX_ITEMS = 1000


def _close(s: State, i: int) -> None:
    start, expected, items = s.open_bulk
    s.open_bulk = None
    s.finding(fail(i, f"R-T7: the bulk retirement at entry {start} lists {items} items; item {expected} is missing"))


def before(s: State, i: int, kind: str, p: dict) -> None:
    bulk = p.get("bulk") if kind == "block.retired" else None
    if s.open_bulk is not None and (not isinstance(bulk, dict) or bulk.get("item") != s.open_bulk[1]):
        _close(s, i)
    if bulk is None:
        return
    item, items = (bulk.get("item"), bulk.get("items")) if isinstance(bulk, dict) else (None, None)
    if not (type(item) is int and type(items) is int and 0 <= item < items <= MAX_ITEMS):
        raise fail(i, f"R-T7: block.retired: bulk {bulk!r} is not {{item, items}} with 0 <= item < items <= "
                      f"{MAX_ITEMS}")
    if item == 0:
        s.open_bulk = [i, 1, items] if items > 1 else None
    elif s.open_bulk is None or s.open_bulk[2] != items:
        s.finding(fail(i, f"R-T7: block.retired: bulk item {item} of {items} follows no item {item - 1}"))
    else:
        s.open_bulk = [s.open_bulk[0], item + 1, items] if item + 1 < items else None


def finish(s: State) -> None:
    if s.open_bulk is not None:
        _close(s, s.entries)
