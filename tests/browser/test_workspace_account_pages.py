"""The account pages in headless Chromium against the served demo (R-W1, R-W3, R-W5, R-W6):
Cascade Trading's member registers a webhook, sees its signing secret once and disables it;
creates an API token, sees it once, uses it on the API and revokes it; the administrator
registers a participant, activates it and suspends it. axe on every state shown, at desktop
and phone width, and each page's refused form says what to change. And Northwind downloads its
account statement and its retirements as Excel workbooks from the pages (R-N3, R-N4)."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from openpyxl import load_workbook

from api import exports
from api.statements import STATEMENT_COLUMNS

from tests.browser.signin import sign_in
from tests.browser.test_explorer_browser import _axe_problems
from tests.serverproc import call

pytestmark = [pytest.mark.slow, pytest.mark.wallclock]

SIZES = ((1280, 900), (390, 844))
HOOK = "https://hooks.cascade-trading.invalid/arc-events"  # RFC 6761: never resolves, never looked up
NEW_PARTICIPANT = "Delta Polymers"


def _axe_at_both_sizes(page, label: str, problems: dict) -> None:
    """axe on the state shown, at each width (a viewport change does not reload the page)."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        problems[(width, label)] = _axe_problems(page)
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})


def _serious(problems: dict) -> dict:
    return {k: v for k, v in problems.items() if v}


