"""The workspace's sign-in in headless Chromium against a real `arcreg serve` (R-W1, R-W6):
a certifier signs in with a TOTP code, an administrator disables a user whose session
then ends, and every workspace page passes axe at desktop and phone width."""

from __future__ import annotations

import pytest

from tests.browser.signin import fresh_code, sign_in
from tests.browser.test_explorer_browser import _axe_problems

pytestmark = [pytest.mark.slow, pytest.mark.wallclock]


def test_a_certifier_signs_in_with_a_totp_code(page, server):
    base, certifier = server.base, server.logins["certifier"]
    page.goto(f"{base}/workspace")
    page.wait_for_url(f"{base}/workspace/sign-in?next=/workspace")
    page.fill("#email", certifier.email)
    page.fill("#password", certifier.password)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{base}/workspace/sign-in/code**")
    page.goto(f"{base}/workspace")  # the password alone opens nothing
    page.wait_for_url(f"{base}/workspace/sign-in?next=/workspace")
    sign_in(page, base, certifier)
    main = page.inner_text("main")
    assert "Certifier for body NSF" in main and certifier.email in main
    assert "Authenticator app on" in main
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/workspace/sign-in?notice=signed_out")
    assert "You are signed out." in page.inner_text("main")


def test_an_administrator_disables_a_user_whose_session_then_ends(browser, page, server):
    base, generator = server.base, server.logins["generator"]
    sign_in(page, base, generator)  # a member: the password alone
    assert "Great Lakes Reprocessing" in page.inner_text("main")
    admin_context = browser.new_context()
    admin_context.set_default_timeout(15_000)
    try:
        admin = admin_context.new_page()
        sign_in(admin, base, server.logins["administrator"], then="/workspace/users")
        admin.get_by_role("button", name=f"Disable {generator.email}").click()
        admin.wait_for_url(f"{base}/workspace/users?notice=disabled")
        assert "every session and API token of it stopped" in admin.inner_text("main")
        page.reload()
        page.wait_for_url(f"{base}/workspace/sign-in?next=/workspace")
        admin.get_by_role("button", name=f"Enable {generator.email}").click()
        admin.wait_for_url(f"{base}/workspace/users?notice=enabled")
    finally:
        admin_context.close()
    page.goto(f"{base}/workspace")
    page.wait_for_url(f"{base}/workspace/sign-in?next=/workspace")  # ended for good: sign in again
    sign_in(page, base, generator)


def test_workspace_pages_have_no_serious_accessibility_violations(browser, page, server):
    base = server.base
    problems = {}
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/workspace/sign-in")
        problems[(width, "sign-in")] = _axe_problems(page)
    page.fill("#email", server.logins["brand"].email)
    page.fill("#password", "not the password")
    page.click("form.login button[type=submit]")
    problems[(1280, "sign-in refused")] = _axe_problems(page)
    sign_in(page, base, server.logins["brand"])
    pages = ["/workspace", "/workspace/account", "/workspace/account/two-factor", "/workspace/account/tokens"]
    admin_pages = ["/workspace", "/workspace/users", "/workspace/participants", "/admin"]
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for path in pages:
            page.goto(f"{base}{path}")
            problems[(width, path)] = _axe_problems(page)
    admin_context = browser.new_context()
    admin_context.set_default_timeout(15_000)
    try:
        admin = admin_context.new_page()
        admin.goto(f"{base}/workspace/sign-in")
        admin.fill("#email", server.logins["administrator"].email)
        admin.fill("#password", server.logins["administrator"].password)
        admin.click("form.login button[type=submit]")
        admin.wait_for_url(f"{base}/workspace/sign-in/code**")
        problems[(1280, "code")] = _axe_problems(admin)
        admin.fill("#code", fresh_code(server.logins["administrator"].totp_secret))
        admin.click("form.login button[type=submit]")
        admin.wait_for_url(f"{base}/workspace")
        for width, height in ((1280, 900), (390, 844)):
            admin.set_viewport_size({"width": width, "height": height})
            for path in admin_pages:
                admin.goto(f"{base}{path}")
                problems[(width, "admin " + path)] = _axe_problems(admin)
    finally:
        admin_context.close()
    assert {k: v for k, v in problems.items() if v} == {}
