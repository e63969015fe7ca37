"""R-T6 and R-E1 in replay (R-L7c), on SQLite and PostgreSQL: what `arcreg verify`
re-checks at an offer's closing entry and at a block's expiry.

As in `test_replay_rules`: a real registry built through the HTTP API, then one
entry appended by a writer that bypasses the services (hashed, chained and
signed like any other), a copy of what the services would write, changed only
where the rule is broken. The replay must refuse it at its index. Each fault
has its control: the same entry without the fault replays, and the run ends
as ``state_drift`` without an index (the tables do not hold what the extra
entry did), so the fault is what the replay refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chainlog.errors import VerificationError
from registry.replay import replay
from tests.api.test_offers import World
from tests.integration.test_replay_disputes import _pure
from tests.integration.test_replay_rules import log  # noqa: F401  (the fixture)


@pytest.fixture
def world(driver, engine) -> World:
    return World(driver, engine)


def _closing(log, offer_index: int, outcome: str, owner: int, **changes) -> dict:  # noqa: F811
    """The entry that closes the offer logged at ``offer_index``: its held block back as
    active with ``owner``, linked to the offer's entry (what `registry.offers.services` writes)."""
    made = next(e for e in log.entries() if e.index == offer_index)
    held = made.payload["moved"]
    last = log.last_of(held["serial"])  # the offer's entry, unless the block moved on since
    return {**held, "state": "active", "owner": owner, "offer": offer_index, "from": made.payload["from"],
            "to": made.payload["to"], "prev": {"index": last["_index"], "leaf_hash": last["_leaf"]}, **changes}


def _two_offers(world) -> tuple[dict, dict]:
    """Two pending offers to the brand: 40 t of the block, then 5 t of its remainder."""
    response = world.driver.post("/transfers", {"serial": world.block["serial"], "quantity": "40.000",
                                                "to_participant_id": world.brand}, world.gen.token)
    assert response.status_code == 202, response.get_data(as_text=True)
    world.block = response.get_json()["remainder"]
    return response.get_json()["offer"], world.offer("5.000")


def _drifts(log) -> None:  # noqa: F811
    report = log.verify()
    assert (report.error.kind, report.error.index) == ("state_drift", None), report.failure()


def _at(clock, days: int) -> None:
    clock.set(clock.now() + timedelta(days=days))


@pytest.mark.parametrize("days, refused", [(4, True), (3, False)])
def test_an_acceptance_after_the_lapse_date_is_refused(world, clock, log, days, refused):  # noqa: F811
    """R-T6: an offer may be accepted through its lapse date, never after it."""
    offer = world.offer(lapses_on=(clock.today() + timedelta(days=3)).isoformat())
    log.assert_verifies()
    _at(clock, days)
    index = log.append("block.offer_accepted", _closing(log, offer["id"], "accepted", world.brand), "system")
    log.assert_refused_at(index) if refused else _drifts(log)


@pytest.mark.parametrize("days, refused", [(3, True), (4, False)])
def test_a_lapse_before_the_day_after_the_lapse_date_is_refused(world, clock, log, days, refused):  # noqa: F811
    """R-T6: the lapse job returns an offer on the first day after its lapse date, not before."""
    offer = world.offer(lapses_on=(clock.today() + timedelta(days=3)).isoformat())
    _at(clock, days)
    index = log.append("block.offer_lapsed", _closing(log, offer["id"], "lapsed", world.gen.id), "system")
    log.assert_refused_at(index) if refused else _drifts(log)


@pytest.mark.parametrize("party", ["recipient", "sender"])
def test_an_acceptance_with_a_party_not_active_is_refused(driver, world, log, party):  # noqa: F811
    """R-T3, R-P3: an accepted offer completes a transfer between two active participants."""
    offer = world.offer()
    suspended = world.brand if party == "recipient" else world.gen.id
    driver.ok(f"/participants/{suspended}/suspend", {"reason": "audit"}, status=200)
    log.assert_verifies()
    index = log.append("block.offer_accepted", _closing(log, offer["id"], "accepted", world.brand), "system")
    log.assert_refused_at(index)


