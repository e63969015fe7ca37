"""ARC generation draws on custody credit (R-M6)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

A lot at a facility where its generator keeps a custody account is an output
of that account (``lot.custody_account_id``); its ARC generations and claimed
sales draw on the account's credit, and each period counts the credit drawn
by ARCs (``custody_period.arc_kg``). Existing lots cite no account (their
``lot.registered`` entries name none) and existing periods drew nothing for
ARCs: both columns start empty, which is what the log says.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import registry.sqltypes

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lot') as batch:
        batch.add_column(sa.Column('custody_account_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('custody_period') as batch:
        batch.add_column(sa.Column('arc_kg', registry.sqltypes.Milli(), nullable=False, server_default='0'))


def downgrade() -> None:
    op.drop_column('custody_period', 'arc_kg')  # plain DROP COLUMN, as 0014
    op.drop_column('lot', 'custody_account_id')
