"""SPEC §15: the chain-of-custody worked examples (RMS Examples 6.2, 6.4–6.8
and the R-M4 expiry case) through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from registry.custody.rules import add_months
from tests.api.custody_driver import book
from tests.api.driver import t
from tests.api.test_errors_and_health import assert_problem


def _created(response) -> dict:
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_example_6_2_batch_average(driver):
    """7 t certified + 3 t virgin, 10% uniform loss: 9 t of product at 70%."""
    b = book(driver)
    account = b.open("average-content-batch")["id"]
    b.receive(account, "2025-06-02", t(7), "RMS 100% PC AC")
    b.receive(account, "2025-06-02", t(3), certified=False)
    assert b.balance(account, "2025-06-03")["batch_average"] == "0.700"
    assert_problem(b.output(account, "2025-06-03", t(9), "RMS 71% AC"), 422, "claim_exceeds_average")
    out = _created(b.output(account, "2025-06-03", t(9), "RMS 70% AC"))
    assert out["claimed_kg"] == {"PC": "0.000", "PI": "0.000", "R": "6300.000"}
    # The batch is 10 t of input; 9 t are out, so 2 more are not.
    assert_problem(b.output(account, "2025-06-04", t(2)), 422, "batch_exceeded")


# Example 6.4: (certified, virgin) tons per monthly period.
TABLE_6_4 = [(110, 900), (120, 900), (130, 900), (140, 900), (150, 900), (160, 900), (170, 900), (170, 880),
             (170, 880), (170, 870), (170, 850), (160, 850), (150, 840), (150, 850), (140, 860)]
ROLLING_6_4 = ["0.109", "0.113", "0.118", "0.122", "0.126", "0.130", "0.139", "0.146", "0.152", "0.157", "0.161",
               "0.162", "0.161", "0.159", "0.155"]



def _fed_table_6_4(b, account: int, start: date):
    """Each period of Table 6.4 in turn, its certified and virgin input received: (period, day)."""
    for period, (certified, virgin) in enumerate(TABLE_6_4, start=1):
        day = add_months(start, period - 1).isoformat()
        b.receive(account, day, t(certified), "RMS 100% PC AC")
        b.receive(account, day, t(virgin), certified=False)
        yield period, day

def test_example_6_4_rolling_average_every_period(driver):
    """A 6-month rolling average: a 15% claim is refused in periods 1–8 and accepted in 9–15."""
    b = book(driver)
    start = date(2024, 10, 1)
    account = b.open("average-content-rolling", starts_on=start.isoformat(), window_periods=6)["id"]
    for period, day in _fed_table_6_4(b, account, start):
        assert b.balance(account, day)["rolling_average"] == ROLLING_6_4[period - 1], period
        answer = b.output(account, day, t(100), "RMS 15% AC")
        if period <= 8:
            assert_problem(answer, 422, "claim_exceeds_average")
        else:
            assert _created(answer)["claimed_kg"]["R"] == "15000.000", period


@pytest.mark.parametrize(("sites", "claim", "site_index", "accepted"), [
    # Example 6.5: 350/1000, 300/1000, 250/500 -> 36% for the product group, from every site.
    ([(350, 1000), (300, 1000), (250, 500)], "RMS 36% AC", 0, True),
    ([(350, 1000), (300, 1000), (250, 500)], "RMS 36% AC", 1, True),
    ([(350, 1000), (300, 1000), (250, 500)], "RMS 37% AC", 2, False),
    # Example 6.6: 400/1000, 350/1000, 25/500 -> 31%; site 3 (5% < 20% of 31%) does not contribute.
    ([(400, 1000), (350, 1000), (25, 500)], "RMS 31% AC", 0, True),
    ([(400, 1000), (350, 1000), (25, 500)], "RMS 31% AC", 2, False),
    ([(400, 1000), (350, 1000), (25, 500)], "RMS 5% AC", 2, True),
], ids=["6.5-site1", "6.5-site2", "6.5-above", "6.6-site1", "6.6-site3-refused", "6.6-site3-own"])
def test_examples_6_5_and_6_6_multi_site(driver, sites, claim, site_index, accepted):
    b = book(driver, sites=3)
    account = b.open("average-content-rolling", facilities=b.facilities, period_months=12)["id"]
    for facility, (certified, total) in zip(b.facilities, sites, strict=True):
        b.receive(account, "2025-01-02", t(certified), "RMS 100% PC AC", facility_id=facility)
        b.receive(account, "2025-01-02", t(total - certified), certified=False, facility_id=facility)
    answer = b.output(account, "2025-01-03", t(10), claim, facility_id=b.facilities[site_index])
    if accepted:
        _created(answer)
    else:
        assert_problem(answer, 422, "claim_exceeds_average")


def test_example_6_7_mass_balance(driver):
    """10 t of product with 30% certified content: 3 t sold at 100%, 7 t without a claim; a 4th claimed tonne is refused."""
    b = book(driver)
    account = b.open()["id"]
    b.receive(account, "2025-06-02", t(3), "RMS 100% PC MB")
    b.receive(account, "2025-06-02", t(7), certified=False)
    _created(b.output(account, "2025-06-03", t(3), "RMS 100% PC MB"))
    _created(b.output(account, "2025-06-03", t(7)))
    assert_problem(b.output(account, "2025-06-04", t(1), "RMS 100% PC MB"), 422, "insufficient_credit")
    assert b.balance(account, "2025-06-04")["credit_kg"] == {"PC": "0.000", "PI": "0.000", "R": "0.000"}


@pytest.mark.parametrize("option", ["all-at-25", "quarter-at-100"])
def test_example_6_8_single_site_mass_balance(driver, option):
    """25% of 12 months' film from a certified supplier: all film at 25%, or 25% of it at 100%; more is refused."""
    b = book(driver)
    account = b.open(period_months=12)["id"]
    for month in range(1, 13):
        day = f"2025-{month:02d}-05"
        b.receive(account, day, t(25), "RMS 100% PC MB")
        b.receive(account, day, t(75), certified=False)
    if option == "all-at-25":
        _created(b.output(account, "2025-12-20", t(1200), "RMS 25% PC MB"))
    else:
        _created(b.output(account, "2025-12-20", t(300), "RMS 100% PC MB"))
    assert_problem(b.output(account, "2025-12-21", t(1), "RMS 1% PC MB"), 422, "insufficient_credit")


