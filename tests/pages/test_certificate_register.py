"""The explorer's RMS certificate register (R-C4; RMS 6.1.4.1): the register,
a certificate's page and the participants page's certificate links, over the
demo registry, readable without JavaScript, valid and accessible HTML
(tests/pages/htmlcheck.py)."""

from __future__ import annotations

import pytest

from tests.pages.htmlcheck import check_page, text_of

LAKES = "RMS-NSF-00234"  # Great Lakes Reprocessing's, in registry/demo.py
SITE = {"name": "Cascade Yard", "address": "4 Harbor Way, Tacoma WA", "country": "US"}


def _api(client, token, path, body):
    response = client.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response.get_json()


def _participant_id(client, demo, name) -> int:
    page = client.get("/api/v1/rms-certificates").get_json()
    return next(c["holder"]["participant_id"] for c in page["items"] if c["holder"]["name"] == name)


@pytest.mark.parametrize("path", ["/rms-certificates", f"/rms-certificates/{LAKES}", "/rms-certificates?participant=1",
                                  "/participants"])
def test_register_pages_are_valid_accessible_html(client, demo, path):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert check_page(response.get_data(as_text=True)) == []


def test_a_certificate_page_shows_holder_body_scope_and_validity(client, demo):
    text = text_of(client.get(f"/rms-certificates/{LAKES}").get_data(as_text=True))
    assert f"RMS certificate {LAKES}" in text
    assert "Held by Great Lakes Reprocessing, issued by certification body NSF" in text
    assert "Today (2026-03-02) it is Valid" in text
    assert "Issued on 2025-01-01 Expires on 2027-12-31 Status today Valid" in text
    assert "Activities reprocessing, trading Facility scope single-site Product groups resins" in text
    assert "Control systems mass-balance" in text
    assert "No suspension, reinstatement or revocation has been recorded." in text


def test_the_status_history_shows_dates_and_reasons(client, demo):
    _api(client, demo.admin_token, f"/rms-certificates/{LAKES}/suspend",
         {"on": "2026-02-20", "reason": "audit finding"})
    page = client.get(f"/rms-certificates/{LAKES}").get_data(as_text=True)
    assert check_page(page) == []
    text = text_of(page)
    assert "it is Suspended" in text and "claims that rely on it today cannot be accepted" in text
    assert "2026-02-20 Suspended audit finding 2026-03-02 09:30 UTC" in text
    _api(client, demo.admin_token, f"/rms-certificates/{LAKES}/reinstate", {"on": "2026-03-01", "reason": "closed"})
    text = text_of(client.get(f"/rms-certificates/{LAKES}").get_data(as_text=True))
    assert "it is Valid" in text and "2026-03-01 Reinstated closed" in text


def test_covered_facilities_are_listed(client, demo):
    lakes = _participant_id(client, demo, "Great Lakes Reprocessing")
    _api(client, demo.admin_token, "/rms-certificates", {
        "participant_id": lakes, "number": "RMS-NSF-004711", "issued_on": "2026-01-01", "expires_on": "2026-12-31",
        "activities": ["trading"], "facility_scope": "single-site", "product_groups": [],
        "control_systems": ["segregation"], "facilities": [SITE]})
    page = client.get("/rms-certificates/RMS-NSF-004711").get_data(as_text=True)
    assert check_page(page) == []
    assert "Cascade Yard 4 Harbor Way, Tacoma WA US" in text_of(page)


def test_an_unknown_number_is_a_404_page_with_the_lookup_form(client, demo):
    for number in ("RMS-NSF-10020", "not-a-number"):
        response = client.get(f"/rms-certificates/{number}")
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert check_page(page) == []
        assert f"No RMS certificate numbered {number} is recorded" in text_of(page)
        assert 'id="number"' in page


def test_the_lookup_form_goes_to_the_certificate(client, demo):
    response = client.get("/rms-certificates", query_string={"number": " rms-nsf-00234 "})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/rms-certificates/{LAKES}")


def test_the_register_lists_every_certificate_or_one_participants(client, demo):
    text = text_of(client.get("/rms-certificates").get_data(as_text=True))
    assert f"{LAKES} Great Lakes Reprocessing NSF Valid 2025-01-01 2027-12-31 reprocessing, trading" in text
    assert "RMS-NSF-00311 Prairie Polymers" in text
    lakes = _participant_id(client, demo, "Great Lakes Reprocessing")
    mine = text_of(client.get(f"/rms-certificates?participant={lakes}").get_data(as_text=True))
    assert "Certificates of Great Lakes Reprocessing" in mine and LAKES in mine and "RMS-NSF-00311" not in mine
    assert client.get("/rms-certificates?participant=999999").status_code == 404
    assert client.get("/rms-certificates?participant=x").status_code == 404


def test_the_participants_page_links_each_participants_certificates(client, demo):
    page = client.get("/participants").get_data(as_text=True)
    assert f'href="/rms-certificates/{LAKES}"' in page and 'href="/rms-certificates/RMS-NSF-00311"' in page
    text = text_of(page)
    assert f"RMS certificates: {LAKES} Valid" in text
    assert "Northwind Packaging US Active None" in text  # a brand holds no RMS certificate


def test_the_register_of_an_empty_registry(client):
    response = client.get("/rms-certificates")
    assert response.status_code == 200 and check_page(response.get_data(as_text=True)) == []
    assert "No certificates recorded." in text_of(response.get_data(as_text=True))
