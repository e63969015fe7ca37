"""The generator's pages (R-W2, R-W6) through a browser's requests, on SQLite and PostgreSQL:
facilities and determinations, lots with dispositions, registering a lot, the generate form's
preview of what a lot can back and why — the same figures generation then accepts — and
custody accounts with period closing. Every write is the API's service; every refusal shows
the rule and what to change, and changes nothing."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import text

from sqlmodel import select

from registry.custody.models import CustodyOutput
from registry.db import session_factory
from registry.models import Block
from tests.api.driver import snapshot, t
from tests.api.test_custody_generation import Reprocessor
from tests.workspace.people import make_account

LOT = {
    "facility_id": None, "reference": "LOT-W-1", "material_code": "PC_P3.1.9", "mass_value": "1000",
    "mass_unit": "t", "non_plastic_fraction": "0.01", "lhv_mj_per_kg": "", "processed_on": "2026-02-01",
    "rms_certificate": None, "custody_account_id": "", "input_material_code": "PC_P5.1.6",
    "input_mass_value": "1200", "input_mass_unit": "t", "transformation": "physical",
    "description": "sort, wash, extrude", "factor": "83.333", "justification": "measured yield",
    "output_mass_value": "1000", "output_mass_unit": "t", "evidence_sha256": "", "evidence_description": "",
}


@pytest.fixture
def generator(driver):
    return driver.generator("Great Lakes Test")


@pytest.fixture
def member(engine, clock, generator):
    return make_account(engine, clock, "ops@lakes.example", participant_id=generator.id)


@pytest.fixture
def signed_in(browser, member):
    assert browser.sign_in(member).status_code == 303
    return browser


def _lot_body(generator, **changes) -> dict:
    return {**LOT, "facility_id": str(generator.facility_id), "rms_certificate": generator.certificate, **changes}


def _refused_unchanged(engine, before, response, status, *words):
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    for word in words:
        assert word in html, word
    assert snapshot(engine) == before


def _lot_id(engine, reference: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT id FROM lot WHERE reference = :r"), {"r": reference}).scalar_one()


def test_the_facilities_page_shows_sites_and_determinations(signed_in, generator):
    page = signed_in.get("/workspace/facilities")
    assert page.status_code == 200
    html = signed_in.last
    assert "Plant 1" in html and "20000000.000" in html  # capacity, kg per year
    assert "new operation" in html and "additional" in html and "2026" in html


def test_home_links_the_generator_pages(signed_in):
    signed_in.get("/workspace")
    for path in ("/workspace/facilities", "/workspace/lots", "/workspace/custody"):
        assert f'href="{path}"' in signed_in.last


def test_register_sell_preview_and_generate_the_previewed_amount(signed_in, generator, engine):
    response = signed_in.post("/workspace/lots/new", _lot_body(generator))
    assert response.status_code == 303, signed_in.last[:3000]
    lot_id = _lot_id(engine, "LOT-W-1")
    assert signed_in.where(response).endswith(f"/workspace/lots/{lot_id}?notice=registered")
    page = f"/workspace/lots/{lot_id}"
    signed_in.get(page)
    assert "nothing to generate now" in signed_in.last  # nothing sold yet (R-B3)
    response = signed_in.post(f"{page}/dispositions", {
        "sale-kind": "sale", "sale-on": "2026-02-15", "sale-counterparty": "Molder Inc", "sale-mass_value": "400",
        "sale-mass_unit": "t", "sale-claim": "RMS 50% PC MB"}, from_page=page)
    assert response.status_code == 303, signed_in.last[:3000]
    signed_in.get(page)
    html = signed_in.last
    # 400 t sold, 200 t claimed: 200 t can back ARCs; 0.99 / 0.98 caps at the dry mass (R-K5): 200 certificates
    assert "up to <strong>200000.000 kg</strong> of base mass, <strong>200.000 certificates</strong>" in html
    assert "400000.000 kg sold or consumed, 200000.000 kg carried as RMS claims" in html
    assert "eligible volume for 2026" in html
    assert 'value="200000.000"' in html  # the form is filled in with the preview
    response = signed_in.post(f"{page}/generate", {"gen-mass_value": "200000.000", "gen-mass_unit": "kg"},
                              from_page=page)
    assert response.status_code == 303, signed_in.last[:3000]
    with session_factory(engine)() as session:
        block = session.exec(select(Block).where(Block.lot_id == lot_id)).one()
        assert (block.base_kg, block.quantity) == (Decimal("200000.000"), Decimal("200.000"))
    signed_in.get(signed_in.where(response))
    assert "Generated block PC_P_PP_ARC-2026-" in signed_in.last
    signed_in.get("/workspace/lots")
    assert "LOT-W-1" in signed_in.last and "Molder Inc" in signed_in.last


def test_the_preview_names_the_additionality_ceiling_when_it_binds(signed_in, generator, driver, engine):
    lot = driver.lot(generator.token, generator.facility_id, generator.certificate, mass=t(1000))
    driver.sell(generator.token, lot["id"], t(1000))
    # a newer determination for the year: 99.99% into a mandate leaves 2 t of 20 000 t (R-A4, R-A7)
    driver.determination(generator.certifier, generator.facility_id, mandate_share="0.9999")
    page = f"/workspace/lots/{lot['id']}"
    signed_in.get(page)
    html = signed_in.last
    assert "up to <strong>2000.000 kg</strong>" in html
    assert re.search(r'class="binding">\s*<th scope="row">Additionality: eligible volume', html)
    before = snapshot(engine)
    response = signed_in.post(f"{page}/generate", {"gen-mass_value": "2001", "gen-mass_unit": "kg"}, from_page=page)
    _refused_unchanged(engine, before, response, 422, "2000.000 kg of eligible volume left", "(R-A9)")
    assert signed_in.post(f"{page}/generate", {"gen-mass_value": "2000", "gen-mass_unit": "kg"},
                          from_page=page).status_code == 303


@pytest.mark.parametrize("changes, status, words", [
    ({"input_mass_value": "10"}, 422, ["conversion", "(R-B7)"]),
    ({"mass_value": "abc"}, 400, ["mass"]),
    ({"material_code": "PC_P9.9.9"}, 400, ["PC_P9.9.9"]),
    ({"processed_on": "2026-04-01"}, 400, ["processed_on is in the future"]),
    ({"evidence_sha256": "not-a-digest", "evidence_description": "report"}, 400, ["SHA-256"]),
])
def test_a_refused_lot_shows_why_and_registers_nothing(signed_in, generator, engine, changes, status, words):
    signed_in.get("/workspace/lots/new")
    before = snapshot(engine)
    response = signed_in.post("/workspace/lots/new", _lot_body(generator, **changes))
    _refused_unchanged(engine, before, response, status, *words)
    assert 'aria-invalid="true"' in response.get_data(as_text=True) or 'class="notice error"' in \
        response.get_data(as_text=True)


def test_a_refused_disposition_or_generation_changes_nothing(signed_in, generator, driver, engine):
    lot = driver.lot(generator.token, generator.facility_id, generator.certificate, mass=t(10))
    page = f"/workspace/lots/{lot['id']}"
    before = snapshot(engine)
    response = signed_in.post(f"{page}/dispositions", {
        "sale-kind": "sale", "sale-on": "2026-02-15", "sale-counterparty": "Molder Inc", "sale-mass_value": "11",
        "sale-mass_unit": "t"}, from_page=page)
    _refused_unchanged(engine, before, response, 422, "only 10000.000 kg of the lot are left", "(R-B3)")
    response = signed_in.post(f"{page}/generate", {"gen-mass_value": "1", "gen-mass_unit": "t"}, from_page=page)
    _refused_unchanged(engine, before, response, 422, "(R-B4)", "sold mass left")
    response = signed_in.post(f"{page}/dispositions", {
        "sale-kind": "sale", "sale-on": "2026-02-15", "sale-counterparty": "", "sale-mass_value": "1",
        "sale-mass_unit": "t"}, from_page=page)
    _refused_unchanged(engine, before, response, 400, "counterparty")


def test_another_participants_lot_is_not_found_and_cannot_be_generated(browser, engine, clock, driver, generator):
    lot = driver.lot(generator.token, generator.facility_id, generator.certificate, mass=t(10))
    driver.sell(generator.token, lot["id"], t(10))
    brand = driver.participant("Northwind Packaging")
    account = make_account(engine, clock, "ops@northwind.example", participant_id=brand["id"])
    browser.sign_in(account)
    assert browser.get(f"/workspace/lots/{lot['id']}").status_code == 404
    before = snapshot(engine)
    response = browser.post(f"/workspace/lots/{lot['id']}/generate", {"gen-mass_value": "1", "gen-mass_unit": "t"},
                            from_page="/workspace/lots")
    _refused_unchanged(engine, before, response, 404)
    browser.get("/workspace/lots")
    assert "No lot yet" in browser.last


def test_a_page_without_its_token_is_refused(signed_in, generator, engine):
    before = snapshot(engine)
    response = signed_in.post("/workspace/lots/new", _lot_body(generator), token=False)
    _refused_unchanged(engine, before, response, 400)


def test_custody_accounts_show_credit_and_close_a_period(browser, engine, clock, driver):
    r = Reprocessor(driver)
    r.receive("2026-01-10", t(100))
    account = make_account(engine, clock, "ops@reprocessor.example", participant_id=r.g.id)
    browser.sign_in(account)
    browser.get("/workspace/custody")
    html = browser.last
    assert "PP resin, mass-balance" in html and "INV-1" in html and "Sorter A" in html
    assert "PC 100000.000 kg" in html  # credit today (R-M4)
    response = browser.post(f"/workspace/custody/{r.account}/periods/1/close", {}, from_page="/workspace/custody")
    assert response.status_code == 303
    browser.get(browser.where(response))
    assert "Period 1 is closed" in browser.last and "2026-01-01 to 2026-01-31" in browser.last
    before = snapshot(engine)
    # period 3 (March) has not ended on 2026-03-02; period 2 must close first anyway
    response = browser.post(f"/workspace/custody/{r.account}/periods/3/close", {}, from_page="/workspace/custody")
    _refused_unchanged(engine, before, response, 422, "period 2 closes first", "(R-M5)")
    response = browser.post(f"/workspace/custody/{r.account}/periods/1/close", {}, from_page="/workspace/custody")
    _refused_unchanged(engine, before, response, 409, "period 1 is already closed")


def test_a_custody_lot_previews_its_credit(browser, engine, clock, driver):
    r = Reprocessor(driver)
    r.receive("2026-01-10", t(100))
    body = r.lot_body(custody_account_id=r.account, mass=t(1000))
    body["conversion"]["outputs"][0]["mass"] = t(1000)
    lot = driver.ok("/lots", body, r.g.token)
    driver.sell(r.g.token, lot["id"], t(500))
    account = make_account(engine, clock, "ops@reprocessor.example", participant_id=r.g.id)
    browser.sign_in(account)
    browser.get(f"/workspace/lots/{lot['id']}")
    html = browser.last
    assert "up to <strong>100000.000 kg</strong>" in html
    assert re.search(r'class="binding">\s*<th scope="row">Custody credit', html)


def test_a_certifier_or_administrator_is_refused_the_generator_pages(browser, engine, clock):
    account = make_account(engine, clock, "staff@registry.test", "admin", with_totp=True)
    browser.sign_in(account)
    browser.give_code(account.code(clock.now()))
    for path in ("/workspace/facilities", "/workspace/lots", "/workspace/lots/new", "/workspace/custody"):
        assert browser.get(path).status_code == 403, path


def test_a_split_lot_previews_each_component_and_generates_the_one_chosen(signed_in, generator, driver, engine):
    lot = driver.lot(generator.token, generator.facility_id, generator.certificate, "PI_P3.1.5", t(10),
                     pc_mass=t(6), pi_mass=t(4))
    driver.sell(generator.token, lot["id"], t(10))
    page = f"/workspace/lots/{lot['id']}"
    signed_in.get(page)
    html = signed_in.last
    assert "PC component: up to <strong>6000.000 kg</strong>" in html
    assert "PI component: up to <strong>4000.000 kg</strong>" in html
    assert 'id="gen-component"' in html
    response = signed_in.post(f"{page}/generate", {"gen-component": "PI", "gen-mass_value": "4", "gen-mass_unit": "t"},
                              from_page=page)
    assert response.status_code == 303, signed_in.last[:3000]
    with session_factory(engine)() as session:
        block = session.exec(select(Block).where(Block.lot_id == lot["id"])).one()
        assert (block.recycled_status, block.base_kg) == ("PI", Decimal("4000.000"))
    signed_in.get(page)
    assert "PI component: nothing to generate now" in signed_in.last
    assert "PC component: up to <strong>6000.000 kg</strong>" in signed_in.last


def test_the_preview_shows_nothing_while_the_certificate_is_suspended(signed_in, generator, driver):
    lot = driver.lot(generator.token, generator.facility_id, generator.certificate, mass=t(10))
    driver.sell(generator.token, lot["id"], t(10))
    driver.ok(f"/rms-certificates/{generator.certificate}/suspend", {"on": "2026-03-01", "reason": "audit finding"},
              generator.certifier, status=200)
    signed_in.get(f"/workspace/lots/{lot['id']}")
    html = signed_in.last
    assert "nothing to generate now" in html
    assert re.search(r'class="binding">\s*<th scope="row">Certification and standing', html)
    assert "holds no RMS certificate valid today that covers reprocessing (R-P2)" in html


# --- custody inputs and outputs (R-M2–R-M5, R-W2) ----------------------------------------------

def _custody_member(browser, engine, clock, r):
    browser.sign_in(make_account(engine, clock, "ops@reprocessor.example", participant_id=r.g.id))
    return browser


def _receipt(r, **changes) -> dict:
    a = r.account
    return {f"in{a}-{k}": v for k, v in {
        "on": "2026-01-10", "supplier_name": "Sorter A", "supplier_certificate": r.sorter_certificate,
        "reference": "INV-9", "material_code": "PC_P3.1.9", "mass_value": "100", "mass_unit": "t",
        "claim": "RMS 100% PC MB", **changes}.items()}


def _output(r, **changes) -> dict:
    a = r.account
    return {f"out{a}-{k}": v for k, v in {
        "on": "2026-02-01", "customer": "Molder Inc", "reference": "SO-1", "material_code": "PC_P3.1.9",
        "mass_value": "80", "mass_unit": "t", "claim": "RMS 50% PC MB", **changes}.items()}


def test_recording_a_receipt_then_an_output_moves_the_credit(browser, engine, clock, driver):
    r = Reprocessor(driver)
    _custody_member(browser, engine, clock, r)
    browser.get("/workspace/custody")
    assert f'id="in{r.account}-supplier_certificate"' in browser.last and f'id="out{r.account}-customer"' in browser.last
    response = browser.post(f"/workspace/custody/{r.account}/inputs", _receipt(r), from_page="/workspace/custody")
    assert response.status_code == 303, browser.last[:3000]
    assert browser.where(response).endswith(f"/workspace/custody?recorded=input#account-{r.account}")
    assert r.balance()["credit_kg"]["PC"] == "100000.000"  # the API reads what the page recorded
    browser.get(browser.where(response))
    assert "The input is recorded" in browser.last and "INV-9" in browser.last and "PC 100000.000 kg" in browser.last
    # 80 t leaving with a 50% PC claim draws 40 t of PC credit (R-M3, R-M4)
    response = browser.post(f"/workspace/custody/{r.account}/outputs", _output(r), from_page="/workspace/custody")
    assert response.status_code == 303, browser.last[:3000]
    assert r.balance()["credit_kg"]["PC"] == "60000.000"
    browser.get(browser.where(response))
    html = browser.last
    assert "The output is recorded" in html and "SO-1" in html and "Molder Inc" in html and "PC 60000.000 kg" in html
    with session_factory(engine)() as session:
        output = session.exec(select(CustodyOutput)).one()
        assert (output.mass_kg, output.claim, output.claimed_pc_kg) == (Decimal("80000"), "RMS 50% PC MB",
                                                                         Decimal("40000"))


@pytest.mark.parametrize("path, body, status, words", [
    # R-M4: a claim beyond the credit, never an overdraft
    ("outputs", lambda r: _output(r, mass_value="300", claim="RMS 50% PC MB"), 422,
     ["the account has 100000.000 kg", "(R-M4)", "Record certified input first"]),
    # R-M2: one supplier document is received once registry-wide
    ("inputs", lambda r: _receipt(r, reference="INV-1", on="2026-01-11"), 409,
     ["has already been received", "(R-M2)", "already received: check the reference"]),
    # R-M5: events are dated within the account
    ("inputs", lambda r: _receipt(r, on="2025-12-31"), 422, ["the account starts on 2026-01-01", "(R-M5)",
                                                             "on or after the account&#39;s start"]),
    ("inputs", lambda r: _receipt(r, supplier_certificate=""), 400,
     ["cites its supplier", "(R-M2)", "leave the claim empty for uncertified input"]),
    ("outputs", lambda r: _output(r, claim="RMS 50% PC AC"), 422, ["(R-M3)", "only ever downgraded"]),
    ("outputs", lambda r: _output(r, claim="RMS lots PC"), 400, ["Write the claim as on the invoice"]),
    ("outputs", lambda r: _output(r, mass_value="abc"), 400, ['aria-invalid="true"']),
    ("inputs", lambda r: _receipt(r, supplier_name=""), 400, ["Missing data for required field"]),
])
def test_a_refused_custody_event_shows_why_and_records_nothing(browser, engine, clock, driver, path, body, status,
                                                               words):
    r = Reprocessor(driver)
    r.receive("2026-01-10", t(100))
    _custody_member(browser, engine, clock, r)
    before = snapshot(engine)
    response = browser.post(f"/workspace/custody/{r.account}/{path}", body(r), from_page="/workspace/custody")
    _refused_unchanged(engine, before, response, status, *words)
    assert "<details open>" in browser.last  # the refused form is shown open, filled in as sent


def test_a_supplier_certificate_not_valid_on_the_receipt_date_is_explained(browser, engine, clock, driver):
    r = Reprocessor(driver)
    driver.ok(f"/rms-certificates/{r.sorter_certificate}/suspend", {"on": "2026-01-05", "reason": "audit finding"},
              r.g.certifier, status=200)
    _custody_member(browser, engine, clock, r)
    before = snapshot(engine)
    response = browser.post(f"/workspace/custody/{r.account}/inputs", _receipt(r), from_page="/workspace/custody")
    _refused_unchanged(engine, before, response, 422, "was not valid on 2026-01-10", "(R-C3)",
                       "the supplier&#39;s certificate must be valid that day")


def test_a_custody_form_without_its_token_records_nothing(browser, engine, clock, driver):
    r = Reprocessor(driver)
    _custody_member(browser, engine, clock, r)
    before = snapshot(engine)
    for path, body in (("inputs", _receipt(r)), ("outputs", _output(r))):
        response = browser.post(f"/workspace/custody/{r.account}/{path}", body, token=False)
        _refused_unchanged(engine, before, response, 400)


def test_another_participants_account_records_nothing(browser, engine, clock, driver, generator):
    r = Reprocessor(driver)
    browser.sign_in(make_account(engine, clock, "ops@lakes.example", participant_id=generator.id))
    before = snapshot(engine)
    response = browser.post(f"/workspace/custody/{r.account}/inputs", _receipt(r), from_page="/workspace/custody")
    _refused_unchanged(engine, before, response, 404, f"no custody account {r.account}")
    assert browser.get(f"/workspace/custody/{r.account}/inputs").status_code == 404


def test_long_custody_lists_page_back_to_the_first_event(browser, engine, clock, driver, monkeypatch):
    from api.workspace import custody as pages
    monkeypatch.setattr(pages, "LIMIT", 2)
    r = Reprocessor(driver)
    for day, ref in (("2026-01-10", "INV-1"), ("2026-01-11", "INV-2"), ("2026-01-12", "INV-3")):
        r.receive(day, t(1), reference=ref)
    _custody_member(browser, engine, clock, r)
    browser.get("/workspace/custody")
    html = browser.last
    assert "INV-3" in html and "INV-2" in html and "INV-1" not in html
    older = re.search(r'href="(/workspace/custody/\d+/inputs\?before=\d+)">Older inputs', html).group(1)
    browser.get(older.replace("&amp;", "&"))
    assert "INV-1" in browser.last and "INV-2" not in browser.last and "Older inputs</a>" not in browser.last


# --- the lot form's production line, split and receipt citations (R-B2, R-M6, R-W2) -------------

def _lot(engine, reference: str):
    from registry.models import Lot
    with session_factory(engine)() as session:
        return session.exec(select(Lot).where(Lot.reference == reference)).one()


def test_a_lot_on_a_production_line(signed_in, generator, driver, engine):
    line = driver.ok(f"/facilities/{generator.facility_id}/lines", {"name": "Extruder 2", "capacity": t(5000)},
                     generator.token)
    signed_in.get("/workspace/lots/new")
    assert f'<option value="{line["id"]}">Plant 1: Extruder 2</option>' in signed_in.last
    response = signed_in.post("/workspace/lots/new", _lot_body(generator, line_id=str(line["id"])))
    assert response.status_code == 303, signed_in.last[:3000]
    assert _lot(engine, "LOT-W-1").line_id == line["id"]
    before = snapshot(engine)
    response = signed_in.post("/workspace/lots/new", _lot_body(generator, reference="LOT-W-2", line_id="987654"))
    _refused_unchanged(engine, before, response, 404, "has no line 987654", "Choose a production line of the lot")


def test_a_split_lot_documents_both_parts(signed_in, generator, engine):
    split = {"material_code": "PI_P3.1.5", "pc_mass_value": "600", "pi_mass_value": "400"}
    before = snapshot(engine)
    response = signed_in.post("/workspace/lots/new", _lot_body(generator, **{**split, "pi_mass_value": "300"}))
    _refused_unchanged(engine, before, response, 400, "must equal the lot mass", "(R-B2)",
                       "add up to the lot&#39;s mass")
    response = signed_in.post("/workspace/lots/new", _lot_body(generator, **{**split, "pi_mass_value": ""}))
    _refused_unchanged(engine, before, response, 400, "(R-B2)", "or neither")
    response = signed_in.post("/workspace/lots/new", _lot_body(generator, **split))
    assert response.status_code == 303, signed_in.last[:3000]
    lot = _lot(engine, "LOT-W-1")
    assert (lot.mass_kg, lot.pc_kg) == (Decimal("1000000"), Decimal("600000"))


def test_a_custody_lot_cites_its_accounts_receipts(browser, engine, clock, driver):
    r = Reprocessor(driver)
    receipt = r.receive("2026-01-10", t(100))
    r.receive("2026-01-11", t(50), reference="INV-2")
    _custody_member(browser, engine, clock, r)
    browser.get("/workspace/lots/new?rows=5")
    html = browser.last
    assert 'id="receipts-4-receipt_id"' in html and 'id="receipts-5-receipt_id"' not in html
    assert f'<option value="{receipt["id"]}">account {r.account}: INV-1 from Sorter A, received 2026-01-10' in html
    body = {**_lot_body(r.g, custody_account_id=str(r.account)), "receipts-0-receipt_id": str(receipt["id"]),
            "receipts-0-mass_value": "80", "receipts-0-mass_unit": "t", "receipts-1-receipt_id": "",
            "receipts-1-mass_value": "", "receipts-1-mass_unit": "t"}
    before = snapshot(engine)
    response = browser.post("/workspace/lots/new", {**body, "receipts-0-mass_value": "101"},
                            from_page="/workspace/lots/new")
    _refused_unchanged(engine, before, response, 422, "the lot cites 101000.000 kg of it", "(R-M6)",
                       "Cite no more of a receipt than it received")
    response = browser.post("/workspace/lots/new", {**body, "receipts-1-receipt_id": str(receipt["id"])},
                            from_page="/workspace/lots/new")
    _refused_unchanged(engine, before, response, 400, "is cited twice", "Cite each receipt once")
    response = browser.post("/workspace/lots/new", {**body, "receipts-0-mass_value": "eighty"},
                            from_page="/workspace/lots/new")
    _refused_unchanged(engine, before, response, 400, "got &#39;eighty&#39;")
    assert re.search(r'id="receipts-0-mass_value"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="receipts-0-mass_value"',
                     browser.last)  # on the row it concerns
    response = browser.post("/workspace/lots/new", body, from_page="/workspace/lots/new")
    assert response.status_code == 303, browser.last[:3000]
    lot = _lot(engine, "LOT-W-1")
    assert lot.custody_account_id == r.account
    [cited] = lot.inputs
    assert (cited["receipt"], cited["mass_kg"], cited["log"]["index"]) == (receipt["id"], "80000.000",
                                                                            receipt["log"]["index"])
