"""Analysis computed once per change: stored views keyed by the data version, served with ETags.

After a run that changed stored series (``stages.cycle.run_cycle``'s ``on_change``; on AWS the
outlook Lambda's next run after the scraper Lambda wrote a new data version,
:func:`refresh_views_when_changed`, or a request before it), the views the page asks for
with their default parameters are computed once and stored in the store's meta entries under
``VIEW#<path>#<params-hash>`` (compressed JSON with the version it was computed from). Requests
for those parameters are answered from the stored body with ``ETag: "<version>.s<schema>"``
(:func:`view_etag`; 304 on a matching ``If-None-Match``); any other parameters go to the API's
routes, computed on demand.
A refresh that got through every default view then deletes the entries no data version can
serve any more (:func:`prune_views`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from cachetools import LRUCache
from pydantic import BaseModel

from fuelpipe.dashboard import views
from fuelpipe.dashboard.analysis import WeeklyHow
from fuelpipe.dashboard.errors import FaultNamer, no_fault
from fuelpipe.dashboard.etags import none_match
from fuelpipe.dashboard.health import health_view, runs_shown
from fuelpipe.dashboard.outlook_views import MAP_HORIZON as OUTLOOK_MAP_HORIZON
from fuelpipe.dashboard.outlook_views import OutlookViews
from fuelpipe.dashboard.repository import BRENT, BRENT_BRL, USD, SeriesReader
from fuelpipe.dashboard.schemas import MetaView
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.domain.keys import fuel_key, stock_key
from fuelpipe.domain.models import Status
from fuelpipe.ports.alerts import AlertReader
from fuelpipe.ports.clock import Clock, one_look
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import Store
from fuelpipe.stages.alerting import LatestDue, latest_due
from fuelpipe.stages.data_version import VIEWS_VERSION, data_version, views_behind

if TYPE_CHECKING:  # the ASGI side only: the outlook Lambda stores views without FastAPI
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

    from fuelpipe.dashboard.versions import DataVersion

_log = logging.getLogger("fuelpipe.dashboard")
Params = tuple[tuple[str, tuple[str, ...]], ...]
"""A request's query in canonical form: names sorted, each with its values in order."""
_UPPER = {"keys", "key", "fuel", "area", "driver"}
PAGE_WINDOW_WEEKS = 52
"""The page's default window (app.js DEFAULTS.window, windowRange): that many survey weeks up
to the newest week of the view's fuel, ``until`` its Saturday (no End date picked: every value
stored up to that day, the same last day for every series)."""
PAGE_FUEL, PAGE_AREA = "GASOLINE", "BR"
PETR4 = stock_key("PETR4")
OVERVIEW_KEYS = (
    fuel_key("GASOLINE", "BR"),
    fuel_key("ETHANOL", "BR"),
    fuel_key("DIESEL_S10", "BR"),
    USD,
    BRENT_BRL,
    PETR4,
)
MAIN_FUELS = ("GASOLINE", "ETHANOL", "DIESEL")
MEMO_ENTRIES = 64
"""Current stored views kept decoded in memory, so a request costs one read (the version)."""
ABSENT_ENTRIES = 1024
"""Requests remembered as having no stored view at a version, so their next request at that
version does not look the entry up again (any parameters other than the page's defaults)."""


def canonical(query: str | bytes) -> Params:
    """The query's parameters as the routes read them (keys split on commas, upper-cased)."""
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    found: dict[str, list[str]] = {}
    for name, value in parse_qsl(text, keep_blank_values=False):
        parts = value.split(",") if name == "keys" else [value]
        for part in parts:
            cleaned = part.strip().upper() if name in _UPPER else part.strip()
            if cleaned:
                found.setdefault(name, []).append(cleaned)
    if "keys" in found:
        found["keys"] = list(dict.fromkeys(found["keys"]))
    return tuple(sorted((k, tuple(v)) for k, v in found.items()))


