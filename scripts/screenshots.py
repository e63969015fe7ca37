"""Screenshots of every explorer page at desktop (1280 px) and phone (390 px)
width, written to docs/screenshots/<page>-desktop.png and <page>-phone.png;
and of a few workspace pages after an action (a webhook's secret and a token
shown once, a participant suspended).

Starts the demo registry (registry/demo.py, plus a pending participant and a
cosigning witness) under a real `arcreg serve`, and drives Debian's Chromium
(/usr/bin/chromium) with Playwright. Run from the repository root:

    python scripts/screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright

from tests.browser.demoserver import CHROMIUM, CHROMIUM_ARGS, DEMO_CLOCK, DEMO_YEAR, RETIRED, demo_server
from tests.browser.signin import sign_in

OUT = ROOT / "docs" / "screenshots"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
PAGES = {
    "home": "/",
    "lookup": "/certificates",
    "certificate": f"/certificates/{RETIRED}",
    "retirements": "/retirements",
    "statement": "/retirements/1",
    "participants": "/participants",
    "sign-in": "/workspace/sign-in",
}
# Signed in (R-W1): the administrator's pages, then a member's.
ADMIN_PAGES = {"admin": "/admin", "workspace-admin": "/workspace", "workspace-users": "/workspace/users",
               "workspace-participants": "/workspace/participants"}
MEMBER_PAGES = {"workspace-member": "/workspace", "workspace-account": "/workspace/account",
                "workspace-enrol": "/workspace/account/two-factor",
                "workspace-tokens": "/workspace/account/tokens", "workspace-holdings": "/workspace/holdings",
                "workspace-transfer": "/workspace/transfer", "workspace-retire": "/workspace/retire",
                "workspace-statement": "/workspace/statement", "workspace-webhooks": "/workspace/webhooks",
                "workspace-statement-printed": f"/workspace/statement?start={DEMO_YEAR}-01-01&end={DEMO_CLOCK[:10]}"}
# The trader's offers (R-T6), the generator's pages (R-W2) and the certifier's (R-W4).
TRADER_PAGES = {"workspace-offers": "/workspace/offers"}
GENERATOR_PAGES = {"workspace-facilities": "/workspace/facilities", "workspace-lots": "/workspace/lots",
                   "workspace-lot": "/workspace/lots/1", "workspace-lot-new": "/workspace/lots/new",
                   "workspace-custody": "/workspace/custody"}
CERTIFIER_PAGES = {"workspace-certifier": "/workspace/certifier"}


# Page states after an action (the journeys of tests/browser/test_workspace_account_pages.py): each
# leaves the page showing the state. Shot last, as they add rows the pages above would show; each
# action runs once and its state is shot at every width.
def webhook_registered(page, base: str) -> None:
    page.goto(f"{base}/workspace/webhooks")
    page.fill("#url", "https://hooks.cascade-trading.invalid/arc-events")
    page.get_by_role("button", name="Register", exact=True).click()
    page.wait_for_selector("[data-secret]")


def token_created(page, base: str) -> None:
    page.goto(f"{base}/workspace/account/tokens")
    page.fill("#label", "ERP export")
    page.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_selector("[data-issued]")


def participant_suspended(page, base: str) -> None:
    name = "Delta Polymers"
    page.goto(f"{base}/workspace/participants")
    page.fill("#name", name)
    page.fill("#country", "DE")
    page.fill("#gpp_signed_on", f"{DEMO_YEAR}-02-15")
    page.get_by_role("button", name="Register", exact=True).click()
    page.get_by_role("button", name=f"Activate {name}").click()
    page.get_by_label(f"Reason for suspending {name}").fill("Good Practice Principles breached")
    page.get_by_role("button", name=f"Suspend {name}").click()
    page.wait_for_url(f"{base}/workspace/participants?notice=suspended")


TRADER_STATES = {"workspace-webhook-registered": webhook_registered, "workspace-token-created": token_created}
ADMIN_STATES = {"workspace-participant-suspended": participant_suspended}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (tempfile.TemporaryDirectory() as directory, demo_server(Path(directory)) as served,
          sync_playwright() as playwright):
        base = served.base
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for device, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height},
                                          device_scale_factor=1)
            page = context.new_page()
            for name, path in PAGES.items():
                page.goto(f"{base}{path}")
                if name == "certificate":
                    page.click("#verify-button")  # show the in-browser verification's result
                    page.wait_for_selector("#verify-result[data-state]:not([data-state=running])")
                shoot(page, f"{name}-{device}")
            logins = served.logins
            for login, pages in ((logins["administrator"], ADMIN_PAGES), (logins["brand"], MEMBER_PAGES),
                                 (logins["trader"], TRADER_PAGES), (logins["generator"], GENERATOR_PAGES),
                                 (logins["certifier"], CERTIFIER_PAGES)):
                sign_in(page, base, login)
                for name, path in pages.items():
                    page.goto(f"{base}{path}")
                    shoot(page, f"{name}-{device}")
                sign_out(page, base)
            context.close()
        context = browser.new_context(device_scale_factor=1)
        page = context.new_page()
        for login, states in ((served.logins["trader"], TRADER_STATES),
                              (served.logins["administrator"], ADMIN_STATES)):
            sign_in(page, base, login)
            for name, act in states.items():
                page.set_viewport_size({"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]})
                act(page, base)
                for device, (width, height) in WIDTHS.items():
                    page.set_viewport_size({"width": width, "height": height})
                    shoot(page, f"{name}-{device}")
            sign_out(page, base)
        context.close()
        browser.close()


def sign_out(page, base: str) -> None:
    page.goto(f"{base}/workspace")  # the printable statement is in the explorer's look, without the button
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/workspace/sign-in?notice=signed_out")


def shoot(page, name: str) -> None:
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
