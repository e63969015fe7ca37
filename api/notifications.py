"""Webhooks and the event feed (SPEC §13.1 "Webhooks", R-N1, R-N2)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import perform, read
from api.context import registry
from api.fields import ID_MAX, ID_MIN, Instant
from api.openapi import Blueprint
from registry.holdings import MAX_LIMIT
from registry.notifications import endpoints, feed
from registry.notifications.events import TYPES

blp = Blueprint("notifications", __name__, description="Webhooks and the event feed (R-N1, R-N2)")


class WebhookIn(ma.Schema):
    url = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000), metadata={
        "description": "https URL (http only to loopback with ARCREG_WEBHOOKS_ALLOW_LOOPBACK=1)"})
    events = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 60)),
                            validate=ma.validate.Length(1, len(TYPES)), load_default=None, metadata={
                                "description": "event types to deliver; leave out for every type",
                                "example": ["transfer.received", "block.expiring"]})


class WebhookOut(ma.Schema):
    id = ma.fields.Integer()
    participant_id = ma.fields.Integer()
    url = ma.fields.String()
    events = ma.fields.List(ma.fields.String(), allow_none=True)
    enabled = ma.fields.Boolean()
    disabled_reason = ma.fields.String(allow_none=True, metadata={"description": "by_participant | failing"})
    disabled_at = Instant(allow_none=True)
    created_at = Instant()


class WebhookCreated(WebhookOut):
    secret = ma.fields.String(metadata={"description": "the Standard Webhooks key (whsec_…), shown only now"})


class WebhookList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(WebhookOut))


class ListQuery(ma.Schema):
    participant_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(ID_MIN, ID_MAX),
                                       metadata={"description": "an administrator names the participant"})


class PageQuery(ma.Schema):
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, MAX_LIMIT))
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 40))


class AttemptOut(ma.Schema):
    event_id = ma.fields.String()
    type = ma.fields.String()
    attempt = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "sending | delivered | http_error | timeout | "
                                                       "network_error | unresolvable | refused_target | "
                                                       "interrupted"})
    at = Instant()
    response_status = ma.fields.Integer(allow_none=True)
    error = ma.fields.String(allow_none=True)
    next_attempt_at = Instant(allow_none=True)


class AttemptPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AttemptOut))
    next_cursor = ma.fields.String(allow_none=True)


class EventQuery(ma.Schema):
    after = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 40),
                             metadata={"description": "next_cursor of the previous read; leave out to start"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, MAX_LIMIT))
    participant_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(ID_MIN, ID_MAX),
                                       metadata={"description": "an administrator names the participant"})


class EventOut(ma.Schema):
    id = ma.fields.String(metadata={"description": "also the webhook-id of its deliveries"})
    type = ma.fields.String()
    timestamp = Instant()
    data = ma.fields.Dict()


class EventPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EventOut))
    next_cursor = ma.fields.String(metadata={"description": "pass as after= to read on; stable"})


class _Created(dict):
    holds_secret = True  # api/auth.py seals an Idempotency-Key copy of this answer


def _register(uow, actor, **body):
    registered = endpoints.register(uow, actor, **body,
                                    allow_loopback=registry().config.webhooks_allow_loopback)
    endpoint = registered.endpoint
    return _Created({name: getattr(endpoint, name) for name in WebhookOut._declared_fields},
                    secret=registered.secret)


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.arguments(WebhookIn)
    @blp.response(201, WebhookCreated)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body):
        """Register an endpoint for your participant's events (a member, R-N1); the
        answer holds its signing secret, shown this once."""
        return perform(_register, **body, schema=WebhookCreated, status=201)

    @blp.arguments(ListQuery, location="query")
    @blp.response(200, WebhookList)
    @blp.doc(security=[{"bearer": []}])
    def get(self, args):
        """Your participant's endpoints (no secrets)."""
        return {"items": read(endpoints.list_endpoints, **args, authenticated=True)}


@blp.route("/webhooks/<id:webhook_id>")
class Webhook(MethodView):
    @blp.response(200, WebhookOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, webhook_id):
        """One endpoint (no secret)."""
        return read(endpoints.get_endpoint, webhook_id, authenticated=True)

    @blp.response(204)
    @blp.doc(security=[{"bearer": []}])
    def delete(self, webhook_id):
        """Delete an endpoint: nothing more is sent to it; its pending deliveries are cancelled."""
        return perform(endpoints.delete, webhook_id, status=204)


def _enabled(value):
    def service(uow, actor, webhook_id):
        return endpoints.set_enabled(uow, actor, webhook_id, enabled=value)
    return service


@blp.route("/webhooks/<id:webhook_id>/<any(disable, enable):action>")
class WebhookSwitch(MethodView):
    @blp.response(200, WebhookOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, webhook_id, action):
        """Disable an endpoint, or enable it again (its pending deliveries are tried at
        once, with a fresh 24-hour retry window)."""
        return perform(_enabled(action == "enable"), webhook_id, schema=WebhookOut, status=200)


@blp.route("/webhooks/<id:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, AttemptPage)
    @blp.doc(security=[{"bearer": []}])
    def get(self, args, webhook_id):
        """Every attempt to deliver to the endpoint, newest first (R-N1)."""
        return read(endpoints.attempts, webhook_id, **args, authenticated=True)


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventQuery, location="query")
    @blp.response(200, EventPage)
    @blp.doc(security=[{"bearer": []}])
    def get(self, args):
        """Your participant's events after the cursor, oldest first (R-N2): the same
        events the webhooks deliver."""
        return read(feed.read_events, **args, authenticated=True)
