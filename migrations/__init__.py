"""Alembic migrations of the registry (shipped as a package so an installed
registry can migrate its own database)."""
