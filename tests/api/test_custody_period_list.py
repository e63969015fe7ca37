"""An account's closed periods as a list, JSON or CSV (R-M5, R-M8, R-N3; SPEC §13 "custody summaries"):
whoever reads the account reads them, in period order, each as ``GET …/periods/{n}`` answers it;
``ends_from`` keeps the periods ending on or after a day (an audit's 18 months, RMS 6.4.4.4)."""

from __future__ import annotations

import csv
import io

from api.exports import PERIOD_COLUMNS
from tests.api.driver import t
from tests.api.test_custody_generation import Reprocessor


def _closed_two(driver) -> Reprocessor:
    r = Reprocessor(driver)  # monthly periods from 2026-01-01; today is 2026-03-02
    r.receive("2026-01-10", t(100))
    r.receive("2026-02-10", t(40), reference="INV-2")
    for n in (1, 2):
        driver.ok(f"/custody/accounts/{r.account}/periods/{n}/close", None, r.g.token)
    return r


def test_the_list_holds_every_closed_period_as_its_own_read_answers_it(driver):
    r = _closed_two(driver)
    response = driver.get(f"/custody/accounts/{r.account}/periods", r.g.token)
    assert response.status_code == 200, response.get_data(as_text=True)
    items = response.get_json()["items"]
    assert [p["n"] for p in items] == [1, 2]
    for p in items:
        assert p == driver.get(f"/custody/accounts/{r.account}/periods/{p['n']}", r.g.token).get_json()
    assert (items[1]["opening_kg"], items[1]["certified_inputs_kg"]) == (items[0]["closing_kg"], "40000.000")


def test_ends_from_keeps_the_periods_ending_on_or_after_the_day(driver):
    r = _closed_two(driver)

    def numbers(day: str) -> list[int]:
        return [p["n"] for p in driver.get(f"/custody/accounts/{r.account}/periods?ends_from={day}",
                                           r.g.token).get_json()["items"]]

    assert numbers("2026-01-31") == [1, 2]  # period 1's last day
    assert numbers("2026-02-01") == [2]
    assert numbers("2026-03-01") == []


def test_the_csv_has_the_documented_columns_and_the_json_values(driver):
    r = _closed_two(driver)
    items = driver.get(f"/custody/accounts/{r.account}/periods", r.g.token).get_json()["items"]
    response = driver.client.get(f"/api/v1/custody/accounts/{r.account}/periods",
                                 headers={"Authorization": f"Bearer {r.g.token}", "Accept": "text/csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == PERIOD_COLUMNS
    assert len(rows) == 3
    for row, item in zip(rows[1:], items, strict=True):
        cells = dict(zip(PERIOD_COLUMNS, row, strict=True))
        assert cells["n"] == str(item["n"]) and cells["ends_on"] == item["ends_on"]
        assert cells["closing_kg"] == item["closing_kg"] and cells["log.index"] == str(item["log"]["index"])
        assert cells["average"] == ""  # mass balance has no average


def test_the_certifier_reads_them_and_nobody_else(driver):
    r = _closed_two(driver)
    assert driver.get(f"/custody/accounts/{r.account}/periods", r.g.certifier).status_code == 200
    assert driver.get(f"/custody/accounts/{r.account}/periods", driver.admin).status_code == 200
    stranger = driver.member(driver.participant("Brand Co", "DE")["id"])
    refused = driver.get(f"/custody/accounts/{r.account}/periods", stranger)
    assert refused.status_code == 404 and refused.get_json()["code"] == "custody_account_not_found"
    scs = driver.certifier("SCS")  # a body that does not certify the reprocessor (R-M8)
    assert driver.get(f"/custody/accounts/{r.account}/periods", scs).status_code == 404
    as_csv = driver.client.get(f"/api/v1/custody/accounts/{r.account}/periods",
                               headers={"Authorization": f"Bearer {stranger}", "Accept": "text/csv"})
    assert as_csv.status_code == 404  # refused before the CSV starts
    assert driver.get(f"/custody/accounts/{r.account}/periods").status_code == 401


def test_the_audit_window_is_the_previous_18_months():
    from datetime import date

    from registry.custody.rules import audit_window_start

    assert audit_window_start(date(2026, 12, 6)) == date(2025, 6, 6)
    assert audit_window_start(date(2026, 8, 31)) == date(2025, 2, 28)  # clamped to the month's length
    assert audit_window_start(date(2027, 7, 31)) == date(2026, 1, 31)
