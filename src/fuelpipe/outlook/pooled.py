"""The states' outlook: one regression per fuel and horizon over the panel of every state.

A state's file restarts after years of silence (the bundled ones in 2024-06), so its own
regression (:mod:`fuelpipe.outlook.model`) trained on 52–75 weeks: it overfitted them, its
errors were 1.4–2.1 times no-change's, and its leave-one-out residuals understated them (80%
bands covered 55% at four weeks). States share their dynamics (the same refinery prices
spread through the same chains), so the panel borrows strength across them:

- **Pooled fit.** Per fuel and horizon, at every as-of time, one ridge regression on the rows
  of every state whose outcome was published by then (the per-area model's regressors, each
  row computed from what was known at its week's publication), shared by every state. The
  rows are kept by target day with running Gram sums, so a fit at any as-of time reads one
  prefix and costs a k×k solve.
- **Heavy shrinkage** (``PoolParams.ridge`` = 0.1, the per-area model's 1e-5): chosen by the
  states' walk-forward backtest among 1e-5 … 1, on their short history and their long one.
  The slopes end near zero: what the panel can tell from a state's last weeks beyond its
  drift did not hold out of sample. Picking the ridge per fuel and horizon by its recent
  walk-forward errors did worse (it chased light ridges that had just done well).
- **Bands from walk-forward errors.** The absolute errors of the pooled forecasts of every
  state at earlier as-of times (published by now, within the last ``error_weeks``), each
  divided by its state's volatility then, give the band's scale at the finite-sample
  conformal rank, multiplied by the state's volatility now: genuinely out-of-sample, unlike
  in-sample leave-one-out residuals. Below ``min_errors`` of them, the pooled fit's
  leave-one-out residuals stand in. Every state's forecast counts as evidence from the first
  week its regressors are known, though one is served only from ``min_weeks`` on.

A part is a stretch of one state's weeks without a hole over 26 weeks (``parts_of``);
a panel is walked from the first week after the last hole of the union of its weeks (the
served outlook reads the weeks after that same hole). Every step reads only values known at
its as-of time, and a prefix of the rows gives the same sums whatever follows it, so the
forecast served from a week equals the backtest's from that week. Brazil and the regions keep
their own regressions: pooled over the five regions, this fit did worse than theirs. Pure:
numpy only, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

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
    Counts,
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
class _Table:
    """Every part's published weeks under one set of parameters, in part then week order."""

    part: Counts
    position: Counts
    """Each row's part, and its index within that part (its count of earlier weeks there)."""
    weeks: Days
    x: Floats
    usable: npt.NDArray[np.bool_]
    """All regressors known."""
    vol: Floats
    log_price: Floats
    outcomes: Floats
    """rows × horizons: the log change to the week ``h`` weeks on in the same part (NaN when
    that week was not published)."""


def _table(samples: list[Samples]) -> _Table:
    outcomes = []
    for s in samples:
        out = np.full((len(s.weeks), len(HORIZONS)), np.nan)
        for c, h in enumerate(HORIZONS):
            targets = target_rows(s.weeks, h)
            found = targets >= 0
            out[found, c] = s.log_price[targets[found]] - s.log_price[found]
        outcomes.append(out)
    x = np.vstack([s.features for s in samples])
    return _Table(
        part=np.concatenate(
            [np.full(len(s.weeks), j, dtype=np.intp) for j, s in enumerate(samples)]
        ),
        position=np.concatenate([np.arange(len(s.weeks), dtype=np.intp) for s in samples]),
        weeks=np.concatenate([s.weeks for s in samples]),
        x=x,
        usable=np.all(np.isfinite(x), axis=1),
        vol=np.concatenate([s.vol for s in samples]),
        log_price=np.concatenate([s.log_price for s in samples]),
        outcomes=np.vstack(outcomes),
    )


BLOCK = 64
"""Training rows per block of the running Gram sums (see ``_Training``)."""


