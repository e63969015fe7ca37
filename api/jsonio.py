"""JSON at the HTTP edge: numbers are read as Decimal and Decimals written as
strings, so no quantity ever passes through a binary float (R-U3)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from flask.json.provider import DefaultJSONProvider


def loads(data: str | bytes):
    if isinstance(data, bytes | bytearray):
        # RFC 8259 §8.1: JSON exchanged between systems is UTF-8.
        data = data.decode("utf-8")  # UnicodeDecodeError is reported as malformed JSON
    # parse_constant refuses NaN/Infinity, which are not JSON anyway.
    return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)


def _refuse_constant(name: str):
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def _default(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class RegistryJSONProvider(DefaultJSONProvider):
    sort_keys = False

    def loads(self, s, **kwargs):
        return loads(s)

    def dumps(self, obj, **kwargs):
        kwargs.setdefault("default", _default)
        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(obj, **kwargs)
