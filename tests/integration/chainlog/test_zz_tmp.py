import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from chainlog import store
from .test_migration import _touches_log_tables

def test_detects(engine):
    md = sa.MetaData()
    for t in store.metadata.tables.values():
        t.to_metadata(md)
    md.tables["log_entries"].append_column(sa.Column("extra", sa.Text))
    md.tables["log_nodes"].c.hash.type = sa.Text()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), md)
    got = [d for d in diff if _touches_log_tables(d)]
    print(got)
    assert len(got) == 2
