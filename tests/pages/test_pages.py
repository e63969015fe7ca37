"""The explorer's pages over the demo registry, through the Flask test client:
status, strict HTML validity and accessibility rules (tests/pages/htmlcheck.py),
and that everything is readable without JavaScript (SPEC §1, R-R2, R-L6)."""

from __future__ import annotations

import json
import subprocess

import pytest
from sqlmodel import select

from chainlog.keys import parse_vkey
from chainlog.provenance import verify_provenance
from registry.db import session_factory
from registry.models import Block, Retirement
from tests.pages.conftest import GENERATED, RETIRED
from tests.pages.htmlcheck import check_page, text_of
from tests.serverproc import ARCREG, clean_env

PUBLIC_PAGES = ["/", "/certificates", f"/certificates/{RETIRED}", f"/certificates/{GENERATED}", "/retirements",
                "/retirements?year=2026&arc_type=PP", "/retirements/1", "/participants", "/workspace/sign-in"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_page_is_valid_accessible_html(client, demo, path):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert check_page(response.get_data(as_text=True)) == []


def test_the_checker_catches_what_it_promises():
    """The checker is not vacuous: each rule it names fails on a page that breaks it."""
    good = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
            '<body><main><h1>x</h1><h2>y</h2><label for="a">A</label><input id="a"></main></body></html>')
    assert check_page(good) == []
    for broken, expect in [
        (good.replace(' lang="en"', ""), "lang"),
        (good.replace("<h2>y</h2>", "<h3>y</h3>"), "skips"),
        (good.replace("<h2>y</h2>", "<h1>y</h1>"), "<h1>"),
        (good.replace('<label for="a">A</label>', ""), "no label"),
        (good.replace("<main>", '<main style="color:red">'), "style"),
        (good.replace("</main>", "<script>alert(1)</script></main>"), "inline <script>"),
        (good.replace("<h2>y</h2>", "<h2>y</h3>"), "parse error"),
    ]:
        assert any(expect in problem for problem in check_page(broken)), (expect, check_page(broken))


def test_home_shows_totals_by_type_and_year_and_the_latest_checkpoint(client, demo):
    page = client.get("/").get_data(as_text=True)
    text = text_of(page)
    # PP 2026: 250 issued (100 of them drawn on a custody account); 65 retired; 10 offered to Cascade
    # Trading; the other 175 active with Great Lakes (130) and Northwind (35).
    assert "PP 2026 250.000 175.000 10.000 65.000 0.000 0.000" in text
    assert "PEQ 2026 753.363 753.363 0.000 0.000 0.000 0.000" in text
    assert "<svg" in page and "<title id=\"chart-title\">" in page  # the chart, with its text alternative
    assert "Log size 43 entries" in text
    assert "No witness has cosigned this checkpoint yet" in text


def test_home_totals_follow_every_change_of_the_log(client, demo):
    """The totals are kept between views while the log has not grown, and
    recomputed as soon as it has (api/pages/public._totals)."""
    assert "PP 2026 250.000 175.000 10.000 65.000" in text_of(client.get("/").get_data(as_text=True))
    assert "PP 2026 250.000 175.000 10.000 65.000" in text_of(client.get("/").get_data(as_text=True))
    retired = client.post("/api/v1/retirements", headers={"Authorization": f"Bearer {demo.brand_token}"},
                          json={"serial": "PC_P_PP_ARC-2026-1-000000050001-000000060000", "quantity": "10.000",
                                "beneficiary": "Northwind Packaging", "claim_type": "general",
                                "reporting_year": 2026})
    assert retired.status_code == 201, retired.get_data(as_text=True)
    assert "PP 2026 250.000 165.000 10.000 75.000" in text_of(client.get("/").get_data(as_text=True))


