"""The pass-through nowcast: direct multi-horizon regressions on weekly log changes.

For a fuel and area whose last published survey week is ``t``, the model predicts the log
change ``log P[t+h] - log P[t]`` for ``h = 1`` (the survey week in progress) to ``h = 5``, one
least-squares regression per horizon, refitted at every as-of time on every earlier week
whose outcome was already published (at most the last 1000). Its regressors are:

- the fuel's own last four weekly log changes (pump prices move in steps that take two to
  four weeks to spread from refineries to stations, so changes are autocorrelated);
- Brent in BRL (Brent × PTAX): its log changes over the four 7-day blocks ending at the last
  day any driver value is known (the move since the last survey, then the three before);
- an error-correction term: the gap between log pump price and log Brent-in-BRL, minus that
  gap's mean over the previous year (pump prices catch up when the driver has moved away).

Intervals come from the regression's leave-one-out residuals (cheap out-of-sample errors),
scaled by the fuel's recent volatility, so they widen in turbulent weeks and narrow in calm
ones. Pure: numpy only, no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from fuelpipe.outlook.series import (
    NO_DAY,
    CutoffRows,
    Cutoffs,
    Days,
    Floats,
    Inputs,
    Lags,
    brent_brl,
    brent_brl_rows,
    day_of,
    last_driver_day,
    last_driver_days,
    truncate,
)

HORIZONS = (1, 2, 3, 4, 5)
"""Weeks after the last published one: 1 is the survey week in progress, 2–5 the next four."""


@dataclass(frozen=True, slots=True)
class Params:
    """The model's knobs. ``window`` and ``ridge`` were picked among five settings by their
    backtest ratio (see README: an expanding window and light shrinkage did best)."""

    own_lags: int = 4
    driver_blocks: int = 4
    error_correction: bool = True
    gap_window: int = 52
    window: int = 1000
    min_train: int = 52
    ridge: float = 1e-5
    vol_weeks: int = 8
    vol_floor: float = 0.002

    def __post_init__(self) -> None:
        if self.gap_window < 1 or min(self.own_lags, self.driver_blocks, self.vol_weeks) < 0:
            raise ValueError(f"outlook parameters out of range: {self}")


@dataclass(frozen=True, slots=True)
class Step:
    """The forecast for one survey week."""

    horizon: int
    week: date
    point: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


@dataclass(frozen=True, slots=True)
class Forecast:
    """One area's outlook made at ``as_of`` from the survey week ``last_week``."""

    as_of: datetime
    last_week: date
    last_price: float
    driver_move: float
    """Brent in BRL: log change from the end of the last survey week to the last known day."""
    driver_day: date | None
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Samples:
    """One row per published survey week: its regressors as known when it was published."""

    weeks: Days
    log_price: Floats
    features: Floats
    """n × k regressors; NaN where the history is too short."""
    vol: Floats
    gaps: Floats
    """log pump price − log Brent in BRL, as known at each week's publication."""
    gap_means: Floats
    """The mean of the last ``gap_window`` finite gaps before each week (NaN if too few)."""


DriverCache = dict[tuple[bytes, Lags, int], tuple[Floats, Floats]]
"""Driver regressors by survey weeks: every fuel and area of one refresh shares the drivers."""


def _driver_rows(inputs: Inputs, cuts: CutoffRows, blocks: int) -> tuple[Floats, Floats]:
    """Per cutoffs row: the block log changes of Brent in BRL ending at the last known driver
    day (rows × blocks), and its log level there (NaN where no driver is known)."""
    ends = last_driver_days(inputs, cuts)
    none = ends == NO_DAY
    points = np.where(none, 0, ends)[:, None] - 7 * np.arange(blocks + 1, dtype=np.int64)
    levels = np.log(brent_brl_rows(inputs, cuts, points))
    levels[none] = np.nan
    return levels[:, :-1] - levels[:, 1:], levels[:, 0]


