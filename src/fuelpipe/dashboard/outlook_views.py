"""The Outlook views: the stored nowcast of a fuel, its accuracy, and the state map, built
without FastAPI (the routes in :mod:`fuelpipe.dashboard.outlook_api` and the outlook Lambda's
stored views both call :class:`OutlookViews`).

Accuracy is a walk-forward backtest of the same model on the history this store holds (the
last three years of forecast weeks), so the panel never shows a nowcast without saying whether
it beats the no-change forecast there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import date, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from cachetools import LRUCache
from pydantic import BaseModel, Field

from fuelpipe.dashboard.areas import AREAS, STATE_CODES
from fuelpipe.dashboard.schemas import DECIMALS, Table, context
from fuelpipe.domain.catalog import FUEL_PRODUCTS, Catalog
from fuelpipe.domain.keys import fuel_key, outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.accuracy import (
    DRIVER_KEYS,
    MIN_SCORED_WEEKS,
    VERDICT_P,
    AccuracyOut,
    States,
    accuracy_start,
    backtest_of,
    drivers_once,
    kept_accuracy,
    model_mark,
    num,
    panel_walk,
    scores_of,
    states_once,
    stored_points,
    verdict_of,
)
from fuelpipe.outlook.forecast import bands_of
from fuelpipe.outlook.params import Params
from fuelpipe.ports.store import Store
from fuelpipe.stages.outlook import (
    MIN_WEEKS,
    NATIONAL,
    SkipReason,
    after_last_gap,
    behind_newest,
    skip_reasons,
)

if TYPE_CHECKING:  # numpy is imported only when an outlook is read
    from fuelpipe.outlook.backtest import Scored
    from fuelpipe.outlook.forecast import Forecast, Step
    from fuelpipe.outlook.records import StoredForecast
    from fuelpipe.outlook.series import Drivers

HISTORY_WEEKS = 26
LEAST_ERRORS = Params().least_errors
"""Fewer of the model's own walk-forward errors at a horizon than this and its bands are the
leave-one-out residuals' (``Params.least_errors``, as the CLI's note reads it)."""


class StepOut(BaseModel):
    """One survey week of the nowcast."""

    horizon: int
    week: date
    point: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float
    published: float | None
    bands: str | None = Field(
        default=None,
        description="where the 80%/95% bands come from: `walk_forward` (the model's own "
        "walk-forward errors; a state's, every state's), `leave_one_out` (the regression's "
        f"leave-one-out residuals: fewer than {LEAST_ERRORS} walk-forward errors at this horizon "
        "(the view's `least_errors`), a series' first weeks of forecasts); null when not known "
        "(a forecast stored before it was recorded)",
    )


class StaleDriverOut(BaseModel):
    """A driver whose newest value was too old when the forecast was made."""

    driver: str
    """``brent`` (FRED spot), ``usd`` (PTAX) or ``futures`` (BZ=F)."""
    key: str
    last_day: date
    """Its newest value known at the forecast's as-of time."""


class WeekPrice(BaseModel):
    """A published survey week."""

    week: date
    price: float


OUTLOOK_CSV_FIELDS = [
    "available",
    "unit",
    "method",
    "no_change_reason",
    "national_last_week",
    "drivers_dropped",
    "driver_move",
    "driver_day",
    "newest_week",
    "stale_reason",
    "stale_detail",
    "published_weeks",
    "min_weeks",
    "min_scored_weeks",
    "accuracy_from",
]
"""The outlook's own fields its CSV repeats on each forecast week's row, after the fan's
columns; its lists (``history``, ``accuracy``, ``stale_drivers``) are tables of their own
(``table=``)."""


