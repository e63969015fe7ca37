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


def _engine_or_exit(config: Config):
    from registry.db import database_reachable, make_engine  # here: the offline commands need no database

    engine = make_engine(config.database_url)
    reachable, error = database_reachable(engine)
    if not reachable:
        url = engine.url.render_as_string(hide_password=True)
        click.echo(f"arcreg: cannot reach the database at {url}: {error}", err=True)
        click.echo("Set ARCREG_DATABASE_URL to a reachable database.", err=True)
        sys.exit(2)
    return engine


@click.group()
def main() -> None:
    """ARC Registry: certificates for recycled content, with a verifiable log."""


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Run Alembic migrations to head."""
    from registry.migrate import current_revision, upgrade

    engine = _engine_or_exit(_config())
    upgrade(engine)
    click.echo(f"database at revision {current_revision(engine)}")


@main.command("create-admin")
@click.argument("email")
def create_admin(email: str) -> None:
    """Create a registry administrator and print one API token."""
    from registry.clock import clock_from_setting
    from registry.db import UnitOfWork, session_factory
    from registry.errors import RegistryError
    from registry.identity import create_admin as create
    from registry.migrate import upgrade

    config = _config()
    engine = _engine_or_exit(config)
    upgrade(engine)
    try:
        with UnitOfWork(session_factory(engine), clock_from_setting(config.clock)) as uow:
            _, issued = create(uow, email, max_lifetime=config.token_max_lifetime)
            uow.commit()
    except RegistryError as exc:
        click.echo(f"arcreg: {exc.detail}", err=True)
        sys.exit(1)
    # SPEC §13.1: the token alone on its line, so scripts can capture it.
    click.echo(issued.token)


@main.command("issue-token")
@click.argument("email")
def issue_token_command(email: str) -> None:
    """Print a new API token for an existing user, for the maximum lifetime (R-X7).

    Tokens made with a token never outlive it, so when every token of a registry
    has expired (or was revoked), this is how an administrator gets a new one."""
    from sqlmodel import select

    from registry.clock import clock_from_setting
    from registry.db import UnitOfWork, session_factory
    from registry.errors import RegistryError
    from registry.identity import issue_token
    from registry.migrate import upgrade
    from registry.models import User

    config = _config()
    engine = _engine_or_exit(config)
    upgrade(engine)
    try:
        with UnitOfWork(session_factory(engine), clock_from_setting(config.clock)) as uow:
            user = uow.session.exec(select(User).where(User.email == email.strip().lower())).first()
            if user is None:
                click.echo(f"arcreg: no user {email}", err=True)
                sys.exit(1)
            issued = issue_token(uow, user_id=user.id, max_lifetime=config.token_max_lifetime,
                                 label="arcreg issue-token")
            uow.commit()
    except RegistryError as exc:
        click.echo(f"arcreg: {exc.detail}", err=True)
        sys.exit(1)
    click.echo(issued.token)


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
    """Run the daily jobs once, now: expiry (R-E2), removal (R-E4), purge.

    Each job runs at most once per UTC day (of ARCREG_CLOCK when set), however
    many servers or commands race for it; a job already done today is skipped.
    """
    from registry.clock import clock_from_setting
    from registry.db import session_factory
    from registry.jobs import run_daily_jobs
    from registry.migrate import current_revision, head_revision

    config = _config()
    engine = _engine_or_exit(config)
    # A scheduled command never migrates behind the operator's back.
    if current_revision(engine) != head_revision():
        click.echo("arcreg: the database is not at the current schema; run `arcreg db upgrade`", err=True)
        sys.exit(2)
    clock = clock_from_setting(config.clock)
    results = run_daily_jobs(session_factory(engine), clock)
    engine.dispose()
    click.echo(f"daily jobs for {clock.today().isoformat()}:")
    for name, result in results.items():
        details = ", ".join(f"{key} {value}" for key, value in result.items() if key != "status")
        click.echo(f"  {name}: {result['status']}" + (f" ({details})" if details else ""))
    if any(result["status"] == "failed" for result in results.values()):
        sys.exit(1)


def _prepare(config: Config):
    """Everything serve needs before the first request: a reachable, migrated
    database and a signing key, the one that signed its checkpoints (R-L5b)."""
    from chainlog.errors import KeyFileError
    from registry.migrate import upgrade
    from registry.signing import KeyContinuityError, load_log_signer

    engine = _engine_or_exit(config)
    upgrade(engine)
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
    from registry.migrate import current_revision, head_revision
    from registry.signing import KeyContinuityError, load_log_signer

    config = _config()
    engine = _engine_or_exit(config)
    if current_revision(engine) != head_revision():
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

from api.commands_proof import verify_proof  # noqa: E402
main.add_command(verify_proof)

from api.commands_verify import verify, verify_log  # noqa: E402  (R-L7 commands)
main.add_command(verify)
main.add_command(verify_log)


if __name__ == "__main__":  # pragma: no cover
    main()
