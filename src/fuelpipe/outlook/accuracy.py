"""How the stored outlook scores where it is served: a walk-forward backtest of the same model
on the history a store holds (the last three years of forecast weeks), and the verdict on
whether it beats the no-change forecast there. The dashboard's Outlook view
(:mod:`fuelpipe.dashboard.outlook_views`) and `fuelpipe outlook show` both read it, so the two
never disagree on a verdict. The dashboard keeps it in memory per data version; `outlook show`
keeps it in the store per data version and model (:func:`kept_accuracy`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from functools import cache
from hashlib import sha256
from typing import TYPE_CHECKING

from pydantic import BaseModel, TypeAdapter

from fuelpipe.domain.catalog import STATES, Catalog
from fuelpipe.domain.keys import commodity_key, currency_key, fuel_key
from fuelpipe.domain.models import Status
from fuelpipe.outlook.params import HORIZONS
from fuelpipe.ports.store import Store
from fuelpipe.stages.data_version import INITIAL
from fuelpipe.stages.outlook import NATIONAL, after_last_gap

if TYPE_CHECKING:  # numpy is imported only when an outlook is scored
    from fuelpipe.outlook.backtest import Score, Scored
    from fuelpipe.outlook.series import Drivers

_log = logging.getLogger(__name__)
ACCURACY_WEEKS = 156
MIN_SCORED_WEEKS = 12
"""Fewer scored 1-week forecasts than this give no verdict on whether the model beats
no-change: a few weeks' mean absolute errors say nothing either way."""
VERDICT_P = 0.05
"""The Diebold-Mariano p-value below which the page says the model beats (or loses to)
no-change; above it the two are not told apart."""
USD, BRENT, FUTURES = currency_key("USD"), commodity_key("BRENT"), commodity_key("BRENT_FUTURES")
DRIVER_KEYS = {"brent": BRENT, "usd": USD, "futures": FUTURES}
"""The store key of each driver the model names (``fuelpipe.outlook.series.DRIVER_NAMES``)."""
NOT_APPLICABLE = "not_applicable"
"""The verdict where the forecast compared with no change is no change itself."""

Points = Callable[[str], list[tuple[date, float]]]
"""Every OK value of a store key, oldest first."""
States = Callable[[], dict[str, list[tuple[date, float]]]]
"""Every state's weekly prices of one fuel, read on first use (:func:`states_once`)."""
Panel = Callable[[], dict[str, list["Scored"]]]
"""The states' backtest of one fuel by state, walked on first use (:func:`panel_walk`)."""


class AccuracyOut(BaseModel):
    """Backtest accuracy at one horizon (weeks after the last published one)."""

    horizon: int
    n: int
    first_week: date | None = None
    """The first forecast week scored at this horizon (the history may start after
    ``accuracy_from``)."""
    mae: float | None
    naive_mae: float | None
    ratio: float | None
    bias: float | None
    coverage80: float | None
    coverage95: float | None
    dm_p: float | None = None
    """Diebold-Mariano p-value of "its errors equal no-change's" (None when it cannot be
    computed): the verdict needs it below VERDICT_P."""
    no_change_n: int = 0
    """Of the ``n``, the forecasts that were the no-change fallback (Brazil had no forecast from
    their week): no evidence either way, so ``mae``, ``naive_mae``, ``ratio``, ``bias`` and
    ``dm_p`` are over the other ``n - no_change_n`` (:func:`accuracy_out`), and the verdict
    needs MIN_SCORED_WEEKS of those; when all of them, ``ratio`` and ``dm_p`` are None, as no
    change compared with itself says nothing (the verdict is ``not_applicable``)."""
    coverage80_model: float | None = None
    """The 80% band's coverage over the model's own ``n - no_change_n`` forecasts (None when
    there were none); ``coverage80`` is over all ``n``, the fallback's no-change bands too."""
    coverage95_model: float | None = None
    """The 95% band's, likewise."""


def verdict_of(accuracy: Iterable[AccuracyOut], horizon: int = 1) -> str | None:
    """Whether the nowcast ``horizon`` weeks ahead beats the naive "no change" forecast:
    NOT_APPLICABLE when every scored forecast was the no-change fallback (no change against
    itself); None (no verdict) below MIN_SCORED_WEEKS scored weeks of the model's own forecasts
    (the fallback's weeks are no evidence either way), as a handful of weeks decides nothing;
    "no_clear_difference" when the Diebold-Mariano test cannot tell the two apart at VERDICT_P
    (a ratio of 0.95 over 22 weeks had p = 0.78)."""
    one = next((a for a in accuracy if a.horizon == horizon), None)
    if one is not None and one.n and one.no_change_n == one.n:
        return NOT_APPLICABLE
    if one is None or one.ratio is None or one.n - one.no_change_n < MIN_SCORED_WEEKS:
        return None
    if one.dm_p is None or one.dm_p >= VERDICT_P:
        return "no_clear_difference"
    return "beats" if one.ratio < 1.0 else "does_not_beat"


