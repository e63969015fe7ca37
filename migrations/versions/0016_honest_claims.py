"""a product claim's label approval reference and claimed recycled status (R-R8)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Both are optional and recorded only on new product claims (RMS 8.8.1, 9.1.1);
existing retirements have neither, which is what their log entries say.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('retirement') as batch:
        batch.add_column(sa.Column('label_approval_ref', sqlmodel.sql.sqltypes.AutoString(length=100),
                                   nullable=True))
        batch.add_column(sa.Column('claimed_status', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True))


def downgrade() -> None:
    op.drop_column('retirement', 'claimed_status')  # plain DROP COLUMN, as 0014
    op.drop_column('retirement', 'label_approval_ref')
