"""Corrections by the registry administrator (SPEC §11, R-E5, RMS 8.6.2)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import perform
from api.openapi import Blueprint
from api.schemas import BlockOut
from registry import corrections

blp = Blueprint("corrections", __name__, description="Corrections by the administrator (R-E5)")


class CancelIn(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 1000))


@blp.route("/blocks/<string:serial>/cancel")
class CancelBlock(MethodView):
    @blp.arguments(CancelIn)
    @blp.response(200, BlockOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, serial):
        """Cancel a block still held by its generator, restoring the lot's
        ARC-eligible mass and the determination's volume (admin, R-E5)."""
        return perform(corrections.cancel_block, serial, **body, schema=BlockOut, status=200)
