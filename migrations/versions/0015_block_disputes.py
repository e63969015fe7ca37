"""disputed blocks after a back-dated certificate finding (R-C5)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

``block.disputed`` (false for every existing block: no registry wrote a
dispute before this) and the ``block_dispute`` table of disputes and their
outcomes. Registries holding a back-dated suspension or revocation recorded
before R-C5 keep their log as written; replay reports the marks it lacks.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import registry.sqltypes

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # Tolerant of a schema that already has them (a test re-runs the chain from an earlier revision).
    if 'disputed' not in {c['name'] for c in inspector.get_columns('block')}:
        op.add_column('block', sa.Column('disputed', sa.Boolean(), nullable=False, server_default=sa.false()))
    if inspector.has_table('block_dispute'):
        return
    op.create_table(
        'block_dispute',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('serial', sa.String(80), sa.ForeignKey('block.serial'), nullable=False),
        sa.Column('certificate_id', sa.Integer(), sa.ForeignKey('rms_certificate.id'), nullable=False),
        sa.Column('event_id', sa.Integer(), sa.ForeignKey('rms_certificate_event.id'), nullable=False),
        sa.Column('event_kind', sa.String(16), nullable=False),
        sa.Column('event_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(1000), nullable=False),
        sa.Column('lot_id', sa.Integer(), sa.ForeignKey('lot.id'), nullable=False),
        sa.Column('lot_processed_on', sa.Date(), nullable=False),
        sa.Column('block_state', sa.String(12), nullable=False),
        sa.Column('log_index', sa.BigInteger(), nullable=False),
        sa.Column('disputed_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(12), nullable=False),
        sa.Column('decision_reason', sa.String(1000), nullable=True),
        sa.Column('decided_by', sa.Integer(), sa.ForeignKey('app_user.id'), nullable=True),
        sa.Column('decided_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decision_log_index', sa.BigInteger(), nullable=True),
    )
    op.create_index('ix_block_dispute_serial', 'block_dispute', ['serial'])
    op.create_index('ix_block_dispute_certificate_id', 'block_dispute', ['certificate_id'])


def downgrade() -> None:
    op.drop_index('ix_block_dispute_certificate_id', 'block_dispute')
    op.drop_index('ix_block_dispute_serial', 'block_dispute')
    op.drop_table('block_dispute')
    op.drop_column('block', 'disputed')  # plain DROP COLUMN: a batch copy would drop the referenced block table
