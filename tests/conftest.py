"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests use ``ARCREG_TEST_POSTGRES_URL`` (a server URL whose user may
CREATE DATABASE). Each test gets a fresh database cloned from a template that
was migrated to head once per test session, so tests commit for real, run
concurrent connections, and never see each other's rows. Without the variable
the PostgreSQL half is skipped — unless ``ARCREG_REQUIRE_POSTGRES=1`` (CI),
where a missing server fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from api import create_app
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import make_engine
from registry.migrate import upgrade

BACKENDS = ["sqlite", "postgresql"]


def _require_postgres() -> bool:
    return os.environ.get("ARCREG_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get("ARCREG_TEST_POSTGRES_URL")
    if not url:
        if _require_postgres():
            pytest.fail("ARCREG_REQUIRE_POSTGRES=1 but ARCREG_TEST_POSTGRES_URL is not set")
        pytest.skip("ARCREG_TEST_POSTGRES_URL not set: PostgreSQL tests skipped")
    try:
        probe = create_engine(url)
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as exc:
        message = f"PostgreSQL at {url} is not reachable: {exc}"
        if _require_postgres():
            pytest.fail(message)
        pytest.skip(message)
    return url


class PostgresDatabases:
    """Creates and drops databases on the test server."""

    def __init__(self, server_url: str) -> None:
        self.server_url = make_url(server_url)
        self.admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")

    def url_for(self, name: str) -> str:
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_databases(pg_server_url) -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(pg_server_url)
    yield databases
    databases.admin.dispose()


def _unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def pg_template(pg_databases) -> Iterator[str]:
    name = _unique("arcreg_tmpl")
    engine = make_engine(pg_databases.create(name))
    upgrade(engine)
    engine.dispose()
    yield name
    pg_databases.drop(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return str(path)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def empty_db_url(backend, request, tmp_path) -> Iterator[str]:
    """A URL of a fresh, empty database (no tables) on the current backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    databases = request.getfixturevalue("pg_databases")
    name = _unique("arcreg_empty")
    yield databases.create(name)
    databases.drop(name)


@pytest.fixture
def db_url(backend, request, tmp_path) -> Iterator[str]:
    """A URL of a fresh database migrated to head, on the current backend."""
    if backend == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("pg_databases")
    name = _unique("arcreg_test")
    yield databases.create(name, template=request.getfixturevalue("pg_template"))
    databases.drop(name)


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_databases, pg_template) -> Iterator[str]:
    """PostgreSQL only: a fresh migrated database."""
    name = _unique("arcreg_test")
    yield pg_databases.create(name, template=pg_template)
    pg_databases.drop(name)


@pytest.fixture
def pg_engine(pg_url) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


# --- The application over the current test database ---------------------------

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
# Tests write far faster than any client should; the default limit stays the default.
TEST_RATE_LIMIT = "100000/minute"
# Tests move the clock years ahead (use periods, removal after a year) with the tokens they
# made at NOW; the default maximum lifetime (365 days, R-X7) is tested on its own in
# tests/api/test_security_token_lineage.py.
TEST_TOKEN_LIFETIME_DAYS = 36500


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def app(engine, db_url, clock, tmp_path):
    config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem", rate_limit=TEST_RATE_LIMIT,
                    token_max_lifetime_days=TEST_TOKEN_LIFETIME_DAYS, read_rate_limit=TEST_RATE_LIMIT)
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
