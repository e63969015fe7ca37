"""The holder pages (R-W3): holdings and blocks, transfer (single, and a CSV upload with a
preview that writes nothing), the offers inbox, retire with a claim builder and a preview of
the public statement. Every write goes through the API's services; every refusal shows the
rule and what to change and changes nothing (R-W6). Both databases, the clock pinned."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.api.driver import snapshot
from tests.api.test_offers import block_of, patch
from tests.workspace.people import Browser, make_account


class World:
    """Great Lakes (a generator, 100 certificates), Northwind (a brand) and Cascade (a trader
    that reviews incoming transfers), each with a member who signs in with a password."""

    def __init__(self, app, driver, engine, clock):
        self.app, self.driver, self.engine, self.clock = app, driver, engine, clock
        self.gen = driver.generator("Great Lakes Reprocessing")
        self.block = block_of(driver, self.gen)  # 100 certificates
        self.serial = self.block["serial"]
        self.brand = driver.participant("Northwind Packaging")["id"]
        self.brand_token = driver.member(self.brand)
        self.trader = driver.participant("Cascade Trading")["id"]
        self.trader_token = driver.member(self.trader)
        assert patch(driver, self.trader, {"incoming_transfers": "review"}, self.trader_token).status_code == 200
        self.lakes = make_account(engine, clock, "ops@greatlakes.example", participant_id=self.gen.id)
        self.northwind = make_account(engine, clock, "ops@northwind.example", participant_id=self.brand)
        self.cascade = make_account(engine, clock, "ops@cascade.example", participant_id=self.trader)

    def browser(self, account) -> Browser:
        browser = Browser(self.app)
        assert browser.sign_in(account).status_code == 303
        return browser

    def state(self) -> dict:
        """Every table but the sessions' (each page touches its session)."""
        return {name: rows for name, rows in snapshot(self.engine).items() if name != "web_session"}

    def blocks(self, owner: int) -> list[tuple]:
        with self.engine.connect() as c:
            return [tuple(r) for r in c.execute(text(
                "SELECT serial, quantity, state FROM block WHERE owner_id = :o AND state != 'split' ORDER BY serial"),
                {"o": owner})]

    def offers(self) -> list[tuple]:
        with self.engine.connect() as c:
            return [tuple(r) for r in c.execute(text(
                "SELECT id, from_participant_id, to_participant_id, state FROM offer ORDER BY id"))]


@pytest.fixture
def world(app, driver, engine, clock):
    return World(app, driver, engine, clock)


def upload(browser: Browser, content: str):
    token = browser.token("/workspace/transfer")
    response = browser.client.post("/workspace/transfer/preview", data={
        "csrf_token": token, "csv_file": (io.BytesIO(content.encode()), "transfers.csv")},
        content_type="multipart/form-data")
    browser.last = response.get_data(as_text=True)
    return response


def csv_of(*lines: str) -> str:
    return "\n".join(["serial,quantity,to_participant_id", *lines]) + "\n"


# --- access ----------------------------------------------------------------------------------------


def test_the_pages_are_for_signed_in_members(world, app, engine, clock):
    anonymous = Browser(app)
    for path in ("/workspace/holdings", "/workspace/transfer", "/workspace/offers", "/workspace/retire"):
        response = anonymous.get(path)
        assert response.status_code == 303 and "/workspace/sign-in" in anonymous.where(response)
    admin = make_account(engine, clock, "second-admin@registry.test", "admin")
    browser = Browser(app)
    browser.sign_in(admin)
    assert browser.get("/workspace/holdings").status_code in (303, 403)


def test_home_links_the_holder_pages(world):
    browser = world.browser(world.lakes)
    browser.get("/workspace")
    for path in ("/workspace/holdings", "/workspace/transfer", "/workspace/offers", "/workspace/retire",
                 "/workspace/statement"):
        assert path in browser.last


def test_a_post_without_its_token_is_refused_and_changes_nothing(world):
    browser = world.browser(world.lakes)
    before = world.state()
    response = browser.post("/workspace/transfer", {"serial": world.serial, "quantity": "10",
                                                    "to_participant_id": world.brand}, token=False)
    assert response.status_code == 400
    assert world.state() == before


# --- holdings ----------------------------------------------------------------------------------------