def first_weeks(scored: Iterable[tuple[int, date]]) -> dict[int, date]:
    """The first week scored at each horizon, from (horizon, week) pairs."""
    firsts: dict[int, date] = {}
    for horizon, week in scored:
        if horizon not in firsts or week < firsts[horizon]:
            firsts[horizon] = week
    return firsts


def num(value: float, decimals: int = 4) -> float | None:
    """``value`` rounded to ``decimals``, None (null) when not finite."""
    return round(value, decimals) if math.isfinite(value) else None


def accuracy_out(s: Score, first_week: date | None) -> AccuracyOut:
    """One horizon's backtest score as served (``s`` from
    :func:`~fuelpipe.outlook.backtest.served_score`): the n and the bands' coverage every
    served forecast's, and the coverage over the model's own beside it; the MAEs, their ratio,
    the bias and the p-value the model's against no
    change on the model's weeks only, as a fallback week's loss difference is 0 by
    construction. No ratio and no p-value when every scored forecast was the fallback (no
    change against itself); its MAEs are then no change's."""
    return AccuracyOut(
        horizon=s.horizon,
        n=s.n,
        first_week=first_week,
        mae=num(s.mae),
        naive_mae=num(s.naive_mae),
        ratio=num(s.ratio),
        bias=num(s.bias),
        coverage80=num(s.coverage80),
        coverage95=num(s.coverage95),
        dm_p=num(s.dm_p),
        no_change_n=s.no_change_n,
        coverage80_model=num(s.coverage80_model),
        coverage95_model=num(s.coverage95_model),
    )


def scores_of(scored: list[Scored]) -> list[AccuracyOut]:
    """The served scores at every horizon (1 to 5 weeks) of a backtest's scored weeks."""
    from fuelpipe.outlook.backtest import served_score

    firsts = first_weeks((row.horizon, row.week) for row in scored)
    return [accuracy_out(s, firsts.get(s.horizon)) for s in served_score(scored, HORIZONS)]


def stored_points(store: Store, key: str) -> list[tuple[date, float]]:
    """Every OK value of ``key`` in ``store``, oldest first."""
    return [
        (r.date, float(r.value))
        for r in store.query(key, fields=("date", "value", "status"))
        if r.status is Status.OK and r.value is not None
    ]


def drivers_once(points: Points) -> Callable[[], Drivers]:
    """The drivers' series, read with ``points`` on first use only: one map request scores up
    to 27 states on the same ones (reading them per state cost most of the map's time)."""
    from fuelpipe.outlook.series import drivers_for

    @cache
    def load() -> Drivers:
        series = {k: points(k) for k in (USD, BRENT, FUTURES)}
        return drivers_for(series, usd_key=USD, brent_key=BRENT, futures_key=FUTURES)

    return load


def states_once(points: Points, product: str) -> States:
    """Every state's weekly prices of one fuel, and Brazil's (under ``NATIONAL``), read with
    ``points`` on first use only: a state's accuracy is the panel's backtest
    (:func:`panel_walk`), which reads them all, and the map asks it for all 27."""

    @cache
    def load() -> dict[str, list[tuple[date, float]]]:
        read = {a: points(fuel_key(product, a)) for a in (*STATES, NATIONAL)}
        return {uf: p for uf, p in read.items() if p}

    return load


def accuracy_start(fuel: list[tuple[date, float]]) -> date | None:
    """Where a series' backtest window starts: ACCURACY_WEEKS before its last week."""
    return fuel[-1][0] - timedelta(weeks=ACCURACY_WEEKS) if fuel else None


def panel_walk(
    catalog: Catalog, states: States, drivers: Callable[[], Drivers]
) -> dict[str, list[Scored]]:
    """The states' backtest of one fuel by state, as their forecasts are served
    (:func:`~fuelpipe.outlook.backtest.walk_forward_panel`), all 27 in one walk. The walk
    starts at the earliest state's accuracy window: it skips only the eras that end before it
    (the 2004–2019 one), so every state's scored weeks from its own window start are those of
    the walk over all weeks."""
    from fuelpipe.outlook.backtest import walk_forward_panel
    from fuelpipe.outlook.series import Lags
    from fuelpipe.outlook.series import Series as Series_

    known = {uf: p for uf, p in states().items() if uf != NATIONAL}
    starts = [s for s in map(accuracy_start, known.values()) if s is not None]
    with_drivers = drivers()
    members = {uf: with_drivers.with_fuel(Series_.of(p)) for uf, p in known.items()}
    national = states().get(NATIONAL)
    return walk_forward_panel(
        members,
        min(starts, default=None),
        lags=Lags.from_catalog(catalog),
        national=with_drivers.with_fuel(Series_.of(national)) if national else None,
    )


