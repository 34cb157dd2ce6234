"""The pass-through nowcast: direct multi-horizon regressions on weekly log changes.

For a fuel and area whose last published survey week is ``t``, the model predicts the log
change ``log P[t+h] - log P[t]`` for ``h = 1`` (the survey week in progress) to ``h = 5``, one
least-squares regression per horizon, refitted at every as-of time on every earlier week
whose outcome was already published (at most the last 1000). Its regressors are:

- the fuel's own last four weekly log changes (pump prices move in steps that take two to
  four weeks to spread from refineries to stations, so changes are autocorrelated);
- Brent in BRL (Brent × PTAX): its log changes over the four 7-day blocks ending at the row's
  as-of day, the last day a driver value can be known then (the last 7 days, then the three
  weeks before), each driver read at or before each block's end (:func:`_driver_rows`);
- an error-correction term: the gap between log pump price and log Brent-in-BRL, minus that
  gap's mean over the previous year (pump prices catch up when the driver has moved away).

Intervals come from the model's own walk-forward errors (:func:`walked_scales`: its earlier
forecasts whose outcome was published by the forecast's week, the last ``error_weeks``), or
from the regression's leave-one-out residuals at a horizon with fewer than ``least_errors`` of
them, each over the fuel's volatility then and scaled by its volatility now, so they widen in
turbulent weeks and narrow in calm ones; their quantiles take the finite-sample conformal rank
(:func:`conformal_quantiles`), and no horizon's band is narrower than a shorter one's.
No band is narrower than a random walk's at the floor volatility (:func:`band_floors`): a
flat price's regression fits its weeks exactly, and zero errors would make a band of no width.

Weeks are calendar weeks, not rows: ANP's survey pauses, and ``t+h`` is the week ``7h`` days
after ``t`` (a week whose ``t+h`` was not published is no sample at ``h``). A driver too old at
the as-of time is named on the forecast; one that freezes Brent in BRL drops the driver terms
(:func:`driver_check`), and a training week at whose publication one froze it has no driver
terms, so it is no training row of a model with them (:func:`build_samples`). This is Brazil's
and each region's model; a state's forecast moves its last price by Brazil's forecast change
(:mod:`fuelpipe.outlook.pooled`).
Pure: numpy only, no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from statistics import NormalDist

import numpy as np

from fuelpipe.outlook.forecast import (
    Forecast,
    StaleDriver,
    Step,
)
from fuelpipe.outlook.params import HORIZONS, Params, first_usable_week
from fuelpipe.outlook.series import (
    Counts,
    CutoffRows,
    Cutoffs,
    Days,
    Floats,
    Inputs,
    Lags,
    StaleAfter,
    brent_brl,
    brent_brl_current,
    brent_brl_current_rows,
    brent_brl_last_day,
    brent_brl_rows,
    day_of,
    driver_days,
    known_at,
    served_at,
    stale_drivers,
    truncate,
)


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


DriverCache = dict[tuple[bytes, Lags, int, StaleAfter], tuple[Floats, Floats]]
"""Driver regressors by survey weeks: every fuel and area of one refresh shares the drivers."""


def _driver_rows(
    inputs: Inputs, cuts: CutoffRows, blocks: int, limits: StaleAfter
) -> tuple[Floats, Floats]:
    """Per cutoffs row: the block log changes of Brent in BRL ending at the row's as-of day
    (:func:`~fuelpipe.outlook.series.driver_days`; rows × blocks), and its log level there.

    Each driver is read as of each block's end (its latest value known at the row's cutoffs,
    on or before that day), so a driver that stopped a few days early is its last value carried
    on, in every row alike. NaN where Brent in BRL has no value, or where a stale driver froze
    it at the row's cutoffs (``limits``: :func:`~fuelpipe.outlook.series.stale_drivers`): its
    level is then that driver's last value, not the market's, and the row is no sample of the
    driver terms, as the forecast made then was fitted without them (:func:`driver_check`)."""
    points = driver_days(cuts)[:, None] - 7 * np.arange(blocks + 1, dtype=np.int64)
    levels = np.log(brent_brl_rows(inputs, cuts, points))
    levels[~brent_brl_current_rows(inputs, cuts, limits)] = np.nan
    return levels[:, :-1] - levels[:, 1:], levels[:, 0]


def _published_drivers(
    inputs: Inputs, lags: Lags, params: Params, limits: StaleAfter, cache: DriverCache | None
) -> tuple[Floats, Floats]:
    """:func:`_driver_rows` at each survey week's publication (shared through ``cache``)."""
    weeks = inputs.fuel.days
    key = (weeks.tobytes(), lags, params.driver_blocks, limits)
    found = cache.get(key) if cache is not None else None
    if found is None:
        cuts = CutoffRows.published(weeks, lags)
        found = _driver_rows(inputs, cuts, params.driver_blocks, limits)
        if cache is not None:
            cache[key] = found
    return found


