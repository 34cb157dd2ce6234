"""The states' outlook: each state's last price moved by the national model's forecast.

A state's file restarts after years of silence (the bundled ones in 2024-06), so a regression
of its own (:mod:`fuelpipe.outlook.model`) trained on 52–75 weeks: it overfitted them (errors
1.4–2.1 times no-change's). One ridge regression pooled over every state's rows did better,
but still worse than no-change (MAE ratio 1.00–1.08 at 1–4 weeks, walk-forward): what a
state's own last weeks tell beyond the others' did not hold out of sample. The states move
together (the same refinery prices spread through the same chains), and Brazil's own
regression, trained on its long, smooth national history, beats no-change; so:

- **Point.** A state's forecast from a week is its last price times Brazil's forecast change
  from that same week (``exp`` of the national model's predicted log change, made at that
  week's publication from what was known then: :func:`~fuelpipe.outlook.backtest.walk_forward`
  on the national series, each stretch without a hole over 26 weeks on its own). Brazil's
  slope on the states is not fitted: fitted on past rows (pooled, expanding or over the last
  one or two years, or shrunk toward 1) it did worse on the states' walk-forward than 1, and
  so did the regions' forecasts and Brazil's added to the pooled regression's. Where Brazil
  has no forecast from that week (its file shorter than 83 weeks, ending before that week, or
  not published), the state's forecast is no change, marked as such with why (``NoChange``),
  and it uses no driver (``dropped``): nothing may call it the model's, or a driver kept.
- **Bands from walk-forward errors.** The absolute errors of those forecasts of every state at
  earlier weeks (their outcome published by now, within the last ``error_weeks``), each
  divided by its state's volatility then, give the band's scale at the finite-sample
  conformal rank, multiplied by the state's volatility now: genuinely out-of-sample (and no
  narrower than the floor volatility's random walk, as Brazil's: ``model.band_floors``). Every
  state's forecast counts as evidence from its first week, though one is served only from
  ``min_weeks`` on (as Brazil's and the regions'). On short histories cut from the states'
  long one (:func:`~fuelpipe.outlook.backtest.walk_forward_cuts`) they cover their nominal
  share on average; the h-week changes' dispersion as the scale, a longer volatility window or
  a conformal rank counted in weeks (the states' errors move together) covered no nearer
  nominal there and widened the long history's bands (docs/OUTLOOK_BACKTEST.md).

A part is a stretch of one state's weeks without a hole over 26 weeks (``parts_of``);
a panel is walked from the first week after the last hole of the union of its weeks (the
served outlook reads the weeks after that same hole). Every step reads only values known at
its as-of time (Brazil's forecast from a week reads Brazil's weeks up to it, published with
the states'), so the forecast served from a week equals the backtest's from that week. Pure:
numpy only, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from fuelpipe.outlook.forecast import (
    NATIONAL_ENDS_BEFORE,
    NATIONAL_NO_FORECAST,
    NO_NATIONAL,
    Forecast,
    NoChange,
    StaleDriver,
)
from fuelpipe.outlook.model import (
    band_floors,
    driver_move,
    recent_quantiles,
    step_of,
    target_rows,
    volatility,
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
    day_number,
    day_of,
    known_at,
    parts_of,
    stale_drivers,
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
class PanelForecast:
    """One member's forecast from one of its weeks, before it becomes a ``Forecast``."""

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
    """Whether the forecast does not use Brent in BRL: Brazil's forecast it follows was fitted
    without it (a stale driver froze it), or it is no change (``no_change``)."""
    no_change: NoChange | None = None
    """Why the forecast is no change: Brazil had no forecast from its week (None: it had)."""


@dataclass(frozen=True, slots=True)
class _Led:
    """The national model's forecast from one week: its log change per horizon, and whether
    a stale driver dropped its driver terms."""

    changes: Floats
    dropped: bool


