"""The ``arcreg`` command line (SPEC §13.2)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from registry.config import Config


def _config() -> Config:
    try:
        return Config.from_env()
    except ValueError as exc:  # a malformed setting: say which, no stack trace
        click.echo(f"arcreg: {exc}", err=True)
        sys.exit(2)


def _engine_or_exit(config: Config, url: str | None = None, variable: str = "ARCREG_DATABASE_URL"):
    from registry.db import database_reachable, make_engine  # here: the offline commands need no database

    engine = make_engine(url or config.database_url)
    reachable, error = database_reachable(engine)
    if not reachable:
        url = engine.url.render_as_string(hide_password=True)
        click.echo(f"arcreg: cannot reach the database at {url}: {error}", err=True)
        click.echo(f"Set {variable} to a reachable database.", err=True)
        sys.exit(2)
    return engine


def _revision_or_exit(engine) -> str | None:
    """The database's schema revision; a role that may not read it (a runtime
    role not granted yet, R-L8b) is told what to do instead of a traceback."""
    from sqlalchemy.exc import DBAPIError

    from registry.migrate import current_revision

    try:
        return current_revision(engine)
    except DBAPIError as exc:
        click.echo(f"arcreg: cannot read the schema version: {str(exc.orig).splitlines()[0]}", err=True)
        click.echo("Run `arcreg db upgrade` with ARCREG_OWNER_DATABASE_URL set: it grants the runtime role "
                   "(the user of ARCREG_DATABASE_URL) what the registry needs (R-L8b).", err=True)
        sys.exit(2)


def _migrate_if_owner(engine) -> None:
    """Bring the schema to head, as `serve` and `create-admin` always have —
    unless the connected role may not create tables (a runtime role, R-L8b):
    then the schema must be at head already, migrated by `arcreg db upgrade`."""
    from sqlalchemy import text

    from registry.migrate import head_revision, upgrade

    if _revision_or_exit(engine) == head_revision():
        return
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            may_create = connection.execute(
                text("SELECT has_schema_privilege(current_schema(), 'CREATE')")).scalar_one()
        if not may_create:
            click.echo("arcreg: the database is not at the current schema and this role may not migrate it "
                       "(R-L8b); run `arcreg db upgrade` with ARCREG_OWNER_DATABASE_URL set", err=True)
            sys.exit(2)
    upgrade(engine)


def _warn_if_owner(config: Config, engine) -> None:
    """R-L8b start-up check: a server whose role owns the tables could
    disable the log's triggers. Loud on stderr; refused when the operator
    configured an owner URL (then the runtime URL naming the owner is a mistake)."""
    from registry.db_roles import runtime_role_problem

    problem = runtime_role_problem(engine)
    if problem is None:
        return
    if config.owner_database_url:
        click.echo(f"arcreg: refusing to start: {problem}, yet ARCREG_OWNER_DATABASE_URL is set: "
                   "ARCREG_DATABASE_URL must name the runtime role, which owns nothing (R-L8b)", err=True)
        sys.exit(2)
    click.echo("*" * 78, err=True)
    click.echo(f"arcreg: WARNING: {problem}: it could disable the log's append-only triggers, so a "
               "break-in to the server could rewrite the log's unsigned tail (R-L8b). Run the server as a "
               "role that owns nothing: see README, \"On PostgreSQL\".", err=True)
    click.echo("*" * 78, err=True)


def _runtime_role_or_exit(owner_url: str, runtime_url: str) -> str:
    """The runtime role to grant: the user of ARCREG_DATABASE_URL, on the
    same PostgreSQL database as the owner URL (R-L8b)."""
    from sqlalchemy.engine import make_url

    owner, runtime = make_url(owner_url), make_url(runtime_url)
    if owner.get_backend_name() != "postgresql" or runtime.get_backend_name() != "postgresql":
        click.echo("arcreg: an owner URL is for PostgreSQL only: on SQLite the registry has one file and "
                   "one URL (ARCREG_DATABASE_URL)", err=True)
        sys.exit(2)
    if (owner.host, owner.port or 5432, owner.database) != (runtime.host, runtime.port or 5432, runtime.database):
        click.echo("arcreg: the owner URL and ARCREG_DATABASE_URL name different databases "
                   f"({owner.host}:{owner.port or 5432}/{owner.database} and "
                   f"{runtime.host}:{runtime.port or 5432}/{runtime.database})", err=True)
        sys.exit(2)
    if not runtime.username:
        click.echo("arcreg: ARCREG_DATABASE_URL names no user: it must name the runtime role to grant", err=True)
        sys.exit(2)
    if runtime.username == owner.username:
        click.echo(f"arcreg: both URLs name the role {runtime.username!r}: the runtime role must be another "
                   "role, one that owns nothing (R-L8b)", err=True)
        sys.exit(2)
    return runtime.username


@click.group()
def main() -> None:
    """ARC Registry: certificates for recycled content, with a verifiable log."""


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--owner-url", default=None, metavar="URL",
              help="PostgreSQL: the URL of the role that owns the tables (default: ARCREG_OWNER_DATABASE_URL). "
                   "Migrates as it, then grants the runtime role (the user of ARCREG_DATABASE_URL) what the "
                   "server needs and nothing more (R-L8b).")
def db_upgrade(owner_url: str | None) -> None:
    """Run Alembic migrations to head (and, with an owner URL, grant the runtime role)."""
    from registry.db_roles import RuntimeRoleError, check_runtime_role, grant_runtime_role
    from registry.migrate import current_revision, upgrade

    config = _config()
    owner_url = owner_url or config.owner_database_url
    if owner_url is None:  # one URL: migrate as that role, as before
        engine = _engine_or_exit(config)
        upgrade(engine)
        if engine.dialect.name == "postgresql":
            click.echo("arcreg: warning: one role migrates and serves the registry, so the server could "
                       "disable the log's triggers; set ARCREG_OWNER_DATABASE_URL to the owner's URL and "
                       "ARCREG_DATABASE_URL to a role that owns nothing (R-L8b, see README)", err=True)
        click.echo(f"database at revision {current_revision(engine)}")
        return
    role = _runtime_role_or_exit(owner_url, config.database_url)
    engine = _engine_or_exit(config, owner_url, "ARCREG_OWNER_DATABASE_URL")
    try:
        with engine.connect() as connection:  # refuse before migrating, not half way
            check_runtime_role(connection, role)
        upgrade(engine)
        report = grant_runtime_role(engine, role)  # after every migration: new tables get their grants
    except RuntimeRoleError as exc:
        click.echo(f"arcreg: {exc}", err=True)
        sys.exit(2)
    click.echo(report.summary())
    click.echo(f"database at revision {current_revision(engine)}")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", default=None, help="Key name (default: ARCREG_LOG_ORIGIN).")
def keygen(path: Path, name: str | None) -> None:
    """Write a new Ed25519 signing key (mode 0600) and print its verifier key."""
    from chainlog.errors import KeyFileError
    from chainlog.keys import generate_key_file

    try:
        signer = generate_key_file(name or _config().log_origin, path)
    except KeyFileError as exc:  # exists (never overwritten) or cannot be created
        click.echo(f"arcreg: {exc}", err=True)
        sys.exit(1)
    click.echo(signer.vkey)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
              help="Request threads per worker: while one waits on the database, another runs.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Migrate the database if needed and serve the registry with gunicorn."""
    from api.server import run

    config = _config().with_(run_scheduler=True)  # R-E2: served means scheduled
    _prepare(config)
    run(config, host=host, port=port, workers=workers, threads=threads)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--dir", "directory", default="arcreg-demo", show_default=True,
              type=click.Path(path_type=Path), help="Where the demo database and key live.")