def test_an_acceptance_outside_the_use_period_is_refused(world, clock, log):  # noqa: F811
    """R-E1: an offer made on the use period's last day cannot be accepted the day after (also
    past its lapse date, which the use period caps); its acceptance on that last day replays."""
    clock.set(clock.now().replace(year=2027, month=12, day=31))
    offer = world.offer()
    assert offer["lapses_on"] == "2027-12-31"
    _at(clock, 1)
    index = log.append("block.offer_accepted", _closing(log, offer["id"], "accepted", world.brand), "system")
    report = log.verify()
    assert (report.error.kind, report.error.index) == ("replay_inconsistent", index), report.failure()
    assert any("R-E1" in str(f) and f.index == index for f in report.findings), report.findings


@pytest.mark.parametrize("fault", ["unknown offer", "offer as a bool", "closed twice", "another serial",
                                   "another sender", "another recipient", "owner unchanged", "not active",
                                   "another lineage link", "quantity as a number"])
def test_a_closing_entry_that_does_not_close_its_pending_offer_is_refused(world, log, fault):  # noqa: F811
    """R-T6: a closing entry closes a pending offer, names its block, sender and recipient, and gives
    the block back as active to the recipient (accepted) — serial range unchanged, linked to the
    block's last entry (R-L2b), quantities as decimal strings (R-U3)."""
    offer, other = _two_offers(world)  # the second, for "another serial"
    log.assert_verifies()
    payload = _closing(log, offer["id"], "accepted", world.brand)
    if fault == "closed twice":  # rejected, then the same block offered again: the first offer is closed
        world.act(offer["id"], "reject", world.brand_token)
        again = world.driver.post("/transfers", {"serial": offer["block"]["serial"], "quantity": "40.000",
                                                 "to_participant_id": world.brand}, world.gen.token)
        assert again.status_code == 202 and again.get_json()["offer"]["block"]["serial"] == offer["block"]["serial"]
        log.assert_verifies()
        payload = _closing(log, offer["id"], "accepted", world.brand)
    changes = {"unknown offer": {"offer": other["id"] + 1000}, "offer as a bool": {"offer": True},
               "closed twice": {}, "another serial": {"serial": other["block"]["serial"]},
               "another sender": {"from": world.other}, "another recipient": {"to": world.other},
               "owner unchanged": {"owner": world.gen.id}, "not active": {"state": "offered"},
               "another lineage link": {"prev": {**payload["prev"], "index": payload["prev"]["index"] - 1}},
               "quantity as a number": {"quantity": 40}}[fault]
    index = log.append("block.offer_accepted", {**payload, **changes}, "system")
    log.assert_refused_at(index)


def test_the_control_a_faithful_closing_entry_replays(world, log):  # noqa: F811
    offer = world.offer()
    log.append("block.offer_accepted", _closing(log, offer["id"], "accepted", world.brand), "system")
    _drifts(log)


def _expiry(log, serial: str, **changes) -> dict:  # noqa: F811
    """``block.expired`` of ``serial`` as the expiry job writes it (2026 blocks are in use until 2027-12-31)."""
    record = log.last_of(serial)
    return {**{k: v for k, v in record.items() if not k.startswith("_")}, "state": "expired",
            "use_period_end": "2027-12-31", "prev": {"index": record["_index"], "leaf_hash": record["_leaf"]},
            **changes}


@pytest.mark.parametrize("on, changes, refused", [
    (datetime(2027, 12, 31, 23, 59, tzinfo=UTC), {}, True),  # the use period's last day: still in use
    (datetime(2028, 1, 1, 0, 0, tzinfo=UTC), {}, False),
    (datetime(2028, 1, 1, 0, 0, tzinfo=UTC), {"use_period_end": "2028-12-31"}, True),
    (datetime(2028, 1, 1, 0, 0, tzinfo=UTC), {"use_period_end": None}, True),
])
def test_a_block_expires_only_after_its_use_period(world, clock, log, on, changes, refused):  # noqa: F811
    """R-E1, RMS 8.7.4: ``block.expired`` is refused before the end of 31 December of Y + 1, and when it
    names another use-period end."""
    clock.set(on)
    index = log.append("block.expired", _expiry(log, world.block["serial"], **changes), "system")
    log.assert_refused_at(index) if refused else _drifts(log)