def national_changes(
    national: Inputs | None,
    weeks: Days,
    lags: Lags,
    params: Params,
    stale_after: StaleAfter | None = None,
) -> dict[int, _Led]:
    """The national model's forecast from each of ``weeks`` it has one for, by week, as its
    walk-forward backtest makes it (each stretch of the national series on its own), so each
    reads only what was published by that week's publication."""
    from fuelpipe.outlook.backtest import walk_forward  # backtest imports this module

    out: dict[int, _Led] = {}
    if national is None or not len(weeks) or not len(national.fuel):
        return out
    first = day_of(int(weeks[0]) + 7 * max(HORIZONS))  # walk_forward bounds the targets
    end = day_of(int(weeks[-1]) + 1)
    days = national.fuel.days
    for lo, hi in parts_of(days):
        if days[hi - 1] < weeks[0] or days[lo] > weeks[-1]:
            continue
        part = Inputs(
            Series(days[lo:hi], national.fuel.values[lo:hi]),
            national.brent,
            national.usd,
            national.futures,
        )
        # the points only: a state's bands come from its own walk-forward errors
        made = walk_forward(part, first, end, lags, params, stale_after, bands=False)
        for f in made[0]:
            last = np.log(f.last_price)
            change = np.array([np.log(s.point) - last for s in f.steps])
            out[day_number(f.last_week)] = _Led(change, f.drivers_dropped)
    return out


@dataclass(frozen=True, slots=True)
class _Part:
    """One stretch of one member's weeks: its log prices, volatility, and per row the
    forecast log change per horizon and the outcome (NaN: that week not published)."""

    member: int
    inputs: Inputs
    weeks: Days
    log_price: Floats
    vol: Floats
    changes: Floats
    outcomes: Floats


def walk_panel(
    members: Sequence[Inputs],
    lags: Lags,
    params: Params,
    pool: PoolParams,
    stale_after: StaleAfter | None = None,
    only: Iterable[int] | None = None,
    national: Inputs | None = None,
    *,
    start_of_era: Callable[[Sequence[Series]], int] = era_start,
) -> list[PanelForecast]:
    """The forecasts the panel serves from each of its weeks (``only`` those weeks, as day
    numbers, if given), over its last era, in week then member order.

    ``members`` share their drivers (one fuel, every state); ``national`` is the same fuel's
    national series on those drivers (None: every forecast is no change). Each forecast from
    a week is made at that week's publication from what was known then; its bands read the
    forecasts of the last ``error_weeks`` before it, which are made too (only those with
    ``only``). ``start_of_era`` finds where the last era starts (a test walks across it).
    """
    parts = _parts(members, start_of_era)
    if not parts:
        return []
    steps = np.unique(np.concatenate([p.fuel.days for _, p in parts]))
    wanted = steps if only is None else np.intersect1d(steps, np.fromiter(only, np.int64))
    if not len(wanted):
        return []
    reach = 7 * (pool.error_weeks + max(HORIZONS))  # the forecasts whose errors the bands read
    needed = steps[(steps >= wanted[0] - reach) & (steps <= wanted[-1])]
    led = national_changes(national, needed, lags, params, stale_after)
    plain = replace(params, vol_trim_after=pool.vol_trim_after)  # the states' volatility
    made = [_part(i, p, led, plain) for i, p in parts]
    errors = {True: _errors(made, True), False: _errors(made, False)}
    limits = stale_after or StaleAfter()
    fewest = min_weeks(params)
    served = [_served_rows(part.weeks, fewest) for part in made]
    floors = band_floors(params)  # no band narrower than the floor volatility's
    out: list[PanelForecast] = []
    for week in wanted.tolist():
        mine = errors[week in led]  # a no-change forecast's bands: no change's errors
        bands = np.array(
            [recent_quantiles(mine[c], week, pool.error_weeks, 1) for c in range(len(HORIZONS))]
        )
        if not np.all(np.isfinite(bands)):
            continue
        cut = Cutoffs.at(known_at(day_of(week), lags.fuel), lags)
        stale = stale_drivers(parts[0][1], cut, limits)
        fallback = None if week in led else no_change_reason(national, week)
        dropped = fallback is not None or led[week].dropped
        for part, rows in zip(made, served, strict=True):
            r = rows.get(week)
            if r is None:
                continue
            vol = float(part.vol[r])
            out.append(
                PanelForecast(
                    member=part.member,
                    week=week,
                    last_log=float(part.log_price[r]),
                    changes=tuple(part.changes[r].tolist()),
                    q80=tuple(np.maximum(bands[:, 0] * vol, floors[:, 0]).tolist()),
                    q95=tuple(np.maximum(bands[:, 1] * vol, floors[:, 1]).tolist()),
                    stale=stale,
                    dropped=dropped,
                    no_change=fallback,
                )
            )
    return out


def no_change_reason(national: Inputs | None, week: int) -> NoChange:
    """Why the national series has no forecast from ``week`` (a day number), read from its
    weeks published by then (a national week is published with the states' of that week)."""
    days = np.zeros(0, np.int64) if national is None else national.fuel.days
    known = int(np.searchsorted(days, week, side="right"))
    if not known:
        return NoChange(NO_NATIONAL)
    if int(days[known - 1]) < week:
        return NoChange(NATIONAL_ENDS_BEFORE, day_of(int(days[known - 1])))
    return NoChange(NATIONAL_NO_FORECAST)


