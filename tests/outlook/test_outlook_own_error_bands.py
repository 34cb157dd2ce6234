"""Brazil's and the regions' bands from the model's own walk-forward errors, on the REAL bundled
history: near nominal for every fuel Brazil is served, and nothing published after a forecast's
week moves its bands.

The leave-one-out bands they replaced covered 0.734 / 0.892 (CNG) and 0.745 at 80% (premium
gasoline) at four weeks: each residual's fit saw the weeks after it.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fuelpipe.adapters.history_files import History
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.backtest import score, walk_forward
from fuelpipe.outlook.model import nowcast
from fuelpipe.outlook.params import Params
from fuelpipe.outlook.series import Cutoffs, Inputs, Lags, Series, served_at
from fuelpipe.stages.outlook import fuel_series

from .conftest import bundled_inputs

SP = ZoneInfo("America/Sao_Paulo")
START = date(2016, 10, 1)  # bench/bench_outlook.py's table
SERVED = sorted(s.product for s in fuel_series(DEFAULT_CATALOG) if s.area == "BR")


@pytest.mark.parametrize("fuel", SERVED)
def test_brazils_bands_cover_within_five_points_of_nominal(history: History, fuel: str) -> None:
    """Every fuel Brazil's outlook serves, walk-forward from 2016-10 (premium gasoline from its
    first forecast, 2022-05), at every served horizon, one to five weeks: 80% within
    0.75–0.85, 95% within 0.90–1.00 (the leave-one-out bands: CNG 0.734 / 0.892 and premium
    gasoline 0.745 / 0.964 at four weeks)."""
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    scores = score(walk_forward(bundled_inputs(history, f"FUEL#{fuel}#BR"), START, lags=lags)[1])
    assert [s.horizon for s in scores] == [1, 2, 3, 4, 5]  # 3 and 5 were not scored
    for s in scores:
        assert s.n > 150
        assert 0.75 <= s.coverage80 <= 0.85, (fuel, s.horizon, s.coverage80)
        assert 0.90 <= s.coverage95 <= 1.00, (fuel, s.horizon, s.coverage95)


def _later_moved(inputs: Inputs, cut: Cutoffs) -> Inputs:
    """The inputs with every value not yet known at ``cut`` changed (times 1.3 or 0.7, by turns),
    the fuel's weeks after its cutoff and each driver's days after its own."""

    def moved(series: Series, last: int) -> Series:
        later = series.days > last
        factors = np.where(np.arange(len(series)) % 2 == 0, 1.3, 0.7)
        return Series(series.days, np.where(later, series.values * factors, series.values))

    return Inputs(
        moved(inputs.fuel, cut.fuel),
        moved(inputs.brent, cut.brent),
        moved(inputs.usd, cut.usd),
        moved(inputs.futures, cut.futures),
    )


@pytest.mark.parametrize("as_of", [datetime(2022, 3, 16, 15, 0, tzinfo=SP)])
@pytest.mark.parametrize("key", ["FUEL#GASOLINE#BR", "FUEL#CNG#BR"])
def test_values_not_yet_known_do_not_move_the_bands(history: History, key: str, as_of) -> None:
    """Perturbing every value published after the forecast's instant changes neither the served
    forecast (``nowcast``) nor the backtest's from the same week, whose walk over the whole
    history has every later outcome at hand; and that forecast reads the walk's errors (not the
    leave-one-out fallback's: at least ``least_errors`` at every horizon by 2022)."""
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    inputs = bundled_inputs(history, key)
    made_at = served_at(inputs.fuel, as_of, lags)
    moved = _later_moved(inputs, Cutoffs.at(made_at, lags))
    assert not np.array_equal(moved.fuel.values, inputs.fuel.values)
    served = nowcast(inputs, as_of, lags)
    assert served is not None and nowcast(moved, as_of, lags) == served

    week = served.last_week
    start = date.fromordinal(week.toordinal() - 7)  # the forecasts from the weeks around it
    [full] = [f for f in walk_forward(inputs, start, None, lags)[0] if f.last_week == week]
    [cut] = [f for f in walk_forward(moved, start, None, lags)[0] if f.last_week == week]
    assert full.steps == cut.steps == served.steps

    loo = nowcast(inputs, as_of, lags, Params(least_errors=10**6))  # every horizon's fallback
    assert loo is not None
    assert [s.point for s in loo.steps] == [s.point for s in served.steps]
    assert all(a.hi95 != b.hi95 for a, b in zip(loo.steps, served.steps, strict=True))


def test_a_week_without_a_finite_change_is_left_out_of_the_later_fits(history: History) -> None:
    """``walked_changes`` sums every week's products once (running sums): a week whose price
    change is not finite is left out of them, so every later fit is still made (without that
    week), not NaN from there on, as a per-week fit spoils only the windows holding it
    (stored prices are finite; a synthetic NaN here, on the real gasoline samples)."""
    from dataclasses import replace

    from fuelpipe.outlook.model import build_samples, horizon_targets, walked_changes

    lags = Lags.from_catalog(DEFAULT_CATALOG)
    params = Params()
    samples = build_samples(bundled_inputs(history, "FUEL#GASOLINE#BR"), lags, params)
    targets = horizon_targets(samples.weeks)
    rows = np.arange(len(samples.weeks) - 20, len(samples.weeks), dtype=np.intp)
    clean = walked_changes(samples, rows, params, targets)
    usable = np.flatnonzero(np.all(np.isfinite(samples.features), axis=1))
    log_price = samples.log_price.copy()
    log_price[usable[len(usable) // 2]] = np.nan  # a week with every regressor known
    damaged = walked_changes(replace(samples, log_price=log_price), rows, params, targets)
    assert np.isfinite(clean).sum() > 0
    np.testing.assert_array_equal(np.isfinite(damaged), np.isfinite(clean))