VIEWS_SCHEMA = 29
"""Raise it when a view's JSON changes shape: the entries stored before are then never read
(a new name) and their ETags change (:func:`view_etag`), so a new release never serves a body
its page does not expect, nor a 304 to a browser holding one, until the data
changes. 2: the lags view's minimum weeks and flat-price fields, the correlations' first and
last weeks; 3: the pass-through's Newey-West interval; 4: a strongest lag only when it stands
out from chance (2026-12-01); 5: without a base, each index line starts at 100 on its base
week (a line could start a week before it, off 100); 6: health's owed stock-split re-reads
(per series and counted); 7: English labels (fuels, Brazil, the regions) and meta's products'
source_name; 8: values and parity ratios to 6 decimals (schemas.DECIMALS); 9: an End date keeps
the values published by its end (an ANP week from its Friday), not those dated up to it; 10:
health's ``pending_read`` (the failing rows come from the newest PENDING records only); 11:
the overview's Brent in BRL dated by Brent on a PTAX holiday, the map's spread to DECIMALS; 12:
the outlook accuracy's coverage over the model's own forecasts (``coverage80_model``); 13:
health's values set aside where no record keeps them (``set_aside``, ``set_aside_values``); 14:
Brent in BRL at the PTAX on or before each Brent day in every view, not on matching dates only;
15: each health row's ``missing``, as `fuelpipe status` counts it; 16: completeness from the
first record on or after a series' catalog start (``first_from_start``) and a movement index
with no value of its one pump price answered with notes, no line (2026-12-06); 17: percent
changes, correlations, regression figures and completeness to 6 decimals; 18: the outlook's
``driver_move`` to 6 decimals, as stored (it was 4: the page's +37.85 % read +37.9 %); 19: the
outlook's accuracy at every served horizon (1-5 weeks, it was 1, 2 and 4) and its
``least_errors``, which the page's leave-one-out note reads; 20: FRED Brent known with its
weekly batch (through a Monday, out the Friday after) in every End-date window and the
outlook's Brent cutoff, so Brent's and Brent in BRL's windows and the outlook's figures moved;
21: an index line with no point says why as a code (``reason``), which the page's note reads;
22: health's active alerts' ``summary_pt_br``, which the page shows in pt-BR; 23: an overview
card with no weekly change says why (``no_change_reason``), which the card reads; 24: the
map's spread names every state tied at its minimum and maximum (``min_areas``, ``max_areas``);
25: correlations and pass-through take a daily series' last week only when whole as published
(FRED's Brent's lone batch Monday, and Brent in BRL's, left out: their r, n and ``last`` moved);
26: the map's spread ties states at the centavo it writes (``min_areas``, ``max_areas``), its
``min_area`` and ``max_area`` the states at the exact extremes; 27: health's newest
quarantined records (``quarantined_records``), which the page's Quarantined panel lists; 28:
health's ``quarantined_series``, every key's QUARANTINED records counted, which the panel's
by-series line reads (it summed the 50 listed only); 29: the map's ``brazil_newer``, Brazil's
newest week when after the week shown, which the map's note reads."""


def params_hash(path: str, params: Params) -> str:
    """A short stable hash of a view request, and of the views' schema."""
    return hashlib.sha256(json.dumps([VIEWS_SCHEMA, path, params]).encode()).hexdigest()[:16]


def view_etag(version: str, schema: int = VIEWS_SCHEMA) -> str:
    """The ETag of a stored view at ``version`` (:meth:`Precomputer.version_of`): the version
    and the views' schema. A release that raises VIEWS_SCHEMA serves new bodies at the same
    data version; with the version alone for a tag, a browser revalidating the body the release
    before gave got a 304 and kept it, of a shape the new page does not expect."""
    return f'"{version}.s{schema}"'


VIEW_PREFIX = "VIEW#"
"""The names of the stored views' meta entries start with it (and nothing else's does)."""


