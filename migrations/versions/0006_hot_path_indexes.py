"""hot path indexes (issue 8 scale benchmark)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_block_owner_serial', 'block', ['owner_id', 'serial'], unique=False)
    op.create_index('ix_block_log_index', 'block', ['log_index'], unique=False)
    op.drop_index('ix_retirement_beneficiary', table_name='retirement')
    op.create_index('ix_retirement_beneficiary_lower', 'retirement', [sa.text('lower(beneficiary)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_retirement_beneficiary_lower', table_name='retirement')
    op.create_index('ix_retirement_beneficiary', 'retirement', ['beneficiary'], unique=False)
    op.drop_index('ix_block_log_index', table_name='block')
    op.drop_index('ix_block_owner_serial', table_name='block')
