"""Browser tests: Debian's Chromium (never a downloaded browser) driven by
Playwright against a real `arcreg serve` on 127.0.0.1.

Without Chromium or Playwright the tests skip with the reason — unless
ARCREG_REQUIRE_BROWSER=1 (CI), where a missing browser fails the run."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager

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


#: A refused form answers with the rule's status (R-W6, R-X1): the browser logs it, and it is expected.
REFUSED = re.compile(r"status of (400|403|409|422) ")
#: A refused login answers 401 by design.
LOGIN_REFUSED = re.compile(r"status of 401")


@contextmanager
def watched_page(browser, expected: re.Pattern):
    """A page in a context of its own, downloads accepted; a script error, or a console error
    ``expected`` does not match (a failed load among them), fails the test."""
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and not expected.search(message.text)
            and errors.append(message.text))
    yield page
    context.close()
    assert errors == [], f"browser errors: {errors}"


@pytest.fixture
def page(browser, server):
    with watched_page(browser, LOGIN_REFUSED) as page:
        yield page