def entry_name(path: str, params: Params) -> str:
    """The meta entry a view request is stored under."""
    return f"{VIEW_PREFIX}{path}#{params_hash(path, params)}"


@dataclass(frozen=True)
class Context:
    """What computing a view needs."""

    reader: SeriesReader
    store: Store
    catalog: Catalog
    queue: Queue | None
    clock: Clock
    series_clocks: Mapping[str, datetime] | None = None
    """Some series' own time (a demo store's), for the health view."""
    alerts: AlertReader | None = None
    """The alert state, for the health view's active alerts (None: not readable here)."""
    writes: bool = True
    """The store takes this process's meta writes (False: `fuelpipe dashboard`'s, read-only)."""

    @cached_property
    def outlook(self) -> OutlookViews:
        """The outlook views of the store, their accuracy kept per data version (in the store
        too when it ``writes``)."""
        return OutlookViews(self.store, self.catalog, keep=self.writes)


def health_inputs(
    ctx: Context, due: Callable[[Series, datetime], date | None] = latest_due
) -> list[object]:
    """What the health view shows that changes without a new data version: the last runs, the
    dead letters, the day, the PENDING records (their count and latest write: a retry's claim,
    a new failure; :meth:`~fuelpipe.ports.store.Store.status_stamp`, which reads none of them
    whole, however many there are), the latest date each series should have by now (a source
    turns late with time alone: ``due``, :class:`~fuelpipe.stages.alerting.LatestDue` to
    reuse them), the active alerts (each one's summaries too: it follows the condition while
    it holds) and the QUARANTINED records (their count and latest write, as the PENDING ones':
    a record quarantined, released or accepted, the newest of which the view lists)."""
    store, now = ctx.store, ctx.clock.now()
    clocks = one_look(ctx.series_clocks)  # one read a request of a demo store's clocks
    pending = store.status_stamp(Status.PENDING)
    held = store.status_stamp(Status.QUARANTINED)
    return [
        runs_shown(store.last_runs()),
        ctx.queue.depth().dead if ctx.queue is not None else None,
        now.date().isoformat(),
        [pending.count, None if pending.latest is None else pending.latest.isoformat()],
        [str(due(s, clocks.get(s.key) or now)) for s in ctx.catalog],
        None
        if ctx.alerts is None
        else sorted(  # what the view shows of each: an alert still holding updates its summary
            (
                k,
                a.since.isoformat(),
                a.condition.summary,
                a.condition.summary_pt_br,
                a.condition.severity.value,
            )
            for k, a in ctx.alerts.load().items()
        ),
        None if ctx.alerts is None else repr(ctx.alerts.delivery()),  # backlog and drops
        [held.count, None if held.latest is None else held.latest.isoformat()],
    ]


def _one(params: dict[str, tuple[str, ...]], name: str) -> str | None:
    got = params.get(name)
    return got[0] if got else None


def _day(params: dict[str, tuple[str, ...]], name: str) -> date | None:
    got = _one(params, name)
    return date.fromisoformat(got) if got else None


def _how(params: dict[str, tuple[str, ...]]) -> WeeklyHow:
    return "last" if _one(params, "how") == "last" else "mean"


Builder = Callable[[Context, dict[str, tuple[str, ...]], str], BaseModel]
"""A view from its context, canonical parameters and the data version it is computed at."""

