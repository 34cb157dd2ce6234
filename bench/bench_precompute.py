"""Precomputed analysis under load: 50 clients with the response cache off vs on, and with a
pipeline landing new data during the load.

The store is the real demo data (tests/dashboard/realdata.py); the load is the page's own
first-load requests (``default_requests``: meta, overview, the overview and movement indices,
correlations, lags, parity, health, the map for every fuel). Three servers in one run:
stored views off (every request computes, the old behaviour), stored views with the response
cache off, stored views with the 30 s cache on. The goal is the cache-off / cache-on p95 ratio.
The landing line runs the cache-off server again while another process does what a pipeline
run that changed a series does at the store: it writes real PTAX values from after the demo
window, one date every LAND_EVERY_S seconds, writes a new data version and recomputes the views.
"""

from __future__ import annotations

import csv
import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from devtools.dashboard.realdata import WINDOW
from devtools.datasets import DATASETS

from bench._common import BenchRow
from bench.bench_dashboard import NOW, filled_store, http_load, percentile, served
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.precomputed import default_requests, refresh_views
from fuelpipe.dashboard.repository import SeriesReader
from fuelpipe.dashboard.views import meta_view
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import currency_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.data_version import mark_changed

AREA = "precompute"
CLIENTS = 50
MAX_REQUESTS = 1_500
MAX_SECONDS = 30.0
LAND_EVERY_S = 1.0
LANDING_SECONDS = 12.0
"""The landing line runs for this long whatever its request count, so several runs land."""
RATIO_GOAL = 2.0


def _serve(db: str, cache_ttl_s: float, precompute: bool, port: int) -> None:
    import uvicorn

    store = SqliteStore(db, clock=FixedClock(NOW))
    app = create_app(
        store,
        DEFAULT_CATALOG,
        clock=FixedClock(NOW),
        cache_ttl_s=cache_ttl_s,
        precompute=precompute,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def server(db: Path, cache_ttl_s: float, precompute: bool) -> Iterator[str]:
    """The dashboard in its own process (as `fuelpipe dashboard` runs), on 127.0.0.1."""
    with served(_serve, str(db), cache_ttl_s, precompute) as url:
        yield url


def page_requests(db: Path) -> list[str]:
    """The page's first-load view requests on this store."""
    with SqliteStore(db, clock=FixedClock(NOW)) as store:
        meta = meta_view(SeriesReader(store, DEFAULT_CATALOG))
    out = []
    for path, params in default_requests(meta):
        query = urlencode([(name, v) for name, values in params for v in values])
        out.append(f"{path}?{query}" if query else path)
    return out


def views_of(store: SqliteStore) -> Callable[[str], None]:
    """The cycle's on_change: store the default views under the coming version."""

    def refresh(version: str) -> None:
        refresh_views(store, DEFAULT_CATALOG, None, FixedClock(NOW), version)

    return refresh


def precompute(db: Path) -> float:
    """What the cycle does after a change: a new version, the default views stored; seconds."""
    started = time.perf_counter()
    with SqliteStore(db, clock=FixedClock(NOW)) as store:
        mark_changed(store, NOW, "bench fill", before=views_of(store))
    return time.perf_counter() - started


def later_usd() -> list[tuple[date, str]]:
    """Real PTAX USD sell values after the demo window (what the next runs would land)."""
    with (DATASETS / "fx" / "strongylis__ptax.csv").open(newline="", encoding="utf-8") as fh:
        rows = [(date.fromisoformat(r["data"]), r["venda"]) for r in csv.DictReader(fh)]
    return [(d, v) for d, v in rows if d > WINDOW[1]][:200]


def _land(db: str, stop: Any, landed: Any) -> None:
    """The pipeline process: one new real USD value per LAND_EVERY_S, then version + views."""
    values = later_usd()
    with SqliteStore(db, clock=FixedClock(NOW)) as store:
        for day, value in values:
            if stop.wait(LAND_EVERY_S):
                return
            store.put_records([Record(currency_key("USD"), day, Decimal(value), Status.OK)])
            mark_changed(store, NOW, f"bench landing {day}", before=views_of(store))
            with landed.get_lock():
                landed.value += 1


def load(
    url: str, paths: list[str], max_requests: int = MAX_REQUESTS, seconds: float = MAX_SECONDS
) -> tuple[list[float], int]:
    """CLIENTS threads cycling the page's requests: (latencies ms, errors)."""
    latencies, errors, _ = http_load(url, paths, CLIENTS, max_requests, seconds)
    return latencies, errors


def _rows(label: str, latencies: list[float], errors: int) -> list[BenchRow]:
    return [
        BenchRow(AREA, f"{label}: requests", len(latencies), "requests"),
        BenchRow(AREA, f"{label}: p50", percentile(latencies, 50), "ms"),
        BenchRow(AREA, f"{label}: p95", percentile(latencies, 95), "ms"),
        BenchRow(AREA, f"{label}: errors", errors, "requests", "0", errors == 0),
    ]


def run() -> list[BenchRow]:
    """Stored views off / cache off / cache on, then cache off with data landing."""
    rows: list[BenchRow] = []
    with filled_store() as db:
        paths = page_requests(db)
        rows.append(
            BenchRow(AREA, "precompute after a change (default views)", precompute(db), "s")
        )
        with server(db, cache_ttl_s=0, precompute=False) as url:
            before, before_err = load(url, paths)
        rows += _rows(f"{CLIENTS} clients, no stored views, cache off (before)", before, before_err)
        with server(db, cache_ttl_s=0, precompute=True) as url:
            off, off_err = load(url, paths)
        rows += _rows(f"{CLIENTS} clients, stored views, cache off", off, off_err)
        with server(db, cache_ttl_s=30, precompute=True) as url:
            on, on_err = load(url, paths)
        rows += _rows(f"{CLIENTS} clients, stored views, 30 s cache", on, on_err)
        ratio = percentile(off, 95) / percentile(on, 95)
        rows.append(
            BenchRow(
                AREA,
                "p95 cache off / cache on",
                ratio,
                "ratio",
                f"<= {RATIO_GOAL}",
                ratio <= RATIO_GOAL,
            )
        )
        rows.append(
            BenchRow(
                AREA,
                "p95 before / cache on (the old ratio)",
                percentile(before, 95) / percentile(on, 95),
                "ratio",
            )
        )
        ctx = multiprocessing.get_context("spawn")
        stop, landed = ctx.Event(), ctx.Value("i", 0)
        with server(db, cache_ttl_s=0, precompute=True) as url:
            lander = ctx.Process(target=_land, args=(str(db), stop, landed))
            lander.start()
            try:
                busy, busy_err = load(url, paths, max_requests=1_000_000, seconds=LANDING_SECONDS)
            finally:
                stop.set()
                lander.join(60)
        label = f"{CLIENTS} clients, stored views, cache off, data landing"
        rows += _rows(label, busy, busy_err)
        runs = landed.value
        rows.append(BenchRow(AREA, f"{label}: runs landed", runs, "runs", ">= 1", runs >= 1))
        ratio = percentile(busy, 95) / percentile(on, 95)
        rows.append(
            BenchRow(
                AREA,
                "p95 cache off with data landing / cache on",
                ratio,
                "ratio",
                f"<= {RATIO_GOAL}",
                ratio <= RATIO_GOAL,
            )
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row.metric}: {row.fmt_value()} {row.unit}  (goal {row.goal or '-'})")
