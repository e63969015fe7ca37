"""On behalf of (R-R6) and amendments (R-R7) through the HTTP API, on SQLite
and PostgreSQL: a reseller retires for its customer with the claim's
location and period; within 30 days it amends the claim details (each
amendment one ``retirement.amended`` entry, the statement shows the
history); after that it may still add a missing claim date; the retired
quantity never changes; replay re-checks the 30-day rule and R-R4/R-R8 on
the amended values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from registry import amendments
from tests.api.conftest import NOW
from tests.api.driver import snapshot
from tests.api.test_errors_and_health import assert_problem
from tests.api.test_participant_details import log_entries as _entries
from tests.api.test_participant_details import verify as _verify
from tests.api.test_retirements import _holding, _retire
from tests.pages.htmlcheck import text_of

BAVARIA = {"country": "DE", "subdivision": "DE-BY"}
YEAR_2026 = {"from": "2026-01-01", "to": "2026-12-31"}


def _amend(driver, token, retirement_id, body, status=201):
    response = driver.post(f"/retirements/{retirement_id}/amendments", body, token)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _refused_amendment(driver, engine, token, retirement_id, body, status, code) -> dict:
    before = snapshot(engine)
    problem = assert_problem(driver.post(f"/retirements/{retirement_id}/amendments", body, token), status, code)
    assert snapshot(engine) == before  # R-X2: nothing written
    return problem


@pytest.fixture
def retired(driver):
    """A reseller's retirement for a customer that is not a participant (R-R6), on NOW (2026-03-02)."""
    gen = driver.generator()
    block = _holding(driver, gen)
    done = _retire(driver, gen.token, block["serial"], "4", beneficiary="Corner Shop GmbH",
                   location=BAVARIA, period=YEAR_2026)
    return gen, done


def test_a_retirement_on_behalf_records_location_and_period(driver, engine, client, retired):
    gen, done = retired
    assert (done["location"], done["period"]) == (BAVARIA, YEAR_2026)
    assert done["amendable_until"] == "2026-04-01"
    record = driver.get(f"/retirements/{done['id']}").get_json()
    assert (record["location"], record["period"], record["amendments"]) == (BAVARIA, YEAR_2026, [])
    [entry] = _entries(engine, "block.retired")
    assert entry["payload"]["claim"]["location"] == BAVARIA and entry["payload"]["claim"]["period"] == YEAR_2026
    text = text_of(client.get(f"/retirements/{done['id']}").get_data(as_text=True))
    assert "Claim location DE (DE-BY)" in text and "Claim period 2026-01-01 to 2026-12-31" in text
    # Without them, the entry keeps its earlier shape (no location or period keys).
    other = _retire(driver, gen.token, done["remainder"]["serial"], "1")
    assert other["location"] is None and other["period"] is None
    assert "location" not in _entries(engine, "block.retired")[1]["payload"]["claim"]


@pytest.mark.parametrize("field,value,status,code", [
    ("location", {"country": "XX"}, 400, "invalid_country"),
    ("location", {"country": "DE", "subdivision": "Bavaria"}, 400, "invalid_subdivision"),
    ("location", {"country": "DE", "subdivision": "FR-75C"}, 400, "subdivision_not_in_country"),
    ("period", {"from": "2026-12-31", "to": "2026-01-01"}, 422, "period_reversed"),
    ("period", {"from": "2020-01-01", "to": "2026-01-01"}, 422, "period_too_long"),
])
def test_a_bad_location_or_period_is_refused_and_nothing_written(driver, engine, field, value, status, code):
    gen = driver.generator()
    serial = _holding(driver, gen)["serial"]
    before = snapshot(engine)
    body = {"serial": serial, "quantity": "1", "beneficiary": "Corner Shop", "claim_type": "general",
            "reporting_year": 2026, field: value}
    problem = assert_problem(driver.post("/retirements", body, gen.token), status, code)
    assert snapshot(engine) == before
    assert any(key.startswith(field) for key in problem["errors"])


def test_amendments_within_30_days_are_logged_and_shown_as_history(driver, engine, client, clock, retired,
                                                                   db_url, tmp_path):
    gen, done = retired
    clock.set(NOW + timedelta(days=10))
    first = _amend(driver, gen.token, done["id"], {"statement": "Our 2026 PP bottles", "claim_date": "2026-03-12"})
    assert (first["statement"], first["claim_date"], first["quantity"]) == ("Our 2026 PP bottles", "2026-03-12",
                                                                            "4.000")
    clock.set(NOW + timedelta(days=30))  # the last day: 2026-04-01
    second = _amend(driver, gen.token, done["id"], {"location": {"country": "AT"}, "period": None,
                                                    "statement": "Our 2026 PP bottles"})  # unchanged: not logged
    assert (second["location"], second["period"]) == ({"country": "AT", "subdivision": None}, None)
    history = second["amendments"]
    assert [a["amended_on"] for a in history] == ["2026-03-12", "2026-04-01"]
    assert history[0]["changes"] == {"statement": {"from": None, "to": "Our 2026 PP bottles"},
                                     "claim_date": {"from": None, "to": "2026-03-12"}}
    assert history[1]["changes"] == {"location": {"from": BAVARIA, "to": {"country": "AT", "subdivision": None}},
                                     "period": {"from": YEAR_2026, "to": None}}
    entries = _entries(engine, "retirement.amended")
    assert [e["index"] for e in entries] == [a["log_index"] for a in history]
    assert entries[0]["payload"]["serial"] == done["serial"] and entries[0]["payload"]["owner"] == gen.id
    record = driver.get(f"/retirements/{done['id']}").get_json()
    assert record["amendments"] == history and record["quantity"] == "4.000"
    text = text_of(client.get(f"/retirements/{done['id']}").get_data(as_text=True))
    assert "Claim location AT" in text and "Claim period" not in text
    assert "location DE (DE-BY) AT" in text and "period 2026-01-01 to 2026-12-31 —" in text
    report = _verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.failure()