BUILDERS: dict[str, Builder] = {
    "/api/meta": lambda c, p, v: views.meta_view(c.reader),
    "/api/overview": lambda c, p, v: views.overview_view(c.reader, _day(p, "end")),
    "/api/indices": lambda c, p, v: views.indices_view(
        c.reader,
        list(p["keys"]),
        _day(p, "base"),
        _day(p, "start"),
        _day(p, "end"),
        _how(p),
        until=_day(p, "until"),
    ),
    "/api/correlations": lambda c, p, v: views.correlation_view(
        c.reader,
        list(p["keys"]),
        _day(p, "start"),
        _day(p, "end"),
        _how(p),
        until=_day(p, "until"),
    ),
    "/api/lags": lambda c, p, v: views.lags_view(
        c.reader,
        _one(p, "fuel") or PAGE_FUEL,
        _one(p, "area") or "BR",
        _one(p, "driver") or BRENT_BRL,
        int(_one(p, "max_lag") or 12),
        int(_one(p, "reg_lags") or 4),
        _day(p, "start"),
        _day(p, "end"),
        _how(p),
        until=_day(p, "until"),
    ),
    "/api/regional": lambda c, p, v: views.regional_view(
        c.reader, _one(p, "fuel") or PAGE_FUEL, _day(p, "week")
    ),
    "/api/parity": lambda c, p, v: views.parity_view(c.reader, _day(p, "week")),
    "/api/health": lambda c, p, v: health_view(
        c.store, c.catalog, c.queue, c.clock, c.series_clocks, c.alerts
    ),
    "/api/outlook": lambda c, p, v: c.outlook.area(
        _one(p, "fuel") or PAGE_FUEL, _one(p, "area") or PAGE_AREA, v
    ),
    "/api/outlook/map": lambda c, p, v: c.outlook.state_map(
        _one(p, "fuel") or PAGE_FUEL, int(_one(p, "horizon") or OUTLOOK_MAP_HORIZON), v
    ),
}
"""The views that are precomputed, by path; each reads the canonical parameters it is stored
under. Anything else (``/api/series``, CSV downloads, an outlook of another fuel or area) is
computed per request."""


def _q(**values: str | Sequence[str] | date | None) -> Params:
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, date):
            pairs.append((name, (value.isoformat(),)))
        elif isinstance(value, str):
            pairs.append((name, (value,)))
        else:
            pairs.append((name, tuple(value)))
    return tuple(sorted(pairs))


def page_window(newest_week: date | None) -> dict[str, date]:
    """The page's default window over a view whose fuel's newest survey week is
    ``newest_week`` (app.js windowRange with no End date): its ``PAGE_WINDOW_WEEKS`` weeks,
    from a Sunday ``until`` that week's Saturday."""
    if newest_week is None:
        return {}
    until = newest_week + timedelta(days=6)
    return {"start": until - timedelta(weeks=PAGE_WINDOW_WEEKS, days=-1), "until": until}


def default_requests(meta: MetaView) -> list[tuple[str, Params]]:
    """The view requests the page makes on first load (and per fuel on the map), from data."""
    level = "BR" if PAGE_AREA == "BR" else "STATE"
    fuel_last = next(
        (c.last for c in meta.coverage if c.product == PAGE_FUEL and c.level == level), None
    )
    window = page_window(meta.latest)
    fuel_window = page_window(fuel_last or meta.latest)
    page_key = fuel_key(PAGE_FUEL, PAGE_AREA)
    others = [fuel_key(f, PAGE_AREA) for f in MAIN_FUELS if f != PAGE_FUEL]
    out: list[tuple[str, Params]] = [
        ("/api/meta", ()),
        ("/api/overview", ()),
        ("/api/indices", _q(keys=OVERVIEW_KEYS, **window)),
        (
            "/api/indices",
            _q(keys=[page_key, USD, BRENT_BRL, PETR4], **fuel_window),
        ),
        (
            "/api/correlations",
            _q(
                keys=[page_key, *others, USD, BRENT, BRENT_BRL, PETR4],
                **fuel_window,
            ),
        ),
        ("/api/lags", _q(fuel=PAGE_FUEL, area=PAGE_AREA, driver=BRENT_BRL, **fuel_window)),
        ("/api/parity", ()),
        ("/api/health", ()),
    ]
    out += [("/api/regional", _q(fuel=p.code)) for p in meta.products]
    # the Outlook tab's first requests (outlook.js), last: the slowest (their backtests read
    # whole histories), and what the page needs only once that tab opens
    out += [
        ("/api/outlook", _q(fuel=PAGE_FUEL, area=PAGE_AREA)),
        ("/api/outlook/map", _q(fuel=PAGE_FUEL, horizon=str(OUTLOOK_MAP_HORIZON))),
    ]
    return out