class OutlookView(BaseModel):
    """A fuel's outlook in one area."""

    CSV_TABLE: ClassVar[str] = "steps"
    CSV_LISTS: ClassVar[tuple[str, ...]] = ("history", "accuracy", "stale_drivers")

    fuel: str
    area: str
    unit: str
    available: bool
    as_of: str | None = None
    last_week: date | None = None
    last_price: float | None = None
    driver_move: float | None = Field(
        default=None,
        description="log change of Brent in BRL over the 7 days to `driver_day`, Brent's last "
        "day (spot's, or BZ=F's carrying it; PTAX on or before it; 0.05 is exp(0.05) - 1 = "
        "+5.1 %); null when none is known or a stale driver froze Brent in BRL",
    )
    driver_day: date | None = None
    stale_drivers: list[StaleDriverOut] = []
    """Drivers too old at ``as_of`` (their limit is ``StaleAfter``): the page warns."""
    drivers_dropped: bool = False
    """True when the forecast does not use Brent in BRL: a stale driver froze it, so the forecast
    was fitted on the fuel's own changes only, or the forecast is no change (``method``); False
    when it does (the current drivers carry it: Brent spot by BZ=F)."""
    method: str = Field(
        default="model",
        description="`model`: the model's forecast (a state's: its last price moved by Brazil's "
        "forecast change); `no_change`: the no-change fallback, the last price at every week, as "
        "Brazil had no forecast from the same week (`no_change_reason`)",
    )
    no_change_reason: str | None = Field(
        default=None,
        description="why the forecast is no change: `national_ends_before` (Brazil's series "
        "stored here ends before the forecast's week, in the week `national_last_week`), "
        "`no_national` (no Brazil week stored up to it), `national_no_forecast` (Brazil's model "
        "made none from that week); null for the model's forecast",
    )
    national_last_week: date | None = None
    """Brazil's last week known when the forecast was made (``national_ends_before`` only)."""
    steps: list[StepOut] = []
    history: list[WeekPrice] = []
    accuracy: list[AccuracyOut] = []
    accuracy_from: date | None = None
    """Where the backtest window starts (``ACCURACY_WEEKS`` before the last published week);
    each horizon's ``first_week`` is the first week actually scored."""
    min_scored_weeks: int = MIN_SCORED_WEEKS
    min_weeks: int = MIN_WEEKS
    """Published weeks (without a long hole) the model needs before it forecasts."""
    published_weeks: int = 0
    """Published weeks stored since the last long hole: with fewer than ``min_weeks`` there is
    no outlook."""
    verdict: str = "unknown"
    """``beats`` when the 1-week MAE is below the no-change MAE, ``does_not_beat`` otherwise;
    ``unknown`` with fewer than ``min_scored_weeks`` scored 1-week forecasts of the model's own
    (not the no-change fallback's);
    ``not_applicable`` when every scored 1-week forecast was the no-change fallback (no change
    compared with itself). Of the backtest, not of this forecast: one that is no change
    (``method``) keeps its earlier forecasts' verdict."""
    newest_week: date | None = None
    """The series' newest stored week (``history``'s last)."""
    stale: bool = Field(
        default=False,
        description="true when the stored forecast was made from a week older than "
        "`newest_week`: the refresh made no forecast since, so its first weeks are already "
        "published and it is not the current outlook",
    )
    stale_reason: str | None = Field(
        default=None,
        description="why the last refresh made no forecast from `newest_week`: `too_short` "
        "(fewer than `min_weeks` weeks since the last long hole), `no_forecast` (the model "
        "made none from them), `failed` (the series' data raised an error); null when stale "
        "and no refresh has run on that week yet",
    )
    stale_detail: str | None = None
    """The refresh's own line for ``stale_reason`` (English)."""
    least_errors: int = Field(
        default=LEAST_ERRORS,
        description="a step's bands are the leave-one-out residuals' (`bands`) where the model "
        "has fewer than this many walk-forward errors at its horizon (`Params.least_errors`)",
    )

    def table(self) -> Table:
        """The fan chart's numbers, one row per forecast week, then the forecast's own fields
        on each (its unit, how it was made, its drivers, why it is stale or no change), then
        where the week's bands come from (``bands``) and the errors they need (``least_errors``)."""
        head = ["fuel", "area", "as_of", "last_week", "last_price", "horizon", "week", "point",
                "lo80", "hi80", "lo95", "hi95", "published", "verdict", "stale"]  # fmt: skip
        view_head, view = context(self, OUTLOOK_CSV_FIELDS)
        rows = [
            [
                self.fuel,
                self.area,
                self.as_of,
                _iso(self.last_week),
                self.last_price,
                s.horizon,
                s.week.isoformat(),
                s.point,
                s.lo80,
                s.hi80,
                s.lo95,
                s.hi95,
                s.published,
                self.verdict,
                self.stale,
                *view,
                s.bands,
                self.least_errors,
            ]
            for s in self.steps
        ]
        return [*head, *view_head, "bands", "least_errors"], rows


