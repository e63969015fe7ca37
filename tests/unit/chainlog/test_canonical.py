"""Canonical entry bytes (R-L1): exact RFC 8785, no floats (R-U3), UTC time text (R-U5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainlog import PayloadError
from chainlog.canonical import (
    MAX_SAFE_INTEGER,
    canonical_json,
    entry_canonical,
    format_time,
    is_canonical_of,
    parse_time,
)

# Text that exercises every JCS difference: escapes, non-ASCII, non-BMP,
# private-use BMP characters that sort differently from astral ones in UTF-16.
text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\u0000", "\u001f", "\b", "\f", "\n", "\r", "\t", '"', "\\", "\u007f", "\ue000", "\uffff", "\U0001f600", "\u2028"]),
    ),
    max_size=8,
)
safe_ints = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
json_values = st.recursive(
    st.none() | st.booleans() | safe_ints | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=20,
)
# Values another parser may hand the verifier: floats and big integers too.
any_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | text
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1.0, -0.0, 1e16, 1e21, 1e-7, 1e-5, 0.1, 5e-324]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_canonical_json_is_rfc8785(json_backend, value):
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=any_json)
def test_is_canonical_of_agrees_with_rfc8785(json_backend, value):
    try:
        exact = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        exact = None
    if exact is not None:
        assert is_canonical_of(value, exact)
    # The fast serialisers' own output is accepted only when it is the JCS form.
    from chainlog import _json

    try:
        fast = _json.dumps_sorted(value)
    except _json.ERRORS:
        return
    assert is_canonical_of(value, fast) == (fast == exact)


@pytest.mark.parametrize(
    "value, why",
    [
        ({"q": 1.5}, "float"),
        ({"q": Decimal("2500.000")}, "Decimal"),
        ({"q": [1, {"r": 0.0}]}, "float"),
        ({1: "x"}, "key"),
        ({"q": 2**53}, "outside"),
        ({"q": object()}, "not a JSON value"),
        ({"q": "\ud800"}, "cannot be canonicalised"),
    ],
)
def test_non_json_payloads_are_refused(json_backend, value, why):
    with pytest.raises(PayloadError, match=why):
        canonical_json(value)


def test_float_refusal_names_the_path_and_the_rule():
    with pytest.raises(PayloadError) as info:
        entry_canonical(0, "2026-11-23T11:37:17.123456Z", "block.transferred", "user:1", {"block": {"quantity": 2.5}})
    assert "payload.block.quantity" in str(info.value) and "R-U3" in str(info.value)


def test_entry_bytes_are_the_jcs_of_the_whole_entry():
    data = entry_canonical(7, "2026-11-23T11:37:17.123456Z", "lot.registered", "user:42", {"b": "2500.000", "a": None})
    assert data == (
        b'{"actor":"user:42","index":7,"payload":{"a":null,"b":"2500.000"},'
        b'"time":"2026-11-23T11:37:17.123456Z","type":"lot.registered"}'
    )


@pytest.mark.parametrize(
    "index, time, type_, actor, payload",
    [
        (-1, "2026-11-23T11:37:17.123456Z", "t", "a", {}),
        (True, "2026-11-23T11:37:17.123456Z", "t", "a", {}),
        (0, "2026-11-23T11:37:17Z", "t", "a", {}),
        (0, "2026-11-23T11:37:17.123456Z", "", "a", {}),
        (0, "2026-11-23T11:37:17.123456Z", "t", "", {}),
        (0, "2026-11-23T11:37:17.123456Z", "t", "a", []),
    ],
)
def test_entry_fields_are_checked(index, time, type_, actor, payload):
    with pytest.raises(PayloadError):
        entry_canonical(index, time, type_, actor, payload)


def test_time_text_is_utc_with_microseconds_and_z():
    t = datetime(2026, 11, 23, 11, 37, 17, 123456, tzinfo=UTC)
    assert format_time(t) == "2026-11-23T11:37:17.123456Z"
    assert format_time(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"
    cet = timezone(timedelta(hours=1))
    assert format_time(datetime(2026, 11, 23, 12, 37, 17, 123456, tzinfo=cet)) == "2026-11-23T11:37:17.123456Z"
    assert parse_time("2026-11-23T11:37:17.123456Z") == t


def test_naive_datetimes_are_refused():
    with pytest.raises(PayloadError, match="naive"):
        format_time(datetime(2026, 11, 23, 11, 37, 17))
    with pytest.raises(PayloadError):
        parse_time("2026-11-23 11:37:17")


def _masked_accepts(data: bytes) -> bool:
    """The verifier's hot-loop canonical check (`chainlog.verify`), as a predicate."""
    from chainlog import _json
    from chainlog.canonical import mask, masked_form_is_jcs

    masked = mask(data)
    try:
        return _json.dumps_sorted(_json.loads(masked)) == masked and masked_form_is_jcs(data)
    except _json.ERRORS:
        return False


