"""The `arcreg` command line as a user runs it: real processes (SPEC §13.2)."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

import migrations
from registry.db import make_engine
from registry.migrate import upgrade
from tests.serverproc import ARCREG, clean_env, free_port, wait_for


def run(*args, cwd, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([ARCREG, *args], cwd=cwd, env=clean_env(**(env or {})), capture_output=True,
                          text=True, timeout=timeout)


def test_create_admin_prints_only_the_token(tmp_path):
    result = run("create-admin", "ops@example.org", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("arc_") and len(lines[0]) > 40
    assert (tmp_path / "arcreg.db").exists()  # the default database, in the working directory
    again = run("create-admin", "ops@example.org", cwd=tmp_path)
    assert again.returncode == 1 and "exists" in again.stderr


def test_issue_token_gives_an_existing_user_a_root_token_of_the_configured_lifetime(tmp_path):
    """R-X7: tokens made with a token never outlive it, so the command line is how an
    administrator gets a fresh token once every token has expired or been revoked."""
    from sqlalchemy import create_engine, text

    env = {"ARCREG_CLOCK": "2026-03-02T09:30:00Z", "ARCREG_TOKEN_MAX_LIFETIME_DAYS": "30"}
    assert run("create-admin", "ops@example.org", cwd=tmp_path, env=env).returncode == 0
    result = run("issue-token", "OPS@example.org", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("arc_") and len(result.stdout.splitlines()) == 1
    engine = create_engine(f"sqlite:///{tmp_path / 'arcreg.db'}")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT expires_at, parent_token_id FROM api_token ORDER BY id")).all()
    engine.dispose()
    assert [(str(e)[:19], p) for e, p in rows] == [("2026-04-01 09:30:00", None)] * 2
    missing = run("issue-token", "nobody@example.org", cwd=tmp_path, env=env)
    assert missing.returncode == 1 and "no user" in missing.stderr
    bad = run("issue-token", "ops@example.org", cwd=tmp_path, env={"ARCREG_TOKEN_MAX_LIFETIME_DAYS": "0"})
    assert bad.returncode == 2 and "ARCREG_TOKEN_MAX_LIFETIME_DAYS" in bad.stderr and "Traceback" not in bad.stderr


def test_reset_link_gives_the_first_administrator_a_password(tmp_path):
    """R-W1: `create-admin` gives an API token; `reset-link` prints the one-time link through
    which the administrator chooses a password (no email server)."""
    from registry.accounts import resets
    from registry.clock import clock_from_setting
    from registry.db import UnitOfWork, session_factory

    env = {"ARCREG_CLOCK": "2026-03-02T09:30:00Z"}
    assert run("create-admin", "ops@example.org", cwd=tmp_path, env=env).returncode == 0
    result = run("reset-link", "OPS@example.org", "--base-url", "https://registry.example/", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith("https://registry.example/workspace/reset/rst_") and len(result.stdout.splitlines()) == 1
    engine = make_engine(f"sqlite:///{tmp_path / 'arcreg.db'}")
    with UnitOfWork(session_factory(engine), clock_from_setting(env["ARCREG_CLOCK"])) as uow:
        user = resets.link_user(uow, link.rsplit("/", 1)[1])
        assert user is not None and user.email == "ops@example.org" and user.role == "admin"
    engine.dispose()
    missing = run("reset-link", "nobody@example.org", cwd=tmp_path, env=env)
    assert missing.returncode == 1 and "no user" in missing.stderr


def test_keygen_writes_a_private_key_file_once(tmp_path):
    key = tmp_path / "signing.pem"
    result = run("keygen", str(key), cwd=tmp_path, env={"ARCREG_LOG_ORIGIN": "example.org/arc"})
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    vkey = result.stdout.strip()
    assert vkey.startswith("example.org/arc+") and len(vkey.split("+", 2)[1]) == 8
    again = run("keygen", str(key), cwd=tmp_path)
    assert again.returncode == 1 and "refusing" in again.stderr


def _migration_scripts() -> ScriptDirectory:
    """The migrations shipped in the repository, read by Alembic itself."""
    return ScriptDirectory(str(Path(migrations.__file__).parent))


def _stored_revisions(database: Path) -> list[str]:
    with closing(sqlite3.connect(database)) as connection:
        return [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]


def test_db_upgrade_migrates_a_fresh_database(tmp_path):
    head = _migration_scripts().get_current_head()
    database = tmp_path / "arcreg.db"  # the default database, in the working directory
    assert head and not database.exists()
    result = run("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"database at revision {head}"
    assert _stored_revisions(database) == [head]


def test_db_upgrade_brings_an_old_database_to_head(tmp_path):
    scripts = _migration_scripts()
    head, first = scripts.get_current_head(), scripts.get_base()
    assert first != head
    database = tmp_path / "arcreg.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine, first)
    engine.dispose()
    assert _stored_revisions(database) == [first]
    result = run("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"database at revision {head}"
    assert _stored_revisions(database) == [head]


def test_db_upgrade_on_sqlite_keeps_one_url(tmp_path):
    """R-L8b's owner URL is for PostgreSQL: SQLite has one file and one URL, and nothing is created."""
    result = run("db", "upgrade", "--owner-url", "postgresql+psycopg://owner@127.0.0.1:5432/arcreg", cwd=tmp_path)
    assert result.returncode == 2 and "PostgreSQL only" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "arcreg.db").exists()


def test_serve_refuses_an_unreachable_database(tmp_path):
    port = free_port()  # nothing listens there
    result = run("serve", "--port", str(free_port()), cwd=tmp_path,
                 env={"ARCREG_DATABASE_URL": f"postgresql+psycopg://nobody@127.0.0.1:{port}/none"})
    assert result.returncode == 2
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_serve_runs_gunicorn_and_answers_health(tmp_path):
    port = free_port()
    environment = clean_env(ARCREG_CLOCK="2026-05-01T12:00:00Z")
    process = subprocess.Popen([ARCREG, "serve", "--port", str(port), "--workers", "2"], cwd=tmp_path,
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = wait_for(f"http://127.0.0.1:{port}/api/v1/health", process)
        assert health["status"] == "ok"
        assert health["database"]["dialect"] == "sqlite"
        assert health["clock"] == {"now": "2026-05-01T12:00:00Z", "frozen": True}
        key = tmp_path / "arcreg-signing-key.pem"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600  # generated on first start
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "gunicorn" in output.lower() or "Booting worker" in output


def test_the_offline_quick_check_loads_no_web_or_database_library(tmp_path):
    """`arcreg verify-log --integrity-only` (an auditor's check of an export) needs only click and
    chainlog: it starts in a fraction of a second, and an import of Flask or SQLAlchemy creeping back
    into the command line's start-up fails here."""
    import sys

    from chainlog.keys import Signer
    from tests.unit.chainlog.memlog import MemoryLog, fill

    signer = Signer.from_seed("registry.example/log", bytes(32))
    export = tmp_path / "log.jsonl"
    export.write_text("".join(fill(MemoryLog(signer), 12).lines))
    script = ("import sys\nfrom api.cli import main\n"
              "try:\n    main(sys.argv[1:])\nexcept SystemExit as done:\n    code = done.code\n"
              "heavy = {m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy', 'sqlmodel', 'marshmallow', 'psycopg'}\n"
              "print('exit', code, 'loaded', sorted(heavy))\n")
    result = subprocess.run([sys.executable, "-c", script, "verify-log", str(export), "--vkey", signer.vkey,
                             "--integrity-only"], env=clean_env(), capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("OK: 12 entries, 2 checkpoints"), result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("exit 0 loaded []"), result.stdout
