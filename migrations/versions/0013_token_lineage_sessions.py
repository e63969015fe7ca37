"""token lineage and lifetimes, disabled users, server-side page sessions (R-X7)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

``api_token`` gains ``parent_token_id`` (the token whose request created it)
and ``label``, and ``expires_at`` becomes NOT NULL: every token has a maximum
lifetime (R-X7). A token issued before this revision with no expiry gets
``created_at`` + the maximum lifetime (``ARCREG_TOKEN_MAX_LIFETIME_DAYS``,
default 365 days), but never less than 30 days after the upgrade, so no
deployment is locked out at upgrade time (docs/decisions.md). Its parent is
unknown and stays NULL. ``app_user`` gains ``disabled_at``; ``web_session``
holds the admin pages' sign-ins (only the SHA-256 of their secret). Users,
tokens and sessions are not in the log, which is not touched.
"""
from __future__ import annotations

import os
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from registry.clock import clock_from_setting
from registry.config import DEFAULT_TOKEN_MAX_LIFETIME_DAYS
from registry.sqltypes import UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

LEGACY_GRACE = timedelta(days=30)

_token = sa.table('api_token', sa.column('id', sa.Integer), sa.column('created_at', UTCDateTime()),
                  sa.column('expires_at', UTCDateTime()))


def _legacy_expiry(created_at, now, lifetime: timedelta):
    return max(created_at + lifetime, now + LEGACY_GRACE)


def upgrade() -> None:
    connection = op.get_bind()
    lifetime = timedelta(days=int(os.environ.get('ARCREG_TOKEN_MAX_LIFETIME_DAYS')
                                  or DEFAULT_TOKEN_MAX_LIFETIME_DAYS))
    now = clock_from_setting(os.environ.get('ARCREG_CLOCK') or None).now()  # the registry's clock (R-U5)
    rows = connection.execute(sa.select(_token.c.id, _token.c.created_at)
                              .where(_token.c.expires_at.is_(None))).all()
    for token_id, created_at in rows:
        connection.execute(_token.update().where(_token.c.id == token_id)
                           .values(expires_at=_legacy_expiry(created_at, now, lifetime)))
    with op.batch_alter_table('api_token') as batch:
        batch.alter_column('expires_at', existing_type=UTCDateTime(), nullable=False)
        batch.add_column(sa.Column('parent_token_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('label', sa.String(length=100), nullable=True))
        batch.create_foreign_key('fk_api_token_parent_token_id', 'api_token', ['parent_token_id'], ['id'])
        batch.create_index('ix_api_token_parent_token_id', ['parent_token_id'])
    with op.batch_alter_table('app_user') as batch:
        batch.add_column(sa.Column('disabled_at', UTCDateTime(), nullable=True))
    op.create_table(
        'web_session',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('secret_hash', sa.String(length=64), nullable=False, unique=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('app_user.id'), nullable=False),
        sa.Column('method', sa.String(length=32), nullable=False),
        sa.Column('token_id', sa.Integer(), sa.ForeignKey('api_token.id'), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
    )
    op.create_index('ix_web_session_user_id', 'web_session', ['user_id'])
    op.create_index('ix_web_session_token_id', 'web_session', ['token_id'])


def downgrade() -> None:
    op.drop_table('web_session')
    # A plain DROP COLUMN (SQLite >= 3.35), not a batch copy: app_user's rows are referenced
    # (api_token, participant members), and dropping the old table would break those keys.
    op.drop_column('app_user', 'disabled_at')
    with op.batch_alter_table('api_token') as batch:
        batch.drop_index('ix_api_token_parent_token_id')
        batch.drop_constraint('fk_api_token_parent_token_id', type_='foreignkey')
        batch.drop_column('label')
        batch.drop_column('parent_token_id')
        batch.alter_column('expires_at', existing_type=UTCDateTime(), nullable=True)
