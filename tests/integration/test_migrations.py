"""Migrations build the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from registry.db import make_engine
from registry.metadata import target_metadata
from registry.migrate import current_revision, head_revision, upgrade


def test_upgrade_from_empty_to_head_matches_models(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, target_metadata())
        assert diff == []
        tables = set(inspect(engine).get_table_names())
        expected = {t for m in target_metadata() for t in m.tables}
        assert expected <= tables
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_tokens_without_expiry_get_one_at_upgrade(empty_db_url, monkeypatch):
    """0013 (R-X7): a token issued with no expiry gets created_at + the maximum lifetime, but
    never less than 30 days after the upgrade; a token with an expiry keeps it."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0011")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO app_user (id, email, role, created_at) "
                                    "VALUES (1, 'admin@registry.test', 'admin', '2024-01-01 00:00:00')"))
            connection.execute(text(
                "INSERT INTO api_token (id, user_id, token_hash, created_at, expires_at) VALUES "
                "(1, 1, 'a', '2024-01-01 00:00:00', NULL), (2, 1, 'b', '2026-01-01 00:00:00', NULL), "
                "(3, 1, 'c', '2026-01-01 00:00:00', '2026-01-02 00:00:00')"))
        monkeypatch.setenv("ARCREG_CLOCK", "2026-03-02T09:30:00Z")
        monkeypatch.delenv("ARCREG_TOKEN_MAX_LIFETIME_DAYS", raising=False)
        upgrade(engine)
        from registry.db import session_factory
        from registry.models import ApiToken

        from sqlmodel import select

        with session_factory(engine)() as session:
            tokens = session.exec(select(ApiToken)).all()
            expiry = {t.id: t.expires_at for t in tokens}
            parents = {t.id: t.parent_token_id for t in tokens}
        assert expiry == {1: datetime(2026, 4, 1, 9, 30, tzinfo=UTC),  # a year after 2024: the 30-day grace
                          2: datetime(2027, 1, 1, tzinfo=UTC),  # created_at + 365 days
                          3: datetime(2026, 1, 2, tzinfo=UTC)}
        assert parents == {1: None, 2: None, 3: None}
        columns = {c["name"]: c for c in inspect(engine).get_columns("api_token")}
        assert columns["expires_at"]["nullable"] is False
    finally:
        engine.dispose()
