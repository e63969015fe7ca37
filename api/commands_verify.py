"""`arcreg verify [--export FILE]` and `arcreg verify-log FILE --vkey VKEY` (R-L7, SPEC §13.2).

Exit 0 only when everything holds; otherwise print
``FAILED: <kind> at index <i>: <why>`` and exit 1 (2: database unreachable).
Progress goes to stderr, and only when stderr is a terminal, so scripted runs
see nothing but the verdict.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _progress():
    if not sys.stderr.isatty():
        return None
    return lambda n: click.echo(f"  … {n:,} entries verified", err=True)


def _finish(report, *, replayed: bool = True) -> None:
    if not report.ok:
        click.echo(report.failure())
        sys.exit(1)
    click.echo(f"OK: {report.size} entries, {report.checkpoints} checkpoints "
               f"(last signed size {report.signed_size}), root {report.root_hex}")
    if replayed:
        click.echo("replayed: " + ", ".join(f"{k} {v}" for k, v in report.counts.items() if k != "entries"))
    else:
        click.echo("integrity only: not replayed, so the registry's rules (no double counting) were not checked")


@click.command("verify")
@click.option("--export", "export_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the log as JSON lines to FILE.")
def verify(export_path: Path | None) -> None:
    """Verify the whole registry: chain, Merkle root, checkpoints, replay vs live tables (R-L7)."""
    from api.cli import (  # here: api.cli imports this module at its end
        _config,
        _engine_or_exit,
    )
    from chainlog.continuity import KeyContinuityError, check_key, trust_root
    from chainlog.errors import KeyFileError
    from chainlog.export import write_export
    from registry.db import is_postgres, session_factory
    from registry.signing import load_signer
    from registry.verification import verify_registry

    config = _config()
    engine = _engine_or_exit(config)
    try:
        verifier = load_signer(config).verifier
    except (OSError, KeyFileError) as exc:  # no key: we cannot know whom to trust
        click.echo(f"arcreg: no verifier key: {exc}", err=True)
        sys.exit(2)
    engine = _snapshot_engine(engine) if not is_postgres(engine) else \
        engine.execution_options(isolation_level="REPEATABLE READ")
    if export_path is not None:
        with session_factory(engine)() as session, export_path.open("w", encoding="utf-8") as fp:
            entries, checkpoints = write_export(session, fp)
        click.echo(f"exported {entries} entries and {checkpoints} checkpoints to {export_path}", err=True)
    with session_factory(engine)() as session:
        # R-L5b: the configured key must be the log's key, or one a key.rotated
        # entry introduced; its predecessors are then trusted through the rotations.
        try:
            check_key(session, verifier)
        except KeyContinuityError as exc:
            click.echo(f"FAILED: key_changed: {exc}")
            sys.exit(1)
        report = verify_registry(session, [trust_root(session, verifier)], progress=_progress())
    _finish(report)


def _snapshot_engine(engine):
    """SQLite: read in a deferred transaction, not the registry's BEGIN IMMEDIATE.

    Verification must see the log and the tables as of one moment, so that
    concurrent writes are not reported as drift; under WAL a deferred read
    transaction is such a snapshot, and unlike BEGIN IMMEDIATE it does not
    hold the write lock for the whole (possibly long) run, which would make
    the registry's writers time out.
    """
    from sqlalchemy import create_engine, event

    snapshot = create_engine(engine.url, connect_args={"timeout": 30})

    @event.listens_for(snapshot, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN below is the one that runs
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(snapshot, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN")

    return snapshot


@click.command("verify-log")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--vkey", required=True, help="The log's first published verifier key (signed-note vkey).")
@click.option("--integrity-only", is_flag=True,
              help="Check only that the log is untampered (hash chain, Merkle root, checkpoint signatures and "
                   "consistency): ~20x faster, but without the replay a correctly signed log that breaks the "
                   "registry's rules (a double spend) passes.")
def verify_log(file: Path, vkey: str, integrity_only: bool) -> None:
    """Verify an exported log without a database: chainlog checks and the replay (R-L7)."""
    if integrity_only:
        from registry.verify_report import check_integrity  # chainlog only: starts fast

        with file.open("rb") as fp:
            _finish(check_integrity(fp, [vkey]), replayed=False)
        return
    from registry.verification import DeferredReplay, check_lines

    replay = DeferredReplay(_progress())
    try:
        with file.open("rb") as fp:
            report = check_lines(_entries(fp, replay), [vkey], replay)
    finally:
        replay.close()  # the replayed state's scratch file
    _finish(report)


def _entries(fp, replay):
    """Yield the file's lines; replay an entry line once the consumer asks for
    the next line, i.e. once chainlog has verified it (as `verification.log_lines`)."""
    from chainlog import _json

    for raw in fp:
        yield raw
        try:
            obj = _json.loads(raw) if raw.strip() else None
        except _json.ERRORS:
            continue  # chainlog has already refused it, or will name it
        if not isinstance(obj, dict) or "index" not in obj:
            continue  # a checkpoint line
        # The entry's fields: under "entry" (the hashed text itself, current
        # format), or beside the hashes (the earlier format, still verified).
        entry = obj["entry"] if isinstance(obj.get("entry"), dict) else obj
        replay.apply(entry.get("index"), entry.get("type"), entry.get("payload"), obj.get("leaf_hash"),
                     entry.get("time"))