def encode(version: str, params: Params, body: bytes, base: str | None = None) -> str:
    """A stored view: its version, the data version current when it was computed (``base``:
    a version computed ahead of being written, :func:`mark_changed`'s, can become current
    only over it), parameters and compressed JSON body, as one text value. It starts with
    :func:`version_start` of its version."""
    packed = base64.b64encode(zlib.compress(body, 6)).decode()
    return json.dumps({"v": version, "f": base, "p": params, "b": packed})


def version_start(version: str) -> str:
    """How a stored view of ``version`` begins (what a sweep's delete checks it still holds)."""
    return json.dumps({"v": version})[:-1] + ","


def stamp(value: str) -> tuple[str, str | None]:
    """(version, base) of a stored view; base None for one stored before bases were kept."""
    data = json.loads(value)
    base = data.get("f")
    return str(data["v"]), None if base is None else str(base)


def decode(value: str) -> tuple[str, Params, bytes]:
    """(version, params, body) of a stored view."""
    data = json.loads(value)
    params = tuple((k, tuple(v)) for k, v in data["p"])
    return str(data["v"]), params, zlib.decompress(base64.b64decode(data["b"]))


def render(model: BaseModel) -> bytes:
    """The JSON body FastAPI's JSONResponse gives for a view (``jsonable_encoder`` of a model
    is its JSON-mode dump by alias: the same, without importing FastAPI)."""
    return json.dumps(
        model.model_dump(mode="json", by_alias=True),
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
    ).encode()


VIEW_MIN_S = 30.0
"""A time-limited refresh starts no view with fewer seconds than this left (the slowest, meta
over the full catalog's 20-year histories, takes a few seconds on a Lambda)."""


@dataclass(frozen=True)
class Refreshed:
    """What one refresh of the default views did."""

    version: str
    computed: int
    complete: bool
    """False: the time ran out before every default view was stored at ``version``."""
    pruned: int = 0
    """Stored views deleted after it (:func:`prune_views`): none when it did not complete."""


class ViewsFailed(RuntimeError):
    """Some default views raised while the others were stored: each named with its error."""

    def __init__(self, version: str, failed: Sequence[str]) -> None:
        super().__init__(f"{len(failed)} view(s) failed at version {version}: " + "; ".join(failed))
        self.failed = tuple(failed)


