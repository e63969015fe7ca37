"""Retirement and claims (SPEC §10, R-R1–R-R4, RMS 8.8, 8.9) through the
HTTP API on SQLite and PostgreSQL: splits, finality, the use period, claim
rules, the public record and its offline-verifiable proof."""

from __future__ import annotations

import inspect
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

import chainlog.store
from chainlog import merkle
from chainlog.checkpoint import open_checkpoint
from chainlog.keys import parse_vkey
from registry.db import UnitOfWork, session_factory
from registry.errors import InvalidInput
from registry.holdings import MAX_LIMIT, encode_cursor
from registry.identity import actor_of, authenticate
from registry.retirements import list_retirements, retire
from tests.api.driver import kg, snapshot, t
from tests.api.test_errors_and_health import assert_problem
from tests.races import race


def _holding(driver, gen, material_code="PC_P3.1.9", mass=t(10), **overrides) -> dict:
    """A fresh active block of ``mass`` held by its generator."""
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, material_code, mass, **overrides)
    driver.sell(gen.token, lot["id"], mass, on=lot["processed_on"])
    return driver.generate(gen.token, lot["id"])


def _body(serial, quantity, **overrides) -> dict:
    return {"serial": serial, "quantity": quantity, "beneficiary": "Brand Co", "claim_type": "general",
            "reporting_year": 2026, **overrides}


def _retire(driver, token, serial, quantity, **overrides) -> dict:
    return driver.ok("/retirements", _body(serial, quantity, **overrides), token)


def _refused(driver, engine, token, body, status, code, path="/retirements") -> dict:
    before = snapshot(engine)
    problem = assert_problem(driver.post(path, body, token), status, code)
    assert snapshot(engine) == before  # R-X2: nothing written
    return problem


def _entry(engine, index):
    with session_factory(engine)() as session:
        return chainlog.store.entry(session, index)


def test_partial_retirement_retires_the_lower_serials(driver, engine):
    gen = driver.generator()
    block = _holding(driver, gen)
    done = _retire(driver, gen.token, block["serial"], "4", statement="4 t of PP in our 2026 bottles")
    retired, remainder = done["block"], done["remainder"]
    assert retired["serial"] == f"PC_P_PP_ARC-2026-{gen.id}-000000000001-000000004000"
    assert (retired["state"], retired["quantity"], retired["owner_id"]) == ("retired", "4.000", gen.id)
    assert retired["parent_serial"] == block["serial"]
    assert remainder["serial"] == f"PC_P_PP_ARC-2026-{gen.id}-000000004001-000000010000"
    assert (remainder["state"], remainder["quantity"], remainder["owner_id"]) == ("active", "6.000", gen.id)
    assert done["retired_on"] == "2026-03-02" and done["beneficiary"] == "Brand Co"
    assert done["claim_type"] == "general" and done["claim_share"] is None
    assert driver.get(f"/blocks/{block['serial']}").get_json()["state"] == "split"
    assert driver.get(f"/blocks/{remainder['serial']}").get_json()["state"] == "active"

    entry = _entry(engine, done["log"]["index"])
    assert entry.type == "block.retired" and entry.leaf_hash.hex() == done["log"]["leaf_hash"]
    assert entry.payload["prev"] == block["log"]  # R-L2b: the parent's last entry
    assert entry.payload["parent"] == block["serial"]
    assert entry.payload["retired"]["serial"] == retired["serial"]
    assert entry.payload["remainder"]["serial"] == remainder["serial"]
    assert entry.payload["beneficiary"] == "Brand Co"
    assert entry.payload["claim"]["statement"] == "4 t of PP in our 2026 bottles"
    assert retired["log"] == remainder["log"] == done["log"]


def test_full_retirement_retires_the_whole_block(driver, engine):
    gen = driver.generator()
    block = _holding(driver, gen)
    done = _retire(driver, gen.token, block["serial"], "10.000")
    assert done["block"]["serial"] == block["serial"] and done["block"]["state"] == "retired"
    assert done["remainder"] is None
    assert _entry(engine, done["log"]["index"]).payload["remainder"] is None