@dataclass(frozen=True, slots=True)
class _Training:
    """One horizon's training rows, by target day (ties in part then week order), and the
    running sums of their Gram matrix over whole blocks of ``BLOCK`` rows: the sums over the
    first ``n`` rows are a block prefix plus one product over the rest. A fit at any as-of
    time reads one prefix of the rows, and the same prefix gives the same sums in the
    backtest and in the served walk (fewer rows known change nothing before them)."""

    target_days: Days
    x: Floats
    y: Floats
    vol: Floats
    gram: Floats
    """(blocks + 1) × k × k: the sum of x xᵀ over the first b whole blocks at index b."""
    cross: Floats
    """(blocks + 1) × k: the sum of x y."""

    def sums(self, count: int) -> tuple[Floats, Floats]:
        """The sums of x xᵀ and of x y over the first ``count`` rows."""
        b = count // BLOCK
        x, y = self.x[b * BLOCK : count], self.y[b * BLOCK : count]
        return self.gram[b] + x.T @ x, self.cross[b] + x.T @ y


def _training(table: _Table, c: int) -> _Training:
    rows = np.flatnonzero(table.usable & np.isfinite(table.outcomes[:, c]))
    target_days = table.weeks[rows] + 7 * HORIZONS[c]
    order = np.argsort(target_days, kind="stable")
    rows, target_days = rows[order], target_days[order]
    x, y = table.x[rows], table.outcomes[rows, c]
    k = x.shape[1]
    blocks = len(rows) // BLOCK
    xb = x[: blocks * BLOCK].reshape(blocks, BLOCK, k)
    yb = y[: blocks * BLOCK].reshape(blocks, BLOCK, 1)
    gram = np.zeros((blocks + 1, k, k))
    cross = np.zeros((blocks + 1, k))
    np.cumsum(np.matmul(xb.transpose(0, 2, 1), xb), axis=0, out=gram[1:])
    np.cumsum(np.matmul(xb.transpose(0, 2, 1), yb)[..., 0], axis=0, out=cross[1:])
    return _Training(target_days, x, y, table.vol[rows], gram, cross)


def _fits(training: _Training, weeks: Days, ridge: float, params: Params) -> Floats:
    """Per as-of week, the pooled ridge coefficients (the intercept unpenalised) on the rows
    whose outcome was published by then; NaN below ``min_train`` rows."""
    counts = np.searchsorted(training.target_days, weeks, side="right")
    k = training.x.shape[1]
    penalty = ridge * np.eye(k)
    penalty[0, 0] = 0.0
    betas = np.full((len(weeks), k), np.nan)
    enough = np.flatnonzero(counts >= max(params.min_train, 1))
    if len(enough):
        systems = np.empty((len(enough), k, k))
        sums = np.empty((len(enough), k, 1))
        for i, count in enumerate(counts[enough].tolist()):
            gram, cross = training.sums(count)
            systems[i] = gram + count * penalty
            sums[i, :, 0] = cross
        betas[enough] = np.linalg.solve(systems, sums)[..., 0]
    return betas


def _loo_scaled(training: _Training, week: int, ridge: float) -> Floats:
    """The pooled fit's absolute leave-one-out residuals at ``week``, each over its row's
    volatility: the bands' errors before enough walk-forward ones are published."""
    count = int(np.searchsorted(training.target_days, week, side="right"))
    loo = ridge_fit(training.x[:count], training.y[:count], ridge)[1]
    return np.asarray(np.abs(loo) / training.vol[:count], dtype=np.float64)


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


@dataclass
class _Variant:
    """The panel under one set of parameters (all drivers, or none): its rows, its training
    rows per horizon, and the as-of weeks it is used at."""

    used: Params
    table: _Table
    training: dict[int, _Training] = field(default_factory=dict)
    weeks: list[int] = field(default_factory=list)
    checks: dict[int, tuple[tuple[StaleDriver, ...], bool]] = field(default_factory=dict)
    """Per as-of week: the stale drivers then, and whether they dropped the driver terms."""

    def at(self, c: int) -> _Training:
        if c not in self.training:
            self.training[c] = _training(self.table, c)
        return self.training[c]


