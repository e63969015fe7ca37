"""R-C1, R-C2, R-C3, R-P2: RMS certificate numbers, scope, validity, geography."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.certification import (
    CertificateEvent,
    body_code,
    check_country,
    check_dates,
    check_scope,
    is_valid_on,
    parse_certificate_number,
    require_north_america,
    require_reprocessing,
    require_valid_on,
    status_on,
)
from registry.errors import InvalidInput, RuleViolation

ISSUED, EXPIRES = date(2022, 3, 1), date(2025, 2, 28)


# --- numbers (R-C1) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number, body, serial",
    [("RMS-NSF-00234", "NSF", "00234"), ("RMS-SCS-123456", "SCS", "123456"), ("RMS-ABC-00000", "ABC", "00000")],
)
def test_certificate_numbers_with_five_or_six_digits(number, body, serial):  # RMS 6.6.3.1, Example 6.9
    parsed = parse_certificate_number(number)
    assert (parsed.body, parsed.serial, str(parsed)) == (body, serial, number)
    assert body_code(number) == body


@pytest.mark.parametrize(
    "number",
    ["RMS-NSF-0234", "RMS-NSF-1234567", "RMS-nsf-00234", "RMS-NS-00234", "RMS-NSFX-00234", "rms-NSF-00234",
     "RMS NSF 00234", "RMS-NSF-00234 ", "RMS-NSF-0023A", "RMS-NSF-٠٠٢٣٤", "RMS–NSF–00234", "", None, 234],
)
def test_malformed_certificate_numbers_are_refused(number):
    with pytest.raises(InvalidInput) as info:
        parse_certificate_number(number)
    assert (info.value.code, info.value.field, info.value.rule) == ("invalid_certificate_number", "number", "R-C1")


# --- validity on a date (R-C3) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, status",
    [
        (date(2022, 2, 28), "not_yet_valid"),
        (ISSUED, "valid"),
        (EXPIRES, "valid"),
        (EXPIRES + timedelta(days=1), "expired"),
    ],
)
def test_validity_window_is_inclusive(day, status):
    assert status_on(day, [(ISSUED, EXPIRES)]) == status
    assert is_valid_on(day, [(ISSUED, EXPIRES)]) is (status == "valid")


def test_suspension_lasts_until_reinstatement():
    events = [CertificateEvent("suspended", date(2023, 5, 10), "audit finding"),
              CertificateEvent("reinstated", date(2023, 7, 1), "corrective action closed")]
    assert is_valid_on(date(2023, 5, 9), [(ISSUED, EXPIRES)], events)
    assert status_on(date(2023, 5, 10), [(ISSUED, EXPIRES)], events) == "suspended"
    assert status_on(date(2023, 6, 30), [(ISSUED, EXPIRES)], events) == "suspended"
    assert is_valid_on(date(2023, 7, 1), [(ISSUED, EXPIRES)], events)


def test_suspension_without_reinstatement_lasts():
    events = [CertificateEvent("suspended", date(2023, 5, 10))]
    assert status_on(EXPIRES, [(ISSUED, EXPIRES)], events) == "suspended"


def test_revocation_is_permanent():
    events = [CertificateEvent("revoked", date(2023, 5, 10), "fraud"), CertificateEvent("reinstated", date(2023, 6, 1))]
    assert is_valid_on(date(2023, 5, 9), [(ISSUED, EXPIRES)], events)
    assert status_on(date(2023, 5, 10), [(ISSUED, EXPIRES)], events) == "revoked"
    assert status_on(date(2024, 1, 1), [(ISSUED, EXPIRES)], events) == "revoked"


def test_events_apply_in_date_order_whatever_the_list_order():
    events = [CertificateEvent("reinstated", date(2023, 7, 1)), CertificateEvent("suspended", date(2023, 5, 10))]
    assert status_on(date(2023, 6, 1), [(ISSUED, EXPIRES)], events) == "suspended"
    assert status_on(date(2023, 7, 2), [(ISSUED, EXPIRES)], events) == "valid"


def test_unknown_event_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        status_on(date(2023, 1, 1), [(ISSUED, EXPIRES)], [CertificateEvent("deleted", date(2022, 6, 1))])


def test_require_valid_on():
    require_valid_on(date(2023, 1, 1), "RMS-NSF-00234", [(ISSUED, EXPIRES)])
    with pytest.raises(RuleViolation) as info:
        require_valid_on(EXPIRES + timedelta(days=1), "RMS-NSF-00234", [(ISSUED, EXPIRES)])
    assert (info.value.code, info.value.rule) == ("certificate_invalid", "R-C3")
    assert "expired" in info.value.detail


def test_expiry_before_issue_is_refused():
    check_dates(ISSUED, ISSUED)
    with pytest.raises(InvalidInput) as info:
        check_dates(ISSUED, ISSUED - timedelta(days=1))
    assert (info.value.code, info.value.field) == ("invalid_date_range", "expires_on")


dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
events = st.lists(st.builds(CertificateEvent, st.sampled_from(["suspended", "revoked", "reinstated"]), dates),
                  max_size=6)


@given(dates, events)
def test_never_valid_outside_the_window_nor_after_a_revocation(day, history):
    valid = is_valid_on(day, [(ISSUED, EXPIRES)], history)
    if not ISSUED <= day <= EXPIRES or any(e.kind == "revoked" and e.on <= day for e in history):
        assert not valid


# --- scope and geography (R-C2, R-P2) ----------------------------------------------------------------


def test_generation_needs_reprocessing_in_scope():
    require_reprocessing(["sorting", "reprocessing"])
    with pytest.raises(RuleViolation) as info:
        require_reprocessing(["trading", "converting"])
    assert (info.value.code, info.value.rule) == ("scope_excludes_reprocessing", "R-P2")


def test_scope_values_are_checked():
    check_scope(["reprocessing", "trading"], "multi-site", ["mass-balance", "segregation"])
    for args, field in [
        (([], "single-site", []), "activities"),
        ((["recycling"], "single-site", []), "activities[0]"),
        ((["reprocessing"], "campus", []), "facility_scope"),
        ((["reprocessing"], "group", ["mass-balance", "MB"]), "control_systems[1]"),
    ]:
        with pytest.raises(InvalidInput) as info:
            check_scope(*args)
        assert (info.value.code, info.value.field) == ("invalid_scope", field)


@pytest.mark.parametrize("country", ["US", "CA", "MX"])
def test_north_america_may_be_certified(country):  # RMS 1.3.1
    require_north_america(country)


@pytest.mark.parametrize("country", ["DE", "GB", "BR", "GL", "PR"])
def test_elsewhere_is_refused(country):
    with pytest.raises(RuleViolation) as info:
        require_north_america(country)
    assert (info.value.code, info.value.rule) == ("outside_north_america", "R-P2")


@pytest.mark.parametrize("country", ["us", "USA", "U", "", None])
def test_country_must_be_an_alpha_2_code(country):
    with pytest.raises(InvalidInput) as info:
        check_country(country)
    assert info.value.code == "invalid_country"
