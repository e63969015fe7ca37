"""flask-smorest wiring: the OpenAPI document and request parsing.

Bodies are parsed with Decimal numbers (R-U3) and unknown fields are refused
(R-X2) by the marshmallow schemas' default ``unknown = RAISE``.
"""

from __future__ import annotations

import http

import flask_smorest
import marshmallow as ma
from flask_smorest.spec import prepare_response
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from api import jsonio
from api.docs_assets import assets_url

API_PREFIX = "/api/v1"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class RegistryParser(FlaskParser):
    # api/errors.py answers every validation error with 400 (R-X2); document it so.
    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return jsonio.loads(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    """Every API blueprint: bodies parsed with Decimal numbers."""

    ARGUMENTS_PARSER = RegistryParser()


class ProblemSchema(ma.Schema):
    """An error: application/problem+json (RFC 9457), as api/errors.py writes it."""

    class Meta:
        unknown = ma.INCLUDE  # RFC 9457 extension members

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    code = ma.fields.String(required=True, metadata={"description": "stable machine code (R-X1)"})
    rule = ma.fields.String(metadata={"description": "the rule refused, e.g. R-P4"})
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(),
                            metadata={"description": "messages by field"})


def _decimal_as_string(self, field, **kwargs) -> dict:
    """Decimals are written as strings (R-U3): document them so, not as numbers."""
    if isinstance(field, ma.fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal"}
    return {}


class RegistryApi(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        # api/errors.py owns every error response (problem+json).
        pass

    def _init_spec(self, *args, **kwargs):
        super()._init_spec(*args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(_decimal_as_string)

    def _register_responses(self):
        """Document error responses with the media type they are sent with."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def openapi_settings() -> dict:
    return {
        "API_TITLE": "ARC Registry",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": API_PREFIX,
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # R-X8: a pinned, packaged Swagger UI served by the registry, never a CDN.
        "OPENAPI_SWAGGER_UI_URL": assets_url(API_PREFIX),
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
