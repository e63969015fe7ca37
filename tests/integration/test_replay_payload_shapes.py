"""R-L7, R-U3: replay refuses, at its index, an entry whose payload it cannot
read as the services write it — not an object, a quantity that is not a
decimal string, a block record missing a field or with a serial bound that is
not an integer, an unknown block event, a payload missing what its type
requires. On SQLite and PostgreSQL: a real registry's log (a lot, a sale, a
generation, a transfer), one entry changed, replayed offline."""

from __future__ import annotations

import pytest

from chainlog.errors import VerificationError
from registry.replay import replay
from tests.api.driver import t
from tests.integration.test_replay_disputes import _pure


@pytest.fixture
def entries(driver, engine) -> list[dict]:
    gen = driver.generator()
    buyer = driver.participant("Brand Co")
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    driver.sell(gen.token, lot["id"], t(10))
    block = driver.generate(gen.token, lot["id"], mass=t(3))
    driver.ok("/transfers", {"serial": block["serial"], "quantity": "1.000", "to_participant_id": buyer["id"]},
              gen.token)
    logged = _pure(engine)
    replay(logged).close()  # as written: it replays
    return logged


def _last(entries: list[dict], kind: str) -> dict:
    return [e for e in entries if e["type"] == kind][-1]


def _refused(entries: list[dict], index: int, words: str) -> None:
    with pytest.raises(VerificationError) as caught:
        replay(entries).close()
    assert (caught.value.kind, caught.value.index) == ("replay_inconsistent", index), str(caught.value)
    assert words in str(caught.value), str(caught.value)


@pytest.mark.parametrize("kind, change, words", [
    ("block.generated", lambda p: ["not", "an", "object"], "payload is not an object"),
    ("block.generated", lambda p: {**p, "quantity": 3.0}, "quantity must be a decimal string, not 3.0"),
    ("block.generated", lambda p: {**p, "quantity": "3,000"}, "quantity is not a decimal: '3,000'"),
    ("block.generated", lambda p: {k: v for k, v in p.items() if k != "base_kg"},
     "a block payload needs serial and"),
    ("block.generated", lambda p: {**p, "first": str(p["first"])}, "first must be an integer"),
    ("block.generated", lambda p: {**p, "last": True}, "last must be an integer"),
    ("block.transferred", lambda p: {k: v for k, v in p.items() if k != "to"}, "is not another active participant"),
    ("lot.registered", lambda p: {k: v for k, v in p.items() if k != "lot"},
     "lot.registered: payload cannot be applied (TypeError"),
])
def test_an_entry_replay_cannot_read_is_refused_at_its_index(entries, kind, change, words):
    entry = _last(entries, kind)
    entry["payload"] = change(entry["payload"])
    _refused(entries, entry["index"], words)


def test_an_unknown_block_event_is_refused_at_its_index(entries):
    """A block event replay does not know leaves the block state unreplayable: refused, never skipped."""
    entry = _last(entries, "block.transferred")
    entry["type"] = "block.teleported"
    _refused(entries, entry["index"], "unknown block event 'block.teleported'")
