"""Marshmallow fields shared by the API's schemas."""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma


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
