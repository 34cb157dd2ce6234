"""Correlations and pass-through take a daily series' week only once it is whole as published:
FRED's Brent loaded through a Monday ends on a week of that Monday alone, which entered them
as if it were a week's mean (docs/DASHBOARD.md, "The End date is what was known that day")."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.dashboard.conftest import NOW

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard import analysis as an
from fuelpipe.dashboard import views
from fuelpipe.dashboard.repository import SeriesReader
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status

Q = "%23"  # '#' in a query string
GAS, USD, BRENT = "FUEL#GASOLINE#BR", "CURRENCY#USD", "COMMODITY#BRENT"


def _weeks(*points: tuple[date, float]) -> an.TimeSeries:
    return an.TimeSeries.of("x", points)


SUN = date(2022, 1, 16)  # a Sunday; its week runs to Saturday 01-22


@pytest.mark.parametrize(
    ("last_day", "next_expected", "kept"),
    [
        (SUN + timedelta(days=1), SUN + timedelta(days=2), False),  # FRED's batch Monday
        (SUN + timedelta(days=3), SUN + timedelta(days=4), False),  # PTAX read to a Wednesday
        (SUN + timedelta(days=5), SUN + timedelta(days=8), True),  # Friday: whole
        (SUN + timedelta(days=4), SUN + timedelta(days=8), True),  # a holiday Friday: whole
    ],
)
def test_the_last_week_enters_only_when_its_calendar_expects_no_later_day_in_it(
    last_day: date, next_expected: date, kept: bool
) -> None:
    weekly = _weeks((SUN - timedelta(weeks=1), 80.0), (SUN, 90.0))
    out = an.without_unfinished_week(weekly, last_day, next_expected)
    assert out.dates == ((SUN - timedelta(weeks=1), SUN) if kept else (SUN - timedelta(weeks=1),))
    assert out.values == ((80.0, 90.0) if kept else (80.0,))


def test_only_the_week_holding_the_last_day_is_ever_left_out() -> None:
    # A last day in a week the weekly series does not end with (none of its days read) leaves
    # the series as it is; an empty series stays empty.
    weekly = _weeks((SUN - timedelta(weeks=2), 80.0), (SUN - timedelta(weeks=1), 85.0))
    assert an.without_unfinished_week(weekly, SUN + timedelta(days=1), SUN + timedelta(2)) == weekly
    empty = _weeks()
    assert an.without_unfinished_week(empty, SUN + timedelta(1), SUN + timedelta(2)) == empty


def _pair(client: httpx.Client, keys: str, window: str) -> tuple[float, int, str]:
    body = client.get(f"/api/correlations?keys={keys}&{window}").json()
    return body["r"][0][1], body["n"][0][1], body["last"]


@pytest.mark.parametrize("driver", [f"COMMODITY{Q}BRENT", "BRENT_BRL"])
def test_an_end_date_leaves_out_freds_lone_monday(client: httpx.Client, driver: str) -> None:
    """By the end of Thursday 2022-01-27 FRED had loaded Brent through Monday 01-17 (the batch
    through 01-24 is out on Friday 01-28), and gasoline's week of 01-16 was out (Friday 01-21):
    the week of 01-16 paired gasoline's week with Brent's Monday, r 0.077 over 10 weeks, -0.088
    over the 9 whole ones (Brent in BRL -0.038 against -0.162). Now the pair is as over the
    weeks to Saturday 01-15, where every Brent week is whole."""
    keys = f"FUEL{Q}GASOLINE{Q}BR,{driver}"
    at_end = _pair(client, keys, "start=2021-11-07&end=2022-01-27")
    whole = _pair(client, keys, "start=2021-11-07&until=2022-01-15")
    assert at_end == whole
    assert at_end[1:] == (9, "2022-01-09")
    lags = f"/api/lags?fuel=GASOLINE&area=BR&driver={driver}&start=2021-05-16"
    lag_end = client.get(lags + "&end=2022-01-27").json()
    lag_whole = client.get(lags + "&until=2022-01-15").json()
    assert lag_end["through"] == "2022-01-16"  # the pump's week is still there to be read
    assert lag_whole["through"] == "2022-01-09"
    for field in ("cross", "best", "regression", "regression_error"):
        assert lag_end[field] == lag_whole[field], field


def test_a_window_ending_mid_week_leaves_out_the_ptax_week_under_way(client: httpx.Client) -> None:
    """``until`` a Wednesday (2022-01-19) read PTAX's week of 01-16 to Monday-Wednesday and set
    its mean beside gasoline's whole survey week of 01-16; now that week is left out, as in the
    window to Saturday 01-15."""
    keys = f"FUEL{Q}GASOLINE{Q}BR,CURRENCY{Q}USD"
    mid_week = _pair(client, keys, "start=2021-11-07&until=2022-01-19")
    assert mid_week == _pair(client, keys, "start=2021-11-07&until=2022-01-15")
    assert mid_week[2] == "2022-01-09"
    friday = _pair(client, keys, "start=2021-11-07&until=2022-01-21")  # the whole week
    assert (friday[1], friday[2]) == (mid_week[1] + 1, "2022-01-16")


FIRST = date(2026, 2, 8)  # a Sunday: twenty survey weeks to 06-21


@pytest.fixture(scope="module")
def fred_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeriesReader]:
    """No End date, as the page's default views read a store on Wednesday 2026-07-01: the fuel
    to its week of 06-21, PTAX to the day, FRED's Brent to Monday 06-22 (its last batch)."""
    path: Path = tmp_path_factory.mktemp("whole") / "w.sqlite"
    store = SqliteStore(path, clock=FixedClock(NOW))
    days = [FIRST + timedelta(days=i) for i in range((date(2026, 7, 1) - FIRST).days + 1)]
    weekdays = [d for d in days if d.weekday() < 5]

    def value(base: float, i: int, k: float) -> Decimal:
        return Decimal(f"{base * (1 + 0.03 * math.sin(k * i)):.4f}")

    store.put_records(
        [Record(GAS, d, value(6.0, i, 0.9), Status.OK) for i, d in enumerate(days[::7][:20])]
        + [Record(USD, d, value(5.0, i, 0.7), Status.OK) for i, d in enumerate(weekdays)]
        + [
            Record(BRENT, d, value(80.0, i, 1.3), Status.OK)
            for i, d in enumerate(weekdays)
            if d <= date(2026, 6, 22)
        ]
    )
    yield SeriesReader(store, DEFAULT_CATALOG)
    store.close()