class StateChange(BaseModel):
    """One state's expected change, and how its forecasts at that horizon scored."""

    area: str
    name: str
    last_week: date
    last_price: float
    week: date
    point: float
    change: float = Field(
        description="expected change from `last_price` to `point` as a fraction, not a percent: "
        "-0.0018 means -0.18 % (point / last_price - 1); the CSV's `change_fraction`"
    )
    scored_weeks: int = 0
    """The model's forecasts at this horizon scored by the state's backtest
    (``ACCURACY_WEEKS``): the no-change fallback's are no evidence and not counted."""
    ratio: float | None = None
    """Their MAE over no-change's (None when every scored forecast was the no-change
    fallback)."""
    dm_p: float | None = None
    verdict: str = "unknown"
    """:func:`verdict_of` at this horizon: ``unknown`` below ``min_scored_weeks`` scored weeks,
    ``not_applicable`` when every scored one was the no-change fallback."""
    method: str = "model"
    """``model`` or ``no_change`` (the fallback: ``no_change_reason`` says why), as
    ``/api/outlook``'s."""
    no_change_reason: str | None = None


class BehindState(BaseModel):
    """A state whose stored forecast is older than its newest stored week (not on the map as
    current: the refresh made no forecast from that week)."""

    area: str
    name: str
    last_week: date
    """The week the stored forecast was made from."""
    newest_week: date


class OutlookMapView(BaseModel):
    """Expected change by state at one horizon."""

    CSV_TABLE: ClassVar[str] = "states"
    CSV_LISTS: ClassVar[tuple[str, ...]] = ("behind",)

    fuel: str
    horizon: int
    states: list[StateChange]
    """The states whose forecast is current (made from their newest stored week)."""
    behind: list[BehindState] = []
    """The states whose stored forecast is out of date, left out of ``states``."""
    min_scored_weeks: int = MIN_SCORED_WEEKS
    verdict_p: float = VERDICT_P

    def table(self) -> Table:
        """One row per state, its ``no_change_reason`` after its method, then the view's
        ``min_scored_weeks`` and ``verdict_p`` (what a verdict needs) on each."""
        head = ["fuel", "horizon", "area", "name", "last_week", "last_price", "week", "point",
                "change_fraction", "scored_weeks", "ratio", "dm_p", "verdict",
                "method", "no_change_reason"]  # fmt: skip
        view_head, view = context(self, ["min_scored_weeks", "verdict_p"])
        rows = [
            [
                self.fuel,
                self.horizon,
                s.area,
                s.name,
                s.last_week.isoformat(),
                s.last_price,
                s.week.isoformat(),
                s.point,
                s.change,
                s.scored_weeks,
                s.ratio,
                s.dm_p,
                s.verdict,
                s.method,
                s.no_change_reason,
                *view,
            ]
            for s in self.states
        ]
        return head + view_head, rows


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def fill_forecast(view: OutlookView, stored: StoredForecast) -> None:
    """The stored forecast's numbers into the view (rounded as served), its stale drivers with
    their store keys."""
    fc = stored.forecast
    view.as_of = fc.as_of.isoformat()
    view.last_week = fc.last_week
    view.last_price = round(fc.last_price, 4)
    # to DECIMALS, as stored: the page shows exp(move) - 1 to 0.1 %, and a move rounded to 4
    # decimals said +37.9 % for Brent in BRL's +37.85 % (0.320962 as 0.321)
    view.driver_move = num(fc.driver_move, DECIMALS)
    view.driver_day = fc.driver_day
    view.stale_drivers = [
        StaleDriverOut(driver=d.name, key=DRIVER_KEYS.get(d.name, d.name), last_day=d.last_day)
        for d in fc.stale
    ]
    view.drivers_dropped = fc.drivers_dropped
    if fc.no_change is not None:
        view.method = "no_change"
        view.no_change_reason = fc.no_change.reason
        view.national_last_week = fc.no_change.national_last_week
    view.steps = [
        StepOut(
            horizon=s.horizon,
            week=s.week,
            point=round(s.point, 4),
            lo80=round(s.lo80, 4),
            hi80=round(s.hi80, 4),
            lo95=round(s.lo95, 4),
            hi95=round(s.hi95, 4),
            published=stored.actuals.get(s.horizon),
            bands=bands_of(fc, s.horizon),
        )
        for s in fc.steps
    ]


