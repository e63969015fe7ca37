"""Offers (R-T6): a transfer to a participant that reviews incoming transfers
is held until it accepts, rejects, the sender withdraws or it lapses; every
step one log entry, replayed by `arcreg verify`; refusals name their code and
write nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import select

from chainlog import store
from registry.config import Config
from registry.db import session_factory
from registry.jobs import run_daily_jobs
from registry.models import Block
from registry.signing import load_signer
from registry.verification import verify_registry
from tests.api.driver import snapshot, t
from tests.api.test_errors_and_health import assert_problem


def patch(driver, participant_id: int, body: dict, token: str):
    return driver.client.patch(f"/api/v1/participants/{participant_id}", json=body,
                               headers={"Authorization": f"Bearer {token}"})


def block_of(driver, gen, mass=t(100)):
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=mass)
    driver.sell(gen.token, lot["id"], mass)
    return driver.generate(gen.token, lot["id"])


class World:
    def __init__(self, driver, engine):
        self.driver, self.engine = driver, engine
        self.gen = driver.generator()
        self.block = block_of(driver, self.gen)
        brand = driver.participant("Brand Co")
        self.brand, self.brand_token = brand["id"], driver.member(brand["id"])
        other = driver.participant("Other Co")
        self.other, self.other_token = other["id"], driver.member(other["id"])
        response = patch(driver, self.brand, {"incoming_transfers": "review"}, self.brand_token)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["incoming_transfers"] == "review"

    def offer(self, quantity="40.000", **extra) -> dict:
        response = self.driver.post("/transfers", {"serial": self.block["serial"], "quantity": quantity,
                                                   "to_participant_id": self.brand, **extra}, self.gen.token)
        assert response.status_code == 202, response.get_data(as_text=True)
        return response.get_json()["offer"]

    def act(self, offer_id, action, token, status=200):
        response = self.driver.post(f"/offers/{offer_id}/{action}", None, token)
        assert response.status_code == status, response.get_data(as_text=True)
        return response

    def entries(self, kind=None) -> list[dict]:
        with session_factory(self.engine)() as session:
            return [json.loads(e.canonical) for e in store.entries(session, 0, store.size(session))
                    if kind is None or e.type == kind]


def verify(driver, engine, db_url, tmp_path):
    assert driver.get("/log/checkpoint").status_code == 200
    signer = load_signer(Config(database_url=db_url, signing_key_file=tmp_path / "key.pem"))
    with session_factory(engine)() as session:
        return verify_registry(session, [signer.verifier], record=False)


@pytest.fixture
def world(driver, engine):
    return World(driver, engine)


def test_the_setting_is_logged_and_defaults_to_automatic(driver, engine, world):
    other = driver.get(f"/participants/{world.other}", world.other_token).get_json()
    assert other["incoming_transfers"] == "automatic"
    [entry] = world.entries("participant.updated")
    assert entry["payload"]["incoming_transfers"] == "review"
    assert entry["payload"]["changed"] == ["incoming_transfers"]
    before = snapshot(engine)
    assert_problem(patch(driver, world.brand, {"incoming_transfers": "maybe"}, world.brand_token), 400,
                   "invalid_input")
    assert_problem(patch(driver, world.brand, {"incoming_transfers": "automatic"}, world.other_token), 404,
                   "participant_not_found")
    assert snapshot(engine) == before


def test_a_transfer_to_a_reviewing_recipient_is_held_until_accepted(driver, engine, world, db_url, tmp_path, clock):
    offer = world.offer()
    held = offer["block"]
    assert offer["state"] == "pending" and held["state"] == "offered"
    assert held["owner_id"] == world.gen.id and held["quantity"] == "40.000"
    assert (held["first"], held["last"]) == ("000000000001", "000000040000")
    assert offer["lapses_on"] == (clock.today() + timedelta(days=30)).isoformat()
    assert (offer["from_participant_id"], offer["to_participant_id"]) == (world.gen.id, world.brand)
    # Held: neither party moves or retires it.
    for token in (world.gen.token, world.brand_token):
        assert driver.post("/transfers", {"serial": held["serial"], "quantity": "1", "to_participant_id": world.other},
                           token).status_code in (403, 422)
    assert_problem(driver.post("/transfers", {"serial": held["serial"], "quantity": "1",
                                              "to_participant_id": world.other}, world.gen.token),
                   422, "block_not_active")
    assert_problem(driver.post("/retirements", {"serial": held["serial"], "quantity": "1", "beneficiary": "X",
                                                "claim_type": "general", "reporting_year": 2026}, world.gen.token),
                   422, "block_not_active")
    # Visible to both parties, to nobody else.
    for token, role in ((world.gen.token, "sender"), (world.brand_token, "recipient")):
        page = driver.get(f"/offers?role={role}&state=pending", token).get_json()
        assert [o["id"] for o in page["items"]] == [offer["id"]]
        assert driver.get(f"/offers/{offer['id']}", token).status_code == 200
    assert_problem(driver.get(f"/offers/{offer['id']}", world.other_token), 404, "offer_not_found")

    accepted = world.act(offer["id"], "accept", world.brand_token).get_json()
    assert accepted["state"] == "accepted" and accepted["block"]["state"] == "active"
    assert accepted["block"]["owner_id"] == world.brand and accepted["block"]["serial"] == held["serial"]
    [made] = world.entries("block.offered")
    [done] = world.entries("block.offer_accepted")
    assert made["index"] == offer["id"] and made["payload"]["lapses_on"] == offer["lapses_on"]
    assert done["payload"]["offer"] == offer["id"] and done["payload"]["prev"]["index"] == offer["id"]
    # The recipient now holds it like any transfer.
    driver.ok("/transfers", {"serial": held["serial"], "quantity": "10", "to_participant_id": world.other},
              world.brand_token)
    report = verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.error


@pytest.mark.parametrize("action, actor", [("reject", "brand"), ("withdraw", "gen")])
def test_reject_and_withdraw_return_the_block_with_its_serial_range(driver, engine, world, db_url, tmp_path,
                                                                    action, actor):
    offer = world.offer()
    token = world.brand_token if actor == "brand" else world.gen.token
    closed = world.act(offer["id"], action, token).get_json()
    assert closed["state"] == {"reject": "rejected", "withdraw": "withdrawn"}[action]
    block = closed["block"]
    assert block["state"] == "active" and block["owner_id"] == world.gen.id
    assert (block["serial"], block["first"], block["last"]) == (offer["block"]["serial"], "000000000001",
                                                                 "000000040000")
    # The sender moves it again.
    driver.ok("/transfers", {"serial": block["serial"], "quantity": "40", "to_participant_id": world.other},
              world.gen.token)
    report = verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.error


def test_refusals_name_their_code_and_write_nothing(driver, engine, world, clock):
    offer = world.offer()
    before = snapshot(engine)
    assert_problem(driver.post(f"/offers/{offer['id']}/accept", None, world.gen.token), 403, "not_offer_recipient")
    assert_problem(driver.post(f"/offers/{offer['id']}/reject", None, world.gen.token), 403, "not_offer_recipient")
    assert_problem(driver.post(f"/offers/{offer['id']}/withdraw", None, world.brand_token), 403, "not_offer_sender")
    assert_problem(driver.post(f"/offers/{offer['id']}/accept", None, world.other_token), 404, "offer_not_found")
    assert_problem(driver.post("/offers/999999/accept", None, world.brand_token), 404, "offer_not_found")
    too_late = (clock.today() + timedelta(days=31)).isoformat()
    assert_problem(driver.post("/transfers", {"serial": offer["block"]["serial"].replace("000000040000", "x"),
                                              "quantity": "1", "to_participant_id": world.brand}, world.gen.token),
                   404, "block_not_found")
    remainder = [b for b in driver.get(f"/blocks?owner={world.gen.id}&state=active", world.gen.token)
                 .get_json()["items"]][0]
    assert_problem(driver.post("/transfers", {"serial": remainder["serial"], "quantity": "1",
                                              "to_participant_id": world.brand, "lapses_on": too_late},
                               world.gen.token), 400, "invalid_lapse_date")
    assert snapshot(engine) == before
    world.act(offer["id"], "withdraw", world.gen.token)
    before = snapshot(engine)
    assert_problem(driver.post(f"/offers/{offer['id']}/accept", None, world.brand_token), 409, "offer_withdrawn")
    assert_problem(driver.post(f"/offers/{offer['id']}/withdraw", None, world.gen.token), 409, "offer_withdrawn")
    assert snapshot(engine) == before


def test_an_offer_lapses_after_its_date_by_the_daily_job(driver, engine, world, clock, db_url, tmp_path, app):
    offer = world.offer(lapses_on=(clock.today() + timedelta(days=3)).isoformat())
    clock.set(clock.now() + timedelta(days=4))
    # After its lapse date it cannot be accepted, whether or not the job has run (R-E2).
    before = snapshot(engine)
    assert_problem(driver.post(f"/offers/{offer['id']}/accept", None, world.brand_token), 409, "offer_lapsed")
    assert snapshot(engine) == before
    results = run_daily_jobs(session_factory(engine), clock)
    assert results["offer-lapse"] == {"status": "ran", "lapsed": 1}
    lapsed = driver.get(f"/offers/{offer['id']}", world.gen.token).get_json()
    assert lapsed["state"] == "lapsed" and lapsed["block"]["state"] == "active"
    assert lapsed["block"]["owner_id"] == world.gen.id
    [entry] = world.entries("block.offer_lapsed")
    assert entry["actor"] == "system"
    assert_problem(driver.post(f"/offers/{offer['id']}/accept", None, world.brand_token), 409, "offer_lapsed")
    assert run_daily_jobs(session_factory(engine), clock)["offer-lapse"] == {"status": "skipped"}
    report = verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.error


def test_a_held_block_past_its_use_period_expires_like_any_other(driver, engine, world, clock, db_url, tmp_path):
    # Generated in 2026: the use period ends 2027-12-31; an offer made on 2027-12-20 lapses on its last day.
    clock.set(clock.now().replace(year=2027, month=12, day=20))
    offer = world.offer()
    assert offer["lapses_on"] == "2027-12-31"
    clock.set(clock.now().replace(year=2028, month=1, day=3))
    results = run_daily_jobs(session_factory(engine), clock)
    assert results["offer-lapse"]["lapsed"] == 0 and results["expiry"]["expired"] >= 2
    closed = driver.get(f"/offers/{offer['id']}", world.brand_token).get_json()
    assert closed["state"] == "lapsed" and closed["block"]["state"] == "expired"
    assert closed["block"]["owner_id"] == world.gen.id
    [entry] = [e for e in world.entries("block.expired") if e["payload"]["serial"] == offer["block"]["serial"]]
    assert entry["payload"]["offer"] == offer["id"]
    report = verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.error


@pytest.mark.parametrize("column, value", [
    ("offer", "state = 'accepted'"), ("offer", "lapses_on = '2026-12-31'"),
    ("offer", "to_participant_id = from_participant_id"),
    ("participant", "incoming_transfers = 'automatic'"),
])
def test_a_database_edit_of_an_offer_or_the_setting_fails_verification(driver, engine, world, db_url, tmp_path,
                                                                        column, value):
    offer = world.offer()
    where = "id = :offer" if column == "offer" else "id = :brand"
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {column} SET {value} WHERE {where}"),
                           {"offer": offer["id"], "brand": world.brand})
    report = verify(driver, engine, db_url, tmp_path)
    assert not report.ok
    assert any(column in str(f) for f in report.findings), report.findings


def test_both_parties_hear_of_an_offer_and_its_end(driver, engine, world):
    """R-N1: offer pending, then accepted / withdrawn, in each party's event feed with its log entry."""
    def feed(token):
        response = driver.get("/events", token)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [(e["type"], e["data"]["offer_id"], e["data"]["log_index"]) for e in response.get_json()["items"]
                if e["type"].startswith("offer.")]

    first = driver.post("/transfers", {"serial": world.block["serial"], "quantity": "10.000",
                                       "to_participant_id": world.brand}, world.gen.token)
    assert first.status_code == 202, first.get_data(as_text=True)
    accepted = first.get_json()["offer"]
    world.act(accepted["id"], "accept", world.brand_token)
    world.block = first.get_json()["remainder"]
    withdrawn = world.offer("5.000")
    world.act(withdrawn["id"], "withdraw", world.gen.token)
    decided = {kind.split(".", 1)[1]: e["index"] for kind in ("block.offer_accepted", "block.offer_withdrawn")
               for e in world.entries(kind)}
    expected = [("offer.pending", accepted["id"], accepted["id"]),
                ("offer.accepted", accepted["id"], decided["offer_accepted"]),
                ("offer.pending", withdrawn["id"], withdrawn["id"]),
                ("offer.withdrawn", withdrawn["id"], decided["offer_withdrawn"])]
    assert feed(world.brand_token) == expected
    assert feed(world.gen.token) == expected
    assert feed(world.other_token) == []


