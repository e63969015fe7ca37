"""Base material lots, dispositions and generation (SPEC §6, §8)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import perform, read
from api.fields import Digest, Exact, Id, MassField
from api.openapi import Blueprint
from api.schemas import BlockOut
from registry import generation, lots

blp = Blueprint("lots", __name__, description="Base material lots and generation (§6, §8)")


class FlowIn(ma.Schema):
    material_code = ma.fields.String(required=True)
    mass = MassField(required=True)


class ConversionIn(ma.Schema):
    """RMS 5.4.2 conversion-factor documentation."""

    inputs = ma.fields.List(ma.fields.Nested(FlowIn), required=True, validate=ma.validate.Length(min=1))
    transformation = ma.fields.String(required=True, validate=ma.validate.OneOf(lots.TRANSFORMATIONS))
    description = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000))
    factor = Exact(required=True, places=3, metadata={"description": "conversion factor, percent"})
    justification = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000))
    outputs = ma.fields.List(ma.fields.Nested(FlowIn), required=True, validate=ma.validate.Length(min=1))


class UpstreamIn(ma.Schema):
    supplier_certificate = ma.fields.String(required=True)
    reference = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    material_code = ma.fields.String(required=True)
    mass = MassField(required=True)
    received_on = ma.fields.Date(load_default=None, allow_none=True, metadata={
        "description": "when the input was received, on or before processed_on; its supplier certificate, "
                       "if in this register, must be valid that day (default: processed_on; R-B8)"})


class ReceiptCitationIn(ma.Schema):
    receipt_id = Id(required=True, metadata={"description": "a receipt of the lot's custody account (R-M6)"})
    mass = MassField(load_default=None, allow_none=True, metadata={
        "description": "the part of the receipt the lot used (default: all of it)"})


class LotIn(ma.Schema):
    facility_id = Id(required=True)
    line_id = Id(load_default=None, allow_none=True)
    reference = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    material_code = ma.fields.String(required=True, metadata={"example": "PC_P3.1.9"})
    mass = MassField(required=True, metadata={"description": "dry mass"})
    pc_mass = MassField(load_default=None, allow_none=True, allow_zero=True)
    pi_mass = MassField(load_default=None, allow_none=True, allow_zero=True)
    non_plastic_fraction = Exact(required=True, places=6, maximum=1)
    lhv_mj_per_kg = Exact(load_default=None, allow_none=True, places=3, allow_zero=False, maximum=150)
    processed_on = ma.fields.Date(required=True)
    rms_certificate = ma.fields.String(required=True)
    conversion = ma.fields.Nested(ConversionIn, required=True)
    inputs = ma.fields.List(ma.fields.Nested(UpstreamIn), load_default=list)
    evidence = ma.fields.List(ma.fields.Nested(Digest), load_default=list)
    custody_account_id = Id(load_default=None, allow_none=True, metadata={
        "description": "the custody account the lot is an output of: required where the generator keeps a "
                       "mass-balance or segregation account for the lot's facility and product; its ARCs and "
                       "claimed sales then draw on the account's credit (R-M6)"})
    receipts = ma.fields.List(ma.fields.Nested(ReceiptCitationIn), load_default=list, metadata={
        "description": "a custody lot's inputs: receipts of its account, instead of free-text inputs (R-M6)"})


class DispositionIn(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(lots.DISPOSITION_KINDS))
    on = ma.fields.Date(required=True)
    counterparty = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    mass = MassField(keep_unit=True, load_default=None, allow_none=True, metadata={
        "description": 'A mass: {"value": "<decimal>", "unit": "kg" | "t" | "lb"}; omitted or null: exactly what '
                       "is left of the lot. Requests in lb convert as the lot's running total, so they add up "
                       "to the lot's mass (R-U6)"})
    claim = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(1, 60),
                             metadata={"example": "RMS 75% PC MB"})


class LotOut(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String()
    generator_id = ma.fields.Integer()
    facility_id = ma.fields.Integer()
    line_id = ma.fields.Integer(allow_none=True)
    material_code = ma.fields.String()
    recycled_status = ma.fields.String()
    mass_kg = ma.fields.Decimal(as_string=True)
    pc_kg = ma.fields.Decimal(as_string=True, allow_none=True)
    pi_kg = ma.fields.Method("_pi_kg", allow_none=True, metadata={"type": "string"})
    non_plastic_fraction = ma.fields.Decimal(as_string=True)
    lhv_mj_per_kg = ma.fields.Decimal(as_string=True, allow_none=True)
    processed_on = ma.fields.Date()
    conversion = ma.fields.Dict()
    inputs = ma.fields.List(ma.fields.Dict())
    evidence = ma.fields.List(ma.fields.Dict())
    sold_kg = ma.fields.Decimal(as_string=True)
    claimed_kg = ma.fields.Decimal(as_string=True)
    used_kg = ma.fields.Decimal(as_string=True)
    eligible_kg = ma.fields.Method("_eligible_kg", metadata={"type": "string"})
    components = ma.fields.Method("_components", metadata={"type": "object"})
    disclaimer_required = ma.fields.Boolean()
    custody_account_id = ma.fields.Integer(allow_none=True)
    log = ma.fields.Method("_log", metadata={"type": "object"})

    def _pi_kg(self, lot):
        return None if lot.pc_kg is None else format(lot.mass_kg - lot.pc_kg, "f")

    def _eligible_kg(self, lot):
        return format(lots.eligible_kg(lot), "f")

    def _components(self, lot):
        balance = lots.account(lot)
        return {status: {"base_kg": format(c.mass_kg, "f"), "claimed_kg": format(c.claimed_kg, "f"),
                         "used_kg": format(c.used_kg, "f"), "eligible_kg": format(balance.eligible_kg(status), "f")}
                for status, c in balance.components().items()}

    def _log(self, lot):
        return {"index": lot.log_index, "leaf_hash": lot.leaf_hash}


class GenerationIn(ma.Schema):
    lot_id = Id(required=True)
    mass = MassField(keep_unit=True, load_default=None, allow_none=True, metadata={
        "description": 'base mass to use, {"value": "<decimal>", "unit": "kg" | "t" | "lb"}; omitted or null: '
                       "all ARC-eligible mass of the component. Requests in lb convert as the component's running "
                       "total, so they add up to its mass (R-U6)"})
    component = ma.fields.String(load_default=None, allow_none=True,
                                 validate=ma.validate.OneOf(["PC", "PI"]))


@blp.route("/lots")
class Lots(MethodView):
    @blp.arguments(LotIn)
    @blp.response(201, LotOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body):
        """Register a base material lot (its generator's members)."""
        return perform(lots.register_lot, **body, schema=LotOut, status=201)


@blp.route("/lots/<id:lot_id>")
class LotById(MethodView):
    @blp.response(200, LotOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, lot_id):
        """A lot with its balances (its generator, admins and certifiers)."""
        return read(lots.get_lot, lot_id, authenticated=True)


@blp.route("/lots/<id:lot_id>/dispositions")
class Dispositions(MethodView):
    @blp.arguments(DispositionIn)
    @blp.response(201, LotOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, lot_id):
        """Record a sale or consumption of lot mass and the RMS claim it carried (R-B3)."""
        return perform(lots.add_disposition, lot_id, **body, schema=LotOut, status=201)


@blp.route("/generations")
class Generations(MethodView):
    @blp.arguments(GenerationIn)
    @blp.response(201, BlockOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body):
        """Generate a block of ARC or PEQ certificates from a lot (R-G1–R-G4)."""
        return perform(generation.generate, **body, schema=BlockOut, status=201)



