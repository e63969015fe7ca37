"""JSON backend: orjson when it is installed, the standard library otherwise.

Both backends are used only for (a) parsing and (b) a *sorted, compact,
non-ASCII-escaping* serialisation that `chainlog.canonical` compares against
RFC 8785. Which backend runs never changes a result, only the speed: every
fast-path answer is either proven equal to RFC 8785 or re-checked with the
exact `rfc8785` implementation (see `canonical.is_canonical_of`).

orjson is optional. It makes offline verification of a large export roughly
three times faster (docs/performance.md, "chainlog"), because CPython's json
module spends ~3 µs parsing and ~5 µs serialising a 450-byte entry.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

try:  # optional accelerator
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None


def _reject_constant(name: str) -> Any:
    # NaN / Infinity are not JSON (RFC 8259); orjson refuses them too.
    raise ValueError(f"{name} is not valid JSON")


_std_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_std_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)

#: Name of the backend in use, reported by the benchmarks.
BACKEND = "orjson" if _orjson is not None else "json"


def _std_loads(data: bytes | str) -> Any:
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data).decode("utf-8")  # strict: invalid UTF-8 raises
    return _std_decoder.decode(data)


def _std_dumps_sorted(value: Any) -> bytes:
    # .encode() is strict UTF-8, so lone surrogates raise UnicodeEncodeError.
    return _std_encoder.encode(value).encode("utf-8")


_std_line_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _std_dumps_line(value: Any) -> bytes:
    return _std_line_encoder.encode(value).encode("utf-8")


if _orjson is not None:
    _ORJSON_OPTIONS = _orjson.OPT_SORT_KEYS | _orjson.OPT_STRICT_INTEGER
    _orjson_loads = _orjson.loads
    _orjson_dumps = _orjson.dumps

    # orjson's own functions, not Python wrappers: the verifier's hot loop calls them per entry.
    _fast_loads = _orjson_loads
    # OPT_STRICT_INTEGER: integers beyond 2**53-1 raise, as in RFC 8785.
    _fast_dumps_sorted = partial(_orjson_dumps, option=_ORJSON_OPTIONS)

    def _fast_dumps_line(value: Any) -> bytes:
        return _orjson_dumps(value)

    loads = _fast_loads
    dumps_sorted = _fast_dumps_sorted
    #: Compact, insertion-ordered, non-ASCII kept: the export line form.
    dumps_line = _fast_dumps_line
    #: True when `dumps_sorted` itself refuses integers outside ±(2**53-1).
    STRICT_INTEGERS = True
else:  # pragma: no cover - depends on the environment
    loads = _std_loads
    dumps_sorted = _std_dumps_sorted
    dumps_line = _std_dumps_line
    STRICT_INTEGERS = False

#: Errors either backend raises on input it cannot parse or serialise.
ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, OverflowError, UnicodeError)
if _orjson is not None:
    ERRORS = ERRORS + (_orjson.JSONDecodeError, _orjson.JSONEncodeError)


def use_stdlib(flag: bool = True) -> None:
    """Force the standard-library backend (tests run both backends)."""
    global loads, dumps_sorted, dumps_line, STRICT_INTEGERS, BACKEND
    if flag or _orjson is None:
        loads, dumps_sorted, dumps_line = _std_loads, _std_dumps_sorted, _std_dumps_line
        STRICT_INTEGERS, BACKEND = False, "json"
    else:
        loads, dumps_sorted, dumps_line = _fast_loads, _fast_dumps_sorted, _fast_dumps_line
        STRICT_INTEGERS, BACKEND = True, "orjson"


def std_dumps_plain(value: Any) -> str:
    """Type-exact text for comparisons (distinguishes 1, 1.0 and true)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
