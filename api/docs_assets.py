"""The API docs page's Swagger UI, served by the registry itself (R-X8).

`/api/v1/docs` (flask-smorest's page) used to load Swagger UI from a public
CDN, unversioned and without an integrity hash: a page where tokens are
pasted ran another origin's code. Its files now come from the
``swagger-ui-bundle`` package (Apache-2.0; the Swagger UI release is in its
directory name, e.g. ``swagger-ui-4.15.5``), installed with the registry and
pinned by pyproject.toml, and are served from
``/api/v1/docs/assets/<release>/<file>``: same origin, only the files the
page needs, cached for a year (the release is in the URL, so an upgrade
changes the URL).
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, abort, send_from_directory

ASSETS_DIR = Path(swagger_ui_bundle.swagger_ui_path)
#: The Swagger UI release the package carries, as its directory names it.
RELEASE = ASSETS_DIR.name
#: Only what the page loads (and its icons): no source maps, no sample index.html.
FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                   "favicon-16x16.png", "favicon-32x32.png"})
ONE_YEAR = 365 * 24 * 3600

bp = Blueprint("swagger_ui_assets", __name__)


def assets_url(api_prefix: str) -> str:
    """The base URL the docs page loads its scripts and stylesheet from (same origin)."""
    return f"{api_prefix}/docs/assets/{RELEASE}/"


@bp.get("/api/v1/docs/assets/<release>/<name>")
def asset(release: str, name: str):
    if release != RELEASE or name not in FILES:
        abort(404)
    response = send_from_directory(ASSETS_DIR, name, max_age=ONE_YEAR)
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return response