class Precomputer:
    """Computes, stores and reads back the precomputed views of one store."""

    def __init__(self, ctx: Context, *, store_views: bool = True) -> None:
        """``store_views`` False: a view recomputed here is kept in memory only (a store opened
        read-only, as ``fuelpipe dashboard`` opens it); the pipeline still stores them."""
        self.ctx = ctx
        self._store_views = store_views
        self._lock = threading.Lock()
        self._memo: LRUCache[str, tuple[str, Params, bytes]] = LRUCache(maxsize=MEMO_ENTRIES)
        self._absent: LRUCache[str, str] = LRUCache(maxsize=ABSENT_ENTRIES)
        self._due = LatestDue()  # the health ETag's per-series due dates, reused while valid
        """Entry name -> the version at which the store had no entry of that name."""
        self._memo_lock = threading.Lock()
        self.computed = 0
        """Views computed and stored by this instance (tests and the bench read it)."""

    def version_of(self, path: str, version: str) -> str:
        """The ETag version of a view: the data version; health also follows what it shows
        that moves without one (:func:`health_inputs`)."""
        if path != "/api/health":
            return version
        extra = json.dumps(health_inputs(self.ctx, self._due))
        return f"{version}.{hashlib.sha256(extra.encode()).hexdigest()[:8]}"

    def compute(self, path: str, params: Params, version: str, base: str | None = None) -> bytes:
        """Compute one view, store it under ``version`` (computed while the data version was
        ``base``: see :func:`encode`) and return its body."""
        body = render(BUILDERS[path](self.ctx, dict(params), version))
        name = entry_name(path, params)
        if self._store_views:
            self.ctx.store.put_meta(name, encode(version, params, body, base))
        self.computed += 1
        with self._memo_lock:
            self._memo[name] = (version, params, body)
            self._absent.pop(name, None)
        return body

    def stored(self, path: str, params: Params) -> tuple[str, Params, bytes] | None:
        """The stored view for a request, whatever its version, or None."""
        value = self.ctx.store.get_meta(entry_name(path, params))
        return None if value is None else decode(value)

    def _current(self, path: str, params: Params, want: str) -> tuple[str, Params, bytes] | None:
        """The view at version ``want`` from memory, else the store's entry (any version)."""
        name = entry_name(path, params)
        with self._memo_lock:
            hit: tuple[str, Params, bytes] | None = self._memo.get(name)
            absent = self._absent.get(name) == want
        if hit is not None and hit[0] == want:
            return hit  # the version read already proved it current: no item read
        if absent:
            return None  # looked up at this version already: not stored
        found = self.stored(path, params)
        with self._memo_lock:
            if found is None:
                # Views are stored before their version is written (mark_changed's ``before``):
                # one missing at a version the readers see stays missing at that version.
                self._absent[name] = want
            elif found[0] == want:
                self._memo[name] = found
        return found

    def refresh(self, version: str | None = None) -> int:
        """Compute every default view not yet stored at the current version; returns how many."""
        return self.refresh_within(version).computed

    def refresh_within(
        self, version: str | None = None, time_left: Callable[[], float] | None = None
    ) -> Refreshed:
        """:meth:`refresh`, starting a view only while ``time_left()`` (seconds) is at least
        VIEW_MIN_S: views stored before the time ran out stay stored, so the next call at the
        same version computes only the rest (None: no limit). A view that raises is logged and
        skipped, the others are stored, and :class:`ViewsFailed` names it at the end."""
        with self._lock:
            base = data_version(self.ctx.store)  # what ``version`` (ahead of it) must replace
            data = version or base
            before = self.computed
            requests: list[tuple[str, Params]] = [("/api/meta", ())]
            failed: list[str] = []
            done = 0
            while done < len(requests):
                if time_left is not None and time_left() < VIEW_MIN_S:
                    break
                path, params = requests[done]
                done += 1
                want = self.version_of(path, data)
                found = self.stored(path, params)
                try:
                    body = (
                        found[2]
                        if found is not None and found[0] == want
                        else self.compute(path, params, want, base)
                    )
                except Exception as exc:  # one view's error must not keep the others unstored
                    _log.exception("view %s %s failed at version %s", path, params, data)
                    failed.append(f"{path} {dict(params)}: {exc!r}")
                    continue
                if path == "/api/meta":  # the other requests follow from its coverage
                    meta = MetaView.model_validate_json(body)
                    requests += [r for r in default_requests(meta) if r[0] != "/api/meta"]
            complete = done == len(requests)
            # every view got its turn: the entries of versions that can no longer be current
            # go (those of another time's window, of an older VIEWS_SCHEMA, ...)
            pruned = self._prune() if complete else 0
            if failed:
                raise ViewsFailed(data, failed)
            return Refreshed(data, self.computed - before, complete=complete, pruned=pruned)

    def _prune(self) -> int:
        """:func:`prune_views`, never failing the refresh (logged: the next one tries again);
        0 on a store this instance does not write (``store_views`` False)."""
        if not self._store_views:
            return 0
        try:
            return prune_views(self.ctx.store)
        except Exception:
            _log.exception("could not prune the stored views")
            return 0

    def serve(
        self, path: str, params: Params, version: str | None = None
    ) -> tuple[str, bytes] | None:
        """(etag version, body) of a precomputed request at data ``version`` (read from the store
        when not given), recomputed once if stale; None if the request is not one that is
        precomputed."""
        data = version or data_version(self.ctx.store)
        want = self.version_of(path, data)
        found = self._current(path, params, want)
        if found is None:
            return None
        if found[0] == want:
            return want, found[2]
        with self._lock:  # single flight: the first request after a change computes, once
            with self._memo_lock:
                kept = self._memo.get(entry_name(path, params))
            if kept is not None and kept[0] == want:  # computed meanwhile (or only in memory)
                return want, kept[2]
            again = self.stored(path, params)
            if again is not None and again[0] == want:
                return want, again[2]
            return want, self.compute(path, params, want, data)


