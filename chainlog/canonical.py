"""Canonical entry bytes (R-L1): RFC 8785 (JCS) JSON of {index, time, type, actor, payload}.

Pure functions, no IO. Writing always produces exact RFC 8785 output; the
`rfc8785` package is the reference, and a faster serialiser is used only where
it provably gives the same bytes:

JCS differs from a sorted, compact ``json.dumps(..., ensure_ascii=False)`` in
three places only — number formatting of floats (RFC 8785 §3.2.2.3, ECMAScript
rules), the integer domain (|n| <= 2**53-1), and key order, which JCS defines
on UTF-16 code units (§3.2.3) while Python sorts code points. The two orders
agree unless a key holds a character above U+FFFF. String escaping (§3.2.2.2:
only ``"``, ``\\`` and U+0000..U+001F, short forms where they exist, else
lowercase ``\\u00xx``) is the same. Payloads are checked to hold no floats
(R-U3: quantities travel as strings) and only safe integers, so the fast path
applies whenever no key leaves the Basic Multilingual Plane.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import rfc8785

from . import _json
from .errors import PayloadError

#: RFC 8785 §3.2.2.3 / I-JSON: integers JSON can carry exactly.
MAX_SAFE_INTEGER = 2**53 - 1

#: The five members of the hashed entry object (R-L1), in JCS order.
ENTRY_FIELDS = ("actor", "index", "payload", "time", "type")

_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")

# Fast-path guards on a serialisation already equal to the candidate bytes:
# `fast` is always the backend's own sorted output (`_json.dumps_sorted`).
# json and orjson differ from RFC 8785 only for floats (ECMAScript number
# formatting, §3.2.2.3), which the log never writes (R-U3), for integers
# beyond 2**53-1 (the json backend writes them, orjson refuses them itself)
# and for keys above U+FFFF (UTF-16 order, §3.2.3). Any of these sends the
# value to the exact check. Both backends write every float with a "." or
# with an exponent "e+"/"e-" (1.0, 1.5e-07, 1e+16: orjson, and Python's
# repr for json), and a float is followed by "," "}" or "]" inside a
# container, so two patterns find them all: the first starts with a literal
# (the regex engine skips ahead to each "."), the second runs only when "+"
# or "e-" occurs at all. Integers of 16 digits or more follow a member's ":"
# or an array's "[" or ",". Matches inside strings are false alarms that
# only cost the exact check.
_DOT_FLOAT = re.compile(rb"\.[0-9]+[,}\]eE]")
_EXP_FLOAT = re.compile(rb"[0-9][eE][-+]?[0-9]+[,}\]]")
_MEMBER_LONG = re.compile(rb'":-?[0-9]{16}')
_ARRAY_LONG = re.compile(rb"[\[,]-?[0-9]{16}")
_NON_BMP_UTF8 = re.compile(rb"[\xf0-\xf4]")


def fast_form_is_jcs(fast: bytes) -> bool:
    """Given the backend's sorted compact serialisation of a value, is it certainly its RFC 8785 form?

    True unless it may hold a float, an integer beyond ±(2**53-1) (when the
    backend does not refuse those), or a key above U+FFFF (UTF-16 order).
    False means "ask rfc8785", not "wrong".
    """
    if not fast.startswith((b"{", b"[")):  # a bare scalar: rare, leave it to rfc8785
        return False
    # (bytes.find, not `in`: `sub in fast` first tries `sub` as an integer and
    # builds a TypeError to discard, which costs more than the search.)
    if _DOT_FLOAT.search(fast) or ((fast.find(b"+") >= 0 or fast.find(b"e-") >= 0) and _EXP_FLOAT.search(fast)):
        return False
    if not _json.STRICT_INTEGERS and (_MEMBER_LONG.search(fast) or (fast.find(b"[") >= 0 and _ARRAY_LONG.search(fast))):
        return False
    return fast.isascii() or not _NON_BMP_UTF8.search(fast)


def mask(data: bytes) -> bytes:
    """`data` with every "." replaced by "/#" and every "-" by "/!" (see `masked_form_is_jcs`)."""
    return data.replace(b".", b"/#").replace(b"-", b"/!")  # memchr-driven: cheaper than a scan for floats


def masked_form_is_jcs(data: bytes) -> bool:
    """Byte conditions under which "``mask(data)`` is the backend's sorted form of its own
    parse" proves that `data` is RFC 8785 JSON (the verifier's hot loop, `chainlog.verify`).

    The mask writes "/#" for every "." and "/!" for every "-". "/" is never
    part of a JSON token outside a string, so when the masked text parses,
    `data` has no "." or "-" outside its strings: no float with a point or a
    negative exponent and no negative number (such rare entries take the
    verifier's slower exact path). No "+" in `data` rules out the one float
    form left (1e+16: both backends write every float with a point or an
    exponent sign).

    With no "/" in `data`, the mask changes characters inside strings only,
    and none of ".", "-", "/", "!", "#" is escaped by either backend, so
    `data` and the masked text have the same tokens, escapes and numbers.
    Inside strings the mask is a prefix-free code that keeps order: every
    other character stands for itself; "-" < "." map to "/!" < "/#", which
    begin with "/" — a character `data` lacks, lying between "." and "0" —
    and differ in their second character. So two strings compare after the
    mask as they did before, and distinct keys stay distinct: the masked
    text is in sorted compact form only if `data` is. (A mask that sent both
    "-" and "." to one "/" would keep ties but not order: ".a" > "-b", yet
    "/a" < "/b".) What is left is the fast-path condition of
    `fast_form_is_jcs`: no key above U+FFFF and, with the json backend, no
    integer beyond 2**53-1. False means "use another check", not "wrong".
    """
    if not data.startswith((b"{", b"[")):  # a bare scalar: rare, leave it to rfc8785
        return False
    # (bytes.find, not `in`: `sub in data` first tries `sub` as an integer and
    # builds a TypeError to discard, which costs more than the search.)
    if data.find(b"/") >= 0 or data.find(b"+") >= 0:
        return False
    if not _json.STRICT_INTEGERS and (_MEMBER_LONG.search(data) or (data.find(b"[") >= 0 and _ARRAY_LONG.search(data))):
        return False
    return data.isascii() or not _NON_BMP_UTF8.search(data)


def check_json_value(value: Any, path: str = "payload") -> bool:
    """Refuse anything but str/int/bool/None/list/dict; return True if a key is non-BMP.

    Raises PayloadError naming the offending path (R-U3: no binary floats).
    """
    non_bmp = False
    stack = [(path, value)]
    while stack:
        where, v = stack.pop()
        if v is None or isinstance(v, (str, bool)):
            continue
        if isinstance(v, int):
            if not -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER:
                raise PayloadError(f"{where}: integer {v} is outside ±(2**53-1); pass it as a string")
            continue
        if isinstance(v, (float, Decimal)):
            raise PayloadError(
                f"{where}: {type(v).__name__} {v!r} is not allowed in the log; "
                "pass quantities as decimal strings (R-U3)"
            )
        if isinstance(v, dict):
            for k, item in v.items():
                if not isinstance(k, str):
                    raise PayloadError(f"{where}: object key {k!r} is not a string")
                if not k.isascii() and max(k) > "\uffff":
                    non_bmp = True
                stack.append((f"{where}.{k}", item))
            continue
        if isinstance(v, (list, tuple)):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(v))
            continue
        raise PayloadError(f"{where}: {type(v).__name__} is not a JSON value")
    return non_bmp


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value (no floats allowed)."""
    non_bmp_keys = check_json_value(value, "value")
    try:
        if non_bmp_keys:
            return rfc8785.dumps(value)  # UTF-16 key order: leave it to the reference
        return _json.dumps_sorted(value)
    except (rfc8785.CanonicalizationError, *_json.ERRORS) as exc:
        # Left after check_json_value: strings that are not valid Unicode
        # (lone surrogates), which have no UTF-8 form.
        raise PayloadError(f"value cannot be canonicalised: {exc}") from None


def is_canonical_of(value: Any, data: bytes) -> bool:
    """True iff `data` is exactly the RFC 8785 serialisation of `value`.

    `value` may come from any JSON parser (it may hold floats or big integers).
    A fast serialisation that matches `data` is accepted when the guards above
    rule out every JCS difference; anything else is decided by `rfc8785`.
    """
    try:
        fast = _json.dumps_sorted(value)
    except _json.ERRORS:
        fast = None
    if fast == data and fast_form_is_jcs(fast):
        return True
    try:
        return rfc8785.dumps(value) == data
    except (rfc8785.CanonicalizationError, UnicodeError, TypeError, ValueError):
        return False


def format_time(t: datetime) -> str:
    """Entry time text: ISO 8601 UTC, microseconds, ``Z`` (R-U5), e.g. 2026-11-23T11:37:17.123456Z."""
    if not isinstance(t, datetime):
        raise PayloadError(f"time must be a datetime, not {type(t).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise PayloadError("time must be timezone-aware (UTC); a naive datetime is ambiguous")
    utc = t.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """Inverse of `format_time`, strict about the form."""
    if not isinstance(text, str) or not _TIME_RE.fullmatch(text):
        raise PayloadError(f"time {text!r} is not of the form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def entry_object(index: int, time: str, type: str, actor: str, payload: dict) -> dict:
    """The hashed entry object (R-L1), with its fields checked."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise PayloadError(f"index must be a non-negative integer, not {index!r}")
    if not isinstance(time, str) or not _TIME_RE.fullmatch(time):
        raise PayloadError(f"time {time!r} is not of the form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    if not isinstance(type, str) or not type:
        raise PayloadError("type must be a non-empty string")
    if not isinstance(actor, str) or not actor:
        raise PayloadError("actor must be a non-empty string")
    if not isinstance(payload, dict):
        raise PayloadError(f"payload must be a JSON object (dict), not {payload.__class__.__name__}")
    return {"index": index, "time": time, "type": type, "actor": actor, "payload": payload}


def entry_canonical(index: int, time: str, type: str, actor: str, payload: dict) -> bytes:
    """The exact bytes hashed for an entry (R-L1)."""
    return canonical_json(entry_object(index, time, type, actor, payload))
