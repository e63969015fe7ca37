"""identity keys of a retirement's beneficiary and product (R-R5, R-R8)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24

The beneficiary search and the product-claim cap compare names by
``registry.names.identity_key`` (NFKC, case folded, white space collapsed),
the same on SQLite and PostgreSQL; the key is stored next to the name and
indexed with the reporting year. Existing rows are keyed here. The key is a
contract: a change to ``identity_key`` needs a migration that re-keys rows.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from registry.names import identity_key

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_BATCH = 1000


def _backfill() -> None:
    connection = op.get_bind()
    retirement = sa.table('retirement', sa.column('id', sa.Integer()), sa.column('beneficiary', sa.String()),
                          sa.column('product', sa.JSON()), sa.column('beneficiary_key', sa.String()),
                          sa.column('product_key', sa.String()))
    update = (sa.update(retirement).where(retirement.c.id == sa.bindparam('row_id'))
              .values(beneficiary_key=sa.bindparam('bkey'), product_key=sa.bindparam('pkey')))
    after = 0
    while True:
        rows = connection.execute(
            sa.select(retirement.c.id, retirement.c.beneficiary, retirement.c.product)
            .where(retirement.c.id > after).order_by(retirement.c.id).limit(_BATCH)).all()
        if not rows:
            return
        connection.execute(update, [
            {"row_id": row.id, "bkey": identity_key(row.beneficiary),
             "pkey": identity_key(row.product["name"]) if row.product else None}
            for row in rows])
        after = rows[-1].id


def upgrade() -> None:
    op.drop_index('ix_retirement_beneficiary_lower', table_name='retirement')
    with op.batch_alter_table('retirement') as batch:
        batch.add_column(sa.Column('beneficiary_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True))
        batch.add_column(sa.Column('product_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True))
    _backfill()
    with op.batch_alter_table('retirement') as batch:
        batch.alter_column('beneficiary_key', existing_type=sqlmodel.sql.sqltypes.AutoString(length=400),
                           nullable=False)
        batch.create_index('ix_retirement_beneficiary_key', ['beneficiary_key', 'reporting_year'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('retirement') as batch:
        batch.drop_index('ix_retirement_beneficiary_key')
        batch.drop_column('product_key')
        batch.drop_column('beneficiary_key')
    op.create_index('ix_retirement_beneficiary_lower', 'retirement', [sa.text('lower(beneficiary)')], unique=False)
