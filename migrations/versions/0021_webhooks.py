"""webhooks and the event feed (R-N1, R-N2)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06

New tables only: webhook endpoints, the event outbox (also the event feed),
deliveries and their attempts. Existing registries gain empty tables: events
start with the first change after the upgrade; the log is not rewritten.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.sqltypes  # noqa: F401  (custom column types)

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('log_index', sa.BigInteger(), nullable=True),
    sa.Column('once_key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('participant_id', 'once_key', name='uq_notification_event_once')
    )
    op.create_index('ix_notification_event_participant', 'notification_event', ['participant_id', 'id'], unique=False)
    op.create_table('webhook_endpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('events', sa.JSON(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('disabled_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_webhook_endpoint_participant_id'), 'webhook_endpoint', ['participant_id'], unique=False)
    op.create_table('webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retry_until', registry.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['notification_event.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'endpoint_id', name='uq_webhook_delivery_event_endpoint')
    )
    op.create_index('ix_webhook_delivery_due', 'webhook_delivery', ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_webhook_delivery_endpoint_id'), 'webhook_delivery', ['endpoint_id'], unique=False)
    op.create_table('webhook_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('at', registry.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', registry.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_delivery.id'], ),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['notification_event.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_webhook_attempt_delivery_id'), 'webhook_attempt', ['delivery_id'], unique=False)
    op.create_index(op.f('ix_webhook_attempt_endpoint_id'), 'webhook_attempt', ['endpoint_id'], unique=False)
    op.create_index('ix_webhook_attempt_status', 'webhook_attempt', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_attempt_status', table_name='webhook_attempt')
    op.drop_index(op.f('ix_webhook_attempt_endpoint_id'), table_name='webhook_attempt')
    op.drop_index(op.f('ix_webhook_attempt_delivery_id'), table_name='webhook_attempt')
    op.drop_table('webhook_attempt')
    op.drop_index(op.f('ix_webhook_delivery_endpoint_id'), table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_due', table_name='webhook_delivery')
    op.drop_table('webhook_delivery')
    op.drop_index(op.f('ix_webhook_endpoint_participant_id'), table_name='webhook_endpoint')
    op.drop_table('webhook_endpoint')
    op.drop_index('ix_notification_event_participant', table_name='notification_event')
    op.drop_table('notification_event')
