"""The workspace's tests: the app over each database, TOTP checked on the pinned clock."""

from __future__ import annotations

import pytest

from tests.workspace.people import Browser


@pytest.fixture
def app(app, clock):
    # R-W1: TOTP follows real time in a served registry; here it follows the pinned clock.
    app.extensions["arcreg"].otp_clock = clock
    return app


@pytest.fixture
def browser(app):
    return Browser(app)


@pytest.fixture
def new_browser(app):
    return lambda: Browser(app)