def prune_views(store: Store) -> int:
    """Delete the stored views (``VIEW#`` entries, nothing else) that no data version can
    serve any more; returns how many went.

    A view is served only at its own version. One is kept while its version is the current
    data version, or while the version it was computed ahead of (its base) is: a precompute
    (:func:`~fuelpipe.stages.data_version.mark_changed`'s ``before``, this one's or another
    process') stores its views before writing their version, and that version can land only
    over its base. The current version is read after the entries: a version other than it
    (and than every base other than it) can never become current again, as each write of
    the data version is a fresh token. Each entry is deleted only while it still holds the
    version read (:meth:`~fuelpipe.ports.store.Store.delete_meta`), so a view another process
    stored meanwhile under the same name stays. Entries with no base (stored before bases
    were kept) go once their version is not current; one that does not decode is left."""
    entries = store.meta_entries(VIEW_PREFIX)
    current = data_version(store)
    pruned = 0
    for name, value in entries:
        if not name.startswith(VIEW_PREFIX):  # the store's filter, checked again
            continue
        try:
            version, base = stamp(value)
        except (ValueError, KeyError, TypeError, AttributeError):
            _log.warning("stored view %s does not decode: left in place", name)
            continue
        if current in (version.split(".")[0], base):  # health's is "<version>.<inputs>"
            continue
        pruned += store.delete_meta(name, version_start(version))
    if pruned:
        _log.info("pruned %d stored views no data version serves", pruned)
    return pruned


