"""BZ=F carries Brent spot past FRED's last day, counting each day's move once.

FRED publishes Brent spot in weekly batches to a Monday; BZ=F's daily move carries it on from
the last day both series have on or before spot's last day (docs/OUTLOOK.md, "The model"). When
spot's last day has no BZ=F bar (a US holiday such as Martin Luther King day, or a bar the
history loader drops), a carry started from BZ=F's bar before that day with spot's last value
counted spot's move over the gap twice: once in spot, again in BZ=F's move.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from fuelpipe.adapters.history_files import BRENT_FUTURES_KEY, BRENT_KEY, USD_KEY, History
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.series import (
    Cutoffs,
    Inputs,
    Lags,
    Series,
    brent_brl,
    day_number,
    known_at,
)

from .conftest import bundled_inputs

LAGS = Lags.from_catalog(DEFAULT_CATALOG)


def _bundled(history: History, key: str, day: date) -> float:
    return dict(history.series[key])[day]


# (survey week, published that Friday 18:00 with Brent spot known to its Monday; the day the
# carry starts, the last day spot and BZ=F both have; BZ=F's last known bar; the as-of Friday)
WEEKS = [
    # MLK day 2022-01-17: spot has Monday, BZ=F no bar; the carry starts on Friday 01-14
    (date(2022, 1, 16), date(2022, 1, 14), date(2022, 1, 20), date(2022, 1, 21)),
    # no holiday: both have Monday 01-24, the carry starts there (as it always did)
    (date(2022, 1, 23), date(2022, 1, 24), date(2022, 1, 27), date(2022, 1, 28)),
]


@pytest.mark.parametrize(("week", "start", "bar", "friday"), WEEKS)
def test_the_as_of_level_counts_each_days_brent_move_once(
    history: History, week: date, start: date, bar: date, friday: date
) -> None:
    """The as-of Friday's Brent in BRL is spot on the carry's first day times BZ=F's move from
    that day to its last known bar, times Friday's PTAX, by hand from the bundled values. At
    MLK week this is 87.17 × 88.38/86.06 × 5.4401 = 487.00 (later data: 89.75 × 5.4401 =
    488.25); Monday's spot 87.82 carried by BZ=F from Friday read 490.63, Friday-to-Monday
    counted twice."""
    inputs = bundled_inputs(history, "FUEL#GASOLINE#BR")
    cut = Cutoffs.at(known_at(week, LAGS.fuel), LAGS)
    monday = week + timedelta(days=1)
    assert (cut.brent, cut.futures, cut.usd) == tuple(day_number(d) for d in (monday, bar, friday))
    want = (
        _bundled(history, BRENT_KEY, start)
        * _bundled(history, BRENT_FUTURES_KEY, bar)
        / _bundled(history, BRENT_FUTURES_KEY, start)
        * _bundled(history, USD_KEY, friday)
    )
    got = brent_brl(inputs, cut, np.array([day_number(friday)], dtype=np.int64))
    assert got[0] == pytest.approx(want, rel=1e-12)


def _series(points: dict[int, float]) -> Series:
    days = np.array(sorted(points), dtype=np.int64)
    return Series(days, np.array([points[int(d)] for d in days], dtype=np.float64))


def test_a_bz_bar_on_a_day_spot_lacks_does_not_start_the_carry() -> None:
    """Synthetic (named so): spot has days 0, 1, 3 (none on 2), BZ=F bars on 0, 2, 4. The last
    day both have is 0: spot's move 0 -> 3 is replaced by BZ=F's 0 -> 4 from day 4 on, while
    spot's own days read spot. Started from BZ=F's bar 2 with spot's day-3 value, the move
    2 -> 4 would be added to spot's 0 -> 3, which already holds 0 -> 2."""
    spot = _series({0: 100.0, 1: 101.0, 3: 104.0})
    futures = _series({0: 90.0, 2: 92.0, 4: 95.0})
    usd = _series(dict.fromkeys(range(6), 5.0))
    inputs = Inputs(fuel=Series.empty(), brent=spot, usd=usd, futures=futures)
    cut = Cutoffs(fuel=5, brent=5, usd=5, futures=5)
    got = brent_brl(inputs, cut, np.arange(6, dtype=np.int64))
    want = [100.0, 101.0, 101.0, 104.0, 100.0 * 95 / 90, 100.0 * 95 / 90]
    np.testing.assert_allclose(got, np.array(want) * 5.0, rtol=1e-12)


def test_with_no_day_shared_the_carry_starts_at_bz_bar_before_spots_last_day() -> None:
    """Synthetic: spot and BZ=F share no day; BZ=F's last bar on or before spot's last day (1)
    starts the carry with spot's last value (day 2), as before the rule counted days once."""
    spot = _series({0: 100.0, 2: 102.0})
    futures = _series({1: 90.0, 3: 99.0})
    usd = _series(dict.fromkeys(range(5), 5.0))
    inputs = Inputs(fuel=Series.empty(), brent=spot, usd=usd, futures=futures)
    cut = Cutoffs(fuel=4, brent=4, usd=4, futures=4)
    got = brent_brl(inputs, cut, np.array([2, 3, 4], dtype=np.int64))
    np.testing.assert_allclose(got, np.array([102.0, 102.0 * 99 / 90, 102.0 * 99 / 90]) * 5.0)


def test_until_bz_has_a_bar_after_spots_last_day_brent_is_spots_last_value() -> None:
    """Synthetic: BZ=F stops (day 1) before spot does (day 2): nothing of BZ=F since says where
    Brent went, so after spot's last day it stays spot's last value, not the value on the last
    day both have, which would drop spot's own move 1 -> 2; from BZ=F's next bar (day 5) on,
    BZ=F's move from day 1 carries spot's day-1 value."""
    spot = _series({0: 100.0, 1: 101.0, 2: 103.0})
    futures = _series({0: 90.0, 1: 91.0, 5: 93.0})
    usd = _series(dict.fromkeys(range(7), 5.0))
    inputs = Inputs(fuel=Series.empty(), brent=spot, usd=usd, futures=futures)
    got = brent_brl(inputs, Cutoffs(fuel=6, brent=6, usd=6, futures=6), np.arange(2, 7))
    want = [103.0, 103.0, 103.0, 101.0 * 93 / 91, 101.0 * 93 / 91]
    np.testing.assert_allclose(got, np.array(want) * 5.0, rtol=1e-12)
