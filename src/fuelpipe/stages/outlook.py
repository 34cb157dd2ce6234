"""Keep the outlook current: score stored forecasts against ANP, then nowcast where inputs moved.

Run after every pipeline cycle (:func:`fuelpipe.stages.cycle.run_cycle` calls
:func:`after_cycle`). For each weekly fuel series it attaches newly published prices to the
stored forecasts that covered them (and the revised price of a recent week to the ones
scored on it), and stores a new forecast only when its inputs changed since the last stored
one (a new survey week, a revised price of the week it was made from, or any value the model
reads at that week's publication that landed late or was revised: a PENDING PTAX date stored,
a Brent spot corrected, an older fuel week revised), so running it again changes nothing. A forecast
reads its drivers at the last survey week's publication, as the rows it was trained and scored on
(:func:`~fuelpipe.outlook.series.served_at`): a mid-week PTAX changes nothing until the next
week. A state's forecast is its last price moved by Brazil's forecast change, with bands from every
state's walk-forward errors (:mod:`fuelpipe.outlook.pooled`), walked once per fuel and refresh
and shared by the 27; Brazil and the regions keep their own regressions. Uses
only the domain, the outlook model and the Store port."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from fuelpipe.domain.catalog import STATES, Catalog, Series
from fuelpipe.domain.keys import Kind, commodity_key, currency_key, outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.params import MODEL_VERSION, Params, min_weeks
from fuelpipe.ports.store import Store
from fuelpipe.stages.data_version import Debt, data_version, mark_changed, settle

if TYPE_CHECKING:  # numpy is imported only when the outlook runs (the dashboard extra has it)
    from fuelpipe.outlook.forecast import Forecast
    from fuelpipe.outlook.model import DriverCache
    from fuelpipe.outlook.series import Drivers, Lags
    from fuelpipe.outlook.series import Series as PointSeries

    Nowcast = Callable[..., Forecast | None]
    """:func:`fuelpipe.outlook.model.nowcast`'s shape: one series' forecast."""
    NowcastPanel = Callable[..., list[Forecast | None]]
    """:func:`fuelpipe.outlook.pooled.nowcast_panel`'s shape: each panel member's forecast."""

logger = logging.getLogger(__name__)

USD = currency_key("USD")
BRENT = commodity_key("BRENT")
BRENT_FUTURES = commodity_key("BRENT_FUTURES")
MIN_WEEKS = min_weeks(Params())
"""Below this many published weeks the model cannot train every horizon (83: the first 26
weeks lack the error-correction gap's half-year, then 52 training weeks, then the 5 weeks the
longest horizon looks ahead); from the model's own knobs, so the two cannot drift apart."""
NATIONAL = "BR"
"""The area whose forecast change leads the states'."""
MAX_GAP = timedelta(weeks=26)
"""A longer hole in a fuel's history (a state file that stops for years) starts it afresh."""


TOO_SHORT, NO_FORECAST, FAILED = "too_short", "no_forecast", "failed"
"""Why a refresh made no forecast: fewer than MIN_WEEKS weeks since the last long hole; the
model (or the states' pooled fit) made none from them; the series' data raised an error."""
HISTORY = ";history="
"""The last part of a stored forecast's input mark: a digest of every input's whole history
known at its cut-offs (for a state, also of its fuel's states' and Brazil's weeks). The full
refresh compares it; the checked one (:class:`InputCheck`) reads no whole history, so it
compares the mark up to it, whose ``recent=`` part covers the last RECENT_DAYS (49) days."""
SKIPPED_META = "outlook_skipped"
"""The meta entry naming, per series, why the last refresh of it made no forecast (JSON)."""


@dataclass(frozen=True)
class SkipReason:
    """Why a refresh made no forecast from ``week``, the series' newest week known to it."""

    reason: str
    """``too_short``, ``no_forecast`` or ``failed``."""
    week: date
    detail: str
    """The refresh's own line (English), as ``OutlookReport.skipped`` or ``problems`` say it."""


