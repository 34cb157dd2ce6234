"""The first chart as a first-time visitor meets it: a freshly launched Chromium per load.

Five fresh launches load the page with the partial Plotly bundle the dashboard serves, and five
(interleaved, same run) with the whole plotly.min.js substituted for it by the browser's request
routing (both variants go through the same routing, so only the bundle differs). Timed by wall
clock from ``page.goto`` to the first ``.main-svg``; the JavaScript bytes are the decoded sizes
of the scripts the page loaded before that chart was drawn (Resource Timing, up to the instant
app.js stamps on the chart: the Outlook view's script, loaded after the first chart, is not
counted even when it lands before this script asks).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from devtools.dashboard.serving import CHROMIUM, CHROMIUM_ARGS, scripts_before_first_chart

from bench._common import BenchRow
from bench.bench_dashboard import dashboard, filled_store
from fuelpipe.dashboard.static_assets import FIRST_CHART_BYTES

AREA = "dashboard"
LAUNCHES = 5
JS_GOAL_BYTES = FIRST_CHART_BYTES
RATIO_GOAL = 0.5
PARTIAL = "**/static/plotly-partial.min.js*"


def one_launch(playwright: Any, url: str, full: bool) -> tuple[float, int]:
    """Seconds from goto to the first drawn chart, and the script bytes loaded before it."""
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        page = browser.new_page()

        def route(r: Any) -> None:
            if full:
                r.continue_(url=f"{url}/static/plotly.min.js")
            else:
                r.continue_()

        page.route(PARTIAL, route)
        started = time.perf_counter()
        page.goto(f"{url}/?view=overview")
        page.wait_for_selector(".main-svg", state="attached", timeout=60_000)
        elapsed = time.perf_counter() - started
        return elapsed, sum(scripts_before_first_chart(page).values())
    finally:
        browser.close()


def run() -> list[BenchRow]:
    if not CHROMIUM.exists():
        print("   (no /usr/bin/chromium: skipping; run make browser-deps)")
        return []
    from playwright.sync_api import sync_playwright

    times: dict[bool, list[float]] = {False: [], True: []}
    sizes: dict[bool, list[int]] = {False: [], True: []}
    with filled_store() as db, dashboard(db, cache_ttl_s=30) as url, sync_playwright() as p:
        one_launch(p, url, False)  # warm the server's caches and the OS file cache once
        for _ in range(LAUNCHES):
            for full in (False, True):
                seconds, scripts = one_launch(p, url, full)
                times[full].append(seconds * 1000)
                sizes[full].append(scripts)
    partial_ms, full_ms = statistics.median(times[False]), statistics.median(times[True])
    partial_js, full_js = max(sizes[False]), max(sizes[True])
    ratio = partial_ms / full_ms
    n = LAUNCHES
    return [
        BenchRow(AREA, "first chart: JS bytes before it, partial Plotly bundle", partial_js,
                 "bytes", f"<= {JS_GOAL_BYTES:,}", partial_js <= JS_GOAL_BYTES),
        BenchRow(AREA, "first chart: JS bytes before it, whole plotly.min.js (before)", full_js,
                 "bytes"),
        BenchRow(AREA, f"first chart, fresh Chromium (median of {n}): partial bundle",
                 partial_ms, "ms"),
        BenchRow(AREA, f"first chart, fresh Chromium (median of {n}): whole bundle (before)",
                 full_ms, "ms"),
        BenchRow(AREA, "first chart, fresh Chromium: partial / whole", ratio, "ratio",
                 f"<= {RATIO_GOAL}", ratio <= RATIO_GOAL),
    ]  # fmt: skip
