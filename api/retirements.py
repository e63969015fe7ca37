"""Retirements: retire certificates for a claim, and the public retirement
record with its chain-log proof (SPEC §10, §13.1, R-R1–R-R4)."""

from __future__ import annotations

from types import SimpleNamespace

import marshmallow as ma
from flask.views import MethodView

from api import exports
from api.auth import optional_actor, perform, read
from api.context import read_unit_of_work, registry
from api.fields import MassField, QuantityField
from api.openapi import Blueprint
from api.schemas import BlockOut
from registry import amendments, claim_details, claims, holdings, retirements, statements
from registry.exports import streams
from registry.models import Retirement

blp = Blueprint("retirements", __name__, description="Retirements and claims: public records (R-R1–R-R4)")


class CompositionIn(ma.Schema):
    arc_type = ma.fields.String(required=True, metadata={"example": "PE"})
    mass = MassField(required=True, metadata={"description": "the material's mass in the product"})


class ProductIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    # Missing or empty is refused by the rule (composition_required, R-R3).
    composition = ma.fields.List(ma.fields.Nested(CompositionIn), load_default=list)


class LocationIn(ma.Schema):
    """R-R6: where the claim is made."""

    country = ma.fields.String(required=True, metadata={"description": "ISO 3166-1 alpha-2", "example": "DE"})
    subdivision = ma.fields.String(load_default=None, allow_none=True,
                                   metadata={"description": "ISO 3166-2 code of the country", "example": "DE-BY"})


class PeriodIn(ma.Schema):
    """R-R6: the period the claim covers, both days included."""

    start = ma.fields.Date(required=True, data_key="from")
    end = ma.fields.Date(required=True, data_key="to")

    @ma.post_load
    def _as_logged(self, data, **kwargs):
        return {"from": data["start"], "to": data["end"]}


class RetirementIn(ma.Schema):
    serial = ma.fields.String(required=True, validate=ma.validate.Length(1, 80))
    quantity = QuantityField(required=True, metadata={"type": "string", "example": "6250.000"})
    beneficiary = ma.fields.String(required=True, validate=ma.validate.Length(1, 200),
                                   metadata={"description": "who makes the claim"})
    claim_type = ma.fields.String(required=True, metadata={"enum": list(claims.CLAIM_TYPES)})
    reporting_year = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, 9999))
    claim_date = ma.fields.Date(load_default=None, allow_none=True,
                                metadata={"description": "on or after the retirement date (R-R4)"})
    statement = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000),
                                 metadata={"description": "public statement of the claim"})
    basis_mass = MassField(load_default=None, allow_none=True,
                           metadata={"description": "mass the claim covers, e.g. packaging; gives claim_share"})
    product = ma.fields.Nested(ProductIn, load_default=None, allow_none=True,
                               metadata={"description": "required for claim_type product (R-R3)"})
    claimed_status = ma.fields.String(
        load_default=None, allow_none=True,
        metadata={"enum": ["PC", "PI", "R"], "description": "product claims: the recycled status the claim "
                  "states, the certificates' own or a lesser one (R-R8)"})
    label_approval_ref = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(1, 100),
        metadata={"description": "product claims: the label approval reference (RMS 8.8.1, 9.1.1; R-R8)"})
    location = ma.fields.Nested(LocationIn, load_default=None, allow_none=True,
                                metadata={"description": "where the claim is made (R-R6)"})
    period = ma.fields.Nested(PeriodIn, load_default=None, allow_none=True,
                              metadata={"description": "the claim period (R-R6)"})


class AmendmentIn(ma.Schema):
    """R-R7: the claim details to change (a field given as null clears it).
    The retired quantity and what the claim is for are final: naming them is
    refused with a specific code, not ignored."""

    claim_date = ma.fields.Date(allow_none=True)
    statement = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000))
    location = ma.fields.Nested(LocationIn, allow_none=True)
    period = ma.fields.Nested(PeriodIn, allow_none=True)
    # Refused by the rule (quantity_not_amendable, claim_detail_not_amendable), named here so that the
    # answer is the rule's code, not a generic unknown-field error.
    quantity = ma.fields.Raw(allow_none=True, metadata={"description": "never amendable (RMS 8.8.3)"})
    serial = ma.fields.Raw(allow_none=True, metadata={"description": "never amendable (RMS 8.8.3)"})
    beneficiary = ma.fields.Raw(allow_none=True, metadata={"description": "never amendable"})
    claim_type = ma.fields.Raw(allow_none=True, metadata={"description": "never amendable"})
    reporting_year = ma.fields.Raw(allow_none=True, metadata={"description": "never amendable"})
    product = ma.fields.Raw(allow_none=True, metadata={"description": "never amendable"})
    basis_mass = ma.fields.Raw(allow_none=True, metadata={"description": "never amendable"})
    claimed_status = ma.fields.Raw(allow_none=True, metadata={"description": "never amendable"})
    label_approval_ref = ma.fields.Raw(allow_none=True, metadata={"description": "never amendable"})


