"""The certifier's page (R-W4, R-X10, R-M8, R-W6) through a browser's requests, on SQLite and
PostgreSQL: the certificates and determinations of the participants its body certifies,
recording a determination through the service the API uses, and the custody summaries of
those participants. Every refusal shows the rule and what to change, and changes nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
import pytest
from sqlmodel import select

from registry.db import session_factory
from api.exports import PERIOD_COLUMNS
from registry.models import Determination, RmsCertificate
from tests.api.driver import GENERATOR_SITES, snapshot, t
from tests.api.test_custody_generation import Reprocessor
from tests.workspace.people import make_account

FORM = {"certification_year": "2026", "mandate_share": "0.40", "basis": "new_operation",
        "operation_start": "2025-06-01", "invested_on": "", "before_value": "", "after_value": "",
        "production_unit": "t", "class_b_test": "financial", "class_b_passed": "yes",
        "class_b_rationale": "viable only with ARC revenue", "evidence_sha256": "", "evidence_description": ""}


@pytest.fixture
def setup(driver):
    """A reprocessor certified by NSF with a custody account (period 1 closed), and one certified by SCS."""
    r = Reprocessor(driver)
    r.receive("2026-01-10", t(100))
    driver.ok(f"/custody/accounts/{r.account}/periods/1/close", None, r.g.token)
    other = driver.participant("Other Recycler")
    scs = driver.certifier("SCS")
    driver.certificate(scs, other["id"], number="RMS-SCS-00077")
    other_member = driver.member(other["id"])
    other_site = driver.facility(other_member, other["id"])
    return r, other_site


def sign_in_certifier(browser, engine, clock, body_code: str = "NSF"):
    account = make_account(engine, clock, f"auditor@{body_code.lower()}.example", "certifier", body_code=body_code,
                           with_totp=True)
    assert browser.sign_in(account).status_code == 303
    assert browser.give_code(account.code(clock.now())).status_code == 303
    return browser


@pytest.fixture
def certifier(browser, engine, clock, setup):
    return sign_in_certifier(browser, engine, clock)


def _determinations(engine, facility_id: int) -> list[Determination]:
    with session_factory(engine)() as session:
        return list(session.exec(select(Determination).where(Determination.facility_id == facility_id)
                                 .order_by(Determination.id)))


def test_the_page_shows_only_the_participants_the_body_certifies(certifier, setup):
    r, _ = setup
    assert certifier.get("/workspace/certifier").status_code == 200
    html = certifier.last
    assert "Great" not in html and "Acme Recycling" in html and r.g.certificate in html
    assert "Other Recycler" not in html and "RMS-SCS-00077" not in html
    assert "new operation" in html  # the reprocessor's determination
    # the custody summary of its closed period 1 (R-M5, R-M8)
    assert "PP resin, mass-balance" in html and "1: 2026-01-01 to 2026-01-31" in html and "Sorter A" in html
    certifier.get("/workspace")
    assert 'href="/workspace/certifier"' in certifier.last


def test_a_certifier_records_a_determination_through_the_form(certifier, setup, engine):
    r, _ = setup
    before = _determinations(engine, r.g.facility_id)
    response = certifier.post("/workspace/certifier/determinations",
                              {**FORM, "facility_id": str(r.g.facility_id)})
    assert response.status_code == 303, certifier.last[:3000]
    after = _determinations(engine, r.g.facility_id)
    assert len(after) == len(before) + 1
    new = after[-1]
    # 20 000 t capacity, 40% into a mandate: 12 000 t eligible (R-A4, R-A7); the old one is superseded
    assert (new.outcome, new.eligible_kg, new.status) == ("additional", Decimal("12000000.000"), "current")
    assert after[-2].status == "superseded"
    certifier.get(certifier.where(response))
    assert f"Determination {new.id} is recorded." in certifier.last and "12000000.000" in certifier.last


@pytest.mark.parametrize("changes, status, words", [
    ({"class_b_rationale": ""}, 400, ["rationale"]),
    ({"mandate_share": "1.5"}, 400, ["mandate_share"]),
    ({"certification_year": "20x6"}, 400, ["integer"]),
    ({"operation_start": ""}, 400, ["operation_start", "Missing data"]),
    ({"basis": "capacity", "invested_on": "2025-06-01", "before_value": "100", "after_value": "30000"}, 422,
     ["exceeds the capacity", "(R-A9)", "no larger than the facility"]),
])
def test_a_refused_determination_shows_why_and_records_nothing(certifier, setup, engine, changes, status, words):
    r, _ = setup
    certifier.get("/workspace/certifier")
    before = snapshot(engine)
    response = certifier.post("/workspace/certifier/determinations",
                              {**FORM, "facility_id": str(r.g.facility_id), **changes})
    assert response.status_code == status, certifier.last[:3000]
    for word in words:
        assert word in certifier.last, word
    assert snapshot(engine) == before


def test_a_determination_for_a_participant_of_another_body_is_refused(certifier, setup, engine):
    _, other_site = setup
    before = snapshot(engine)
    response = certifier.post("/workspace/certifier/determinations", {**FORM, "facility_id": str(other_site["id"])})
    assert response.status_code == 403
    assert "a certifier acts only for the participants its body certifies (R-X10)" in certifier.last
    assert "Record determinations only for participants your body certifies" in certifier.last
    assert snapshot(engine) == before


def test_a_member_is_refused_the_certifier_page(browser, engine, clock, setup):
    r, _ = setup
    account = make_account(engine, clock, "ops@acme.example", participant_id=r.g.id)
    browser.sign_in(account)
    assert browser.get("/workspace/certifier").status_code == 403
    before = snapshot(engine)
    response = browser.post("/workspace/certifier/determinations", {**FORM, "facility_id": str(r.g.facility_id)},
                            from_page="/workspace/account")
    assert response.status_code == 403
    assert snapshot(engine) == before


# --- Custody summaries for audits (R-M8, RMS 6.4.4.4) ---------------------------------------------

AUDIT_DAY = datetime(2027, 8, 1, 9, 0, tzinfo=UTC)  # the previous 18 months start on 2026-02-01


@pytest.fixture
def audit(driver, browser, engine, clock, setup):
    """Periods 1 (January 2026) and 2 (February 2026) closed; today is AUDIT_DAY; the certifier signed in."""
    r, _ = setup
    r.receive("2026-02-10", t(40), reference="INV-2")
    driver.ok(f"/custody/accounts/{r.account}/periods/2/close", None, r.g.token)
    clock.set(AUDIT_DAY)
    return r, sign_in_certifier(browser, engine, clock)


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_certifier_downloads_the_periods_of_the_previous_18_months(audit):
    r, certifier = audit
    assert certifier.get("/workspace/certifier").status_code == 200
    assert "the periods ending on or after 2026-02-01" in certifier.last
    assert f'href="/workspace/custody/{r.account}/periods.csv"' in certifier.last
    response = certifier.get(f"/workspace/custody/{r.account}/periods.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "periods-from-2026-02-01.csv" in response.headers["Content-Disposition"]
    rows = _csv_rows(response)
    assert tuple(rows[0]) == PERIOD_COLUMNS
    # period 1 ended on 2026-01-31, before the window: only period 2
    assert [dict(zip(rows[0], row, strict=True))["n"] for row in rows[1:]] == ["2"]
    period = dict(zip(rows[0], rows[1], strict=True))
    assert (period["starts_on"], period["ends_on"], period["certified_inputs_kg"]) == (
        "2026-02-01", "2026-02-28", "40000.000")
    assert period["opening_kg"] == "100000.000"  # period 1's closing balance

    book = certifier.client.get(f"/workspace/custody/{r.account}/periods.xlsx")
    assert book.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(book.data), read_only=True)["periods"]
    header, *lines = list(sheet.iter_rows(values_only=True))
    assert header == PERIOD_COLUMNS and len(lines) == 1
    cells = dict(zip(header, lines[0], strict=True))
    assert cells["n"] == 2 and cells["certified_inputs_kg"] == 40000 and cells["ends_on"] == "2026-02-28"


def test_the_participants_own_member_downloads_them_too(driver, new_browser, engine, clock, audit):
    r, _ = audit
    member = new_browser()
    account = make_account(engine, clock, "ops@acme.example", participant_id=r.g.id)
    assert member.sign_in(account).status_code == 303
    member.get("/workspace/custody")  # the participant's own custody page links it
    assert f'href="/workspace/custody/{r.account}/periods.xlsx"' in member.last
    response = member.get(f"/workspace/custody/{r.account}/periods.csv")
    assert response.status_code == 200 and len(_csv_rows(response)) == 2


def test_another_bodys_certifier_or_participant_gets_not_found(new_browser, engine, clock, setup, audit):
    r, _ = audit
    scs = sign_in_certifier(new_browser(), engine, clock, "SCS")  # certifies Other Recycler only
    for fmt in ("csv", "xlsx"):
        response = scs.get(f"/workspace/custody/{r.account}/periods.{fmt}")
        assert response.status_code == 404
        assert f"no custody account {r.account} (R-M8)" in scs.last
        assert "Open the account from a page that lists it" in scs.last


# --- Renewing, amending, suspending certificates (R-C6, R-C3) ----------------------------------------

def _certificate(engine, number: str) -> RmsCertificate:
    with session_factory(engine)() as session:
        return session.exec(select(RmsCertificate).where(RmsCertificate.number == number)).one()


def _change(browser, number: str, change: str, **fields):
    return browser.post(f"/workspace/certifier/certificates/{number}/{change}",
                        {f"{change}-{number}-{name}": value for name, value in fields.items()},
                        from_page="/workspace/certifier")


def test_the_certifier_renews_a_certificate_of_its_body(certifier, setup, engine, driver):
    r, _ = setup
    number = r.g.certificate
    certifier.get("/workspace/certifier")
    assert f'action="/workspace/certifier/certificates/{number}/renew"' in certifier.last
    response = _change(certifier, number, "renew", issued_on="2028-01-01", expires_on="2028-12-31")
    assert response.status_code == 303, certifier.last[:3000]
    assert [(p["issued_on"], p["expires_on"]) for p in _certificate(engine, number).periods] == [
        ("2025-01-01", "2027-12-31"), ("2028-01-01", "2028-12-31")]
    # the public register shows both periods, as the API's renewal would leave them (R-C4, R-C6)
    periods = driver.get(f"/rms-certificates/{number}").get_json()["periods"]
    assert [p["issued_on"] for p in periods] == ["2025-01-01", "2028-01-01"]
    certifier.get(certifier.where(response))
    assert f"Certificate {number} is renewed." in certifier.last
    assert "2025-01-01 to 2027-12-31; 2028-01-01 to 2028-12-31" in certifier.last


def test_the_certifier_amends_the_scope_from_a_date(certifier, setup, engine):
    r, _ = setup
    number = r.g.certificate
    sites = "\n".join(f"{s['name']}; {s['address']}; {s['country']}" for s in GENERATOR_SITES)
    certifier.get("/workspace/certifier")
    assert "Plant 1; 1 Mill Rd, Akron OH; US" in certifier.last  # filled in with the scope in force
    response = _change(certifier, number, "amend", effective_on="2026-03-10",
                       activities=["reprocessing", "trading", "converting"], control_systems=["mass-balance"],
                       product_groups="PP resin\nPE resin", sites=sites + "\nPlant 3; 3 Mill Rd, Akron OH; US")
    assert response.status_code == 303, certifier.last[:3000]
    cert = _certificate(engine, number)
    assert [v["effective_on"] for v in cert.versions][-1] == "2026-03-10"
    assert cert.activities == ["converting", "reprocessing", "trading"]
    assert cert.facilities[-1] == {"name": "Plant 3", "address": "3 Mill Rd, Akron OH", "country": "US"}
    certifier.get(certifier.where(response))
    assert f"Certificate {number} is amended." in certifier.last


def test_the_certifier_suspends_a_certificate_with_a_reason(certifier, setup, engine):
    r, _ = setup
    number = r.g.certificate
    response = _change(certifier, number, "status", action="suspend", on="2026-03-02", reason="audit finding")
    assert response.status_code == 303, certifier.last[:3000]
    certifier.get(certifier.where(response))
    assert f"Certificate {number} is suspended." in certifier.last
    assert "suspended from 2026-03-02 (audit finding)" in certifier.last


@pytest.mark.parametrize("change, fields, status, words", [
    ("renew", {"issued_on": "2027-06-01", "expires_on": "2028-05-31"}, 422,
     ["is not after the current period", "(R-C6)", "Start the new validity period after the current one ends"]),
    ("renew", {"issued_on": "2028-01-01"}, 400, ["Missing data"]),
    ("amend", {"effective_on": "2026-03-01", "activities": ["reprocessing"], "control_systems": ["mass-balance"],
               "product_groups": "PP resin"}, 422,
     ["before today", "(R-C6)", "a past finding is a suspension or revocation"]),
    ("amend", {"effective_on": "2026-03-10", "activities": [], "control_systems": ["mass-balance"],
               "product_groups": "PP resin"}, 400, ["Shorter than minimum length 1"]),
    ("status", {"action": "reinstate", "on": "2026-03-02", "reason": "cleared"}, 422,
     ["is not suspended on 2026-03-02", "Only a suspended certificate is reinstated"]),
    ("status", {"action": "suspend", "on": "2024-06-01", "reason": "late finding"}, 422,
     ["on 2024-06-01 is outside the certificate", "(R-C5)", "Choose a date within one of the certificate"]),
])
def test_a_refused_certificate_change_shows_why_and_changes_nothing(certifier, setup, engine, change, fields,
                                                                    status, words):
    r, _ = setup
    before = snapshot(engine)
    response = _change(certifier, r.g.certificate, change, **fields)
    assert response.status_code == status, certifier.last[:3000]
    for word in words:
        assert word in certifier.last, word
    assert f'<details id="change-{r.g.certificate}" open>' in certifier.last  # the refused form, shown open
    assert snapshot(engine) == before


def test_a_certificate_of_another_body_is_refused(certifier, setup, engine):
    certifier.get("/workspace/certifier")
    assert "RMS-SCS-00077" not in certifier.last
    before = snapshot(engine)
    response = _change(certifier, "RMS-SCS-00077", "renew", issued_on="2028-01-01", expires_on="2028-12-31")
    assert response.status_code == 403
    assert "recorded by that body only (R-C2)" in certifier.last
    assert "Change only the certificates your own body issued." in certifier.last
    assert snapshot(engine) == before


def test_a_member_may_not_change_its_certificate(browser, engine, clock, setup):
    r, _ = setup
    account = make_account(engine, clock, "ops@acme.example", participant_id=r.g.id)
    browser.sign_in(account)
    before = snapshot(engine)
    response = browser.post(f"/workspace/certifier/certificates/{r.g.certificate}/renew",
                            {f"renew-{r.g.certificate}-issued_on": "2028-01-01",
                             f"renew-{r.g.certificate}-expires_on": "2028-12-31"}, from_page="/workspace/account")
    assert response.status_code == 403
    assert snapshot(engine) == before


# --- Financial and quality bases; withdrawal (R-A5, R-A7) ----------------------------------------

FINANCIAL = {"basis": "financial", "invested_on": "2025-06-01", "fair_market_value": "10000000.00",
             "investment_category_0": "primary_equipment", "investment_amount_0": "3000000.00",
             "investment_category_1": "labour", "investment_amount_1": "5000000.00",
             "investment_category_2": "primary_equipment", "investment_amount_2": ""}
QUALITY = {"basis": "quality", "invested_on": "2025-06-01", "quality_volume": "5000", "production_unit": "t",
           "price_increase": "0.15", "market_increase": "0.03", "reclassification": ""}


@pytest.mark.parametrize("basis, eligible_kg", [
    # P7.2.4.5, Example P7.4: $3M of primary equipment on $10M (labour does not count) → half the 20 000 t capacity
    (FINANCIAL, Decimal("6000000.000")),
    # P7.2.4.6, Example P7.5: 15% − 3% = 12 points → the 5 000 t meeting the new specification
    (QUALITY, Decimal("3000000.000")),
])
def test_a_certifier_records_a_financial_or_quality_basis(certifier, setup, engine, basis, eligible_kg):
    r, _ = setup
    response = certifier.post("/workspace/certifier/determinations",
                              {**FORM, "facility_id": str(r.g.facility_id), **basis})
    assert response.status_code == 303, certifier.last[:3000]
    new = _determinations(engine, r.g.facility_id)[-1]
    # 40% of the output goes into a mandate (R-A4): 60% of the basis volume
    assert (new.basis, new.outcome, new.eligible_kg) == (basis["basis"], "additional", eligible_kg)


@pytest.mark.parametrize("changes, status, words", [
    ({**FINANCIAL, "investment_amount_0": "", "investment_amount_1": ""}, 400, ["Shorter than minimum length 1"]),
    ({**FINANCIAL, "fair_market_value": ""}, 400, ["Missing data"]),
    ({**QUALITY, "market_increase": ""}, 400,
     ["needs both the price increase and the market index increase", "Give both the price increase"]),
])
def test_a_refused_financial_or_quality_basis_shows_why(certifier, setup, engine, changes, status, words):
    r, _ = setup
    before = snapshot(engine)
    response = certifier.post("/workspace/certifier/determinations",
                              {**FORM, "facility_id": str(r.g.facility_id), **changes})
    assert response.status_code == status, certifier.last[:3000]
    for word in words:
        assert word in certifier.last, word
    assert snapshot(engine) == before


def _withdraw(browser, determination_id: int, reason: str):
    return browser.post(f"/workspace/certifier/determinations/{determination_id}/withdraw",
                        {f"withdraw-{determination_id}-reason": reason}, from_page="/workspace/certifier")


def test_a_certifier_withdraws_a_determination(certifier, setup, engine):
    r, _ = setup
    certifier.get("/workspace/certifier")
    assert f'action="/workspace/certifier/determinations/{r.g.determination_id}/withdraw"' in certifier.last
    response = _withdraw(certifier, r.g.determination_id, "audit found the start date wrong")
    assert response.status_code == 303, certifier.last[:3000]
    assert _determinations(engine, r.g.facility_id)[-1].status == "withdrawn"
    certifier.get(certifier.where(response))
    assert f"Determination {r.g.determination_id} is withdrawn" in certifier.last
    assert f'action="/workspace/certifier/determinations/{r.g.determination_id}/withdraw"' not in certifier.last


@pytest.mark.parametrize("twice, reason, status, words", [
    (False, "", 400, ["Missing data"]),
    (True, "again", 422, ["the determination is withdrawn", "It was withdrawn or superseded already"]),
])
def test_a_refused_withdrawal_shows_why_and_changes_nothing(certifier, setup, engine, twice, reason, status, words):
    r, _ = setup
    if twice:
        assert _withdraw(certifier, r.g.determination_id, "first").status_code == 303
    before = snapshot(engine)
    response = _withdraw(certifier, r.g.determination_id, reason)
    assert response.status_code == status, certifier.last[:3000]
    for word in words:
        assert word in certifier.last, word
    assert "Ask your certification body" not in certifier.last  # the generator's advice is not the certifier's
    assert snapshot(engine) == before


def test_a_determination_of_another_body_is_not_withdrawn(certifier, setup, engine, driver):
    _, other_site = setup
    theirs = driver.determination(driver.certifier("SCS"), other_site["id"])
    before = snapshot(engine)
    response = _withdraw(certifier, theirs["id"], "not ours")
    assert response.status_code == 403, certifier.last[:3000]
    # no row of the page is it: the refusal is shown above the page, with the advice
    assert "a certifier acts only for the participants its body certifies (R-X10)" in certifier.last
    assert "Record determinations only for participants your body certifies" in certifier.last
    assert snapshot(engine) == before