def mark_behind(view: OutlookView, reason: Callable[[], SkipReason | None]) -> None:
    """Mark the view's forecast stale when its last week is older than the series' newest
    stored week (``view.newest_week``), with why the last refresh made none from that week
    (``reason`` is read only then, and said only when it is about that very week)."""
    late = (
        None if view.last_week is None else behind_newest(view.last_week, view.newest_week, reason)
    )
    if late is None:
        return
    view.stale = True
    if late.why is not None:
        view.stale_reason, view.stale_detail = late.why.reason, late.why.detail


def state_change(uf: str, fc: Forecast, step: Step, scores: list[AccuracyOut]) -> StateChange:
    """One state on the map: its expected change at the step's horizon, whether it is the
    no-change fallback, and how its backtest scored at that horizon (``unknown`` below
    MIN_SCORED_WEEKS scored weeks, ``not_applicable`` when all were the fallback)."""
    scored = next(a for a in scores if a.horizon == step.horizon)
    return StateChange(
        area=uf,
        name=AREAS[uf].name,
        last_week=fc.last_week,
        last_price=round(fc.last_price, 4),
        week=step.week,
        point=round(step.point, 4),
        change=round(step.point / fc.last_price - 1.0, 5),
        scored_weeks=scored.n - scored.no_change_n,
        ratio=scored.ratio,
        dm_p=scored.dm_p,
        verdict=verdict_of(scores, step.horizon) or "unknown",
        method="model" if fc.no_change is None else "no_change",
        no_change_reason=None if fc.no_change is None else fc.no_change.reason,
    )


V = TypeVar("V")


class LockedCache(Generic[V]):
    """An LRU cache shared by the routes' worker threads: cachetools' caches are not
    thread-safe (a get racing an eviction raises KeyError), so one lock guards every access."""

    def __init__(self, maxsize: int) -> None:
        self._entries: LRUCache[Hashable, V] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value cached under ``key``, or None."""
        with self._lock:
            found: V | None = self._entries.get(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        """Cache ``value`` under ``key`` (evicting the least recently used past maxsize)."""
        with self._lock:
            self._entries[key] = value


PanelCache = LockedCache[dict[str, list["Scored"]]]
NewestCache = LockedCache[dict[str, date]]


def newest_weeks(cache: NewestCache, product: str, states: States, version: str) -> dict[str, date]:
    """Each state's newest stored week of one fuel, read once per data ``version`` (from the
    states' series the accuracy reads on a miss): staleness on the map is judged on the
    version's data, as the accuracy beside it."""
    found = cache.get((product, version))
    if found is None:
        found = {uf: p[-1][0] for uf, p in states().items() if p and uf != NATIONAL}
        cache.put((product, version), found)
    return found