class AmendmentOut(ma.Schema):
    log_index = ma.fields.Integer()
    leaf_hash = ma.fields.String()
    amended_on = ma.fields.Date()
    changes = ma.fields.Dict(metadata={"description": "{field: {from, to}} as the entry logs it"})


class RetirementOut(ma.Schema):
    """The public retirement record (R-R2)."""

    id = ma.fields.Integer()
    serial = ma.fields.String(metadata={"description": "the retired block"})
    quantity = ma.fields.Decimal(as_string=True)
    arc_code = ma.fields.String()
    arc_type = ma.fields.String()
    generation_year = ma.fields.Integer()
    first = ma.fields.Method("_first", metadata={"type": "string", "description": "first serial unit, 12 digits"})
    last = ma.fields.Method("_last", metadata={"type": "string", "description": "last serial unit, 12 digits"})
    generator_id = ma.fields.Integer()
    lot_reference = ma.fields.String(metadata={"description": "base material lot reference"})
    owner_id = ma.fields.Integer(metadata={"description": "the participant that retired"})
    beneficiary = ma.fields.String()
    retired_on = ma.fields.Date()
    claim_type = ma.fields.String()
    reporting_year = ma.fields.Integer()
    claim_date = ma.fields.Date(allow_none=True)
    headline = ma.fields.Method("_headline", metadata={
        "type": "string", "description": "generated from the data, never from free text (R-R8)"})
    notice = ma.fields.Constant(statements.CREDITS_NOT_CONTENT, metadata={
        "type": "string", "description": "ARCs are credits, not physical content (R-R8)"})
    statement = ma.fields.String(allow_none=True, metadata={"description": "the beneficiary's own words (R-R8)"})
    claimed_status = ma.fields.String(allow_none=True)
    label_approval_ref = ma.fields.String(allow_none=True)
    basis_mass = ma.fields.Method("_basis_mass", allow_none=True, metadata={"type": "object"})
    claim_share = ma.fields.Decimal(as_string=True, allow_none=True,
                                    metadata={"description": "retired t / basis t, a fraction (0.2500 = 25%)"})
    product = ma.fields.Dict(allow_none=True)
    location = ma.fields.Method("_location", allow_none=True, metadata={
        "type": "object", "description": "{country, subdivision}: where the claim is made (R-R6)"})
    period = ma.fields.Method("_period", allow_none=True, metadata={
        "type": "object", "description": "{from, to}: the claim period (R-R6)"})
    amendable_until = ma.fields.Method("_amendable_until", metadata={
        "type": "string", "format": "date", "description": "last day the claim details may be amended (R-R7)"})
    bulk_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "the bulk retirement it is an item of, with one statement for all (R-T7)"})
    log = ma.fields.Method("_log", metadata={"type": "object"})

    def _location(self, r):
        return claim_details.location_of(r)

    def _period(self, r):
        return claim_details.period_of(r)

    def _amendable_until(self, r) -> str:
        return amendments.last_amendment_day(r.retired_on).isoformat()

    def _first(self, r) -> str:
        return f"{r.first_unit:012d}"

    def _last(self, r) -> str:
        return f"{r.last_unit:012d}"

    def _headline(self, r) -> str:
        return statements.headline_of(r)

    def _basis_mass(self, r):
        return None if r.basis_kg is None else {"value": format(r.basis_kg, "f"), "unit": "kg"}

    def _log(self, r) -> dict:
        return {"index": r.log_index, "leaf_hash": r.leaf_hash}


class RetirementCreated(RetirementOut):
    block = ma.fields.Nested(BlockOut, metadata={"description": "the retired block"})
    remainder = ma.fields.Nested(BlockOut, allow_none=True,
                                 metadata={"description": "what stays active after a partial retirement"})