def _dash_dot_reordered(value):
    """`value` with each object's keys ordered as if "-" and "." were one character (a wrong order)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (k.replace("-", "/").replace(".", "/"), k))
        return {k: _dash_dot_reordered(value[k]) for k in keys}
    if isinstance(value, list):
        return [_dash_dot_reordered(v) for v in value]
    return value


# Text rich in what the mask touches: ".", "/", "-", "+", "e", digits.
masky_text = st.text(alphabet=st.sampled_from(list("./-+e1E0 \\\"ab!#\u00e9\U0001f600\uffff")), max_size=6)
masky_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | masky_text | text
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1.0, -0.0, 1e16, 1e21, 1e-7, 1e-5, 0.5]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(masky_text | text, children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=masky_json, spelling=st.sampled_from(["fast", "exact", "ascii", "unsorted", "spaced", "swap", "dash", "slash", "reordered"]))
def test_masked_check_accepts_only_rfc8785(json_backend, value, spelling):
    # Whatever the spelling, the hot loop's check never accepts bytes that are not RFC 8785 JSON.
    import json

    from chainlog import _json

    try:
        exact = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        exact = None
    try:
        data = {
            "fast": lambda: _json.dumps_sorted(value),
            "exact": lambda: exact if exact is not None else b"null",
            "ascii": lambda: json.dumps(value, sort_keys=True, separators=(",", ":")).encode(),
            "unsorted": lambda: json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(),
            "spaced": lambda: json.dumps(value, sort_keys=True, ensure_ascii=False).encode(),
            "swap": lambda: _json.dumps_sorted(value).replace(b".", b"-"),  # "." and "-" exchanged
            "dash": lambda: _json.dumps_sorted(value).replace(b"-", b"."),  # "-" and "." exchanged
            "slash": lambda: _json.dumps_sorted(value).replace(b"-", b"/"),
            "reordered": lambda: json.dumps(_dash_dot_reordered(value), separators=(",", ":"),
                                            ensure_ascii=False).encode(),
        }[spelling]()
    except (*_json.ERRORS, ValueError):
        return
    if _masked_accepts(data):
        assert rfc8785.dumps(json.loads(data)) == data


@pytest.mark.parametrize("data", [
    b"[0-0]", b"[1-5]", b'{"a":1e-7}', b'{"a":1e-07}', b'{"a":1e+16}', b'{"a":1.5}', b'{"a":0.0}',
    b'{"a.":1,"a-":2}', b'{"a/":1}', b'{"a":"\\/"}',
    # Out of order only where "-" and "." decide it (a mask sending both to one character would accept these):
    b'{".a":0,"-b":0}', b'{"x.a":0,"x-b":0}', b'{"a.":0,"a-b":0}', b'{".":0,"-":0}', b'{"a.":0,"a-":0}',
    # The images of the mask, written in the data: refused ("/" in data), never confused with a mask.
    b'{"/!":0,"/#":0}', b'{"-":0,"/!":0}',
])
def test_masked_check_refuses_dots_dashes_and_floats_outside_strings(json_backend, data):
    # Invalid or non-canonical texts, and floats however written: never accepted by the hot-loop check.
    assert not _masked_accepts(data)


@pytest.mark.parametrize("data", [b'{"a":-1}', b'{"a":[-5,0]}'])
def test_negative_integers_leave_the_masked_check_but_are_canonical(json_backend, data):
    # A negative number is RFC 8785 JSON; the mask refuses it, so the verifier takes its exact path.
    assert not _masked_accepts(data)
    assert rfc8785.dumps(rfc8785_loads(data)) == data


def rfc8785_loads(data: bytes):
    import json

    return json.loads(data)


@pytest.mark.parametrize("data", [
    b'{"a":"x-y.z","b-c":"2026-12-03T00:00:00.000000Z","d.e":[1,"-"]}',
    b'{"a-":1,"a.":2}', b'{"-a":1,".a":1}', b'{"-b":0,".a":0}', b'{"a-b":0,"a.":0}', b'{"-":0,".":0,"0":0}',
])
def test_dots_and_dashes_inside_strings_pass_the_masked_check(json_backend, data):
    assert _masked_accepts(data)
    assert rfc8785.dumps(rfc8785_loads(data)) == data