def skip_reasons(store: Store) -> dict[str, SkipReason]:
    """The reasons the last refresh of each series recorded (empty when none or unreadable)."""
    text = store.get_meta(SKIPPED_META)
    try:
        found = json.loads(text) if text else {}
        return {
            key: SkipReason(v["reason"], date.fromisoformat(v["week"]), v["detail"])
            for key, v in found.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("outlook: the %s meta entry is unreadable; ignored", SKIPPED_META)
        return {}


def _store_reasons(
    store: Store, refreshed: set[str], made: dict[str, SkipReason], before_write: Callable[[], None]
) -> bool:
    """Keep the reasons of the series not refreshed, replace those refreshed; written only when
    they changed (one read, at most one write a refresh), ``before_write`` called first. True
    when they changed."""
    before = skip_reasons(store)
    after = {k: v for k, v in before.items() if k not in refreshed} | made
    changed = after != before
    if changed:
        text = {
            k: {"reason": v.reason, "week": v.week.isoformat(), "detail": v.detail}
            for k, v in sorted(after.items())
        }
        before_write()
        store.put_meta(SKIPPED_META, json.dumps(text, ensure_ascii=False, sort_keys=True))
    return changed


def newest_after(store: Store, key: str, week: date) -> date | None:
    """The newest week of ``key`` stored with a value after ``week`` (None: none), reading
    only the records after it: whether a forecast from ``week`` is behind its series."""
    later = [
        r.date
        for r in store.query(
            key, week + timedelta(days=1), None, fields=("date", "value", "status")
        )
        if r.status is Status.OK and r.value is not None
    ]
    return later[-1] if later else None


@dataclass(frozen=True)
class Behind:
    """A stored forecast made from an older week than its series' newest stored one: the
    refresh made none since, so its first weeks are already published (not the current
    outlook)."""

    newest_week: date
    why: SkipReason | None
    """Why the last refresh made no forecast from ``newest_week``; None when it recorded no
    reason about that very week (a week stored since the last refresh)."""


def behind_newest(
    last_week: date, newest_week: date | None, reason: Callable[[], SkipReason | None]
) -> Behind | None:
    """Whether a forecast from ``last_week`` is behind its series' ``newest_week`` (None: it is
    current), with the recorded reason (``reason()``, read only when it is behind, and kept
    only when it is about ``newest_week``). /api/outlook and `fuelpipe outlook show` both ask."""
    if newest_week is None or newest_week <= last_week:
        return None
    why = reason()
    return Behind(newest_week, why if why is not None and why.week == newest_week else None)


@dataclass
class OutlookReport:
    """What one refresh did."""

    made: int = 0
    unchanged: int = 0
    too_short: int = 0
    scored: int = 0
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Why each ``too_short`` series got no forecast, one line per series."""
    stale_drivers: dict[str, date] = field(default_factory=dict)
    """Drivers too old at as_of (``StaleAfter``), by name, with their last day."""
    reasons: dict[str, SkipReason] = field(default_factory=dict)
    """Why the refresh made no forecast from a series' newest known week, by series key (a
    series with no known week has none): stored in the ``outlook_skipped`` meta entry."""
    reasons_changed: bool = False
    """The stored reasons changed (what the Outlook view says of a series without a forecast)."""
    owed: bool = False
    """An earlier refresh stopped (a crash, a Lambda's timeout) after it may have stored
    forecasts and before the data version that shows them was written."""
    marked: bool = False
    """OUTLOOK_UNMARKED holds a debt: that earlier refresh's (``owed``), or this one's, entered
    before its first write. :func:`version_written` clears those it read (``debts``) and writes
    nothing when there are none."""
    debts: str | None = None
    """OUTLOOK_UNMARKED as read after the refresh's last write, before its version."""

    @property
    def changed(self) -> bool:
        """What the dashboard's outlook views show changed, or may have: a new data version is
        owed (the stored views are keyed by it)."""
        return bool(self.made or self.scored or self.reasons_changed or self.owed)

    def as_dict(self) -> dict[str, int]:
        """Counters for logs and `--json`."""
        return {
            "made": self.made,
            "unchanged": self.unchanged,
            "too_short": self.too_short,
            "scored": self.scored,
            "problems": len(self.problems),
        }


def _points(
    store: Store, key: str, end: date | None = None, start: date | None = None
) -> list[tuple[date, float]]:
    return [
        (r.date, float(r.value))
        for r in store.query(key, start, end, fields=("date", "value", "status"))
        if r.status is Status.OK and r.value is not None
    ]


def after_last_gap(points: list[tuple[date, float]]) -> list[tuple[date, float]]:
    """The points after the last hole longer than MAX_GAP: weeks either side are not neighbours."""
    for i in range(len(points) - 1, 0, -1):
        if points[i][0] - points[i - 1][0] > MAX_GAP:
            return points[i:]
    return points


def fuel_series(catalog: Catalog, keys: Sequence[str] | None = None) -> list[Series]:
    """The weekly fuel series the outlook covers (all of them unless ``keys`` narrows it)."""
    chosen = [s for s in catalog if s.kind is Kind.FUEL]
    if keys is not None:
        wanted = set(keys)
        chosen = [s for s in chosen if s.key in wanted]
    return chosen


def outlook_key_for(series: Series) -> str:
    """The outlook key of a weekly fuel series."""
    if series.product is None or series.area is None:
        raise ValueError(f"{series.key} is not a fuel series")
    return outlook_key(series.product, series.area)


def refresh_outlook(
    store: Store,
    catalog: Catalog,
    as_of: datetime,
    keys: Sequence[str] | None = None,
    *,
    nowcast: Nowcast | None = None,
    nowcast_panel: NowcastPanel | None = None,
    full: bool = True,
    before_write: Callable[[], None] | None = None,
) -> OutlookReport:
    """Score what ANP published, then store a new forecast wherever the inputs moved.

    ``nowcast`` forecasts a series on its own (Brazil's, a region's), ``nowcast_panel`` the
    states' pooled panel: the outlook model's by default. Without ``full``, a series whose
    inputs did not move (:class:`InputCheck`, a few small reads) is scored and counted from
    bounded reads, and only the others read their whole history (and the drivers' whole
    series, when any of them does): the same forecasts and scores but for what the check
    cannot see (a backfilled old week, a value stored late or revised more than RECENT_DAYS
    before its cut-off), which the next full refresh catches. ``before_write``
    is called before each write of what the outlook views show (scores, forecasts, the skip
    reasons): a refresh that writes none calls it never."""
    from fuelpipe.outlook.model import nowcast as model_nowcast
    from fuelpipe.outlook.series import Lags

    report = OutlookReport()
    cache: DriverCache = {}  # the drivers are the same for every fuel and area below
    lags = Lags.from_catalog(catalog)
    panels = StatePanels(
        store, catalog, as_of, partial(_drivers, store), lags, nowcast_panel=nowcast_panel
    )
    check = None if full else InputCheck(store, catalog, as_of, lags)
    own = nowcast or model_nowcast
    ahead = before_write or _nothing
    chosen = fuel_series(catalog, keys)
    for series in chosen:
        quiet = None if check is None else check.quiet(series)
        try:
            if quiet is not None:
                quiet.count(store, series, report, ahead)
            else:
                _refresh_one(store, series, as_of, lags, cache, report, panels, own, ahead)
        except (ValueError, ArithmeticError) as exc:  # one area's bad data must not stop the rest
            report.problems.append(f"outlook {series.key}: {exc}")
            logger.warning("outlook %s: %s; skipped", series.key, exc)
            newest = panels.newest_known(series) if quiet is None else quiet.week
            if newest is not None:
                report.reasons[series.key] = SkipReason(FAILED, newest, f"{exc}")
    report.reasons_changed = _store_reasons(store, {s.key for s in chosen}, report.reasons, ahead)
    if keys is not None and report.made:  # the other states' check would miss what moved
        store.put_meta(OUTLOOK_FULL_AT, "")
    for name, last_day in report.stale_drivers.items():
        logger.warning("outlook: driver %s has no value since %s; forecasts say so", name, last_day)
    return report


def _nothing() -> None:
    """No ``before_write``."""


def _drivers(store: Store) -> Drivers:
    """Every driver's whole stored series (what a forecast redone reads)."""
    from fuelpipe.outlook.series import drivers_for

    points = {k: _points(store, k) for k in (USD, BRENT, BRENT_FUTURES)}
    return drivers_for(points, usd_key=USD, brent_key=BRENT, futures_key=BRENT_FUTURES)


def _refresh_one(
    store: Store,
    series: Series,
    as_of: datetime,
    lags: Lags,
    cache: DriverCache,
    report: OutlookReport,
    panels: StatePanels,
    nowcast: Nowcast,
    before_write: Callable[[], None],
) -> None:
    """Score and, when its inputs moved, redo one fuel and area's outlook (``before_write``
    called before each write)."""
    from fuelpipe.outlook.records import to_record
    from fuelpipe.outlook.series import Series as Points
    from fuelpipe.outlook.series import history_mark, input_mark, served_cutoffs

    published = panels.published(series)
    fuel = after_last_gap(published[: _known_count(published, series.available_after, as_of)])
    if len(fuel) < MIN_WEEKS:  # the model would find too few weeks: do not run it
        why = f"{series.key}: {len(fuel)} published weeks, the model needs {MIN_WEEKS}"
        _too_short(report, series.key, fuel, TOO_SHORT, why)
        return
    key = outlook_key_for(series)
    report.scored += score_published(store, key, dict(published), before_write)
    inputs = panels.drivers().with_fuel(Points.of(fuel))
    latest = _latest(store, key)
    cut = served_cutoffs(inputs.fuel, as_of, lags)
    mark = input_mark(inputs, cut) + f";model={MODEL_VERSION}"
    pooled = panels.pools(series)
    history = history_mark(inputs, cut)
    if pooled:  # it also reads the other states' and Brazil's weeks up to this one's last
        mark += f";panel={panels.weeks_until(series, fuel[-1][0])}"
        history += f"+{panels.history(series, fuel[-1][0])}"
    mark += f"{HISTORY}{history}"  # last: the check compares what precedes it (InputCheck)
    if latest is not None and latest.attrs.get("inputs") == mark:
        report.unchanged += 1  # nothing new since the stored forecast: skip the model
        return
    forecast = panels.forecast(series) if pooled else nowcast(inputs, as_of, lags, Params(), cache)
    if forecast is None:
        why = (
            "the states' pooled fit has too few weeks, or none of this state's in the panel's"
            " last stretch (after a pause of over 26 weeks), or the drivers have no value"
            if pooled
            else f"too few have their outcome h weeks on published (survey pauses) or the drivers"
            f" have no value; the model needs {MIN_WEEKS} weeks without a pause"
        )
        why = f"{series.key}: {len(fuel)} published weeks, but {why}"
        _too_short(report, series.key, fuel, NO_FORECAST, why)
        return
    before_write()
    store.put_records([to_record(key, forecast, mark).with_(updated_at=as_of)])
    report.made += 1
    for stale in forecast.stale:  # stored with the forecast too; the log says it once a refresh
        report.stale_drivers.setdefault(stale.name, stale.last_day)


class StatePanels:
    """The pooled forecasts of every state, walked once per fuel on first use in a refresh.

    A state's forecast reads every state of its fuel in the catalog (not only the refreshed
    keys) and the fuel's Brazil series, each as known at as_of, as the backtest's panel does
    (:func:`~fuelpipe.outlook.backtest.walk_forward_panel`)."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        as_of: datetime,
        drivers: Callable[[], Drivers],
        lags: Lags,
        *,
        nowcast_panel: NowcastPanel | None = None,
    ) -> None:
        """``drivers`` reads the drivers (once, on first use); ``nowcast_panel``: what forecasts
        a fuel's panel (the pooled model's by default)."""
        from fuelpipe.outlook.pooled import nowcast_panel as pooled_nowcast_panel

        self._nowcast_panel: NowcastPanel = nowcast_panel or pooled_nowcast_panel
        self._store, self._as_of, self._read_drivers = store, as_of, drivers
        self._drivers: Drivers | None = None
        self._lags = lags
        self._members, self._national = panel_members(catalog)
        self._points: dict[str, list[tuple[date, float]]] = {}
        self._made: dict[str, dict[str, Forecast | None] | Exception] = {}
        self._histories: dict[tuple[str, date], str] = {}

    def drivers(self) -> Drivers:
        """The drivers' whole series, read on the first call only."""
        if self._drivers is None:
            self._drivers = self._read_drivers()
        return self._drivers

    def pools(self, series: Series) -> bool:
        """Whether the series is a state's (forecast by the pooled fit)."""
        return series.product is not None and series.area in STATES

    def published(self, series: Series) -> list[tuple[date, float]]:
        """The series' stored weekly prices (a state's and Brazil's are read once for the
        whole refresh)."""
        if not self.pools(series) and series.area != NATIONAL:
            return _points(self._store, series.key)
        if series.key not in self._points:
            self._points[series.key] = _points(self._store, series.key)
        return self._points[series.key]

    def _known(self, member: Series) -> list[tuple[date, float]]:
        published = self.published(member)
        return published[: _known_count(published, member.available_after, self._as_of)]

    def newest_known(self, series: Series) -> date | None:
        """The series' newest week known at as_of (None: none)."""
        known = self._known(series)
        return known[-1][0] if known else None

    def weeks_until(self, series: Series, last: date) -> str:
        """How many weeks the fuel's states and Brazil published up to ``last``, as known at
        as_of, and a digest of their prices of week ``last``: a revision of any member's price
        of the base week (Brazil's, which leads the states, or another state's) is a new input
        of every state's pooled forecast, as its own base week's price is of a series."""
        members = list(self._members.get(series.product or "", []))
        members += [n for n in [self._national.get(series.product or "")] if n is not None]
        weeks, base = 0, []
        for member in members:
            known = self._known(member)
            at = bisect_right(known, last, key=lambda p: p[0])
            weeks += at
            if at and known[at - 1][0] == last:
                base.append(f"{member.key}@{known[at - 1][1]!r}")
        digest = hashlib.blake2s("|".join(base).encode(), digest_size=6).hexdigest()
        return f"{weeks}:{digest}"

    def history(self, series: Series, last: date) -> str:
        """A digest of the weeks of the fuel's states and Brazil up to ``last`` known at as_of
        (what the state's pooled fit reads, as :meth:`weeks_until` counts them), made once per
        fuel and week a refresh: a revised older week of any of them moves it."""
        from fuelpipe.outlook.series import Series as Points
        from fuelpipe.outlook.series import digest

        product = series.product or ""
        if (product, last) not in self._histories:
            members = list(self._members.get(product, []))
            members += [n for n in [self._national.get(product)] if n is not None]
            weeks = []
            for member in members:
                known = self._known(member)
                weeks.append(Points.of(known[: bisect_right(known, last, key=lambda p: p[0])]))
            self._histories[(product, last)] = digest(*weeks)
        return self._histories[(product, last)]

    def forecast(self, series: Series) -> Forecast | None:
        """The state's pooled forecast at as_of (None: too short a history)."""
        from fuelpipe.outlook.series import Series as Points

        product = series.product or ""
        if product not in self._made:
            members = self._members[product]
            drivers = self.drivers()
            inputs = [drivers.with_fuel(Points.of(self._known(m))) for m in members]
            brazil = self._national.get(product)
            national = None if brazil is None else drivers.with_fuel(Points.of(self._known(brazil)))
            try:
                made = self._nowcast_panel(inputs, self._as_of, self._lags, national=national)
                self._made[product] = {m.key: f for m, f in zip(members, made, strict=True)}
            except (ValueError, ArithmeticError) as exc:  # each state reports it
                self._made[product] = exc
        found = self._made[product]
        if isinstance(found, Exception):
            raise found
        return found.get(series.key)


