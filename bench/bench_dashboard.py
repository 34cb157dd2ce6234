"""Dashboard speed on the real demo data: API latency per endpoint, a bounded 50-client load run,
and the time headless Chromium takes to draw the first chart.

The store is filled from the same real files the demo replays (devtools/dashboard/realdata.py) and
served by uvicorn on 127.0.0.1; every request loop is bounded in count and in time.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from devtools.dashboard.realdata import fill_store
from devtools.dashboard.serving import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING, free_port

from bench._common import BenchRow
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG

AREA = "dashboard"
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
Q = "%23"
ENDPOINTS = {
    "meta": "/api/meta",
    "overview": "/api/overview",
    "series": f"/api/series?key=FUEL{Q}GASOLINE{Q}BR",
    "indices": f"/api/indices?keys=FUEL{Q}GASOLINE{Q}SE,CURRENCY{Q}USD,BRENT_BRL,STOCK{Q}PETR4",
    "correlations": (
        f"/api/correlations?keys=FUEL{Q}GASOLINE{Q}BR,FUEL{Q}ETHANOL{Q}BR,FUEL{Q}DIESEL{Q}BR,"
        f"CURRENCY{Q}USD,COMMODITY{Q}BRENT,BRENT_BRL,STOCK{Q}PETR4"
    ),
    "lags": "/api/lags?fuel=GASOLINE&area=BR&driver=BRENT_BRL",
    "regional": "/api/regional?fuel=GASOLINE",
    "parity": "/api/parity",
    "health": "/api/health",
    "csv export": "/api/regional?fuel=GASOLINE&format=csv",
}
REQUESTS_PER_ENDPOINT = 40
API_GOAL_MS = 100.0
LOAD_CLIENTS = 50
LOAD_MAX_REQUESTS = 1_500
LOAD_MAX_SECONDS = 30.0
FIRST_CHART_GOAL_MS = 2_000.0
PAGE_LOADS = 5


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _serve(db: str, cache_ttl_s: float, port: int) -> None:
    """The child process: the dashboard on the filled store, until terminated."""
    import uvicorn

    store = SqliteStore(db, clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=cache_ttl_s)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def filled_store() -> Iterator[Path]:
    """A SQLite file holding the real demo records."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.sqlite"
        with SqliteStore(db, clock=FixedClock(NOW)) as store:
            fill_store(store)
        yield db


@contextmanager
def served(target: Callable[..., None], *args: object) -> Iterator[str]:
    """``target(*args, port)`` serving the dashboard in its own process on 127.0.0.1, as
    `fuelpipe dashboard` runs (so load-test client threads do not share its interpreter
    lock); yields the URL once ``/api/meta`` answers."""
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=target, args=(*args, port))
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/api/meta", timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or not server.is_alive():
                    raise
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.join(10)


@contextmanager
def dashboard(db: Path, cache_ttl_s: float) -> Iterator[str]:
    """The dashboard on a store filled from the real files, served on 127.0.0.1."""
    with served(_serve, str(db), cache_ttl_s) as url:
        yield url


def api_latency(url: str) -> list[BenchRow]:
    """p50/p95 of each endpoint, one warm client, sequential requests, answer cache off."""
    rows = []
    with httpx.Client(base_url=url, timeout=30.0) as client:
        for path in ENDPOINTS.values():
            client.get(path).raise_for_status()  # warm caches (calendars, gzip) first
        for name, path in ENDPOINTS.items():
            times = []
            for _ in range(REQUESTS_PER_ENDPOINT):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            p95 = percentile(times, 95)
            rows.append(BenchRow(AREA, f"GET {name} p50", percentile(times, 50), "ms"))
            rows.append(
                BenchRow(
                    AREA, f"GET {name} p95", p95, "ms", f"< {API_GOAL_MS:.0f} ms", p95 < API_GOAL_MS
                )
            )
    return rows


