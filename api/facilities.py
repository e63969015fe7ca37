"""Facilities and production lines (R-A1)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import perform
from api.fields import Id, MassField
from api.openapi import Blueprint
from registry import facilities

blp = Blueprint("facilities", __name__, description="Generators' facilities and lines (R-A1)")


class FacilityIn(ma.Schema):
    participant_id = Id(required=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    address = ma.fields.String(required=True, validate=ma.validate.Length(1, 500))
    country = ma.fields.String(required=True, validate=ma.validate.Length(2, 2))
    capacity = MassField(required=True, metadata={"description": "production capacity per year"})


class FacilityOut(ma.Schema):
    id = ma.fields.Integer()
    participant_id = ma.fields.Integer()
    name = ma.fields.String()
    address = ma.fields.String()
    country = ma.fields.String()
    capacity_kg = ma.fields.Decimal(as_string=True)


class LineIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    capacity = MassField(required=True, metadata={"description": "production capacity per year"})


class LineOut(ma.Schema):
    id = ma.fields.Integer()
    facility_id = ma.fields.Integer()
    name = ma.fields.String()
    capacity_kg = ma.fields.Decimal(as_string=True)


@blp.route("/facilities")
class Facilities(MethodView):
    @blp.arguments(FacilityIn)
    @blp.response(201, FacilityOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body):
        """Register a facility of the caller's participant."""
        return perform(facilities.register_facility, **body, schema=FacilityOut, status=201)


@blp.route("/facilities/<id:facility_id>/lines")
class Lines(MethodView):
    @blp.arguments(LineIn)
    @blp.response(201, LineOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, facility_id):
        """Register a production line inside a facility."""
        return perform(facilities.register_line, facility_id, **body, schema=LineOut, status=201)
