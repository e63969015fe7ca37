"""Additionality determinations (SPEC §5, R-A2–R-A7)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import perform, read
from api.fields import Digest, Exact, Id, MassField
from api.openapi import Blueprint
from registry import additionality, determinations

blp = Blueprint("determinations", __name__, description="Additionality determinations (Plastics Module P.7)")


class RestartIn(ma.Schema):
    stopped_on = ma.fields.Date(required=True)
    restarted_on = ma.fields.Date(required=True)
    ownership_changed = ma.fields.Boolean(required=True)

    @ma.post_load
    def make(self, data, **kwargs):
        return additionality.Restart(**data)


class NewOperationIn(ma.Schema):
    basis = ma.fields.Constant("new_operation")
    operation_start = ma.fields.Date(required=True)
    restart = ma.fields.Nested(RestartIn, load_default=None, allow_none=True)

    @ma.post_load
    def make(self, data, **kwargs):
        data.pop("basis", None)
        return additionality.NewOperation(**data)


class InvestmentIn(ma.Schema):
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(additionality.INVESTMENT_CATEGORIES))
    amount = Exact(required=True, places=2, allow_zero=False)

    @ma.post_load
    def make(self, data, **kwargs):
        return additionality.Investment(**data)


class FinancialIn(ma.Schema):
    basis = ma.fields.Constant("financial")
    invested_on = ma.fields.Date(required=True)
    fair_market_value = Exact(required=True, places=2, allow_zero=False)
    investments = ma.fields.List(ma.fields.Nested(InvestmentIn), required=True,
                                 validate=ma.validate.Length(min=1))

    @ma.post_load
    def make(self, data, **kwargs):
        data.pop("basis", None)
        return additionality.Financial(invested_on=data["invested_on"],
                                       fair_market_value=data["fair_market_value"],
                                       investments=tuple(data["investments"]))


class QualityIn(ma.Schema):
    basis = ma.fields.Constant("quality")
    invested_on = ma.fields.Date(required=True)
    volume = MassField(required=True)
    price_increase = Exact(load_default=None, allow_none=True, places=6)
    market_increase = Exact(load_default=None, allow_none=True, places=6)
    reclassification = ma.fields.String(load_default=None, allow_none=True)

    @ma.post_load
    def make(self, data, **kwargs):
        data.pop("basis", None)
        volume = data.pop("volume")
        return additionality.Quality(volume_kg=volume.kg, **data)


class CapacityIn(ma.Schema):
    basis = ma.fields.Constant("capacity")
    invested_on = ma.fields.Date(required=True)
    before = MassField(required=True)
    after = MassField(required=True)

    @ma.post_load
    def make(self, data, **kwargs):
        return additionality.Capacity(invested_on=data["invested_on"], before_kg=data["before"].kg,
                                      after_kg=data["after"].kg)


class PhaseOutIn(ma.Schema):
    basis = ma.fields.Constant("phase_out")

    @ma.post_load
    def make(self, data, **kwargs):
        return additionality.PhaseOut()


NEWNESS_SCHEMAS = {"new_operation": NewOperationIn, "financial": FinancialIn, "quality": QualityIn,
                   "capacity": CapacityIn, "phase_out": PhaseOutIn}


class NewnessField(ma.fields.Field):
    """One newness basis per determination (R-A5), chosen by ``basis``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ma.ValidationError("an object with a basis")
        schema = NEWNESS_SCHEMAS.get(value.get("basis"))
        if schema is None:
            raise ma.ValidationError({"basis": [f"one of {', '.join(NEWNESS_SCHEMAS)}"]})
        return schema().load(value)


class ClassBIn(ma.Schema):
    test = ma.fields.String(required=True, validate=ma.validate.OneOf(additionality.CLASS_B_TESTS))
    passed = ma.fields.Boolean(required=True)
    rationale = ma.fields.String(required=True, validate=ma.validate.Length(1, 4000))
    evidence = ma.fields.List(ma.fields.Nested(Digest), load_default=list)


class DeterminationIn(ma.Schema):
    facility_id = Id(required=True)
    line_id = Id(load_default=None, allow_none=True)
    certification_year = ma.fields.Integer(required=True, strict=True)
    mandate_share = Exact(required=True, places=6, maximum=1)
    newness = NewnessField(required=True, metadata={"type": "object", "description": "basis and its fields"})
    class_b = ma.fields.List(ma.fields.Nested(ClassBIn), required=True)
    evidence = ma.fields.List(ma.fields.Nested(Digest), load_default=list)


class WithdrawIn(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 1000))


class DeterminationOut(ma.Schema):
    id = ma.fields.Integer()
    facility_id = ma.fields.Integer()
    line_id = ma.fields.Integer(allow_none=True)
    year = ma.fields.Integer(attribute="certification_year")
    basis = ma.fields.String()
    outcome = ma.fields.String()
    reasons = ma.fields.List(ma.fields.String())
    eligible_kg = ma.fields.Decimal(as_string=True)
    used_kg = ma.fields.Decimal(as_string=True)
    pc_only = ma.fields.Boolean()
    status = ma.fields.String()
    superseded_by = ma.fields.Integer(allow_none=True)


@blp.route("/determinations")
class Determinations(MethodView):
    @blp.arguments(DeterminationIn)
    @blp.response(201, DeterminationOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body):
        """Record a determination for a facility or line and a certification year (certifier)."""
        return perform(determinations.record_determination, **body, schema=DeterminationOut, status=201)


@blp.route("/determinations/<id:determination_id>")
class DeterminationById(MethodView):
    @blp.response(200, DeterminationOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, determination_id):
        """A determination (certifiers, admins, the facility's members)."""
        return read(determinations.get_determination, determination_id, authenticated=True)


@blp.route("/determinations/<id:determination_id>/withdraw")
class Withdraw(MethodView):
    @blp.arguments(WithdrawIn)
    @blp.response(200, DeterminationOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, determination_id):
        """Withdraw a determination: no more generation under it (R-A7)."""
        return perform(determinations.withdraw_determination, determination_id, **body, schema=DeterminationOut, status=200)