def test_statements_follow_offers(driver, engine, world, clock):
    """R-N4 with R-T6: an offer takes the held certificates out of the sender's holdings; acceptance brings
    them into the recipient's, withdrawal back into the sender's; each statement closes with its active
    blocks."""
    first = driver.post("/transfers", {"serial": world.block["serial"], "quantity": "10.000",
                                       "to_participant_id": world.brand}, world.gen.token)
    assert first.status_code == 202, first.get_data(as_text=True)
    world.act(first.get_json()["offer"]["id"], "accept", world.brand_token)
    world.block = first.get_json()["remainder"]
    world.act(world.offer("5.000")["id"], "withdraw", world.gen.token)
    today = clock.today().isoformat()

    def statement(participant, token):
        response = driver.get(f"/participants/{participant}/statement?from={today}&to={today}", token)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def active(participant) -> str:
        with session_factory(engine)() as session:
            held = session.exec(select(Block).where(Block.owner_id == participant, Block.state == "active")).all()
        return format(sum((b.quantity for b in held), Decimal(0)), "f")

    gen = statement(world.gen.id, world.gen.token)
    assert [(m["kind"], m["quantity"]) for m in gen["movements"]] == [
        ("generated", "100.000"), ("offered", "10.000"), ("offered", "5.000"), ("offer_returned", "5.000")]
    assert [c["quantity"] for c in gen["closing"]] == [active(world.gen.id)] == ["90.000"]
    brand = statement(world.brand, world.brand_token)
    assert [(m["kind"], m["quantity"], m["counterparty_id"]) for m in brand["movements"]] == [
        ("transfer_in", "10.000", world.gen.id)]
    assert [c["quantity"] for c in brand["closing"]] == [active(world.brand)] == ["10.000"]
