"""Walk-forward backtest of the nowcast against ANP's published weeks, and its scores.

Each published survey week ``t`` in the period is one as-of time: the moment week ``t`` became
known (its Sunday plus the fuel's publication lag). The model is refitted there on what was
known then and forecasts weeks ``t+1`` … ``t+5``; each forecast is compared with the week ANP
later published and with the no-change forecast (``P[t+h] = P[t]``). Brazil and the regions:
each area on its own (:func:`walk_forward`, :func:`walk_forward_segments`); the states: each
state's last price moved by Brazil's forecast change, as served (:func:`walk_forward_panel`),
and short histories cut from a long one to test them as a short history is served
(:func:`walk_forward_cuts`). Pure: numpy, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from fuelpipe.hac import fixed_b_p_value, hac_lags, newey_west
from fuelpipe.outlook.forecast import Forecast
from fuelpipe.outlook.model import (
    Samples,
    build_samples,
    driver_check,
    driver_move,
    forecast_from,
    horizon_targets,
    walked_scales,
)
from fuelpipe.outlook.params import HORIZONS, Params, PoolParams, first_usable_week
from fuelpipe.outlook.pooled import walk_panel
from fuelpipe.outlook.series import (
    Cutoffs,
    Inputs,
    Lags,
    Series,
    StaleAfter,
    day_number,
    day_of,
    known_at,
    parts_of,
)

REPORTED_HORIZONS = HORIZONS
"""The horizons :func:`score` reports by default: every one the outlook serves (1 to 5 weeks;
the backtest reported 1, 2 and 4 only, while 3 and 5 were served unscored)."""


@dataclass(frozen=True, slots=True)
class Scored:
    """One forecast step next to what ANP published and to the no-change forecast."""

    as_of_week: date
    horizon: int
    week: date
    actual: float
    point: float
    naive: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float
    no_change: bool = False
    """The forecast was the states' no-change fallback (Brazil had none from its week): its
    point is ``naive``, so it is no evidence of the model against no change."""


@dataclass(frozen=True, slots=True)
class Score:
    """Accuracy of one fuel, area and horizon over a period."""

    horizon: int
    n: int
    mae: float
    naive_mae: float
    ratio: float
    bias: float
    coverage80: float
    coverage95: float
    dm_p: float = math.nan
    """Diebold-Mariano p-value (two-sided) of "the model's absolute errors equal no-change's"
    (``diebold_mariano``): a ratio below 1 over a few dozen weeks is often noise."""
    no_change_n: int = 0
    """How many of the ``n`` were the no-change fallback (``Scored.no_change``): when all of
    them, the ratio is no change's over itself, 1 by construction, and says nothing."""
    coverage80_model: float = math.nan
    """The 80% band's coverage over the model's own forecasts only, the ``n - no_change_n``
    that were not the fallback (NaN when none were): ``coverage80`` counts the fallback's
    no-change bands too, and on the states' short history those were most of the n."""
    coverage95_model: float = math.nan
    """The 95% band's, likewise."""

    def as_dict(self) -> dict[str, float | int]:
        """Rounded for printing."""
        return {
            "horizon": self.horizon,
            "n": self.n,
            "mae": round(self.mae, 4),
            "naive_mae": round(self.naive_mae, 4),
            "ratio": round(self.ratio, 3),
            "bias": round(self.bias, 4),
            "coverage80": round(self.coverage80, 3),
            "coverage95": round(self.coverage95, 3),
            "dm_p": round(self.dm_p, 3),
            "no_change_n": self.no_change_n,
            "coverage80_model": round(self.coverage80_model, 3),
            "coverage95_model": round(self.coverage95_model, 3),
        }


