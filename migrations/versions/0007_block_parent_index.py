"""index of a block's parts by parent (provenance of split blocks)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_block_parent_serial', 'block', ['parent_serial'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_block_parent_serial', table_name='block')