def test_holdings_by_type_vintage_and_state_with_the_use_period_end(world):
    world.driver.ok("/transfers", {"serial": world.serial, "quantity": "30", "to_participant_id": world.brand},
                    world.gen.token)
    browser = world.browser(world.lakes)
    assert browser.get("/workspace/holdings").status_code == 200
    page = browser.last
    assert "By ARC type, vintage and state" in page and "2027-12-31" in page  # vintage 2026: use period to 2027
    assert "70" in page and "data-ends-soon" not in page
    assert "Nothing waits for you" in page
    # Filters: state, type, vintage.
    browser.get("/workspace/holdings?state=retired")
    assert "No blocks match the filters" in browser.last
    browser.get("/workspace/holdings?state=active&arc_type=PP&year=2026")
    assert "1 block matching the filters" in browser.last


def test_a_use_period_ending_within_30_days_is_highlighted_and_needs_attention(world, clock):
    clock.set(datetime(2027, 12, 10, 12, 0, tzinfo=UTC))
    browser = world.browser(world.lakes)
    browser.get("/workspace/holdings")
    assert "data-ends-soon" in browser.last and "ends in 21 days" in browser.last
    assert f'data-ending="{world.serial}"' in browser.last


def test_an_offer_waiting_for_the_participant_needs_attention(world):
    offer = world.driver.post("/transfers", {"serial": world.serial, "quantity": "10",
                                             "to_participant_id": world.trader}, world.gen.token)
    assert offer.status_code == 202
    browser = world.browser(world.cascade)
    browser.get("/workspace/holdings")
    assert f'data-offer="{offer.get_json()["offer"]["id"]}"' in browser.last
    assert "Great Lakes Reprocessing" in browser.last


def test_a_bad_cursor_is_refused_in_words(world):
    browser = world.browser(world.lakes)
    response = browser.get("/workspace/holdings?cursor=%25%25")
    assert response.status_code == 400 and "not a cursor" in browser.last


# --- single transfer ------------------------------------------------------------------------------------


def test_a_single_transfer_moves_the_certificates(world):
    browser = world.browser(world.lakes)
    response = browser.post("/workspace/transfer", {"serial": world.serial, "quantity": "25.5",
                                                    "to_participant_id": world.brand})
    assert response.status_code == 200, browser.last
    assert "Transfer done" in browser.last and "Northwind Packaging" in browser.last
    assert [(q, s) for _, q, s in world.blocks(world.brand)] == [(25500, "active")]  # stored in thousandths


def test_a_transfer_to_a_reviewing_recipient_says_it_is_an_offer(world):
    browser = world.browser(world.lakes)
    response = browser.post("/workspace/transfer", {"serial": world.serial, "quantity": "10",
                                                    "to_participant_id": world.trader})
    assert response.status_code == 200, browser.last
    assert "became an offer" in browser.last and "reviews incoming transfers" in browser.last
    assert [(f, to, s) for _, f, to, s in world.offers()] == [(world.gen.id, world.trader, "pending")]


@pytest.mark.parametrize(("quantity", "recipient", "status", "words"), [
    ("1000", "brand", 422, "Enter a quantity no larger than what the block holds."),
    ("1.2345", "brand", 400, "3 decimals"),
    ("10", "self", 422, "Choose another participant as the recipient."),
    ("10", "nobody", 404, "Check the participant"),
])
def test_a_refused_transfer_says_what_to_change_and_changes_nothing(world, quantity, recipient, status, words):
    to = {"brand": world.brand, "self": world.gen.id, "nobody": 999_999}[recipient]
    browser = world.browser(world.lakes)
    before = world.state()
    response = browser.post("/workspace/transfer", {"serial": world.serial, "quantity": quantity,
                                                    "to_participant_id": to})
    assert response.status_code == status, browser.last
    assert words in browser.last and 'class="field-error"' in browser.last
    assert world.state() == before


def test_someone_elses_block_is_refused(world):
    browser = world.browser(world.northwind)
    before = world.state()
    response = browser.post("/workspace/transfer", {"serial": world.serial, "quantity": "1",
                                                    "to_participant_id": world.trader})
    assert response.status_code == 403 and "Choose a block or item your participant holds." in browser.last
    assert world.state() == before


# --- bulk transfer from a CSV file --------------------------------------------------------------------------


def test_the_page_documents_the_csv_columns(world):
    browser = world.browser(world.lakes)
    browser.get("/workspace/transfer")
    assert "serial,quantity,to_participant_id" in browser.last


