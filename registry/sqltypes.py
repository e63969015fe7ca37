"""Column types that keep quantities exact (R-U3) and instants in UTC (R-U5)."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.types import TypeDecorator

_MILLI = Decimal("0.001")


class Milli(TypeDecorator):
    """A decimal with exactly 3 places stored as an integer count of
    thousandths (grams, or 0.001 certificate).

    SQLite has no exact NUMERIC (it stores REAL), so an integer column is the
    one representation that is exact on both databases (R-U3).
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"quantities must be Decimal, got {type(value).__name__}")
        scaled = value.scaleb(3)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than 3 decimals")
        return int(scaled)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-3).quantize(_MILLI)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every timestamp is UTC (R-U5)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DecimalText(TypeDecorator):
    """A Decimal of any precision kept as its exact text (fractions, LHV,
    money): SQLite would otherwise round-trip NUMERIC through a float."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"expected Decimal, got {type(value).__name__}")
        return format(value, "f")

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)
