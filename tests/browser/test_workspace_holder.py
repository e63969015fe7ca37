"""The holder pages in headless Chromium against the served demo (R-W3, R-W6): the brand
transfers in bulk from a CSV file after a preview (a bad file first: its lines' refusals),
the trader — which reviews incoming transfers — accepts Great Lakes' offer, the brand
retires for a product claim after previewing the statement and opens the public statement;
axe on every holder page at desktop and phone width."""

from __future__ import annotations

import pytest

from tests.browser.signin import sign_in
from tests.browser.test_explorer_browser import _axe_problems

pytestmark = [pytest.mark.slow, pytest.mark.wallclock]

HOLDER_PAGES = ["/workspace/holdings", "/workspace/transfer", "/workspace/offers", "/workspace/retire",
                "/workspace/statement", "/workspace/statement?start=2026-01-01&end=2026-03-02",
                "/workspace/webhooks"]


def _active_serials(page, base) -> list[str]:
    page.goto(f"{base}/workspace/holdings?state=active")
    return page.locator("table[data-blocks] tbody th code").all_inner_texts()


def _participant_id(page, name: str) -> str:
    return page.locator("details table tbody tr", has_text=name).locator("th").text_content().strip()


def test_the_brand_transfers_in_bulk_from_a_csv_file_after_a_preview(page, server, tmp_path):
    base = server.base
    sign_in(page, base, server.logins["brand"], then="/workspace/holdings")
    assert "By ARC type, vintage and state" in page.inner_text("main")
    serials = _active_serials(page, base)
    assert len(serials) >= 2
    page.goto(f"{base}/workspace/transfer")
    lakes, cascade = _participant_id(page, "Great Lakes Reprocessing"), _participant_id(page, "Cascade Trading")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"serial,quantity,to_participant_id\n{serials[0]},1,{lakes}\n{serials[0]},2,{cascade}\n"
                   f"{serials[1]},lots,{lakes}\n")
    page.set_input_files("#csv_file", str(bad))
    page.get_by_role("button", name="Upload and preview").click()
    preview = page.locator("[data-preview]")
    assert "2 of 3 lines cannot be transferred; nothing was written" in preview.inner_text()
    assert "Name each block once" in preview.locator("tr[data-line='3']").inner_text()
    assert "Write a number" in preview.locator("tr[data-line='4']").inner_text()
    assert page.locator("[data-confirm]").count() == 0
    good = tmp_path / "good.csv"
    good.write_text(f"serial,quantity,to_participant_id\n{serials[0]},1,{lakes}\n{serials[1]},2.5,{cascade}\n")
    page.set_input_files("#csv_file", str(good))
    page.get_by_role("button", name="Upload and preview").click()
    text = page.locator("[data-preview]").inner_text()
    assert "Every line can be transferred" in text and "of which 1 becomes an offer" in text
    assert "Cascade Trading reviews incoming transfers" in text
    assert _axe_problems(page) == []
    page.get_by_role("button", name="Confirm: transfer all 2").click()
    page.wait_for_selector("table[data-results]")
    main = page.inner_text("main")
    assert "2 transfers done" in main and "1 became an offer" in main
    assert "Great Lakes Reprocessing" in main and "Cascade Trading" in main


def test_the_trader_in_review_accepts_the_offer_from_great_lakes(page, server):
    base = server.base
    sign_in(page, base, server.logins["trader"], then="/workspace/holdings")
    attention = page.locator("[data-attention]").inner_text()
    assert "Great Lakes Reprocessing" in attention
    page.goto(f"{base}/workspace/offers")
    assert "Your participant reviews its incoming transfers." in page.inner_text("main")
    row = page.locator("table[data-incoming] tbody tr", has_text="Great Lakes Reprocessing").first
    offer = row.get_attribute("data-offer")
    row.get_by_role("button", name=f"Accept offer #{offer}").click()
    page.wait_for_url(f"{base}/workspace/offers?done=accept&offer={offer}")
    assert f"Offer #{offer} accepted" in page.inner_text("main")
    assert page.locator(f"table[data-incoming] tr[data-offer='{offer}']").count() == 0


def test_the_brand_retires_for_a_product_claim_and_opens_the_statement(page, server):
    base = server.base
    sign_in(page, base, server.logins["brand"], then="/workspace/retire")
    serial = page.locator("#serial option").nth(1).get_attribute("value")
    page.select_option("#serial", serial)
    page.fill("#quantity", "1")
    page.fill("#beneficiary", "Northwind Packaging")
    page.get_by_label("Product claim: a named product and its composition").check()
    page.fill("#product_name", "Harbor yoghurt tray")
    page.fill("#comp_type_0", "PP")
    page.fill("#comp_mass_0", "4")
    page.fill("#basis_mass", "4")
    page.fill("#country", "US")
    page.fill("#subdivision", "US-WA")
    page.fill("#statement", "One tray line's PP, backed by ARCs.")
    page.get_by_role("button", name="Preview the statement").click()
    preview = page.locator("[data-preview]")
    headline = preview.locator("[data-headline]").inner_text()
    assert "1 PC PP ARCs retired for Northwind Packaging" in headline and "of Harbor yoghurt tray" in headline
    assert "they are not a measure of the recycled content" in preview.inner_text()
    assert _axe_problems(page) == []
    page.get_by_role("button", name="Retire: this is final").click()
    page.wait_for_url(f"{base}/workspace/retire?retired=*")
    page.get_by_role("link", name="Open the public statement").click()
    page.wait_for_url(f"{base}/retirements/*")
    assert page.locator("h1").inner_text() == headline
    assert "Harbor yoghurt tray" in page.inner_text("main")


def test_holder_pages_have_no_serious_accessibility_violations(browser, page, server):
    base = server.base
    problems = {}
    sign_in(page, base, server.logins["brand"])
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for path in ["/workspace", *HOLDER_PAGES]:
            page.goto(f"{base}{path}")
            problems[(width, path)] = _axe_problems(page)
    # A refused form answers 4xx, which Chromium logs as a console error: its own context, not `page`'s.
    refused = browser.new_context()
    refused.set_default_timeout(15_000)
    try:
        form = refused.new_page()
        sign_in(form, base, server.logins["brand"], then="/workspace/transfer")
        for width, height in ((1280, 900), (390, 844)):
            form.set_viewport_size({"width": width, "height": height})
            form.goto(f"{base}/workspace/transfer")
            form.select_option("#serial", index=1)
            form.fill("#quantity", "999999")
            form.select_option("#to_participant_id", index=1)
            form.get_by_role("button", name="Transfer", exact=True).click()
            form.wait_for_selector(".field-error")
            assert "Enter a quantity no larger than what the block holds." in form.inner_text("main")
            problems[(width, "transfer refused")] = _axe_problems(form)
            form.goto(f"{base}/workspace/retire")
            form.select_option("#serial", index=1)
            form.fill("#quantity", "1")
            form.get_by_label("Product claim: a named product and its composition").check()
            form.get_by_role("button", name="Preview the statement").click()
            form.wait_for_selector(".field-error")
            assert "Name the product the claim is about." in form.inner_text("main")
            problems[(width, "retire refused")] = _axe_problems(form)
    finally:
        refused.close()
    assert {k: v for k, v in problems.items() if v} == {}
