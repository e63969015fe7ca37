"""Request and response shapes of the custody routes, as SPEC §13.1 names them."""

from __future__ import annotations

import marshmallow as ma

from api.fields import Exact, Id, MassField
from registry.custody import rules
from registry.custody.book import sums

CLAIM = {"example": "RMS 100% PC MB", "description": "RMS claim syntax (RMS 6.5.9)"}


class AccountIn(ma.Schema):
    participant_id = Id(required=True)
    product_group = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    control_system = ma.fields.String(required=True, validate=ma.validate.OneOf(rules.SYSTEMS))
    facility_ids = ma.fields.List(Id(), required=True, validate=ma.validate.Length(1, 100))
    starts_on = ma.fields.Date(required=True)
    # R-M1: checked by the domain (code period_too_long), so the refusal names the rule.
    period_months = ma.fields.Integer(required=True, strict=True, metadata={"description": "1 to 12"})
    window_periods = ma.fields.Integer(load_default=None, allow_none=True, strict=True,
                                       metadata={"description": "rolling average: periods in the window"})
    conversion_factor = Exact(load_default=None, allow_none=True, places=6, allow_zero=False,
                              metadata={"example": "0.90"})


class AccountOut(ma.Schema):
    id = ma.fields.Integer()
    participant_id = ma.fields.Integer()
    product_group = ma.fields.String()
    control_system = ma.fields.String()
    facility_ids = ma.fields.List(ma.fields.Integer())
    starts_on = ma.fields.Date()
    period_months = ma.fields.Integer()
    window_periods = ma.fields.Integer()
    conversion_factor = ma.fields.Method("_factor", metadata={"type": "string"})
    closed_periods = ma.fields.Integer()
    log = ma.fields.Method("_log", metadata={"type": "object"})

    def _factor(self, account):
        return format(account.conversion_factor, "f")

    def _log(self, account):
        return {"index": account.log_index, "leaf_hash": account.leaf_hash}


class InputIn(ma.Schema):
    on = ma.fields.Date(required=True)
    supplier_name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    supplier_participant_id = Id(load_default=None, allow_none=True)
    supplier_certificate = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(1, 16))
    reference = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    material_code = ma.fields.String(required=True, metadata={"example": "PC_P3.1.9"})
    mass = MassField(required=True)
    claim = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(1, 60), metadata=CLAIM)
    facility_id = Id(load_default=None, allow_none=True, metadata={"description": "multi-site accounts: the site"})


def _statuses(row, prefix):
    return {s: format(v, "f") for s, v in sums(row, prefix).items()}


class InputOut(ma.Schema):
    id = ma.fields.Integer()
    account_id = ma.fields.Integer()
    on = ma.fields.Date()
    facility_id = ma.fields.Integer()
    supplier_name = ma.fields.String()
    supplier_participant_id = ma.fields.Integer(allow_none=True)
    supplier_certificate = ma.fields.String(allow_none=True)
    reference = ma.fields.String()
    material_code = ma.fields.String()
    mass_kg = ma.fields.Decimal(as_string=True)
    claim = ma.fields.String(allow_none=True)
    certified_kg = ma.fields.Method("_certified", metadata={"type": "object"})
    credit_kg = ma.fields.Method("_credit", metadata={"type": "object"})
    credit_expires_on = ma.fields.Date(attribute="expires_on")
    log = ma.fields.Method("_log", metadata={"type": "object"})

    def _certified(self, receipt):
        return _statuses(receipt, "certified")

    def _credit(self, receipt):
        return _statuses(receipt, "credit")

    def _log(self, receipt):
        return {"index": receipt.log_index}


class OutputIn(ma.Schema):
    on = ma.fields.Date(required=True)
    customer = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    reference = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    material_code = ma.fields.String(required=True, metadata={"example": "PC_P3.1.9"})
    mass = MassField(required=True)
    claim = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(1, 60), metadata=CLAIM)
    facility_id = Id(load_default=None, allow_none=True, metadata={"description": "multi-site accounts: the site"})


class OutputOut(ma.Schema):
    id = ma.fields.Integer()
    account_id = ma.fields.Integer()
    on = ma.fields.Date()
    facility_id = ma.fields.Integer()
    customer = ma.fields.String()
    reference = ma.fields.String()
    material_code = ma.fields.String()
    mass_kg = ma.fields.Decimal(as_string=True)
    claim = ma.fields.String(allow_none=True)
    claimed_kg = ma.fields.Method("_claimed", metadata={"type": "object"})
    log = ma.fields.Method("_log", metadata={"type": "object"})

    def _claimed(self, output):
        return _statuses(output, "claimed")

    def _log(self, output):
        return {"index": output.log_index}


class BalanceQuery(ma.Schema):
    on = ma.fields.Date(load_default=None)


class ExpiringOut(ma.Schema):
    on = ma.fields.Date()
    kg = ma.fields.String()


class BalanceOut(ma.Schema):
    account_id = ma.fields.Integer()
    on = ma.fields.Date()
    credit_kg = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    expiring = ma.fields.List(ma.fields.Nested(ExpiringOut))
    rolling_average = ma.fields.String(allow_none=True)
    batch_average = ma.fields.String(allow_none=True)


class PeriodOut(ma.Schema):
    """A closed period's volume summary (R-M5), as its log entry recorded it."""

    n = ma.fields.Integer()
    starts_on = ma.fields.String()
    ends_on = ma.fields.String()
    opening_kg = ma.fields.String()
    inputs_kg = ma.fields.String()
    certified_inputs_kg = ma.fields.String()
    outputs_kg = ma.fields.String()
    claimed_kg = ma.fields.String()
    losses_kg = ma.fields.String()
    expired_kg = ma.fields.String()
    closing_kg = ma.fields.String()
    average = ma.fields.String(allow_none=True)
    inputs_by_supplier = ma.fields.List(ma.fields.Dict())
    outputs_by_customer = ma.fields.List(ma.fields.Dict())
    log = ma.fields.Dict()

    @ma.pre_dump
    def _flatten(self, closing, **kwargs):
        return {**closing.summary, "n": closing.n, "log": {"index": closing.log_index, "leaf_hash": closing.leaf_hash}}


class PeriodsQuery(ma.Schema):
    ends_from = ma.fields.Date(load_default=None, metadata={
        "description": "only the periods whose last day is on or after this date (an audit's window: RMS 6.4.4.4 "
                       "reads the previous 18 months)"})


class PeriodList(ma.Schema):
    """An account's closed periods, in period order (R-M5, R-M8)."""

    items = ma.fields.List(ma.fields.Nested(PeriodOut))