def walk_forward(
    inputs: Inputs,
    start: date | None = None,
    end: date | None = None,
    lags: Lags | None = None,
    params: Params | None = None,
    stale_after: StaleAfter | None = None,
    bands: bool = True,
) -> tuple[list[Forecast], list[Scored]]:
    """Forecasts made at each published week in ``[start, end]``, and every scored step.

    ``start``/``end`` bound the *forecast* weeks (targets), so a period's score counts every
    published week in it at every horizon. Each forecast equals :func:`nowcast` on the inputs
    truncated at its as-of time (the samples' rows use only what was known when each week was
    published; tests check it), stale drivers dropped the same way. A step is scored against
    the week exactly ``h`` weeks after its last week; when the survey skipped that week, the
    step is not scored (the next published week is further ahead than ``h``). ``bands=False``:
    the points only, the bands and the driver's move NaN
    (:func:`~fuelpipe.outlook.model.forecast_from`).
    """
    lags = lags or Lags()
    params = params or Params()
    limits = stale_after or StaleAfter()
    samples = build_samples(inputs, lags, params, stale_after=limits)
    without_drivers: Samples | None = None  # built the first time a stale driver needs it
    weeks = samples.weeks
    first_target = day_number(start) if start else -(10**9)
    last_target = day_number(end) if end else 10**9
    price = np.exp(samples.log_price)
    targets = horizon_targets(weeks)  # without_drivers has the same weeks
    forecasts: list[Forecast] = []
    scored: list[Scored] = []
    # Week t trains on at most t - first_usable_week rows: before that no forecast is made, so
    # those weeks are skipped unfitted (a state's short history is mostly such weeks).
    fewest = first_usable_week(params.without_drivers()) + params.min_train
    walked = [
        t
        for t in range(fewest, len(weeks))
        if weeks[t] + 7 * max(HORIZONS) >= first_target and weeks[t] < last_target
    ]
    at = np.array(walked, dtype=np.intp)
    scales = walked_scales(inputs, samples, lags, params, limits, at, targets) if bands else None
    for i, t in enumerate(walked):
        as_of = known_at(day_of(int(weeks[t])), lags.fuel)
        cut = Cutoffs.at(as_of, lags)
        used, stale, dropped = driver_check(inputs, cut, params, limits)
        if t < first_usable_week(used) + used.min_train:
            continue
        rows = samples
        if dropped:
            without_drivers = without_drivers or build_samples(inputs, lags, used)
            rows = without_drivers
        # state_at's regressors at the week's own publication are the week's row, read then
        # (a test holds them equal bit for bit); the driver's move is shown with the bands
        move, driver_day = driver_move(inputs, cut, stale) if bands else (np.nan, None)
        row = rows.features[t]
        mine = None if scales is None else scales[i]
        made = forecast_from(rows, t, row, as_of, move, driver_day, used, targets, bands, mine)
        if made is None:
            continue
        made = replace(made, stale=stale, drivers_dropped=dropped)
        forecasts.append(made)
        for step in made.steps:
            day = weeks[t] + 7 * step.horizon
            target = int(np.searchsorted(weeks, day))
            if target >= len(weeks) or weeks[target] != day:
                continue  # the survey skipped that week: nothing to score the step against
            if not first_target <= day <= last_target:
                continue
            scored.append(
                Scored(
                    as_of_week=made.last_week,
                    horizon=step.horizon,
                    week=day_of(int(weeks[target])),
                    actual=float(price[target]),
                    point=step.point,
                    naive=float(price[t]),
                    lo80=step.lo80,
                    hi80=step.hi80,
                    lo95=step.lo95,
                    hi95=step.hi95,
                )
            )
    return forecasts, scored


def score(scored: Iterable[Scored], horizons: Sequence[int] = REPORTED_HORIZONS) -> list[Score]:
    """MAE, no-change MAE, their ratio, bias and interval coverage per horizon; the coverage
    also over the model's own forecasts alone (``coverage80_model``: not the fallback's)."""
    by_h: dict[int, list[Scored]] = {h: [] for h in horizons}
    for s in scored:
        if s.horizon in by_h:
            by_h[s.horizon].append(s)
    out: list[Score] = []
    for h, rows in by_h.items():
        if not rows:
            out.append(Score(h, 0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan))
            continue
        actual = np.array([r.actual for r in rows])
        point = np.array([r.point for r in rows])
        naive = np.array([r.naive for r in rows])
        lo80, hi80 = np.array([r.lo80 for r in rows]), np.array([r.hi80 for r in rows])
        lo95, hi95 = np.array([r.lo95 for r in rows]), np.array([r.hi95 for r in rows])
        mae = float(np.mean(np.abs(point - actual)))
        naive_mae = float(np.mean(np.abs(naive - actual)))
        in80 = (actual >= lo80) & (actual <= hi80)
        in95 = (actual >= lo95) & (actual <= hi95)
        own = ~np.array([r.no_change for r in rows])
        out.append(
            Score(
                horizon=h,
                n=len(rows),
                mae=mae,
                naive_mae=naive_mae,
                ratio=mae / naive_mae if naive_mae > 0 else np.nan,
                bias=float(np.mean(point - actual)),
                coverage80=float(np.mean(in80)),
                coverage95=float(np.mean(in95)),
                dm_p=diebold_mariano(np.abs(point - actual) - np.abs(naive - actual), h),
                no_change_n=int(np.sum(~own)),
                coverage80_model=float(np.mean(in80[own])) if own.any() else math.nan,
                coverage95_model=float(np.mean(in95[own])) if own.any() else math.nan,
            )
        )
    return out


