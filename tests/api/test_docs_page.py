"""R-X8: the API docs page runs no third-party code (issue 16, finding 7).

Before: `/api/v1/docs` loaded swagger-ui-bundle.js and its stylesheet from
cdn.jsdelivr.net, unversioned, on the page where tokens are pasted. Now
every script and stylesheet of the page is same-origin, served by the
registry from the pinned swagger-ui-bundle package (api/docs_assets.py).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

import api
from api.docs_assets import ASSETS_DIR, FILES, RELEASE

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # no database is read

PAGE = "/api/v1/docs"
ORIGIN = "http://localhost"  # the test client's


class _Resources(HTMLParser):
    """Every URL the page makes the browser load: scripts, stylesheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.other: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            (self.styles if "stylesheet" in (attrs.get("rel") or "") else self.other).append(attrs["href"])
        elif tag in ("img", "iframe", "embed", "source") and attrs.get("src"):
            self.other.append(attrs["src"])


def _resources(client) -> _Resources:
    response = client.get(PAGE)
    assert response.status_code == 200
    parser = _Resources()
    parser.feed(response.get_data(as_text=True))
    return parser


def test_every_script_and_stylesheet_of_the_docs_page_is_same_origin(client, backend):
    found = _resources(client)
    assert found.scripts and found.styles  # the page does load Swagger UI
    for url in found.scripts + found.styles + found.other:
        absolute = urljoin(ORIGIN + PAGE, url)
        assert urlsplit(absolute)[:2] == urlsplit(ORIGIN)[:2], f"{url} is not served by the registry"
        assert RELEASE in url  # pinned: the release is in the URL


def test_the_page_s_files_are_served_from_the_packaged_copy(client, backend):
    found = _resources(client)
    kinds = {"swagger-ui-bundle.js": "javascript", "swagger-ui-standalone-preset.js": "javascript",
             "swagger-ui.css": "text/css"}
    for url in found.scripts + found.styles:
        name = url.rsplit("/", 1)[1]
        response = client.get(url)
        assert response.status_code == 200, url
        assert kinds[name] in response.mimetype
        assert response.get_data() == (ASSETS_DIR / name).read_bytes()
        assert "immutable" in response.headers["Cache-Control"]
        response.close()
    assert {url.rsplit("/", 1)[1] for url in found.scripts + found.styles} <= FILES


def test_the_copy_comes_from_the_installed_package_not_the_source_tree(backend):
    # What a wheel install gets: the files live in the swagger_ui_bundle
    # package (a dependency, pyproject.toml), not in a path of this repository.
    import swagger_ui_bundle

    package = Path(swagger_ui_bundle.__file__).resolve().parent
    assert package in ASSETS_DIR.resolve().parents
    assert Path(api.__file__).resolve().parent not in ASSETS_DIR.resolve().parents
    assert RELEASE.startswith("swagger-ui-") and all((ASSETS_DIR / name).is_file() for name in FILES)


@pytest.mark.parametrize("path", [
    "swagger-ui-bundle.js.map",  # present in the package, not served
    "index.html",
    "..%2F__init__.py",
    "../swagger-ui-bundle.js",
])
def test_nothing_else_is_served(client, backend, path):
    response = client.get(f"/api/v1/docs/assets/{RELEASE}/{path}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    other_release = client.get("/api/v1/docs/assets/swagger-ui-0.0.1/swagger-ui-bundle.js")
    assert other_release.status_code == 404
