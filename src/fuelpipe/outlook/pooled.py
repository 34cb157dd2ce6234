"""The states' outlook: one regression per fuel and horizon over the panel of every state.

A state's file restarts after years of silence (the bundled ones in 2024-06), so its own
regression (:mod:`fuelpipe.outlook.model`) trains on 52–75 weeks: it overfits them, its
errors were 1.5–2 times no-change's, and its leave-one-out residuals understated them (80%
bands covered 55% at four weeks). States share their dynamics (the same refinery prices
spread through the same chains), so the panel borrows strength across them:

- **Pooled fit.** Per fuel and horizon, at every as-of time, one ridge regression on the rows
  of every state whose outcome was published by then (the same regressors as the per-area
  model, each row computed from what was known at its week's publication), shared by every
  state. The rows are summed as per-part running Gram matrices, so a fit at any as-of time
  costs a k×k solve.
- **Shrinkage chosen walk-forward.** The fit is made at each ridge of ``PoolParams.ridges``;
  the one served is the one whose own earlier forecasts (made at earlier as-of times, scored
  on outcomes published by now, within the last ``error_weeks``) had the smallest mean
  absolute error. Short, calm histories pick heavy shrinkage (near a drift), long ones light.
- **Bands from walk-forward errors.** The absolute errors of the served forecasts of every
  state at earlier as-of times (published by now, within the last ``error_weeks``), each
  divided by its state's volatility then, give the band's scale at the finite-sample
  conformal rank, multiplied by the state's volatility now: genuinely out-of-sample, unlike
  in-sample leave-one-out residuals. Below ``min_errors`` of them, the pooled fit's
  leave-one-out residuals stand in. Every state's forecast counts as evidence from the first
  week its regressors are known, though one is served only from ``min_weeks`` on.

A part is a stretch of one state's weeks without a hole over 26 weeks (``parts_of``);
a panel is walked from the first week after the last hole of the union of its weeks (the
served outlook reads the weeks after that same hole). Every step reads only values known at
its as-of time, so the forecast served at a week equals the backtest's there. Pure: numpy
only, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from fuelpipe.outlook.model import (
    DriverCache,
    Forecast,
    Samples,
    build_samples,
    conformal_quantiles,
    driver_check,
    driver_move,
    ridge_fit,
    step_of,
    target_rows,
)
from fuelpipe.outlook.params import HORIZONS, Params, PoolParams, min_weeks
from fuelpipe.outlook.series import (
    Cutoffs,
    Days,
    Floats,
    Inputs,
    Lags,
    Series,
    StaleAfter,
    StaleDriver,
    day_of,
    known_at,
    parts_of,
    truncate,
)


def era_start(fuels: Sequence[Series]) -> int:
    """The first day of the panel's last era: the first week after the last hole over 26
    weeks in the union of its members' weeks (the union's first week without one)."""
    days = np.unique(np.concatenate([f.days for f in fuels])) if fuels else np.zeros(0, np.int64)
    if not len(days):
        return 0
    return int(days[parts_of(days)[-1][0]])


@dataclass(frozen=True, slots=True)
class _Rows:
    """One part's training rows at one horizon, in week order, as running sums."""

    target_days: Days
    gram: Floats
    """(rows + 1) × k × k: the sum of x xᵀ over the first r rows at index r."""
    cross: Floats
    """(rows + 1) × k: the sum of x y."""
    x: Floats
    y: Floats
    vol: Floats


def _rows(samples: Samples, horizon: int) -> _Rows:
    targets = target_rows(samples.weeks, horizon)
    ends = np.flatnonzero(targets >= 0)
    x = samples.features[ends]
    ok = np.all(np.isfinite(x), axis=1)
    ends, x = ends[ok], x[ok]
    y = samples.log_price[targets[ends]] - samples.log_price[ends]
    k = x.shape[1]
    gram = np.zeros((len(ends) + 1, k, k))
    cross = np.zeros((len(ends) + 1, k))
    np.cumsum(x[:, :, None] * x[:, None, :], axis=0, out=gram[1:])
    np.cumsum(x * y[:, None], axis=0, out=cross[1:])
    return _Rows(samples.weeks[ends] + 7 * horizon, gram, cross, x, y, samples.vol[ends])


@dataclass
class _Variant:
    """The panel's parts built with one set of parameters (all drivers, or none)."""

    samples: list[Samples]
    rows: dict[int, list[_Rows]] = field(default_factory=dict)

    def at(self, horizon: int) -> list[_Rows]:
        if horizon not in self.rows:
            self.rows[horizon] = [_rows(s, horizon) for s in self.samples]
        return self.rows[horizon]