def _served_rows(weeks: Days, fewest: int) -> dict[int, int]:
    """A part's row by week, of the weeks it is served from (its ``fewest``-th on)."""
    return {week: r for r, week in enumerate(weeks.tolist()) if r + 1 >= fewest}


def _parts(
    members: Sequence[Inputs], start_of_era: Callable[[Sequence[Series]], int]
) -> list[tuple[int, Inputs]]:
    """(member, inputs) per part of each member's weeks in the panel's last era."""
    if not members:
        return []
    start = start_of_era([m.fuel for m in members])
    parts: list[tuple[int, Inputs]] = []
    for i, m in enumerate(members):
        keep = m.fuel.days >= start
        days, values = m.fuel.days[keep], m.fuel.values[keep]
        for lo, hi in parts_of(days):
            part = Series(days[lo:hi], values[lo:hi])
            parts.append((i, Inputs(part, m.brent, m.usd, m.futures)))
    return parts


def _part(member: int, inputs: Inputs, led: dict[int, _Led], params: Params) -> _Part:
    weeks = inputs.fuel.days
    log_price = np.log(inputs.fuel.values)
    changes = np.zeros((len(weeks), len(HORIZONS)))
    for r, week in enumerate(weeks.tolist()):
        if week in led:
            changes[r] = led[week].changes
    outcomes = np.full((len(weeks), len(HORIZONS)), np.nan)
    for c, h in enumerate(HORIZONS):
        targets = target_rows(weeks, h)
        found = targets >= 0
        outcomes[found, c] = log_price[targets[found]] - log_price[found]
    vol = volatility(weeks, log_price, params)
    return _Part(member, inputs, weeks, log_price, vol, changes, outcomes)


def _errors(parts: list[_Part], led: bool) -> list[tuple[Days, Floats]]:
    """Per horizon: the forecasts' target days (sorted) and absolute log errors over the
    volatility then, over every part's weeks (ties in part then week order); those of the
    forecasts as made (``led``) or of no change."""
    out: list[tuple[Days, Floats]] = []
    for c, h in enumerate(HORIZONS):
        days = np.concatenate([p.weeks + 7 * h for p in parts])
        scaled = np.concatenate(
            [np.abs(p.outcomes[:, c] - (p.changes[:, c] if led else 0.0)) / p.vol for p in parts]
        )
        known = np.isfinite(scaled)
        order = np.argsort(days[known], kind="stable")
        out.append((days[known][order], scaled[known][order]))
    return out


def to_forecast(made: PanelForecast, inputs: Inputs, as_of: datetime, lags: Lags) -> Forecast:
    """The forecast ``made`` for its member (whose inputs are ``inputs``), stamped ``as_of``:
    the driver's move read at its week's publication, as the per-area model reads it."""
    cut = Cutoffs.at(known_at(day_of(made.week), lags.fuel), lags)
    move, day = driver_move(inputs, cut, made.stale)
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
        no_change=made.no_change,
    )


def nowcast_panel(
    members: Sequence[Inputs],
    as_of: datetime,
    lags: Lags | None = None,
    params: Params | None = None,
    pool: PoolParams | None = None,
    stale_after: StaleAfter | None = None,
    national: Inputs | None = None,
    *,
    start_of_era: Callable[[Sequence[Series]], int] = era_start,
) -> list[Forecast | None]:
    """Each member's outlook at ``as_of`` from the panel and the national series as known then
    (None where its history is too short or it has no week in the panel's last era).

    Made, as :func:`~fuelpipe.outlook.model.nowcast` makes it, at the publication of the
    member's last week known at as_of (``served_at``), and equal to the backtest's forecast
    from that week (:func:`~fuelpipe.outlook.backtest.walk_forward_panel`), stamped as_of.
    """
    lags = lags or Lags()
    cut = Cutoffs.at(as_of, lags)
    known = [truncate(m, cut) for m in members]
    lasts = [int(m.fuel.days[-1]) for m in known if len(m.fuel)]
    made = walk_panel(
        known,
        lags,
        params or Params(),
        pool or PoolParams(),
        stale_after,
        only=lasts,
        national=None if national is None else truncate(national, cut),
        start_of_era=start_of_era,
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
