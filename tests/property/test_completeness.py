"""``completeness`` counts exactly as its earlier formula did (five passes over the dates, now
one): random histories of OK, PENDING, QUARANTINED and ABSENT records, revised or not, some
dated after what is published at the clock, some on dates the calendar does not expect, some
on one date twice, some before the series' start, with and without ``since``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from fuelpipe.domain.calendars import get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Series
from fuelpipe.domain.completeness import Completeness, completeness, expected_dates
from fuelpipe.domain.gaps import clamp_start
from fuelpipe.domain.models import PresentDate, Status

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2024, 3, 6, 12, 0, tzinfo=SP)
# A weekday calendar (PTAX: a value on most days, weekends unexpected) and a weekly one (ANP:
# Sundays only, so most days are unexpected).
SERIES = [DEFAULT_CATALOG["CURRENCY#USD"], DEFAULT_CATALOG["FUEL#GASOLINE#BR"]]
FIRST = date(2024, 1, 1)
# Dates from before any start to a few weeks after what is published at NOW.
DAYS = st.dates(min_value=FIRST - timedelta(days=20), max_value=date(2024, 4, 10))


def reference(
    series: Series, present: Iterable[PresentDate], now: datetime, since: date | None = None
) -> Completeness:
    """The formula before the single pass, verbatim but for the start: a record dated before
    the series' start, a value or not, no longer dates it (the health view's freshness starts
    at the first record from the series' start on; completeness there too)."""
    dates = list(present)
    end = series.published_through(now)
    later = sum(1 for p in dates if p.status is Status.OK and p.date > end)
    if since is not None:
        start = clamp_start(series.default_start, since)
        dates = [p for p in dates if p.date >= start]
    elif dates:
        start = min(
            (p.date for p in dates if p.date >= series.default_start),
            default=series.default_start,
        )
    else:
        start = series.default_start
    dates = [p for p in dates if p.status is not Status.OK or p.date <= end]
    stored = {p.date: p.status for p in dates}
    expected = expected_dates(series.calendar, start, end)
    cal = get_calendar(series.calendar)
    counts = dict.fromkeys(Status, 0)
    for status in stored.values():
        counts[status] += 1
    values = [d for d, s in stored.items() if s is Status.OK]
    return Completeness(
        first=min(values) if values else None,
        last=max(values) if values else None,
        last_available=end,
        expected=len(expected),
        ok=counts[Status.OK],
        ok_expected=sum(1 for d, s in stored.items() if s is Status.OK and d in expected),
        missing=sum(1 for d in expected if d not in stored),
        pending=counts[Status.PENDING],
        quarantined=counts[Status.QUARANTINED],
        unexpected=sum(
            1
            for d, s in stored.items()
            if s is Status.OK and d not in expected and not cal.is_expected(d)
        ),
        revised=sum(1 for p in dates if p.revised),
        absent=counts[Status.ABSENT],
        after_clock=later,
    )


PRESENT = st.lists(
    st.builds(
        PresentDate,
        DAYS,
        st.sampled_from([Status.OK, Status.OK, Status.PENDING, Status.QUARANTINED, Status.ABSENT]),
        st.booleans(),
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(
    series=st.sampled_from(SERIES),
    present=PRESENT,
    since=st.none() | DAYS,
    hours=st.integers(min_value=-24 * 30, max_value=24 * 30),
    as_generator=st.booleans(),
)
def test_completeness_counts_as_the_five_pass_formula(
    series: Series,
    present: list[PresentDate],
    since: date | None,
    hours: int,
    as_generator: bool,
) -> None:
    series = replace(series, default_start=FIRST)  # inside the dates drawn: ``since`` bites
    now = NOW + timedelta(hours=hours)
    given_present: Iterable[PresentDate] = iter(present) if as_generator else present
    assert completeness(series, given_present, now, since) == reference(series, present, now, since)


def test_a_history_with_every_case_at_once() -> None:
    """One history pinned by hand: a revised OK value, a weekend value (unexpected), a date
    stored twice (the last wins), PENDING, QUARANTINED and ABSENT dates, and OK and PENDING
    dates after what is published at the clock."""
    usd = SERIES[0]
    end = usd.published_through(NOW)
    assert end == date(2024, 3, 5)  # PTAX's 13:00 close of the 6th is not out at noon
    present = [
        PresentDate(date(2024, 2, 26), Status.OK, revised=True),  # Monday, the first date
        PresentDate(date(2024, 2, 27), Status.PENDING),
        PresentDate(date(2024, 2, 27), Status.OK),  # the same date again: OK wins
        PresentDate(date(2024, 2, 28), Status.QUARANTINED),
        PresentDate(date(2024, 2, 29), Status.ABSENT),
        PresentDate(date(2024, 3, 2), Status.OK),  # a Saturday
        PresentDate(date(2024, 3, 4), Status.OK),
        PresentDate(date(2024, 3, 7), Status.OK, revised=True),  # after the clock
        PresentDate(date(2024, 3, 8), Status.PENDING),  # after the clock, still counted
    ]
    got = completeness(usd, present, NOW)
    assert got == reference(usd, present, NOW)
    # Weekdays 26 Feb-5 Mar (none a PTAX holiday): 7 expected; OK on 26, 27, 4 Mar of them.
    assert got == Completeness(
        first=date(2024, 2, 26),
        last=date(2024, 3, 4),
        last_available=end,
        expected=7,
        ok=4,
        ok_expected=3,
        missing=2,  # 1 and 5 March
        pending=1,
        quarantined=1,
        unexpected=1,
        revised=1,
        absent=1,
        after_clock=1,
    )