def test_r_m4_credit_expires_after_twelve_months(driver):
    """A certified input received 2024-03-10, unused, expires on 2025-03-10; a claim on it after that is refused."""
    b = book(driver)
    account = b.open()["id"]
    receipt = b.receive(account, "2024-03-10", t(5), "RMS 100% PC MB")
    assert receipt["credit_expires_on"] == "2025-03-10"
    before = b.balance(account, "2025-03-09")
    assert before["credit_kg"]["PC"] == "5000.000"
    assert before["expiring"] == [{"on": "2025-03-10", "kg": "5000.000"}]
    assert b.balance(account, "2025-03-10")["credit_kg"]["PC"] == "0.000"
    assert_problem(b.output(account, "2025-03-10", t(1), "RMS 100% PC MB"), 422, "insufficient_credit")
    # The day before, the same claim draws on the credit, first in, first out.
    _created(b.output(account, "2025-03-09", t(1), "RMS 100% PC MB"))
    after = b.balance(account, "2025-03-09")
    assert after["credit_kg"]["PC"] == "4000.000"
    # The expiry itself is a logged event, written before the next event on the account.
    _created(b.output(account, "2025-03-11", t(1)))
    entries = driver.get("/log/entries?start=0&end=100").get_json()["entries"]
    expired = [e for e in entries if e["type"] == "custody.credit_expired"]
    assert [e["payload"]["expired_kg"]["PC"] for e in expired] == ["4000.000"]


def test_the_examples_replay_and_verify_cleanly(driver, engine, db_url, tmp_path):
    """R-M3, R-M5, R-L7b: the worked examples' books (batch, rolling average single- and multi-site,
    segregation), their periods closed: replay re-derives every period row, batch and summary from
    the log and finds nothing to report — the live rules and the replayed ones are the same functions."""
    from tests.api.test_participant_details import verify

    b = book(driver, sites=3)
    batch = b.open("average-content-batch", starts_on="2025-01-01", period_months=12)["id"]
    b.receive(batch, "2025-06-02", t(7), "RMS 100% PC AC")
    b.receive(batch, "2025-06-02", t(3), certified=False)
    _created(b.output(batch, "2025-06-03", t(9), "RMS 70% AC"))
    b.receive(batch, "2025-06-05", t(1), "RMS 100% PC AC")  # a new batch: 100%
    _created(b.output(batch, "2025-06-06", t(1), "RMS 100% AC"))

    start = date(2024, 10, 1)
    rolling = b.open("average-content-rolling", starts_on=start.isoformat(), window_periods=6)["id"]
    for _, day in _fed_table_6_4(b, rolling, start):
        b.output(rolling, day, t(100), "RMS 15% AC")  # refused in periods 1-8

    sites = b.open("average-content-rolling", facilities=b.facilities, starts_on="2025-01-01", period_months=12)["id"]
    for facility, (certified, total) in zip(b.facilities, [(400, 1000), (350, 1000), (25, 500)], strict=True):
        b.receive(sites, "2025-01-02", t(certified), "RMS 100% PC AC", facility_id=facility)
        b.receive(sites, "2025-01-02", t(total - certified), certified=False, facility_id=facility)
    _created(b.output(sites, "2025-01-03", t(10), "RMS 31% AC", facility_id=b.facilities[0]))
    _created(b.output(sites, "2025-01-03", t(10), "RMS 5% AC", facility_id=b.facilities[2]))

    segregation = b.open("segregation", starts_on="2025-01-01", period_months=12)["id"]
    b.receive(segregation, "2025-03-02", t(1), "RMS 50% PC AC")
    b.receive(segregation, "2025-03-02", t(1), "RMS 100% PC AC")
    _created(b.output(segregation, "2025-03-03", t(1), "RMS 50% PC AC"))
    _created(b.output(segregation, "2025-03-04", t("0.5"), "RMS 100% PC AC"))

    for account, periods in ((batch, 1), (rolling, 15), (sites, 1), (segregation, 1)):
        for n in range(1, periods + 1):
            driver.ok(f"/custody/accounts/{account}/periods/{n}/close", None, b.token)
    report = verify(driver, engine, db_url, tmp_path)
    assert report.ok and not report.findings, report.failure()