def _published_drivers(
    inputs: Inputs, lags: Lags, params: Params, cache: DriverCache | None
) -> tuple[Floats, Floats]:
    """:func:`_driver_rows` at each survey week's publication (shared through ``cache``)."""
    weeks = inputs.fuel.days
    key = (weeks.tobytes(), lags, params.driver_blocks)
    found = cache.get(key) if cache is not None else None
    if found is None:
        found = _driver_rows(inputs, CutoffRows.published(weeks, lags), params.driver_blocks)
        if cache is not None:
            cache[key] = found
    return found


def _own_changes(log_price: Floats, lags: int) -> Floats:
    """Row i: the last ``lags`` weekly log changes up to week i, newest first (NaN early on)."""
    n = len(log_price)
    changes = log_price[1:] - log_price[:-1]
    own = np.full((n, lags), np.nan)
    for k in range(lags if n > lags else 0):
        own[lags:, k] = changes[lags - 1 - k : n - 1 - k]
    return own


def _windowed_means(values: Floats, window: int, least: int) -> Floats:
    """Entry p: the mean of ``values[:p]``'s last ``window`` (NaN when fewer than ``least``).

    Each mean is numpy's own over the same elements in the same order as ``np.mean`` of that
    slice (a reduction along rows of a window view), so it is bit-identical to the slice's.
    """
    n = len(values)
    means = np.full(n + 1, np.nan)
    for p in range(max(least, 1), min(window, n + 1)):  # fewer than a window: prefixes
        means[p] = np.mean(values[:p])
    if window <= n:
        windows = np.lib.stride_tricks.sliding_window_view(values, window)
        means[window:] = np.mean(windows, axis=1)
    return means


def _volatility(log_price: Floats, params: Params) -> Floats:
    """Row i: the root mean square of the last ``vol_weeks`` weekly changes, with the floor."""
    changes = log_price[1:] - log_price[:-1]
    mean_sq = np.zeros(len(log_price))
    if params.vol_weeks > 0 and len(changes):
        mean_sq[1:] = _windowed_means(changes**2, params.vol_weeks, 1)[1:]
    return np.asarray(np.sqrt(mean_sq + params.vol_floor**2), dtype=np.float64)