def _too_short(
    report: OutlookReport, key: str, fuel: list[tuple[date, float]], reason: str, why: str
) -> None:
    report.too_short += 1
    report.skipped.append(why)
    if fuel:  # the newest known week this refresh made no forecast from
        report.reasons[key] = SkipReason(reason, fuel[-1][0], why)
    logger.debug("outlook skipped %s", why)


def _known_count(points: list[tuple[date, float]], lag: timedelta, as_of: datetime) -> int:
    """How many of the date-ordered points are known at as_of (``known_at`` their day): a
    prefix, as later days are known later."""
    from fuelpipe.outlook.series import known_at

    return bisect_right(points, as_of, key=lambda p: known_at(p[0], lag))


def _latest(store: Store, key: str) -> Record | None:
    """The newest stored forecast of an outlook key, however old (one small read): a series
    with no new week for months still has its last forecast compared, not stored again."""
    records = store.query(key, limit=1, newest_first=True)
    return records[0] if records else None


def score_published(
    store: Store,
    key: str,
    published: Mapping[date, float],
    before_write: Callable[[], None],
) -> int:
    """Attach each newly published week's price to the stored forecasts of it, and a recent
    week's revised price to those scored on it; returns the steps written (``before_write``
    called before the write, when there is one)."""
    if not published:
        return 0
    return _score(store, key, max(published), lambda _first: published, before_write)


