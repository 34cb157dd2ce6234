"""Headless Debian Chromium driven by Playwright, against the dashboard served on the real data."""

from __future__ import annotations

import base64
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from devtools.dashboard.realdata import fill_store
from devtools.dashboard.serving import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING, serving
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
# The pages' default wait (new_page's, error_free_page's) and expect()'s: a hang guard, not a
# timing; a CI host at load 15 can stretch a redraw past expect()'s 5 s default.
PAGE_TIMEOUT_MS = 20_000
expect.set_options(timeout=PAGE_TIMEOUT_MS)
# Playwright's own default wait, which the outlook pages set and the station pages (and the
# dashboard's shared link, the a11y touch phone) kept by setting none
PLAYWRIGHT_TIMEOUT_MS = 30_000
# new_page's context_args for an English touch phone, where (hover: none) matches
TOUCH_PHONE: dict[str, Any] = {
    "viewport": {"width": 412, "height": 900},
    "has_touch": True,
    "is_mobile": True,
    "locale": "en-US",
}


@pytest.fixture(scope="session")
def dashboard_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a SQLite store filled from the real files, on 127.0.0.1."""
    store = SqliteStore(tmp_path_factory.mktemp("browser") / "real.sqlite", clock=FixedClock(NOW))
    fill_store(store)
    with serving(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as url:
        yield url
    store.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver; module-scoped, because its sync API keeps an event loop running
    on the main thread, which would break later tests that run their own (Mangum, TestClient)."""
    if not CHROMIUM.is_file():
        pytest.fail(CHROMIUM_MISSING, pytrace=False)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the session."""
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """build/screenshots/, created."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@functools.cache
def cpu_throttle() -> int:
    """FUELPIPE_TEST_CPU_THROTTLE=N: how many times slower each page's CPU runs (default 1, off),
    read and checked once a run (a bad value is not cached: each page raises its error)."""
    # Opt-in, to find the races a loaded CI host shows: FUELPIPE_TEST_CPU_THROTTLE=8 pytest -n 0 …
    given = os.environ.get("FUELPIPE_TEST_CPU_THROTTLE") or "1"
    if not given.isdigit() or int(given) < 1:
        raise ValueError(f"FUELPIPE_TEST_CPU_THROTTLE={given!r}: give a whole slowdown, 1 or more")
    return int(given)


def new_page(browser: Browser, *, timeout_ms: int = PAGE_TIMEOUT_MS, **context_args: Any) -> Page:
    """A page in a browser context of its own (context_args as Browser.new_context takes them),
    its waits' default timeout_ms, its CPU slowed by cpu_throttle(); the caller closes it with
    page.context.close()."""
    rate = cpu_throttle()
    context = browser.new_context(**context_args)
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    if rate > 1:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": rate})
    return page


@contextmanager
def error_free_page(
    browser: Browser, timeout_ms: int = PAGE_TIMEOUT_MS, timezone_id: str | None = None
) -> Iterator[Page]:
    """A fresh English page, 1400x1000 (in the browser zone given, else the machine's); the
    test fails when a script on it threw."""
    page = new_page(
        browser,
        timeout_ms=timeout_ms,
        viewport={"width": 1400, "height": 1000},
        locale="en-US",
        timezone_id=timezone_id,
    )
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    yield page
    page.context.close()
    assert problems == []


# The share of a PNG's pixels darker than `below` in each channel on average (the card's white
# is 255), read in the page.
SHADED_JS = """async ([png, below]) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + png;
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.width; c.height = img.height;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let shaded = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 3 * below) shaded++;
  return shaded / (d.length / 4);
}"""


def shaded_share(page: Page, png: bytes, below: int = 247) -> float:
    """The share of a screenshot's pixels darker than `below` (247: a visible shade; 255: any
    tint at all of the card's white)."""
    shaded: float = page.evaluate(SHADED_JS, [base64.b64encode(png).decode(), below])
    return shaded
