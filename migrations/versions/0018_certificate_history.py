"""certificate renewals, amendments and groups (R-C6, R-G5)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

Each RMS certificate gains its validity periods (renewals under the same
number), its scope versions (amendments between audits) and, for a group
certificate, the group entity's name. Existing certificates get one period
(their dates) and one version (their scope, from their issue date).

R-G5 becomes strict (a lot's facility must be listed on its certificate).
A certificate recorded before sites were listed (0008) has an empty list:
it gets the facilities of the lots already registered under it, in the
order those lots were registered -- the sites the register already accepted
under it -- which replay derives from the same log entries
(`registry.replay.registry_events`). Any other site needs an amendment.
docs/decisions.md, "Renewals, amendments and groups".
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rms_certificate') as batch:
        batch.add_column(sa.Column('periods', sa.JSON(), server_default='[]', nullable=False))
        batch.add_column(sa.Column('versions', sa.JSON(), server_default='[]', nullable=False))
        batch.add_column(sa.Column('group_name', sa.String(length=200), nullable=True))
    bind = op.get_bind()
    cert = sa.table('rms_certificate', sa.column('id', sa.Integer), sa.column('issued_on', sa.Date),
                    sa.column('expires_on', sa.Date), sa.column('activities', sa.JSON),
                    sa.column('product_groups', sa.JSON), sa.column('control_systems', sa.JSON),
                    sa.column('facilities', sa.JSON), sa.column('periods', sa.JSON),
                    sa.column('versions', sa.JSON))
    lot = sa.table('lot', sa.column('id', sa.Integer), sa.column('facility_id', sa.Integer),
                   sa.column('rms_certificate_id', sa.Integer))
    facility = sa.table('facility', sa.column('id', sa.Integer), sa.column('name', sa.String),
                        sa.column('address', sa.String), sa.column('country', sa.String))
    rows = bind.execute(sa.select(cert.c.id, cert.c.issued_on, cert.c.expires_on, cert.c.activities,
                                  cert.c.product_groups, cert.c.control_systems, cert.c.facilities)
                        .order_by(cert.c.id)).all()
    for cid, issued, expires, activities, groups, systems, sites in rows:
        sites = list(sites or [])
        if not sites:  # R-G5: the sites its lots were registered at, in the order of those lots
            used = bind.execute(sa.select(facility.c.name, facility.c.address, facility.c.country)
                                .join(lot, lot.c.facility_id == facility.c.id)
                                .where(lot.c.rms_certificate_id == cid).order_by(lot.c.id)).all()
            for name, address, country in used:
                site = {"name": name, "address": address, "country": country}
                if site not in sites:
                    sites.append(site)
        version = {"effective_on": issued.isoformat(), "activities": list(activities or []),
                   "product_groups": list(groups or []), "control_systems": list(systems or []),
                   "facilities": sites, "members": []}
        bind.execute(sa.update(cert).where(cert.c.id == cid).values(
            facilities=sites, periods=[{"issued_on": issued.isoformat(), "expires_on": expires.isoformat()}],
            versions=[version]))


def downgrade() -> None:
    op.drop_column('rms_certificate', 'group_name')  # plain DROP COLUMN, as 0014 and 0016
    op.drop_column('rms_certificate', 'versions')
    op.drop_column('rms_certificate', 'periods')
