"""JSON at the HTTP edge: numbers are read as Decimal and Decimals written as
strings, so no quantity ever passes through a binary float (R-U3)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from flask.json.provider import DefaultJSONProvider

from registry.errors import InvalidInput


# R-X9: no registry body nests deeper than a few levels; 32 leaves room for
# any client, and keeps every recursive consumer (schemas, the log's canonical
# JSON) far from Python's recursion limit.
MAX_JSON_DEPTH = 32


def loads(data: str | bytes):
    if isinstance(data, bytes | bytearray):
        # RFC 8259 §8.1: JSON exchanged between systems is UTF-8.
        data = data.decode("utf-8")  # UnicodeDecodeError is reported as malformed JSON
    try:
        # parse_constant refuses NaN/Infinity, which are not JSON anyway.
        value = json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:  # thousands of [ or {: the parser's own limit (R-X9)
        raise _too_deep() from None
    except ValueError:  # an integer of more than 4 300 digits (sys.get_int_max_str_digits)
        raise InvalidInput("a number in the body has too many digits", field="body", code="number_too_long",
                           rule="R-X9") from None
    if data.count("[") + data.count("{") > MAX_JSON_DEPTH or "\\u0000" in data:
        _check_shape(value)
    return value


def _too_deep() -> InvalidInput:
    return InvalidInput(f"the body nests deeper than {MAX_JSON_DEPTH} levels", field="body",
                        code="json_too_deep", rule="R-X9")


def _check_shape(value) -> None:
    """Nesting depth and NUL characters (PostgreSQL text cannot hold U+0000), iteratively."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            for key, member in item.items():
                if "\x00" in key:
                    raise _nul()
                stack.append((member, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            stack.extend((member, depth + 1) for member in item)
        elif isinstance(item, str) and "\x00" in item:
            raise _nul()


def _nul() -> InvalidInput:
    return InvalidInput("a string in the body contains a NUL character", field="body", code="nul_character",
                        rule="R-X9")


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