def test_retired_block_never_moves_again(driver, engine):
    """RMS 8.8.3: retirement is final (R-R1, R-T1)."""
    gen = driver.generator()
    buyer = driver.participant("Buyer")
    block = _holding(driver, gen)
    done = _retire(driver, gen.token, block["serial"], "4")
    for serial in (done["block"]["serial"], block["serial"]):  # the retired part, and the split parent
        _refused(driver, engine, gen.token, _body(serial, "1"), 422, "block_not_active")
        _refused(driver, engine, gen.token, {"serial": serial, "quantity": "1", "to_participant_id": buyer["id"]},
                 422, "block_not_active", path="/transfers")
    # The remainder is still the owner's to use.
    assert _retire(driver, gen.token, done["remainder"]["serial"], "6")["remainder"] is None


def test_rms_8_8_4_1_retirable_until_end_of_next_year(driver, engine, clock):
    """Generated in 2021: retirable on 2022-12-31, refused on 2023-01-01 (R-E1)."""
    clock.set(datetime(2021, 6, 1, tzinfo=UTC))
    participant = driver.participant("Early Recycling", gpp_signed_on="2021-01-15")
    member = driver.member(participant["id"])
    certifier = driver.certifier()
    cert = driver.certificate(certifier, participant["id"], issued_on="2021-01-01", expires_on="2023-12-31")
    facility = driver.facility(member, participant["id"])
    driver.determination(certifier, facility["id"], certification_year=2021,
                         newness={"basis": "new_operation", "operation_start": "2019-05-01"})
    lot = driver.lot(member, facility["id"], cert["number"], mass=t(10), processed_on="2021-05-01")
    driver.sell(member, lot["id"], t(10), on="2021-05-15")
    block = driver.generate(member, lot["id"])
    assert block["generation_year"] == 2021 and block["use_period_end"] == "2022-12-31"

    clock.set(datetime(2022, 12, 31, 23, 59, 59, tzinfo=UTC))
    done = _retire(driver, member, block["serial"], "4", reporting_year=2022)
    assert done["retired_on"] == "2022-12-31"

    clock.set(datetime(2023, 1, 1, tzinfo=UTC))
    _refused(driver, engine, member, _body(done["remainder"]["serial"], "1", reporting_year=2022), 422,
             "outside_use_period")


def test_example_8_3_claim_share(driver):
    """6 250 PC PE ARCs on 25 000 t of HDPE packaging -> 25% (R-R4)."""
    gen = driver.generator()
    block = _holding(driver, gen, "PC_P3.1.5", t(6250))
    assert block["arc_code"] == "PC_P_PE_ARC" and block["quantity"] == "6250.000"
    done = _retire(driver, gen.token, block["serial"], "6250", basis_mass=t(25000),
                   statement="25% post-consumer recycled content in HDPE packaging")
    assert done["claim_share"] == "0.2500"
    assert done["basis_mass"] == {"value": "25000000.000", "unit": "kg"}


def _product(*items, name="Bottle 1L") -> dict:
    return {"name": name, "composition": [{"arc_type": a, "mass": m} for a, m in items]}


def test_product_claim_matching_type_accepted_and_stored(driver):
    gen = driver.generator()
    block = _holding(driver, gen, "PC_P3.1.5")
    product = _product(("PE", t(3)), ("PP", kg(500)))
    done = _retire(driver, gen.token, block["serial"], "3", claim_type="product", product=product)
    assert done["product"] == _product(("PE", kg("3000.000")), ("PP", kg("500.000")))
    record = driver.get(f"/retirements/{done['id']}").get_json()
    assert record["claim_type"] == "product" and record["product"] == done["product"]


def test_product_claim_refusals(driver, engine):
    """R-R3 (RMS 8.9.1.3): type must be in the product, at most its mass,
    earlier retirements for the same product count."""
    gen = driver.generator()
    block = _holding(driver, gen, "PC_P3.1.5")
    token, serial = gen.token, block["serial"]
    _refused(driver, engine, token, _body(serial, "1", claim_type="product", product=_product(("PP", t(5)))),
             422, "material_mismatch")
    _refused(driver, engine, token, _body(serial, "2.001", claim_type="product", product=_product(("PE", t(2)))),
             422, "exceeds_product_mass")
    first = _retire(driver, token, serial, "1.5", claim_type="product", product=_product(("PE", t(2))))
    rest = first["remainder"]["serial"]
    # 1.5 already claimed for this beneficiary's "bottle 1l" (names compare case-insensitively).
    _refused(driver, engine, token, _body(rest, "0.501", beneficiary="BRAND CO", claim_type="product",
                                          product=_product(("PE", t(2)), name="bottle 1l")), 422,
             "exceeds_product_mass")
    _retire(driver, token, rest, "0.5", claim_type="product", product=_product(("PE", t(2))))
    # Another beneficiary's product of the same name is a different claim.
    other = driver.get(f"/blocks?owner={gen.id}&state=active", token).get_json()["items"][0]["serial"]
    _retire(driver, token, other, "2", beneficiary="Other Brand", claim_type="product",
            product=_product(("PE", t(2))))