def weekly_changes(weeks: Days, log_price: Floats, count: int) -> Floats:
    """Row i, column k: the log change over the calendar week ending ``7k`` days before week i,
    on the straight line (in logs) through the published weeks; NaN before the first week.

    Weeks, not rows: across a survey pause the line spreads the move evenly over the weeks
    missed, so each column is still a one-week change at its calendar distance (counted in
    rows, a nine-week pause's whole move was "last week's change"). Row i reads only weeks up
    to week i, so nothing later leaks into it.
    """
    n = len(weeks)
    if not n or not count:
        return np.full((n, count), np.nan)
    ends = weeks[:, None] - 7 * np.arange(count + 1, dtype=np.int64)
    path = np.interp(ends, weeks, log_price, left=np.nan)
    return np.asarray(path[:, :-1] - path[:, 1:], dtype=np.float64)


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


def pause_spans(weeks: Days, count: int) -> Floats:
    """Row i, column k: the length in weeks of the stretch between published weeks that holds
    the calendar week ending ``7k`` days before week i (1 for a week published after the one
    before it, k + 1 for each week of a k-week pause and the week after it; 1 before the first
    week). Like :func:`weekly_changes`, row i reads only weeks up to week i."""
    n = len(weeks)
    if not n or not count:
        return np.ones((n, count))
    ends = weeks[:, None] - 7 * np.arange(count, dtype=np.int64)
    after = np.searchsorted(weeks, ends, side="left")  # the first published week >= the end
    inside = after > 0
    before = np.maximum(after - 1, 0)
    gaps = (weeks[np.minimum(after, n - 1)] - weeks[before]) / 7.0
    return np.asarray(np.where(inside, np.maximum(gaps, 1.0), 1.0), dtype=np.float64)


def volatility(weeks: Days, log_price: Floats, params: Params) -> Floats:
    """Row i: the root mean square of the weekly log changes of the ``vol_weeks`` calendar
    weeks to week i (those after the first week), a pause's weeks as :func:`_volatility`
    counts them, the largest left out as it does, with the floor."""
    changes = weekly_changes(weeks, log_price, params.vol_weeks)
    return _volatility(changes, pause_spans(weeks, params.vol_weeks), params)


def _volatility(changes: Floats, spans: Floats, params: Params) -> Floats:
    """Row i: the root mean square of the weekly ``changes`` of the last ``vol_weeks`` calendar
    weeks (those after the first week), the largest left out once ``vol_trim_after`` weeks
    old, with the floor.

    A week of a pause spanning k weeks (``spans``, :func:`pause_spans`) has its change times
    sqrt(k): the straight line gives it 1/k of the pause's move, and a random walk's k-week
    move is sqrt(k) weekly ones, so 1/k of it is 1/sqrt(k) of a week's. Taken as they were,
    the spread weeks made the volatility sqrt(k) too small for ``vol_weeks`` weeks after a
    pause (after ANP's 2020 pause, a nine-week gap, Brazil's fell from about 1% to 0.3% and the
    one-week 80% bands of the next nine weeks covered 31 of 45 fuel-weeks; 37 with the weeks
    counted so). The k weeks together count the
    pause's move once, as k weeks' variance. The regressors keep the spread changes: a
    forecast's own lags are the calendar weeks' moves on the line.

    The largest of those squares is left out once its week is older than the last
    ``vol_trim_after`` weeks (never when None, or when it is the only week known): one week's
    jump made the root mean square of every week several times the weeks' usual move for
    ``vol_weeks`` weeks, and the bands with it (Brazil's diesel rose 13.5% in the week to
    2022-03-13; two weeks later its one-week 95% band was ±24% in logs, ±8% so). The jump
    counts in full in its week and the next, when the next move was often large too
    (docs/OUTLOOK.md, "Bands after a jump")."""
    squares = changes[:, : params.vol_weeks] ** 2 * spans[:, : params.vol_weeks]
    known = np.isfinite(squares)
    count = known.sum(axis=1)
    filled = np.where(known, squares, 0.0)
    if params.vol_trim_after is not None and filled.shape[1]:
        largest = np.argmax(filled, axis=1)  # the latest week of the largest, on a tie
        trim = (largest >= params.vol_trim_after) & (count > 1)
        weeks = np.arange(filled.shape[1])[None, :]
        filled = np.where(trim[:, None] & (weeks == largest[:, None]), 0.0, filled)
        count = count - trim
    total = filled.sum(axis=1)
    mean_sq = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return np.asarray(np.sqrt(mean_sq + params.vol_floor**2), dtype=np.float64)


