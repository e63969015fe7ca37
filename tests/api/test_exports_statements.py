"""Exports (R-N3) and account statements (R-N4) through the HTTP API, on
SQLite and PostgreSQL: every participant list as CSV with its documented
columns (the JSON's field names, nested ones dotted), all pages, the same
access rules; a statement per period with opening holdings, every movement
with its log index and closing holdings by ARC type and vintage, as JSON,
CSV and a printable page, adding up."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from api import exports, statements as statement_api
from tests.api.conftest import NOW
from tests.api.driver import t
from tests.api.test_errors_and_health import assert_problem
from tests.api.test_retirements import _holding, _retire
from tests.pages.htmlcheck import text_of

CSV = {"Accept": "text/csv"}


def _get(driver, path, token=None, headers=None):
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return driver.client.get(f"/api/v1{path}", headers={**auth, **(headers or {})})


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    rows = list(reader)
    return reader.fieldnames, rows


@pytest.fixture
def trading(driver, clock):
    """A generator with three blocks (10 t each: 2 PP), a trader it sold to, a retirement."""
    gen = driver.generator()
    trader = driver.participant("Trader Ltd", "GB")
    trader_token = driver.member(trader["id"])
    blocks = [_holding(driver, gen) for _ in range(3)]
    moved = driver.ok("/transfers", {"serial": blocks[0]["serial"], "quantity": "4",
                                     "to_participant_id": trader["id"]}, gen.token)
    clock.set(NOW + timedelta(days=3))
    retired = _retire(driver, trader_token, moved["moved"]["serial"], "1.5", beneficiary="=HYPERLINK(\"x\")",
                      location={"country": "GB", "subdivision": "GB-LND"}, period={"from": "2026-01-01",
                                                                                  "to": "2026-06-30"})
    return gen, trader, trader_token, blocks, moved, retired


def test_blocks_as_csv_have_the_documented_columns_and_every_page(driver, trading):
    gen, trader, trader_token, blocks, moved, retired = trading
    header, rows = _csv(_get(driver, f"/blocks?owner={gen.id}&limit=1", gen.token, CSV))
    assert tuple(header) == exports.BLOCK_COLUMNS
    json_items = _get(driver, f"/blocks?owner={gen.id}&limit=500", gen.token).get_json()["items"]
    assert len(rows) == len(json_items) == 3  # limit does not apply: every page
    for row, item in zip(rows, json_items, strict=True):  # every cell is the JSON's value
        assert row == {column: exports.cell(exports._dig(item, column)) for column in exports.BLOCK_COLUMNS}
        assert row["log.index"] == str(item["log"]["index"]) and row["disputed"] == "false"
    _, active = _csv(_get(driver, f"/blocks?owner={gen.id}&state=active", gen.token, CSV))
    assert [r["quantity"] for r in active] == ["6.000", "10.000", "10.000"]
    # Access is the list's: someone else's blocks are refused as problem+json, not an empty CSV.
    assert_problem(_get(driver, f"/blocks?owner={gen.id}", trader_token, CSV), 403, "not_owner")
    assert_problem(_get(driver, "/blocks", None, CSV), 401, "missing_token")


def test_retirements_and_holdings_as_csv(driver, trading):
    gen, trader, trader_token, blocks, moved, retired = trading
    header, rows = _csv(_get(driver, "/retirements", None, CSV))
    assert tuple(header) == exports.RETIREMENT_COLUMNS
    [row] = rows
    [item] = _get(driver, "/retirements").get_json()["items"]
    assert row == {column: exports.cell(exports._dig(item, column)) for column in exports.RETIREMENT_COLUMNS}
    assert (row["id"], row["quantity"], row["location.country"], row["location.subdivision"]) == (
        str(retired["id"]), "1.500", "GB", "GB-LND")
    assert (row["period.from"], row["period.to"], row["log.index"]) == ("2026-01-01", "2026-06-30",
                                                                        str(retired["log"]["index"]))
    assert row["beneficiary"] == "'=HYPERLINK(\"x\")"  # never a formula in a spreadsheet
    assert row["headline"] == retired["headline"].replace("=", "'=", 1) or row["headline"] == retired["headline"]
    header, rows = _csv(_get(driver, f"/participants/{trader['id']}/holdings", trader_token, CSV))
    assert tuple(header) == exports.HOLDING_COLUMNS
    assert {(r["state"], r["quantity"]) for r in rows} == {("active", "2.500"), ("retired", "1.500")}
    assert_problem(_get(driver, f"/participants/{trader['id']}/holdings", gen.token, CSV), 404,
                   "participant_not_found")


def _statement(driver, participant, token, start, end, headers=None):
    return _get(driver, f"/participants/{participant}/statement?from={start}&to={end}", token, headers)


def test_a_statement_has_opening_movements_with_log_index_and_closing(driver, trading, engine):
    gen, trader, trader_token, blocks, moved, retired = trading
    # Until 2026-03-02: everything generated and the transfer; the retirement is on 2026-03-05.
    before = _statement(driver, gen.id, gen.token, "2026-03-01", "2026-03-02").get_json()
    assert before["opening"] == []
    kinds = [(m["kind"], m["quantity"], m["counterparty_id"]) for m in before["movements"]]
    assert kinds == [("generated", "10.000", None)] * 3 + [("transfer_out", "4.000", trader["id"])]
    assert before["movements"][-1]["log_index"] == moved["log"]["index"]
    assert before["closing"] == [{"arc_type": "PP", "vintage": 2026, "quantity": "26.000"}]
    assert before["lines"] == [{"arc_type": "PP", "vintage": 2026, "opening": "0.000", "in": "30.000",
                                "out": "4.000", "closing": "26.000"}]
    # The trader's next period opens with what the last one closed with.
    first = _statement(driver, trader["id"], trader_token, "2026-03-02", "2026-03-02").get_json()
    second = _statement(driver, trader["id"], trader_token, "2026-03-03", "2026-03-31").get_json()
    assert first["closing"] == second["opening"] == [{"arc_type": "PP", "vintage": 2026, "quantity": "4.000"}]
    [m] = second["movements"]
    assert (m["kind"], m["quantity"], m["balance"], m["log_index"]) == ("retired", "1.500", "2.500",
                                                                        retired["log"]["index"])
    assert second["closing"] == [{"arc_type": "PP", "vintage": 2026, "quantity": "2.500"}]


def test_a_statement_as_csv_and_as_a_printable_page(driver, client, trading):
    gen, trader, trader_token, blocks, moved, retired = trading
    header, rows = _csv(_statement(driver, trader["id"], trader_token, "2026-03-03", "2026-03-31", CSV))
    assert tuple(header) == statement_api.STATEMENT_COLUMNS
    assert [(r["record"], r["kind"], r["quantity"], r["balance"], r["log_index"]) for r in rows] == [
        ("opening", "", "4.000", "4.000", ""),
        ("movement", "retired", "1.500", "2.500", str(retired["log"]["index"])),
        ("closing", "", "2.500", "2.500", "")]
    page = _statement(driver, trader["id"], trader_token, "2026-03-03", "2026-03-31", {"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = text_of(page.get_data(as_text=True))
    assert "Trader Ltd: 2026-03-03 to 2026-03-31" in text
    assert "PP 2026 4.000 0.000 1.500 2.500" in text
    assert f"#{retired['log']['index']}" in text and "retired" in text


@pytest.mark.parametrize("query,status,code", [
    ("from=2026-03-31&to=2026-03-01", 400, "invalid_period"),
    ("from=2026-03-01", 400, "invalid_input"),
    ("from=yesterday&to=2026-03-01", 400, "invalid_input"),
])
def test_bad_statement_periods_are_refused(driver, trading, query, status, code):
    gen = trading[0]
    response = _get(driver, f"/participants/{gen.id}/statement?{query}", gen.token)
    assert_problem(response, status, code)


def test_statements_are_private(driver, trading):
    gen, trader, trader_token = trading[:3]
    for headers in (None, CSV, {"Accept": "text/html"}):
        assert_problem(_statement(driver, gen.id, trader_token, "2026-01-01", "2026-12-31", headers), 404,
                       "participant_not_found")
        assert_problem(_statement(driver, gen.id, None, "2026-01-01", "2026-12-31", headers), 401, "missing_token")
    assert _statement(driver, gen.id, driver.admin, "2026-01-01", "2026-12-31").status_code == 200


def test_statement_closing_is_the_holdings(driver, trading):
    """The statement read from the log and the holdings read from the blocks table agree."""
    gen, trader, trader_token = trading[:3]
    for participant, token in ((gen.id, gen.token), (trader["id"], trader_token)):
        closing = _statement(driver, participant, token, "2020-01-01", "2026-12-31").get_json()["closing"]
        holdings = _get(driver, f"/participants/{participant}/holdings", token).get_json()["lines"]
        active = [{"arc_type": h["arc_type"], "vintage": h["generation_year"], "quantity": h["quantity"]}
                  for h in holdings if h["state"] == "active"]
        assert closing == active
        assert sum(Decimal(c["quantity"]) for c in closing) > 0
