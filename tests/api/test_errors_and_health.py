"""R-X1, R-X2: every failure is problem+json, never HTML or a stack trace."""

from __future__ import annotations

import marshmallow as ma
import pytest
from api.openapi import Blueprint

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert body["title"] and body["detail"]
    text = response.get_data(as_text=True)
    assert "<html" not in text.lower() and "Traceback" not in text
    return body


def test_health_reports_database_revision_and_clock(client, backend):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True
    assert body["database"]["dialect"] == backend
    assert body["database"]["revision"] == body["database"]["head"]
    assert body["clock"] == {"now": "2026-03-02T09:30:00Z", "frozen": True}


def test_unknown_path_is_problem_json(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_problem_json_with_allow(client):
    response = client.delete("/api/v1/health")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_unexpected_exception_is_500_without_trace(app, client):
    @app.get("/api/v1/_boom")
    def boom():
        raise RuntimeError("secret internal detail")

    response = client.get("/api/v1/_boom")
    body = assert_problem(response, 500, "internal_error")
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "nothing was changed" in body["detail"]


class EchoSchema(ma.Schema):
    a = ma.fields.Integer(required=True)


@pytest.fixture
def echo_client(app, driver):
    """The app plus one POST endpoint with a schema, as every write endpoint has."""
    blp = Blueprint("echo", __name__)

    @blp.route("/echo", methods=["POST"])
    @blp.arguments(EchoSchema)
    @blp.response(200)
    def echo(args):
        return args

    app.extensions["smorest_api"].register_blueprint(blp, url_prefix="/api/v1")
    client = app.test_client()
    # Writes authenticate first (R-X4); these tests are about what follows.
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {driver.admin}"
    return client


@pytest.mark.parametrize("payload", [b"{", b"{'a': 1}", b"[1,", b'{"a": NaN}', b"\xff\xfe"])
def test_malformed_json_is_400_problem(echo_client, payload):
    response = echo_client.post("/api/v1/echo", data=payload, content_type="application/json")
    body = assert_problem(response, 400, "malformed_json")
    assert "body" in body["errors"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "a"), ({"a": "x"}, "a"), ({"a": 1, "b": 2}, "b")],
    ids=["missing", "wrong-type", "unknown-field"],
)
def test_invalid_fields_are_named(echo_client, payload, field):
    response = echo_client.post("/api/v1/echo", json=payload)
    body = assert_problem(response, 400, "invalid_input")
    assert field in body["errors"]


def test_oversized_body_is_413(echo_client):
    body = b'{"a": 1, "pad": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    response = echo_client.post("/api/v1/echo", data=body, content_type="application/json")
    assert_problem(response, 413, "request_too_large")


def test_home_page_links_the_public_records(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for link in ("/api/v1/docs", "/api/v1/retirements", "/api/v1/log/checkpoint"):
        assert f'href="{link}"' in page


def test_openapi_document_describes_the_api(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for path in ("/api/v1/participants", "/api/v1/lots", "/api/v1/generations", "/api/v1/transfers",
                 "/api/v1/retirements", "/api/v1/log/checkpoint", "/api/v1/health"):
        assert path in document["paths"], path
    assert client.get("/api/v1/docs").status_code == 200
