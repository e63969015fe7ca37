"""HTTP tests use the app, client, clock and driver fixtures of tests/conftest.py."""

from tests.conftest import NOW

__all__ = ["NOW"]
