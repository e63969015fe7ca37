"""participant details: address and contacts (RMS 8.1.4)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('participant') as batch:
        batch.add_column(sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True))
        batch.add_column(sa.Column('contacts', sa.JSON(), server_default='[]', nullable=False))
        batch.add_column(sa.Column('contacts_salt', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('participant') as batch:
        batch.drop_column('contacts_salt')
        batch.drop_column('contacts')
        batch.drop_column('address')
