"""Every error as application/problem+json (RFC 9457, R-X1), in one place.

Registry errors carry their stable ``code``; HTTP errors (404, 405, 413, …)
get a code derived from their name; validation errors from the schemas name
each field; anything unexpected is a 500 with no stack trace in the body.
"""

from __future__ import annotations

import logging
import re

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
    named = len(errors)
    for name, field_messages in list(errors.items()):  # nested fields also by their dotted names
        if _nested(field_messages):
            _flatten(errors, name, field_messages)
    fields = ", ".join(sorted(name for name, value in errors.items() if not _nested(value)))
    # A field parser that refused with a stable code (too_many_decimals, …)
    # lends it to the whole problem when it is the only kind of error.
    codes = g.get("validation_codes", [])
    code = codes[0] if len(codes) == 1 and named == 1 else "invalid_input"
    return problem(400, code, "Invalid input", f"Invalid value for: {fields}.", errors, headers)


def _nested(messages) -> bool:
    return isinstance(messages, dict) and bool(messages) and all(not isinstance(v, str) for v in messages.values())


def _flatten(errors: dict, name: str, messages) -> None:
    """A nested field's messages added under dotted names, list items by
    index: ``items.3.quantity`` (R-X2, R-T7); the nested key stays too."""
    for key, inner in messages.items():
        if _nested(inner):
            _flatten(errors, f"{name}.{key}", inner)
        else:
            errors[f"{name}.{key}"] = inner


def _field_name(location: str, field) -> str:
    return str(field) if location == "json" else f"{location}.{field}"


def _out_of_range(error: Exception) -> Response:
    """An integer in the request too large for a database column (SQLite raises
    OverflowError binding it, PostgreSQL numeric_value_out_of_range): the
    input is invalid, not the registry broken (R-X2)."""
    return problem(400, "number_out_of_range", "Invalid input",
                   "A number in the request is out of range for the database column it is stored in.")


def _data_error(error: DBAPIError) -> Response:
    if getattr(error.orig, "sqlstate", None) == "22003":  # numeric_value_out_of_range
        return _out_of_range(error)
    if "NUL (0x00)" in str(error.orig):  # psycopg: text cannot hold U+0000 (api.inputs refuses it first)
        return problem(400, "nul_character", "Invalid input", "A value in the request contains a NUL character.")
    conflict = unique_violation(error)
    if conflict is not None:
        return conflict
    return _unexpected(error)


# R-X9: a unique violation is two requests racing for one value (the service's
# own check ran before the other committed): 409 with the code that check
# gives, the field named, as if they had come one after the other.
UNIQUE_FIELDS = {
    ("app_user", "email"): ("email_taken", "email", "a user with this email exists"),
    ("rms_certificate", "number"): ("certificate_exists", "number", "this certificate is already recorded"),
    ("lot", "generator_id, reference"): ("lot_reference_taken", "reference", "this lot reference is already registered"),
    ("witness", "name"): ("conflict", "vkey", "a witness of this name is already registered"),
    # R-M2: a racing duplicate receipt gets the answer of the service's own check
    ("custody_receipt", "supplier_certificate, reference"): (
        "receipt_duplicate", "reference", "this document of this supplier certificate has already been received"),
}
_PG_KEY = re.compile(r"Key \((?P<columns>[^)]*)\)=")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>.+)")


def _unique_columns(error: DBAPIError) -> tuple[str, str] | None:
    """(table, "col, col") of a unique violation on PostgreSQL or SQLite; None for any other error."""
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "23505":
        diag = getattr(orig, "diag", None)
        match = _PG_KEY.search(getattr(diag, "message_detail", None) or "")
        return (getattr(diag, "table_name", None) or "", match.group("columns") if match else "")
    match = _SQLITE_UNIQUE.search(str(orig))
    if match is None:
        return None
    pairs = [c.strip().split(".", 1) for c in match.group("columns").split(",")]
    return pairs[0][0], ", ".join(p[-1] for p in pairs)


def unique_violation(error: DBAPIError) -> Response | None:
    found = _unique_columns(error)
    if found is None:
        return None
    code, field, detail = UNIQUE_FIELDS.get(found, ("duplicate", found[1].split(", ")[-1] or "body",
                                                    "the value is already registered"))
    log.info("unique violation on %s (%s): answered 409 %s", found[0], found[1], code)
    return problem(409, code, "Conflict", f"{detail}; nothing was changed.", {field: [detail]}, rule="R-X9")


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
