"""staff roles are log entries (R-L7b, R-P4)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Granting ``admin`` or ``certifier`` now writes a ``user.role_granted`` entry
(`registry.staff_roles`), and `arcreg verify` holds the users table to the
roles the log grants. Staff users created before this have no such entry:
this migration appends one per staff user, in user id order, through the log
service (`chainlog.store.append`, the transaction of the upgrade), by
``system``, with ``"existing": true`` (the role was held before roles were
logged). No schema change; existing entries are never rewritten. A user
that already has a grant entry (a database upgraded, downgraded and upgraded
again) gets none. The entries' time is the registry's clock (``ARCREG_CLOCK``
when set, as for every other entry). Downgrading leaves the entries: the log
is append-only, and the earlier replay skips entry types it does not know.
"""
from __future__ import annotations

import json
import os

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_STAFF = ('admin', 'certifier')
_user = sa.table('app_user', sa.column('id', sa.Integer), sa.column('role', sa.String),
                 sa.column('body_code', sa.String))
_log = sa.table('log_entries', sa.column('index', sa.BigInteger), sa.column('type', sa.Text),
                sa.column('canonical', sa.Text))


def _granted(connection) -> set[int]:
    rows = connection.execute(sa.select(_log.c.canonical).where(_log.c.type == 'user.role_granted'))
    return {(json.loads(text).get('payload') or {}).get('user') for (text,) in rows}


def upgrade() -> None:
    from chainlog import store
    from registry.clock import clock_from_setting

    connection = op.get_bind()
    staff = connection.execute(sa.select(_user.c.id, _user.c.role, _user.c.body_code)
                               .where(_user.c.role.in_(_STAFF)).order_by(_user.c.id)).all()
    if not staff:
        return
    done = _granted(connection)
    now = clock_from_setting(os.environ.get('ARCREG_CLOCK') or None).now()
    for user_id, role, body_code in staff:
        if user_id not in done:
            store.append(connection, type='user.role_granted', actor='system',
                         payload={'user': user_id, 'role': role,  # as registry.staff_roles.grant_payload
                                  'body': body_code if role == 'certifier' else None, 'existing': True},
                         time=now)


def downgrade() -> None:
    pass  # the log is append-only: the entries stay (see the module docstring)
