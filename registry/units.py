"""Masses and certificate quantities as exact fixed-point decimals (R-U1..R-U4).

Everything here is ``decimal.Decimal``: binary floating point never touches a
quantity (R-U3). Two rules decide every number that enters or leaves the
registry:

* **Input is exact or refused.** A value with more decimals than the registry
  stores (grams, 0.001 certificate) is a 400 ``too_many_decimals``; it is never
  rounded on the way in (R-U3). Trailing zeros are not extra decimals:
  ``"1.2500"`` is exactly 1.25 and is accepted, because nothing is lost.
* **Derived values are rounded once, half-up, to 0.001** (R-U4) by
  :func:`round_half_up` -- the one rounding function of the registry.

JSON numbers: the API parses request bodies with ``json.loads(...,
parse_float=Decimal)``, so a JSON number reaches these parsers as a ``Decimal``
carrying its exact decimal text (``1.50`` -> ``Decimal("1.50")``) or as an
``int``; both are checked like strings. A Python ``float`` means the text was
already squeezed through binary floating point (``0.1000000000000000055`` and
``0.1`` become the same float), so a float is refused rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from registry.errors import InvalidInput

PLACES = 3
MILLI = Decimal("0.001")
KG_PER_TONNE = Decimal(1000)
# R-U1: the international avoirdupois pound, exact by definition.
KG_PER_POUND = Decimal("0.45359237")
# R-U2: an ARC stands for 1000 kg of base material, a PEQ for the heating value
# of 1000 kg of polyethylene (RMS 3.3 "functional unit", P6.1.3.1).
KG_PER_CERTIFICATE = Decimal(1000)
UNITS = ("kg", "t", "lb")

# Upper bounds that keep every stored value far inside a signed 64-bit count of
# thousandths (registry.sqltypes.Milli) even when many are summed. A billion
# tonnes is more than twice the world's yearly plastic production.
MAX_KG = Decimal(10) ** 12
MAX_CERTIFICATES = MAX_KG / KG_PER_CERTIFICATE
# Any number a client sends (money, shares, LHV...) stays below this, so no
# input can push the arithmetic to overflow.
MAX_NUMBER = Decimal(10) ** 15

# Precision far beyond any value the bounds allow, so the only rounding that
# ever happens is the explicit half-up of round_half_up.
_CONTEXT = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])

# JSON number grammar (RFC 8259 §6), ASCII digits only: Decimal() alone would
# also take "NaN", " 1 ", "1_000" and non-ASCII digits.
_NUMBER_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_MAX_NUMBER_TEXT = 64


def exact_arithmetic():
    """A decimal context for registry arithmetic: 60 significant digits and
    every anomaly trapped, so that sums, products and the quotients of the
    rules are exact for every value the bounds allow and the only rounding is
    round_half_up's."""
    return localcontext(_CONTEXT)


