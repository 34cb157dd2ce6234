"""Where a stream's one source request starts: back over the days its calendar skips."""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuelpipe.domain.calendars import get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.planning import LEAD_IN, request_start

BZF = DEFAULT_CATALOG["COMMODITY#BRENT_FUTURES"]
DAILY = [
    DEFAULT_CATALOG[key]
    for key in (
        "CURRENCY#USD",
        "STOCK#PETR4",
        "STOCK#XOM",
        "COMMODITY#BRENT",
        "COMMODITY#BRENT_FUTURES",
    )
]


@pytest.mark.parametrize(
    ("first", "start"),
    [
        # Yahoo's BZ=F has a close on these US holidays (datasets/stocks/strongylis__yahoo.csv);
        # NYMEX_BRENT expects none of them, so the stream after each reaches back to it.
        (date(2025, 7, 7), date(2025, 7, 4)),  # Monday after Independence Day (a Friday)
        (date(2023, 11, 24), date(2023, 11, 23)),  # Friday after Thanksgiving
        (date(2026, 6, 22), date(2026, 6, 19)),  # Monday after Juneteenth (a Friday)
        (date(2024, 7, 5), date(2024, 7, 4)),  # no close that day, but it is asked for
        (date(2025, 7, 3), date(2025, 7, 3)),  # Wednesday was expected: nothing to add
        (date(2025, 7, 14), date(2025, 7, 12)),  # an ordinary Monday: the weekend
    ],
)
def test_a_stream_reaches_back_to_the_day_after_the_previous_expected_date(first, start):
    assert request_start(BZF, first) == start


def test_never_before_the_series_starts():
    late = replace(BZF, default_start=date(2025, 7, 5))  # a Saturday
    assert request_start(late, date(2025, 7, 7)) == date(2025, 7, 5)
    assert request_start(late, late.default_start) == late.default_start
    assert request_start(BZF, BZF.default_start) == BZF.default_start


def test_never_more_than_a_week_back():
    # NYSE's longest closure: 11 to 14 September 2001, then the weekend (six days).
    xom = DEFAULT_CATALOG["STOCK#XOM"]
    assert request_start(xom, date(2001, 9, 17)) == date(2001, 9, 11)
    # A calendar with longer gaps (ANP's survey pause of 2020) stops at LEAD_IN.
    weekly = next(s for s in DEFAULT_CATALOG if s.calendar == "ANP_WEEKLY")
    ranged = replace(weekly, whole_history=False)
    assert request_start(ranged, date(2020, 10, 18)) == date(2020, 10, 18) - LEAD_IN


def test_a_whole_history_source_is_not_ranged():
    # An ANP workbook's one request returns everything: nothing to reach back for.
    weekly = next(s for s in DEFAULT_CATALOG if s.calendar == "ANP_WEEKLY")
    assert weekly.whole_history
    assert request_start(weekly, date(2025, 7, 6)) == date(2025, 7, 6)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(DAILY),
    st.dates(min_value=date(2000, 1, 3), max_value=date(2030, 12, 31)),
)
def test_only_the_skipped_days_just_before_the_first_date_are_added(series, first):
    cal = get_calendar(series.calendar)
    start = request_start(series, first)
    if first <= series.default_start:
        assert start == first
        return
    assert series.default_start <= start <= first
    assert first - start <= LEAD_IN
    added = [start + timedelta(days=n) for n in range((first - start).days)]
    assert not any(cal.is_expected(day) for day in added)
    # it stops at the previous expected date, the series' start, or the bound
    before = start - timedelta(days=1)
    assert cal.is_expected(before) or start == series.default_start or first - start == LEAD_IN