def test_a_csv_upload_is_previewed_then_confirmed_all_at_once(world):
    second = world.driver.post("/transfers", {"serial": world.serial, "quantity": "40",
                                              "to_participant_id": world.brand}, world.gen.token).get_json()
    kept = second["remainder"]["serial"]  # 60 with Great Lakes
    moved = world.driver.post("/transfers", {"serial": second["moved"]["serial"], "quantity": "40",
                                             "to_participant_id": world.gen.id}, world.brand_token).get_json()
    browser = world.browser(world.lakes)
    before = world.state()
    response = upload(browser, csv_of(f"{kept},20,{world.brand}", f"{moved['moved']['serial']},15.5,{world.trader}"))
    assert response.status_code == 200, browser.last
    assert "Every line can be transferred" in browser.last and "of which 1 becomes an offer" in browser.last
    assert world.state() == before  # the preview writes nothing
    confirm = browser.post("/workspace/transfer/bulk", {
        "line": ["2", "3"], "serial": [kept, moved["moved"]["serial"]], "quantity": ["20", "15.5"],
        "to_participant_id": [str(world.brand), str(world.trader)]}, from_page="/workspace/transfer")
    assert confirm.status_code == 200, browser.last
    assert "2 transfers done" in browser.last and "became an offer" in browser.last
    assert [s for _, _, _, s in world.offers()] == ["pending"]


def test_the_preview_names_every_bad_line_and_writes_nothing(world):
    browser = world.browser(world.lakes)
    before = world.state()
    response = upload(browser, csv_of(
        f"{world.serial},10,{world.brand}",          # line 2: fine alone
        f"{world.serial},5,{world.trader}",          # line 3: the same block again
        "PC_P_PP_ARC-2026-9-000000000001-000000000010,1,3",  # line 4: no such block
        f"{world.serial}x,abc,{world.brand}",        # line 5: not a quantity
        f"{world.serial}y,1,Northwind",              # line 6: not an id
    ))
    assert response.status_code == 200  # the preview reports; nothing was attempted
    page = browser.last
    assert "4 of 5 lines cannot be transferred; nothing was written" in page
    for line in (2, 3, 4, 5, 6):
        assert f'data-line="{line}"' in page
    assert "Name each block once" in page and "Check the serial" in page
    assert "a whole number" in page and "data-confirm" not in page
    assert world.state() == before


def test_a_file_with_the_wrong_header_is_refused(world):
    browser = world.browser(world.lakes)
    response = upload(browser, "block,qty,to\nX,1,2\n")
    assert response.status_code == 400 and "The first line must name the columns" in browser.last


def test_confirming_items_that_no_longer_hold_transfers_none(world):
    browser = world.browser(world.lakes)
    assert upload(browser, csv_of(f"{world.serial},60,{world.brand}")).status_code == 200
    world.driver.ok("/transfers", {"serial": world.serial, "quantity": "50", "to_participant_id": world.brand},
                    world.gen.token)  # meanwhile, 50 left: the confirmed 60 no longer fit
    remainder = [s for s, _, state in world.blocks(world.gen.id) if state == "active"]
    before = world.state()
    response = browser.post("/workspace/transfer/bulk", {"line": ["2", "3"], "serial": [remainder[0], world.serial],
                                                         "quantity": ["60", "1"],
                                                         "to_participant_id": [str(world.brand)] * 2},
                            from_page="/workspace/transfer")
    assert response.status_code in (409, 422), browser.last
    assert "Nothing was transferred. Line 2:" in browser.last
    assert world.state() == before


# --- offers ------------------------------------------------------------------------------------------


def _offer(world, quantity="10") -> int:
    response = world.driver.post("/transfers", {"serial": world.serial, "quantity": quantity,
                                                "to_participant_id": world.trader}, world.gen.token)
    assert response.status_code == 202
    return response.get_json()["offer"]["id"]


def test_the_recipient_accepts_an_offer(world):
    offer = _offer(world)
    browser = world.browser(world.cascade)
    browser.get("/workspace/offers")
    assert f'data-offer="{offer}"' in browser.last and "Great Lakes Reprocessing" in browser.last
    response = browser.post(f"/workspace/offers/{offer}/accept", from_page="/workspace/offers")
    assert response.status_code == 303
    browser.get(browser.where(response))
    assert f"Offer #{offer} accepted" in browser.last
    assert world.offers()[0][3] == "accepted" and world.blocks(world.trader)[0][2] == "active"