def _gap_means(gaps: Floats, params: Params) -> Floats:
    """Row i: the mean of the last ``gap_window`` finite gaps before week i (NaN if too few)."""
    finite = np.flatnonzero(np.isfinite(gaps))
    means = _windowed_means(gaps[finite], params.gap_window, params.gap_window // 2)
    earlier = np.searchsorted(finite, np.arange(len(gaps)), side="left")
    return np.asarray(means[earlier], dtype=np.float64)


def build_samples(
    inputs: Inputs,
    lags: Lags,
    params: Params,
    cache: DriverCache | None = None,
    stale_after: StaleAfter | None = None,
) -> Samples:
    """Every published week's regressors, each computed from what was known at its publication.

    A week's row depends only on values known when that week was published, so rows can be
    computed once and shared by every later as-of time without leaking the future. A week at
    whose publication a driver stale past its limit (``stale_after``) froze Brent in BRL has
    NaN driver terms: no training row of a model with them (:func:`_driver_rows`).
    """
    weeks = inputs.fuel.days
    log_price = np.log(inputs.fuel.values)
    n = len(weeks)
    limits = stale_after or StaleAfter()
    blocks, levels = _published_drivers(inputs, lags, params, limits, cache)
    gaps = log_price - levels
    gap_means = _gap_means(gaps, params)
    changes = weekly_changes(weeks, log_price, max(params.own_lags, params.vol_weeks))
    parts = [np.ones((n, 1)), changes[:, : params.own_lags], blocks]
    if params.error_correction:
        parts.append((gaps - gap_means)[:, None])
    features = np.hstack(parts)
    vol = _volatility(changes, pause_spans(weeks, params.vol_weeks), params)
    return Samples(weeks, log_price, features, vol, gaps, gap_means)


def target_rows(weeks: Days, horizon: int) -> Counts:
    """Per week, the row of the week exactly ``horizon`` weeks later; -1 where none was
    published (a survey pause, or not yet): such a week is no sample for that horizon. The
    next published row is not that week: after a pause it lies further ahead."""
    target = weeks + 7 * horizon
    where = np.searchsorted(weeks, target)
    found = where < len(weeks)
    found[found] = weeks[where[found]] == target[found]
    return np.asarray(np.where(found, where, -1), dtype=np.intp)


def horizon_targets(weeks: Days) -> tuple[Counts, ...]:
    """:func:`target_rows` of every horizon (``HORIZONS``), for :func:`forecast_from`'s
    ``targets``: a walk over many weeks finds them once."""
    return tuple(target_rows(weeks, h) for h in HORIZONS)


def ridge_beta(x: Floats, y: Floats, ridge: float) -> tuple[Floats, Floats]:
    """Ridge least squares (the intercept unpenalised), and the penalised Gram matrix's
    pseudo-inverse."""
    penalty = ridge * len(y) * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    gram_inv = np.asarray(np.linalg.pinv(x.T @ x + penalty), dtype=np.float64)
    return gram_inv @ x.T @ y, gram_inv


def ridge_fit(x: Floats, y: Floats, ridge: float) -> tuple[Floats, Floats]:
    """Ridge least squares (the intercept unpenalised) and its leave-one-out residuals."""
    beta, gram_inv = ridge_beta(x, y, ridge)
    leverage = np.einsum("ij,jk,ik->i", x, gram_inv, x)
    residuals = (y - x @ beta) / np.maximum(1.0 - leverage, 1e-6)
    return beta, residuals


def conformal_quantiles(errors: Floats, levels: tuple[float, ...]) -> Floats:
    """Per level q, the ``ceil((n + 1) q)``-th smallest of the n errors (the largest when that
    rank passes n): split-conformal's finite-sample rank, so that a new exchangeable error is
    below it with probability at least q. The plain q-th percentile covers less on the few
    dozen training weeks of a state's short history (52 errors: 95% fell to the 49th, not the
    51st)."""
    ordered = np.sort(errors)
    n = len(ordered)
    ranks = np.minimum(np.ceil((n + 1) * np.asarray(levels) - 1e-9).astype(np.intp), n)
    return np.asarray(ordered[np.maximum(ranks, 1) - 1], dtype=np.float64)


BAND_Z = (NormalDist().inv_cdf(0.90), NormalDist().inv_cdf(0.975))
"""The normal quantiles of a two-sided 80% and 95% band (1.2816, 1.9600)."""


def band_floors(params: Params) -> Floats:
    """Per horizon (rows, ``HORIZONS``), the least half-widths (in logs) of the 80% and 95%
    bands (columns): a random walk's whose weekly log changes have the model's floor
    volatility ``vol_floor`` (0.2%), ``z × vol_floor × √h``. The floor the volatility itself
    has (no fuel is taken to move less than that a week) bounds the bands too: a flat price
    (the same price for a year) fits its regression exactly, so its leave-one-out and
    walk-forward errors are all 0 and the band from them alone had no width, a certainty no
    model of prices has. At R$6 the 80% band is then ±R$0.015 a week ahead, wider than the
    survey's R$0.01 tick. Real prices are rarely that still: with the leave-one-out bands
    Brazil and the regions were served before, in the class tables' windows of
    docs/OUTLOOK_BACKTEST.md the floor bound at 63 of 71,763 scored steps, all at 80%
    (flat weeks of Brazil's diesel S10 13, LPG 1; the regions' diesel S10 29, diesel 12, LPG
    7, gasoline 1), none of the states', and changed one of their coverages at three
    decimals (the regions' one-week 80%, 0.800 without it, 0.801); the states' 2004–2019 cuts
    gain 0.1–0.3 points of 80% coverage at one and two weeks."""
    return np.outer(np.sqrt(np.asarray(HORIZONS, dtype=np.float64)), BAND_Z) * params.vol_floor


def step_of(horizon: int, last_week: int, mean: float, q80: float, q95: float) -> Step:
    """The step ``horizon`` weeks after ``last_week`` (a day number): its log point ``mean``
    and the half-widths (in logs) of its 80% and 95% bands."""
    return Step(
        horizon=horizon,
        week=day_of(last_week + 7 * horizon),
        point=float(np.exp(mean)),
        lo80=float(np.exp(mean - q80)),
        hi80=float(np.exp(mean + q80)),
        lo95=float(np.exp(mean - q95)),
        hi95=float(np.exp(mean + q95)),
    )


def forecast_from(
    samples: Samples,
    last: int,
    row: Floats,
    as_of: datetime,
    driver_move: float,
    driver_day: date | None,
    params: Params,
    targets: tuple[Counts, ...] | None = None,
    bands: bool = True,
    scales: Floats | None = None,
) -> Forecast | None:
    """The forecast from published week ``last`` with regressors ``row``; None if untrainable.

    ``targets``: :func:`horizon_targets` of ``samples.weeks`` (found here if None; a walk over
    many weeks passes them). ``bands=False``: the points only (the bands NaN), for a caller
    that reads only the forecast change (the states' lead, :mod:`fuelpipe.outlook.pooled`);
    the points are the same, bit for bit. ``scales``: per horizon (rows), the 80% and 95%
    quantiles of the model's own walk-forward errors over the volatility then
    (:func:`walked_scales`); a horizon whose row is NaN (too few errors), or every horizon
    when None, takes the leave-one-out residuals' instead, and the forecast names it
    (``loo_horizons``)."""
    if not np.all(np.isfinite(row)):
        return None
    steps: list[Step] = []
    floors = band_floors(params)
    last_log = float(samples.log_price[last])
    vol_now = float(samples.vol[last])
    published = samples.weeks[: last + 1]
    widest = np.zeros(2)  # no band narrower than a shorter horizon's
    loo: list[int] = []  # the horizons whose bands are the leave-one-out residuals'
    for c, h in enumerate(HORIZONS):
        if targets is None:
            target = target_rows(published, h)
        else:  # the weeks published by week ``last`` only, as target_rows(published) finds
            target = targets[c][: last + 1]
            target = np.where(target <= last, target, -1)
        ends = np.flatnonzero(target >= 0)[-params.window :]  # outcome published by now
        x = samples.features[ends]
        ok = np.all(np.isfinite(x), axis=1)
        ends, x = ends[ok], x[ok]
        if len(ends) < params.min_train:
            return None
        y = samples.log_price[target[ends]] - samples.log_price[ends]
        q80 = q95 = np.nan
        if bands and scales is not None and np.all(np.isfinite(scales[c])):
            beta = ridge_beta(x, y, params.ridge)[0]
            widest = np.maximum(scales[c] * vol_now, widest)
            q80, q95 = np.maximum(widest, floors[c])
        elif bands:
            beta, residuals = ridge_fit(x, y, params.ridge)
            loo.append(h)
            scaled = np.abs(residuals) / samples.vol[ends]
            widest = np.maximum(conformal_quantiles(scaled, (0.80, 0.95)) * vol_now, widest)
            q80, q95 = np.maximum(widest, floors[c])
        else:
            beta = ridge_beta(x, y, params.ridge)[0]
        steps.append(step_of(h, int(samples.weeks[last]), last_log + float(row @ beta), q80, q95))
    return Forecast(
        as_of=as_of,
        last_week=day_of(int(samples.weeks[last])),
        last_price=float(np.exp(last_log)),
        driver_move=driver_move,
        driver_day=driver_day,
        steps=tuple(steps),
        loo_horizons=tuple(loo),
    )


def state_at(
    inputs: Inputs,
    samples: Samples,
    as_of: datetime,
    lags: Lags,
    params: Params,
    stale_after: StaleAfter | None = None,
) -> tuple[int, Floats] | None:
    """(last published week's index, its regressors at as_of; NaN driver terms where a stale
    driver froze Brent in BRL then: :func:`driver_check` fits without them)."""
    cut = Cutoffs.at(as_of, lags)
    last = int(np.searchsorted(samples.weeks, cut.fuel, side="right")) - 1
    if last < 0:
        return None
    limits = stale_after or StaleAfter()
    blocks, levels = _driver_rows(inputs, CutoffRows.of(cut), params.driver_blocks, limits)
    row = samples.features[last].copy()  # its own changes and intercept; drivers as of now
    row[1 + params.own_lags : 1 + params.own_lags + params.driver_blocks] = blocks[0]
    if params.error_correction:
        row[-1] = float(samples.log_price[last] - levels[0]) - samples.gap_means[last]
    return last, row


def driver_move(
    inputs: Inputs, cut: Cutoffs, stale: tuple[StaleDriver, ...]
) -> tuple[float, date | None]:
    """Brent in BRL's log change over the 7 days to the last day it has a market value at the
    cutoffs (:func:`brent_brl_last_day`: Brent's, or BZ=F's carrying it, PTAX on or before
    it), and that day; NaN and None when there is no such day, or when a stale driver
    (``stale``, at the cutoffs) froze Brent in BRL: no move is shown rather than the dollar's,
    called Brent's.

    Not the model's first driver block, which ends at the as-of day (PTAX's cutoff: spot is
    carried on by the dollar to it). Not "since the end of the survey
    week" either: a forecast is made at the week's publication (:func:`served_at`), before that
    week ends, so that move was always 0."""
    end = brent_brl_last_day(inputs, cut, stale)
    if end is None:
        return np.nan, None
    at = brent_brl(inputs, cut, np.array([end - 7, end], dtype=np.int64))
    return float(np.log(at[1] / at[0])), day_of(end)


def nowcast(
    inputs: Inputs,
    as_of: datetime,
    lags: Lags | None = None,
    params: Params | None = None,
    cache: DriverCache | None = None,
    stale_after: StaleAfter | None = None,
) -> Forecast | None:
    """The outlook at ``as_of`` from the inputs as known then; None when history is too short.

    Made at :func:`served_at` (the last survey week's publication), as every training and
    backtest row is: equal to the backtest's forecast from that week, stamped ``as_of``.
    ``cache`` may be shared by calls whose inputs have the same driver series (one refresh of
    every fuel and area); it holds driver regressors by cutoffs, so it never leaks later values.
    """
    lags = lags or Lags()
    params = params or Params()
    limits = stale_after or StaleAfter()
    made_at = served_at(inputs.fuel, as_of, lags)
    cut = Cutoffs.at(made_at, lags)
    known = truncate(inputs, cut)
    used, stale, dropped = driver_check(known, cut, params, limits)
    samples = build_samples(known, lags, used, cache, limits)
    state = state_at(known, samples, made_at, lags, used, limits)
    if state is None:
        return None
    last, row = state
    move, driver_day = driver_move(known, cut, stale)
    walked = samples if used == params else build_samples(known, lags, params, cache, limits)
    targets = horizon_targets(samples.weeks)
    at = np.array([last], dtype=np.intp)
    scales = walked_scales(known, walked, lags, params, limits, at, targets)[0]
    made = forecast_from(samples, last, row, as_of, move, driver_day, used, targets, True, scales)
    return None if made is None else replace(made, stale=stale, drivers_dropped=dropped)


def driver_check(
    inputs: Inputs, cut: Cutoffs, params: Params, limits: StaleAfter
) -> tuple[Params, tuple[StaleDriver, ...], bool]:
    """(the parameters to fit with, the stale drivers, whether the drivers were dropped).

    A stale driver that freezes Brent in BRL (PTAX, or Brent spot with no current BZ=F to carry
    it) would feed the model an old level as if nothing had moved since, in today's regressors
    and in every recent training week's: the model is then fitted without the driver terms.
    A stale driver the others make up for (spot carried by BZ=F) only gets its warning.
    """
    stale = stale_drivers(inputs, cut, limits)
    if brent_brl_current(inputs, cut, stale) or not (
        params.driver_blocks or params.error_correction
    ):
        return params, stale, False
    return params.without_drivers(), stale, True


def recent_quantiles(errors: tuple[Days, Floats], week: int, weeks: int, least: int) -> Floats:
    """The 80% and 95% conformal quantiles (:func:`conformal_quantiles`) of the ``errors``
    (their target days, sorted, and values) whose target week is ``week`` (a day number) or
    one of the ``weeks`` before it: published by the forecast's instant, the publication of
    ``week``; NaN when fewer than ``least``."""
    days, scaled = errors
    lo = int(np.searchsorted(days, week - 7 * weeks, side="right"))
    window = scaled[lo : int(np.searchsorted(days, week, side="right"))]
    if len(window) < max(least, 1):
        return np.full(2, np.nan)
    return conformal_quantiles(window, (0.80, 0.95))


def walked_changes(
    samples: Samples, rows: Counts, params: Params, targets: tuple[Counts, ...]
) -> Floats:
    """Per row ``t`` of ``rows`` (rows × ``HORIZONS``): the log change the model fitted at
    week ``t`` forecasts, as :func:`forecast_from` fits it (the last ``window`` weeks whose
    outcome was published by week ``t``, those with every regressor known, ridge); NaN where it
    makes none (a regressor unknown, or fewer than ``min_train`` weeks at some horizon).

    Every row's fit at once: each horizon's Gram matrices are differences of running sums over
    its training weeks, so a walk over a hundred weeks costs about one fit, not a hundred. The
    sums are added in another order than :func:`forecast_from`'s products, so a change can
    differ from its point's by rounding (at most 2.4e-15 in logs over every forecast of
    Brazil's bundled gasoline, CNG and LPG): these are for the bands' errors, never served as
    points. A row's fit reads only rows up to it, so the running sums of a
    history cut at a later week give the same changes, bit for bit."""
    out = np.full((len(rows), len(HORIZONS)), np.nan)
    if not len(rows):
        return out
    k = samples.features.shape[1]
    ok_rows = np.ones(len(rows), dtype=bool)
    for c in range(len(HORIZONS)):
        target = targets[c]
        ends = np.flatnonzero(target >= 0)  # target rows increase with the row
        x = samples.features[ends]
        change = samples.log_price[target[ends]] - samples.log_price[ends]
        # a week whose change is not finite is left out too: in running sums one NaN would
        # spoil every later week's fit, not only its own window's (prices are checked finite
        # and positive when stored, so this is a guard, not a case the data has)
        good = np.all(np.isfinite(x), axis=1) & np.isfinite(change)
        x = np.where(good[:, None], x, 0.0)
        y = np.where(good, change, 0.0)
        grams = _running_sums(x[:, :, None] * x[:, None, :])
        moments = _running_sums(x * y[:, None])
        counts = _running_sums(good.astype(np.int64))
        hi = np.searchsorted(target[ends], rows, side="right")  # outcome published by row t
        lo = np.maximum(hi - params.window, 0)
        n = (counts[hi] - counts[lo]).astype(np.float64)
        penalty = params.ridge * n[:, None, None] * np.eye(k)
        penalty[:, 0, 0] = 0.0
        gram = grams[hi] - grams[lo] + penalty
        beta = np.einsum("nij,nj->ni", np.linalg.pinv(gram), moments[hi] - moments[lo])
        out[:, c] = np.einsum("ni,ni->n", samples.features[rows], beta)
        ok_rows &= n >= params.min_train
    ok_rows &= np.all(np.isfinite(samples.features[rows]), axis=1)
    out[~ok_rows] = np.nan
    return out


def walked_scales(
    inputs: Inputs,
    samples: Samples,
    lags: Lags,
    params: Params,
    limits: StaleAfter,
    at: Counts,
    targets: tuple[Counts, ...],
) -> Floats:
    """Per row ``T`` of ``at`` (rows × ``HORIZONS`` × 2, sorted rows): the 80% and 95% scales
    of its bands from the model's own walk-forward errors, as the states' are
    (:mod:`fuelpipe.outlook.pooled`): the absolute log errors of the forecasts made from the
    earlier weeks (each at its week's publication, a stale driver dropped as then:
    :func:`driver_check`) whose outcome was published by week ``T``'s publication, within the
    last ``error_weeks``, each over the volatility of its week, at the conformal rank
    (:func:`recent_quantiles`); NaN at a horizon with fewer than ``least_errors`` of them.
    ``samples``: the full model's (``params``), whose rows read only what was known at their
    publication, so nothing published after week ``T`` moves its scales."""
    out = np.full((len(at), len(HORIZONS), 2), np.nan)
    if not len(at):
        return out
    weeks = samples.weeks
    reach = 7 * (params.error_weeks + max(HORIZONS))  # the forecasts whose errors are read
    first = int(np.searchsorted(weeks, weeks[at[0]] - reach, side="right"))
    rows = np.arange(first, int(at[-1]), dtype=np.intp)
    changes = _walk(inputs, samples, lags, params, limits, rows, targets)
    for c in range(len(HORIZONS)):
        target = targets[c][rows]
        has = (target >= 0) & np.isfinite(changes[:, c])
        made, outcome = rows[has], target[has]
        moved = samples.log_price[outcome] - samples.log_price[made]
        errors = (weeks[outcome], np.abs(moved - changes[has, c]) / samples.vol[made])
        for i, week in enumerate(weeks[at].tolist()):
            out[i, c] = recent_quantiles(errors, week, params.error_weeks, params.least_errors)
    return out


def _running_sums(values: np.ndarray) -> np.ndarray:
    """Entry p: the sum of ``values[:p]`` along the first axis (entry 0: zeros), added in
    row order, so a prefix's sums are those of every longer array's."""
    zero = np.zeros((1, *values.shape[1:]), dtype=values.dtype)
    return np.concatenate([zero, np.cumsum(values, axis=0)])


def _walk(
    inputs: Inputs,
    samples: Samples,
    lags: Lags,
    params: Params,
    limits: StaleAfter,
    rows: Counts,
    targets: tuple[Counts, ...],
) -> Floats:
    """:func:`walked_changes` of ``rows`` as each week's forecast was made: skipped (NaN) where
    the walk-forward makes none, on the model without drivers where a stale driver froze Brent
    in BRL at the week's publication (:func:`~fuelpipe.outlook.backtest.walk_forward`)."""
    out = np.full((len(rows), len(HORIZONS)), np.nan)
    fewest = first_usable_week(params.without_drivers()) + params.min_train
    kept: list[int] = []
    dropped: list[int] = []
    for i, t in enumerate(rows.tolist()):
        if t < fewest:
            continue
        cut = Cutoffs.at(known_at(day_of(int(samples.weeks[t])), lags.fuel), lags)
        used, _, drop = driver_check(inputs, cut, params, limits)
        if t >= first_usable_week(used) + used.min_train:
            (dropped if drop else kept).append(i)
    if kept:
        out[kept] = walked_changes(samples, rows[kept], params, targets)
    if dropped:
        bare = params.without_drivers()
        other = build_samples(inputs, lags, bare)
        out[dropped] = walked_changes(other, rows[dropped], bare, targets)
    return out