class PrecomputedViews:
    """ASGI middleware: stored views for their stored parameters, with ETags and 304s."""

    def __init__(
        self,
        app: ASGIApp,
        precomputer: Precomputer,
        versions: DataVersion | None = None,
        faults: FaultNamer = no_fault,
    ) -> None:
        from fuelpipe.dashboard.versions import DataVersion

        self.app = app
        self.pre = precomputer
        self.versions = versions or DataVersion(precomputer.ctx.store)
        self.faults = faults  # named ones (a damaged file) are logged by the answer, once

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a stored view, a 304, or pass on with an ETag on the on-demand answer."""
        from starlette.concurrency import run_in_threadpool
        from starlette.datastructures import Headers

        from fuelpipe.dashboard.versions import request_version

        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "GET" or path not in BUILDERS:
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        params = canonical(query)
        if dict(params).get("format", ("json",)) != ("json",) or _blank(query, params):
            # CSV downloads are rendered per request; a parameter left blank (canonical drops
            # it) is the routes' to judge: a 422, as for any value they refuse or do not take.
            await self.app(scope, receive, send)
            return
        key = tuple(p for p in params if p[0] != "format")
        match = Headers(scope=scope).get("if-none-match")
        try:  # read once a second at most, shared with the response cache
            version = await request_version(scope, self.versions)
        except Exception as exc:  # no version read yet: the routes answer, untagged
            if self.faults(exc) is None:
                _log.exception("no data version: answering %s on demand", path)
            await self.app(scope, receive, send)
            return
        served = await run_in_threadpool(self.pre.serve, path, key, version)
        if served is not None:
            etag = view_etag(served[0])
            await _reply(send, 304 if none_match(match, etag) else 200, etag, served[1])
            return
        # Not stored: computed by the routes, untagged, as a writer that bypasses the pipeline
        # (a test, a manual repair) leaves the version alone and must not make a 304 stale.
        await self.app(scope, receive, send)


def _blank(query: bytes, params: Params) -> bool:
    """Whether the query names a parameter its canonical form left out (``end=``, ``x=``)."""
    named = {name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)}
    return named != {name for name, _ in params}


async def _reply(send: Send, status: int, etag: str, body: bytes) -> None:
    headers = [(b"etag", etag.encode()), (b"cache-control", b"no-cache")]
    if status == 200:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body if status == 200 else b""})


def precomputer(
    reader: SeriesReader,
    store: Store,
    catalog: Catalog,
    queue: Queue | None,
    clock: Clock,
    series_clocks: Mapping[str, datetime] | None = None,
    *,
    store_views: bool = True,
    alerts: AlertReader | None = None,
) -> Precomputer:
    """A Precomputer over one store (what ``create_app`` and the CLI's ``on_change`` use)."""
    context = Context(reader, store, catalog, queue, clock, series_clocks, alerts, store_views)
    return Precomputer(context, store_views=store_views)


def refresh_views(
    store: Store,
    catalog: Catalog,
    queue: Queue | None,
    clock: Clock,
    version: str,
    *,
    alerts: AlertReader | None = None,
    series_clocks: Mapping[str, datetime] | None = None,
) -> int:
    """Recompute the default views for ``version`` (the cycle's ``on_change``); ``queue``,
    ``clock``, ``alerts`` and ``series_clocks`` as the dashboard on ``store`` reads them, so
    the health view stored is the one it then asks for (:func:`health_inputs`)."""
    reader = SeriesReader(store, catalog)
    pre = precomputer(reader, store, catalog, queue, clock, series_clocks, alerts=alerts)
    return pre.refresh(version)


def refresh_views_when_changed(
    store: Store,
    catalog: Catalog,
    queue: Queue | None,
    clock: Clock,
    *,
    alerts: AlertReader | None = None,
    time_left: Callable[[], float] | None = None,
) -> Refreshed | None:
    """Store the default views for the current data version unless VIEWS_VERSION says they
    are (None: nothing to do, two small reads). What the AWS home's outlook function runs
    after its outlook step, since no pipeline cycle there calls :func:`refresh_views`:
    ``queue`` and ``alerts`` as the dashboard reads them, so the health view's ETag matches
    its own. VIEWS_VERSION is written only when every view got stored at a version still
    current: a run out of time (``time_left``) or overtaken by new data leaves it behind,
    and the next run finishes the rest."""
    version = views_behind(store)
    if version is None:
        return None
    context = Context(SeriesReader(store, catalog), store, catalog, queue, clock, alerts=alerts)
    done = Precomputer(context).refresh_within(version, time_left)
    if done.complete and data_version(store) == version:
        store.put_meta(VIEWS_VERSION, version)
    return done


def install_precomputed(
    app: FastAPI,
    reader: SeriesReader,
    queue: Queue | None,
    clock: Clock,
    *,
    enabled: bool,
    series_clocks: Mapping[str, datetime] | None = None,
    versions: DataVersion | None = None,
    store_views: bool = True,
    alerts: AlertReader | None = None,
    faults: FaultNamer = no_fault,
) -> None:
    """Serve stored views (``app.state.precomputer``), unless ``enabled`` is False; ``versions``
    is the app's memoised data version, shared with its response cache; ``store_views``: see
    :class:`Precomputer`; ``faults``: the store's faults the app answers 503."""
    if enabled:
        app.state.precomputer = precomputer(
            reader,
            reader.store,
            reader.catalog,
            queue,
            clock,
            series_clocks,
            store_views=store_views,
            alerts=alerts,
        )
        app.add_middleware(
            PrecomputedViews, precomputer=app.state.precomputer, versions=versions, faults=faults
        )