class _Evidence:
    """One horizon's walk-forward errors recorded so far, in the order of their target day
    (each is recorded at its forecast's week, ``horizon`` weeks before its target)."""

    def __init__(self, capacity: int) -> None:
        self.target_days = np.zeros(capacity, dtype=np.int64)
        self.scaled = np.zeros(capacity)
        """Absolute log error of the forecast over the volatility it was made with."""
        self.n = 0

    def add(self, target_days: Days, scaled: Floats) -> None:
        end = self.n + len(target_days)
        self.target_days[self.n : end] = target_days
        self.scaled[self.n : end] = scaled
        self.n = end

    def published(self, week: int, weeks: int) -> Floats:
        """The errors published by ``week`` (target on or before it), within ``weeks`` weeks."""
        days = self.target_days[: self.n]
        lo = int(np.searchsorted(days, week - 7 * weeks, side="right"))
        return self.scaled[lo : int(np.searchsorted(days, week, side="right"))]


@dataclass(frozen=True, slots=True)
class PanelForecast:
    """One member's pooled forecast from one of its weeks, before it becomes a ``Forecast``."""

    member: int
    week: int
    """The last published week (day number)."""
    last_log: float
    changes: tuple[float, ...]
    """Predicted log change per horizon (``HORIZONS``)."""
    q80: tuple[float, ...]
    q95: tuple[float, ...]
    """Half-widths of the bands in logs, per horizon."""
    stale: tuple[StaleDriver, ...]
    dropped: bool


@dataclass(frozen=True, slots=True)
class _Now:
    """The parts with a usable row at one step: (part, row) pairs, their regressors and
    volatility, and per horizon the row of the week ``h`` weeks on (-1: not published)."""

    here: list[tuple[int, int]]
    x: Floats
    vol: Floats
    log_price: Floats
    outcomes: Floats
    """parts here × horizons: the log change to the week h weeks on (NaN: not published)."""


def _now(samples: list[Samples], week: int) -> _Now | None:
    here: list[tuple[int, int]] = []
    for j, s in enumerate(samples):
        idx = int(np.searchsorted(s.weeks, week))
        if idx < len(s.weeks) and s.weeks[idx] == week and np.all(np.isfinite(s.features[idx])):
            here.append((j, idx))
    if not here:
        return None
    outcomes = np.full((len(here), len(HORIZONS)), np.nan)
    for r, (j, idx) in enumerate(here):
        s = samples[j]
        ahead = week + 7 * np.asarray(HORIZONS, dtype=np.int64)
        at = np.minimum(np.searchsorted(s.weeks, ahead), len(s.weeks) - 1)
        found = s.weeks[at] == ahead
        outcomes[r, found] = s.log_price[at[found]] - s.log_price[idx]
    return _Now(
        here,
        np.vstack([samples[j].features[idx] for j, idx in here]),
        np.array([samples[j].vol[idx] for j, idx in here]),
        np.array([samples[j].log_price[idx] for j, idx in here]),
        outcomes,
    )


def walk_panel(
    members: Sequence[Inputs],
    lags: Lags,
    params: Params,
    pool: PoolParams,
    stale_after: StaleAfter | None = None,
    cache: DriverCache | None = None,
) -> list[PanelForecast]:
    """Every pooled forecast the panel serves, walked forward over its last era.

    ``members`` share their drivers (one fuel, every state); each one's forecast from a week
    is made at that week's publication from what was known then, as :func:`nowcast_panel`
    makes it. Returned in step order (members in their given order within a step).
    """
    limits = stale_after or StaleAfter()
    parts = _parts(members)
    if not parts:
        return []
    variants: dict[Params, _Variant] = {}
    capacity = sum(len(p.fuel) for _, p in parts)
    evidence = {h: _Evidence(capacity) for h in HORIZONS}
    out: list[PanelForecast] = []
    drivers = parts[0][1]
    for week in np.unique(np.concatenate([p.fuel.days for _, p in parts])).tolist():
        cut = Cutoffs.at(known_at(day_of(week), lags.fuel), lags)
        used, stale, dropped = driver_check(drivers, cut, params, limits)
        if used not in variants:
            variants[used] = _Variant([build_samples(p, lags, used, cache) for _, p in parts])
        var = variants[used]
        now = _now(var.samples, week)
        if now is None:
            continue
        changes = np.full(now.outcomes.shape, np.nan)
        q80, q95 = changes.copy(), changes.copy()
        for c, h in enumerate(HORIZONS):
            fit = _pooled_fit(var.at(h), week, pool.ridge, used)
            if fit is None:
                break
            changes[:, c] = now.x @ fit
            errors = evidence[h].published(week, pool.error_weeks)
            if len(errors) < pool.min_errors:  # the pooled fit's own out-of-sample proxy
                errors = _loo_scaled(var.at(h), week, pool.ridge)
            q80[:, c], q95[:, c] = np.outer(conformal_quantiles(errors, (0.80, 0.95)), now.vol)
            known = np.isfinite(now.outcomes[:, c])  # evidence once its outcome is published
            miss = np.abs(now.outcomes[known, c] - changes[known, c]) / now.vol[known]
            evidence[h].add(np.full(int(known.sum()), week + 7 * h, dtype=np.int64), miss)
        if np.isnan(changes).any():
            continue
        fewest = min_weeks(used)
        for r, (j, idx) in enumerate(now.here):
            if idx + 1 >= fewest:  # a shorter history is evidence only, not served
                out.append(
                    PanelForecast(
                        parts[j][0],
                        week,
                        float(now.log_price[r]),
                        tuple(changes[r].tolist()),
                        tuple(q80[r].tolist()),
                        tuple(q95[r].tolist()),
                        stale,
                        dropped,
                    )
                )
    return out


