"""Bulk transfers and retirements (R-T7): up to 1 000 items, all or nothing,
one log entry per item, an item's error names its index, Idempotency-Key
for the whole request, one statement for a bulk retirement."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from chainlog import store
from registry.db import session_factory
from tests.api.driver import snapshot, t
from tests.api.test_errors_and_health import assert_problem
from tests.api.test_offers import patch, verify


def blocks_of(driver, gen, n=4, each=t(10)):
    """``n`` blocks of ``each`` from one lot."""
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    driver.sell(gen.token, lot["id"], t(100))
    return [driver.generate(gen.token, lot["id"], mass=each) for _ in range(n)]


def entries(engine, kind):
    with session_factory(engine)() as session:
        return [json.loads(e.canonical) for e in store.entries(session, 0, store.size(session)) if e.type == kind]


@pytest.fixture
def scene(driver):
    gen = driver.generator()
    blocks = blocks_of(driver, gen)
    brand = driver.participant("Brand Co")["id"]
    reviewer = driver.participant("Careful Co")
    token = driver.member(reviewer["id"])
    assert patch(driver, reviewer["id"], {"incoming_transfers": "review"}, token).status_code == 200
    return gen, blocks, brand, reviewer["id"]


def test_bulk_transfer_moves_every_item_one_entry_each(driver, engine, scene, db_url, tmp_path):
    gen, blocks, brand, reviewer = scene
    items = [{"serial": blocks[0]["serial"], "quantity": "4", "to_participant_id": brand},
             {"serial": blocks[1]["serial"], "quantity": blocks[1]["quantity"], "to_participant_id": brand},
             {"serial": blocks[2]["serial"], "quantity": "2.5", "to_participant_id": reviewer}]
    out = driver.ok("/transfers/bulk", {"items": items}, gen.token)["items"]
    assert [o["moved"]["quantity"] for o in out] == ["4.000", blocks[1]["quantity"], "2.500"]
    assert [o["moved"]["owner_id"] for o in out[:2]] == [brand, brand]
    assert out[0]["remainder"]["quantity"] == "6.000" and out[1]["remainder"] is None
    # R-T6 inside a bulk: the reviewing recipient gets an offer.
    assert out[2]["moved"]["state"] == "offered" and out[2]["offer_id"] == out[2]["id"]
    assert out[0]["offer_id"] is None
    assert [o["log"]["index"] for o in out] == list(range(out[0]["log"]["index"], out[0]["log"]["index"] + 3))
    assert len(entries(engine, "block.transferred")) == 2 and len(entries(engine, "block.offered")) == 1
    report = verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.error


def _refused(driver, engine, path, body, token, status, code, field):
    before = snapshot(engine)
    problem = assert_problem(driver.post(path, body, token), status, code)
    assert field in problem["errors"], problem
    assert snapshot(engine) == before
    return problem


def test_one_bad_item_refuses_the_whole_request_naming_its_index(driver, engine, scene):
    gen, blocks, brand, _ = scene
    good = {"serial": blocks[0]["serial"], "quantity": "1", "to_participant_id": brand}
    items = [good, {**good, "serial": blocks[1]["serial"]}, {**good, "serial": blocks[2]["serial"], "quantity": "11"}]
    problem = _refused(driver, engine, "/transfers/bulk", {"items": items}, gen.token, 422, "insufficient_quantity",
                       "items.2.quantity")
    assert problem["detail"].startswith("items[2]")
    _refused(driver, engine, "/transfers/bulk", {"items": [good, {**good, "serial": blocks[1]["serial"],
                                                                  "quantity": "1.0001"}]},
             gen.token, 400, "too_many_decimals", "items.1.quantity")
    _refused(driver, engine, "/transfers/bulk", {"items": [good, {**good, "serial": "nope"}]}, gen.token, 404,
             "block_not_found", "items.1.serial")
    _refused(driver, engine, "/transfers/bulk", {"items": [good, {**good, "serial": blocks[1]["serial"],
                                                                  "to_participant_id": 987654}]},
             gen.token, 404, "participant_not_found", "items.1.to_participant_id")
    _refused(driver, engine, "/transfers/bulk", {"items": [good, {**good, "to_participant_id": gen.id}]}, gen.token,
             400, "duplicate_serial", "items.1.serial")
    _refused(driver, engine, "/transfers/bulk", {"items": [good, {**good, "serial": blocks[1]["serial"],
                                                                  "to_participant_id": gen.id}]},
             gen.token, 422, "same_participant", "items.1.to_participant_id")
    _refused(driver, engine, "/transfers/bulk", {"items": [good] * 1001}, gen.token, 400, "too_many_items", "items")
    _refused(driver, engine, "/transfers/bulk", {"items": []}, gen.token, 400, "no_items", "items")
    _refused(driver, engine, "/retirements/bulk", {"beneficiary": "B", "claim_type": "general",
                                                   "reporting_year": 2026, "items": [{"serial": "x", "quantity": "1"}]
                                                   * 1001}, gen.token, 400, "too_many_items", "items")
    retire = {"beneficiary": "Brand Co", "claim_type": "general", "reporting_year": 2026}
    _refused(driver, engine, "/retirements/bulk", {**retire, "items": [{"serial": blocks[0]["serial"], "quantity": "1"},
                                                                       {"serial": blocks[0]["serial"], "quantity": "2"}]},
             gen.token, 400, "duplicate_serial", "items.1.serial")
    brand_token = driver.member(brand)
    _refused(driver, engine, "/retirements/bulk", {**retire, "items": [{"serial": blocks[0]["serial"], "quantity": "1"}]},
             brand_token, 403, "not_owner", "items.0.serial")


def test_bulk_retirement_has_one_statement_listing_every_item_and_its_proof(driver, engine, scene, client, db_url,
                                                                            tmp_path):
    gen, blocks, _, _ = scene
    body = {"beneficiary": "Brand Co", "claim_type": "general", "reporting_year": 2026,
            "statement": "Our 2026 packaging", "items": [{"serial": b["serial"], "quantity": q}
                                                         for b, q in zip(blocks[:3], ("10", "2.5", "1"))]}
    out = driver.ok("/retirements/bulk", body, gen.token)
    retired = out["retirements"]
    assert len(retired) == 3 and [r["quantity"] for r in retired] == ["10.000", "2.500", "1.000"]
    assert out["id"] == retired[0]["log"]["index"] and all(r["bulk_id"] == out["id"] for r in retired)
    assert retired[1]["remainder"]["quantity"] == "7.500"
    logged = entries(engine, "block.retired")
    assert [e["payload"]["bulk"] for e in logged] == [{"item": k, "items": 3} for k in range(3)]
    record = driver.get(f"/retirements/bulk/{out['id']}").get_json()  # public
    assert [r["serial"] for r in record["retirements"]] == [r["serial"] for r in retired]
    assert len({r["proof"]["checkpoint"] for r in record["retirements"]}) == 1  # one checkpoint for all
    assert all(r["proof"]["index"] == r["log"]["index"] for r in record["retirements"])
    page = client.get(out["statement"])
    assert page.status_code == 200 and out["statement"] == f"/retirements/bulk/{out['id']}"
    html = page.get_data(as_text=True)
    assert all(r["serial"] in html for r in retired) and "Brand Co" in html and "13.500" in html
    single = client.get(f"/retirements/{retired[0]['id']}").get_data(as_text=True)
    assert f"/retirements/bulk/{out['id']}" in single
    assert client.get("/retirements/bulk/999999").status_code == 404
    report = verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.error
    with engine.begin() as connection:  # R-L7b: the grouping is compared with the log
        connection.execute(text("UPDATE retirement SET bulk_id = NULL WHERE serial = :s"), {"s": retired[2]["serial"]})
    report = verify(driver, engine, db_url, tmp_path)
    assert not report.ok and any("bulk_id" in str(f) for f in report.findings)


def test_the_idempotency_key_covers_the_whole_request(driver, engine, scene):
    gen, blocks, brand, _ = scene
    body = {"items": [{"serial": b["serial"], "quantity": "1", "to_participant_id": brand} for b in blocks[:2]]}
    headers = {"Authorization": f"Bearer {gen.token}", "Idempotency-Key": "bulk-1"}
    first = driver.client.post("/api/v1/transfers/bulk", json=body, headers=headers)
    again = driver.client.post("/api/v1/transfers/bulk", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.get_json() == first.get_json()
    assert len(entries(engine, "block.transferred")) == 2
    other = {"items": body["items"][:1]}
    assert_problem(driver.client.post("/api/v1/transfers/bulk", json=other, headers=headers), 422,
                   "idempotency_key_reused")


def test_a_product_claims_cap_adds_up_across_the_items(driver, engine, scene, db_url, tmp_path):
    """R-R3, R-R5 inside one bulk: the items count against the product's mass together."""
    gen, blocks, _, _ = scene
    product = {"name": "Bottle", "composition": [{"arc_type": "PP", "mass": t(15)}]}
    body = {"beneficiary": "Brand Co", "claim_type": "product", "reporting_year": 2026, "product": product,
            "items": [{"serial": blocks[0]["serial"], "quantity": "10"},
                      {"serial": blocks[1]["serial"], "quantity": "10"}]}
    _refused(driver, engine, "/retirements/bulk", body, gen.token, 422, "exceeds_product_mass", "items.1.serial")
    body["items"][1]["quantity"] = "5"
    out = driver.ok("/retirements/bulk", body, gen.token)
    assert [r["claim_type"] for r in out["retirements"]] == ["product", "product"]
    report = verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.error
