"""Which business clocks and input dates are believable; the domain never overflows a date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fuelpipe.domain.calendars import (
    EARLIEST_DATE,
    LATEST_DATE,
    DateOutOfRange,
    expected_between,
    get_calendar,
    last_available_date,
)
from fuelpipe.domain.clock_bounds import ClockOutOfBounds, check_input_date, check_now

REAL = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
START = date(1987, 5, 20)


def test_a_clock_within_a_day_is_accepted() -> None:
    assert check_now(REAL + timedelta(hours=23), REAL, START) == REAL + timedelta(hours=23)
    assert check_now(datetime(2022, 5, 7, tzinfo=UTC), REAL, START).year == 2022


@pytest.mark.parametrize(
    ("now", "simulate", "words"),
    [
        (REAL + timedelta(days=3), False, "--simulate-future"),
        (datetime(1950, 1, 1, tzinfo=UTC), False, "before any series starts"),
        (datetime(1, 1, 1, tzinfo=UTC), False, "before any series starts"),
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), True, "more than a year"),
        (REAL + timedelta(days=400), True, "more than a year"),
    ],
)
def test_unbelievable_clocks_are_refused(now: datetime, simulate: bool, words: str) -> None:
    with pytest.raises(ClockOutOfBounds, match=words):
        check_now(now, REAL, START, simulate_future=simulate)


def test_simulate_future_allows_up_to_a_year() -> None:
    later = REAL + timedelta(days=300)
    assert check_now(later, REAL, START, simulate_future=True) == later


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1899, 12, 31), date(9999, 12, 31)])
def test_input_dates_outside_the_range_are_refused(day: date) -> None:
    with pytest.raises(ClockOutOfBounds, match="--since"):
        check_input_date(day, REAL, "--since")


def test_input_dates_over_a_year_ahead_are_refused() -> None:
    assert check_input_date(date(2027, 6, 1), REAL, "start") == date(2027, 6, 1)
    with pytest.raises(ClockOutOfBounds, match="more than a year"):
        check_input_date(date(2028, 1, 1), REAL, "start")


def test_an_input_dates_year_counts_from_the_clocks_sao_paulo_day() -> None:
    # 01:00 UTC on 2026-12-07 is 22:00 on the 6th in São Paulo: a year after the 6th, as the
    # dashboard's End date (app.py not_too_far_ahead), not after the UTC day
    evening = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    assert check_input_date(date(2027, 12, 7), evening, "--until") == date(2027, 12, 7)
    with pytest.raises(ClockOutOfBounds, match=r"--until 2027-12-08 .*\(2026-12-06\)"):
        check_input_date(date(2027, 12, 8), evening, "--until")


@pytest.mark.parametrize("name", ["ANBIMA", "B3", "NYSE", "FRED_BRENT", "ANP_WEEKLY", "MONTHLY"])
def test_calendars_refuse_dates_outside_the_range_instead_of_overflowing(name: str) -> None:
    cal = get_calendar(name)
    with pytest.raises(DateOutOfRange):
        list(expected_between(cal, date(1, 1, 1), date(1, 3, 1)))
    with pytest.raises(DateOutOfRange):
        list(expected_between(cal, date(9999, 11, 1), date(9999, 12, 31)))
    assert list(expected_between(cal, LATEST_DATE - timedelta(days=40), LATEST_DATE))
    assert EARLIEST_DATE < LATEST_DATE


def test_last_available_date_refuses_extreme_clocks() -> None:
    with pytest.raises(DateOutOfRange):
        last_available_date(datetime(9999, 12, 31, tzinfo=UTC), timedelta(days=1))
    with pytest.raises(DateOutOfRange):
        last_available_date(datetime(1, 1, 2, tzinfo=UTC), timedelta(days=1))