def demo(host: str, port: int, directory: Path) -> None:
    """Serve a fresh SQLite registry filled with a small realistic demo."""
    from api.server import run
    from registry.demo import build_demo

    directory.mkdir(parents=True, exist_ok=True)
    db_path = directory / "demo.db"
    if db_path.exists():
        db_path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    config = _config().with_(database_url=f"sqlite:///{db_path.resolve()}",
                             signing_key_file=directory.resolve() / "signing-key.pem", run_scheduler=True)
    engine = _prepare(config)
    summary = build_demo(engine, config)
    engine.dispose()
    click.echo(summary)
    click.echo(f"Demo registry on http://{host}:{port}/  (API: http://{host}:{port}/api/v1/docs)")
    run(config, host=host, port=port, workers=1)


@main.command("run-jobs")
def run_jobs() -> None:
    """Run the daily jobs once, now: expiry (R-E2), removal (R-E4), purge,
    use-period reminders (R-N1); then deliver the webhooks that are due.

    Each job runs at most once per UTC day (of ARCREG_CLOCK when set), however
    many servers or commands race for it; a job already done today is skipped.
    """
    from registry.clock import clock_from_setting
    from registry.db import session_factory
    from registry.jobs import run_daily_jobs
    from registry.migrate import head_revision

    config = _config()
    engine = _engine_or_exit(config)
    # A scheduled command never migrates behind the operator's back.
    if _revision_or_exit(engine) != head_revision():
        click.echo("arcreg: the database is not at the current schema; run `arcreg db upgrade`", err=True)
        sys.exit(2)
    clock = clock_from_setting(config.clock)
    results = run_daily_jobs(session_factory(engine), clock)
    webhooks = _deliver_webhooks(engine, clock, config)
    engine.dispose()
    click.echo(f"daily jobs for {clock.today().isoformat()}:")
    for name, result in results.items():
        details = ", ".join(f"{key} {value}" for key, value in result.items() if key != "status")
        click.echo(f"  {name}: {result['status']}" + (f" ({details})" if details else ""))
    click.echo(f"  webhooks: {webhooks}")
    if any(result["status"] == "failed" for result in results.values()):
        sys.exit(1)