def test_the_recipient_rejects_and_the_sender_withdraws(world):
    first = _offer(world, "10")
    remainder = [s for s, _, state in world.blocks(world.gen.id) if state == "active"][0]
    second = world.driver.post("/transfers", {"serial": remainder, "quantity": "5", "to_participant_id": world.trader},
                               world.gen.token).get_json()["offer"]["id"]
    cascade, lakes = world.browser(world.cascade), world.browser(world.lakes)
    assert cascade.post(f"/workspace/offers/{first}/reject", from_page="/workspace/offers").status_code == 303
    lakes.get("/workspace/offers")
    assert f'data-offer="{second}"' in lakes.last and "Withdraw" in lakes.last
    assert lakes.post(f"/workspace/offers/{second}/withdraw", from_page="/workspace/offers").status_code == 303
    assert [s for *_, s in world.offers()] == ["rejected", "withdrawn"]


def test_a_refused_answer_says_why_and_changes_nothing(world):
    offer = _offer(world)
    lakes, cascade = world.browser(world.lakes), world.browser(world.cascade)
    before = world.state()
    response = lakes.post(f"/workspace/offers/{offer}/accept", from_page="/workspace/offers")  # the sender
    assert response.status_code == 403 and "may accept or reject it" in lakes.last
    assert world.state() == before
    cascade.post(f"/workspace/offers/{offer}/accept", from_page="/workspace/offers")
    before = world.state()
    response = cascade.post(f"/workspace/offers/{offer}/reject", from_page="/workspace/offers")
    assert response.status_code == 409 and "reload the offers page" in cascade.last.lower()
    assert world.state() == before


# --- retire ------------------------------------------------------------------------------------------

GENERAL = {"quantity": "10", "beneficiary": "Great Lakes Reprocessing", "claim_type": "general",
           "reporting_year": "2026", "country": "US", "subdivision": "US-OH", "period_from": "2026-01-01",
           "period_to": "2026-12-31", "statement": "Our own words about recycling."}


def test_the_retire_preview_shows_the_public_statement_and_writes_nothing(world):
    browser = world.browser(world.lakes)
    before = world.state()
    response = browser.post("/workspace/retire", {"serial": world.serial, **GENERAL, "step": "preview"})
    assert response.status_code == 200, browser.last
    page = browser.last
    assert "10 PC PP ARCs retired for Great Lakes Reprocessing, reporting year 2026" in page
    assert "they are not a measure of the recycled content" in page
    assert "Our own words about recycling." in page and "US (US-OH)" in page and "data-confirm" in page
    assert world.state() == before


def test_retiring_after_the_preview_links_the_statement(world):
    browser = world.browser(world.lakes)
    response = browser.post("/workspace/retire", {"serial": world.serial, **GENERAL, "step": "retire"})
    assert response.status_code == 303, browser.last
    browser.get(browser.where(response))
    with world.engine.connect() as c:
        rid, claim_type = c.execute(text("SELECT id, claim_type FROM retirement")).one()
    assert f"/retirements/{rid}" in browser.last and f"/api/v1/retirements/{rid}" in browser.last
    assert claim_type == "general"


def test_a_product_claim_with_its_composition(world):
    browser = world.browser(world.lakes)
    claim = {**GENERAL, "claim_type": "product", "product_name": "Yoghurt tray", "comp_type_0": "PP",
             "comp_mass_0": "40", "basis_mass": "40", "claimed_status": "PC", "serial": world.serial}
    response = browser.post("/workspace/retire", {**claim, "step": "preview"})
    assert response.status_code == 200, browser.last
    assert "equivalent to 25% of 40 t of Yoghurt tray" in browser.last
    assert browser.post("/workspace/retire", {**claim, "step": "retire"}).status_code == 303
    with world.engine.connect() as c:
        assert c.execute(text("SELECT claim_type, claimed_status FROM retirement")).one() == ("product", "PC")


@pytest.mark.parametrize(("change", "status", "words"), [
    ({"claim_type": "product"}, 400, "Name the product the claim is about."),
    ({"claim_type": "product", "product_name": "Tray"}, 400, "composition for a product claim"),
    ({"reporting_year": "2020"}, 400, "Choose a reporting year"),
    ({"quantity": "500"}, 422, "Enter a quantity no larger than what the block holds."),
    ({"subdivision": "CA-ON"}, 400, "not in US"),
    ({"period_to": "2025-12-31"}, 422, "ends (2025-12-31) before it starts"),
    ({"product_name": "Tray"}, 400, "leave the product fields empty"),
])
def test_a_refused_claim_says_what_to_change_and_writes_nothing(world, change, status, words):
    browser = world.browser(world.lakes)
    before = world.state()
    for step in ("preview", "retire"):
        response = browser.post("/workspace/retire", {"serial": world.serial, **GENERAL, **change, "step": step})
        assert response.status_code == status, browser.last
        assert words in browser.last
        assert "data-confirm" not in browser.last
    assert world.state() == before


