"""A driver's week under way: the outlook reads its latest known day, never a mean of its week.

The dashboard's correlations average a daily series over each survey week and leave out a last
week not yet whole (FRED's Brent read to a batch's Monday alone: docs/DASHBOARD.md). The
outlook builds no such week: its driver blocks are 7-day log changes of Brent in BRL between
single days (the row's as-of day and the same weekday before), each read at or before that day
as known at the row's cutoffs, so a week under way enters as its latest known value (spot to
its batch's Monday, carried on by BZ=F's move from the last day both have, then by the dollar
alone), the quantity every
training row reads at the same offset (docs/OUTLOOK.md, "The model").
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from fuelpipe.adapters.history_files import BRENT_FUTURES_KEY, BRENT_KEY, USD_KEY, History
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.model import Params, build_samples, state_at
from fuelpipe.outlook.series import Cutoffs, Lags, day_number, day_of, known_at, truncate

from .conftest import bundled_inputs

LAGS = Lags.from_catalog(DEFAULT_CATALOG)
PARAMS = Params()
BLOCKS = slice(1 + PARAMS.own_lags, 1 + PARAMS.own_lags + PARAMS.driver_blocks)


def _value(history: History, key: str, day: date) -> float:
    """The bundled value of ``key`` dated ``day`` (the test fails if there is none)."""
    return dict(history.series[key])[day]


# (survey week; Brent spot's last known day, alone in the week under way; the days of the
# carry: the last day both spot and BZ=F have on or before spot's day, and BZ=F's last known,
# or None before BZ=F's first day; PTAX's as-of day). Published Friday 18:00, Brent is known
# through that week's Monday.
CASES = [
    # Martin Luther King day: spot on Monday 01-17 but BZ=F has no bar that day, so the carry
    # starts on Friday 01-14, the last day both have, from spot's own value of that day
    (
        date(2022, 1, 16),
        date(2022, 1, 17),
        (date(2022, 1, 14), date(2022, 1, 20)),
        date(2022, 1, 21),
    ),
    # a week without a holiday: both have Monday 01-24, where the carry starts
    (
        date(2022, 1, 23),
        date(2022, 1, 24),
        (date(2022, 1, 24), date(2022, 1, 27)),
        date(2022, 1, 28),
    ),
    # before BZ=F (2017-11-09): spot to Monday, then the dollar alone to Friday
    (date(2015, 3, 15), date(2015, 3, 16), None, date(2015, 3, 20)),
]


@pytest.mark.parametrize(("week", "spot_day", "carry", "ptax_day"), CASES)
def test_the_newest_driver_block_reads_the_latest_known_day_not_a_mean_of_its_week(
    history: History,
    week: date,
    spot_day: date,
    carry: tuple[date, date] | None,
    ptax_day: date,
) -> None:
    """At a survey week's publication (Friday 18:00) FRED's Brent is known to that week's
    Monday alone: the forecast's newest driver block is Brent in BRL's log change between two
    single days, the Friday's latest known value (Monday's spot carried on) against the Friday
    before, as the training row of that week reads it; a mean of the week's days (one Monday
    against five) would be another number."""
    inputs = bundled_inputs(history, "FUEL#GASOLINE#BR")
    made = known_at(week, LAGS.fuel)  # the week's publication, where the forecast is made
    cut = Cutoffs.at(made, LAGS)
    # the week under way holds Brent's Monday alone, PTAX to its Friday
    assert (day_of(cut.brent), day_of(cut.usd)) == (spot_day, ptax_day)
    assert day_of(int(inputs.brent.upto(cut.brent).days[-1])) == spot_day

    # by hand from the bundled values: the as-of day's Brent in BRL is spot on the carry's first
    # day (Monday's, or before BZ=F's first day), moved by BZ=F's bars known since, times that
    # Friday's PTAX; a week before, that Friday's own
    start, move = spot_day, 1.0
    if carry is not None:
        start = carry[0]
        move = _value(history, BRENT_FUTURES_KEY, carry[1]) / _value(
            history, BRENT_FUTURES_KEY, carry[0]
        )
    now = _value(history, BRENT_KEY, start) * move * _value(history, USD_KEY, ptax_day)
    before_day = day_of(day_number(ptax_day) - 7)
    before = _value(history, BRENT_KEY, before_day) * _value(history, USD_KEY, before_day)
    want = math.log(now / before)

    known = truncate(inputs, cut)
    samples = build_samples(known, LAGS, PARAMS)
    state = state_at(known, samples, made, LAGS, PARAMS)
    assert state is not None
    last, row = state
    assert day_of(int(samples.weeks[last])) == week
    assert row[BLOCKS][0] == pytest.approx(want, rel=1e-12)
    # the training row of that week read its drivers at the same instant, the same way
    np.testing.assert_array_equal(samples.features[last, BLOCKS], row[BLOCKS])
