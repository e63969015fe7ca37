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
