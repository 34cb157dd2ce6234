"""The first chart as a first-time visitor meets it: a freshly launched Chromium per load.

Five fresh launches load the page with the partial Plotly bundle the dashboard serves, and five
(interleaved, same run) with the whole plotly.min.js substituted for it by the browser's request
routing: both variants are answered by that routing from a file (the committed partial bundle,
and the whole bundle of the same plotly.js release from the npm package that builds it, or from
the ``plotly`` dev dependency), so only the bundle differs. The dashboard itself does not serve
the whole bundle, and its Lambda carries no plotly package. Timed by wall
clock from ``page.goto`` to the first ``.main-svg``; the JavaScript bytes are the decoded sizes
of the scripts the page loaded before that chart was drawn (Resource Timing, up to the instant
app.js stamps on the chart: the Outlook view's script, loaded after the first chart, is not
counted even when it lands before this script asks).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from devtools.dashboard.serving import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CHROMIUM_MISSING,
    scripts_before_first_chart,
)

from bench._common import BenchRow
from bench.bench_dashboard import dashboard, filled_store
from fuelpipe.dashboard.static_assets import FIRST_CHART_BYTES, PLOTLY_PARTIAL, STATIC_DIR

AREA = "dashboard"
LAUNCHES = 5
JS_GOAL_BYTES = FIRST_CHART_BYTES
RATIO_GOAL = 0.5
PARTIAL = "**/static/plotly-partial.min.js*"
ROOT = Path(__file__).resolve().parents[1]
NPM_WHOLE = ROOT / "node_modules" / "plotly.js" / "dist" / "plotly.min.js"
"""The whole bundle from the npm package pinned in package-lock.json (`make plotly` builds the
partial one from the same package)."""


def whole_plotly_js() -> Path | None:
    """The whole plotly.min.js: the npm package's, else the one the ``plotly`` dev dependency
    ships; None when neither is installed."""
    if NPM_WHOLE.is_file():
        return NPM_WHOLE
    try:
        import plotly  # dev tooling only: the dashboard never imports it
    except ImportError:
        return None
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return shipped if shipped.is_file() else None


def one_launch(playwright: Any, url: str, bundle: Path) -> tuple[float, int]:
    """Seconds from goto to the first drawn chart, and the script bytes loaded before it."""
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        page = browser.new_page()

        def route(r: Any) -> None:
            r.fulfill(path=str(bundle), content_type="text/javascript; charset=utf-8")

        page.route(PARTIAL, route)
        started = time.perf_counter()
        page.goto(f"{url}/?view=overview")
        page.wait_for_selector(".main-svg", state="attached", timeout=60_000)
        elapsed = time.perf_counter() - started
        return elapsed, sum(scripts_before_first_chart(page).values())
    finally:
        browser.close()


def run() -> list[BenchRow]:
    if not CHROMIUM.is_file():  # the path it looked for: FUELPIPE_CHROMIUM's, if set
        print(f"   ({CHROMIUM_MISSING}; skipping)")
        return []
    whole = whole_plotly_js()
    if whole is None:
        print("   (no whole plotly.min.js: skipping; npm ci installs plotly.js)")
        return []
    bundles = {False: STATIC_DIR / PLOTLY_PARTIAL, True: whole}
    from playwright.sync_api import sync_playwright

    times: dict[bool, list[float]] = {False: [], True: []}
    sizes: dict[bool, list[int]] = {False: [], True: []}
    with filled_store() as db, dashboard(db, cache_ttl_s=30) as url, sync_playwright() as p:
        one_launch(p, url, bundles[False])  # warm the server's caches and the OS file cache once
        for _ in range(LAUNCHES):
            for full in (False, True):
                seconds, scripts = one_launch(p, url, bundles[full])
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
