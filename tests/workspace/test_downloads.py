"""The workspace's downloads of retirements and of the account statement (R-N3, R-N4, R-W3):
CSV with the API's columns and cells, and an Excel workbook with the same columns, numbers as
numbers, a formula-looking text neutralised, only the member's own rows. Both databases, the
clock pinned (tests/conftest.py: 2026-03-02)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from api import exports
from api.statements import STATEMENT_COLUMNS
from tests.workspace.test_holder_pages import World

FORMULA = '=HYPERLINK("http://evil.example","click")'
PERIOD = "start=2026-01-01&end=2026-12-31"


@pytest.fixture
def world(app, driver, engine, clock):
    """Great Lakes retires 10 with a formula-looking statement; Northwind, given 30, retires 5."""
    w = World(app, driver, engine, clock)
    driver.ok("/transfers", {"serial": w.serial, "quantity": "30", "to_participant_id": w.brand}, w.gen.token)
    active = lambda owner, token: driver.get(f"/blocks?owner={owner}&state=active", token).get_json()["items"]  # noqa: E731
    w.lakes_retirement = driver.ok("/retirements", {
        "serial": active(w.gen.id, w.gen.token)[0]["serial"], "quantity": "10", "beneficiary": "Great Lakes Reprocessing", "claim_type": "general",
        "reporting_year": 2026, "statement": FORMULA}, w.gen.token)
    w.brand_retirement = driver.ok("/retirements", {
        "serial": active(w.brand, w.brand_token)[0]["serial"], "quantity": "5", "beneficiary": "Northwind Packaging",
        "claim_type": "general", "reporting_year": 2026}, w.brand_token)
    return w


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _sheet(response):
    assert response.status_code == 200 and response.headers["Content-Disposition"].endswith('.xlsx"')
    return load_workbook(io.BytesIO(response.data)).active


def test_the_retire_page_links_the_retirements_downloads(world):
    browser = world.browser(world.lakes)
    browser.get("/workspace/retire")
    assert "/workspace/downloads/retirements.csv" in browser.last
    assert "/workspace/downloads/retirements.xlsx" in browser.last


def test_retirements_as_csv_are_the_apis_rows_of_the_member_only(world):
    """The public list's CSV (GET /retirements, Accept: text/csv), only the member's own rows."""
    api_rows = _csv(world.driver.client.get("/api/v1/retirements", headers={"Accept": "text/csv"}))
    mine = _csv(world.browser(world.lakes).client.get("/workspace/downloads/retirements.csv"))
    assert tuple(mine[0]) == exports.RETIREMENT_COLUMNS == tuple(api_rows[0])
    assert mine[1:] == [row for row in api_rows[1:] if row[0] == str(world.lakes_retirement["id"])]
    theirs = _csv(world.browser(world.northwind).client.get("/workspace/downloads/retirements.csv"))
    assert [row[0] for row in theirs[1:]] == [str(world.brand_retirement["id"])]


def test_retirements_as_a_workbook(world):
    sheet = _sheet(world.browser(world.lakes).client.get("/workspace/downloads/retirements.xlsx"))
    values = list(sheet.values)
    assert values[0] == exports.RETIREMENT_COLUMNS
    (row,) = values[1:]  # Northwind's retirement is not in it
    cells = dict(zip(exports.RETIREMENT_COLUMNS, row, strict=True))
    assert cells["id"] == world.lakes_retirement["id"] and cells["owner_id"] == world.gen.id
    assert cells["quantity"] == 10 and cells["generation_year"] == 2026 and cells["reporting_year"] == 2026
    assert cells["log.index"] == world.lakes_retirement["log"]["index"]
    assert cells["first"] == world.lakes_retirement["first"]  # a 12-digit serial unit stays text
    # The formula-looking statement is text with the CSV's "'" prefix: a spreadsheet shows it, never runs it.
    statement = sheet.cell(row=2, column=exports.RETIREMENT_COLUMNS.index("statement") + 1)
    assert statement.data_type == "s" and statement.value == "'" + FORMULA


def test_the_statement_page_offers_its_downloads(world):
    browser = world.browser(world.lakes)
    browser.get("/workspace/statement")
    assert 'formaction="/workspace/downloads/statement.csv"' in browser.last
    assert 'formaction="/workspace/downloads/statement.xlsx"' in browser.last
    browser.get(f"/workspace/statement?{PERIOD}")
    assert f"/workspace/downloads/statement.xlsx?{PERIOD}".replace("&", "&amp;") in browser.last


def test_the_statement_as_csv_is_the_apis_statement(world):
    """R-N4: the same rows as GET /participants/{id}/statement with Accept: text/csv."""
    api = world.driver.client.get(f"/api/v1/participants/{world.gen.id}/statement?from=2026-01-01&to=2026-12-31",
                                  headers={"Accept": "text/csv", "Authorization": f"Bearer {world.gen.token}"})
    response = world.browser(world.lakes).client.get(f"/workspace/downloads/statement.csv?{PERIOD}")
    assert 'filename="statement-' in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert tuple(rows[0]) == STATEMENT_COLUMNS and rows == _csv(api)
    assert [r[STATEMENT_COLUMNS.index("kind")] for r in rows if r[0] == "movement"] == [
        "generated", "transfer_out", "retired"]


def test_the_statement_as_a_workbook(world):
    sheet = _sheet(world.browser(world.lakes).client.get(f"/workspace/downloads/statement.xlsx?{PERIOD}"))
    values = list(sheet.values)
    assert values[0] == STATEMENT_COLUMNS
    rows = [dict(zip(STATEMENT_COLUMNS, row, strict=True)) for row in values[1:]]
    movements = [r for r in rows if r["record"] == "movement"]
    assert [(m["kind"], m["quantity"], m["balance"]) for m in movements] == [
        ("generated", 100, 100), ("transfer_out", 30, 70), ("retired", 10, 60)]
    assert all(isinstance(m["log_index"], int) and m["vintage"] == 2026 for m in movements)
    assert movements[1]["counterparty_id"] == world.brand
    assert [(r["record"], r["quantity"]) for r in rows if r["record"] != "movement"] == [("closing", 60)]
    # Northwind's statement has its own movements, none of Great Lakes' (its generation, its retirement).
    sheet = _sheet(world.browser(world.northwind).client.get(f"/workspace/downloads/statement.xlsx?{PERIOD}"))
    kinds = [row[STATEMENT_COLUMNS.index("kind")] for row in list(sheet.values)[1:] if row[0] == "movement"]
    assert kinds == ["transfer_in", "retired"]


@pytest.mark.parametrize(("query", "words"), [
    ("start=2026-03-02&end=2026-01-01", "the last on or after the first"),
    ("start=2026-01-01", "This field is required"),
])
def test_a_refused_statement_period_shows_the_form_in_words(world, query, words):
    browser = world.browser(world.lakes)
    for fmt in ("csv", "xlsx"):
        response = browser.get(f"/workspace/downloads/statement.{fmt}?{query}")
        assert response.status_code == 400 and response.mimetype == "text/html"
        assert words in browser.last and 'class="field-error"' in browser.last
