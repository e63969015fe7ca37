"""Property-based API tests: schemathesis against the app's own OpenAPI document.

The document is loaded from ``/api/v1/openapi.json`` through schemathesis'
WSGI integration (no network, no server). Every operation of the document is
exercised — nothing is excluded — with:

* an administrator's bearer token (from the ``driver`` fixture), so the
  authenticated operations reach their validation and their rules instead of
  stopping at 401;
* a realistic registry built with the driver beforehand (participants, a
  certifier, a certificate, a facility, a determination, a lot, a generated
  block, a transfer and a retirement, a witness), and path parameters that are
  swapped for the ids and serials of those objects in about half the cases, so
  the success paths are reached and not only 404s;
* bounded, reproducible generation: ``max_examples`` per operation,
  ``deadline=None``, ``derandomize=True``.

Checks on every response: no 5xx; status code, content type, headers and body
conform to the documented responses (errors are documented as
application/problem+json ``Problem`` through the ``default`` response); and every
4xx response is application/problem+json with ``code``, ``status`` and
``title``, ``status`` equal to the HTTP status.

Schemathesis runs all operations as sub-tests of one pytest item per backend
against one database, so earlier operations change the state later ones see
(a suspended participant, a cancelled block). That is intended: it is how a
real registry evolves. One guard: ``DELETE /tokens/{token_id}`` never targets
the administrator's own token, which would turn every later operation into 401
and hide them from the test (the revocation itself is tested in
test_participants.py and test_route_authorization.py).

Both backends run: the whole file takes well under 90 s on each (PostgreSQL
is not much slower than SQLite here because the app runs in-process).
"""

from __future__ import annotations

import zlib

import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)
from schemathesis.checks import not_a_server_error
from sqlalchemy import text

from api import create_app
from registry.config import Config
from registry.db import make_engine
from tests.api.driver import kg, t

MAX_EXAMPLES = 20
PROBLEM = "application/problem+json"


@pytest.fixture
def registry_state(driver, engine):
    """A small but complete registry; returns the ids worth aiming at."""
    gen = driver.generator("Acme Recycling")
    other = driver.participant("Brand Co", "DE")
    other_member = driver.member(other["id"])
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(1000))
    driver.sell(gen.token, lot["id"], t(1000), on=lot["processed_on"])
    block = driver.generate(gen.token, lot["id"])
    moved = driver.ok("/transfers", {"serial": block["serial"], "quantity": "100.000",
                                     "to_participant_id": other["id"]}, gen.token)
    retirement = driver.ok("/retirements", {
        "serial": moved["moved"]["serial"], "quantity": "10.000", "beneficiary": "Brand Co",
        "claim_type": "general", "reporting_year": 2026}, other_member)
    line = driver.ok(f"/facilities/{gen.facility_id}/lines", {"name": "Line A", "capacity": kg(1000)},
                     gen.token)
    spare = driver.member(gen.id)  # a token that may be revoked
    with engine.connect() as connection:
        admin_token_id = connection.execute(text("SELECT min(id) FROM api_token")).scalar_one()
        user_id = connection.execute(text("SELECT max(id) FROM app_user")).scalar_one()
        spare_token_id = connection.execute(text("SELECT max(id) FROM api_token")).scalar_one()
    assert spare
    return {
        "admin_token_id": admin_token_id,
        "known": {
            "participant_id": gen.id,
            "user_id": user_id,
            "token_id": spare_token_id,
            "number": gen.certificate,
            "facility_id": gen.facility_id,
            "determination_id": gen.determination_id,
            "lot_id": lot["id"],
            "serial": moved["remainder"]["serial"] if moved.get("remainder") else block["serial"],
            "retirement_id": retirement["id"],
            "line_id": line["id"],
        },
    }


