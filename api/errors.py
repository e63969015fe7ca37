"""Every error as application/problem+json (RFC 9457, R-X1), in one place.

Registry errors carry their stable ``code``; HTTP errors (404, 405, 413, …)
get a code derived from their name; validation errors from the schemas name
each field; anything unexpected is a 500 with no stack trace in the body.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, json
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from chainlog.continuity import KeyContinuityError
from registry.errors import RegistryError

log = logging.getLogger(__name__)

PROBLEM_TYPE = "urn:arc-registry:problem:"

# Stable codes for the HTTP errors the framework raises by itself.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def problem(status: int, code: str, title: str, detail: str, errors: dict | None = None,
            headers: dict | None = None, **extra) -> Response:
    body = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _registry_error(error: RegistryError) -> Response:
    extra = {"rule": error.rule} if error.rule else {}
    headers = {"WWW-Authenticate": 'Bearer realm="arc-registry"'} if error.status == 401 else None
    return problem(error.status, error.code, error.title, error.detail, error.errors, headers,
                   **extra)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    if messages:
        return _validation_problem(messages, data.get("headers"))
    code = data.get("code") or HTTP_CODES.get(status, f"http_{status}")
    detail = data.get("message") or error.description or error.name
    headers = dict(data.get("headers") or {})
    if status == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem(status, code, error.name, detail, headers=headers)


def _validation_problem(messages: dict, headers: dict | None) -> Response:
    """webargs reports {location: {field: [messages]}}; flatten to {field: [...]}."""
    errors: dict[str, list] = {}
    for location, fields in messages.items():
        if location == "json" and isinstance(fields, list):
            # The body itself could not be parsed at all.
            return problem(400, "malformed_json", "Malformed JSON",
                           "The request body is not valid JSON.", {"body": fields}, headers)
        if isinstance(fields, dict):
            for field, field_messages in fields.items():
                errors[_field_name(location, field)] = field_messages
        else:
            errors[location] = fields
    fields = ", ".join(sorted(errors))
    # A field parser that refused with a stable code (too_many_decimals, …)
    # lends it to the whole problem when it is the only kind of error.
    codes = g.get("validation_codes", [])
    code = codes[0] if len(codes) == 1 and len(errors) == 1 else "invalid_input"
    return problem(400, code, "Invalid input", f"Invalid value for: {fields}.", errors, headers)


def _field_name(location: str, field) -> str:
    return str(field) if location == "json" else f"{location}.{field}"


def _out_of_range(error: Exception) -> Response:
    """An integer in the request too large for a database column (SQLite raises
    OverflowError binding it, PostgreSQL numeric_value_out_of_range): the
    input is invalid, not the registry broken (R-X2)."""
    return problem(400, "number_out_of_range", "Invalid input",
                   "A number in the request is out of range (at most 9223372036854775807).")


def _data_error(error: DBAPIError) -> Response:
    if getattr(error.orig, "sqlstate", None) == "22003":  # numeric_value_out_of_range
        return _out_of_range(error)
    return _unexpected(error)


def _key_changed(error: Exception) -> Response:
    """R-L5b: the process holds a key that may not sign this log; it signs
    nothing and says so (the operator sees the whole message in the log)."""
    log.error("%s", error)
    return problem(503, "signing_key_changed", "Service Unavailable",
                   "The registry's signing key is not the key of its log (R-L5b); an operator must configure it. "
                   "Nothing was changed.")


def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem(500, "internal_error", "Internal Server Error",
                   "The registry could not complete the request; nothing was changed.")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(RegistryError, _registry_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OverflowError, _out_of_range)
    app.register_error_handler(DBAPIError, _data_error)
    app.register_error_handler(KeyContinuityError, _key_changed)
    app.register_error_handler(Exception, _unexpected)