def model_weeks(scored: Iterable[Scored]) -> list[Scored]:
    """The model's own forecasts among the scored ones: not the states' no-change fallback
    (``Scored.no_change``), whose loss difference against no change is 0 by construction, so
    no evidence either way."""
    return [s for s in scored if not s.no_change]


def served_score(
    scored: Sequence[Scored], horizons: Sequence[int] = REPORTED_HORIZONS
) -> list[Score]:
    """Per horizon, the backtest as the dashboard serves it (``accuracy_out``), the CLI prints
    it and docs/OUTLOOK_BACKTEST.md gives the states' ratio: the n, the fallback's count
    (``no_change_n``) and the bands' coverage (``coverage80``, ``coverage95``) over every
    scored forecast, and beside it the coverage over the model's own forecasts
    (``coverage80_model``, ``coverage95_model``, over ``n - no_change_n``); the MAEs, their
    ratio, the bias and the Diebold-Mariano p-value over the model's own (:func:`model_weeks`)
    alone: counting the fallback's weeks pulled the ratio towards 1 and inflated the p-value's
    n, and on the states' short history its no-change bands covered more than the model's.
    When every scored forecast was the fallback, the ratio and the p-value are NaN (no change
    against itself: 1 and undefined) and the MAEs and bias every forecast's (no change's)."""
    led = score(model_weeks(scored), horizons)
    out: list[Score] = []
    for every, own in zip(score(scored, horizons), led, strict=True):
        if own.n == 0:
            out.append(replace(every, ratio=math.nan, dm_p=math.nan))
            continue
        out.append(
            replace(
                every,
                mae=own.mae,
                naive_mae=own.naive_mae,
                ratio=own.ratio,
                bias=own.bias,
                dm_p=own.dm_p,
            )
        )
    return out


def diebold_mariano(loss_diff: np.ndarray, horizon: int) -> float:
    """Two-sided p-value of Diebold and Mariano's test that the mean loss difference is zero,
    with a Newey-West (Bartlett) long-run variance of bandwidth L + 1, L = max(h - 1,
    ``hac_lags(n)``), and the fixed-b p-value of that bandwidth (``fixed_b_p_value``). NaN below
    three differences or with no variation.

    Diebold and Mariano's h - 1 autocovariances hold for optimal h-step forecasts only: the
    difference between the model's absolute errors and no change's is autocorrelated well past
    them (gasoline at 1 week: 0.30, 0.19, 0.20, 0.18 at lags 1-4), and with none at h = 1 an
    AR(1) difference of rho 0.3 under a true null rejected at 5% in 15% of draws. Harvey,
    Leybourne and Newbold's factor and Student's t on n - 1 are left out: they correct the
    truncated variance with h - 1 lags, and the fixed-b critical value already accounts for
    the bias and noise of the Bartlett one (both would count it twice)."""
    d = np.asarray(loss_diff, dtype=float)
    n = len(d)
    if n < 3:
        return math.nan
    lags = max(horizon - 1, hac_lags(n))
    variance = float(newey_west(np.ones((n, 1)), d - d.mean(), lags)[0, 0])
    if not variance > 0.0:
        return math.nan
    return fixed_b_p_value(float(d.mean()) / math.sqrt(variance), (lags + 1) / n)


def walk_forward_segments(
    inputs: Inputs,
    start: date | None = None,
    end: date | None = None,
    lags: Lags | None = None,
    params: Params | None = None,
) -> list[Scored]:
    """:func:`walk_forward` on each stretch of the fuel's history without a hole over 26 weeks.

    State files stop for years (2019 → 2024): the weeks either side of such a hole are not
    neighbours, so each stretch is backtested on its own and the scored steps are pooled.
    """
    days = inputs.fuel.days
    scored: list[Scored] = []
    for lo, hi in parts_of(days):
        fuel = Series(days[lo:hi], inputs.fuel.values[lo:hi])
        part = Inputs(fuel=fuel, brent=inputs.brent, usd=inputs.usd, futures=inputs.futures)
        scored += walk_forward(part, start, end, lags, params)[1]
    return scored


