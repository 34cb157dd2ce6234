"""Each row reads the drivers as of its own day, and a driver stale then is missing there.

The driver blocks of a row (a training week's, the forecast's) ended at the last day any
driver had a value known at that row's cutoffs: when the drivers stopped a few days early (a
PTAX outage inside its 10-day limit, BZ=F's feed down), the forecast's "last 7 days" were the
week before that day, an older move than the one every training row had in that column, and a
row published while a driver was stale past its limit trained the model on Brent in BRL frozen
at that driver's last value. Now every row's blocks end at its as-of day (the last day a driver
value can be known then), each driver read at or before it, and a row whose Brent in BRL a stale
driver froze then has no driver terms: it is no training row of the driver model, as the
forecast made at that week (the backtest's) was fitted without them.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from fuelpipe.outlook.backtest import walk_forward
from fuelpipe.outlook.model import Params, build_samples, nowcast
from fuelpipe.outlook.series import (
    CutoffRows,
    Cutoffs,
    Inputs,
    Lags,
    Series,
    StaleAfter,
    brent_brl_current,
    day_number,
    stale_drivers,
)

from .test_outlook_stale import AS_OF, FIRST, LAST_WEEK, _inputs

CUT = Cutoffs.at(AS_OF, Lags())


def _carried(series: Series, to_day: int) -> Series:
    """The series with its last value repeated on every day after its last to ``to_day``."""
    more = np.arange(int(series.days[-1]) + 1, to_day + 1, dtype=np.int64)
    return Series(
        np.concatenate([series.days, more]),
        np.concatenate([series.values, np.full(len(more), series.values[-1])]),
    )


def test_drivers_that_stop_inside_their_limits_read_as_their_last_values_carried_on():
    """PTAX (and BZ=F, and FRED's Brent) ending days before their cutoffs, inside their limits:
    nothing is known of them since, so the forecast is the one made with each last value carried
    on to its cutoff. It was not: the blocks ended at the last day any driver had a value, so the
    forecast's newest block was a move older than every training row's newest block."""
    early = LAST_WEEK - timedelta(days=2)  # 8 days before PTAX's and BZ=F's cutoff
    cases = [
        _inputs(LAST_WEEK, early, None),  # FRED's Brent to its cutoff, as the demo (no BZ=F)
        _inputs(LAST_WEEK - timedelta(days=12), early, None),
        _inputs(LAST_WEEK, early, early),
    ]
    for inputs in cases:
        assert stale_drivers(inputs, CUT, StaleAfter()) == ()
        carried = Inputs(
            inputs.fuel,
            _carried(inputs.brent, CUT.brent),
            _carried(inputs.usd, CUT.usd),
            _carried(inputs.futures, CUT.futures) if len(inputs.futures) else inputs.futures,
        )
        made, want = nowcast(inputs, AS_OF), nowcast(carried, AS_OF)
        assert made is not None and want is not None
        assert made.steps == want.steps
        walked = walk_forward(inputs, LAST_WEEK - timedelta(weeks=2))[0][-1]
        assert walked.last_week == LAST_WEEK and walked.steps == made.steps


def test_a_row_published_while_the_dollar_was_stale_is_no_training_row_of_the_driver_model():
    """PTAX missing for 8 weeks mid-history (an outage never backfilled), then current again:
    the rows published while it was stale past its 10 days have no driver terms (their Brent in
    BRL was the dollar's last value, frozen); every row before and after has them, so the driver
    model still trains to the fuel's last week, and the forecast is made with the drivers."""
    fresh = _inputs(LAST_WEEK + timedelta(days=6), LAST_WEEK + timedelta(days=6), None)
    hole_from, hole_to = (
        day_number(FIRST + timedelta(weeks=90)),
        day_number(FIRST + timedelta(weeks=98)),
    )
    keep = (fresh.usd.days < hole_from) | (fresh.usd.days > hole_to)
    inputs = Inputs(
        fresh.fuel, fresh.brent, Series(fresh.usd.days[keep], fresh.usd.values[keep]), fresh.futures
    )
    lags, params, limits = Lags(), Params(), StaleAfter()
    samples = build_samples(inputs, lags, params)
    drivers = samples.features[:, 1 + params.own_lags : 1 + params.own_lags + params.driver_blocks]
    cuts = CutoffRows.published(inputs.fuel.days, lags)
    frozen = np.array(
        [
            not brent_brl_current(inputs, cut, stale_drivers(inputs, cut, limits))
            for cut in (
                Cutoffs(int(f), int(b), int(u), int(x))
                for f, b, u, x in zip(cuts.fuel, cuts.brent, cuts.usd, cuts.futures, strict=True)
            )
        ]
    )
    assert 5 <= frozen.sum() <= 8  # the weeks published more than 10 days into the hole
    assert np.all(np.isnan(drivers[frozen]))
    assert np.all(np.isnan(samples.features[frozen, -1]))  # nor the gap to a frozen level
    assert np.all(np.isfinite(drivers[~frozen]))  # every other row, before and after the hole
    assert np.isfinite(samples.features[-1]).all()  # to the fuel's last week
    made = nowcast(inputs, AS_OF)
    assert made is not None and made.stale == () and not made.drivers_dropped
    forecasts = walk_forward(inputs, FIRST + timedelta(weeks=88), FIRST + timedelta(weeks=104))[0]
    weeks = {day_number(f.last_week): f.drivers_dropped for f in forecasts}
    for week, stale in zip(samples.weeks, frozen, strict=True):
        if int(week) in weeks:
            assert weeks[int(week)] == stale  # as the forecast made at that week
