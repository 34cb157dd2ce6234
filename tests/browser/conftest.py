"""Headless Debian Chromium driven by Playwright, against the dashboard served on the real data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

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
# expect()'s waits as long as the pages' own (error_free_page): a hang guard, not a timing; a
# CI host at load 15 can stretch a redraw past its 5 s default.
expect.set_options(timeout=20_000)


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


def slowed(page: Page) -> Page:
    """The page, its CPU slowed N times when FUELPIPE_TEST_CPU_THROTTLE=N (default off)."""
    # Opt-in, to find the races a loaded CI host shows: FUELPIPE_TEST_CPU_THROTTLE=8 pytest -n 0 …
    given = os.environ.get("FUELPIPE_TEST_CPU_THROTTLE") or "1"
    if not given.isdigit() or int(given) < 1:
        raise ValueError(f"FUELPIPE_TEST_CPU_THROTTLE={given!r}: give a whole slowdown, 1 or more")
    rate = int(given)
    if rate > 1:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    return page


@contextmanager
def error_free_page(
    browser: Browser, timeout_ms: int = 20_000, timezone_id: str | None = None
) -> Iterator[Page]:
    """A fresh English page, 1400x1000 (in the browser zone given, else the machine's); the
    test fails when a script on it threw."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, locale="en-US", timezone_id=timezone_id
    )
    context.set_default_timeout(timeout_ms)
    page = slowed(context.new_page())
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    yield page
    context.close()
    assert problems == []