def round_half_up(value: Decimal) -> Decimal:
    """Round a derived quantity half-up to 0.001 (R-U4).

    Only for values the registry computes (PEQ from LHV, contamination cap,
    capacity shares, unit conversions); never for values a client sent.
    """
    if not isinstance(value, Decimal) or isinstance(value, bool):
        raise TypeError(f"round_half_up takes a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"cannot round {value}")
    with localcontext(_CONTEXT):
        rounded = value.quantize(MILLI, rounding=ROUND_HALF_UP)
    return _positive_zero(rounded)


def has_at_most(value: Decimal, places: int) -> bool:
    """True when ``value`` is exactly representable with ``places`` decimals.

    Reads the digits instead of quantizing, so no context precision can round
    a long input into looking short (R-U3).
    """
    sign, digits, exponent = value.as_tuple()
    excess = -exponent - places
    if excess <= 0:
        return True
    return all(d == 0 for d in digits[-excess:])


def parse_decimal(
    raw: Any,
    *,
    field: str,
    places: int = PLACES,
    allow_zero: bool = True,
    allow_negative: bool = False,
    maximum: Decimal | None = None,
    rule: str = "R-U3",
) -> Decimal:
    """Read a client-supplied number exactly, or refuse it with a 400.

    Accepts a decimal string, an ``int`` or a ``Decimal`` (a JSON number parsed
    with ``parse_float=Decimal``). Refuses booleans, floats, NaN, infinities,
    text that is not a plain decimal number, more than ``places`` decimals,
    negatives (unless allowed), zero (unless allowed) and values over
    ``maximum`` (and, whatever the caller says, over MAX_NUMBER). Codes:
    ``invalid_number``, ``too_many_decimals``, ``must_be_positive``,
    ``must_not_be_negative``, ``out_of_range``.
    """
    value = _to_decimal(raw, field=field, rule=rule)
    if value.is_signed() and value != 0 and not allow_negative:
        code = "must_not_be_negative" if allow_zero else "must_be_positive"
        raise InvalidInput(f"{field} must not be negative, got {value}", code=code, field=field, rule=rule)
    if value == 0 and not allow_zero:
        raise InvalidInput(f"{field} must be greater than zero", code="must_be_positive", field=field, rule=rule)
    limit = MAX_NUMBER if maximum is None else min(maximum, MAX_NUMBER)
    # copy_abs, not abs(): no context rounding, whatever the exponent.
    if value.copy_abs() > limit:
        raise InvalidInput(f"{field} must not exceed {limit}", code="out_of_range", field=field, rule=rule)
    if not has_at_most(value, places):
        raise InvalidInput(
            f"{field} has more than {places} decimals ({raw!s}); it is never rounded, send at most {places}",
            code="too_many_decimals",
            field=field,
            rule=rule,
        )
    return _positive_zero(value)


def _to_decimal(raw: Any, *, field: str, rule: str) -> Decimal:
    if isinstance(raw, bool):
        # bool is an int subclass: true must not become 1 kg.
        raise InvalidInput(f"{field} must be a number, got a boolean", code="invalid_number", field=field, rule=rule)
    if isinstance(raw, float):
        raise InvalidInput(
            f"{field} arrived as binary floating point; send a decimal string or parse JSON with parse_float=Decimal",
            code="invalid_number",
            field=field,
            rule=rule,
        )
    if isinstance(raw, int):
        if raw.bit_length() > 128:  # far past any bound; spares a huge conversion
            raise InvalidInput(f"{field} is out of range", code="out_of_range", field=field, rule=rule)
        return Decimal(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise InvalidInput(f"{field} must be a finite number", code="invalid_number", field=field, rule=rule)
        return raw
    if isinstance(raw, str):
        if len(raw) > _MAX_NUMBER_TEXT or not _NUMBER_TEXT.fullmatch(raw):
            raise InvalidInput(
                f"{field} must be a decimal number such as \"123.456\", got {raw[:_MAX_NUMBER_TEXT]!r}",
                code="invalid_number",
                field=field,
                rule=rule,
            )
        try:
            return Decimal(raw)
        except ArithmeticError:  # an exponent beyond what Decimal can hold
            raise InvalidInput(f"{field} is out of range", code="out_of_range", field=field, rule=rule) from None
    raise InvalidInput(
        f"{field} must be a decimal string or a number, got {type(raw).__name__}",
        code="invalid_number",
        field=field,
        rule=rule,
    )


def _positive_zero(value: Decimal) -> Decimal:
    # "-0.000" is a valid Decimal but a confusing JSON string.
    return value.copy_abs() if value == 0 else value


def _checked_milli(value: Any, what: str) -> Decimal:
    """Invariant of the value types: a finite, non-negative Decimal that is
    exact in thousandths. Violations are programming errors, not bad input:
    client data goes through the parsers, which raise InvalidInput."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} takes a Decimal, got {type(value).__name__} (R-U3)")
    if not value.is_finite() or value < 0:
        raise ValueError(f"{what} must be finite and non-negative, got {value}")
    if not has_at_most(value, PLACES):
        raise ValueError(f"{what} {value} has more than 3 decimals; round derived values with round_half_up")
    with localcontext(_CONTEXT):
        return _positive_zero(value.quantize(MILLI))


@dataclass(frozen=True, order=True)
class _Milli:
    """A non-negative amount counted in thousandths (shared by Mass and Quantity)."""

    value: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _checked_milli(self.value, type(self).__name__))

    @classmethod
    def zero(cls):
        return cls(Decimal(0))

    def __add__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(self.value + other.value)

    def __sub__(self, other):
        """Difference; a negative result raises ValueError (check first)."""
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(self.value - other.value)

    def __bool__(self) -> bool:
        return self.value != 0

    def to_json(self) -> str:
        """R-U3: quantities travel as strings with exactly 3 decimals."""
        return format(self.value, "f")

    def __str__(self) -> str:
        return self.to_json()


class Mass(_Milli):
    """A mass in kilograms, exact to the gram (R-U1)."""

    @property
    def kg(self) -> Decimal:
        return self.value

    @property
    def tonnes(self) -> Decimal:
        return self.value / KG_PER_TONNE

    def __repr__(self) -> str:
        return f"Mass({self.to_json()} kg)"


class Quantity(_Milli):
    """A certificate quantity, exact to 0.001 certificate = 1 kg (R-U2)."""

    @property
    def certificates(self) -> Decimal:
        return self.value

    def __repr__(self) -> str:
        return f"Quantity({self.to_json()})"


def to_kg(value: Decimal, unit: str) -> Decimal:
    """Convert an exact value in ``unit`` to kilograms, rounded half-up to the
    gram only when the pound factor creates more than 3 decimals (R-U1, R-U4).
    kg and t convert exactly; the callers have already refused inputs that
    would need rounding there."""
    with localcontext(_CONTEXT):
        if unit == "kg":
            return value
        if unit == "t":
            return value * KG_PER_TONNE
        if unit == "lb":
            # R-U4: a pound figure times 0.45359237 is a derived value.
            return round_half_up(value * KG_PER_POUND)
    raise ValueError(f"unknown mass unit {unit!r}")


with localcontext(_CONTEXT):
    # MAX_KG expressed in each unit, checked before converting so that no
    # absurd input ever reaches the arithmetic.
    _MAX_IN = {"kg": MAX_KG, "t": MAX_KG / KG_PER_TONNE, "lb": MAX_KG / KG_PER_POUND}


def parse_mass(raw: Any, *, field: str = "mass", allow_zero: bool = False) -> Mass:
    """Parse ``{"value": "123.4", "unit": "kg" | "t" | "lb"}`` into a Mass (R-U1).

    * kg: at most 3 decimals; t: at most 6 decimals (= 3 decimals of a kg);
      anything finer is ``too_many_decimals`` (R-U3).
    * lb: at most 3 decimals of a pound; converted with 1 lb = 0.45359237 kg
      and rounded half-up to the gram (100 lb -> 45.359 kg). A pound value so
      small that it rounds to 0 kg is refused like zero.
    Raises InvalidInput: ``invalid_mass`` (shape), ``invalid_unit``, and the
    codes of :func:`parse_decimal` on ``{field}.value``.
    """
    return Mass(parse_mass_request(raw, field=field, allow_zero=allow_zero).kg)


@dataclass(frozen=True)
class MassRequest:
    """A mass as a client gave it, value and unit (R-U6): requests against one
    lot are converted as running totals in their unit (registry.unit_totals),
    so their kilograms add up to the lot's mass. ``kg`` is the value alone,
    converted once (R-U1)."""

    value: Decimal
    unit: str

    @property
    def kg(self) -> Decimal:
        return to_kg(self.value, self.unit)

    def to_log(self) -> dict:
        return {"value": format(self.value, "f"), "unit": self.unit}

    @classmethod
    def of(cls, mass: "Mass | MassRequest | None") -> "MassRequest | None":
        """A request from what a caller passed: a Mass is a request in kg; None stays None."""
        if mass is None or isinstance(mass, MassRequest):
            return mass
        if isinstance(mass, Mass):
            return cls(mass.kg, "kg")
        raise TypeError(f"a mass is a Mass or a MassRequest, not {type(mass).__name__}")


def parse_mass_request(raw: Any, *, field: str = "mass", allow_zero: bool = False) -> MassRequest:
    """:func:`parse_mass`, keeping the value and unit as given (R-U6)."""
    if not isinstance(raw, dict):
        raise InvalidInput(
            f'{field} must be an object {{"value": "...", "unit": "kg" | "t" | "lb"}}',
            code="invalid_mass",
            field=field,
            rule="R-U1",
        )
    extra = sorted(set(raw) - {"value", "unit"})
    if extra or "value" not in raw or "unit" not in raw:
        detail = f"unknown fields {extra}" if extra else "both value and unit are required"
        raise InvalidInput(f"{field}: {detail}", code="invalid_mass", field=field, rule="R-U1")
    unit = raw["unit"]
    if unit not in UNITS:
        raise InvalidInput(
            f"{field}.unit must be one of kg, t, lb; got {unit!r}",
            code="invalid_unit",
            field=f"{field}.unit",
            rule="R-U1",
        )
    value_field = f"{field}.value"
    # R-U3: the limit is grams whatever the unit; for t that is 6 decimals.
    places = {"kg": PLACES, "t": PLACES + 3, "lb": PLACES}[unit]
    number = parse_decimal(
        raw["value"], field=value_field, places=places, allow_zero=allow_zero, maximum=_MAX_IN[unit], rule="R-U1"
    )
    kg = to_kg(number, unit)
    if kg > MAX_KG:
        raise InvalidInput(f"{field} must not exceed {MAX_KG} kg", code="out_of_range", field=value_field, rule="R-U1")
    if kg == 0 and not allow_zero:
        raise InvalidInput(
            f"{field} is less than half a gram; it rounds to 0 kg",
            code="must_be_positive",
            field=value_field,
            rule="R-U1",
        )
    return MassRequest(number, unit)


def parse_kg(raw: Any, *, field: str, allow_zero: bool = False) -> Mass:
    """A bare kilogram figure (e.g. ``"2500.000"``), exact to the gram."""
    return Mass(parse_decimal(raw, field=field, allow_zero=allow_zero, maximum=MAX_KG, rule="R-U1"))


def parse_quantity(raw: Any, *, field: str = "quantity", allow_zero: bool = False) -> Quantity:
    """A certificate quantity from a client: > 0 by default, at most 3
    decimals (R-U2, R-U3). Raises the codes of :func:`parse_decimal`."""
    return Quantity(
        parse_decimal(raw, field=field, allow_zero=allow_zero, maximum=MAX_CERTIFICATES, rule="R-U2")
    )


def kg_to_certificates(kg: Decimal) -> Decimal:
    """ARC certificates for a base mass: 1000 kg = 1 certificate (R-U2).

    Half-up to 0.001 certificate (R-U4), i.e. to the whole kilogram: the
    contamination-cap example P6.2 gives 43.971 kg -> 0.044 ARC.
    """
    with localcontext(_CONTEXT):
        return round_half_up(kg / KG_PER_CERTIFICATE)


def certificates_to_kg(certificates: Decimal) -> Decimal:
    """Base mass a certificate quantity stands for; always exact."""
    with localcontext(_CONTEXT):
        return _checked_milli(certificates * KG_PER_CERTIFICATE, "mass")


def format_milli(value: Decimal) -> str:
    """A 3-decimal JSON string (``"2500.000"``) for a value that is already
    exact in thousandths; use round_half_up first for derived values."""
    if not has_at_most(value, PLACES):
        raise ValueError(f"{value} has more than 3 decimals")
    with localcontext(_CONTEXT):
        return format(_positive_zero(value.quantize(MILLI)), "f")