def _parts(members: Sequence[Inputs]) -> list[tuple[int, Inputs]]:
    """(member, inputs) per part of each member's weeks in the panel's last era."""
    if not members:
        return []
    start = era_start([m.fuel for m in members])
    parts: list[tuple[int, Inputs]] = []
    for i, m in enumerate(members):
        keep = m.fuel.days >= start
        days, values = m.fuel.days[keep], m.fuel.values[keep]
        for lo, hi in parts_of(days):
            part = Series(days[lo:hi], values[lo:hi])
            parts.append((i, Inputs(part, m.brent, m.usd, m.futures)))
    return parts


def _published(parts: list[_Rows], week: int) -> list[int]:
    """Per part, how many of its rows have their outcome published by ``week``."""
    return [int(np.searchsorted(p.target_days, week, side="right")) for p in parts]


def _pooled_fit(parts: list[_Rows], week: int, ridge: float, params: Params) -> Floats | None:
    """The pooled ridge coefficients (the intercept unpenalised) on every part's rows whose
    outcome was published by ``week``; None below ``min_train`` rows."""
    counts = _published(parts, week)
    n = sum(counts)
    if n < params.min_train:
        return None
    gram = np.zeros_like(parts[0].gram[0])
    cross = np.zeros_like(parts[0].cross[0])
    for p, c in zip(parts, counts, strict=True):  # in the parts' order: the same sums always
        gram += p.gram[c]
        cross += p.cross[c]
    penalty = ridge * n * np.eye(gram.shape[0])
    penalty[0, 0] = 0.0
    return np.asarray(np.linalg.pinv(gram + penalty) @ cross, dtype=np.float64)


def _loo_scaled(parts: list[_Rows], week: int, ridge: float) -> Floats:
    """The pooled fit's absolute leave-one-out residuals, each over its row's volatility."""
    counts = _published(parts, week)

    def stacked(name: str) -> Floats:
        return np.concatenate([getattr(p, name)[:c] for p, c in zip(parts, counts, strict=True)])

    loo = ridge_fit(stacked("x"), stacked("y"), ridge)[1]
    return np.asarray(np.abs(loo) / stacked("vol"), dtype=np.float64)


def to_forecast(made: PanelForecast, inputs: Inputs, as_of: datetime, lags: Lags) -> Forecast:
    """The forecast ``made`` for its member (whose inputs are ``inputs``), stamped ``as_of``:
    the driver's move read at its week's publication, as the per-area model reads it."""
    cut = Cutoffs.at(known_at(day_of(made.week), lags.fuel), lags)
    move, day = driver_move(inputs, cut, made.week)
    steps = tuple(
        step_of(h, made.week, made.last_log + made.changes[c], made.q80[c], made.q95[c])
        for c, h in enumerate(HORIZONS)
    )
    return Forecast(
        as_of=as_of,
        last_week=day_of(made.week),
        last_price=float(np.exp(made.last_log)),
        driver_move=move,
        driver_day=day,
        steps=steps,
        stale=made.stale,
        drivers_dropped=made.dropped,
    )


def nowcast_panel(
    members: Sequence[Inputs],
    as_of: datetime,
    lags: Lags | None = None,
    params: Params | None = None,
    pool: PoolParams | None = None,
    cache: DriverCache | None = None,
    stale_after: StaleAfter | None = None,
) -> list[Forecast | None]:
    """Each member's pooled outlook at ``as_of`` from the panel as known then (None where its
    history is too short or it has no week in the panel's last era).

    Made, as :func:`~fuelpipe.outlook.model.nowcast` makes it, at the publication of the
    member's last week known at as_of (``served_at``), and equal to the backtest's forecast
    from that week (:func:`~fuelpipe.outlook.backtest.walk_forward_panel`), stamped as_of.
    """
    lags = lags or Lags()
    known = [truncate(m, Cutoffs.at(as_of, lags)) for m in members]
    made = walk_panel(known, lags, params or Params(), pool or PoolParams(), stale_after, cache)
    last: dict[int, PanelForecast] = {m.member: m for m in made}
    out: list[Forecast | None] = []
    for i, m in enumerate(known):
        found = last.get(i)
        if found is None or not len(m.fuel) or found.week != int(m.fuel.days[-1]):
            out.append(None)
        else:
            out.append(to_forecast(found, m, as_of, lags))
    return out