def backtest_of(
    catalog: Catalog,
    fuel: list[tuple[date, float]],
    start: date | None,
    drivers: Callable[[], Drivers],
    state: tuple[str, Panel] | None,
) -> list[Scored]:
    """The scored weeks from ``start`` of one area's backtest, as its forecast is served: a
    state's (``state``: its code and the fuel's panel) from the pooled panel, another area's
    from its own regression on the weeks after its last long hole (a file that stops for years
    starts afresh, as the served model does)."""
    from fuelpipe.outlook.backtest import walk_forward
    from fuelpipe.outlook.series import Lags
    from fuelpipe.outlook.series import Series as Series_

    if state is not None:
        uf, panel = state
        return [s for s in panel().get(uf, []) if start is None or s.week >= start]
    inputs = drivers().with_fuel(Series_.of(after_last_gap(fuel)))
    return walk_forward(inputs, start, lags=Lags.from_catalog(catalog))[1]


def area_accuracy(
    catalog: Catalog, product: str, area: str, points: Points, drivers: Callable[[], Drivers]
) -> tuple[list[AccuracyOut], date | None]:
    """One fuel's backtest scores in one area as its forecast is served (a state's from the
    pooled panel of every state, read with ``points``), and where the window starts: what the
    dashboard's Outlook view gives as ``accuracy`` and ``accuracy_from``, uncached."""
    fuel = points(fuel_key(product, area))
    start = accuracy_start(fuel)
    states = states_once(points, product)
    state = (area, cache(lambda: panel_walk(catalog, states, drivers))) if area in STATES else None
    return scores_of(backtest_of(catalog, fuel, start, drivers, state)), start


ACCURACY_PREFIX = "ACCURACY#"
"""The names of the kept accuracies' meta entries start with it, then the fuel's series key
(:func:`kept_accuracy`): one entry a fuel and area, replaced when recomputed."""
SCORING_VERSION = 1
"""Part of a kept accuracy's model mark (:func:`model_mark`): raise it when the same data and
model score otherwise (the backtest's walk, the window, the scores' fields or rounding), so an
accuracy kept by an older fuelpipe is recomputed, not read."""

Scores = tuple[list[AccuracyOut], date | None]
"""An area's backtest scores at every horizon and where its window starts
(:func:`area_accuracy`'s)."""
_ROWS: TypeAdapter[list[AccuracyOut]] = TypeAdapter(list[AccuracyOut])


def model_mark(catalog: Catalog) -> str:
    """What an accuracy depends on beside the data, as a short digest: the model
    (MODEL_VERSION, its Params and PoolParams), the scoring (SCORING_VERSION, ACCURACY_WEEKS)
    and the publication lags the catalog gives its inputs. An accuracy kept under another mark
    is recomputed (:func:`kept_accuracy`)."""
    from fuelpipe.outlook.params import MODEL_VERSION, Params, PoolParams
    from fuelpipe.outlook.series import Lags

    parts = (
        MODEL_VERSION,
        SCORING_VERSION,
        ACCURACY_WEEKS,
        Params(),
        PoolParams(),
        Lags.from_catalog(catalog),
    )
    return f"{MODEL_VERSION}.{SCORING_VERSION}." + sha256(repr(parts).encode()).hexdigest()[:12]


def encode_accuracy(version: str, mark: str, scores: Scores) -> str:
    """A kept accuracy as one meta value: the data version and model mark it was computed at,
    where its window starts and its scores (each float as computed: JSON keeps it exactly)."""
    accuracy, start = scores
    return json.dumps(
        {
            "v": version,
            "m": mark,
            "from": start.isoformat() if start else None,
            "a": [row.model_dump(mode="json") for row in accuracy],
        },
        allow_nan=False,
    )


def decode_accuracy(value: str, version: str, mark: str) -> Scores | None:
    """The scores of a kept accuracy computed at data ``version`` with the model ``mark``;
    None when it was computed at another or does not decode (then recomputed)."""
    try:
        data = json.loads(value)
        if data["v"] != version or data["m"] != mark:
            return None
        start = date.fromisoformat(data["from"]) if data["from"] is not None else None
        return _ROWS.validate_python(data["a"]), start
    except (ValueError, KeyError, TypeError):
        return None


def kept_accuracy(
    store: Store,
    key: str,
    compute: Callable[[], Scores],
    *,
    version: str,
    mark: str,
    write: bool,
) -> Scores:
    """The accuracy of the forecasts of series ``key`` (:func:`area_accuracy`'s scores), read
    from the store when it keeps one computed at data ``version`` with the model ``mark``
    (:func:`model_mark`), else ``compute``d and, when ``write``, kept for the next reader
    (one meta entry a series, replaced; a store that refuses the write, as AWS credentials
    that only read do, is logged and the scores returned all the same).
    ``version`` must be read before the series ``compute`` reads: an accuracy of data newer
    than its version is then never read at a later one.

    A store no run has versioned (``INITIAL``: its series written around the pipeline, which
    leaves the version alone) keeps none and reads none: its data may change under the same
    version."""
    if version == INITIAL:
        return compute()
    name = ACCURACY_PREFIX + key
    value = store.get_meta(name)
    kept = None if value is None else decode_accuracy(value, version, mark)
    if kept is not None:
        return kept
    scores = compute()
    if write:
        try:
            store.put_meta(name, encode_accuracy(version, mark, scores))
        except Exception as exc:  # not kept (credentials that only read): shown all the same
            _log.warning("the accuracy of %s was computed but not kept: %s", key, exc)
    return scores
