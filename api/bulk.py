"""Bulk transfers and retirements (R-T7, §13.1): up to 1 000 items, all or
nothing; a refused item names its index (``items.3.quantity``)."""

from __future__ import annotations

from types import SimpleNamespace

import marshmallow as ma
from flask import url_for
from flask.views import MethodView

from api.auth import perform
from api.context import read_unit_of_work, registry
from api.fields import Id, QuantityField
from api.openapi import Blueprint
from api.retirements import RetirementCreated, RetirementIn, RetirementRecord, _with
from api.trading import TransferOut
from registry import retirements
from registry.bulk import services

blp = Blueprint("bulk", __name__, description="Bulk transfers and retirements (R-T7)")

IDEMPOTENCY = [{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}, "required": False}]


class TransferItem(ma.Schema):
    serial = ma.fields.String(required=True, validate=ma.validate.Length(1, 80))
    quantity = QuantityField(required=True, metadata={"type": "string", "example": "100.000"})
    to_participant_id = Id(required=True)
    lapses_on = ma.fields.Date(load_default=None, allow_none=True,
                               metadata={"description": "an offer's last day, for a reviewing recipient (R-T6)"})


class BulkTransferIn(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TransferItem), required=True,
                           metadata={"description": f"1 to {services.MAX_ITEMS} items, each block once"})


class BulkTransferOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TransferOut))


class RetirementItem(ma.Schema):
    serial = ma.fields.String(required=True, validate=ma.validate.Length(1, 80))
    quantity = QuantityField(required=True, metadata={"type": "string", "example": "10.000"})


class BulkRetirementIn(RetirementIn):
    class Meta:
        exclude = ("serial", "quantity", "basis_mass")

    items = ma.fields.List(ma.fields.Nested(RetirementItem), required=True,
                           metadata={"description": f"1 to {services.MAX_ITEMS} items, each block once"})


class BulkRetirementOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the bulk retirement: the index of its first entry"})
    retirements = ma.fields.List(ma.fields.Nested(RetirementCreated))
    statement = ma.fields.String(metadata={"description": "the one statement listing all items"})


class BulkRetirementRecord(ma.Schema):
    id = ma.fields.Integer()
    retirements = ma.fields.List(ma.fields.Nested(RetirementRecord))
    statement = ma.fields.String()


def _statement_url(bulk_id: int) -> str:
    return url_for("pages.bulk_statement", bulk_id=bulk_id)


def _retire_many(uow, actor, **body):
    done = services.retire_many(uow, actor, **body)
    out = [_with(retirement, block=block, remainder=remainder) for retirement, block, remainder in done.retirements]
    return SimpleNamespace(id=done.id, retirements=out, statement=_statement_url(done.id))


@blp.route("/transfers/bulk")
class BulkTransfers(MethodView):
    @blp.arguments(BulkTransferIn)
    @blp.response(201, BulkTransferOut)
    @blp.doc(security=[{"bearer": []}], parameters=IDEMPOTENCY)
    def post(self, body):
        """Transfer up to 1 000 items at once, all or nothing (owner; R-T7). An item to a recipient that
        reviews incoming transfers becomes an offer (its ``offer_id``, R-T6)."""
        return perform(lambda uow, actor, **b: {"items": services.transfer_many(uow, actor, **b)}, **body,
                       schema=BulkTransferOut, status=201)


@blp.route("/retirements/bulk")
class BulkRetirements(MethodView):
    @blp.arguments(BulkRetirementIn)
    @blp.response(201, BulkRetirementOut)
    @blp.doc(security=[{"bearer": []}], parameters=IDEMPOTENCY)
    def post(self, body):
        """Retire up to 1 000 items for one claim, all or nothing, with one statement (owner; R-T7)."""
        return perform(_retire_many, **body, schema=BulkRetirementOut, status=201)


@blp.route("/retirements/bulk/<id:bulk_id>")
class BulkRetirementById(MethodView):
    @blp.response(200, BulkRetirementRecord)
    def get(self, bulk_id):
        """Public: a bulk retirement's items, each with an inclusion proof of its entry against one
        signed checkpoint (R-R2, R-T7)."""
        state = registry()
        with read_unit_of_work() as uow:
            rows = services.bulk_retirement(uow, bulk_id)
            proofs = retirements.retirement_proofs(uow, rows, state.signer, state.config.log_origin)
            uow.commit()
        return {"id": bulk_id, "statement": _statement_url(bulk_id),
                "retirements": [_with(r, proof=p) for r, p in zip(rows, proofs)]}