def latest_forecast(store: Store, key: str) -> list[Record]:
    """The latest stored forecast of an outlook key (empty: none), one small read whatever the
    number stored."""
    return store.query(key, limit=1, newest_first=True)


def newest_points(store: Store, key: str, count: int) -> list[tuple[date, float]]:
    """The last ``count`` published weeks of a series (date order), reading newest first only
    as far back as they reach: the weeks the view shows, whatever the history's length."""
    found: list[tuple[date, float]] = []
    end: date | None = None
    while len(found) < count:
        records = store.query(
            key, None, end, ("date", "value", "status"), limit=count, newest_first=True
        )
        found += [
            (r.date, float(r.value))
            for r in records
            if r.status is Status.OK and r.value is not None
        ]
        if len(records) < count:
            break
        end = records[-1].date - timedelta(days=1)
    return found[:count][::-1]


WeeksCache = LockedCache[int]


def published_weeks(
    cache: WeeksCache, key: str, version: str, history: Callable[[], list[tuple[date, float]]]
) -> int:
    """Published weeks since the series' last long hole, from its whole ``history`` once per
    data ``version`` (as the accuracy beside them)."""
    found = cache.get((key, version))
    if found is None:
        found = len(after_last_gap(history()))
        cache.put((key, version), found)
    return found


def latest_steps(
    store: Store, product: str, horizon: int, newest: dict[str, date]
) -> tuple[list[tuple[str, Forecast, Step]], list[BehindState]]:
    """Each state's latest stored forecast with its step at ``horizon``, the current ones
    apart from those behind their state's newest stored week (``newest``: out of date, the
    refresh made no forecast from that week)."""
    from fuelpipe.outlook.records import from_record

    current: list[tuple[str, Forecast, Step]] = []
    behind: list[BehindState] = []
    for uf in STATE_CODES:
        records = latest_forecast(store, outlook_key(product, uf))
        if not records:
            continue
        fc = from_record(records[0]).forecast
        step = next((s for s in fc.steps if s.horizon == horizon), None)
        week = newest.get(uf)
        if step is None:
            continue
        if week is not None and week > fc.last_week:
            behind.append(
                BehindState(area=uf, name=AREAS[uf].name, last_week=fc.last_week, newest_week=week)
            )
        else:
            current.append((uf, fc, step))
    return current, behind


def state_points(states: States, uf: str) -> list[tuple[date, float]]:
    """One state's weekly prices from the fuel's states (empty when it has none)."""
    return states().get(uf, [])


def panel_scored(
    cache: PanelCache,
    catalog: Catalog,
    product: str,
    states: States,
    drivers: Callable[[], Drivers],
    version: str,
) -> dict[str, list[Scored]]:
    """The states' backtest of one fuel by state (:func:`~fuelpipe.outlook.accuracy.panel_walk`),
    walked once for all 27 per data ``version``, the states' series read only then."""
    key = (product, version)
    found = cache.get(key)
    if found is None:
        found = panel_walk(catalog, states, drivers)
        cache.put(key, found)
    return found


MAP_HORIZON = 2
"""The horizon the page's state map opens at (outlook.js asks ``horizon=2``)."""