class ProofOut(ma.Schema):
    checkpoint = ma.fields.String(metadata={"description": "signed checkpoint note (C2SP tlog-checkpoint)"})
    size = ma.fields.Integer()
    index = ma.fields.Integer()
    leaf_hash = ma.fields.String()
    hashes = ma.fields.List(ma.fields.String(), metadata={"description": "RFC 9162 inclusion proof, hex"})


class RetirementRecord(RetirementOut):
    proof = ma.fields.Nested(ProofOut)
    amendments = ma.fields.List(ma.fields.Nested(AmendmentOut), metadata={
        "description": "the history of the claim details, oldest first (R-R7)"})


class AmendedRetirement(RetirementOut):
    amendments = ma.fields.List(ma.fields.Nested(AmendmentOut))


class RetirementQuery(ma.Schema):
    beneficiary = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 200))
    year = ma.fields.Integer(load_default=None, metadata={"description": "reporting year"})
    arc_type = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 8))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, holdings.MAX_LIMIT))
    cursor = ma.fields.String(load_default=None)


class RetirementPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RetirementOut))
    next_cursor = ma.fields.String(allow_none=True)


def _with(retirement: Retirement, **extra) -> SimpleNamespace:
    """The record's columns plus what the response adds (blocks, proof)."""
    return SimpleNamespace(**{name: getattr(retirement, name) for name in Retirement.model_fields}, **extra)


def _amend(uow, actor, retirement_id, **body) -> SimpleNamespace:
    retirement = amendments.amend(uow, actor, retirement_id, **body)
    return _with(retirement, amendments=amendments.history(uow, retirement.id))


def _retire(uow, actor, **body) -> SimpleNamespace:
    retirement = retirements.retire(uow, actor, **body)
    block, remainder = retirements.recorded_blocks(uow, retirement)
    return _with(retirement, block=block, remainder=remainder)


@blp.route("/retirements")
class Retirements(MethodView):
    @blp.arguments(RetirementIn)
    @blp.response(201, RetirementCreated)
    @blp.doc(security=[{"bearer": []}], parameters=[{"in": "header", "name": "Idempotency-Key",
                                                     "schema": {"type": "string"}, "required": False}])
    def post(self, body):
        """Retire a quantity of an active block for a claim (owner; R-R1, RMS 8.8)."""
        return perform(_retire, **body, schema=RetirementCreated, status=201)

    @blp.arguments(RetirementQuery, location="query")
    @blp.response(200, RetirementPage)
    def get(self, args):
        """Public: retirements by beneficiary, reporting year and ARC type, paginated. With
        ``Accept: text/csv``: every retirement the filters select, streamed as CSV (R-N3)."""
        if exports.wants_csv():
            return exports.streamed_csv(streams.retirement_rows, RetirementOut(), exports.RETIREMENT_COLUMNS,
                                        "retirements", authenticated=False, **args)
        return read(retirements.list_retirements, **args)


@blp.route("/retirements/<id:retirement_id>")
class RetirementById(MethodView):
    @blp.response(200, RetirementRecord)
    def get(self, retirement_id):
        """Public: the retirement record with an inclusion proof of its log
        entry against the current signed checkpoint (R-R2), verifiable offline."""
        state = registry()
        with read_unit_of_work() as uow:
            actor = optional_actor(uow)
            retirement = retirements.get_retirement(uow, actor, retirement_id)
            proof = retirements.retirement_proof(uow, retirement, state.signer, state.config.log_origin)
            history = amendments.history(uow, retirement.id)
            uow.commit()  # ends the read: nothing to store, the rows loaded stay usable
        return _with(retirement, proof=proof, amendments=history)


@blp.route("/retirements/<id:retirement_id>/amendments")
class RetirementAmendments(MethodView):
    @blp.arguments(AmendmentIn)
    @blp.response(201, AmendedRetirement)
    @blp.doc(security=[{"bearer": []}], parameters=[{"in": "header", "name": "Idempotency-Key",
                                                     "schema": {"type": "string"}, "required": False}])
    def post(self, body, retirement_id):
        """Amend the claim details (claim date, statement, location, period) of your retirement within
        30 days; after that a missing claim date may still be added (R-R7). The retired quantity never changes."""
        return perform(_amend, retirement_id, **body, schema=AmendedRetirement, status=201)
