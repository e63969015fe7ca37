"""chain-of-custody accounts (SPEC §6A, R-M1–R-M8)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

New tables only: custody accounts, their receipts (received once registry-wide
per supplier certificate and document reference), outputs, per-period volumes
and closed-period summaries. Existing registries gain empty tables; the log is
not rewritten.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.sqltypes  # noqa: F401  (custom column types)

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('custody_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('product_group', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('control_system', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('facility_ids', sa.JSON(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('period_months', sa.Integer(), nullable=False),
    sa.Column('window_periods', sa.Integer(), nullable=False),
    sa.Column('conversion_factor', registry.sqltypes.DecimalText(length=40), nullable=False),
    sa.Column('output_class', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('last_on', sa.Date(), nullable=True),
    sa.Column('receipts', sa.Integer(), nullable=False),
    sa.Column('closed_periods', sa.Integer(), nullable=False),
    sa.Column('credited_pc_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('credited_pi_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('credited_r_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('drawn_pc_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('drawn_pi_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('drawn_r_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('batch_input_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('batch_certified_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('batch_output_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('batch_claimed_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('batch_open', sa.Boolean(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('leaf_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_custody_account_participant_id'), 'custody_account', ['participant_id'], unique=False)
    op.create_table('custody_closing',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('leaf_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['custody_account.id'], ),
    sa.PrimaryKeyConstraint('account_id', 'n')
    )
    op.create_table('custody_output',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('customer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('material_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('mass_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('claim', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('claimed_pc_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('claimed_pi_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('claimed_r_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['custody_account.id'], ),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_custody_output_account_id'), 'custody_output', ['account_id'], unique=False)
    op.create_index(op.f('ix_custody_output_reference'), 'custody_output', ['reference'], unique=False)
    op.create_table('custody_period',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('input_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('certified_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('credit_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('output_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('claimed_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('drawn_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('expired_kg', registry.sqltypes.Milli(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['custody_account.id'], ),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], ),
    sa.PrimaryKeyConstraint('account_id', 'n', 'facility_id')
    )
    op.create_table('custody_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('supplier_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('supplier_participant_id', sa.Integer(), nullable=True),
    sa.Column('supplier_certificate', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('material_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('mass_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('claim', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('certified_pc_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('certified_pi_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('certified_r_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('credit_pc_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('credit_pi_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('credit_r_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('cum_pc_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('cum_pi_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('cum_r_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['custody_account.id'], ),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], ),
    sa.ForeignKeyConstraint(['supplier_participant_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'seq', name='uq_custody_receipt_account_seq'),
    sa.UniqueConstraint('supplier_certificate', 'reference', name='uq_custody_receipt_certificate_reference')
    )
    op.create_index('ix_custody_receipt_account_expiry', 'custody_receipt', ['account_id', 'expires_on', 'seq'], unique=False)
    op.create_index('ix_custody_receipt_cum_pc', 'custody_receipt', ['account_id', 'cum_pc_kg', 'seq'], unique=False)
    op.create_index('ix_custody_receipt_cum_pi', 'custody_receipt', ['account_id', 'cum_pi_kg', 'seq'], unique=False)
    op.create_index('ix_custody_receipt_cum_r', 'custody_receipt', ['account_id', 'cum_r_kg', 'seq'], unique=False)


def downgrade() -> None:
    for table in ('custody_closing', 'custody_period', 'custody_output', 'custody_receipt', 'custody_account'):
        op.drop_table(table)