SCORED_FOR = timedelta(days=50)
"""The scores kept current: the forecasts stored this long before the series' newest
published week, each step scored when its week is published, and a step of a week this recent
scored again when ANP revises its price."""


def _score(
    store: Store,
    key: str,
    newest: date,
    published: Callable[[date], Mapping[date, float]],
    before_write: Callable[[], None],
) -> int:
    """:func:`score_published` of the forecasts stored from SCORED_FOR before ``newest`` (the
    series' newest published week) on: each step whose week is published gets its price, and
    each scored step of a week from SCORED_FOR before ``newest`` on whose price was revised
    since gets the new one (only the records with such steps are written).
    ``published(first)`` gives the prices from week ``first`` on: the first week any of them
    still waits for, or that window's start if earlier."""
    from fuelpipe.outlook.records import from_record, with_actuals

    stored = []
    since = newest - SCORED_FOR
    for record in store.query(key, since, None):
        try:
            stored.append((record, from_record(record)))
        except ValueError as exc:
            logger.warning("outlook: %s; record skipped", exc)
    if not stored:
        return 0
    prices = published(min([since, *(s.week for _, f in stored for s in f.unscored())]))
    updated: list[Record] = []
    steps = 0
    for record, forecast in stored:
        found = forecast.to_score(prices, since)
        if found:
            updated.append(with_actuals(record, found))
            steps += len(found)
    if updated:
        before_write()
        store.put_records(updated)
    return steps


