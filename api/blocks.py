"""Certificate blocks: public lookup by serial (SPEC §9, §13)."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, current_app
from flask.views import MethodView

from api.auth import read
from api.context import read_unit_of_work, registry
from api.openapi import Blueprint
from api.proof_pages import pages_of
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


class ProvenanceArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=provenance.PAGE_LIMIT,
                              validate=ma.validate.Range(min=1, max=provenance.PAGE_LIMIT), metadata={
        "description": f"entries per page (at most {provenance.PAGE_LIMIT}): a longer lineage is served "
                       "in pages, newest entries first (R-X6)"})
    from_index = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0, max=2**63 - 1), metadata={
        "description": "continue the lineage walk at this log index: `next.from_index` of the previous page"})
    size = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=2**63 - 1), metadata={
        "description": "with `from_index`: the checkpoint size of the first page (`next.size`), so every page "
                       "is proven against the same signed checkpoint"})


class ProvenanceNextOut(ma.Schema):
    from_index = ma.fields.Integer(metadata={"description": "pass as `from_index` to get the older entries"})
    size = ma.fields.Integer(metadata={"description": "pass as `size`: the checkpoint every page is proven against"})


class ProvenanceOut(ma.Schema):
    checkpoint = ma.fields.String(metadata={"description": "C2SP tlog-checkpoint signed note"})
    serial = ma.fields.String()
    entries = ma.fields.List(ma.fields.Nested(ProvenanceEntryOut),
                             metadata={"description": "from lot.registered to the block's current state, oldest "
                                                      "first; on a page, the part of the lineage it covers"})
    next = ma.fields.Nested(ProvenanceNextOut, allow_none=True, metadata={
        "description": "null when this page reaches lot.registered; else where the older entries continue. "
                       "Join the pages, oldest page first, into one proof for `arcreg verify-proof` (which also "
                       "takes the page files themselves)"})


@blp.route("/blocks/<string:serial>/provenance")
class BlockProvenance(MethodView):
    @blp.arguments(ProvenanceArgs, location="query")
    @blp.response(200, ProvenanceOut)
    @blp.alt_response(429, description="too many expensive reads from this client (problem+json `rate_limited`, "
                                       "with Retry-After); see R-X6")
    def get(self, args, serial):
        """The block's provenance proof (R-L6): public, verifiable offline with
        `arcreg verify-proof` and the key of `GET /log/key`. A lineage longer than
        `limit` entries comes in pages, newest first: follow `next` until it is null.
        Rate limited per client address (R-X6); takes no lock a write waits on."""
        state = registry()
        with read_unit_of_work() as uow:
            start, checkpoint = provenance.plan(uow, state.signer, state.config.log_origin, serial, **args)
            # R-X6: a page is immutable once its start and checkpoint are known; kept per worker.
            body = pages_of(current_app).get_or_make(
                (serial, start, checkpoint.size, args["limit"]),
                lambda: current_app.json.dumps(ProvenanceOut().dump(
                    provenance.page(uow, serial, start, checkpoint, args["limit"]))).encode())
        # A continuation page never changes; the first one changes when the log grows.
        cache = "no-cache" if args["from_index"] is None else "public, max-age=86400, immutable"
        return Response(body, mimetype="application/json", headers={"Cache-Control": cache})