def test_peq_backs_a_product_claim_only_when_the_product_names_it(driver, engine):
    gen = driver.generator()
    block = _holding(driver, gen, "PC_P2.1.1", t(10), non_plastic_fraction="0", lhv_mj_per_kg="44.6")
    assert block["arc_type"] == "PEQ" and block["quantity"] == "10.000"
    _refused(driver, engine, gen.token,
             _body(block["serial"], "1", claim_type="product", product=_product(("PE", t(5)))), 422,
             "material_mismatch")
    done = _retire(driver, gen.token, block["serial"], "1", claim_type="product",
                   product=_product(("PE", t(5)), ("PEQ", t(1))))
    assert done["block"]["arc_type"] == "PEQ"
    assert _retire(driver, gen.token, done["remainder"]["serial"], "9")["claim_type"] == "general"


def test_claim_input_refusals(driver, engine):
    gen = driver.generator()
    serial = _holding(driver, gen)["serial"]
    cases = [
        (_body(serial, "1", claim_type="product"), 400, "composition_required"),
        (_body(serial, "1", claim_type="product", product={"name": "Tray"}), 400, "composition_required"),
        (_body(serial, "1", product=_product(("PP", t(1)))), 400, "product_not_allowed"),
        (_body(serial, "1", claim_type="product", product=_product(("PX", t(1)))), 400, "unknown_arc_type"),
        (_body(serial, "1", claim_type="other"), 400, "invalid_claim_type"),
        (_body(serial, "1", beneficiary="   "), 400, "beneficiary_required"),
        (_body(serial, "1", reporting_year=2025), 400, "invalid_reporting_year"),  # before generation
        (_body(serial, "1", reporting_year=2028), 400, "invalid_reporting_year"),  # after next year
        (_body(serial, "1", claim_date="2026-03-01"), 422, "claim_before_retirement"),  # R-R4
        (_body(serial, "10.001"), 422, "insufficient_quantity"),
        (_body(serial, "0"), 400, "must_be_positive"),
        (_body(serial, "1.0001"), 400, "too_many_decimals"),
        (_body(serial, "1", basis_mass=t(0)), 400, "must_be_positive"),
        (_body(serial, "1", colour="green"), 400, "invalid_input"),  # unknown field
        (_body("PC_P_PP_ARC-2026-9-000000000001-000000000002", "1"), 404, "block_not_found"),
    ]
    for body, status, code in cases:
        _refused(driver, engine, gen.token, body, status, code)
    assert_problem(driver.post("/retirements", _body(serial, "1")), 401, "missing_token")
    done = _retire(driver, gen.token, serial, "1", claim_date="2026-03-02", reporting_year=2027)
    assert (done["claim_date"], done["reporting_year"]) == ("2026-03-02", 2027)


def test_suspended_holder_cannot_retire(driver, engine):
    """R-P3 (RMS 8.7.3): a suspended participant's holdings are inactive."""
    gen = driver.generator()
    block = _holding(driver, gen)
    driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    _refused(driver, engine, gen.token, _body(block["serial"], "1"), 422, "participant_inactive")


def test_someone_elses_block_is_forbidden(driver, engine):
    gen = driver.generator("Acme")
    other = driver.generator("Other")
    block = _holding(driver, gen)
    _refused(driver, engine, other.token, _body(block["serial"], "1"), 403, "not_owner")


