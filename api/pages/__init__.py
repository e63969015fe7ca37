"""Server-rendered explorer pages: Jinja templates in api/templates, CSS and
JavaScript in api/static (no inline script or style: the pages run under a
Content-Security-Policy of ``default-src 'self'``). Every page reads through
the registry's services in one unit of work, never over HTTP to itself.

- `public`: home (totals, checkpoint), certificate lookup and lineage,
  retirements and statements, participants directory.
- `admin`: login with an administrator's API token, integrity status,
  pending participant activations.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)

from api.pages import admin, public  # noqa: F401  (registers the views on bp)
