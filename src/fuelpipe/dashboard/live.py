"""The live panel's endpoint: what changed in the store, polled cheaply with ETags.

``GET /api/live`` answers a small fingerprint of the store (the newest record of each headline
series and the last stage runs) with its freshness, and an ETag; ``If-None-Match`` gets a 304.
The page polls it and redraws when the version changes. Polling (not Server-Sent Events) also
works behind the Lambda Function URL, which buffers responses. Each new version also starts a
new generation of the API's response cache, so the redraw reads the new data at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, Field

from fuelpipe.dashboard.analysis import TimeSeries, product_at_latest
from fuelpipe.dashboard.areas import BR, OVERVIEW_DRIVERS, PRODUCTS
from fuelpipe.dashboard.etags import none_match
from fuelpipe.dashboard.formats import FormatQ
from fuelpipe.dashboard.health import runs_shown
from fuelpipe.dashboard.repository import BRENT, BRENT_BRL, PTAX_MAX_AGE, USD
from fuelpipe.dashboard.schemas import Cell, Table, context, iso
from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.intraday import INTRADAY_SERIES
from fuelpipe.domain.keys import fuel_key
from fuelpipe.domain.models import Status
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.intraday import IntradayStore
from fuelpipe.ports.store import Store
from fuelpipe.stages.due import newest_ok

LIVE_PATH = "/api/live"
AS_OF_HEADER = "X-Fuelpipe-As-Of"
"""The server's (injected) clock, on every answer of ``/api/live``."""
LIVE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with `format=csv`"},
    304: {
        "description": "unchanged since the ETag given in If-None-Match "
        "(the X-Fuelpipe-As-Of header still gives the server's clock)"
    },
    422: {"description": "invalid parameters, with a message"},
}


class Generation:
    """The store version the live endpoint saw last; the response cache keys by it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = ""

    def get(self) -> str:
        """The current generation."""
        with self._lock:
            return self._value

    def set(self, value: str) -> None:
        """Start a new generation (a no-op when unchanged)."""
        with self._lock:
            self._value = value


class LiveSeries(BaseModel):
    """The newest stored value of one headline series and how fresh it is."""

    key: str
    date: dt.date | None = Field(
        description="the newest date stored OK (the 'as of'), even one published after the "
        "server's clock (its `age_s` null): the health view's and `fuelpipe status`'s `last` "
        "stop at the clock"
    )
    published_at: dt.datetime | None = Field(description="its publication instant (schedule)")
    stored_at: dt.datetime | None = Field(
        description="when it was stored, in São Paulo time with the offset (as published_at)"
    )
    age_s: float | None = Field(
        None,
        description="seconds from its publication to now; null when nothing is published, or "
        "when its publication is after now (a store filled ahead of the server's clock, as the "
        "demo's): an age would be made up",
    )


class LiveView(BaseModel):
    """A fingerprint of the store for the live panel."""

    version: str
    as_of: dt.datetime = Field(description="the server's (injected) clock")
    series: list[LiveSeries]
    last_run_at: dt.datetime | None
    parts: dict[str, str] = Field(
        default_factory=dict,
        description="a short hash of each part of the version: `store` for the stored data "
        "(every view reads it), `runs` for the stage runs logged (the health view's), and one "
        "per intraday series under its key (only the overview's Today panel reads those, and "
        "only the series it shows): the page redraws only the views a changed part affects",
    )

    def table(self) -> Table:
        """One row per headline series, the view's ``version``, ``as_of``, ``last_run_at`` and
        each part's hash (``parts_store``, ``parts_CURRENCY#USD``...) on each."""
        head = ["key", "date", "published_at", "stored_at", "age_s"]
        view_head, view = context(self, ["version", "as_of", "last_run_at"])
        view_head += [f"parts_{name}" for name in self.parts]
        view += list(self.parts.values())
        rows: list[list[Cell]] = [
            [s.key, iso(s.date), iso(s.published_at), iso(s.stored_at), s.age_s, *view]
            for s in self.series
        ]
        return head + view_head, rows


def live_keys(catalog: Catalog) -> list[str]:
    """The headline series whose changes the panel follows (the overview's, stored ones)."""
    keys = [fuel_key(p, BR) for p in PRODUCTS] + list(OVERVIEW_DRIVERS)
    return [k for k in keys if k in catalog]


def intraday_fingerprint(
    intraday: IntradayStore, catalog: Catalog, now: dt.datetime
) -> dict[str, str]:
    """Today's count and newest point per intraday series, by its key: a stored bulletin or
    bar moves its own.

    Intraday writes bypass the data version on purpose (a new bar every 15 minutes must not
    make every precomputed view stale), so the live version reads them here: one Query each.
    """
    today = now.astimezone(SAO_PAULO).date()
    out = {}
    for key in (k for k in INTRADAY_SERIES if k in catalog):
        points = intraday.sao_paulo_day(catalog[key], today, now)
        newest = points[-1] if points else None
        out[key] = f"{key}@{today}:{len(points)}:{newest and (newest.at, newest.value)}"
    return out


def _digest(parts: object) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def _age_s(published: dt.datetime, now: dt.datetime) -> float | None:
    """Seconds since ``published``; None when it is after ``now``: a value published ahead of
    the clock was read as "published now" when clamped to 0."""
    age = (now - published).total_seconds()
    return age if age >= 0 else None