def test_public_list_filters_and_pages(driver):
    gen = driver.generator()
    pp = _holding(driver, gen)["serial"]
    pe = _holding(driver, gen, "PC_P3.1.5")["serial"]
    made = [_retire(driver, gen.token, pp, "1")["id"]]
    for beneficiary, year in [("Brand Co", 2027), ("Other Brand", 2026), ("brand co", 2026)]:
        done = _retire(driver, gen.token, pe, "1", beneficiary=beneficiary, reporting_year=year)
        made.append(done["id"])
        pe = done["remainder"]["serial"]  # the rest of the PE block stays active

    def ids(query):
        body = driver.get(f"/retirements?{query}").get_json()  # public: no token
        return [r["id"] for r in body["items"]], body["next_cursor"]

    assert ids("") == (made, None)
    assert ids("beneficiary=BRAND%20CO") == ([made[0], made[1], made[3]], None)
    assert ids("year=2026") == ([made[0], made[2], made[3]], None)
    assert ids("arc_type=PE") == (made[1:], None)
    assert ids("arc_type=PE&year=2026&beneficiary=Other%20Brand") == ([made[2]], None)
    page, cursor = ids("limit=3")
    assert page == made[:3] and cursor
    assert ids(f"limit=3&cursor={cursor}") == ([made[3]], None)
    assert ids("limit=4") == (made, None)  # a full last page has no next page
    item = driver.get("/retirements?limit=1").get_json()["items"][0]
    assert item["serial"].startswith("PC_P_PP_ARC-2026-") and item["first"] == "000000000001"
    assert_problem(driver.get("/retirements?cursor=bm90LWFuLWlk"), 400, "invalid_cursor")
    assert_problem(driver.get("/retirements?limit=501"), 400, "invalid_input")


def test_the_domain_checks_the_page_limit_itself(engine, clock):
    """The API's schema bounds `limit` before the domain sees it; a domain caller (a job, the
    CLI) gets the same bounds from list_retirements, by code, field and words (R-X2)."""
    with UnitOfWork(session_factory(engine), clock) as uow:
        for bad in (0, MAX_LIMIT + 1):
            with pytest.raises(InvalidInput) as info:
                list_retirements(uow, None, limit=bad)
            assert (info.value.code, info.value.field, info.value.detail) == (
                "out_of_range", "limit", f"limit is 1 to {MAX_LIMIT}")
        assert list_retirements(uow, None, limit=MAX_LIMIT).items == []
        assert list_retirements(uow, None, limit=1).items == []
        for cursor in (encode_cursor("not-an-id"), encode_cursor("\u00b2"), encode_cursor("-1")):  # "²".isdigit()
            with pytest.raises(InvalidInput) as info:
                list_retirements(uow, None, cursor=cursor)
            assert (info.value.code, info.value.field, info.value.detail) == (
                "invalid_cursor", "cursor", "not a cursor from this API")
        assert list_retirements(uow, None, cursor=encode_cursor("0")).items == []
        # The default page, for callers that do not ask: 100 records.
        assert inspect.signature(list_retirements).parameters["limit"].default == 100


@pytest.mark.parametrize("beneficiary", [None, "", "   "])
def test_the_domain_refuses_a_retirement_naming_no_beneficiary(driver, engine, clock, beneficiary):
    """R-R1: a domain caller (the workspace form, the demo) that gives no beneficiary at all is refused
    like the API's blank one, by code, field and words, and nothing is written (R-X2)."""
    gen = driver.generator()
    block = _holding(driver, gen)
    before = snapshot(engine)
    with UnitOfWork(session_factory(engine), clock) as uow:
        with pytest.raises(InvalidInput) as info:
            retire(uow, actor_of(authenticate(uow, gen.token)), serial=block["serial"], quantity=Decimal("1"),
                   beneficiary=beneficiary, claim_type="general", reporting_year=2026)
    assert (info.value.code, info.value.field, info.value.rule, info.value.detail) == (
        "beneficiary_required", "beneficiary", "R-R1", "a retirement names its beneficiary")
    assert snapshot(engine) == before


