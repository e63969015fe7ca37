"""Disputed blocks after a back-dated certificate finding (SPEC §4, R-C5)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import perform, read
from api.fields import Instant
from api.openapi import Blueprint
from api.schemas import BlockOut
from registry import disputes

blp = Blueprint("disputes", __name__, description="Disputed blocks: a certifier's back-dated finding (R-C5)")


class DecisionIn(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 1000),
                              metadata={"description": "the certifier's word the decision rests on"})


class DisputeOut(ma.Schema):
    serial = ma.fields.String()
    certificate_id = ma.fields.Integer()
    event_id = ma.fields.Integer()
    event_kind = ma.fields.String(metadata={"description": "suspended | revoked"})
    event_on = ma.fields.Date(metadata={"description": "the date the finding takes effect"})
    reason = ma.fields.String(metadata={"description": "the certifier's reason for the event"})
    lot_id = ma.fields.Integer()
    lot_processed_on = ma.fields.Date()
    block_state = ma.fields.String(metadata={"description": "the block's state when it was disputed"})
    log_index = ma.fields.Integer(metadata={"description": "its block.disputed entry"})
    disputed_at = Instant()
    outcome = ma.fields.String(metadata={"description": "open | cleared | cancelled | upheld"})
    decision_reason = ma.fields.String(allow_none=True)
    decided_at = Instant(allow_none=True)
    decision_log_index = ma.fields.Integer(allow_none=True)


class DecisionOut(ma.Schema):
    block = ma.fields.Nested(BlockOut)
    dispute = ma.fields.Nested(DisputeOut)


class AffectedOut(ma.Schema):
    serial = ma.fields.String()
    quantity = ma.fields.Decimal(as_string=True)
    arc_code = ma.fields.String()
    state = ma.fields.String()
    owner_id = ma.fields.Integer()
    lot_id = ma.fields.Integer()
    lot_processed_on = ma.fields.Date()
    event_id = ma.fields.Integer()
    event_kind = ma.fields.String()
    event_on = ma.fields.Date()
    outcome = ma.fields.String(metadata={"description": "open | cleared | cancelled | upheld"})
    disputed_log_index = ma.fields.Integer()
    decision_log_index = ma.fields.Integer(allow_none=True)


class AffectedList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AffectedOut))


class DisputeList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DisputeOut))


def _decide(decision):
    def service(uow, actor, serial, **body):
        return disputes.decide(uow, actor, serial, decision=decision, **body)
    return service


@blp.route("/blocks/<string:serial>/dispute/<any(cancel, clear):decision>")
class DisputeDecision(MethodView):
    @blp.arguments(DecisionIn)
    @blp.response(200, DecisionOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, serial, decision):
        """Decide a disputed block on the certifier's word (admin, R-C5): ``cancel`` an
        active block, whoever holds it (R-E5; the lot's eligible mass is not restored),
        or uphold the finding on a retired one (it keeps its retirement); ``clear`` makes
        it a normal block again."""
        return perform(_decide(decision), serial, **body, schema=DecisionOut, status=200)


def _block_disputes(uow, actor, serial):
    from registry.blocks import get_block

    get_block(uow, serial)  # 404 block_not_found
    return {"items": disputes.disputes_of(uow, serial)}


@blp.route("/blocks/<string:serial>/disputes")
class BlockDisputes(MethodView):
    @blp.response(200, DisputeList)
    def get(self, serial):
        """A block's disputes and their outcomes (public, R-C5)."""
        return read(_block_disputes, serial)


def _affected(uow, actor, number):
    return {"items": disputes.affected(uow, actor, number)}


@blp.route("/rms-certificates/<string:number>/affected")
class CertificateAffected(MethodView):
    @blp.response(200, AffectedList)
    @blp.doc(security=[{"bearer": []}])
    def get(self, number):
        """The blocks the certificate's findings disputed, with their holders and
        outcomes (the certifier of its body, or an admin; R-C5)."""
        return read(_affected, number, authenticated=True)
