"""The explorer (api/pages/): the server-rendered pages the public, brands and
auditors read without writing a client (SPEC §1, R-R2), from ``/`` down.
`create_app` registers this one blueprint."""

from __future__ import annotations

from api.pages import bp

__all__ = ["bp"]