def http_load(
    url: str, paths: list[str], clients: int, max_requests: int, seconds: float
) -> tuple[list[float], int, float]:
    """``clients`` threads cycling ``paths`` until ``max_requests`` are issued or ``seconds``
    pass: (latencies in ms, errors, wall seconds)."""
    lock = threading.Lock()
    latencies: list[float] = []
    errors = issued = 0
    deadline = time.monotonic() + seconds

    def client_loop(offset: int) -> None:
        nonlocal errors, issued
        with httpx.Client(base_url=url, timeout=30.0) as client:
            i = offset
            while time.monotonic() < deadline:
                with lock:
                    if issued >= max_requests:
                        return
                    issued += 1
                started = time.perf_counter()
                try:
                    ok = client.get(paths[i % len(paths)]).status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    errors += 0 if ok else 1
                i += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    return latencies, errors, time.perf_counter() - started


def load_run(url: str, label: str) -> list[BenchRow]:
    """LOAD_CLIENTS threads cycling the endpoints until the request or time budget is spent."""
    latencies, errors, wall = http_load(
        url, list(ENDPOINTS.values()), LOAD_CLIENTS, LOAD_MAX_REQUESTS, LOAD_MAX_SECONDS
    )
    return [
        BenchRow(AREA, f"{label}: requests", len(latencies), "requests"),
        BenchRow(AREA, f"{label}: throughput", len(latencies) / wall, "req/s"),
        BenchRow(AREA, f"{label}: p50", percentile(latencies, 50), "ms"),
        BenchRow(AREA, f"{label}: p95", percentile(latencies, 95), "ms"),
        BenchRow(AREA, f"{label}: errors", errors, "requests", "0", errors == 0),
    ]


def first_chart(url: str) -> list[BenchRow]:
    """Navigation start to the first drawn chart, cold (fresh profile) and warm (cached)."""
    if not CHROMIUM.is_file():
        raise SystemExit(CHROMIUM_MISSING)
    from playwright.sync_api import Page, sync_playwright

    def load(page: Page) -> float:
        # The page stamps performance.now() (ms since navigation start) when a chart is drawn.
        page.goto(f"{url}/?view=overview")
        chart = "#chart-overview[data-rendered]:not([data-rendered=''])"
        page.wait_for_selector(chart, state="attached", timeout=30_000)
        return float(page.get_attribute("#chart-overview", "data-rendered") or "nan")

    cold: list[float] = []
    warm: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(PAGE_LOADS):
                context = browser.new_context()
                cold.append(load(context.new_page()))
                warm.append(load(context.new_page()))  # the Plotly bundle now in the HTTP cache
                context.close()
        finally:
            browser.close()
    goal = f"< {FIRST_CHART_GOAL_MS:.0f} ms"
    cold_ms, warm_ms = statistics.median(cold), statistics.median(warm)
    return [
        BenchRow(
            AREA,
            "first chart, cold cache (median)",
            cold_ms,
            "ms",
            goal,
            cold_ms < FIRST_CHART_GOAL_MS,
        ),
        BenchRow(
            AREA,
            "first chart, warm cache (median)",
            warm_ms,
            "ms",
            goal,
            warm_ms < FIRST_CHART_GOAL_MS,
        ),
        BenchRow(AREA, f"first chart, cold cache (fastest of {PAGE_LOADS})", min(cold), "ms"),
        BenchRow(AREA, f"first chart, cold cache (slowest of {PAGE_LOADS})", max(cold), "ms"),
    ]


def run() -> list[BenchRow]:
    """Every dashboard measurement."""
    rows: list[BenchRow] = []
    with filled_store() as db:
        with dashboard(db, cache_ttl_s=0) as url:
            rows += api_latency(url)
            rows += load_run(url, f"load {LOAD_CLIENTS} clients, no cache")
        with dashboard(db, cache_ttl_s=30) as url:
            rows += load_run(url, f"load {LOAD_CLIENTS} clients, 30 s cache")
            rows += first_chart(url)
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row.metric}: {row.fmt_value()} {row.unit}  (goal {row.goal or '-'})")