def test_without_an_end_date_freds_last_batch_monday_is_left_out(
    fred_behind: SeriesReader,
) -> None:
    """The page's default window ends ``until`` Saturday 06-27: Brent's week of 06-21 held its
    Monday alone and entered the correlations and pass-through; PTAX's is whole (to Friday)."""
    until, start = date(2026, 6, 27), FIRST
    view = views.correlation_view(fred_behind, [GAS, USD, BRENT], start, None, "mean", until=until)
    whole = views.correlation_view(
        fred_behind, [GAS, BRENT], start, None, "mean", until=date(2026, 6, 20)
    )
    assert (view.n[0][1], view.n[0][2]) == (19, 18)  # the dollar's week of 06-21 is whole
    assert (view.r[0][2], view.n[0][2]) == (whole.r[0][1], whole.n[0][1])
    assert fred_behind.weekly(BRENT, start, until, whole=True).dates[-1] == date(2026, 6, 14)
    assert fred_behind.weekly(BRENT, start, until).dates[-1] == date(2026, 6, 21)  # charts
    lags = views.lags_view(
        fred_behind, "GASOLINE", "BR", BRENT, 2, 1, start, None, "mean", until=until
    )
    lags_whole = views.lags_view(
        fred_behind, "GASOLINE", "BR", BRENT, 2, 1, start, None, "mean", until=date(2026, 6, 20)
    )
    assert [c.n for c in lags.cross] == [c.n for c in lags_whole.cross]
    assert [c.r for c in lags.cross] == [c.r for c in lags_whole.cross]
