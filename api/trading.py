"""Transfers, block lists and holdings (SPEC §9, §13)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api import exports
from api.auth import perform, read
from api.fields import Id, LogRefSchema, QuantityField
from api.openapi import Blueprint
from api.offers import OfferCreated
from api.schemas import BlockOut
from registry import holdings, transfers
from registry.exports import streams
from registry.offers import services as offer_services

blp = Blueprint("trading", __name__, description="Transfers and holdings (R-T1–R-T5)")


class TransferIn(ma.Schema):
    serial = ma.fields.String(required=True, validate=ma.validate.Length(1, 80))
    quantity = QuantityField(required=True, metadata={"type": "string", "example": "100.000"})
    to_participant_id = Id(required=True)
    lapses_on = ma.fields.Date(load_default=None, allow_none=True, metadata={
        "description": "to a recipient that reviews incoming transfers: the offer's last day (at most 30 days, "
                       "within the use period; default the latest allowed). Ignored otherwise (R-T6)"})


class TransferOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the transfer's log index"})
    moved = ma.fields.Nested(BlockOut, metadata={"description": "the moved block, or the held one of an offer"})
    remainder = ma.fields.Nested(BlockOut, allow_none=True)
    log = ma.fields.Nested(LogRefSchema)
    offer_id = ma.fields.Method("_offer_id", allow_none=True, metadata={
        "type": "integer", "description": "bulk items: the offer made to a reviewing recipient (R-T6)"})

    def _offer_id(self, result):
        offer = getattr(result, "offer", None)
        return None if offer is None else offer.id


def _transfer_response(result):
    """201 with the transfer, or 202 with the offer made to a reviewing recipient (R-T6)."""
    if result.offer is None:
        return TransferOut, 201, lambda r: r
    return OfferCreated, 202, lambda r: {"offer": offer_services.offer_view(r.offer, r.moved), "remainder": r.remainder}


class BlockQuery(ma.Schema):
    owner = ma.fields.Integer(load_default=None)
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(holdings.STATES))
    arc_type = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 8))
    year = ma.fields.Integer(load_default=None)
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, holdings.MAX_LIMIT))
    cursor = ma.fields.String(load_default=None)


class BlockPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BlockOut))
    next_cursor = ma.fields.String(allow_none=True)


class HoldingOut(ma.Schema):
    arc_type = ma.fields.String()
    generation_year = ma.fields.Integer()
    state = ma.fields.String()
    quantity = ma.fields.Decimal(as_string=True)
    blocks = ma.fields.Integer()


class HoldingsOut(ma.Schema):
    participant_id = ma.fields.Integer()
    lines = ma.fields.List(ma.fields.Nested(HoldingOut))


@blp.route("/transfers")
class Transfers(MethodView):
    @blp.arguments(TransferIn)
    @blp.response(201, TransferOut)
    @blp.alt_response(202, schema=OfferCreated, description="the recipient reviews incoming transfers: an offer")
    @blp.doc(security=[{"bearer": []}], parameters=[{"in": "header", "name": "Idempotency-Key",
                                                     "schema": {"type": "string"}, "required": False}])
    def post(self, body):
        """Transfer a quantity of an active block to another participant (R-T2); to one that reviews
        incoming transfers, an offer (202, R-T6)."""
        return perform(transfers.transfer, **body, choose=_transfer_response)


@blp.route("/blocks")
class Blocks(MethodView):
    @blp.arguments(BlockQuery, location="query")
    @blp.response(200, BlockPage)
    @blp.doc(security=[{"bearer": []}])
    def get(self, args):
        """Blocks held by a participant, filtered and paginated (owner or admin). With
        ``Accept: text/csv``: every block the filters select, streamed as CSV (R-N3)."""
        if exports.wants_csv():
            return exports.streamed_csv(streams.block_rows, None, exports.BLOCK_COLUMNS, "blocks",
                                        cells=exports.block_cells, **args)
        return read(holdings.list_blocks, **args, authenticated=True)


@blp.route("/participants/<id:participant_id>/holdings")
class Holdings(MethodView):
    @blp.response(200, HoldingsOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, participant_id):
        """Totals by ARC type, generation year and state (owner or admin); CSV with ``Accept: text/csv`` (R-N3)."""
        if exports.wants_csv():
            return exports.streamed_csv(lambda uow, actor: holdings.holdings(uow, actor, participant_id),
                                        HoldingOut(), exports.HOLDING_COLUMNS, f"holdings-{participant_id}")
        lines = read(holdings.holdings, participant_id, authenticated=True)
        return {"participant_id": participant_id, "lines": lines}
