"""Migration 0002 builds exactly chainlog's tables and the append-only triggers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from chainlog import schema, store

MIGRATION = Path(__file__).resolve().parents[3] / "migrations" / "versions" / "0002_chainlog.py"


def _migration():
    spec = importlib.util.spec_from_file_location("chainlog_migration_0002", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frozen_trigger_ddl_matches_the_library():
    migration = _migration()
    assert migration.revision == "0002" and migration.down_revision == "0001"
    for dialect in ("postgresql", "sqlite"):
        assert migration.append_only_ddl(dialect) == schema.append_only_ddl(dialect)
        assert migration.drop_append_only_ddl(dialect) == schema.drop_append_only_ddl(dialect)


def _touches_log_tables(diff) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if name in schema.LOG_TABLES or getattr(table, "name", None) in schema.LOG_TABLES:
                return True
    return False


def test_migrated_schema_equals_the_metadata(engine):
    assert set(schema.LOG_TABLES) <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, store.metadata)
    assert [d for d in diff if _touches_log_tables(d)] == []
