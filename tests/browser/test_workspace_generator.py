"""The generator and certifier pages in headless Chromium against a real `arcreg serve` of the
demo (R-W2, R-W4, R-W6): Great Lakes Reprocessing registers a lot, records its sale, reads
what the lot can back and why, and generates exactly that; the NSF certifier records an
additionality determination; every page passes axe at desktop and phone width.

The journeys write to the registry, so this file serves a demo of its own (the other browser
files share theirs and expect it as built)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.browser.conftest import REFUSED, watched_page
from tests.browser.demoserver import demo_server
from tests.browser.signin import sign_in
from tests.browser.test_explorer_browser import _axe_problems

pytestmark = [pytest.mark.slow, pytest.mark.wallclock]

VIEWPORTS = ((1280, 900), (390, 844))


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("generator-demo"), witness=False) as running:
        yield running




@pytest.fixture
def page(browser, server):
    with watched_page(browser, REFUSED) as page:
        yield page


def _register_lot(page, base: str, reference: str) -> str:
    page.goto(f"{base}/workspace/lots/new")
    page.select_option("#facility_id", label="Great Lakes Reprocessing plant (US)")
    page.fill("#reference", reference)
    page.fill("#material_code", "PC_P3.1.9")
    page.fill("#mass_value", "40")
    page.select_option("#mass_unit", "t")
    page.fill("#non_plastic_fraction", "0.01")
    page.fill("#processed_on", "2026-02-20")
    page.select_option("#custody_account_id", index=1)  # the plant's mass-balance account (R-M6)
    page.fill("#input_material_code", "PC_P5.1.6")
    page.fill("#input_mass_value", "48")
    page.fill("#description", "sort, wash, grind, extrude")
    page.fill("#factor", "83.333")
    page.fill("#justification", "measured yield, last four quarters")
    page.fill("#output_mass_value", "40")
    page.get_by_role("button", name="Register the lot").click()
    page.wait_for_url(re.compile(r".*/workspace/lots/\d+\?notice=registered$"))
    return page.url.split("?")[0]


def test_great_lakes_registers_a_lot_and_generates_what_the_preview_shows(page, server):
    base = server.base
    sign_in(page, base, server.logins["generator"])
    page.get_by_role("link", name="Lots").first.click()
    page.wait_for_url(f"{base}/workspace/lots")
    assert "GL-2026-PP-001" in page.inner_text("main")
    lot_page = _register_lot(page, base, "GL-2026-PP-W01")
    assert "The lot is registered." in page.inner_text("main")
    assert "nothing to generate now" in page.inner_text("main")  # nothing sold yet (R-B3)

    page.fill("#sale-on", "2026-02-25")
    page.fill("#sale-counterparty", "Tray Co")
    page.fill("#sale-mass_value", "40")
    page.get_by_role("button", name="Record the disposition").click()
    page.wait_for_url(f"{lot_page}?notice=disposition")

    # The preview: 40 t sold and not claimed, but the account has 30 t of credit left after the
    # demo's claimed sale (50 t) and ARCs (100 t) on its 180 t (R-M4, R-M6) — the credit binds.
    preview = page.inner_text("#generate-heading + .availability")
    assert "up to 30000.000 kg of base mass, 30.000 certificates" in preview
    assert "40000.000 kg sold or consumed, 0.000 kg carried as RMS claims" in preview
    assert "eligible volume for 2026" in preview
    binding = page.inner_text("tr.binding")
    assert "Custody credit" in binding and "30000.000" in binding
    assert page.input_value("#gen-mass_value") == "30000.000"
    page.get_by_role("button", name="Generate").click()
    page.wait_for_url(re.compile(re.escape(lot_page) + r"\?notice=generated.*"))
    main = page.inner_text("main")
    assert "Generated block PC_P_PP_ARC-2026-" in main
    assert "nothing to generate now" in main  # the credit is used up
    serial = re.search(r"PC_P_PP_ARC-2026-\S+", main).group(0).rstrip(".")
    page.goto(f"{base}/certificates/{serial}")
    assert "30.000" in page.inner_text("main")


def test_a_refused_generation_says_why_and_what_to_change(page, server):
    base = server.base
    sign_in(page, base, server.logins["generator"])
    page.goto(f"{base}/workspace/lots")
    page.get_by_role("link", name="GL-2026-PP-001").click()
    page.fill("#gen-mass_value", "999999")
    page.get_by_role("button", name="Generate").click()
    error = page.inner_text("#gen-mass_value-error")
    assert "(R-B4)" in error and "Generate or claim no more than the lot's sold mass left." in error
    assert page.get_attribute("#gen-mass_value", "aria-invalid") == "true"


def test_the_nsf_certifier_records_a_determination(page, server):
    base = server.base
    sign_in(page, base, server.logins["certifier"])
    page.get_by_role("link", name="Participants you certify").click()
    page.wait_for_url(f"{base}/workspace/certifier")
    main = page.inner_text("main")
    assert "Great Lakes Reprocessing" in main and "RMS-NSF-00234" in main and "resins, mass-balance" in main
    page.select_option("#facility_id", label="Great Lakes Reprocessing plant — Great Lakes Reprocessing")
    page.fill("#certification_year", "2026")
    page.fill("#mandate_share", "0.20")
    page.select_option("#basis", "new_operation")
    page.fill("#operation_start", "2024-05-01")
    page.select_option("#class_b_test", "financial")
    page.fill("#class_b_rationale", "the plant is viable only with ARC revenue (audit 2026)")
    page.get_by_role("button", name="Record the determination").click()
    page.wait_for_url(re.compile(r".*/workspace/certifier\?recorded=\d+#determinations$"))
    main = page.inner_text("main")
    assert re.search(r"Determination \d+ is recorded\.", main)
    assert "16000000.000" in main  # 20 000 t × (1 − 0.20) for 2026 (R-A4, R-A7)


def test_generator_and_certifier_pages_have_no_serious_accessibility_violations(browser, page, server):
    base = server.base
    problems = {}
    sign_in(page, base, server.logins["generator"])
    page.goto(f"{base}/workspace/lots")
    lot = page.get_by_role("link", name="GL-2026-PP-001").get_attribute("href")
    paths = ["/workspace", "/workspace/facilities", "/workspace/lots", "/workspace/lots/new", lot,
             "/workspace/custody"]
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        for path in paths:
            page.goto(f"{base}{path}")
            problems[(width, path)] = _axe_problems(page)
        page.goto(f"{base}/workspace/lots/new")
        page.get_by_role("button", name="Register the lot").click()  # refused: every field says why
        page.wait_for_selector(".field-error")
        problems[(width, "lot refused")] = _axe_problems(page)
    certifier = browser.new_context()
    certifier.set_default_timeout(15_000)
    try:
        other = certifier.new_page()
        sign_in(other, base, server.logins["certifier"], then="/workspace/certifier")
        for width, height in VIEWPORTS:
            other.set_viewport_size({"width": width, "height": height})
            other.goto(f"{base}/workspace/certifier")
            problems[(width, "certifier")] = _axe_problems(other)
            other.get_by_role("button", name="Record the determination").click()  # refused: no rationale
            other.wait_for_selector(".field-error")
            problems[(width, "certifier refused")] = _axe_problems(other)
    finally:
        certifier.close()
    assert {k: v for k, v in problems.items() if v} == {}


def _pc_credit(page) -> Decimal:
    facts = page.inner_text("section:has(h2:text('resins, mass-balance')) dl.facts")
    return Decimal(re.search(r"PC (\d+\.\d+) kg", facts).group(1))


def test_great_lakes_records_a_receipt_and_sees_its_credit_grow(page, server):
    """R-M2, R-M4, R-W2, R-W6: a refused receipt says why, in place; a certified one adds its mass after the
    account's conversion factor (0.90) to the credit shown."""
    base = server.base
    sign_in(page, base, server.logins["generator"], then="/workspace/custody")
    page.goto(f"{base}/workspace/custody")
    before = _pc_credit(page)
    form = page.locator("form[action$='/inputs']").first
    prefix = "in" + form.get_attribute("action").split("/")[-2]
    page.get_by_text(re.compile(r"^Record an input \(receipt\) on account")).first.click()

    def fill(reference: str) -> None:
        page.fill(f"#{prefix}-on", "2026-03-02")
        page.fill(f"#{prefix}-supplier_name", "Midwest Sorting")
        page.fill(f"#{prefix}-supplier_certificate", "RMS-NSF-00418")
        page.fill(f"#{prefix}-reference", reference)
        page.fill(f"#{prefix}-material_code", "PC_P3.1.9")
        page.fill(f"#{prefix}-mass_value", "10")
        page.select_option(f"#{prefix}-mass_unit", "t")
        page.fill(f"#{prefix}-claim", "RMS 100% PC MB")
        page.get_by_role("button", name="Record the input").click()

    fill("MWS-4471")  # the demo received it already: once in the whole registry (R-M2)
    error = page.inner_text(f"#{prefix}-reference-error")
    assert "(R-M2)" in error and "already received" in error
    assert page.get_attribute(f"#{prefix}-reference", "aria-invalid") == "true"
    assert _pc_credit(page) == before
    assert _axe_problems(page) == []
    fill("MWS-4490")
    page.wait_for_url(re.compile(r".*/workspace/custody\?recorded=input#account-\d+$"))
    assert "The input is recorded" in page.inner_text("main")
    assert "MWS-4490" in page.inner_text("main")
    assert _pc_credit(page) == before + Decimal("9000.000")  # 10 t × 0.90
