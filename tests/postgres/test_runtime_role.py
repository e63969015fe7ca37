"""R-L8b on PostgreSQL: the server runs as a role that owns no table.

The audit (issue 16, finding 9): the application's own role owned the tables,
so anyone holding its connection could `ALTER TABLE log_entries DISABLE
TRIGGER`, delete the unsigned tail entry, and `verify` said OK. Here the
owner migrates and grants (`arcreg db upgrade` with two URLs); the runtime
role, a fresh login role per test (roles are cluster-wide: named with the pid
and a uuid, dropped in teardown), does a registry's normal work and is refused
every way of rewriting the log — for want of a privilege (SQLSTATE 42501),
before any trigger is reached.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

import chainlog.store
from api import create_app
from chainlog.schema import LOG_TABLES
from chainlog.schema import entries as entries_table
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import make_engine, session_factory
from registry.db_roles import (
    LOG_PRIVILEGES,
    RuntimeRoleError,
    granted_privileges,
    grant_runtime_role,
    runtime_privileges,
    runtime_role_problem,
)
from registry.jobs import run_daily_jobs
from registry.migrate import head_revision
from registry.signing import load_signer
from registry.verification import verify_registry
from tests.api.driver import Driver, bootstrap_admin
from tests.postgres.test_tamper_pg import _build
from tests.serverproc import ARCREG, clean_env, free_port, serving

INSUFFICIENT_PRIVILEGE = "42501"


def _role_url(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def _new_role(pg_databases) -> str:
    name = f"arcreg_rt_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with pg_databases.admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{name}" LOGIN'))
    return name


def _drop_role(pg_databases, database_urls: list[str], name: str) -> None:
    for url in database_urls:  # its grants first: a role holding privileges cannot be dropped
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP OWNED BY "{name}"'))
        except DBAPIError:
            pass  # the database is gone already
        finally:
            engine.dispose()
    with pg_databases.admin.connect() as connection:
        connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))


@pytest.fixture
def runtime_role(pg_databases, pg_url):
    name = _new_role(pg_databases)
    yield name
    _drop_role(pg_databases, [pg_url], name)


@pytest.fixture
def runtime_url(pg_url, pg_engine, runtime_role) -> str:
    """The runtime role's URL, granted by the owner as `arcreg db upgrade` does."""
    grant_runtime_role(pg_engine, runtime_role)
    return _role_url(pg_url, runtime_role)


@pytest.fixture
def runtime_engine(runtime_url):
    engine = make_engine(runtime_url)
    yield engine
    engine.dispose()


def _refused(engine, statement: str) -> str:
    """The SQLSTATE with which ``statement`` fails (it must fail)."""
    with pytest.raises(DBAPIError) as raised, engine.begin() as connection:
        connection.execute(text(statement))
    return raised.value.orig.sqlstate


def _log_size(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(entries_table)).scalar_one()


# -- the grants ------------------------------------------------------------------------------------------

def test_the_grants_are_exactly_what_the_server_needs(pg_engine, runtime_role):
    report = grant_runtime_role(pg_engine, runtime_role)
    with pg_engine.connect() as connection:
        held = granted_privileges(connection, runtime_role)
    for table in LOG_TABLES:  # R-L8b: read and append, nothing else
        assert held[table] == ("INSERT", "SELECT"), table
    assert held["alembic_version"] == ("SELECT",)
    assert {t for t, privs in held.items() if "DELETE" in privs} == {"idempotency_record", "job_run"}
    assert not any({"TRUNCATE", "REFERENCES", "TRIGGER"} & set(privs) for privs in held.values())
    expected = {t: tuple(sorted(p)) for t, p in runtime_privileges().items()}
    expected.update({s: ("USAGE",) for s in report.sequences})
    assert held == expected
    assert report.sequences and not any(s.startswith("log_") for s in report.sequences)


def test_a_rerun_revokes_what_is_no_longer_needed(pg_engine, runtime_role):
    grant_runtime_role(pg_engine, runtime_role)
    with pg_engine.connect() as connection:
        first = granted_privileges(connection, runtime_role)
    with pg_engine.begin() as connection:  # an old grant, too generous
        connection.execute(text(f'GRANT UPDATE, DELETE, TRUNCATE ON log_entries TO "{runtime_role}"'))
    grant_runtime_role(pg_engine, runtime_role)
    with pg_engine.connect() as connection:
        assert granted_privileges(connection, runtime_role) == first