def test_public_record_carries_a_proof_that_verifies(driver, engine):
    """R-R2: a third party verifies the retirement offline with only the
    published verifier key."""
    gen = driver.generator()
    block = _holding(driver, gen, "PC_P3.1.5")
    done = _retire(driver, gen.token, block["serial"], "2.5", beneficiary="Brand Co", reporting_year=2026,
                   claim_date="2026-03-31", statement="Recycled PE in 2026 packaging", basis_mass=t(10))
    _holding(driver, gen)  # the log grows after the retirement

    response = driver.get(f"/retirements/{done['id']}")  # public: no token
    assert response.status_code == 200
    record = response.get_json()
    assert record["beneficiary"] == "Brand Co" and record["quantity"] == "2.500"
    assert record["arc_code"] == "PC_P_PE_ARC" and record["serial"] == done["block"]["serial"]
    assert (record["first"], record["last"]) == ("000000000001", "000000002500")
    assert record["generator_id"] == gen.id and record["lot_reference"] == block["lot_reference"]
    assert record["retired_on"] == "2026-03-02" and record["claim_date"] == "2026-03-31"
    assert record["statement"] == "Recycled PE in 2026 packaging" and record["claim_share"] == "0.2500"
    assert record["reporting_year"] == 2026 and record["claim_type"] == "general"

    proof = record["proof"]
    verifier = parse_vkey(driver.get("/log/key").get_json()["vkey"])
    checkpoint = open_checkpoint(proof["checkpoint"], [verifier])
    assert checkpoint.size == proof["size"] > proof["index"] == done["log"]["index"]
    assert proof["leaf_hash"] == done["log"]["leaf_hash"]
    merkle.verify_inclusion(bytes.fromhex(proof["leaf_hash"]), proof["index"], checkpoint.size,
                            [bytes.fromhex(h) for h in proof["hashes"]], checkpoint.root)
    # The leaf is the entry's canonical text, which names the claim.
    entry = driver.get(f"/log/entries?start={proof['index']}&end={proof['index'] + 1}").get_json()["entries"][0]
    assert merkle.leaf_hash(entry["canonical"].encode()).hex() == proof["leaf_hash"]
    assert entry["type"] == "block.retired" and entry["payload"]["beneficiary"] == "Brand Co"
    assert entry["payload"]["retired"]["serial"] == record["serial"]
    assert_problem(driver.get("/retirements/999"), 404, "retirement_not_found")


