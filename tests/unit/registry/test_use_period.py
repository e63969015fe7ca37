"""R-E1: a certificate generated in Y is usable until the end of 31 December Y + 1, UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.errors import RuleViolation
from registry.use_period import (
    expires_at,
    in_use_period,
    in_use_period_at,
    require_in_use_period,
    require_past_use_period,
    use_period_end,
    use_period_start,
)


def test_rms_8_8_4_1_generated_2021_retirable_on_2022_12_31_expired_on_2023_01_01():
    assert use_period_end(2021) == date(2022, 12, 31)
    assert in_use_period(2021, date(2022, 12, 31))
    assert not in_use_period(2021, date(2023, 1, 1))
    require_in_use_period(2021, date(2022, 12, 31))
    with pytest.raises(RuleViolation) as info:
        require_in_use_period(2021, date(2023, 1, 1))
    assert (info.value.code, info.value.rule, info.value.status) == ("outside_use_period", "R-E1", 422)
    assert info.value.detail == (
        "certificates generated in 2021 could be transferred or retired only until 2022-12-31 "
        "(RMS 8.8.4.1); today is 2023-01-01"
    )


def test_rms_8_7_4_a_2021_block_expires_on_2023_01_01_not_on_2022_12_31():
    """R-E1: the expiry of a block (and replay's check of it) is refused while it is in use."""
    require_past_use_period(2021, date(2023, 1, 1))
    with pytest.raises(RuleViolation) as info:
        require_past_use_period(2021, date(2022, 12, 31))
    assert (info.value.code, info.value.rule, info.value.status) == ("inside_use_period", "R-E1", 422)
    assert info.value.detail == ("certificates generated in 2021 are in use until 2022-12-31 (RMS 8.8.4.1): "
                                 "they cannot expire on 2022-12-31")


@pytest.mark.parametrize(
    "today, inside",
    [(date(2021, 1, 1), True), (date(2021, 7, 1), True), (date(2022, 1, 1), True), (date(2020, 12, 31), False),
     (date(2030, 1, 1), False)],
)
def test_in_use_period_on_dates(today, inside):
    assert in_use_period(2021, today) is inside


def test_end_of_day_utc():
    assert expires_at(2021) == datetime(2023, 1, 1, tzinfo=UTC)
    last_moment = datetime(2022, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert in_use_period_at(2021, last_moment)
    assert not in_use_period_at(2021, last_moment + timedelta(microseconds=1))


def test_instants_are_judged_in_utc_not_local_time():
    """Each instant's local date and its UTC date fall on opposite sides of a
    use-period boundary, so only a conversion to UTC gives these answers."""
    new_york = timezone(timedelta(hours=-5))  # EST in December and January
    karachi = timezone(timedelta(hours=5))
    # 20:00 EST on 31 December 2022 is 01:00 UTC on 1 January 2023: already expired,
    # though still 2022 in New York.
    evening = datetime(2022, 12, 31, 20, 0, tzinfo=new_york)
    assert evening.astimezone(UTC) == datetime(2023, 1, 1, 1, 0, tzinfo=UTC)
    assert not in_use_period_at(2021, evening)
    assert not in_use_period(2021, evening)
    # 19:00 EST is 00:00 UTC, the first expired instant; a microsecond earlier is inside.
    assert not in_use_period_at(2021, datetime(2022, 12, 31, 19, 0, tzinfo=new_york))
    assert in_use_period_at(2021, datetime(2022, 12, 31, 18, 59, 59, 999999, tzinfo=new_york))
    # 03:00 on 1 January 2023 in Karachi is 22:00 UTC on 31 December 2022: still inside,
    # though already 2023 there.
    assert in_use_period_at(2021, datetime(2023, 1, 1, 3, 0, tzinfo=karachi))
    # At the start: 20:00 EST on 31 December 2020 is 01:00 UTC on 1 January 2021, inside the
    # 2021 period; 03:00 in Karachi on 1 January 2021 is 22:00 UTC on 31 December 2020, before it.
    assert in_use_period_at(2021, datetime(2020, 12, 31, 20, 0, tzinfo=new_york))
    assert not in_use_period_at(2021, datetime(2021, 1, 1, 3, 0, tzinfo=karachi))


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match=r"^naive datetime: every timestamp is UTC \(R-U5\)$"):
        in_use_period_at(2021, datetime(2022, 6, 1))


def test_the_period_starts_on_1_january_of_the_generation_year():
    assert use_period_start(2021) == date(2021, 1, 1)
    assert in_use_period_at(2021, datetime(2021, 1, 1, tzinfo=UTC))
    assert not in_use_period_at(2021, datetime(2021, 1, 1, tzinfo=UTC) - timedelta(microseconds=1))


@pytest.mark.parametrize("year", [1, 9997])
def test_generation_years_1_to_9997_are_calendar_years(year):
    # 9997 is the last year whose expiry instant (1 January of Y + 2) a datetime can hold.
    assert use_period_start(year) == date(year, 1, 1)
    assert use_period_end(year) == date(year + 1, 12, 31)
    assert expires_at(year) == datetime(year + 2, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("year", [True, "2021", 2021.0, 0, 9998])
def test_generation_year_must_be_a_year(year):
    for call in (use_period_start, use_period_end, expires_at):
        with pytest.raises(ValueError) as info:
            call(year)
        assert str(info.value) == f"generation_year must be a calendar year, got {year!r}"


@given(st.integers(2000, 2200), st.dates(min_value=date(1999, 1, 1), max_value=date(2203, 12, 31)))
def test_use_period_is_the_generation_year_and_the_next(year, today):
    assert in_use_period(year, today) is (today.year in (year, year + 1))
