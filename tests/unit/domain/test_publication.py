"""The publication model: when each source's value for a date comes out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.publication import (
    PUBLICATIONS,
    in_grace,
    in_window,
    is_ash_wednesday,
    pollable,
    polled_dates,
    publication,
    window_dates,
)

SP = ZoneInfo("America/Sao_Paulo")
NY = ZoneInfo("America/New_York")


def test_anp_week_is_published_on_the_friday_evening_of_the_survey_week() -> None:
    anp = publication("anp_weekly")
    assert anp.published_at(date(2022, 5, 1)) == datetime(2022, 5, 6, 18, 0, tzinfo=SP)
    saturday = datetime(2022, 5, 7, 23, 59, tzinfo=SP)
    assert anp.published_through(saturday) >= date(2022, 5, 1)
    gas = DEFAULT_CATALOG["FUEL#GASOLINE#BR"]
    assert gas.published_through(saturday) >= date(2022, 5, 1)
    friday_noon = datetime(2022, 5, 6, 12, 0, tzinfo=SP)
    assert gas.published_through(friday_noon) < date(2022, 5, 1)


def test_ptax_close_after_the_last_window_and_late_after_fifty_minutes() -> None:
    ptax = DEFAULT_CATALOG["CURRENCY#USD"].schedule
    day = date(2022, 5, 6)
    assert ptax.published_at(day) == datetime(2022, 5, 6, 13, 10, tzinfo=SP)
    assert ptax.published_through(datetime(2022, 5, 6, 13, 9, tzinfo=SP)) == date(2022, 5, 5)
    assert ptax.published_through(datetime(2022, 5, 6, 13, 10, tzinfo=SP)) == day
    assert in_window(ptax, day, datetime(2022, 5, 6, 13, 30, tzinfo=SP))
    assert not in_window(ptax, day, datetime(2022, 5, 6, 14, 1, tzinfo=SP))
    assert [t.hour for t in PUBLICATIONS["ptax_close"].intraday] == [10, 11, 12, 13]
    bulletin = ptax.intraday_after(datetime(2022, 5, 6, 10, 30, tzinfo=SP))
    assert bulletin == datetime(2022, 5, 6, 11, 10, tzinfo=SP)
    assert ptax.intraday_after(datetime(2022, 5, 6, 13, 30, tzinfo=SP)) is None


def test_ptax_on_ash_wednesday_closes_after_the_1530_window_and_is_late_at_1630() -> None:
    """After Carnival BCB consults two windows, 14:30 and 15:30 (the windows file, every Ash
    Wednesday 2017-2023): the closing is out about 15:40, not 13:10, and late 50 minutes on."""
    ptax = DEFAULT_CATALOG["CURRENCY#USD"].schedule
    ash = date(2025, 3, 5)
    assert ptax.published_at(ash) == datetime(2025, 3, 5, 15, 40, tzinfo=SP)
    assert ptax.stale_at(ash) == datetime(2025, 3, 5, 16, 30, tzinfo=SP)
    assert ptax.published_through(datetime(2025, 3, 5, 14, 5, tzinfo=SP)) < ash
    assert ptax.published_through(datetime(2025, 3, 5, 15, 40, tzinfo=SP)) == ash
    assert in_window(ptax, ash, datetime(2025, 3, 5, 16, 0, tzinfo=SP))
    assert not in_window(ptax, ash, datetime(2025, 3, 5, 14, 0, tzinfo=SP))
    # the day before (Carnival, no PTAX) and after keep the usual times
    assert ptax.published_at(date(2025, 3, 6)) == datetime(2025, 3, 6, 13, 10, tzinfo=SP)
    assert ptax.published_at(date(2025, 3, 4)) == datetime(2025, 3, 4, 13, 10, tzinfo=SP)


def test_ptax_bulletins_on_ash_wednesday_are_the_two_afternoon_readings() -> None:
    from fuelpipe.domain.calendars import get_calendar

    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    ptax, cal = usd.schedule, get_calendar(usd.calendar)
    ash = date(2025, 3, 5)
    assert [t.isoformat("minutes") for t in ptax.intraday_on(ash)] == ["14:40", "15:40"]
    assert ptax.intraday_on(date(2025, 3, 6)) == ptax.intraday
    assert ptax.intraday_after(datetime(2025, 3, 5, 9, 0, tzinfo=SP)).isoformat() == (
        "2025-03-05T14:40:00-03:00"
    )
    # (now, next bulletin): from Carnival (no PTAX) the next is Ash Wednesday's first, not 10:10
    steps = [
        ("2025-03-03T12:00", "2025-03-05T14:40"),
        ("2025-03-05T09:00", "2025-03-05T14:40"),
        ("2025-03-05T14:45", "2025-03-05T15:40"),
        ("2025-03-05T15:45", "2025-03-06T10:10"),
    ]
    for now, nxt in steps:
        at = datetime.fromisoformat(now).replace(tzinfo=SP)
        assert ptax.intraday_after(at, cal) == datetime.fromisoformat(nxt).replace(tzinfo=SP)


def test_ash_wednesday_is_forty_six_days_before_easter() -> None:
    days = ["2017-03-01", "2018-02-14", "2019-03-06", "2020-02-26", "2021-02-17"]
    days += ["2022-03-02", "2023-02-22", "2024-02-14", "2025-03-05", "2026-02-18"]
    found = [
        d.isoformat()
        for d in (date(2017, 1, 1) + timedelta(days=n) for n in range(366 * 10))
        if is_ash_wednesday(d)
    ]
    assert found == days


def test_nyse_close_follows_new_york_time_across_daylight_saving() -> None:
    xom = DEFAULT_CATALOG["STOCK#XOM"].schedule
    assert xom.published_at(date(2022, 1, 10)) == datetime(2022, 1, 10, 16, 30, tzinfo=NY)
    assert xom.published_at(date(2022, 7, 11)).astimezone(SP).hour == 17  # EDT: UTC-4 = SP+1
    assert xom.published_at(date(2022, 1, 10)).astimezone(SP).hour == 18  # EST: UTC-5 = SP+2


def test_every_series_names_a_known_schedule() -> None:
    for series in DEFAULT_CATALOG:
        assert series.schedule.name == series.publication
        assert series.schedule.allowance.total_seconds() > 0


def test_ptax_bulletins_come_only_on_days_the_calendar_expects() -> None:
    """No PTAX bulletin on a Saturday or on Christmas: the next one is the first (10:10) of the
    next expected day, not 10:10..13:10 of the day without a session (watch woke four times
    for nothing). Without the calendar the answer stays the same-day one."""
    from fuelpipe.domain.calendars import get_calendar

    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    ptax, cal = usd.schedule, get_calendar(usd.calendar)
    saturday = datetime(2026, 12, 5, 8, 0, tzinfo=SP)
    assert ptax.intraday_after(saturday, cal) == datetime(2026, 12, 7, 10, 10, tzinfo=SP)
    assert ptax.intraday_after(saturday) == datetime(2026, 12, 5, 10, 10, tzinfo=SP)
    christmas = datetime(2026, 12, 25, 8, 0, tzinfo=SP)
    assert not cal.is_expected(christmas.date())
    assert ptax.intraday_after(christmas, cal) == datetime(2026, 12, 28, 10, 10, tzinfo=SP)
    after_noon = datetime(2026, 12, 25, 13, 15, tzinfo=SP)
    assert ptax.intraday_after(after_noon, cal) == datetime(2026, 12, 28, 10, 10, tzinfo=SP)
    # a business day: the day's next bulletin; after its last, the next business day's first
    thursday = datetime(2026, 12, 24, 11, 30, tzinfo=SP)
    assert ptax.intraday_after(thursday, cal) == datetime(2026, 12, 24, 12, 10, tzinfo=SP)
    friday_late = datetime(2026, 12, 4, 13, 30, tzinfo=SP)
    assert ptax.intraday_after(friday_late, cal) == datetime(2026, 12, 7, 10, 10, tzinfo=SP)
    assert ptax.intraday_after(friday_late) is None
    # a schedule without bulletins has none, whatever the calendar
    brent = DEFAULT_CATALOG["COMMODITY#BRENT"]
    assert brent.schedule.intraday_after(saturday, get_calendar(brent.calendar)) is None


@pytest.mark.parametrize("name", sorted(PUBLICATIONS))
@pytest.mark.parametrize("grace", [False, True], ids=["window", "window or grace"])
def test_window_dates_are_exactly_the_dates_whose_window_holds_the_instant(
    name: str, grace: bool
) -> None:
    """Every 40 minutes over three weeks that hold a change of clocks (New York's, 2022-03-13):
    the dates window_dates gives are those in_window is true of, among every date whose
    window could hold the instant (from its publication delay and allowance before, on); and
    the dates polled_dates gives, those pollable is true of (the window or the grace after)."""
    pub = PUBLICATIONS[name]
    holds, span_of = (pollable, polled_dates) if grace else (in_window, window_dates)
    batch = 0 if pub.batch_through is None else 6  # a batch's first date waits 6 days more
    reach = pub.days_after + batch + (pub.allowance + pub.grace * grace).days + 3
    start = datetime(2022, 3, 1, tzinfo=UTC)
    for step in range(0, 21 * 36):
        now = start + timedelta(minutes=40 * step)
        days = [now.date() + timedelta(days=d) for d in range(-reach, 2)]
        want = [d for d in days if holds(pub, d, now)]
        span = span_of(pub, now)
        got = [] if span is None else _days(*span)
        assert got == want, (name, now)


def test_a_missing_ptax_close_is_polled_every_15_minutes_for_4_hours_after_its_window() -> None:
    """Window 13:10-14:00 (polled every 5 minutes), then the grace to 18:00 (every 15): a
    close that never comes costs 16 polls more a day, and none after 18:00."""
    ptax = publication("ptax_close")
    wed = date(2022, 5, 4)
    at = datetime(2022, 5, 4, 14, 0, tzinfo=SP)
    assert in_window(ptax, wed, at) and not in_grace(ptax, wed, at)
    assert ptax.poll_interval(wed, at) == timedelta(minutes=5)
    later = at + timedelta(minutes=80)
    assert in_grace(ptax, wed, later) and not in_window(ptax, wed, later)
    assert ptax.poll_interval(wed, later) == timedelta(minutes=15)
    assert ptax.polled_until(wed) == datetime(2022, 5, 4, 18, 0, tzinfo=SP)
    assert polled_dates(ptax, later) == (wed, wed) and window_dates(ptax, later) is None
    assert not pollable(ptax, wed, ptax.polled_until(wed) + timedelta(seconds=1))
    assert ptax.grace // ptax.grace_every == 16


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=d) for d in range((last - first).days + 1)]


CHICAGO = ZoneInfo("America/Chicago")


def test_fred_brent_comes_in_weekly_batches_through_a_monday_out_the_friday_after() -> None:
    """The evidence (domain/publication.py): FRED's answer of Thursday 2025-11-27 ended on
    Monday 2025-11-24, without the Tuesday or Wednesday after it. So that Monday's value is out
    by the end of that Thursday (no later than the schedule's Friday 00:00 Chicago), and the
    Tuesday's only with the next batch, through Monday 2025-12-01. Failed before: a flat 7
    days put the Monday at 2025-12-01 00:00 São Paulo and the Tuesday at 2025-12-02."""
    fred = publication("fred_brent")
    thursday_ends = datetime(2025, 11, 28, 0, 0, tzinfo=CHICAGO)
    assert fred.published_at(date(2025, 11, 24)) == thursday_ends
    next_batch = datetime(2025, 12, 5, 0, 0, tzinfo=CHICAGO)
    for day in range(25, 32):  # Tuesday 25 .. Monday 1 December: one batch
        assert fred.published_at(date(2025, 11, 24) + timedelta(days=day - 24)) == next_batch
    assert fred.published_through(thursday_ends - timedelta(minutes=1)) == date(2025, 11, 17)
    assert fred.published_through(thursday_ends) == date(2025, 11, 24)
    assert fred.published_through(next_batch - timedelta(minutes=1)) == date(2025, 11, 24)
    # a missing Monday is late 3 days after its batch; a Tuesday not before its own batch's
    assert fred.stale_at(date(2025, 11, 24)) == thursday_ends + timedelta(days=3)
    assert window_dates(fred, datetime(2025, 11, 29, 12, 0, tzinfo=SP)) == (
        date(2025, 11, 18),
        date(2025, 11, 24),
    )


def test_fred_brent_one_offset_is_its_tuesdays_so_it_never_counts_a_batch_early() -> None:
    """``available_after`` is one offset for every date (the dashboard's and the rules' users):
    for a batch it must be the longest, a Tuesday's (10 days, and Chicago's hours ahead of São
    Paulo's midnight)."""
    fred = publication("fred_brent")
    for day in (date(2025, 11, 25) + timedelta(days=i) for i in range(7)):
        start = datetime.combine(day, datetime.min.time(), SP)
        assert fred.published_at(day) <= start + fred.available_after
    tuesday = date(2025, 11, 25)
    offset = fred.published_at(tuesday) - datetime.combine(tuesday, datetime.min.time(), SP)
    assert offset >= timedelta(days=10)
    assert fred.available_after >= offset
    assert DEFAULT_CATALOG["COMMODITY#BRENT"].available_after == fred.available_after