@contextmanager
def _other_context(browser):
    """A refused form answers 4xx, which Chromium logs as a console error: its own context, not `page`'s."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_member_registers_a_webhook_sees_its_secret_once_and_disables_it(page, server):
    base, problems = server.base, {}
    sign_in(page, base, server.logins["trader"], then="/workspace/webhooks")
    _axe_at_both_sizes(page, "webhooks", problems)
    page.fill("#url", HOOK)
    page.get_by_role("button", name="Register", exact=True).click()
    shown = page.locator("[data-secret]")
    endpoint = re.fullmatch(r"Endpoint #(\d+) registered", shown.locator("h2").inner_text()).group(1)
    secret = shown.locator("code.secret").inner_text()
    assert len(secret) >= 24 and "shown this once" in shown.inner_text()
    _axe_at_both_sizes(page, "webhook registered", problems)
    card = page.locator(f"[data-webhook='{endpoint}']")
    assert HOOK in card.inner_text() and "enabled" in card.locator(".state").inner_text()
    page.goto(f"{base}/workspace/webhooks")  # shown once: never again
    assert secret not in page.content() and page.locator("[data-secret]").count() == 0
    page.get_by_role("button", name=f"Disable endpoint #{endpoint}").click()
    page.wait_for_url(f"{base}/workspace/webhooks?notice=disabled")
    assert "nothing is sent to it until you enable it" in page.inner_text("main")
    card = page.locator(f"[data-webhook='{endpoint}']")
    assert card.locator(".state").inner_text() == "disabled"
    assert card.get_by_role("button", name=f"Enable endpoint #{endpoint}").count() == 1
    _axe_at_both_sizes(page, "webhook disabled", problems)
    assert _serious(problems) == {}


def test_a_member_creates_an_api_token_sees_it_once_and_revokes_it(page, server):
    base, problems = server.base, {}
    sign_in(page, base, server.logins["trader"], then="/workspace/account/tokens")
    page.fill("#label", "ERP export")
    page.select_option("#days", "30")
    page.get_by_role("button", name="Create", exact=True).click()
    issued = page.locator("[data-issued]")
    token_id = re.fullmatch(r"Token #(\d+) created", issued.locator("h2").inner_text()).group(1)
    token = issued.locator("code.secret").inner_text()
    assert token.startswith("arc_") and "shown this once" in issued.inner_text()
    _axe_at_both_sizes(page, "token created", problems)
    # A program uses it on the API ...
    status, _ = call("GET", f"{base}/api/v1/events?limit=1", token=token)
    assert status == 200
    page.goto(f"{base}/workspace/account/tokens")  # shown once: never again
    assert token not in page.content() and page.locator("[data-issued]").count() == 0
    row = page.locator(f"tr[data-token='{token_id}']")
    assert "ERP export" in row.inner_text() and "active" in row.inner_text()
    row.get_by_role("button", name=f"Revoke token #{token_id}").click()
    page.wait_for_url(f"{base}/workspace/account/tokens?notice=revoked")
    assert "The token is revoked" in page.inner_text("main")
    assert "revoked" in page.locator(f"tr[data-token='{token_id}']").inner_text()
    assert page.get_by_role("button", name=f"Revoke token #{token_id}").count() == 0
    _axe_at_both_sizes(page, "token revoked", problems)
    # ... and no longer once revoked.
    status, _ = call("GET", f"{base}/api/v1/events?limit=1", token=token)
    assert status == 401
    assert _serious(problems) == {}


def test_the_administrator_registers_activates_and_suspends_a_participant(page, server):
    base, problems = server.base, {}
    sign_in(page, base, server.logins["administrator"], then="/workspace/participants")
    page.fill("#name", NEW_PARTICIPANT)
    page.fill("#country", "DE")
    page.fill("#gpp_signed_on", "2026-02-15")
    page.get_by_role("button", name="Register", exact=True).click()
    page.wait_for_url(f"{base}/workspace/participants?notice=registered")
    row = page.locator("tr[data-participant]", has_text=NEW_PARTICIPANT)
    assert row.locator(".state").inner_text() == "pending" and "2026-02-15" in row.inner_text()
    _axe_at_both_sizes(page, "participant registered", problems)
    row.get_by_role("button", name=f"Activate {NEW_PARTICIPANT}").click()
    page.wait_for_url(f"{base}/workspace/participants?notice=activated")
    row = page.locator("tr[data-participant]", has_text=NEW_PARTICIPANT)
    assert row.locator(".state").inner_text() == "active"
    row.get_by_label(f"Reason for suspending {NEW_PARTICIPANT}").fill("Good Practice Principles breached")
    row.get_by_role("button", name=f"Suspend {NEW_PARTICIPANT}").click()
    page.wait_for_url(f"{base}/workspace/participants?notice=suspended")
    assert "its holdings are frozen until it is activated again" in page.inner_text("main")
    row = page.locator("tr[data-participant]", has_text=NEW_PARTICIPANT)
    assert row.locator(".state").inner_text() == "suspended"
    assert row.get_by_role("button", name=f"Activate {NEW_PARTICIPANT}").count() == 1  # reactivate (R-P3)
    _axe_at_both_sizes(page, "participant suspended", problems)
    # The public explorer's list says so too.
    page.goto(f"{base}/participants")
    assert NEW_PARTICIPANT in page.inner_text("main")
    assert _serious(problems) == {}


def test_the_refused_forms_say_what_to_change(browser, server):
    base, problems = server.base, {}
    with _other_context(browser) as form:
        sign_in(form, base, server.logins["trader"], then="/workspace/webhooks")
        form.fill("#url", "http://hooks.cascade-trading.invalid/arc-events")
        form.get_by_role("button", name="Register", exact=True).click()
        form.wait_for_selector(".field-error")
        assert "https" in form.locator(".field-error").inner_text()
        assert form.locator("[data-secret]").count() == 0
        _axe_at_both_sizes(form, "webhook refused", problems)
        form.goto(f"{base}/workspace/account/tokens")
        form.get_by_role("button", name="Create", exact=True).click()  # no label
        form.wait_for_selector(".field-error")
        assert form.locator("[data-issued]").count() == 0
        _axe_at_both_sizes(form, "token refused", problems)
    with _other_context(browser) as admin:
        sign_in(admin, base, server.logins["administrator"], then="/workspace/participants")
        admin.fill("#name", "Nowhere Plastics")
        admin.fill("#country", "XX")
        admin.get_by_role("button", name="Register", exact=True).click()
        admin.wait_for_selector(".field-error")
        assert "country" in admin.locator(".field-error").inner_text().lower()
        assert admin.locator("tr[data-participant]", has_text="Nowhere Plastics").count() == 0
        _axe_at_both_sizes(admin, "participant refused", problems)
    assert _serious(problems) == {}


def _downloaded(page, click, tmp_path):
    with page.expect_download() as download:
        click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    return path, list(load_workbook(path).active.values)


def test_the_brand_downloads_its_statement_and_retirements_as_workbooks(page, server, tmp_path):
    base = server.base
    sign_in(page, base, server.logins["brand"], then="/workspace/statement")
    page.fill("#start", "2026-01-01")
    page.fill("#end", "2026-03-02")
    # The form's own button, no script: the period travels in the download's query.
    path, rows = _downloaded(page, page.get_by_role("button", name="Download as Excel").click, tmp_path)
    assert path.name.startswith("statement-") and path.name.endswith("-2026-01-01-2026-03-02.xlsx")
    assert rows[0] == STATEMENT_COLUMNS
    movements = [dict(zip(STATEMENT_COLUMNS, row, strict=True)) for row in rows[1:] if row[0] == "movement"]
    assert movements and all(isinstance(m["quantity"], int | float) for m in movements)
    assert "retired" in {m["kind"] for m in movements}
    page.get_by_role("button", name="Show the statement").click()
    page.wait_for_url(f"{base}/workspace/statement?start=2026-01-01&end=2026-03-02")
    path, again = _downloaded(page, page.get_by_role("link", name="Excel").click, tmp_path)
    assert again == rows  # the printable page's link: the same period, the same workbook
    page.goto(f"{base}/workspace/retire")
    path, rows = _downloaded(page, page.locator("[data-downloads]").get_by_role("link", name="Excel").click, tmp_path)
    assert rows[0] == exports.RETIREMENT_COLUMNS and len(rows) > 1
    owner = exports.RETIREMENT_COLUMNS.index("owner_id")
    assert len({row[owner] for row in rows[1:]}) == 1  # its own retirements only
