"""BZ=F in the bundled history: the yfinance export's flat roll-day bars are not closes, and the
other Yahoo file wins on a shared day (adapters/history_files.py notes). Real files only: the
rule is checked against Investing.com's independent weekly ICE Brent closes."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from fuelpipe.adapters.history_files import (
    BRENT_FUTURES_KEY,
    BZF_LONG,
    BZF_OLD,
    History,
    is_roll_placeholder,
)

from .conftest import DATASETS

INVESTING = "brent/investing_brent_futures_weekly_2012-12-30_2022-05-01.csv"
HOLIDAY_WEEKS = {date(2020, 6, 28), date(2020, 12, 27), date(2021, 12, 19)}
"""Weeks whose last ICE day (2020-07-03, 2020-12-31, 2021-12-24) has no Yahoo bar: the two
week-ending closes are of different days."""


def _old_rows() -> dict[date, dict[str, str]]:
    with (DATASETS / BZF_OLD).open(newline="") as fh:
        return {date.fromisoformat(r["Date"][:10]): r for r in csv.DictReader(fh)}


def _long_closes() -> dict[date, float]:
    with (DATASETS / BZF_LONG).open(newline="") as fh:
        rows = csv.DictReader(fh)
        return {
            date.fromisoformat(r["data"]): float(r["close"]) for r in rows if r["ticker"] == "BZ=F"
        }


def _investing_week_closes() -> dict[date, float]:
    """Investing.com's weekly ICE Brent: the week's Sunday -> its last day's close."""
    with (DATASETS / INVESTING).open(newline="", encoding="utf-8-sig") as fh:
        out = {}
        for r in csv.DictReader(fh):
            dd, mm, yyyy = r["Data"].split(".")
            out[date(int(yyyy), int(mm), int(dd))] = float(r["Último"].replace(",", "."))
        return out


def test_the_flat_bars_are_the_only_closes_investing_contradicts_but_holiday_weeks() -> None:
    """The evidence for the rule: on each week, the yfinance export's last bar against
    Investing.com's week close. Every flat bar that ends a week disagrees; no bar with a range
    does, but in the three weeks whose last ICE day Yahoo has no bar for."""
    old, investing = _old_rows(), _investing_week_closes()
    flat_disagree, ranged_disagree, flat_agree = [], [], []
    for sunday, close in investing.items():
        days = [
            sunday + timedelta(days=i) for i in range(1, 7) if sunday + timedelta(days=i) in old
        ]
        if not days:
            continue
        row = old[days[-1]]
        agrees = abs(float(row["Close"]) - close) < 0.006
        if is_roll_placeholder(row):
            (flat_agree if agrees else flat_disagree).append(days[-1])
        elif not agrees:
            ranged_disagree.append(sunday)
    assert flat_agree == []
    assert len(flat_disagree) == 10, flat_disagree
    assert set(ranged_disagree) == HOLIDAY_WEEKS


def test_the_two_yahoo_files_differ_only_on_flat_bars_and_the_first_files_last_row() -> None:
    old, long = _old_rows(), _long_closes()
    shared = sorted(set(old) & set(long))
    differ = [d for d in shared if abs(float(old[d]["Close"]) - long[d]) >= 0.006]
    assert len(shared) == 371
    assert differ[-1] == max(old) == date(2022, 11, 9)
    assert all(is_roll_placeholder(old[d]) for d in differ[:-1])
    assert len(differ) == 7


def test_history_leaves_the_flat_bars_out_and_takes_the_settlement_on_shared_days(
    history: History,
) -> None:
    """Fails before the rule: 2019-03-01 held the flat bar's 66.01 (Investing's week close,
    that Friday, is 65.07), and 2019-12-31 its 68.38."""
    futures = dict(history.series[BRENT_FUTURES_KEY])
    old = _old_rows()
    flat = [d for d, row in old.items() if is_roll_placeholder(row)]
    assert len(flat) == 45
    long = _long_closes()
    for day in flat:
        if day in long:
            assert futures[day] == long[day]
        else:
            assert day not in futures, day
    assert futures[date(2022, 3, 1)] == 104.97
    assert futures[date(2021, 12, 31)] == 77.78
    assert futures[date(2022, 11, 9)] == 92.65
    assert date(2019, 3, 1) not in futures
    # a day with a range is kept: the day before that roll
    assert futures[date(2019, 2, 28)] == float(old[date(2019, 2, 28)]["Close"])
