"""Every table the registry owns, for Alembic and the schema tests."""

from __future__ import annotations

from sqlalchemy import MetaData


def target_metadata() -> list[MetaData]:
    import chainlog.store
    import registry.models  # noqa: F401  (registers the SQLModel tables)
    from sqlmodel import SQLModel

    return [SQLModel.metadata, chainlog.store.metadata]
