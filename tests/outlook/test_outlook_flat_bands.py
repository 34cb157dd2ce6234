"""A flat price (the same pump price every week for years) gets bands, not a point.

Its regression fits the flat weeks exactly, so its leave-one-out errors are all 0, and a band
from them alone had zero width: a certainty the model does not have. The bands' floor is a
random walk's with the model's own floor volatility (``Params.vol_floor``), so even then the
80% band is wider than the survey's R$0.01 tick. The series here are SYNTHETIC: a constant
price (the panel's states at a constant price each, led by a flat national series) and random
drivers, not ANP data.
"""

from __future__ import annotations

from datetime import date, timedelta
from math import sqrt
from statistics import NormalDist

import numpy as np
import pytest

from fuelpipe.outlook import pooled
from fuelpipe.outlook.forecast import Forecast
from fuelpipe.outlook.model import nowcast
from fuelpipe.outlook.params import HORIZONS, Params
from fuelpipe.outlook.series import Inputs, Lags, Series, day_of, known_at

from .test_outlook_calendar import _daily  # a synthetic driver: a seeded log random walk

FIRST = date(2019, 1, 6)  # a Sunday, as ANP dates its survey weeks
WEEKS = 160
FLAT = 5.999


def _flat(price: float) -> Inputs:
    """SYNTHETIC: ``price`` every survey week, Brent and the dollar moving every day."""
    fuel = Series.of((FIRST + timedelta(weeks=i), price) for i in range(WEEKS))
    first, last = FIRST - timedelta(days=60), day_of(int(fuel.days[-1])) + timedelta(days=30)
    return Inputs(fuel, _daily(first, last, 1, 80.0), _daily(first, last, 2, 5.0), Series.empty())


def _check(forecast: Forecast | None, price: float) -> None:
    assert forecast is not None
    assert forecast.last_price == pytest.approx(price)
    z80, z95 = NormalDist().inv_cdf(0.90), NormalDist().inv_cdf(0.975)
    floor = Params().vol_floor
    for step in forecast.steps:
        assert step.lo95 < step.lo80 < step.point < step.hi80 < step.hi95
        assert step.hi80 - step.lo80 > 0.01  # wider than the survey's tick
        # the floor itself: a random walk's band at the floor volatility
        half80 = z80 * floor * sqrt(step.horizon)
        half95 = z95 * floor * sqrt(step.horizon)
        assert np.log(step.hi80 / step.point) == pytest.approx(half80, rel=1e-9)
        assert np.log(step.point / step.lo95) == pytest.approx(half95, rel=1e-9)
    assert [s.horizon for s in forecast.steps] == list(HORIZONS)


def test_a_flat_area_gets_bands_of_the_floor_volatility() -> None:
    """Brazil's or a region's own regression on a flat synthetic series."""
    inputs = _flat(FLAT)
    as_of = known_at(day_of(int(inputs.fuel.days[-1])), Lags().fuel)

    _check(nowcast(inputs, as_of), FLAT)


def test_flat_states_led_by_a_flat_national_series_get_the_floor_too() -> None:
    """The states' bands come from their walk-forward errors, all 0 on flat synthetic states."""
    national = _flat(FLAT)
    members = [
        Inputs(_flat(price).fuel, national.brent, national.usd, national.futures)
        for price in (5.899, 6.149, 6.399)
    ]
    as_of = known_at(day_of(int(national.fuel.days[-1])), Lags().fuel)

    made = pooled.nowcast_panel(members, as_of, national=national)

    for forecast, price in zip(made, (5.899, 6.149, 6.399), strict=True):
        _check(forecast, price)
