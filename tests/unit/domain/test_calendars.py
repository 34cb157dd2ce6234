"""Calendars checked against the real publication days in the snapshot and datasets/."""

import csv
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from devtools.datasets import dataset

from fuelpipe.domain.calendars import (
    SAO_PAULO,
    expected_between,
    get_calendar,
    known_by_end_of,
    last_available_date,
    period_start,
)
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.gaps import missing_dates
from fuelpipe.replay import SNAPSHOT_DIR

SNAPSHOT = Path(SNAPSHOT_DIR)


def _real_ptax_dates() -> list[date]:
    """Real PTAX closing dates of the bundled snapshot."""
    with (SNAPSHOT / "bcb" / "USD.csv").open() as fh:
        return sorted(date.fromisoformat(row[next(iter(row))][:10]) for row in csv.DictReader(fh))


def test_ptax_follows_anbima_exactly_on_real_days():
    real = _real_ptax_dates()
    assert len(real) > 200
    cal = get_calendar("ANBIMA")
    expected = list(expected_between(cal, real[0], real[-1]))
    assert sorted(set(expected) ^ set(real)) == []


def test_anbima_carnival_and_ash_wednesday():
    cal = get_calendar("ANBIMA")
    assert not cal.is_expected(date(2022, 2, 28))  # Carnival Monday
    assert not cal.is_expected(date(2022, 3, 1))  # Carnival Tuesday
    assert cal.is_expected(date(2022, 3, 2))  # Ash Wednesday has a PTAX
    assert not cal.is_expected(date(2022, 4, 15))  # Good Friday
    assert cal.is_expected(date(2021, 12, 24))  # PTAX is published, B3 closed
    assert not get_calendar("B3").is_expected(date(2021, 12, 24))


def test_nyse_and_weekends():
    cal = get_calendar("NYSE")
    assert not cal.is_expected(date(2021, 7, 5))  # Independence Day observed
    assert not cal.is_expected(date(2021, 11, 25))  # Thanksgiving
    assert not cal.is_expected(date(2021, 5, 22))  # Saturday
    assert cal.next_expected(date(2021, 5, 21)) == date(2021, 5, 24)


def test_brent_futures_expect_no_day_the_later_yahoo_download_lacks():
    """The 2022 download of BZ=F has bars on Thanksgiving 2021 and Juneteenth 2022, the 2026
    one (to 2026-07) has neither: expecting them left a backfill's two days PENDING, then
    QUARANTINED. A bar Yahoo returns on such a day is stored anyway, as unexpected."""
    cal = get_calendar("NYMEX_BRENT")
    assert not cal.is_expected(date(2021, 11, 25))  # Thanksgiving 2021
    assert not cal.is_expected(date(2022, 6, 20))  # Juneteenth 2022 (observed)
    with dataset("stocks/strongylis__yahoo.csv").open(newline="") as fh:
        bars = [date.fromisoformat(r["data"]) for r in csv.DictReader(fh) if r["ticker"] == "BZ=F"]
    assert len(bars) > 1000
    assert missing_dates(cal, min(bars), max(bars), bars) == []


def test_calendar_fingerprints_differ_by_calendar_and_rules_and_not_by_process():
    """A watermark keeps its calendar's fingerprint: it must change with the expected dates
    and be the same in another process (no randomised hash in it)."""
    import subprocess
    import sys
    from dataclasses import replace

    from fuelpipe.domain.calendars import CALENDAR_NAMES, calendar_fingerprint

    prints = {name: calendar_fingerprint(get_calendar(name)) for name in CALENDAR_NAMES}
    assert len(set(prints.values())) == len(CALENDAR_NAMES)
    b3 = get_calendar("B3")
    moved = replace(b3, holiday_set=b3.holiday_set - {date(2020, 11, 20)})
    assert calendar_fingerprint(moved) != prints["B3"]
    code = (
        "from fuelpipe.domain.calendars import CALENDAR_NAMES, calendar_fingerprint, get_calendar;"
        "print(' '.join(calendar_fingerprint(get_calendar(n)) for n in CALENDAR_NAMES))"
    )
    for seed in ("1", "2"):
        env = {"PYTHONHASHSEED": seed, "PYTHONPATH": ":".join(sys.path)}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout.split() == list(prints.values())


