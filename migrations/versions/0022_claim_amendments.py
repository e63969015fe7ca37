"""a retirement's claim location and period (R-R6) and its amendments (R-R7)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06

The four columns are optional and recorded only on new retirements (and by
amendments); existing retirements have none, which is what their log
entries say. Amendments are new: the table starts empty.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('retirement') as batch:
        batch.add_column(sa.Column('location_country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True))
        batch.add_column(sa.Column('location_subdivision', sqlmodel.sql.sqltypes.AutoString(length=6),
                                   nullable=True))
        batch.add_column(sa.Column('period_from', sa.Date(), nullable=True))
        batch.add_column(sa.Column('period_to', sa.Date(), nullable=True))
    op.create_table(
        'retirement_amendment',
        sa.Column('log_index', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('retirement_id', sa.Integer(), nullable=False),
        sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('amended_on', sa.Date(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('leaf_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(['retirement_id'], ['retirement.id']),
        sa.PrimaryKeyConstraint('log_index'),
    )
    op.create_index('ix_retirement_amendment_retirement_id', 'retirement_amendment', ['retirement_id'])


def downgrade() -> None:
    op.drop_index('ix_retirement_amendment_retirement_id', table_name='retirement_amendment')
    op.drop_table('retirement_amendment')
    op.drop_column('retirement', 'period_to')  # plain DROP COLUMN, as 0016
    op.drop_column('retirement', 'period_from')
    op.drop_column('retirement', 'location_subdivision')
    op.drop_column('retirement', 'location_country')
