"""trading

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.sqltypes  # noqa: F401  (custom column types)


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('ran_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'day', name='uq_job_run_name_day')
    )
    op.create_table('idempotency_record',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('user_id', 'key')
    )
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_record_created_at'), ['created_at'], unique=False)

    op.create_table('retirement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('quantity', registry.sqltypes.Milli(), nullable=False),
    sa.Column('arc_code', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('arc_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('generation_year', sa.Integer(), nullable=False),
    sa.Column('generator_id', sa.Integer(), nullable=False),
    sa.Column('lot_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('first_unit', sa.BigInteger(), nullable=False),
    sa.Column('last_unit', sa.BigInteger(), nullable=False),
    sa.Column('beneficiary', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('claim_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('reporting_year', sa.Integer(), nullable=False),
    sa.Column('claim_date', sa.Date(), nullable=True),
    sa.Column('statement', sa.Text(), nullable=True),
    sa.Column('basis_kg', registry.sqltypes.Milli(), nullable=True),
    sa.Column('claim_share', registry.sqltypes.DecimalText(length=40), nullable=True),
    sa.Column('product', sa.JSON(), nullable=True),
    sa.Column('retired_on', sa.Date(), nullable=False),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.Column('leaf_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['generator_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['serial'], ['block.serial'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('serial')
    )
    with op.batch_alter_table('retirement', schema=None) as batch_op:
        batch_op.create_index('ix_retirement_beneficiary', ['beneficiary'], unique=False)
        batch_op.create_index(batch_op.f('ix_retirement_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_retirement_year_type', ['reporting_year', 'arc_type'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('retirement', schema=None) as batch_op:
        batch_op.drop_index('ix_retirement_year_type')
        batch_op.drop_index(batch_op.f('ix_retirement_owner_id'))
        batch_op.drop_index('ix_retirement_beneficiary')

    op.drop_table('retirement')
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_record_created_at'))

    op.drop_table('idempotency_record')
    op.drop_table('job_run')
