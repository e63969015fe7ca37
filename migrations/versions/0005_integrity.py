"""integrity

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.sqltypes  # noqa: F401  (custom column types)


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('verification_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('checkpoints', sa.Integer(), nullable=False),
    sa.Column('bad_index', sa.BigInteger(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('witness',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('vkey', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('cosignature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('witness_id', sa.Integer(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('received_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['witness_id'], ['witness.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('witness_id', 'size', name='uq_cosignature_witness_size')
    )
    with op.batch_alter_table('cosignature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cosignature_witness_id'), ['witness_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cosignature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cosignature_witness_id'))

    op.drop_table('cosignature')
    op.drop_table('witness')
    op.drop_table('verification_run')
