"""The certifier's page in headless Chromium against a real `arcreg serve` of the demo (R-W4,
R-C6, R-M8, R-W6): the NSF certifier renews Great Lakes' certificate, is told in plain words
why a second renewal over the same days is refused, and downloads the custody account's
closed periods of the previous 18 months for an audit; the page with its open forms passes axe
at desktop and phone width.

The journey writes to the registry, so this file serves a demo of its own."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.browser.conftest import REFUSED, watched_page
from tests.browser.demoserver import demo_server
from tests.browser.signin import sign_in
from tests.browser.test_explorer_browser import _axe_problems

pytestmark = [pytest.mark.slow, pytest.mark.wallclock]

NUMBER = "RMS-NSF-00234"  # Great Lakes Reprocessing's, 2025-01-01 to 2027-12-31 on the demo's clock
VIEWPORTS = ((1280, 900), (390, 844))


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("certifier-demo"), witness=False) as running:
        yield running


@pytest.fixture
def page(browser, server):
    with watched_page(browser, REFUSED) as page:
        yield page


def test_the_nsf_certifier_renews_a_certificate_and_downloads_the_audit_periods(page, server):
    base = server.base
    sign_in(page, base, server.logins["certifier"], then="/workspace/certifier")
    page.get_by_text(f"Renew, amend, suspend or revoke {NUMBER}").click()
    page.fill(f"#renew-{NUMBER}-issued_on", "2028-01-01")
    page.fill(f"#renew-{NUMBER}-expires_on", "2028-12-31")
    page.get_by_role("button", name=f"Renew {NUMBER}").click()
    page.wait_for_url(f"{base}/workspace/certifier?certificate={NUMBER}&done=renewed#certificates")
    main = page.inner_text("main")
    assert f"Certificate {NUMBER} is renewed." in main
    assert "2028-01-01 to 2028-12-31" in page.inner_text(f"tr:has(a:text('{NUMBER}'))")  # the latest period
    page.get_by_text(f"Renew, amend, suspend or revoke {NUMBER}").click()
    assert "Validity periods: 2025-01-01 to 2027-12-31; 2028-01-01 to 2028-12-31." in page.inner_text(
        f"#change-{NUMBER}")

    # the same days again: refused, with the rule and what to change, on the field (R-W6)
    page.fill(f"#renew-{NUMBER}-issued_on", "2028-06-01")
    page.fill(f"#renew-{NUMBER}-expires_on", "2029-05-31")
    page.get_by_role("button", name=f"Renew {NUMBER}").click()
    error = page.inner_text(f"#renew-{NUMBER}-issued_on-error")
    assert "(R-C6)" in error and "Start the new validity period after the current one ends." in error
    assert page.get_attribute(f"#renew-{NUMBER}-issued_on", "aria-invalid") == "true"

    # the custody account's closed periods of the previous 18 months, as CSV (R-M8, RMS 6.4.4.4)
    page.goto(f"{base}/workspace/certifier")
    downloads = page.locator("p[data-downloads]").first
    assert "the periods ending on or after 2024-09-02" in downloads.inner_text()
    with page.expect_download() as info:
        downloads.get_by_role("link", name="CSV").click()
    download = info.value
    assert re.fullmatch(r"custody-\d+-periods-from-2024-09-02\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    assert [(r["n"], r["starts_on"], r["ends_on"]) for r in rows] == [("1", "2026-01-01", "2026-01-31")]
    with page.expect_download() as info:
        downloads.get_by_role("link", name="Excel").click()
    assert info.value.suggested_filename.endswith(".xlsx")


def test_the_certifier_page_with_its_forms_open_has_no_serious_accessibility_violations(page, server):
    base = server.base
    sign_in(page, base, server.logins["certifier"], then="/workspace/certifier")
    problems = {}
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/workspace/certifier")
        page.get_by_text(f"Renew, amend, suspend or revoke {NUMBER}").click()
        page.locator("td details summary").first.click()  # a determination's withdrawal
        problems[(width, "open")] = _axe_problems(page)
        page.get_by_role("button", name=f"Record the change to {NUMBER}").click()  # refused: no reason
        page.wait_for_selector(".field-error")
        problems[(width, "refused")] = _axe_problems(page)
    assert {k: v for k, v in problems.items() if v} == {}
