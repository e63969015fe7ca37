"""Offers: incoming transfers a participant reviews (R-T6, §13.1)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import perform, read
from api.fields import Id, LogRefSchema
from api.openapi import Blueprint
from api.schemas import BlockOut
from registry import holdings
from registry.offers import rules, services

blp = Blueprint("offers", __name__, description="Offers: transfers the recipient accepts or rejects (R-T6)")


class OfferOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the index of the block.offered entry"})
    state = ma.fields.String(metadata={"enum": list(rules.STATES)})
    block = ma.fields.Nested(BlockOut, metadata={"description": "the held block as it now stands "
                                                               "(state offered while pending)"})
    from_participant_id = ma.fields.Integer()
    to_participant_id = ma.fields.Integer()
    lapses_on = ma.fields.Date(metadata={"description": "the last day it may be accepted"})
    log = ma.fields.Nested(LogRefSchema, metadata={"description": "the block.offered entry"})
    decided_log_index = ma.fields.Integer(allow_none=True, metadata={"description": "the entry that closed it"})


class OfferCreated(ma.Schema):
    offer = ma.fields.Nested(OfferOut)
    remainder = ma.fields.Nested(BlockOut, allow_none=True, metadata={
        "description": "what the sender keeps of a partial offer, as with a transfer (R-T2)"})


class OfferQuery(ma.Schema):
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["sender", "recipient"]))
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(rules.STATES))
    participant_id = Id(load_default=None, metadata={"description": "administrators: whose offers"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, holdings.MAX_LIMIT))
    cursor = ma.fields.String(load_default=None)


class OfferPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(OfferOut))
    next_cursor = ma.fields.String(allow_none=True)


@blp.route("/offers")
class Offers(MethodView):
    @blp.arguments(OfferQuery, location="query")
    @blp.response(200, OfferPage)
    @blp.doc(security=[{"bearer": []}])
    def get(self, args):
        """Offers the participant sent or received (its members; R-T6)."""
        return read(services.list_offers, **args, authenticated=True)


@blp.route("/offers/<id:offer_id>")
class OfferById(MethodView):
    @blp.response(200, OfferOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, offer_id):
        """One offer (its two parties)."""
        return read(services.get_offer, offer_id, authenticated=True)


def _action(action: str, doc: str):
    class Action(MethodView):
        @blp.response(200, OfferOut)
        @blp.doc(security=[{"bearer": []}], summary=doc)
        def post(self, offer_id):
            return perform(services.decide, offer_id, action=action, schema=OfferOut, status=200)

    Action.__name__ = f"Offer{action.title()}"
    return Action


blp.route("/offers/<id:offer_id>/accept")(_action("accept", "Accept an offer (its recipient): the block moves"))
blp.route("/offers/<id:offer_id>/reject")(_action("reject", "Reject an offer (its recipient): the block returns"))
blp.route("/offers/<id:offer_id>/withdraw")(
    _action("withdraw", "Withdraw an offer (its sender): the block returns"))