def panel_members(catalog: Catalog) -> tuple[dict[str, list[Series]], dict[str, Series]]:
    """Each fuel's states in the catalog (by code: the backtest's order), and its Brazil
    series: what a state's pooled forecast reads."""
    members: dict[str, list[Series]] = {}
    national: dict[str, Series] = {}
    for s in sorted(fuel_series(catalog), key=lambda s: s.area or ""):
        if s.product is not None and s.area in STATES:
            members.setdefault(s.product, []).append(s)
        elif s.product is not None and s.area == NATIONAL:
            national[s.product] = s
    return members, national


@dataclass(frozen=True)
class Quiet:
    """A series whose forecast inputs did not move since the last refresh, as
    :class:`InputCheck` found it from bounded reads: what the refresh would find again."""

    week: date | None
    """Its newest week known at as_of (None: it has no published week)."""
    forecast: str | None = None
    """The outlook key of its stored forecast, which the inputs it names still match (None:
    no forecast, as the series is too short)."""
    prices: list[tuple[date, float]] = field(default_factory=list)
    """Its published prices from ``read_from`` on (the newest of them not yet known, maybe)."""
    read_from: date | None = None
    """SCORED_FOR before ``week``: the prices before it are read only when a score needs them."""
    reason: SkipReason | None = None
    """Why the last refresh made no forecast (too short), recorded again."""

    def count(
        self,
        store: Store,
        series: Series,
        report: OutlookReport,
        before_write: Callable[[], None],
    ) -> None:
        """Score the stored forecasts and count the series as the full refresh would
        (``before_write`` called before the scores' write, when there is one)."""
        if self.forecast is None:
            report.too_short += 1
            if self.reason is None:
                why = f"{series.key}: 0 published weeks, the model needs {MIN_WEEKS}"
                report.skipped.append(why)
                logger.debug("outlook skipped %s", why)
                return
            report.skipped.append(self.reason.detail)
            report.reasons[series.key] = self.reason
            logger.debug("outlook skipped %s", self.reason.detail)
            return
        first = self.read_from or self.prices[0][0]

        def published(since: date) -> dict[date, float]:
            older = (
                _points(store, series.key, first - timedelta(days=1), since)
                if since < first
                else []
            )
            return dict(older + self.prices)

        report.scored += _score(store, self.forecast, self.prices[-1][0], published, before_write)
        report.unchanged += 1


