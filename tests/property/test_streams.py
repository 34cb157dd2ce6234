"""Streams cover exactly the missing dates, in order, without overlap, within the max range."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.gaps import group_streams, minimum_requests, missing_dates

CALENDARS = ["ANBIMA", "B3", "NYSE", "FRED_BRENT", "ANP_WEEKLY", "MONTHLY"]


@st.composite
def scenarios(draw):
    cal_name = draw(st.sampled_from(CALENDARS))
    cal = get_calendar(cal_name)
    start = draw(st.dates(min_value=date(1995, 1, 1), max_value=date(2030, 1, 1)))
    span = draw(st.integers(min_value=0, max_value=900))
    end = start + timedelta(days=span)
    expected = list(expected_between(cal, start, end))
    present = draw(st.sets(st.sampled_from(expected))) if expected else set()
    max_range = draw(st.integers(min_value=1, max_value=400))
    return cal, start, end, expected, present, max_range


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_streams_partition_the_missing_dates(scenario):
    cal, start, end, expected, present, max_range = scenario
    missing = missing_dates(cal, start, end, present)
    assert missing == [d for d in expected if d not in present]
    assert_streams_cover(cal, group_streams(cal, missing, max_range), missing, max_range)


def assert_streams_cover(cal, streams, dates, max_range):
    flat = [d for s in streams for d in s.dates]
    assert flat == dates  # exactly the dates, in order, no overlap
    for stream in streams:
        assert stream.span_days <= max_range or len(stream.dates) == 1
        for a, b in zip(stream.dates, stream.dates[1:], strict=False):
            # consecutive in the series' own calendar: only non-expected days lie between
            assert cal.next_expected(a) == b
    for left, right in zip(streams, streams[1:], strict=False):
        # a break is real: a present date lies between, or the range limit was hit
        assert cal.next_expected(left.end) != right.start or (
            (right.start - left.start).days + 1 > max_range
        )


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_a_full_backfill_needs_the_minimum_number_of_requests(scenario):
    cal, start, end, expected, _present, max_range = scenario
    if not expected:
        return
    streams = group_streams(cal, expected, max_range)
    assert len(streams) <= minimum_requests(expected[0], expected[-1], max_range) + 0
    assert len(streams) >= 1


def test_weekend_does_not_break_a_stream():
    cal = get_calendar("ANBIMA")
    missing = [date(2022, 5, 6), date(2022, 5, 9)]  # Friday, Monday
    assert len(group_streams(cal, missing, 30)) == 1


def test_carnival_does_not_break_a_stream():
    cal = get_calendar("ANBIMA")
    missing = [date(2022, 2, 25), date(2022, 3, 2)]  # Friday before Carnival, Ash Wednesday
    assert len(group_streams(cal, missing, 30)) == 1


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.data())
def test_streams_of_any_dates_break_only_where_the_calendar_does(scenario, data):
    # Retries and revisions may ask for dates the calendar does not expect (a value published
    # on a holiday): those are grouped by the calendar's next_expected, like expected ones.
    cal, start, end, _expected, _present, max_range = scenario
    every_day = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    dates = data.draw(st.lists(st.sampled_from(every_day), max_size=60))
    streams = group_streams(cal, dates, max_range)
    assert_streams_cover(cal, streams, sorted(set(dates)), max_range)
