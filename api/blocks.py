"""Certificate blocks: public lookup by serial (SPEC §9, §13)."""

from __future__ import annotations

from flask.views import MethodView

from api.auth import read
from api.openapi import Blueprint
from api.schemas import BlockOut
from registry import blocks

blp = Blueprint("blocks", __name__, description="Certificate blocks and holdings (R-T1)")


def _lookup(uow, actor, serial):
    return blocks.get_block(uow, serial)


@blp.route("/blocks/<string:serial>")
class BlockBySerial(MethodView):
    @blp.response(200, BlockOut)
    def get(self, serial):
        """A block by its serial: public, like every certificate record."""
        return read(_lookup, serial)