class InputCheck:
    """Whether each series' forecast inputs moved since the last refresh, from bounded reads.

    The refresh redoes a forecast when the inputs it names (``inputs``: the last known day of
    the fuel, with its price, and of each driver at the served cut-offs, a digest of every
    input's values in the RECENT_DAYS (49) up to its cut-off, the model's version, for a state
    how many weeks the fuel's states and Brazil published up to its week, then a digest of
    the whole histories, :data:`HISTORY`) differ from the stored one's. This reads the newest
    stored forecast however old (one record), the series' prices from SCORED_FOR before the
    week it was made from on (the scores of those weeks follow a revision), and each driver's
    values in the RECENT_DAYS up to its cut-off (its newest value before them when it has none
    there), and names the inputs again from them but the whole histories' digest: equal, the
    series is :class:`Quiet`. A state
    is quiet only when every state of its fuel and Brazil are (their counts of weeks then did
    not move either). A series without a stored forecast is quiet when it has no value at all,
    or when the last refresh found it too short and it has no week since.

    What it cannot see is a week inserted before the stored forecast's week (a backfill into
    an old hole), which would move a state's count or a too-short series' length, and a value
    stored late or revised more than RECENT_DAYS before its cut-off (it moves only the whole
    histories' digest): the full refresh (``full``) sees them, and :func:`refresh_when_changed`
    runs one at least daily. A value stored late or revised within those days (a PENDING PTAX
    date filled, a Brent spot or a fuel week corrected) moves the recent digest, so the check
    sees it; the scores of the weeks from SCORED_FOR before the newest follow a revised price,
    checked or full."""

    def __init__(self, store: Store, catalog: Catalog, as_of: datetime, lags: Lags) -> None:
        self._store, self._as_of, self._lags = store, as_of, lags
        self._members, self._national = panel_members(catalog)
        self._own: dict[str, Quiet | None] = {}
        self._drivers: dict[tuple[str, int], PointSeries] = {}
        self._reasons: dict[str, SkipReason] | None = None

    def quiet(self, series: Series) -> Quiet | None:
        """The series when its inputs did not move (None: they did, or it cannot tell)."""
        found = self._quiet_own(series)
        if found is None or found.forecast is None or series.area not in STATES:
            return found
        product = series.product or ""
        others = [*self._members.get(product, []), *[self._national.get(product)]]
        return found if all(m is None or self._quiet_own(m) for m in others) else None

    def _quiet_own(self, series: Series) -> Quiet | None:
        if series.key not in self._own:
            self._own[series.key] = self._check(series)
        return self._own[series.key]

    def _check(self, series: Series) -> Quiet | None:
        if series.available_after != self._lags.fuel:
            return None  # the served cut-off reads the catalog's fuel lag: the full way
        key = outlook_key_for(series)
        latest = _latest(self._store, key)
        if latest is None:
            return self._without_forecast(series)
        mark = latest.attrs.get("inputs")
        week = _fuel_week(mark)
        if week is None or not isinstance(mark, str):
            return None
        read_from = week - SCORED_FOR  # the weeks whose scores follow a revision, too
        prices = _points(self._store, series.key, start=read_from)
        if self._newest_known(series, prices) != week:
            return None
        again = self._mark(prices[: _known_count(prices, series.available_after, self._as_of)])
        named = mark.partition(HISTORY)[0]  # the whole histories' digest: the full refresh's
        same = named.startswith(again + ";panel=") if series.area in STATES else named == again
        return Quiet(week, key, prices, read_from) if same else None

    def _without_forecast(self, series: Series) -> Quiet | None:
        if self._reasons is None:
            self._reasons = skip_reasons(self._store)
        why = self._reasons.get(series.key)
        if why is None:
            stored = self._store.query(series.key, fields=("date",), limit=1, newest_first=True)
            return None if stored else Quiet(None)
        if why.reason != TOO_SHORT:
            return None
        prices = _points(self._store, series.key, start=why.week)
        return (
            Quiet(why.week, reason=why) if self._newest_known(series, prices) == why.week else None
        )

    def _newest_known(self, series: Series, prices: list[tuple[date, float]]) -> date | None:
        """The newest of ``prices`` known at as_of, when the first is (else None)."""
        known = _known_count(prices, series.available_after, self._as_of)
        return prices[known - 1][0] if known else None

    def _mark(self, known: list[tuple[date, float]]) -> str:
        """The inputs a forecast from the ``known`` weeks names (:func:`input_mark`) but the
        whole histories' digest, each driver read only over the RECENT_DAYS up to its served
        cut-off (before them, only its newest value when it has none there)."""
        from fuelpipe.outlook.series import Inputs, input_mark, served_cutoffs
        from fuelpipe.outlook.series import Series as Points

        fuel = Points.of(known)
        cut = served_cutoffs(fuel, self._as_of, self._lags)
        usd, brent, futures = (
            self._recent(k, c)
            for k, c in ((USD, cut.usd), (BRENT, cut.brent), (BRENT_FUTURES, cut.futures))
        )
        inputs = Inputs(fuel=fuel, brent=brent, usd=usd, futures=futures)
        return input_mark(inputs, cut) + f";model={MODEL_VERSION}"

    def _recent(self, key: str, cut: int) -> PointSeries:
        """The usable values (finite and positive: what the model's series keep) of ``key``
        in the RECENT_DAYS up to day number ``cut``, one bounded read; when there are none, its
        newest usable value before them, in place of which any value does (:func:`input_mark`
        reads only its day there)."""
        from fuelpipe.outlook.series import RECENT_DAYS, day_of
        from fuelpipe.outlook.series import Series as Points

        if (key, cut) not in self._drivers:
            start, fields = day_of(cut - RECENT_DAYS + 1), ("date", "value", "status")
            window = self._store.query(key, start, day_of(cut), fields)
            points = [
                (r.date, float(r.value)) for r in window if r.value is not None and _usable(r)
            ]
            if not points:
                older = self._last_day(key, start - timedelta(days=1))
                points = [] if older is None else [(older, 1.0)]
            self._drivers[(key, cut)] = Points.of(points)
        return self._drivers[(key, cut)]

    def _last_day(self, key: str, end: date) -> date | None:
        """The newest day of ``key`` up to ``end`` with a usable value."""
        found = None
        fields = ("date", "value", "status")
        for limit in (8, None):  # a few records are enough unless they are all unusable
            records = self._store.query(key, None, end, fields, limit=limit, newest_first=True)
            found = next((r.date for r in records if _usable(r)), None)
            if found is not None or limit is None or len(records) < limit:
                break
        return found


