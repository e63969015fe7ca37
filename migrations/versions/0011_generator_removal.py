"""removal ends the generator registration, not the account (R-E4)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

A participant removed as a generator (RMS 8.5.3) keeps its account: what it
acquired from others stays its own and usable (RMS 8.1.2, SPEC §16). The
removal is now ``participant.generator_removed_on`` instead of the status
"removed". Existing removed participants get back the status they had before
their ``participant.removed`` log entry (the log is the source of truth, and
replay reads that legacy entry the same way), and the entry's date as the
day of removal. The log itself is never rewritten.
"""
from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_log = sa.table('log_entries', sa.column('index', sa.BigInteger), sa.column('time', sa.Text),
                sa.column('type', sa.Text), sa.column('canonical', sa.Text))
_participant = sa.table('participant', sa.column('id', sa.Integer), sa.column('status', sa.String),
                        sa.column('generator_removed_on', sa.Date))


def _legacy_removals(connection) -> dict[int, tuple[str, str]]:
    """participant id -> (status before its ``participant.removed`` entry, the entry's date)."""
    status: dict[int, str] = {}
    removed: dict[int, tuple[str, str]] = {}
    rows = connection.execute(sa.select(_log.c.type, _log.c.time, _log.c.canonical)
                              .where(_log.c.type.like('participant.%')).order_by(_log.c.index))
    for kind, time, canonical in rows:
        payload = json.loads(canonical).get('payload') or {}
        pid = payload.get('participant')
        if kind == 'participant.removed':
            removed[pid] = (status.get(pid, 'active'), time[:10])
        elif isinstance(payload.get('status'), str):
            status[pid] = payload['status']
    return removed


def upgrade() -> None:
    with op.batch_alter_table('participant') as batch:
        batch.add_column(sa.Column('generator_removed_on', sa.Date(), nullable=True))
    connection = op.get_bind()
    ids = [r[0] for r in connection.execute(sa.select(_participant.c.id).where(_participant.c.status == 'removed'))]
    if not ids:
        return
    removals = _legacy_removals(connection)
    for pid in ids:
        before, day = removals.get(pid, ('active', None))
        connection.execute(_participant.update().where(_participant.c.id == pid).values(
            status=before, generator_removed_on=date.today() if day is None else date.fromisoformat(day)))


def downgrade() -> None:
    op.execute(_participant.update().where(_participant.c.generator_removed_on.is_not(None))
               .values(status='removed'))
    with op.batch_alter_table('participant') as batch:
        batch.drop_column('generator_removed_on')
