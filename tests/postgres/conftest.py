"""PostgreSQL-only fixtures: a registry built through the API on a fresh
PostgreSQL database, for races between real connections and processes."""

from __future__ import annotations

import pytest

from api import create_app
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import make_engine
from tests.api.conftest import NOW
from tests.api.driver import Driver, bootstrap_admin
from tests.conftest import TEST_TOKEN_LIFETIME_DAYS


@pytest.fixture
def pg_clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def pg_wide_engine(pg_url):
    """Enough pooled connections for dozens of concurrent transactions."""
    engine = make_engine(pg_url, pool_size=40, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_driver(pg_url, pg_wide_engine, pg_clock, tmp_path) -> Driver:
    config = Config(database_url=pg_url, signing_key_file=tmp_path / "key.pem", rate_limit="100000/minute",
                    token_max_lifetime_days=TEST_TOKEN_LIFETIME_DAYS)  # the soak's clock runs years ahead
    app = create_app(config, clock=pg_clock, engine=pg_wide_engine)
    return Driver(app.test_client(), bootstrap_admin(pg_wide_engine, pg_clock))