def _gap_means(gaps: Floats, params: Params) -> Floats:
    """Row i: the mean of the last ``gap_window`` finite gaps before week i (NaN if too few)."""
    finite = np.flatnonzero(np.isfinite(gaps))
    means = _windowed_means(gaps[finite], params.gap_window, params.gap_window // 2)
    earlier = np.searchsorted(finite, np.arange(len(gaps)), side="left")
    return np.asarray(means[earlier], dtype=np.float64)


def build_samples(
    inputs: Inputs, lags: Lags, params: Params, cache: DriverCache | None = None
) -> Samples:
    """Every published week's regressors, each computed from what was known at its publication.

    A week's row depends only on values known when that week was published, so rows can be
    computed once and shared by every later as-of time without leaking the future.
    """
    weeks = inputs.fuel.days
    log_price = np.log(inputs.fuel.values)
    n = len(weeks)
    blocks, levels = _published_drivers(inputs, lags, params, cache)
    gaps = log_price - levels
    gap_means = _gap_means(gaps, params)
    parts = [np.ones((n, 1)), _own_changes(log_price, params.own_lags), blocks]
    if params.error_correction:
        parts.append((gaps - gap_means)[:, None])
    features = np.hstack(parts)
    return Samples(weeks, log_price, features, _volatility(log_price, params), gaps, gap_means)


def _fit(x: Floats, y: Floats, ridge: float) -> tuple[Floats, Floats]:
    """Ridge least squares (the intercept unpenalised) and its leave-one-out residuals."""
    penalty = ridge * len(y) * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    gram_inv = np.linalg.pinv(x.T @ x + penalty)
    beta = gram_inv @ x.T @ y
    leverage = np.einsum("ij,jk,ik->i", x, gram_inv, x)
    residuals = (y - x @ beta) / np.maximum(1.0 - leverage, 1e-6)
    return beta, residuals


def forecast_from(
    samples: Samples,
    last: int,
    row: Floats,
    as_of: datetime,
    driver_move: float,
    driver_day: date | None,
    params: Params,
) -> Forecast | None:
    """The forecast from published week ``last`` with regressors ``row``; None if untrainable."""
    if not np.all(np.isfinite(row)):
        return None
    steps: list[Step] = []
    last_log = float(samples.log_price[last])
    vol_now = float(samples.vol[last])
    for h in HORIZONS:
        ends = np.arange(0, last - h + 1)  # rows whose h-week outcome is published by now
        ends = ends[-params.window :]
        x = samples.features[ends]
        ok = np.all(np.isfinite(x), axis=1)
        ends, x = ends[ok], x[ok]
        if len(ends) < params.min_train:
            return None
        y = samples.log_price[ends + h] - samples.log_price[ends]
        beta, loo = _fit(x, y, params.ridge)
        scaled = np.abs(loo) / samples.vol[ends]
        q80, q95 = np.quantile(scaled, [0.80, 0.95]) * vol_now
        mean = last_log + float(row @ beta)
        steps.append(
            Step(
                horizon=h,
                week=day_of(int(samples.weeks[last]) + 7 * h),
                point=float(np.exp(mean)),
                lo80=float(np.exp(mean - q80)),
                hi80=float(np.exp(mean + q80)),
                lo95=float(np.exp(mean - q95)),
                hi95=float(np.exp(mean + q95)),
            )
        )
    return Forecast(
        as_of=as_of,
        last_week=day_of(int(samples.weeks[last])),
        last_price=float(np.exp(last_log)),
        driver_move=driver_move,
        driver_day=driver_day,
        steps=tuple(steps),
    )


def state_at(
    inputs: Inputs, samples: Samples, as_of: datetime, lags: Lags, params: Params
) -> tuple[int, Floats, float, date | None] | None:
    """(last published week's index, its regressors at as_of, driver move, last driver day)."""
    cut = Cutoffs.at(as_of, lags)
    last = int(np.searchsorted(samples.weeks, cut.fuel, side="right")) - 1
    if last < 0:
        return None
    blocks, levels = _driver_rows(inputs, CutoffRows.of(cut), params.driver_blocks)
    row = samples.features[last].copy()  # its own changes and intercept; drivers as of now
    row[1 + params.own_lags : 1 + params.own_lags + params.driver_blocks] = blocks[0]
    if params.error_correction:
        row[-1] = float(samples.log_price[last] - levels[0]) - samples.gap_means[last]
    end = last_driver_day(inputs, cut)
    week_end = int(samples.weeks[last]) + 6
    move = np.nan
    if end is not None:
        at = brent_brl(inputs, cut, np.array([week_end, end], dtype=np.int64))
        move = float(np.log(at[1] / at[0]))
    return last, row, move, (day_of(end) if end is not None else None)


def nowcast(
    inputs: Inputs,
    as_of: datetime,
    lags: Lags | None = None,
    params: Params | None = None,
    cache: DriverCache | None = None,
) -> Forecast | None:
    """The outlook at ``as_of`` from the inputs as known then; None when history is too short.

    ``cache`` may be shared by calls whose inputs have the same driver series (one refresh of
    every fuel and area); it holds driver regressors by cutoffs, so it never leaks later values.
    """
    lags = lags or Lags()
    params = params or Params()
    known = truncate(inputs, Cutoffs.at(as_of, lags))
    samples = build_samples(known, lags, params, cache)
    state = state_at(known, samples, as_of, lags, params)
    if state is None:
        return None
    last, row, move, driver_day = state
    return forecast_from(samples, last, row, as_of, move, driver_day, params)
