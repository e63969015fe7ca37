"""Marshmallow fields shared by the API's schemas.

Quantity fields delegate to the domain's parsers (``registry.units``) so the
rules of R-U1–R-U3 live in one place; the parser's stable error code is kept
on ``flask.g`` so the problem response can carry it (R-X1).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import marshmallow as ma
from flask import g, has_request_context

from registry.errors import InvalidInput
from registry.units import parse_decimal, parse_mass, parse_mass_request, parse_quantity


def _remember(exc: InvalidInput) -> ma.ValidationError:
    if has_request_context():
        g.setdefault("validation_codes", []).append(exc.code)
    return ma.ValidationError(exc.detail)


# R-X9: every id column is INTEGER, 32 bits on PostgreSQL (SQLModel's int
# primary keys); an id outside it names no row and is refused as input, with
# the real range in the message, before any query sees it.
ID_MIN, ID_MAX = 1, 2**31 - 1
ID_RANGE_MESSAGE = f"an id is a whole number from {ID_MIN} to {ID_MAX} (the id columns are 32-bit integers)"


class Id(ma.fields.Integer):
    """A row id (participant, facility, line, lot, ...): strict, within the column's range."""

    def __init__(self, **kwargs) -> None:
        # The validator documents the range in the OpenAPI schema (minimum, maximum);
        # _deserialize refuses first, with the stable code.
        super().__init__(strict=True, validate=ma.validate.Range(ID_MIN, ID_MAX, error=ID_RANGE_MESSAGE),
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        number = super()._deserialize(value, attr, data, **kwargs)
        if number is not None and not ID_MIN <= number <= ID_MAX:
            raise _remember(InvalidInput(ID_RANGE_MESSAGE, code="id_out_of_range", rule="R-X9"))
        return number


class Instant(ma.fields.DateTime):
    """A UTC instant written as ISO 8601 with a trailing Z (R-U5)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def _deserialize(self, value, attr, data, **kwargs):
        parsed: datetime = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise ma.ValidationError("a timezone is required (UTC, e.g. 2026-01-31T00:00:00Z)")
        return parsed.astimezone(UTC)


class MassField(ma.fields.Field):
    """``{"value": "123.4", "unit": "kg" | "t" | "lb"}`` in, kilograms out (R-U1)."""

    def __init__(self, *, allow_zero: bool = False, keep_unit: bool = False, **kwargs) -> None:
        self.allow_zero = allow_zero
        self.keep_unit = keep_unit  # R-U6: a MassRequest (value and unit as given) instead of kilograms
        kwargs.setdefault("metadata", {}).setdefault(
            "description", 'A mass: {"value": "<decimal>", "unit": "kg" | "t" | "lb"}')
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        parse = parse_mass_request if self.keep_unit else parse_mass
        try:
            return parse(value, field=attr or "mass", allow_zero=self.allow_zero)
        except InvalidInput as exc:
            raise _remember(exc) from None

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        kg = value.kg if hasattr(value, "kg") else value
        return {"value": format(kg, "f"), "unit": "kg"}


class Exact(ma.fields.Field):
    """An exact decimal (string or JSON number, never a float), written as a string."""

    def __init__(self, *, places: int = 3, allow_zero: bool = True, maximum: Decimal | None = None,
                 **kwargs) -> None:
        self.places, self.allow_zero, self.maximum = places, allow_zero, maximum
        kwargs.setdefault("metadata", {}).setdefault("type", "string")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_decimal(value, field=attr or "value", places=self.places,
                                 allow_zero=self.allow_zero, maximum=self.maximum)
        except InvalidInput as exc:
            raise _remember(exc) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format(value, "f")


class QuantityField(ma.fields.Field):
    """A certificate quantity: > 0, at most 3 decimals (R-U2, R-U3)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_quantity(value, field=attr or "quantity").value
        except InvalidInput as exc:
            raise _remember(exc) from None

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return format(getattr(value, "value", value), "f")


class Digest(ma.Schema):
    """Evidence: a document's SHA-256 and what it is."""

    sha256 = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[0-9a-f]{64}$",
                              error="a lowercase hex SHA-256 (64 characters)"))
    description = ma.fields.String(required=True, validate=ma.validate.Length(1, 500))


class LogRefSchema(ma.Schema):
    index = ma.fields.Integer()
    leaf_hash = ma.fields.String()
