"""Server-rendered explorer pages: Jinja templates in api/templates, CSS and
JavaScript in api/static (no inline script or style: the pages run under a
Content-Security-Policy of ``default-src 'self'``). Every page reads through
the registry's services in one unit of work, never over HTTP to itself.

- `public`: home (totals, checkpoint), certificate lookup and lineage,
  retirements and statements, participants directory.
- `admin`: integrity status and pending participant activations, behind the
  workspace's sign-in (``api/workspace``, R-W1).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)

from api.pages import admin, bulk, public  # noqa: F401  (registers the views on bp)
