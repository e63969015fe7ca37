"""chainlog: log entries, Merkle subtree hashes, signed checkpoints; append-only triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

The tables equal ``chainlog.store.metadata`` (chainlog/schema.py); the trigger
DDL is a frozen copy of ``chainlog.schema.append_only_ddl`` (a test keeps the
two identical). Every log table refuses UPDATE and DELETE, and TRUNCATE on
PostgreSQL (R-L8).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = '0001'
branch_labels = None
depends_on = None

TABLES = ("log_entries", "log_nodes", "log_checkpoints")

PG_FUNCTION = """\
CREATE OR REPLACE FUNCTION chainlog_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'chainlog: % on % refused: the log is append-only (R-L8)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$"""


def append_only_ddl(dialect: str) -> list[str]:
    if dialect == "postgresql":
        out = [PG_FUNCTION]
        for t in TABLES:
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
        for t in TABLES:
            for verb in ("UPDATE", "DELETE"):
                out.append(
                    f"CREATE TRIGGER {t}_no_{verb.lower()} BEFORE {verb} ON {t} BEGIN "
                    f"SELECT RAISE(ABORT, 'chainlog: {verb} on {t} refused: the log is append-only (R-L8)'); END"
                )
        return out
    raise NotImplementedError(f"no append-only triggers for dialect {dialect!r}")


def drop_append_only_ddl(dialect: str) -> list[str]:
    if dialect == "postgresql":
        out = []
        for t in TABLES:
            out.append(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
            out.append(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}")
        out.append("DROP FUNCTION IF EXISTS chainlog_refuse_change()")
        return out
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {t}_no_{verb}" for t in TABLES for verb in ("update", "delete")]
    raise NotImplementedError(f"no append-only triggers for dialect {dialect!r}")


def upgrade() -> None:
    op.create_table(
        "log_entries",
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("entry_hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint('"index" >= 0', name="ck_log_entries_index_nonnegative"),
        sa.CheckConstraint("length(leaf_hash) = 32", name="ck_log_entries_leaf_hash_length"),
        sa.CheckConstraint("length(entry_hash) = 32", name="ck_log_entries_entry_hash_length"),
        sa.PrimaryKeyConstraint("index", name="pk_log_entries"),
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("level >= 1 AND level <= 63", name="ck_log_nodes_level_range"),
        sa.CheckConstraint('"index" >= 0', name="ck_log_nodes_index_nonnegative"),
        sa.CheckConstraint("length(hash) = 32", name="ck_log_nodes_hash_length"),
        sa.PrimaryKeyConstraint("level", "index", name="pk_log_nodes"),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("time", sa.Text(), nullable=False),
        sa.CheckConstraint("size >= 0", name="ck_log_checkpoints_size_nonnegative"),
        sa.CheckConstraint("length(root) = 32", name="ck_log_checkpoints_root_length"),
        sa.PrimaryKeyConstraint("size", name="pk_log_checkpoints"),
    )
    for statement in append_only_ddl(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("log_checkpoints")
    op.drop_table("log_nodes")
    op.drop_table("log_entries")
