"""Transfers (SPEC §9): splits into adjacent ranges, one log entry naming
parent and children, every refusal with its own code and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime

import chainlog.store
from registry.db import session_factory
from tests.api.driver import snapshot, t
from tests.api.test_errors_and_health import assert_problem


def _block(driver, gen, mass=t(100)):
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=mass)
    driver.sell(gen.token, lot["id"], mass)
    return driver.generate(gen.token, lot["id"])


def _trader(driver, name="Brand Co"):
    participant = driver.participant(name)
    return participant["id"], driver.member(participant["id"])


def _refused(driver, engine, token, body, status, code):
    before = snapshot(engine)
    assert_problem(driver.post("/transfers", body, token), status, code)
    assert snapshot(engine) == before


def test_partial_transfer_moves_the_lower_serials(driver, engine):
    gen = driver.generator()
    block = _block(driver, gen)
    brand, _ = _trader(driver)
    result = driver.ok("/transfers", {"serial": block["serial"], "quantity": "40.000",
                                      "to_participant_id": brand}, gen.token)
    moved, remainder = result["moved"], result["remainder"]
    assert (moved["first"], moved["last"]) == ("000000000001", "000000040000")
    assert (remainder["first"], remainder["last"]) == ("000000040001", "000000100000")
    assert moved["owner_id"] == brand and remainder["owner_id"] == gen.id
    assert moved["quantity"] == "40.000" and remainder["quantity"] == "60.000"
    assert moved["parent_serial"] == remainder["parent_serial"] == block["serial"]
    assert moved["serial"] == f"PC_P_PP_ARC-2026-{gen.id}-000000000001-000000040000"
    # The parent is history now: it cannot move again.
    again = driver.post("/transfers", {"serial": block["serial"], "quantity": "1",
                                       "to_participant_id": brand}, gen.token)
    assert_problem(again, 422, "block_not_active")
    with session_factory(engine)() as session:
        entry = chainlog.store.entry(session, result["log"]["index"])
    assert entry.type == "block.transferred"
    assert entry.payload["parent"] == block["serial"]
    assert entry.payload["moved"]["serial"] == moved["serial"]
    assert entry.payload["remainder"]["serial"] == remainder["serial"]
    assert entry.payload["prev"] == block["log"]  # R-L2b
    assert moved["log"] == remainder["log"] == result["log"]


def test_full_transfer_keeps_the_serial(driver):
    gen = driver.generator()
    block = _block(driver, gen)
    brand, brand_token = _trader(driver)
    result = driver.ok("/transfers", {"serial": block["serial"], "quantity": block["quantity"],
                                      "to_participant_id": brand}, gen.token)
    assert result["remainder"] is None
    assert result["moved"]["serial"] == block["serial"] and result["moved"]["owner_id"] == brand
    # The new owner can pass it on; the old one cannot.
    retailer, _ = _trader(driver, "Retailer")
    assert_problem(driver.post("/transfers", {"serial": block["serial"], "quantity": "1",
                                              "to_participant_id": retailer}, gen.token), 403, "not_owner")
    onward = driver.ok("/transfers", {"serial": block["serial"], "quantity": "1",
                                      "to_participant_id": retailer}, brand_token)
    assert onward["moved"]["owner_id"] == retailer


def test_refusals(driver, engine, clock):
    gen = driver.generator()
    block = _block(driver, gen)
    brand, _ = _trader(driver)
    pending = driver.participant("Pending Co", activate=False)["id"]
    serial = block["serial"]
    _refused(driver, engine, gen.token, {"serial": serial, "quantity": "100.001", "to_participant_id": brand},
             422, "insufficient_quantity")
    _refused(driver, engine, gen.token, {"serial": serial, "quantity": "1", "to_participant_id": gen.id},
             422, "same_participant")
    _refused(driver, engine, gen.token, {"serial": serial, "quantity": "1", "to_participant_id": pending},
             422, "participant_inactive")
    _refused(driver, engine, gen.token, {"serial": serial, "quantity": "1", "to_participant_id": 999999},
             404, "participant_not_found")
    _refused(driver, engine, gen.token, {"serial": "PC_P_PP_ARC-2026-1-000000000001-000000000002",
                                         "quantity": "1", "to_participant_id": brand}, 404, "block_not_found")
    _refused(driver, engine, gen.token, {"serial": serial, "quantity": "0", "to_participant_id": brand},
             400, "must_be_positive")
    _refused(driver, engine, gen.token, {"serial": serial, "quantity": "1.0001", "to_participant_id": brand},
             400, "too_many_decimals")
    # R-P3: a suspended holder's certificates are inactive until it is active again.
    driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    _refused(driver, engine, gen.token, {"serial": serial, "quantity": "1", "to_participant_id": brand},
             422, "participant_inactive")
    driver.ok(f"/participants/{gen.id}/activate", status=200)
    # R-E1: after 31 December of the year after generation, nothing moves
    # (even before the expiry job has run).
    clock.set(datetime(2028, 1, 1, tzinfo=UTC))
    _refused(driver, engine, gen.token, {"serial": serial, "quantity": "1", "to_participant_id": brand},
             422, "outside_use_period")
    clock.set(datetime(2027, 12, 31, 23, 59, tzinfo=UTC))
    assert driver.post("/transfers", {"serial": serial, "quantity": "1", "to_participant_id": brand},
                       gen.token).status_code == 201


def test_json_number_quantity_is_exact(driver):
    gen = driver.generator()
    block = _block(driver, gen)
    brand, _ = _trader(driver)
    ok = driver.client.post("/api/v1/transfers", data=f'{{"serial": "{block["serial"]}", "quantity": 2.5, '
                            f'"to_participant_id": {brand}}}', content_type="application/json",
                            headers={"Authorization": f"Bearer {gen.token}"})
    assert ok.status_code == 201 and ok.get_json()["moved"]["quantity"] == "2.500"


def test_idempotency_key_replays_the_first_response(driver, engine):
    gen = driver.generator()
    block = _block(driver, gen)
    brand, _ = _trader(driver)
    body = {"serial": block["serial"], "quantity": "10", "to_participant_id": brand}
    headers = {"Authorization": f"Bearer {gen.token}", "Idempotency-Key": "transfer-0001"}
    first = driver.client.post("/api/v1/transfers", json=body, headers=headers)
    assert first.status_code == 201
    state = snapshot(engine)
    retry = driver.client.post("/api/v1/transfers", json=dict(reversed(list(body.items()))), headers=headers)
    assert retry.status_code == 201 and retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert snapshot(engine) == state  # changed nothing more
    other = driver.client.post("/api/v1/transfers", json={**body, "quantity": "11"}, headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")
    # Keys are scoped per user: another user's same key is a new request.
    brand_token = driver.member(brand)
    back = {"serial": first.get_json()["moved"]["serial"], "quantity": "1", "to_participant_id": gen.id}
    mine = driver.client.post("/api/v1/transfers", json=back,
                              headers={"Authorization": f"Bearer {brand_token}", "Idempotency-Key": "transfer-0001"})
    assert mine.status_code == 201


def test_list_blocks_and_holdings(driver):
    gen = driver.generator()
    block = _block(driver, gen)
    brand, brand_token = _trader(driver)
    driver.ok("/transfers", {"serial": block["serial"], "quantity": "30", "to_participant_id": brand}, gen.token)
    mine = driver.get(f"/blocks?owner={gen.id}&state=active", gen.token).get_json()
    assert [b["quantity"] for b in mine["items"]] == ["70.000"] and mine["next_cursor"] is None
    assert driver.get("/blocks", brand_token).get_json()["items"][0]["quantity"] == "30.000"
    assert_problem(driver.get(f"/blocks?owner={gen.id}", brand_token), 403, "not_owner")
    holdings = driver.get(f"/participants/{gen.id}/holdings", gen.token).get_json()
    assert holdings["lines"] == [{"arc_type": "PP", "generation_year": 2026, "state": "active",
                                  "quantity": "70.000", "blocks": 1}]


def test_block_pages_follow_the_cursor(driver):
    gen = driver.generator()
    block = _block(driver, gen, t(10))
    brand, brand_token = _trader(driver)
    serial = block["serial"]
    for _ in range(5):  # five 1-certificate blocks for the brand
        result = driver.ok("/transfers", {"serial": serial, "quantity": "1", "to_participant_id": brand}, gen.token)
        serial = result["remainder"]["serial"]
    seen, cursor = [], None
    while True:
        page = driver.get("/blocks?limit=2" + (f"&cursor={cursor}" if cursor else ""), brand_token).get_json()
        seen += [b["serial"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 == len(set(seen)) and seen == sorted(seen)
    assert_problem(driver.get("/blocks?cursor=%%%", brand_token), 400, "invalid_cursor")
