"""The certifier's page (R-W4, R-X10, R-M8, R-W6) through a browser's requests, on SQLite and
PostgreSQL: the certificates and determinations of the participants its body certifies,
recording a determination through the service the API uses, and the custody summaries of
those participants. Every refusal shows the rule and what to change, and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from registry.db import session_factory
from registry.models import Determination
from tests.api.driver import snapshot, t
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


@pytest.fixture
def certifier(browser, engine, clock, setup):
    account = make_account(engine, clock, "auditor@nsf.example", "certifier", body_code="NSF", with_totp=True)
    assert browser.sign_in(account).status_code == 303
    assert browser.give_code(account.code(clock.now())).status_code == 303
    return browser


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
