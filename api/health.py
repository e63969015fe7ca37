"""GET /api/v1/health: liveness, database reachability, schema revision, clock."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from api.openapi import Blueprint

from api.fields import Instant

from api.context import registry
from registry.db import database_reachable
from registry.migrate import current_revision, head_revision

blp = Blueprint("health", __name__, description="Liveness and readiness")


class DatabaseHealthSchema(ma.Schema):
    reachable = ma.fields.Boolean(required=True)
    dialect = ma.fields.String(required=True)
    revision = ma.fields.String(allow_none=True)
    head = ma.fields.String(required=True)
    error = ma.fields.String(allow_none=True)


class ClockHealthSchema(ma.Schema):
    now = Instant(required=True)
    frozen = ma.fields.Boolean(required=True)


class WebhooksHealthSchema(ma.Schema):
    allow_loopback = ma.fields.Boolean(required=True, metadata={
        "description": "ARCREG_WEBHOOKS_ALLOW_LOOPBACK: http and loopback targets allowed (development only)"})


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "ok or degraded"})
    database = ma.fields.Nested(DatabaseHealthSchema, required=True)
    clock = ma.fields.Nested(ClockHealthSchema, required=True)
    webhooks = ma.fields.Nested(WebhooksHealthSchema, required=True)


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="Database unreachable or not migrated")
    def get(self):
        state = registry()
        reachable, error = database_reachable(state.engine)
        revision = current_revision(state.engine) if reachable else None
        head = head_revision()
        healthy = reachable and revision == head
        body = {
            "status": "ok" if healthy else "degraded",
            "database": {
                "reachable": reachable,
                "dialect": state.engine.dialect.name,
                "revision": revision,
                "head": head,
                "error": error if not reachable else (None if healthy else "schema not at head"),
            },
            "clock": {"now": state.clock.now(), "frozen": state.clock.frozen},
            "webhooks": {"allow_loopback": state.config.webhooks_allow_loopback},
        }
        return body, (200 if healthy else 503)
