"""The public RMS certificate register (R-C4; RMS 5.2.6, 6.1.4.1, 7.1.3):
GET /rms-certificates/{number} and GET /rms-certificates?participant=, on
SQLite and PostgreSQL (the ``driver`` fixture's backends), with the pinned
clock (tests/conftest.NOW, 2026-03-02)."""

from __future__ import annotations

from tests.api.test_errors_and_health import assert_problem

SITE = {"name": "Plant A", "address": "1 Mill Rd, Akron OH", "country": "US"}


def test_anyone_looks_a_certificate_up_by_number(driver):
    holder = driver.participant("Acme Recycling")
    certifier = driver.certifier()
    cert = driver.certificate(certifier, holder["id"], facilities=[SITE])
    response = driver.get(f"/rms-certificates/{cert['number']}")  # no token: public
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "number": cert["number"], "body_code": "NSF",
        "holder": {"participant_id": holder["id"], "name": "Acme Recycling"},
        "issued_on": "2025-01-01", "expires_on": "2027-12-31",
        "activities": ["reprocessing", "trading"], "facility_scope": "single-site", "facilities": [SITE],
        "product_groups": ["PP resin", "PE resin"], "control_systems": ["mass-balance"],
        "valid_today": True, "status_today": "valid", "history": [],
        "periods": [{"issued_on": "2025-01-01", "expires_on": "2027-12-31"}],  # R-C6
        "versions": [{"effective_on": "2025-01-01", "activities": ["reprocessing", "trading"],
                      "product_groups": ["PP resin", "PE resin"], "control_systems": ["mass-balance"],
                      "facilities": [SITE], "members": []}],
        "group_name": None, "members": [],
    }


def test_the_status_history_shows_suspensions_reinstatements_and_revocations(driver):
    holder = driver.participant()
    certifier = driver.certifier()
    number = driver.certificate(certifier, holder["id"])["number"]
    driver.ok(f"/rms-certificates/{number}/suspend", {"on": "2026-01-10", "reason": "audit finding"}, certifier,
              status=200)
    suspended = driver.get(f"/rms-certificates/{number}").get_json()
    assert suspended["status_today"] == "suspended" and suspended["valid_today"] is False
    driver.ok(f"/rms-certificates/{number}/reinstate", {"on": "2026-02-01", "reason": "corrected"}, certifier,
              status=200)
    assert driver.get(f"/rms-certificates/{number}").get_json()["valid_today"] is True
    driver.ok(f"/rms-certificates/{number}/revoke", {"on": "2026-03-01", "reason": "fraud"}, certifier, status=200)
    record = driver.get(f"/rms-certificates/{number}").get_json()
    assert record["status_today"] == "revoked" and record["valid_today"] is False
    assert [(e["kind"], e["on"], e["reason"]) for e in record["history"]] == [
        ("suspended", "2026-01-10", "audit finding"), ("reinstated", "2026-02-01", "corrected"),
        ("revoked", "2026-03-01", "fraud")]
    assert {e["recorded_at"] for e in record["history"]} == {"2026-03-02T09:30:00Z"}  # the pinned clock


def test_an_expired_or_future_certificate_is_not_valid_today(driver):
    holder = driver.participant()
    certifier = driver.certifier()
    old = driver.certificate(certifier, holder["id"], issued_on="2023-01-01", expires_on="2025-12-31")["number"]
    new = driver.certificate(certifier, holder["id"], issued_on="2026-04-01", expires_on="2028-12-31")["number"]
    assert driver.get(f"/rms-certificates/{old}").get_json()["status_today"] == "expired"
    assert driver.get(f"/rms-certificates/{new}").get_json()["status_today"] == "not_yet_valid"


def test_an_unknown_or_malformed_number_is_a_problem(driver):
    assert_problem(driver.get("/rms-certificates/RMS-NSF-10020"), 404, "certificate_not_found")
    body = assert_problem(driver.get("/rms-certificates/NSF-10020"), 400, "invalid_certificate_number")
    assert "number" in body["errors"]


def test_a_participants_certificates_page_by_page(driver):
    holder = driver.participant("Acme Recycling")
    other = driver.participant("Brand Co")
    certifier = driver.certifier()
    mine = [driver.certificate(certifier, holder["id"])["number"] for _ in range(3)]
    theirs = driver.certificate(certifier, other["id"], activities=["trading"])["number"]
    seen, cursor = [], None
    while True:
        page = driver.get(f"/rms-certificates?participant={holder['id']}&limit=2"
                          + (f"&cursor={cursor}" if cursor else "")).get_json()
        assert len(page["items"]) <= 2
        seen += [c["number"] for c in page["items"]]
        assert {c["holder"]["name"] for c in page["items"]} == {"Acme Recycling"}
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == mine
    everyone = driver.get("/rms-certificates").get_json()
    assert [c["number"] for c in everyone["items"]] == [*mine, theirs] and everyone["next_cursor"] is None


def test_list_input_is_checked(driver):
    holder = driver.participant()
    assert_problem(driver.get("/rms-certificates?participant=999999"), 404, "participant_not_found")
    assert "query.limit" in assert_problem(driver.get(f"/rms-certificates?participant={holder['id']}&limit=501"),
                                     400, "invalid_input")["errors"]
    assert "query.participant" in assert_problem(driver.get("/rms-certificates?participant=x"), 400,
                                                 "invalid_input")["errors"]
    body = assert_problem(driver.get("/rms-certificates?cursor=not-ours"), 400, "invalid_cursor")
    assert "cursor" in body["errors"]