def walk_forward_panel(
    members: Mapping[str, Inputs],
    start: date | None = None,
    end: date | None = None,
    lags: Lags | None = None,
    params: Params | None = None,
    pool: PoolParams | None = None,
    national: Inputs | None = None,
) -> dict[str, list[Scored]]:
    """The states' scored steps per member (by name), walked forward over each era of the
    panel (a stretch of the union of its weeks without a hole over 26 weeks: the bundled
    states' 2004–2019 and 2024– files) as :func:`~fuelpipe.outlook.pooled.walk_panel` serves
    them, led by the ``national`` series' forecasts (None: no change). ``start``/``end``
    bound the forecast weeks, as in :func:`walk_forward`."""
    lags = lags or Lags()
    names = sorted(members)  # the pooled sums add the members in this order, as served
    scored: dict[str, list[Scored]] = {name: [] for name in names}
    if not names:
        return scored
    union = np.unique(np.concatenate([members[n].fuel.days for n in names]))
    first_target = day_number(start) if start else -(10**9)
    last_target = day_number(end) if end else 10**9
    for lo, hi in parts_of(union):
        first, last = int(union[lo]), int(union[hi - 1])
        if last + 7 * max(HORIZONS) < first_target or first > last_target:
            continue
        era = [_within(members[n], first, last) for n in names]
        made_all = walk_panel(
            era, lags, params or Params(), pool or PoolParams(), national=national
        )
        rows = [{day: r for r, day in enumerate(m.fuel.days.tolist())} for m in era]
        for made in made_all:
            fuel = era[made.member].fuel
            for c, h in enumerate(HORIZONS):
                day = made.week + 7 * h
                target = rows[made.member].get(day)
                if target is None:
                    continue
                if not first_target <= day <= last_target:
                    continue
                mean = made.last_log + made.changes[c]
                scored[names[made.member]].append(
                    Scored(
                        as_of_week=day_of(made.week),
                        horizon=h,
                        week=day_of(day),
                        actual=float(fuel.values[target]),
                        point=float(np.exp(mean)),
                        # the published price itself: exp(log) is an ulp off about a
                        # third of the time, and a flat stretch's no-change errors of 1e-16
                        # made MAE ratios of 1e12
                        naive=float(fuel.values[rows[made.member][made.week]]),
                        lo80=float(np.exp(mean - made.q80[c])),
                        hi80=float(np.exp(mean + made.q80[c])),
                        lo95=float(np.exp(mean - made.q95[c])),
                        hi95=float(np.exp(mean + made.q95[c])),
                        no_change=made.no_change is not None,
                    )
                )
    return scored


def walk_forward_cuts(
    members: Mapping[str, Inputs],
    weeks: int,
    every: int,
    start: date | None = None,
    end: date | None = None,
    lags: Lags | None = None,
    params: Params | None = None,
    pool: PoolParams | None = None,
    national: Inputs | None = None,
) -> list[tuple[date, list[Scored]]]:
    """Short histories cut from a long one: from the first week of the members' union in
    ``[start, end]``, every ``every`` weeks while the window ends by its last, each member's
    weeks in the ``weeks`` weeks from that cut only, walked as
    :func:`walk_forward_panel` serves them (``national`` leading, whole): per cut, its day and
    every member's scored steps.

    A cut's panel knows nothing before its cut, as a state whose file restarts, and is served
    from its ``min_weeks``-th week: the states' short history since 2024-06 (105 weeks in the
    bundled files) is one such sample, and the cuts give the spread of a short history's
    coverage around its mean (their weeks overlap when ``every`` < ``weeks``).
    """
    names = sorted(members)
    if not names or weeks < 1 or every < 1:
        return []
    union = np.unique(np.concatenate([members[n].fuel.days for n in names]))
    if start is not None:
        union = union[union >= day_number(start)]
    if end is not None:
        union = union[union <= day_number(end)]
    out: list[tuple[date, list[Scored]]] = []
    if not len(union):
        return out
    cut, last = int(union[0]), int(union[-1])
    while cut + 7 * (weeks - 1) <= last:
        window = {n: _within(members[n], cut, cut + 7 * (weeks - 1)) for n in names}
        kept = {n: m for n, m in window.items() if len(m.fuel)}
        scored = walk_forward_panel(kept, lags=lags, params=params, pool=pool, national=national)
        out.append((day_of(cut), [s for n in sorted(scored) for s in scored[n]]))
        cut += 7 * every
    return out


def _within(inputs: Inputs, first: int, last: int) -> Inputs:
    """The inputs with the fuel's weeks from day ``first`` to day ``last`` only."""
    days = inputs.fuel.days
    keep = (days >= first) & (days <= last)
    fuel = Series(days[keep], inputs.fuel.values[keep])
    return Inputs(fuel=fuel, brent=inputs.brent, usd=inputs.usd, futures=inputs.futures)
