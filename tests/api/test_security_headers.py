"""Security headers on every response (api/security.py): pages, API answers,
errors and the Swagger UI page."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from api import create_app
from api.security import CONTENT_SECURITY_POLICY
from registry.config import Config

CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _assert_common(response) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (name, response.status_code)


def test_the_policy_is_the_documented_one():
    assert CONTENT_SECURITY_POLICY == CSP


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_kind_of_response_carries_the_headers(driver, client, backend):
    responses = {
        "page": client.get("/"),
        "read": client.get("/api/v1/health"),
        "log": client.get("/api/v1/log/checkpoint"),
        "missing": client.get("/api/v1/blocks/NOPE"),
        "no route": client.get("/nowhere"),
        "anonymous write": client.post("/api/v1/participants", json={}),
        "wrong method": client.put("/api/v1/health"),
        "authenticated write": driver.post("/participants", {"name": "A", "country": "US"}, driver.admin),
    }
    for what, response in responses.items():
        _assert_common(response)
        assert response.headers["Content-Security-Policy"] == CSP, what
        assert "Authorization" in response.headers.get("Vary", ""), what
        assert "Strict-Transport-Security" not in response.headers, what  # plain HTTP


@pytest.mark.parametrize("backend", ["sqlite"])
def test_authenticated_responses_are_never_stored(driver, client, backend):
    path = f"/participants/{driver.participant()['id']}"
    mine = driver.get(path, driver.admin)
    assert mine.status_code == 200 and mine.headers["Cache-Control"] == "no-store"
    refused = driver.get(path, "arc_wrong")  # a credential was sent: still not cacheable
    assert refused.status_code == 401 and refused.headers["Cache-Control"] == "no-store"
    client.set_cookie("session", "anything")  # the admin pages' session travels in a cookie
    assert client.get("/api/v1/log/checkpoint").headers["Cache-Control"] == "no-store"
    client.delete_cookie("session")
    public = client.get("/api/v1/log/checkpoint")
    assert "no-store" not in public.headers.get("Cache-Control", "")
    assert {v.strip() for v in public.headers["Vary"].split(",")} >= {"Authorization", "Cookie"}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_hsts_only_over_https(client, backend):
    assert client.get("/api/v1/health", base_url="https://registry.example").headers[
        "Strict-Transport-Security"] == "max-age=31536000"
    spoofed = client.get("/api/v1/health", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers  # no proxy is trusted by default


@pytest.mark.parametrize("backend", ["sqlite"])
def test_hsts_behind_a_trusted_proxy(db_url, engine, tmp_path, backend):
    config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem", trusted_proxies=1)
    client = create_app(config, engine=engine).test_client()
    behind = client.get("/api/v1/health", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.9"})
    assert behind.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/api/v1/health").headers


@pytest.mark.parametrize("backend", ["sqlite"])
def test_swagger_ui_allows_only_its_own_origin_and_its_own_inline_script(client, backend):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    _assert_common(response)
    policy = response.headers["Content-Security-Policy"]
    inline = re.findall(rb"<script>(.*?)</script>", response.get_data(), re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0]).digest()).decode()
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert script_src == f"script-src 'self' 'sha256-{digest}'"  # R-X8: no other origin
    assert "http" not in policy
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in policy
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "connect-src 'self'"):
        assert directive in policy
