"""Which intraday series a collection asks for, and when: BZ=F trades into New York's evening.

Pure: every instant is an argument. CME Globex runs Brent futures (BZ=F) Sunday to Friday,
18:00-17:00 New York time with an hour's halt; the evening's bars are dated by New York's date,
which São Paulo has left at New York's 22:00 (winter) or 23:00 (summer)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.intraday import (
    INTRADAY_SERIES,
    collection_days,
    evening_day,
    next_collection,
)

SP = ZoneInfo("America/Sao_Paulo")
BRENT = DEFAULT_CATALOG["COMMODITY#BRENT_FUTURES"]
TUESDAY = date(2025, 12, 9)  # New York's winter: two hours behind São Paulo
WEDNESDAY = date(2025, 12, 10)


def _sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (_sp(2025, 12, 9, 19, 50), None),  # 17:50 New York: the halt
        (_sp(2025, 12, 9, 20, 0), None),  # 18:00: the session reopens, no bar closed yet
        (_sp(2025, 12, 9, 20, 15), TUESDAY),  # 18:15: the 18:00 bar closed
        (_sp(2025, 12, 10, 1, 30), TUESDAY),  # 23:30 New York: still Tuesday's evening there
        (_sp(2025, 12, 10, 2, 0), TUESDAY),  # New York's midnight: the last bar's final close
        (_sp(2025, 12, 10, 2, 15), None),  # Wednesday's own bars: the day's collection
        (_sp(2025, 7, 8, 19, 15), date(2025, 7, 8)),  # summer: 18:15 New York is 19:15 here
        (_sp(2025, 12, 12, 21, 0), None),  # Friday: nothing until Sunday evening
        (_sp(2025, 12, 7, 21, 0), date(2025, 12, 7)),  # Sunday evening opens Monday's session
        (_sp(2026, 4, 2, 21, 0), None),  # Thursday before Good Friday: closed until Monday
    ],
)
def test_brent_futures_evening_is_read_under_new_yorks_date(
    now: datetime, day: date | None
) -> None:
    assert evening_day(BRENT, now) == day


def test_only_brent_futures_trades_into_the_evening() -> None:
    late = _sp(2025, 12, 9, 21, 0)
    evenings = [k for k in INTRADAY_SERIES if evening_day(DEFAULT_CATALOG[k], late)]
    assert evenings == ["COMMODITY#BRENT_FUTURES"]


def test_a_day_collection_asks_every_open_series_for_its_own_day() -> None:
    days = collection_days(DEFAULT_CATALOG, _sp(2025, 12, 9, 12, 0))
    assert days == dict.fromkeys(INTRADAY_SERIES, TUESDAY)


@pytest.mark.parametrize(
    ("now", "days"),
    [
        # after the day window (19:45 in New York's winter) only BZ=F's evening, its date
        (_sp(2025, 12, 9, 21, 0), {"COMMODITY#BRENT_FUTURES": TUESDAY}),
        # past São Paulo's midnight New York's Tuesday goes on
        (_sp(2025, 12, 10, 1, 30), {"COMMODITY#BRENT_FUTURES": TUESDAY}),
        (_sp(2025, 12, 10, 2, 0), {"COMMODITY#BRENT_FUTURES": TUESDAY}),
        # then nothing until the day window: no B3 or NYSE bars, no bulletins at night
        (_sp(2025, 12, 10, 2, 15), {}),
        # summer: the window closes at 18:45 here, the evening begins at 19:15
        (_sp(2025, 7, 8, 19, 0), {}),
        (_sp(2025, 7, 8, 19, 15), {"COMMODITY#BRENT_FUTURES": date(2025, 7, 8)}),
    ],
)
def test_an_evening_collection_asks_brent_futures_alone(
    now: datetime, days: dict[str, date]
) -> None:
    assert collection_days(DEFAULT_CATALOG, now) == days


@pytest.mark.parametrize(
    ("now", "wake"),
    [
        # the day window's last quarter-hour is 19:30; the evening's first is 18:15 New York
        (_sp(2025, 12, 9, 19, 40), _sp(2025, 12, 9, 20, 15)),
        (_sp(2025, 12, 9, 22, 5), _sp(2025, 12, 9, 22, 15)),
        (_sp(2025, 12, 10, 1, 50), _sp(2025, 12, 10, 2, 0)),  # New York's midnight
        (_sp(2025, 12, 10, 2, 0), _sp(2025, 12, 10, 10, 15)),  # then the day window
        (_sp(2025, 7, 8, 18, 50), _sp(2025, 7, 8, 19, 15)),  # summer
        (_sp(2025, 12, 12, 19, 40), None),  # Friday: no evening session
        (_sp(2025, 12, 13, 12, 0), _sp(2025, 12, 14, 20, 15)),  # Saturday: Sunday evening
    ],
)
def test_watch_wakes_through_brent_futures_evening(now: datetime, wake: datetime | None) -> None:
    assert next_collection(DEFAULT_CATALOG, now) == wake


def test_watch_wakes_for_no_evening_of_the_shares() -> None:
    shares = [k for k in INTRADAY_SERIES if k.startswith("STOCK#")]
    assert next_collection(DEFAULT_CATALOG, _sp(2025, 12, 9, 19, 40), shares) is None
