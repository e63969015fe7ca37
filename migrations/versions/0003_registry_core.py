"""registry core

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.sqltypes  # noqa: F401  (custom column types)


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('facility',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('capacity_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('facility', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_facility_participant_id'), ['participant_id'], unique=False)

    op.create_table('serial_counter',
    sa.Column('generator_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('next_unit', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['generator_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('generator_id', 'year')
    )
    op.create_table('production_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('capacity_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('production_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_production_line_facility_id'), ['facility_id'], unique=False)

    op.create_table('rms_certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('body_code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('activities', sa.JSON(), nullable=False),
    sa.Column('facility_scope', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('product_groups', sa.JSON(), nullable=False),
    sa.Column('control_systems', sa.JSON(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('rms_certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rms_certificate_participant_id'), ['participant_id'], unique=False)

    op.create_table('determination',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.Column('certification_year', sa.Integer(), nullable=False),
    sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('eligible_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('used_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('pc_only', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('superseded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['production_line.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['superseded_by'], ['determination.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('determination', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_determination_certification_year'), ['certification_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_determination_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_determination_line_id'), ['line_id'], unique=False)

    op.create_table('lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('generator_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('material_code', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('recycled_status', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('mass_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('pc_kg', registry.sqltypes.Milli(), nullable=True),
    sa.Column('non_plastic_fraction', registry.sqltypes.DecimalText(length=40), nullable=False),
    sa.Column('lhv_mj_per_kg', registry.sqltypes.DecimalText(length=40), nullable=True),
    sa.Column('processed_on', sa.Date(), nullable=False),
    sa.Column('rms_certificate_id', sa.Integer(), nullable=False),
    sa.Column('conversion', sa.JSON(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('sold_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('claimed_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('claimed_pc_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('used_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('used_pc_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('disclaimer_required', sa.Boolean(), nullable=False),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.Column('leaf_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], ),
    sa.ForeignKeyConstraint(['generator_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['production_line.id'], ),
    sa.ForeignKeyConstraint(['rms_certificate_id'], ['rms_certificate.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('generator_id', 'reference', name='uq_lot_generator_reference')
    )
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_generator_id'), ['generator_id'], unique=False)

    op.create_table('rms_certificate_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['rms_certificate.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rms_certificate_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rms_certificate_event_certificate_id'), ['certificate_id'], unique=False)

    op.create_table('block',
    sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('arc_code', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('arc_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('recycled_status', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('quantity', registry.sqltypes.Milli(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('generator_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('lot_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('determination_id', sa.Integer(), nullable=False),
    sa.Column('generation_year', sa.Integer(), nullable=False),
    sa.Column('first_unit', sa.BigInteger(), nullable=False),
    sa.Column('last_unit', sa.BigInteger(), nullable=False),
    sa.Column('base_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('parent_serial', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.Column('leaf_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['determination_id'], ['determination.id'], ),
    sa.ForeignKeyConstraint(['generator_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['parent_serial'], ['block.serial'], ),
    sa.PrimaryKeyConstraint('serial')
    )
    with op.batch_alter_table('block', schema=None) as batch_op:
        batch_op.create_index('ix_block_generator_year', ['generator_id', 'generation_year', 'first_unit'], unique=False)
        batch_op.create_index(batch_op.f('ix_block_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index('ix_block_owner_state', ['owner_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_block_state'), ['state'], unique=False)

    op.create_table('lot_disposition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('counterparty', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('mass_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('claim', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('claimed_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('claimed_pc_kg', registry.sqltypes.Milli(), nullable=False),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lot_disposition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_disposition_lot_id'), ['lot_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lot_disposition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_disposition_lot_id'))

    op.drop_table('lot_disposition')
    with op.batch_alter_table('block', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_block_state'))
        batch_op.drop_index('ix_block_owner_state')
        batch_op.drop_index(batch_op.f('ix_block_lot_id'))
        batch_op.drop_index('ix_block_generator_year')

    op.drop_table('block')
    with op.batch_alter_table('rms_certificate_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rms_certificate_event_certificate_id'))

    op.drop_table('rms_certificate_event')
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_generator_id'))
        batch_op.drop_index(batch_op.f('ix_lot_facility_id'))

    op.drop_table('lot')
    with op.batch_alter_table('determination', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_determination_line_id'))
        batch_op.drop_index(batch_op.f('ix_determination_facility_id'))
        batch_op.drop_index(batch_op.f('ix_determination_certification_year'))

    op.drop_table('determination')
    with op.batch_alter_table('rms_certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rms_certificate_participant_id'))

    op.drop_table('rms_certificate')
    with op.batch_alter_table('production_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_production_line_facility_id'))

    op.drop_table('production_line')
    op.drop_table('serial_counter')
    with op.batch_alter_table('facility', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_facility_participant_id'))

    op.drop_table('facility')