AFTER_USE = datetime(2028, 1, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("on, its_own, changes, refused", [
    (datetime(2027, 6, 1, 9, 0, tzinfo=UTC), True, {}, True),  # inside the use period
    (AFTER_USE, False, {}, True),  # names another pending offer than the one holding it
    (AFTER_USE, True, {"prev": "earlier"}, True),  # not linked to the block's last entry (R-L2b)
    (AFTER_USE, True, {"quantity": "39.000", "last": "-1000"}, True),  # another block's fields
    (AFTER_USE, True, {"quantity": 40}, True),  # a quantity as a number (R-U3)
    (AFTER_USE, True, {"offer": 10 ** 6}, True),  # names no offer at all
    (AFTER_USE, True, {}, False),
])
def test_a_held_block_expires_only_after_its_use_period_and_with_its_offer(world, clock, log, on, its_own, changes,
                                                                           refused):  # noqa: F811
    """R-E1 with R-T6: a block held by an offer expires like any other, and closes that offer."""
    offer, second = _two_offers(world)
    clock.set(on)
    payload = _expiry(log, offer["block"]["serial"], offer=offer["id"] if its_own else second["id"])
    if changes.get("prev") == "earlier":
        changes = {"prev": {**payload["prev"], "index": payload["prev"]["index"] - 1}}
    elif changes.get("last") == "-1000":
        changes = {**changes, "last": payload["last"] - 1000}
    index = log.append("block.expired", {**payload, **changes}, "system")
    log.assert_refused_at(index) if refused else _drifts(log)


@pytest.mark.parametrize("days, words", [
    (31, "R-T6: block.offered: lapses on"),  # more than 30 days after its day
    (-1, "R-T6: block.offered: lapses on"),  # before its day
    (None, "lapses_on must be a date"),
])
def test_an_offer_lapsing_outside_its_window_is_refused_at_it(world, clock, engine, days, words):
    """R-T6: an offer lapses between its day and 30 days after it (within the use period); replayed
    offline, the offer's entry with another date is refused at its index — with 30 days it replays."""
    offer = world.offer()
    entries = _pure(engine)
    made = next(e for e in entries if e["index"] == offer["id"])
    made["payload"]["lapses_on"] = None if days is None else (clock.today() + timedelta(days=days)).isoformat()
    with pytest.raises(VerificationError) as caught:
        replay(entries).close()
    assert (caught.value.kind, caught.value.index) == ("replay_inconsistent", offer["id"]), str(caught.value)
    assert words in str(caught.value), str(caught.value)
    for days in (30, 0):  # the window's both ends replay
        made["payload"]["lapses_on"] = (clock.today() + timedelta(days=days)).isoformat()
        replay(entries).close()


def test_an_offer_logged_after_the_use_period_is_refused_at_it(world, clock, engine):
    """R-E1, R-T3: an offer moves its block like a transfer, so it too is dated by its entry's own time; an
    offer of a 2026 block logged on 1 January 2028 is refused at its index for the use period."""
    offer = world.offer()
    entries = _pure(engine)
    made = next(e for e in entries if e["index"] == offer["id"])
    made["time"] = "2028-01-01T09:00:00.000000Z"
    with pytest.raises(VerificationError) as caught:
        replay(entries).close()
    assert caught.value.index == offer["id"] and "R-E1" in str(caught.value), str(caught.value)


def test_a_block_s_next_entry_cites_its_offer_s_closing_entry_by_its_leaf_hash(world, engine):
    """R-L2b: once an offer is accepted, the block's next entry links to the acceptance by its index and
    leaf hash; the right index with another entry's leaf hash is refused at that entry."""
    offer = world.offer()
    accepted = world.act(offer["id"], "accept", world.brand_token).get_json()
    response = world.driver.post("/transfers", {"serial": accepted["block"]["serial"], "quantity": "1.000",
                                                "to_participant_id": world.other}, world.brand_token)
    assert response.status_code == 201, response.get_data(as_text=True)
    entries = _pure(engine)
    moved = next(e for e in entries if e["type"] == "block.transferred" and e["index"] > offer["id"])
    assert entries[moved["payload"]["prev"]["index"]]["type"] == "block.offer_accepted"
    replay(entries).close()  # the control
    moved["payload"]["prev"]["leaf_hash"] = entries[0]["leaf_hash"]
    with pytest.raises(VerificationError) as caught:
        replay(entries).close()
    assert (caught.value.kind, caught.value.index) == ("replay_inconsistent", moved["index"]), str(caught.value)