def _fuel_week(mark: object) -> date | None:
    """The fuel week a stored forecast's inputs name (None: none readable)."""
    named = dict(p.partition("=")[::2] for p in mark.split(";")) if isinstance(mark, str) else {}
    try:  # ``fuel=<week>@<price>`` (``fuel=<week>`` as stored before the price was named)
        return date.fromisoformat(named.get("fuel", "").partition("@")[0])
    except ValueError:
        return None


def _usable(record: Record) -> bool:
    return (
        record.status is Status.OK
        and record.value is not None
        and math.isfinite(record.value)
        and record.value > 0
    )


def _model_installed() -> bool:
    """True when numpy (the outlook model's one dependency) is importable; else one log line."""
    if importlib.util.find_spec("numpy") is None:
        from fuelpipe.install_hint import install_hint

        hint = install_hint("dashboard")
        logger.info("outlook skipped: numpy is not installed (%s)", hint)
        return False
    return True


def after_cycle(store: Store, catalog: Catalog, now: datetime) -> OutlookReport | None:
    """The hook the pipeline cycle calls: refresh the outlook (None when numpy is absent)."""
    if not _model_installed():
        return None
    report = _refresh(store, catalog, now)
    logger.info("outlook: %s", report.as_dict())
    return report


OUTLOOK_FULL_AT = "outlook_full_at"
"""The meta entry holding when the last full refresh (every whole history read) ran."""
FULL_EVERY = timedelta(days=1)
"""How often a refresh reads every whole history even when the check finds nothing moved: it
catches what :class:`InputCheck` cannot see (a week backfilled into an old hole, a value
stored late or revised more than RECENT_DAYS before its cut-off)."""


