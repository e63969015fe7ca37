"""Browser tests: Debian's Chromium (never a downloaded browser) driven by
Playwright against a real `arcreg serve` on 127.0.0.1.

Without Chromium or Playwright the tests skip with the reason — unless
ARCREG_REQUIRE_BROWSER=1 (CI), where a missing browser fails the run."""

from __future__ import annotations

import os

import pytest

from tests.browser.demoserver import CHROMIUM, CHROMIUM_ARGS, demo_server


def _unavailable(reason: str):
    if os.environ.get("ARCREG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ARCREG_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def server(browser, tmp_path_factory):
    """(base URL, admin token) of the demo registry served by a real process."""
    with demo_server(tmp_path_factory.mktemp("browser-demo")) as running:
        yield running


@pytest.fixture
def page(browser, server):
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A refused login answers 401 by design; any other failed load or script error counts.
    page.on("console", lambda message: message.type == "error" and "status of 401" not in message.text
            and errors.append(message.text))
    yield page
    context.close()
    assert errors == [], f"browser errors: {errors}"
