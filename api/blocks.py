"""Certificate blocks: public lookup by serial (SPEC §9, §13)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import read
from api.context import registry, unit_of_work
from api.openapi import Blueprint
from api.schemas import BlockOut
from registry import blocks, provenance

blp = Blueprint("blocks", __name__, description="Certificate blocks and holdings (R-T1)")


def _lookup(uow, actor, serial):
    return blocks.get_block(uow, serial)


@blp.route("/blocks/<string:serial>")
class BlockBySerial(MethodView):
    @blp.response(200, BlockOut)
    def get(self, serial):
        """A block by its serial: public, like every certificate record."""
        return read(_lookup, serial)


class ProvenanceEntryOut(ma.Schema):
    index = ma.fields.Integer()
    canonical = ma.fields.String(metadata={"description": "the exact UTF-8 text hashed (RFC 8785)"})
    hashes = ma.fields.List(ma.fields.String(), metadata={"description": "inclusion proof, lowercase hex"})


class ProvenanceOut(ma.Schema):
    checkpoint = ma.fields.String(metadata={"description": "C2SP tlog-checkpoint signed note"})
    serial = ma.fields.String()
    entries = ma.fields.List(ma.fields.Nested(ProvenanceEntryOut),
                             metadata={"description": "from lot.registered to the block's current state"})


@blp.route("/blocks/<string:serial>/provenance")
class BlockProvenance(MethodView):
    @blp.response(200, ProvenanceOut)
    def get(self, serial):
        """The block's provenance proof (R-L6): public, verifiable offline with
        `arcreg verify-proof` and the key of `GET /log/key`."""
        state = registry()
        with unit_of_work() as uow:
            proof = provenance.provenance(uow, state.signer, state.config.log_origin, serial)
            uow.commit()  # a checkpoint signed on demand is stored (R-L4)
        return proof