OUTLOOK_UNMARKED = "outlook_unmarked"
"""Meta entry holding each refresh's debt (a :class:`~fuelpipe.stages.data_version.Debt`,
entered before its first write of what the outlook views show and stamped again before a
later write when the data version moved meanwhile) until the data version that shows it is
written (:func:`version_written`): a refresh that stopped in between leaves its entry, so the
next one owes a version even if it has nothing new to store (its forecasts are stored
already). A refresh that writes nothing neither enters nor clears one. Another refresh's
version clears only entries not stamped again since it read them, so a refresh still writing
keeps its own; one whose write lands between its stamp and that version, and that is then
killed before its next write, can still lose its debt (no write here is undone or
redelivered to catch that window, unlike a drain's)."""


def version_written(store: Store, report: OutlookReport) -> None:
    """The changes of the refresh ``report`` tells of are in a written data version (or there
    were none): the OUTLOOK_UNMARKED entries it read are cleared, written only when there are
    any."""
    if report.marked:
        settle(store, OUTLOOK_UNMARKED, report.debts)
        report.marked, report.debts = False, None


def _refresh(store: Store, catalog: Catalog, now: datetime, force: bool = False) -> OutlookReport:
    """A refresh, full when ``force``d or FULL_EVERY after the last full one, else checked;
    OUTLOOK_UNMARKED holds its debt from before its first write until the caller calls
    :func:`version_written`: one read, and in a refresh that writes nothing no write."""
    owed = bool(store.get_meta(OUTLOOK_UNMARKED))
    unmarked = Debt(store, OUTLOOK_UNMARKED, owed)
    last = store.get_meta(OUTLOOK_FULL_AT)
    try:
        full = force or not last or now - datetime.fromisoformat(last) >= FULL_EVERY
    except (ValueError, TypeError):  # unreadable, or without a zone
        full = True
    report = refresh_outlook(store, catalog, now, full=full, before_write=unmarked)
    report.owed, report.marked = owed, unmarked.set
    if unmarked.set:  # read before the caller writes the version: what that version pays
        report.debts = store.get_meta(OUTLOOK_UNMARKED)
    if full:
        store.put_meta(OUTLOOK_FULL_AT, now.isoformat())
    return report


OUTLOOK_VERSION = "outlook_version"
"""The meta entry holding the data version the outlook was last refreshed at."""


def refresh_when_changed(
    store: Store, catalog: Catalog, now: datetime, *, force: bool = False
) -> OutlookReport | None:
    """Refresh the outlook if the data version moved since the last refresh; None if not.

    What `watch` calls after each tick and the AWS home's ``outlook`` function on its schedule
    (neither has a cycle's end to hang the refresh on): a call that finds nothing new costs
    two small reads. A refresh that stored or scored forecasts moves the data version itself
    (the dashboard's outlook view then recomputes) and remembers that version, so the next
    call has nothing to do. When other data landed during the refresh, the version is not
    remembered and the next call refreshes again. ``force`` refreshes anyway (the daily run:
    prices become known as time passes, too), reading every whole history; otherwise only the
    series whose inputs moved read theirs (:class:`InputCheck`), but for a full refresh at
    least FULL_EVERY.
    """
    version = data_version(store)
    if not force and store.get_meta(OUTLOOK_VERSION) == version:
        return None
    if not _model_installed():
        return None
    report = _refresh(store, catalog, now, force)
    landed_meanwhile = data_version(store) != version
    if report.changed:
        version = mark_changed(store, now, "outlook")
    version_written(store, report)
    if not landed_meanwhile:
        store.put_meta(OUTLOOK_VERSION, version)
    return report