# --- account statement ---------------------------------------------------------------------------------


def test_the_account_statement_for_a_period(world):
    world.driver.ok("/transfers", {"serial": world.serial, "quantity": "30", "to_participant_id": world.brand},
                    world.gen.token)
    browser = world.browser(world.lakes)
    assert browser.get("/workspace/statement").status_code == 200
    assert 'value="2026-01-01"' in browser.last
    response = browser.get("/workspace/statement?start=2026-01-01&end=2026-03-02")
    assert response.status_code == 200
    assert "Great Lakes Reprocessing: 2026-01-01 to 2026-03-02" in browser.last and "transfer out" in browser.last


def test_a_reversed_statement_period_is_refused_in_words(world):
    browser = world.browser(world.lakes)
    response = browser.get("/workspace/statement?start=2026-03-02&end=2026-01-01")
    assert response.status_code == 400
    assert "the last on or after the first" in browser.last and 'class="field-error"' in browser.last


def test_custody_credit_about_to_expire_needs_attention(app, driver, engine, clock):
    """R-M4, R-W3: credit that expires within 30 days unless drawn is listed, with its account;
    credit further off is not."""
    from tests.api.custody_driver import book
    from tests.api.driver import t

    b = book(driver)
    account = b.open(starts_on="2025-03-01")["id"]
    b.receive(account, "2025-03-10", t(5), "RMS 100% PC MB")  # expires 2026-03-10
    member = make_account(engine, clock, "ops@converter.example", participant_id=b.participant)

    def holdings_on(day: int) -> str:
        clock.set(datetime(2026, 2, day, 12, 0, tzinfo=UTC))
        browser = Browser(app)
        assert browser.sign_in(member).status_code == 303
        browser.get("/workspace/holdings")
        return browser.last

    page = holdings_on(7)  # 31 days before: not yet
    assert f'data-credit="{account}"' not in page and "no custody credit about to expire" in page
    page = holdings_on(8)
    assert f'data-credit="{account}"' in page and "5.000 t of credit expires by 2026-03-10" in page


def test_holdings_chart_by_type_and_vintage_marks_the_use_period_end(world, clock):
    """R-W3: a bar per ARC type and vintage, and its use period's end, marked within 30 days."""
    browser = world.browser(world.lakes)
    browser.get("/workspace/holdings")
    assert "data-holdings-chart" in browser.last and "use period ends 2027-12-31" in browser.last
    assert "data-chart-ends-soon" not in browser.last
    clock.set(datetime(2027, 12, 10, 12, 0, tzinfo=UTC))
    browser = world.browser(world.lakes)
    browser.get("/workspace/holdings")
    assert "data-chart-ends-soon" in browser.last and "<strong>in 21 days</strong>" in browser.last


def test_holdings_and_blocks_download_as_csv_and_excel(world):
    """R-N3: on the web, the member's lists as CSV (the API's columns and cells) and as a workbook."""
    import csv as csvlib
    import io as iolib

    from openpyxl import load_workbook

    from api import exports

    browser = world.browser(world.lakes)
    browser.get("/workspace/holdings")
    assert "/workspace/downloads/blocks.xlsx" in browser.last
    response = browser.client.get("/workspace/downloads/blocks.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csvlib.reader(iolib.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == exports.BLOCK_COLUMNS and [r[0] for r in rows[1:]] == [world.serial]
    response = browser.client.get("/workspace/downloads/blocks.xlsx")
    assert response.status_code == 200 and response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(iolib.BytesIO(response.data)).active
    values = list(sheet.values)
    assert values[0] == exports.BLOCK_COLUMNS
    (row,) = values[1:]
    cells = dict(zip(exports.BLOCK_COLUMNS, row, strict=True))
    assert cells["serial"] == world.serial and cells["quantity"] == 100 and cells["generation_year"] == 2026
    assert cells["state"] == "active" and cells["first"] == rows[1][exports.BLOCK_COLUMNS.index("first")]
    response = browser.client.get("/workspace/downloads/holdings.xlsx")
    holdings_rows = list(load_workbook(iolib.BytesIO(response.data)).active.values)
    assert holdings_rows == [exports.HOLDING_COLUMNS, ("PP", 2026, "active", 100, 1)]
    # Another participant's member downloads its own lists only.
    other = world.browser(world.northwind)
    body = other.client.get("/workspace/downloads/blocks.csv").get_data(as_text=True)
    assert world.serial not in body
