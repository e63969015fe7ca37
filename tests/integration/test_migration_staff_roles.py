"""Migration 0012: a registry whose staff users predate staff-role entries
(R-L7b) gets one ``user.role_granted`` entry per staff user, appended to the
log by the upgrade; it then verifies, and a role written into the users
table afterwards is named. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from chainlog import store
from registry import participant_details, retirements, staff_roles
from registry.bulk import services as bulk_services
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import UnitOfWork, make_engine, session_factory
from registry import demo
from registry.demo import build_demo
from registry.migrate import current_revision, head_revision, upgrade
from registry.signing import load_signer
from registry.verification import verify_registry
from tests.integration.test_migration_identity_keys import _downgrade

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _checkpoint(engine, config: Config) -> None:
    with UnitOfWork(session_factory(engine), FrozenClock(START)) as uow:
        store.sign_checkpoint(uow.session, load_signer(config, create=True), config.log_origin, START)
        uow.commit()


def _verify(engine, config: Config):
    with session_factory(engine)() as session:
        return verify_registry(session, [load_signer(config).verifier], record=False)


def _grants(engine) -> list[tuple[str, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, canonical FROM log_entries WHERE type = 'user.role_granted' "
                                 'ORDER BY "index"')).all()
    return [(actor, json.loads(canonical)["payload"]) for actor, canonical in rows]


@pytest.fixture
def legacy(empty_db_url, backend, tmp_path, monkeypatch):
    """The demo registry as written before staff roles were logged: schema 0011, no grant entries."""
    engine = make_engine(empty_db_url)
    upgrade(engine)  # built with today's models, without the grant entries, then taken back to 0011
    config = Config(database_url=empty_db_url, clock=START.isoformat(), signing_key_file=tmp_path / "key.pem")
    with monkeypatch.context() as before:
        before.setattr(staff_roles, "record_grant", lambda *args: None)
        # Nor were there offers or bulk retirements (migration 0020, R-T6, R-T7): the demo's last steps
        # become a plain transfer and single retirements.
        before.setattr(participant_details, "update_participant", lambda *args, **kwargs: None)
        before.setattr(bulk_services, "retire_many", lambda uow, actor, *, items, **claim: [
            retirements.retire(uow, actor, serial=i["serial"], quantity=i["quantity"], **claim) for i in items])
        # Nor custody accounts (migration 0017, R-M1): the demo's custody steps are left out.
        before.setattr(demo, "_custody", lambda *args: None)
        build_demo(engine, config)
    _checkpoint(engine, config)
    _downgrade(engine, empty_db_url, backend, "0011")
    monkeypatch.setenv("ARCREG_CLOCK", START.isoformat())  # the upgrade's entries are dated by the registry's clock
    yield engine, config
    engine.dispose()


def test_upgrade_logs_existing_staff_and_a_later_role_edit_is_named(legacy, empty_db_url, backend):
    engine, config = legacy
    with engine.connect() as conn:
        staff = conn.execute(text("SELECT id, role, body_code FROM app_user WHERE role <> 'member' ORDER BY id")).all()
    assert [r[1] for r in staff] == ["admin", "certifier"] and _grants(engine) == []

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    expected = [("system", {"user": uid, "role": role, "body": body, "existing": True}) for uid, role, body in staff]
    assert _grants(engine) == expected
    _checkpoint(engine, config)
    report = _verify(engine, config)
    assert report.ok, report.failure()

    _downgrade(engine, empty_db_url, backend, "0011")  # and up again: the entries are not repeated
    upgrade(engine)
    assert _grants(engine) == expected and _verify(engine, config).ok

    with engine.begin() as conn:  # an edit after the cut-over is caught
        member = conn.execute(text("SELECT id FROM app_user WHERE role = 'member' ORDER BY id")).scalar()
        conn.execute(text("UPDATE app_user SET role = 'admin' WHERE id = :i"), {"i": member})
        conn.execute(text("UPDATE app_user SET body_code = 'SCS' WHERE role = 'certifier'"))
    failure = _verify(engine, config).failure()
    assert f"user {member}: role expected None (replayed from the log), found 'admin'" in failure, failure
    assert f"user {staff[1][0]}: body_code expected 'NSF' (replayed from the log), found 'SCS'" in failure, failure


def test_an_upgrade_with_no_staff_appends_nothing(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM log_entries")).scalar() == 0
    finally:
        engine.dispose()
