"""Database schema of the log: SQLAlchemy Core tables and append-only triggers (R-L8).

The tables live on their own `metadata` (exported as `chainlog.store.metadata`)
so the registry's Alembic environment can list it next to SQLModel.metadata.
Migration 0002 creates exactly these tables and installs `append_only_ddl`.

- ``log_entries``: one row per entry; ``canonical`` is the exact UTF-8 text
  hashed (R-L1), with its RFC 9162 leaf hash and R-L2 chain hash.
- ``log_nodes``: hashes of complete aligned subtrees of level >= 1, keyed by
  (level, index): node (l, i) covers leaves [i·2^l, (i+1)·2^l). Level 0 is
  ``log_entries.leaf_hash``. A root or proof for any size needs only
  O(log n) of these rows, never the leaves.
- ``log_checkpoints``: every signed checkpoint (R-L4), by tree size.

Every table is insert-only: no UPDATE, DELETE or TRUNCATE (R-L8). There is
no mutable "head" row: PostgreSQL appenders serialise on an advisory lock.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

entries = sa.Table(
    "log_entries",
    metadata,
    sa.Column("index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("time", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("canonical", sa.Text, nullable=False),
    sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("entry_hash", sa.LargeBinary(32), nullable=False),
    sa.CheckConstraint('"index" >= 0', name="index_nonnegative"),
    sa.CheckConstraint("length(leaf_hash) = 32", name="leaf_hash_length"),
    sa.CheckConstraint("length(entry_hash) = 32", name="entry_hash_length"),
)

nodes = sa.Table(
    "log_nodes",
    metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
    sa.CheckConstraint("level >= 1 AND level <= 63", name="level_range"),
    sa.CheckConstraint('"index" >= 0', name="index_nonnegative"),
    sa.CheckConstraint("length(hash) = 32", name="hash_length"),
)

checkpoints = sa.Table(
    "log_checkpoints",
    metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary(32), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("time", sa.Text, nullable=False),
    sa.CheckConstraint("size >= 0", name="size_nonnegative"),
    sa.CheckConstraint("length(root) = 32", name="root_length"),
)

LOG_TABLES = ("log_entries", "log_nodes", "log_checkpoints")

_PG_FUNCTION = """\
CREATE OR REPLACE FUNCTION chainlog_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'chainlog: % on % refused: the log is append-only (R-L8)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$"""


def dialect_of(conn: Any) -> str:
    """The database dialect's name ("postgresql", "sqlite") of a Connection or Session."""
    dialect = getattr(conn, "dialect", None) or conn.get_bind().dialect
    return dialect.name


def append_only_ddl(dialect: str) -> list[str]:
    """Statements that make the log tables refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL).

    Frozen copies live in migrations/versions/0002_chainlog.py; a test checks
    that they stay identical.
    """
    if dialect == "postgresql":
        out = [_PG_FUNCTION]
        for t in LOG_TABLES:
            out.append(
                f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                "FOR EACH ROW EXECUTE FUNCTION chainlog_refuse_change()"
            )
            out.append(
                f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
                "FOR EACH STATEMENT EXECUTE FUNCTION chainlog_refuse_change()"
            )
        return out
    if dialect == "sqlite":
        out = []
        for t in LOG_TABLES:
            for op in ("UPDATE", "DELETE"):
                out.append(
                    f"CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t} BEGIN "
                    f"SELECT RAISE(ABORT, 'chainlog: {op} on {t} refused: the log is append-only (R-L8)'); END"
                )
        return out
    raise NotImplementedError(f"no append-only triggers for dialect {dialect!r}")


def drop_append_only_ddl(dialect: str) -> list[str]:
    """Inverse of `append_only_ddl` (for a migration's downgrade)."""
    if dialect == "postgresql":
        out = []
        for t in LOG_TABLES:
            out.append(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
            out.append(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}")
        out.append("DROP FUNCTION IF EXISTS chainlog_refuse_change()")
        return out
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {t}_no_{op}" for t in LOG_TABLES for op in ("update", "delete")]
    raise NotImplementedError(f"no append-only triggers for dialect {dialect!r}")