def test_lookup_by_any_serial_inside_a_range_finds_its_block(client, demo):
    response = client.get("/certificates", query_string={"serial": "PC_P_PP_ARC-2026-1-000000000007"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/certificates/{RETIRED}")
    inside = client.get("/certificates", query_string={"serial": "PC_P_PP_ARC-2026-1-000000120002-000000120009"})
    assert inside.headers["Location"].endswith("/certificates/PC_P_PP_ARC-2026-1-000000120001-000000150000")
    missing = client.get("/certificates", query_string={"serial": "PC_P_PP_ARC-2026-1-000000999999"})
    assert missing.status_code == 404 and "No certificate block holds" in text_of(missing.get_data(as_text=True))
    assert check_page(missing.get_data(as_text=True)) == []


def test_certificate_page_reads_without_javascript(client, demo):
    text = text_of(client.get(f"/certificates/{RETIRED}").get_data(as_text=True))
    for expected in ("Retired", "40.000 certificates", "Owner Northwind Packaging",
                     "Generator Great Lakes Reprocessing", "Base material lot GL-2026-PP-001",
                     "Use period through 2027-12-31", "Retirement statement #1"):
        assert expected in text, expected
    # The lineage: lot, generation, two transfers and the retirement, in order.
    order = ["Base material lot registered", "Certificates generated", "Transferred", "Transferred", "Retired"]
    at = 0
    for title in order:
        at = text.index(title, at) + len(title)
    assert "Cascade Trading transferred 60.000 to Northwind Packaging" in text


def test_a_split_block_lists_its_parts(client, demo):
    text = text_of(client.get(f"/certificates/{GENERATED}").get_data(as_text=True))
    assert "Split" in text and "PC_P_PP_ARC-2026-1-000000100001-000000150000 — 50.000, split" in text


def test_unknown_certificate_and_retirement_are_404_pages(client, demo):
    for path in ("/certificates/NOPE-2026-1-1-1", "/retirements/999"):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "text/html"
        assert check_page(response.get_data(as_text=True)) == []


def test_retirement_statement_shows_everything_r_r2_lists(client, demo):
    page = client.get("/retirements/1").get_data(as_text=True)
    text = text_of(page)
    for expected in ("Beneficiary Northwind Packaging", "Quantity 40.000 certificates", "ARC ID code PC_P_PP_ARC",
                     RETIRED, "units 000000000001 to 000000040000", "Generator Great Lakes Reprocessing",
                     "Base material lot GL-2026-PP-001", "Retirement date 2026-03-02", "Claim type general",
                     "Reporting year 2026", "40 PC PP ARCs retired for Northwind Packaging, reporting year 2026",
                     "In Northwind Packaging's own words (not checked by the registry): We retired these ARCs",
                     "not a measure of the recycled content physically in any product", "Log entry #24",
                     "Download the proof bundle"):
        assert expected in text, expected


def test_retirement_search_filters(client, demo):
    def rows(**query):
        return text_of(client.get("/retirements", query_string=query).get_data(as_text=True))

    assert "#1 Northwind Packaging 40.000" in rows()
    assert "#1 Northwind Packaging" in rows(beneficiary="northwind packaging", year="2026", arc_type="PP")
    assert "No retirements match" in rows(arc_type="PEQ")
    assert "No retirements match" in rows(beneficiary="Someone Else")
    assert "#1" in rows(cursor="not-a-cursor")  # a bad cursor starts from the beginning


def test_participants_directory_shows_public_fields_and_additionality(client, demo):
    text = text_of(client.get("/participants").get_data(as_text=True))
    assert "Great Lakes Reprocessing US · Active" in text
    assert "Great Lakes Reprocessing plant US 20,000.000 t additional (2026, new operation) 18,000.000 t" in text
    assert "Cascade Trading US Active" in text and "Northwind Packaging US Active" in text
    assert "@" not in text  # no user e-mail addresses


def test_downloaded_proof_is_what_arcreg_verify_proof_accepts(client, demo, tmp_path):
    response = client.get("/retirements/1/proof.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="retirement-1-proof.json"'
    proof = json.loads(response.get_data())
    vkey = client.get("/api/v1/log/key").get_json()["vkey"]
    report = verify_provenance(proof, [parse_vkey(vkey)])
    assert report.serial == RETIRED and report.state == "retired" and report.entries == 5
    path = tmp_path / "proof.json"
    path.write_bytes(response.get_data())
    run = subprocess.run([ARCREG, "verify-proof", str(path), "--vkey", vkey], env=clean_env(),
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    certificate_proof = client.get(f"/certificates/{GENERATED}/proof.json")
    assert verify_provenance(json.loads(certificate_proof.get_data()), [parse_vkey(vkey)]).state == "split"


def test_pages_read_the_registry_without_changing_it(client, demo, engine):
    """Reading pages signs at most a checkpoint (R-L4): no block or retirement changes."""
    def state():
        with session_factory(engine)() as session:
            return ([(b.serial, b.state, b.owner_id) for b in session.exec(select(Block).order_by(Block.serial))],
                    len(session.exec(select(Retirement)).all()))

    before = state()
    for path in PUBLIC_PAGES:
        client.get(path)
    assert state() == before


def test_a_product_claim_statement_shows_the_product_and_claim_share(client, demo):
    """R-R2 claim details of a product claim (R-R3): product, composition, basis and share."""
    remainder = "PC_P_PP_ARC-2026-1-000000075001-000000100000"  # 25 of Northwind's unretired PP
    response = client.post("/api/v1/retirements", headers={"Authorization": f"Bearer {demo.brand_token}"}, json={
        "serial": remainder, "quantity": "5.000", "beneficiary": "Northwind Packaging", "claim_type": "product",
        "reporting_year": 2026, "claim_date": "2026-03-02", "basis_mass": {"value": "20", "unit": "t"},
        "product": {"name": "Salad tray 250 ml", "composition": [{"arc_type": "PP", "mass": {"value": "8", "unit": "t"}}]}})
    assert response.status_code == 201, response.get_data(as_text=True)
    page = client.get(f"/retirements/{response.get_json()['id']}").get_data(as_text=True)
    assert check_page(page) == []
    text = text_of(page)
    for expected in ("Claim type product", "Claim date 2026-03-02", "Claim basis 20.000 t", "Claim share 25.00%",
                     "Product Salad tray 250 ml, containing PP 8.000 t"):
        assert expected in text, expected


@pytest.mark.parametrize("path", ["/", "/certificates", "/retirements", "/participants", "/workspace/sign-in"])
def test_pages_of_an_empty_registry(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert check_page(response.get_data(as_text=True)) == []