@dataclass(frozen=True, slots=True)
class _Made:
    """Every forecast row of the walk, over all variants: its row in its variant's table,
    the predicted log change per horizon (NaN: no fit), and its walk-forward errors."""

    variant: Counts
    row: Counts
    weeks: Days
    changes: Floats
    errors: list[tuple[Days, Floats]]
    """Per horizon: target days (sorted) and the absolute log errors over the volatility."""


def walk_panel(
    members: Sequence[Inputs],
    lags: Lags,
    params: Params,
    pool: PoolParams,
    stale_after: StaleAfter | None = None,
    cache: DriverCache | None = None,
    only: Iterable[int] | None = None,
) -> list[PanelForecast]:
    """The pooled forecasts the panel serves from each of its weeks (``only`` those weeks,
    as day numbers, if given), over its last era, in week then member order.

    ``members`` share their drivers (one fuel, every state; callers order them by area code:
    the pooled sums add them in that order). Each forecast from a week is made at that week's
    publication from what was known then; its bands read the forecasts of the last
    ``error_weeks`` before it, which are made too (only those with ``only``).
    """
    parts = _parts(members)
    if not parts:
        return []
    steps = np.unique(np.concatenate([p.fuel.days for _, p in parts]))
    wanted = steps if only is None else np.intersect1d(steps, np.fromiter(only, np.int64))
    reach = 7 * (pool.error_weeks + max(HORIZONS))  # the forecasts whose errors the bands read
    needed = steps[_within_reach(steps, wanted, reach)]
    if not len(needed):
        return []
    variants = _variants(parts, needed, lags, params, stale_after or StaleAfter(), cache)
    made = _made(variants, pool)
    out: list[PanelForecast] = []
    for v, var in enumerate(variants.values()):
        for week in np.intersect1d(np.asarray(var.weeks, dtype=np.int64), wanted).tolist():
            out += _served(var, v, week, made, parts, pool)
    out.sort(key=lambda f: f.week)  # stable: members stay in order within a week
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


def _within_reach(steps: Days, wanted: Days, reach: int) -> npt.NDArray[np.bool_]:
    """The steps at most ``reach`` days before a wanted one (the wanted ones included)."""
    if not len(wanted):
        return np.zeros(len(steps), dtype=bool)
    nxt = np.minimum(np.searchsorted(wanted, steps), len(wanted) - 1)
    return np.asarray((wanted[nxt] >= steps) & (wanted[nxt] - steps <= reach), dtype=bool)


def _variants(
    parts: list[tuple[int, Inputs]],
    weeks: Days,
    lags: Lags,
    params: Params,
    limits: StaleAfter,
    cache: DriverCache | None,
) -> dict[Params, _Variant]:
    """The panel under each set of parameters the weeks' driver checks call for (all drivers;
    none where a stale driver froze Brent in BRL), each with the weeks it is used at."""
    variants: dict[Params, _Variant] = {}
    drivers = parts[0][1]
    for week in weeks.tolist():
        cut = Cutoffs.at(known_at(day_of(week), lags.fuel), lags)
        used, stale, dropped = driver_check(drivers, cut, params, limits)
        if used not in variants:
            samples = [build_samples(p, lags, used, cache) for _, p in parts]
            variants[used] = _Variant(used, _table(samples))
        variants[used].weeks.append(week)
        variants[used].checks[week] = (stale, dropped)
    return variants


