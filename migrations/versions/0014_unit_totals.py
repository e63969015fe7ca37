"""running totals of pound requests per lot ledger (R-U6)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

A lot keeps the pounds requested so far from it by its dispositions
(``sold_lb``) and its generations (``used_lb``, of which ``used_pc_lb`` from
the PC component of a split lot), so that a sequence of requests in pounds is
converted as a running total and adds up to the lot's mass (registry.unit_totals).
Existing lots start at 0: their earlier requests were logged in kilograms only
(no ``requested`` member), and replay reads such entries the same way. The log
is not rewritten.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.sqltypes import Milli

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COLUMNS = ('sold_lb', 'used_lb', 'used_pc_lb')


def upgrade() -> None:
    with op.batch_alter_table('lot') as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, Milli(), server_default='0', nullable=False))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35): batch mode would copy and drop the lot table, which
    # blocks and dispositions reference.
    for name in COLUMNS:
        op.drop_column('lot', name)