def _deliver_webhooks(engine, clock, config) -> str:
    """One pass of the webhook worker (R-N1): whatever is due now, unless a
    served registry's worker holds the lock (it delivers them)."""
    from registry.notifications.worker import DeliveryWorker

    worker = DeliveryWorker(engine, clock, timeout=config.webhook_timeout,
                            allow_loopback=config.webhooks_allow_loopback)
    try:
        result = worker.run_once()
    except Exception as exc:  # noqa: BLE001 - the jobs' outcome stands; the next run delivers
        return f"failed ({type(exc).__name__}: {exc})"
    finally:
        worker.stop()  # lets go of the lock
    if result is None:
        return "skipped (another process delivers)"
    done = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in result.as_dict().items() if value)
    return done or "nothing due"


def _prepare(config: Config):
    """Everything serve needs before the first request: a reachable, migrated
    database and a signing key, the one that signed its checkpoints (R-L5b)."""
    from chainlog.errors import KeyFileError
    from registry.signing import KeyContinuityError, load_log_signer

    engine = _engine_or_exit(config)
    _migrate_if_owner(engine)
    _warn_if_owner(config, engine)  # R-L8b
    try:
        load_log_signer(config, engine, create=True)
    except KeyContinuityError as exc:  # R-L5b: a changed or missing key; refuse to start, say what to do
        click.echo(f"arcreg: refusing to start: {exc}", err=True)
        sys.exit(2)
    except KeyFileError as exc:  # R-L5: e.g. a key readable by others; a reason, never a traceback
        click.echo(f"arcreg: {exc}", err=True)
        sys.exit(2)
    return engine


@main.command("rotate-key")
@click.argument("new_key", type=click.Path(dir_okay=False, path_type=Path))
def rotate_key(new_key: Path) -> None:
    """Move the log to the key in NEW_KEY (a PEM file of mode 0600, e.g. from
    `arcreg keygen`): signs the log's tail with the current key, appends a
    key.rotated entry signed by both keys, and signs a checkpoint with the new
    one (R-L5, R-L5b). Run it with the registry stopped and the current key
    configured; then configure NEW_KEY and start the registry again."""
    from chainlog import store
    from chainlog.errors import KeyFileError
    from chainlog.keys import load_signer as load_key_file
    from chainlog.keys import rotation_payload
    from registry.clock import clock_from_setting
    from registry.db import UnitOfWork, session_factory
    from registry.migrate import head_revision
    from registry.signing import KeyContinuityError, load_log_signer

    config = _config()
    engine = _engine_or_exit(config)
    if _revision_or_exit(engine) != head_revision():
        click.echo("arcreg: the database is not at the current schema; run `arcreg db upgrade`", err=True)
        sys.exit(2)
    try:
        outgoing = load_log_signer(config, engine)
        incoming = load_key_file(config.log_origin, new_key)
    except (KeyContinuityError, KeyFileError, FileNotFoundError) as exc:
        click.echo(f"arcreg: {exc}", err=True)
        sys.exit(2)
    if incoming.vkey == outgoing.vkey:
        click.echo(f"arcreg: {new_key} holds the current key already; nothing to rotate", err=True)
        sys.exit(2)
    clock = clock_from_setting(config.clock)
    with UnitOfWork(session_factory(engine), clock) as uow:
        now = clock.now()
        store.sign_checkpoint(uow.session, outgoing, config.log_origin, now)
        appended = store.append(uow.session, type="key.rotated", actor="system",
                                payload=rotation_payload(outgoing, incoming), time=now)
        signed = store.sign_checkpoint(uow.session, incoming, config.log_origin, now)
        uow.commit()
    engine.dispose()
    click.echo(f"key.rotated at entry {appended.index}; checkpoint of size {signed.size} signed by {incoming.vkey}")
    click.echo(f"Now set ARCREG_SIGNING_KEY_FILE={new_key.resolve()} and start the registry again.")


from api.commands_witness import witness  # noqa: E402
main.add_command(witness)

from api.commands_users import create_admin, issue_token_command, reset_link_command  # noqa: E402
main.add_command(create_admin)
main.add_command(issue_token_command)
main.add_command(reset_link_command)

from api.commands_proof import verify_proof  # noqa: E402
main.add_command(verify_proof)

from api.commands_verify import verify, verify_log  # noqa: E402  (R-L7 commands)
main.add_command(verify)
main.add_command(verify_log)


if __name__ == "__main__":  # pragma: no cover
    main()