class OutlookViews:
    """The outlook views of one store, with the accuracy computed once per data version.

    An accuracy is read from the store's ``ACCURACY#`` entry kept at this data version and
    model (:func:`~fuelpipe.outlook.accuracy.kept_accuracy`, the one `outlook show` keeps too)
    before it is walked, and kept there when ``keep`` (a store this process writes: the
    pipeline's and the AWS dashboard's; `fuelpipe dashboard` opens its store read-only), so a
    new process or Lambda container does not walk it again."""

    def __init__(self, store: Store, catalog: Catalog, *, keep: bool = False) -> None:
        self.store = store
        self.catalog = catalog
        self.keep = keep
        self._mark: str | None = None
        # Every state of a fuel is scored for its map: room for all of them across a few fuels.
        self._accuracy: LockedCache[tuple[list[AccuracyOut], date | None]] = LockedCache(256)
        self._weeks: WeeksCache = LockedCache(256)
        self._panels: PanelCache = LockedCache(8)
        self._newest: NewestCache = LockedCache(16)

    def points(self, key: str) -> list[tuple[date, float]]:
        """Every OK value of ``key``, oldest first."""
        return stored_points(self.store, key)

    def accuracy(
        self,
        key: str,
        history: Callable[[], list[tuple[date, float]]],
        drivers: Callable[[], Drivers],
        version: str,
        state: tuple[str, str, States] | None = None,
    ) -> tuple[list[AccuracyOut], date | None]:
        """The backtest's scores at every horizon (the view shows them all; the map its own),
        once per data ``version``: ``history`` and the drivers are read on a miss only.

        A state's (``state``: its fuel, code and the fuel's states) is the pooled panel's, as
        its forecast is served."""
        cache_key = (key, version)
        cached = self._accuracy.get(cache_key)
        if cached is not None:
            return cached

        def walk() -> tuple[list[AccuracyOut], date | None]:
            fuel = history()
            start = accuracy_start(fuel)
            panel = None
            if state is not None:
                product, uf, states = state
                scored = partial(panel_scored, self._panels, self.catalog, product, states, drivers)
                panel = (uf, partial(scored, version))
            return scores_of(backtest_of(self.catalog, fuel, start, drivers, panel)), start

        if self._mark is None:
            self._mark = model_mark(self.catalog)
        found = kept_accuracy(
            self.store, key, walk, version=version, mark=self._mark, write=self.keep
        )
        self._accuracy.put(cache_key, found)
        return found

    def area(self, fuel: str, area: str, version: str) -> OutlookView:
        """The latest stored nowcast of one fuel and area (80/95% bands), the driver's move,
        and backtest accuracy, at data ``version``."""
        from fuelpipe.outlook.records import from_record

        store = self.store
        key = fuel_key(fuel, area)
        unit = self.catalog[key].unit if key in self.catalog else FUEL_PRODUCTS[fuel][1]
        records = latest_forecast(store, outlook_key(fuel, area))
        history = cache(partial(self.points, key))  # the whole history, read at most once here
        shown = newest_points(store, key, HISTORY_WEEKS)
        view = OutlookView(
            fuel=fuel,
            area=area,
            unit=unit,
            available=bool(records),
            history=[WeekPrice(week=d, price=v) for d, v in shown],
            published_weeks=published_weeks(self._weeks, key, version, history),
        )
        view.newest_week = shown[-1][0] if shown else None
        if records:
            fill_forecast(view, from_record(records[0]))
            mark_behind(view, lambda: skip_reasons(store).get(key))
            state = (fuel, area, states_once(self.points, fuel)) if area in STATE_CODES else None
            scores, view.accuracy_from = self.accuracy(
                key, history, drivers_once(self.points), version, state
            )
            view.accuracy = list(scores)  # every served horizon, 1 to 5 weeks
            view.verdict = verdict_of(view.accuracy) or view.verdict
        return view

    def state_map(self, fuel: str, horizon: int, version: str) -> OutlookMapView:
        """Each state's expected change from its last published price at one horizon, with how
        its forecasts at that horizon scored, at data ``version``."""
        states = []
        drivers = drivers_once(self.points)
        panel = states_once(self.points, fuel)
        newest = newest_weeks(self._newest, fuel, panel, version)
        current, behind = latest_steps(self.store, fuel, horizon, newest)
        for uf, fc, step in current:
            scores, _ = self.accuracy(
                fuel_key(fuel, uf),
                partial(state_points, panel, uf),
                drivers,
                version,
                (fuel, uf, panel),
            )
            states.append(state_change(uf, fc, step, scores))
        return OutlookMapView(fuel=fuel, horizon=horizon, states=states, behind=behind)