def test_a_role_that_owns_a_table_is_refused_its_grants(pg_engine, runtime_role):
    with pg_engine.begin() as connection:
        connection.execute(text(f'ALTER TABLE witness OWNER TO "{runtime_role}"'))
    try:
        with pytest.raises(RuntimeRoleError, match="owns witness"):
            grant_runtime_role(pg_engine, runtime_role)
    finally:  # the role must own nothing when it is dropped
        with pg_engine.begin() as connection:
            connection.execute(text("ALTER TABLE witness OWNER TO CURRENT_USER"))


def test_grants_are_given_by_the_tables_owner_only(pg_databases, pg_url, runtime_role):
    """A role that does not own the tables could grant nothing (PostgreSQL only warns): refused."""
    other = _new_role(pg_databases)
    engine = make_engine(_role_url(pg_url, other))
    try:
        with pytest.raises(RuntimeRoleError, match=f"the owner URL's role '{other}' does not own"):
            grant_runtime_role(engine, runtime_role)
    finally:
        engine.dispose()
        _drop_role(pg_databases, [pg_url], other)


def test_a_missing_role_is_named(pg_engine):
    with pytest.raises(RuntimeRoleError, match="does not exist; create it first"):
        grant_runtime_role(pg_engine, f"arcreg_missing_{uuid.uuid4().hex[:8]}")


# -- the runtime role at work, and at tampering -------------------------------------------------------------

def test_the_runtime_role_runs_the_registry(runtime_url, runtime_engine, tmp_path):
    """Writes through the API (generation, transfer, retirement, checkpoints),
    the daily jobs (which update blocks and delete idempotency records) and a
    full verification, all as the runtime role."""
    clock = FrozenClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    config = Config(database_url=runtime_url, signing_key_file=tmp_path / "key.pem", rate_limit="100000/minute")
    app = create_app(config, clock=clock, engine=runtime_engine)
    driver = Driver(app.test_client(), bootstrap_admin(runtime_engine, clock))
    _build(driver)
    keyed = driver.client.post("/api/v1/participants",
                               json={"name": "Keyed", "country": "US", "gpp_signed_on": "2025-06-01"},
                               headers={"Authorization": f"Bearer {driver.admin}", "Idempotency-Key": "k-1"})
    assert keyed.status_code == 201

    later = FrozenClock(datetime(2028, 1, 1, 0, 0, 30, tzinfo=UTC))
    results = run_daily_jobs(session_factory(runtime_engine), later)
    assert {r["status"] for r in results.values()} == {"ran"}, results
    assert results["idempotency-purge"]["purged"] == 1 and results["expiry"]["expired"] >= 1

    verifier = load_signer(config).verifier
    with session_factory(runtime_engine)() as session:
        report = verify_registry(session, [verifier])
    assert report.ok, report.failure()
    assert runtime_role_problem(runtime_engine) is None


TAMPERING = [
    "ALTER TABLE log_entries DISABLE TRIGGER log_entries_append_only",
    "ALTER TABLE log_entries DISABLE TRIGGER USER",
    "ALTER TABLE log_checkpoints DISABLE TRIGGER ALL",
    "DROP TRIGGER log_entries_append_only ON log_entries",
    "DROP TABLE log_entries",
    "ALTER TABLE log_entries OWNER TO CURRENT_USER",
    "TRUNCATE log_entries",
    "TRUNCATE log_nodes",
    'UPDATE log_entries SET actor = \'user:999\' WHERE "index" = 1',
    'DELETE FROM log_entries WHERE "index" = (SELECT max("index") FROM log_entries)',
    "DELETE FROM log_nodes",
    "DELETE FROM log_checkpoints",
    "SET session_replication_role = replica",  # would skip every trigger
    "CREATE OR REPLACE FUNCTION chainlog_refuse_change() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN OLD; END $$",
    "CREATE TABLE scratch (x int)",
]


def test_the_runtime_role_can_append_and_read_the_log_but_not_rewrite_it(runtime_engine, pg_engine):
    """The audit's attack, as the server's own role: disable the trigger,
    delete the unsigned tail entry. Every step is refused for want of a
    privilege, and the log is whole afterwards."""
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    with session_factory(runtime_engine)() as session:
        for n in range(3):
            chainlog.store.append(session, type="test.entry", actor="system", payload={"n": n}, time=now)
        session.commit()
    with session_factory(runtime_engine)() as session:
        assert [e.payload["n"] for e in chainlog.store.iter_entries(session)] == [0, 1, 2]
    assert _log_size(runtime_engine) == 3

    refused = {statement: _refused(runtime_engine, statement) for statement in TAMPERING}
    assert refused == {statement: INSUFFICIENT_PRIVILEGE for statement in TAMPERING}
    assert _log_size(pg_engine) == 3
    with pg_engine.connect() as connection:
        enabled = connection.execute(text(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'log_entries'::regclass "
            "AND NOT tgisinternal ORDER BY tgname")).all()
    assert enabled == [("log_entries_append_only", "O"), ("log_entries_no_truncate", "O")]


