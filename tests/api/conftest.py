"""Fixtures for HTTP tests through the Flask test client, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api import create_app
from registry.clock import FrozenClock
from registry.config import Config

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def app(engine, db_url, clock, tmp_path):
    config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem")
    app = create_app(config, clock=clock, engine=engine)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def driver(client, engine, clock):
    from tests.api.driver import Driver, bootstrap_admin

    return Driver(client, bootstrap_admin(engine, clock))