def test_after_30_days_only_a_missing_claim_date_may_be_added(driver, engine, clock, retired, db_url, tmp_path):
    gen, done = retired
    clock.set(NOW + timedelta(days=31))  # 2026-04-02
    _refused_amendment(driver, engine, gen.token, done["id"], {"statement": "late"}, 422, "amendment_window_closed")
    _refused_amendment(driver, engine, gen.token, done["id"], {"claim_date": "2026-04-02", "statement": "late"},
                       422, "amendment_window_closed")
    added = _amend(driver, gen.token, done["id"], {"claim_date": "2026-04-02"})  # RMS 8.6.6: claim later
    assert added["claim_date"] == "2026-04-02"
    # Once there, it is a claim detail like the others: closed.
    _refused_amendment(driver, engine, gen.token, done["id"], {"claim_date": "2026-05-01"}, 422,
                       "amendment_window_closed")
    report = _verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.failure()


@pytest.mark.parametrize("body,status,code", [
    ({"quantity": "3"}, 422, "quantity_not_amendable"),
    ({"serial": "PC_P_PP_ARC-2026-1-000000000001-000000001000"}, 422, "quantity_not_amendable"),
    ({"beneficiary": "Someone Else", "statement": "x"}, 422, "claim_detail_not_amendable"),
    ({"reporting_year": 2025}, 422, "claim_detail_not_amendable"),
    ({"claim_date": "2026-03-01"}, 422, "claim_before_retirement"),  # R-R4
    ({"claim_date": "2027-03-03"}, 422, "claim_date_too_late"),  # R-R8
    ({"location": {"country": "DE", "subdivision": "AT-9"}}, 400, "subdivision_not_in_country"),  # R-R6
    ({"period": {"from": "2026-02-01", "to": "2026-01-01"}}, 422, "period_reversed"),
    ({"location": BAVARIA}, 400, "nothing_to_amend"),
    ({}, 400, "nothing_to_amend"),
])
def test_bad_amendments_are_refused_and_nothing_written(driver, engine, retired, body, status, code):
    gen, done = retired
    _refused_amendment(driver, engine, gen.token, done["id"], body, status, code)


def test_only_the_retiring_participant_amends(driver, engine, retired):
    gen, done = retired
    other = driver.participant("Other Trader")
    _refused_amendment(driver, engine, driver.member(other["id"]), done["id"], {"statement": "x"}, 403,
                       "not_retiring_participant")
    _refused_amendment(driver, engine, driver.admin, done["id"], {"statement": "x"}, 403,
                       "not_retiring_participant")
    _refused_amendment(driver, engine, None, done["id"], {"statement": "x"}, 401, "missing_token")
    _refused_amendment(driver, engine, gen.token, done["id"] + 1000, {"statement": "x"}, 404, "retirement_not_found")


def test_a_suspended_participant_cannot_amend(driver, engine, retired):
    gen, done = retired
    driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    _refused_amendment(driver, engine, gen.token, done["id"], {"statement": "x"}, 422, "participant_inactive")


def test_replay_finds_an_amendment_after_30_days_in_a_signed_log(driver, engine, clock, retired, monkeypatch,
                                                                  db_url, tmp_path):
    """R-L7c: a writer that skipped the 30-day check (here: the check bypassed) leaves a correctly
    signed entry that `verify` reports at that entry, naming R-R7; so is a claim date the R-R8 year
    refuses."""
    gen, done = retired
    clock.set(NOW + timedelta(days=45))
    monkeypatch.setattr(amendments, "check_amendment", lambda **kwargs: None)
    late = _amend(driver, gen.token, done["id"], {"statement": "rewritten late"})["amendments"][-1]["log_index"]
    far = _amend(driver, gen.token, done["id"], {"claim_date": "2028-01-01"})["amendments"][-1]["log_index"]
    monkeypatch.undo()
    report = _verify(driver, engine, db_url, tmp_path)
    assert not report.ok
    found = {f.index: str(f) for f in report.findings}
    assert "R-R7" in found[late] and "R-R8" in found[far], report.failure()


def test_concurrent_amendments_each_see_the_other(driver, engine, retired, db_url, tmp_path):
    """R-T4, R-X5: amendments of one retirement serialise on its row; each entry's old values are the
    previous one's new values, so the history chains and replays."""
    from concurrent.futures import ThreadPoolExecutor

    gen, done = retired
    texts = [f"statement {n}" for n in range(6)]
    with ThreadPoolExecutor(3) as pool:
        codes = list(pool.map(
            lambda text: driver.post(f"/retirements/{done['id']}/amendments", {"statement": text},
                                     gen.token).status_code, texts))
    assert codes == [201] * 6
    history = driver.get(f"/retirements/{done['id']}").get_json()["amendments"]
    assert len(history) == 6
    for earlier, later in zip(history, history[1:]):
        assert later["changes"]["statement"]["from"] == earlier["changes"]["statement"]["to"]
    report = _verify(driver, engine, db_url, tmp_path)
    assert report.ok, report.failure()