# -- the command line ----------------------------------------------------------------------------------------

def _arcreg(*args, env: dict, cwd, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([ARCREG, *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def empty_pg(pg_databases):
    name = f"arcreg_empty_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    yield name, pg_databases.create(name)
    pg_databases.drop(name)


def test_db_upgrade_with_two_urls_migrates_as_the_owner_and_grants(empty_pg, pg_databases, tmp_path):
    name, owner_url = empty_pg
    role = _new_role(pg_databases)
    try:
        env = {"ARCREG_DATABASE_URL": _role_url(owner_url, role), "ARCREG_OWNER_DATABASE_URL": owner_url}
        first = _arcreg("db", "upgrade", env=env, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        assert first.stdout.splitlines()[-1] == f"database at revision {head_revision()}"
        assert f"runtime role {role}: {', '.join(LOG_PRIVILEGES)} on the log tables" in first.stdout
        owner = make_engine(owner_url)
        try:
            with owner.connect() as connection:
                granted = granted_privileges(connection, role)
                owners = set(connection.execute(text(
                    "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = current_schema()")).scalars())
            assert granted["log_entries"] == ("INSERT", "SELECT")
            assert owners == {make_url(owner_url).username}  # the owner migrated

            again = _arcreg("db", "upgrade", env=env, cwd=tmp_path)  # idempotent
            assert again.returncode == 0, again.stderr
            assert again.stdout == first.stdout
            with owner.connect() as connection:
                assert granted_privileges(connection, role) == granted

            # The runtime role serves: an administrator created with its URL alone.
            admin = _arcreg("create-admin", "ops@example.org", env={"ARCREG_DATABASE_URL": env["ARCREG_DATABASE_URL"]},
                            cwd=tmp_path)
            assert admin.returncode == 0, admin.stderr
            assert admin.stdout.startswith("arc_")
        finally:
            owner.dispose()
    finally:
        _drop_role(pg_databases, [owner_url], role)


def test_db_upgrade_refuses_a_runtime_url_naming_the_owner(pg_url, tmp_path):
    owner_role = make_url(pg_url).username
    env = {"ARCREG_DATABASE_URL": pg_url, "ARCREG_OWNER_DATABASE_URL": pg_url}
    result = _arcreg("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 2 and f"both URLs name the role {owner_role!r}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_as_an_ungranted_runtime_role_says_what_to_do(empty_pg, pg_databases, tmp_path):
    """A runtime role cannot migrate; serve says to run `arcreg db upgrade` instead of failing half way."""
    _, owner_url = empty_pg
    role = _new_role(pg_databases)
    try:
        result = _arcreg("serve", "--port", str(free_port()), env={"ARCREG_DATABASE_URL": _role_url(owner_url, role)},
                         cwd=tmp_path, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "arcreg db upgrade" in result.stderr and "Traceback" not in result.stderr
    finally:
        _drop_role(pg_databases, [owner_url], role)


def test_serve_refuses_the_owner_role_when_an_owner_url_is_configured(pg_url, tmp_path):
    env = {"ARCREG_DATABASE_URL": pg_url, "ARCREG_OWNER_DATABASE_URL": pg_url,
           "ARCREG_SIGNING_KEY_FILE": str(tmp_path / "key.pem")}
    # Refused before gunicorn starts.
    result = _arcreg("serve", "--port", str(free_port()), env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "refusing to start" in result.stderr and "R-L8b" in result.stderr


@pytest.mark.slow
def test_serve_warns_as_the_owner_and_not_as_the_runtime_role(pg_url, runtime_url, tmp_path):
    common = {"ARCREG_CLOCK": "2026-05-01T12:00:00Z", "ARCREG_SIGNING_KEY_FILE": str(tmp_path / "key.pem")}
    with serving(tmp_path, {**common, "ARCREG_DATABASE_URL": pg_url}, workers=1,
                 log_path=tmp_path / "owner.log"):
        pass
    with serving(tmp_path, {**common, "ARCREG_DATABASE_URL": runtime_url}, workers=1,
                 log_path=tmp_path / "runtime.log"):
        pass
    assert "WARNING" in (tmp_path / "owner.log").read_text() and "R-L8b" in (tmp_path / "owner.log").read_text()
    runtime_log = (tmp_path / "runtime.log").read_text()
    assert "WARNING" not in runtime_log and "Traceback" not in runtime_log
