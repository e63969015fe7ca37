"""Witnesses, their cosignatures, and the administrator's integrity view (R-L7, R-L9)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from sqlalchemy.exc import IntegrityError

from api.auth import perform, read
from api.context import registry, unit_of_work
from api.fields import Instant
from api.openapi import Blueprint
from registry import integrity_status, witnesses

blp = Blueprint("witnesses", __name__, description="Witness cosignatures and integrity status (R-L9)")


class WitnessIn(ma.Schema):
    vkey = ma.fields.String(required=True, validate=ma.validate.Length(1, 400),
                            metadata={"description": "the witness's signed-note verifier key (type 0x04, "
                                                     "or the Ed25519 0x01 key `arcreg keygen` prints)"})


class WitnessOut(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    key_id = ma.fields.String(metadata={"description": "4-byte C2SP key id (type 0x04), hex"})
    vkey = ma.fields.String(metadata={"description": "cosignature verifier key (type 0x04)"})


class WitnessesOut(ma.Schema):
    witnesses = ma.fields.List(ma.fields.Nested(WitnessOut))


class CosignatureIn(ma.Schema):
    checkpoint_size = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=0))
    cosignature = ma.fields.String(required=True, validate=ma.validate.Length(1, 1000), metadata={
        "description": "one C2SP signed-note signature line, `— <name> base64(keyid ‖ timestamp ‖ sig)`, "
                       "as a tlog-witness returns it"})


class CosignatureOut(ma.Schema):
    witness = ma.fields.String()
    key_id = ma.fields.String()
    size = ma.fields.Integer()
    timestamp = ma.fields.Integer(metadata={"description": "the witness's time, POSIX seconds"})
    line = ma.fields.String()


class VerificationOut(ma.Schema):
    ok = ma.fields.Boolean()
    started_at = Instant()
    finished_at = Instant()
    size = ma.fields.Integer()
    checkpoints = ma.fields.Integer()
    bad_index = ma.fields.Integer(allow_none=True)
    kind = ma.fields.String(allow_none=True)
    detail = ma.fields.String()


class CheckpointInfoOut(ma.Schema):
    size = ma.fields.Integer()
    time = ma.fields.String()


class IntegrityKeyOut(ma.Schema):
    name = ma.fields.String()
    key_id = ma.fields.String()
    vkey = ma.fields.String()


class WitnessStatusOut(WitnessOut):
    cosigned_size = ma.fields.Integer(allow_none=True)
    cosigned_at = Instant(allow_none=True)
    received_at = Instant(allow_none=True)


class IntegrityOut(ma.Schema):
    verification = ma.fields.Nested(VerificationOut, allow_none=True,
                                    metadata={"description": "latest `arcreg verify` run, or null"})
    log_size = ma.fields.Integer()
    checkpoint = ma.fields.Nested(CheckpointInfoOut, allow_none=True)
    key = ma.fields.Nested(IntegrityKeyOut)
    witnesses = ma.fields.List(ma.fields.Nested(WitnessStatusOut))


@blp.route("/witnesses")
class Witnesses(MethodView):
    @blp.arguments(WitnessIn)
    @blp.response(201, WitnessOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body):
        """Register a witness by its verifier key (admin)."""
        return perform(witnesses.register_witness, **body, schema=WitnessOut, status=201)

    @blp.response(200, WitnessesOut)
    def get(self):
        """The registered witnesses and their keys (public)."""
        return {"witnesses": read(witnesses.list_witnesses)}


@blp.route("/log/cosignatures")
class Cosignatures(MethodView):
    @blp.arguments(CosignatureIn)
    @blp.response(201, CosignatureOut)
    @blp.alt_response(200, schema=CosignatureOut, description="already stored for this witness and size")
    def post(self, body):
        """Hand in a witness's cosignature on one of our checkpoints (no token: the signature
        authenticates). 201 stored; 200 the witness had already cosigned that size."""
        for attempt in (1, 2):
            try:
                with unit_of_work() as uow:
                    result = witnesses.add_cosignature(uow, body["checkpoint_size"], body["cosignature"])
                    uow.commit()
                break
            except IntegrityError:
                if attempt == 2:  # a concurrent post won the unique constraint: the retry finds it
                    raise
        payload = current_app.json.dumps(CosignatureOut().dump(result))
        return current_app.response_class(payload, status=201 if result.created else 200,
                                          mimetype="application/json")


@blp.route("/admin/integrity")
class Integrity(MethodView):
    @blp.response(200, IntegrityOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """Last verification, log size, latest checkpoint, registry key, witnesses (admin)."""
        return read(integrity_status.integrity_status, registry().signer, authenticated=True)