def test_fred_brent_leaves_england_bank_holidays_out():
    cal = get_calendar("FRED_BRENT")
    with dataset("brent/jackthompsondb__DCOILBRENTEU.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    valued = {date.fromisoformat(r["observation_date"]) for r in rows if r["DCOILBRENTEU"]}
    empty = {date.fromisoformat(r["observation_date"]) for r in rows if not r["DCOILBRENTEU"]}
    assert not any(cal.is_expected(d) for d in empty)  # an empty value is never a gap
    assert all(cal.is_expected(d) for d in valued - _FRED_PRICED_ON_BANK_HOLIDAYS)


# Substitute ("observed") bank holidays and the 2022 Jubilee on which the real file still has
# a price: the calendar does not expect them, so they are never gaps (only never stored).
_FRED_PRICED_ON_BANK_HOLIDAYS = {date(2020, 12, 28), date(2022, 1, 3), date(2022, 6, 3)}


def test_anp_weeks_are_sundays_minus_the_survey_pause():
    cal = get_calendar("ANP_WEEKLY")
    weeks = list(expected_between(cal, date(2020, 8, 1), date(2020, 10, 31)))
    # the week of 16 August 2020 was surveyed (its row is in the real workbooks)
    assert weeks == [
        date(2020, 8, 2),
        date(2020, 8, 9),
        date(2020, 8, 16),
        date(2020, 10, 18),
        date(2020, 10, 25),
    ]
    assert all(w.weekday() == 6 for w in weeks)


def test_monthly_calendar():
    cal = get_calendar("MONTHLY")
    assert list(expected_between(cal, date(2021, 11, 15), date(2022, 2, 1))) == [
        date(2021, 12, 1),
        date(2022, 1, 1),
        date(2022, 2, 1),
    ]


def test_unknown_calendar():
    with pytest.raises(ValueError, match="unknown calendar"):
        get_calendar("MOON")


def test_publication_lag_hides_todays_ptax_before_it_is_published():
    sp = ZoneInfo("America/Sao_Paulo")
    lag = timedelta(hours=14)
    assert last_available_date(datetime(2022, 5, 6, 10, 0, tzinfo=sp), lag) == date(2022, 5, 5)
    assert last_available_date(datetime(2022, 5, 6, 14, 30, tzinfo=sp), lag) == date(2022, 5, 6)
    utc = datetime(2022, 5, 6, 2, 0, tzinfo=ZoneInfo("UTC"))  # still 5 May in São Paulo
    assert last_available_date(utc, timedelta(0)) == date(2022, 5, 5)


def test_what_was_known_on_a_day_follows_each_schedule():
    # The dashboard's End date: ANP publishes the week of Sunday 2022-01-30 on Friday 02-04 at
    # 18:00, so on Thursday 02-03 the latest week known was 01-23's; PTAX and the B3 close are
    # known on their own day; FRED Brent with its weekly batch.
    anp = DEFAULT_CATALOG["FUEL#GASOLINE#BR"].available_after
    assert known_by_end_of(date(2022, 2, 3), anp) == date(2022, 1, 29)  # week of 01-23
    assert known_by_end_of(date(2022, 2, 4), anp) == date(2022, 1, 30)  # published that evening
    for key in ("CURRENCY#USD", "STOCK#PETR4"):
        lag = DEFAULT_CATALOG[key].available_after
        assert known_by_end_of(date(2022, 2, 3), lag) == date(2022, 2, 3), key
    # FRED Brent: on Thursday 02-03 the batch through Monday 01-31 is not out (Friday 00:00
    # Chicago), so the latest known is Monday 01-24, by the schedule the dashboard asks; its one
    # offset (a Tuesday's, the longest) never says more.
    fred = DEFAULT_CATALOG["COMMODITY#BRENT"]
    end_of_day = datetime.combine(date(2022, 2, 3), time.max, SAO_PAULO)
    assert fred.schedule.published_through(end_of_day) == date(2022, 1, 24)
    assert known_by_end_of(date(2022, 2, 3), fred.available_after) <= date(2022, 1, 24)


def test_anbima_holidays_equal_what_bizdays_itself_loads():
    from bizdays import Calendar as BizCalendar

    from fuelpipe.domain.calendars import _anbima_holidays

    loaded = {d if isinstance(d, date) else d.date() for d in BizCalendar.load("ANBIMA").holidays}
    assert _anbima_holidays() == frozenset(loaded)
    assert len(loaded) > 1000


@pytest.mark.parametrize(
    ("calendar", "day", "start"),
    [
        ("ANP_WEEKLY", date(2021, 5, 19), date(2021, 5, 16)),  # a Wednesday: its week's Sunday
        ("ANP_WEEKLY", date(2021, 5, 16), date(2021, 5, 16)),
        ("ANP_WEEKLY", date(2021, 5, 22), date(2021, 5, 16)),  # the week's Saturday
        ("MONTHLY", date(2021, 5, 19), date(2021, 5, 1)),
        ("MONTHLY", date(2021, 5, 1), date(2021, 5, 1)),
        ("ANBIMA", date(2021, 5, 19), date(2021, 5, 19)),
        ("ANBIMA", date(2021, 5, 22), date(2021, 5, 22)),  # a Saturday is its own day
    ],
)
def test_period_start_is_the_date_the_period_holding_a_day_is_keyed_by(calendar, day, start):
    assert period_start(get_calendar(calendar), day) == start
