"""The public transparency log: key, signed checkpoint, entries, proofs (SPEC §12)."""

from __future__ import annotations

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from api.context import read_unit_of_work, registry
from api.openapi import Blueprint
from registry import transparency, witnesses

blp = Blueprint("log", __name__, description="The chain log: verifiable by anyone (R-L1–R-L4)")


class KeyOut(ma.Schema):
    name = ma.fields.String()
    key_id = ma.fields.String(metadata={"description": "4-byte C2SP key id, hex"})
    public_key = ma.fields.String(metadata={"description": "base64 of the raw 32-byte Ed25519 key"})
    vkey = ma.fields.String(metadata={"description": "signed-note verifier key"})


class CheckpointArgs(ma.Schema):
    cosigned = ma.fields.Boolean(load_default=False, metadata={
        "description": "serve the latest checkpoint that a witness has cosigned (R-L9)"})


class RangeArgs(ma.Schema):
    start = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0))
    end = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0))


class EntryOut(ma.Schema):
    index = ma.fields.Integer()
    time = ma.fields.String()
    type = ma.fields.String()
    actor = ma.fields.String()
    payload = ma.fields.Dict()
    canonical = ma.fields.String(metadata={"description": "the exact UTF-8 text hashed (RFC 8785)"})
    leaf_hash = ma.fields.Function(lambda e: e.leaf_hash.hex())
    entry_hash = ma.fields.Function(lambda e: e.entry_hash.hex())


class EntriesOut(ma.Schema):
    entries = ma.fields.List(ma.fields.Nested(EntryOut))


class InclusionArgs(ma.Schema):
    index = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0))
    size = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))


class InclusionOut(ma.Schema):
    index = ma.fields.Integer()
    size = ma.fields.Integer()
    leaf_hash = ma.fields.String()
    hashes = ma.fields.List(ma.fields.String())


class ConsistencyArgs(ma.Schema):
    first = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0))
    second = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0))


class ConsistencyOut(ma.Schema):
    first = ma.fields.Integer()
    second = ma.fields.Integer()
    hashes = ma.fields.List(ma.fields.String())


@blp.route("/log/key")
class LogKey(MethodView):
    @blp.response(200, KeyOut)
    def get(self):
        """The registry's checkpoint verifier key."""
        return transparency.key_info(registry().signer)


@blp.route("/log/checkpoint")
class LogCheckpoint(MethodView):
    @blp.arguments(CheckpointArgs, location="query")
    @blp.response(200, content_type="text/plain", description="C2SP tlog-checkpoint signed note")
    @blp.doc(responses={"200": {"description": "C2SP tlog-checkpoint signed note",
                                "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def get(self, args):
        """The latest signed checkpoint, covering every committed entry (R-L4), with every
        witness cosignature stored for its size as extra signature lines (R-L9). With
        `cosigned=true`: the latest checkpoint that has at least one cosignature (404 if none)."""
        state = registry()
        with read_unit_of_work() as uow:
            if args["cosigned"]:
                note = witnesses.latest_cosigned(uow)
            else:
                checkpoint = transparency.current_checkpoint(uow, state.signer, state.config.log_origin)
                note = witnesses.cosigned_note(uow, checkpoint)
                uow.commit()
        return Response(note, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@blp.route("/log/entries")
class LogEntries(MethodView):
    @blp.arguments(RangeArgs, location="query")
    @blp.response(200, EntriesOut)
    def get(self, args):
        """Entries with start <= index < end (at most 500)."""
        with read_unit_of_work() as uow:
            return {"entries": transparency.entries(uow, args["start"], args["end"])}


@blp.route("/log/proof/inclusion")
class InclusionProof(MethodView):
    @blp.arguments(InclusionArgs, location="query")
    @blp.response(200, InclusionOut)
    def get(self, args):
        """RFC 9162 inclusion proof of entry `index` in the tree of `size`."""
        with read_unit_of_work() as uow:
            leaf, proof = transparency.inclusion_proof(uow, args["index"], args["size"])
        return {**args, "leaf_hash": leaf.hex(), "hashes": [h.hex() for h in proof]}


@blp.route("/log/proof/consistency")
class ConsistencyProof(MethodView):
    @blp.arguments(ConsistencyArgs, location="query")
    @blp.response(200, ConsistencyOut)
    def get(self, args):
        """RFC 9162 consistency proof between tree sizes `first` and `second`."""
        with read_unit_of_work() as uow:
            proof = transparency.consistency_proof(uow, args["first"], args["second"])
        return {**args, "hashes": [h.hex() for h in proof]}