def test_idempotent_retry_retires_once(driver, engine):
    """R-T5: a retried POST with the same Idempotency-Key replays the first answer."""
    gen = driver.generator()
    block = _holding(driver, gen)
    headers = {"Authorization": f"Bearer {gen.token}", "Idempotency-Key": "retire-0001"}
    body = _body(block["serial"], "4")
    first = driver.client.post("/api/v1/retirements", json=body, headers=headers)
    assert first.status_code == 201
    before = snapshot(engine)
    again = driver.client.post("/api/v1/retirements", json=body, headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert snapshot(engine) == before
    assert len(driver.get("/retirements").get_json()["items"]) == 1
    other = driver.client.post("/api/v1/retirements", json=_body(block["serial"], "5"), headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")


def test_openapi_describes_retirements(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"post", "get"} <= set(spec["paths"]["/api/v1/retirements"])
    assert "get" in spec["paths"]["/api/v1/retirements/{retirement_id}"]
    schemas = spec["components"]["schemas"]
    fields = set(schemas["RetirementIn"]["properties"])
    assert {"serial", "beneficiary", "claim_type", "product", "basis_mass"} <= fields
    assert "proof" in schemas["RetirementRecord"]["properties"]


def _race(engine, clock, token, bodies) -> Counter:
    """Run one retirement per body at once, each in its own connection (R-T4)."""
    return race(engine, clock, token, [lambda uow, actor, body=body: retire(uow, actor, **body) for body in bodies])


def test_racing_retirements_of_one_block_retire_it_once(driver, engine, clock):
    gen = driver.generator()
    block = _holding(driver, gen)
    body = {**_body(block["serial"], "3"), "quantity": Decimal(3)}
    outcome = _race(engine, clock, gen.token, [body] * 6)
    # The winner splits the block; the others find it no longer active.
    assert outcome == Counter({"ok": 1, "block_not_active": 5})
    assert len(driver.get("/retirements").get_json()["items"]) == 1


def test_racing_product_claims_never_exceed_the_product_mass(driver, engine, clock):
    """R-R3 across blocks: the per-product check is serialised too."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, "PC_P3.1.5", t(12))
    driver.sell(gen.token, lot["id"], t(12))
    serials = [driver.generate(gen.token, lot["id"], mass=t(2))["serial"] for _ in range(6)]
    product = {"name": "Crate", "composition": [{"arc_type": "PE", "mass": Decimal(5000)}]}
    bodies = [{**_body(serial, "2"), "quantity": Decimal(2), "claim_type": "product", "product": product}
              for serial in serials]
    outcome = _race(engine, clock, gen.token, bodies)
    assert outcome == Counter({"ok": 2, "exceeds_product_mass": 4})  # 4 t of the 5 t of PE


def test_a_retirement_logs_every_claim_detail_it_was_given(driver, engine):
    """R-R1–R-R8: what the entry keeps of a product claim with every optional detail, and of a bare
    general claim (no key it was not given, so earlier entries keep their shape)."""
    gen = driver.generator()
    block = _holding(driver, gen, "PC_P3.1.5")
    done = _retire(driver, gen.token, block["serial"], "3", claim_type="product", product=_product(("PE", t(3))),
                   statement="  3 t in bottles  ", basis_mass=t(6), claim_date="2026-03-02",
                   location={"country": "US", "subdivision": "US-OH"},
                   period={"from": "2026-01-01", "to": "2026-12-31"}, claimed_status="PC", label_approval_ref="LBL-1")
    payload = _entry(engine, done["log"]["index"]).payload
    assert payload["claim"] == {
        "type": "product", "reporting_year": 2026, "claim_date": "2026-03-02", "statement": "3 t in bottles",
        "basis_kg": "6000.000", "claim_share": "0.5000",  # 3 t of ARCs on 6 t of product (RMS Example 8.3)
        "product": {"name": "Bottle 1L", "composition": [{"arc_type": "PE", "mass": {"value": "3000.000",
                                                                                     "unit": "kg"}}]},
        "claimed_status": "PC", "label_approval_ref": "LBL-1", "location": {"country": "US", "subdivision": "US-OH"},
        "period": {"from": "2026-01-01", "to": "2026-12-31"}}
    assert {k: v for k, v in payload.items() if k not in ("claim", "retired", "remainder")} == {
        "parent": block["serial"], "owner": gen.id, "quantity": "3.000", "beneficiary": "Brand Co",
        "retired_on": "2026-03-02", "prev": block["log"]}
    assert (payload["retired"]["serial"], payload["retired"]["quantity"]) == (done["block"]["serial"], "3.000")
    assert (payload["remainder"]["serial"], payload["remainder"]["quantity"]) == (done["remainder"]["serial"], "7.000")
    record = driver.get(f"/retirements/{done['id']}").get_json()
    assert (record["statement"], record["claim_share"], record["basis_mass"]) == (
        "3 t in bottles", "0.5000", {"value": "6000.000", "unit": "kg"})
    assert (record["claimed_status"], record["label_approval_ref"], record["location"], record["period"]) == (
        "PC", "LBL-1", {"country": "US", "subdivision": "US-OH"}, {"from": "2026-01-01", "to": "2026-12-31"})

    bare = _retire(driver, gen.token, done["remainder"]["serial"], "7", statement="   ")
    assert _entry(engine, bare["log"]["index"]).payload["claim"] == {
        "type": "general", "reporting_year": 2026, "claim_date": None, "statement": None, "basis_kg": None,
        "claim_share": None, "product": None}
    assert _entry(engine, bare["log"]["index"]).payload["remainder"] is None


@pytest.mark.parametrize(("overrides", "code", "field", "rule", "detail"), [
    ({"beneficiary": "   "}, "beneficiary_required", "beneficiary", "R-R1", "a retirement names its beneficiary"),
    ({"claim_type": "product"}, "composition_required", "product", "R-R3",
     "a product claim needs the product and its composition (RMS 8.9.1.3)"),
    ({"claim_type": "product", "product": {"name": "   ", "composition": [{"arc_type": "PP", "mass": t(1)}]}},
     "product_name_required", "product.name", "R-R3", "a product claim names the product"),
    ({"product": {"name": "Tray", "composition": [{"arc_type": "PP", "mass": t(1)}]}}, "product_not_allowed",
     "product", "R-R3", "a general claim names no product; use claim_type 'product'"),
    ({"reporting_year": 2025}, "invalid_reporting_year", "reporting_year", "R-R1",
     "reporting_year must be between the generation year 2026 and 2027, got 2025"),
    ({"reporting_year": 2028}, "invalid_reporting_year", "reporting_year", "R-R1",
     "reporting_year must be between the generation year 2026 and 2027, got 2028"),
])
def test_each_claim_refusal_names_its_field_rule_and_reason(driver, engine, overrides, code, field, rule, detail):
    gen = driver.generator()
    serial = _holding(driver, gen)["serial"]
    problem = _refused(driver, engine, gen.token, _body(serial, "1", **overrides), 400, code)
    assert (problem["detail"], problem["rule"], list(problem["errors"])) == (detail, rule, [field]), problem