def _brent_brl(
    store: Store,
    catalog: Catalog,
    brent_day: dt.date,
    now: dt.datetime,
) -> LiveSeries:
    """Brent in BRL's row, dated as its overview card (Brent's newest day with a PTAX at most
    :data:`PTAX_MAX_AGE` before it): published when the later of its two inputs was, stored
    when the later of them was (no record of its own keeps either). Each input is one Query,
    its values and their stamps together (the row read both again for their stamps, two
    Queries more per poll)."""
    start = brent_day - timedelta(days=21)
    ok = {
        key: [
            r
            for r in store.query(key, first, brent_day, ("value", "updated_at"))
            if r.status is Status.OK and r.value is not None
        ]
        for key, first in ((BRENT, start), (USD, start - PTAX_MAX_AGE))
    }
    values = {
        key: TimeSeries.of(key, ((r.date, float(r.value)) for r in ok[key] if r.value is not None))
        for key in ok
    }
    brent_brl = product_at_latest(BRENT_BRL, values[BRENT], values[USD], PTAX_MAX_AGE)
    found = brent_brl.value_on_or_before(brent_day)
    if found is None:
        return LiveSeries(key=BRENT_BRL, date=None, published_at=None, stored_at=None, age_s=None)
    day = found[0]
    rates = [r for r in ok[USD] if day - PTAX_MAX_AGE <= r.date <= day]
    brent = [r for r in ok[BRENT] if r.date == day]
    published = max(
        catalog[BRENT].schedule.published_at(day),
        catalog[USD].schedule.published_at(rates[-1].date),
    ).astimezone(SAO_PAULO)  # FRED's schedule is Chicago's: shown in São Paulo time, as stored_at
    instants = [r.updated_at for r in (*brent[-1:], *rates[-1:]) if r.updated_at]
    return LiveSeries(
        key=BRENT_BRL,
        date=day,
        published_at=published,
        stored_at=max(instants).astimezone(SAO_PAULO) if instants else None,
        age_s=_age_s(published, now),
    )


def live_view(
    store: Store, catalog: Catalog, clock: Clock, intraday: IntradayStore | None = None
) -> LiveView:
    """Newest record per headline series, the last runs, the store's data version and today's
    intraday points, and a version hash of them."""
    now = clock.now()
    rows: list[LiveSeries] = []
    fingerprint: list[str] = []
    for key in live_keys(catalog):
        # the recent dates only (a poll every 3 s per open tab, a 304 too), the whole
        # history only when none of them is OK
        newest = newest_ok(store, catalog[key], now)
        if newest is None:
            rows.append(
                LiveSeries(key=key, date=None, published_at=None, stored_at=None, age_s=None)
            )
            fingerprint.append(f"{key}:-")
            continue
        # in São Paulo time, whatever the schedule's zone (FRED's Chicago, the New York closes)
        published = catalog[key].schedule.published_at(newest).astimezone(SAO_PAULO)
        found = store.query(key, newest, newest, ("value", "updated_at"))
        # São Paulo time, as published_at beside it (the store keeps UTC)
        at = found[0].updated_at if found else None
        stored = at.astimezone(SAO_PAULO) if at else None
        rows.append(
            LiveSeries(
                key=key,
                date=newest,
                published_at=published,
                stored_at=stored,
                age_s=_age_s(published, now),
            )
        )
        # a corrected value on the same date is a change too
        fingerprint.append(f"{key}:{newest}:{found[0].value if found else ''}:{stored}")
        if key == BRENT and USD in catalog:  # Brent in BRL's card, beside Brent's
            rows.append(_brent_brl(store, catalog, newest, now))
    runs = store.last_runs()
    last_run = max((r.finished_at for r in runs), default=None)
    from fuelpipe.stages.data_version import data_version  # as app.py: imported when used

    # An outlook refresh or a repair writes a new data version and may log no newer run nor
    # change a headline's newest value: it is a change the page and the cache must see too.
    fingerprint.append(data_version(store))
    bars = intraday_fingerprint(intraday, catalog, now) if intraday is not None else {}
    # every run the health view shows, not only the newest finish (health.runs_shown)
    shown = runs_shown(runs)
    version = _digest([*fingerprint, shown, *bars.values()])
    # Each part on its own too: an intraday bar lands every 15 minutes per series, and the page
    # redraws a view for it only when that view shows the series (the overview's Today panel);
    # a run logged (every `watch` tick logs its recheck's, most storing nothing) only the
    # health view, which shows the runs: a run that stored something moved the data version.
    parts = {"store": _digest(fingerprint), "runs": _digest(shown)}
    parts |= {k: _digest(v) for k, v in bars.items()}
    return LiveView(version=version, as_of=now, series=rows, last_run_at=last_run, parts=parts)


def live_router(
    store: Store,
    catalog: Catalog,
    clock: Clock,
    generation: Generation,
    intraday: IntradayStore | None = None,
) -> APIRouter:
    """``GET /api/live``, with ETag / If-None-Match."""
    router = APIRouter()

    @router.get(LIVE_PATH, response_model=LiveView, responses=LIVE_RESPONSES)
    def live(
        response: Response,
        format: FormatQ = "json",
        if_none_match: Annotated[
            str | None,
            Header(description="the ETag of the last answer: 304 when nothing changed since"),
        ] = None,
    ) -> LiveView | Response:
        """What the store holds now, in brief: poll it with If-None-Match, redraw on change."""
        view = live_view(store, catalog, clock, intraday)
        generation.set(view.version)
        etag = f'"{view.version}"'
        # The server's clock on every answer, a 304 too: the page's "checked" time and the
        # cards' ages move on while nothing lands (the version does not hold the time).
        headers = {"ETag": etag, "Cache-Control": "no-cache", AS_OF_HEADER: view.as_of.isoformat()}
        if none_match(if_none_match, etag):
            return Response(status_code=304, headers=headers)
        if format == "csv":
            from fuelpipe.dashboard.app import to_csv  # the API's one CSV writer

            download = to_csv(view.table(), "live")
            download.headers.update(headers)
            return download
        response.headers.update(headers)
        return view

    return router