def _made(variants: dict[Params, _Variant], pool: PoolParams) -> _Made:
    """Every forecast row of the variants' weeks and its walk-forward errors per horizon."""
    which, rows, changes = [], [], []
    for v, var in enumerate(variants.values()):
        weeks = np.asarray(var.weeks, dtype=np.int64)
        at = np.flatnonzero(var.table.usable & np.isin(var.table.weeks, weeks))
        step = np.searchsorted(weeks, var.table.weeks[at])
        change = np.full((len(at), len(HORIZONS)), np.nan)
        for c in range(len(HORIZONS)):
            betas = _fits(var.at(c), weeks, pool.ridge, var.used)
            change[:, c] = np.sum(var.table.x[at] * betas[step], axis=1)
        which.append(np.full(len(at), v, dtype=np.intp))
        rows.append(at)
        changes.append(change)
    variant, row, change = np.concatenate(which), np.concatenate(rows), np.vstack(changes)
    tables = [var.table for var in variants.values()]
    weeks = np.concatenate([t.weeks[r] for t, r in zip(tables, rows, strict=True)])
    vol = np.concatenate([t.vol[r] for t, r in zip(tables, rows, strict=True)])
    errors: list[tuple[Days, Floats]] = []
    for c, h in enumerate(HORIZONS):
        outcome = np.concatenate([t.outcomes[r, c] for t, r in zip(tables, rows, strict=True)])
        known = np.isfinite(outcome) & np.isfinite(change[:, c])
        target_days = weeks[known] + 7 * h
        order = np.argsort(target_days, kind="stable")
        scaled = np.abs(outcome[known] - change[known, c]) / vol[known]
        errors.append((target_days[order], scaled[order]))
    return _Made(variant, row, weeks, change, errors)


def _served(
    var: _Variant,
    v: int,
    week: int,
    made: _Made,
    parts: list[tuple[int, Inputs]],
    pool: PoolParams,
) -> list[PanelForecast]:
    """The forecasts served from ``week``: each part's with every horizon fitted and at least
    ``min_weeks`` weeks; the bands from the walk-forward errors published by then."""
    mine = np.flatnonzero((made.weeks == week) & (made.variant == v))
    mine = mine[np.all(np.isfinite(made.changes[mine]), axis=1)]
    mine = mine[var.table.position[made.row[mine]] + 1 >= min_weeks(var.used)]
    if not len(mine):
        return []
    bands = np.empty((len(HORIZONS), 2))
    for c in range(len(HORIZONS)):
        days, scaled = made.errors[c]
        lo = int(np.searchsorted(days, week - 7 * pool.error_weeks, side="right"))
        errors = scaled[lo : int(np.searchsorted(days, week, side="right"))]
        if len(errors) < pool.min_errors:  # the pooled fit's own out-of-sample proxy
            errors = _loo_scaled(var.at(c), week, pool.ridge)
        bands[c] = conformal_quantiles(errors, (0.80, 0.95))
    stale, dropped = var.checks[week]
    out = []
    for i in mine.tolist():
        r = int(made.row[i])
        vol = float(var.table.vol[r])
        out.append(
            PanelForecast(
                member=parts[int(var.table.part[r])][0],
                week=week,
                last_log=float(var.table.log_price[r]),
                changes=tuple(made.changes[i].tolist()),
                q80=tuple((bands[:, 0] * vol).tolist()),
                q95=tuple((bands[:, 1] * vol).tolist()),
                stale=stale,
                dropped=dropped,
            )
        )
    return out


def to_forecast(made: PanelForecast, inputs: Inputs, as_of: datetime, lags: Lags) -> Forecast:
    """The forecast ``made`` for its member (whose inputs are ``inputs``), stamped ``as_of``:
    the driver's move read at its week's publication, as the per-area model reads it."""
    cut = Cutoffs.at(known_at(day_of(made.week), lags.fuel), lags)
    move, day = driver_move(inputs, cut)
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
    lasts = [int(m.fuel.days[-1]) for m in known if len(m.fuel)]
    made = walk_panel(
        known, lags, params or Params(), pool or PoolParams(), stale_after, cache, only=lasts
    )
    last: dict[int, PanelForecast] = {m.member: m for m in made}
    out: list[Forecast | None] = []
    for i, m in enumerate(known):
        found = last.get(i)
        if found is None or not len(m.fuel) or found.week != int(m.fuel.days[-1]):
            out.append(None)
        else:
            out.append(to_forecast(found, m, as_of, lags))
    return out
