"""flask-smorest wiring: the OpenAPI document and request parsing.

Bodies are parsed with Decimal numbers (R-U3) and unknown fields are refused
(R-X2) by the marshmallow schemas' default ``unknown = RAISE``.
"""

from __future__ import annotations

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from api import jsonio

API_PREFIX = "/api/v1"


class RegistryParser(FlaskParser):
    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return jsonio.loads(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    """Every API blueprint: bodies parsed with Decimal numbers."""

    ARGUMENTS_PARSER = RegistryParser()


class RegistryApi(flask_smorest.Api):
    def _register_error_handlers(self):
        # api/errors.py owns every error response (problem+json).
        pass


def openapi_settings() -> dict:
    return {
        "API_TITLE": "ARC Registry",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": API_PREFIX,
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        "API_SPEC_OPTIONS": {
            "info": {
                "description": "Registry for Attributes of Recycled Content (ARC) and PEQ "
                "certificates. Errors are application/problem+json (RFC 9457).",
            },
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        },
    }
