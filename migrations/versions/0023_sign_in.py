"""people sign in: passwords, TOTP, recovery codes, reset links, idle session expiry (R-W1)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06

New tables ``user_login`` (argon2id password hash, TOTP secret), ``recovery_code``
(SHA-256 of single-use codes) and ``password_reset`` (SHA-256 of one-time links);
``web_session`` gains ``last_seen_at`` for the idle expiry. Existing users have no
password until an administrator gives them a reset link (``arcreg reset-link
EMAIL`` for the first one). Sessions opened by the former token sign-in of the
admin pages (method ``api_token``) are no longer accepted and are revoked here.
Credentials are not log entries: the log is not touched.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.sqltypes import UTCDateTime

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'user_login',
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('app_user.id'), primary_key=True),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('password_changed_at', UTCDateTime(), nullable=True),
        sa.Column('totp_secret', sa.String(length=64), nullable=True),
        sa.Column('totp_enabled_at', UTCDateTime(), nullable=True),
        sa.Column('totp_pending_secret', sa.String(length=64), nullable=True),
        sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    )
    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('app_user.id'), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False, unique=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.Column('retired_at', UTCDateTime(), nullable=True),
    )
    op.create_index('ix_recovery_code_user_id', 'recovery_code', ['user_id'])
    op.create_table(
        'password_reset',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('app_user.id'), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False, unique=True),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('app_user.id'), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.Column('clears_totp', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index('ix_password_reset_user_id', 'password_reset', ['user_id'])
    op.add_column('web_session', sa.Column('last_seen_at', UTCDateTime(), nullable=True))
    # The token sign-in of the admin pages is gone: its sessions end (their revocation time is
    # their creation: the migration has no clock of its own to give them).
    session = sa.table('web_session', sa.column('method', sa.String), sa.column('revoked_at', UTCDateTime()),
                       sa.column('created_at', UTCDateTime()))
    op.get_bind().execute(session.update().where(session.c.method == 'api_token', session.c.revoked_at.is_(None))
                          .values(revoked_at=session.c.created_at))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35): web_session's rows are kept.
    op.drop_column('web_session', 'last_seen_at')
    op.drop_index('ix_password_reset_user_id', table_name='password_reset')
    op.drop_table('password_reset')
    op.drop_index('ix_recovery_code_user_id', table_name='recovery_code')
    op.drop_table('recovery_code')
    op.drop_table('user_login')