def _documented_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the document, read at collection
    from an app over an unused in-memory database (the document needs none)."""
    app = create_app(Config(database_url="sqlite://", signing_key_file=Path("unused.pem")),
                     engine=make_engine("sqlite://"))
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")]


OPERATIONS = _documented_operations()

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def _aim(case, state) -> None:
    """Point about half the cases at objects that exist (chosen from the
    generated value itself, so the run stays reproducible)."""
    known = state["known"]
    params = case.path_parameters or {}
    for name, value in list(params.items()):
        if name in known and zlib.crc32(repr(value).encode()) % 2 == 0:
            params[name] = known[name]
    if params.get("token_id") == state["admin_token_id"]:
        params["token_id"] = known["token_id"]


def _assert_problem(response) -> None:
    if response.status_code < 400:
        return
    headers = {name.lower(): value for name, value in response.headers.items()}
    content_type = headers.get("content-type", "")
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith(PROBLEM), (response.status_code, content_type)
    body = response.json()
    assert {"code", "status", "title"} <= body.keys(), body
    assert body["status"] == response.status_code, body


def test_every_route_is_documented(app):
    """The operations exercised below are the whole API: no route is missing
    from the document (and so from this test)."""
    routed = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    undocumented = {("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs"),  # the document itself
                    ("GET", "/api/v1/docs/assets/<release>/<name>")}  # and its Swagger UI files (R-X8)
    documented = {(method, re.sub(r"{(\w+)}", r"<\1>", path)) for method, path in OPERATIONS}
    routed = {(method, re.sub(r"<(?:[^:<>]+(?:\([^)]*\))?:)?(\w+)>", r"<\1>", rule)) for method, rule in routed}
    assert routed - undocumented == documented


# Negative generation needs an input the schema can make invalid. These operations have
# none: no parameters and no body, or a single free-form string in the path (a serial).
# They run in positive mode only; any other operation must also pass in negative mode.
NO_NEGATIVE_INPUT = {
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/log/key"),
    ("GET", "/api/v1/witnesses"),
    ("GET", "/api/v1/blocks/{serial}"),
    ("GET", "/api/v1/rms-certificates/{number}"),
    ("GET", "/api/v1/blocks/{serial}/disputes"),
}


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_its_openapi_document(app, driver, registry_state, method, path):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {driver.admin}"}
    modes = [GenerationMode.POSITIVE]
    if (method, path) not in NO_NEGATIVE_INPUT:
        modes.append(GenerationMode.NEGATIVE)

    for mode in modes:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            _aim(case, registry_state)
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            _assert_problem(response)

        run()


def test_no_negative_input_list_is_current():
    """The operations run in positive mode only are exactly the public ones
    with no body and no parameter but a free string in the path (a token is
    negatable: those with security are not in the list)."""
    app = create_app(Config(database_url="sqlite://", signing_key_file=Path("unused.pem")),
                     engine=make_engine("sqlite://"))
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    free = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            parameters = item.get("parameters", []) + operation.get("parameters", [])
            if "requestBody" not in operation and "security" not in operation and all(
                    p["in"] == "path" and p["schema"].get("type") == "string"
                    and set(p["schema"]) <= {"type", "minLength"} for p in parameters):
                free.add((method.upper(), path))
    assert free == NO_NEGATIVE_INPUT


# Regressions for what this file found, pinned as plain examples.

HUGE = 2**70  # beyond any 64-bit integer column


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", f"/lots/{HUGE}", None),
    ("POST", f"/participants/{HUGE}/users", {"email": "x@example.org"}),
    ("GET", f"/log/entries?start={HUGE}", None),
    ("POST", "/log/cosignatures", {"checkpoint_size": HUGE, "cosignature": "— w AAAA"}),
    ("POST", "/facilities", {"participant_id": HUGE, "name": "P", "address": "A", "country": "US",
                             "capacity": t(1)}),
])
def test_out_of_range_integers_are_refused_not_500(driver, method, path, body):
    """SQLite raised OverflowError binding such a number (a 500): it is invalid
    input, 400 number_out_of_range (or the 404 of an object that cannot exist)."""
    headers = {"Authorization": f"Bearer {driver.admin}"}
    response = driver.client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
    assert response.status_code in (400, 404), response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    if response.status_code == 400:  # an id is refused by its column's range (R-X9), other numbers by the database
        assert response.get_json()["code"] in ("number_out_of_range", "id_out_of_range")


def test_decimal_strings_are_documented_as_strings(client):
    """Decimals are written as strings (R-U3), and the document says so."""
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["schemas"]["BlockOut"]["properties"]["quantity"]["type"] == "string"
    error = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(error) == [PROBLEM]
