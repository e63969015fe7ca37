"""offers (R-T6) and bulk retirements (R-T7)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

``participant.incoming_transfers`` ("automatic" for every existing
participant: the default, R-T6), the ``offer`` table, and
``retirement.bulk_id`` (null for every existing retirement: none was made
in bulk).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import registry.sqltypes

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if 'incoming_transfers' not in {c['name'] for c in inspector.get_columns('participant')}:
        op.add_column('participant', sa.Column('incoming_transfers', sa.String(12), nullable=False,
                                               server_default='automatic'))
    if 'bulk_id' not in {c['name'] for c in inspector.get_columns('retirement')}:
        op.add_column('retirement', sa.Column('bulk_id', sa.BigInteger(), nullable=True))
        op.create_index('ix_retirement_bulk_id', 'retirement', ['bulk_id'])
    if inspector.has_table('offer'):
        return
    op.create_table(
        'offer',
        sa.Column('id', sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column('serial', sa.String(80), sa.ForeignKey('block.serial'), nullable=False),
        sa.Column('from_participant_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('to_participant_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('state', sa.String(12), nullable=False),
        sa.Column('lapses_on', sa.Date(), nullable=False),
        sa.Column('leaf_hash', sa.String(64), nullable=False),
        sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_log_index', sa.BigInteger(), nullable=True),
        sa.Column('decided_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_offer_serial', 'offer', ['serial'])
    op.create_index('ix_offer_to_state', 'offer', ['to_participant_id', 'state', 'id'])
    op.create_index('ix_offer_from_state', 'offer', ['from_participant_id', 'state', 'id'])
    op.create_index('ix_offer_state_lapses', 'offer', ['state', 'lapses_on'])


def downgrade() -> None:
    for name in ('ix_offer_state_lapses', 'ix_offer_from_state', 'ix_offer_to_state', 'ix_offer_serial'):
        op.drop_index(name, 'offer')
    op.drop_table('offer')
    op.drop_index('ix_retirement_bulk_id', 'retirement')
    op.drop_column('retirement', 'bulk_id')
    op.drop_column('participant', 'incoming_transfers')
