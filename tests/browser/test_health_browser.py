"""The health view in headless Chromium: its problems (late, failing sources) follow the clock
while it is open, without a new data version and without refetching any other view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
from devtools.dashboard.serving import serving
from playwright.sync_api import Browser, Page
from tests.browser.conftest import error_free_page

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.precomputed import refresh_views
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.data_version import mark_changed

pytestmark = pytest.mark.browser
SP = ZoneInfo("America/Sao_Paulo")
USD = DEFAULT_CATALOG["CURRENCY#USD"]
MONDAY, WEDNESDAY = date(2022, 5, 2), date(2022, 5, 4)
LATE_BCB = """() => Array.from(document.querySelectorAll('#health-cards .card h3'))
  .some(h => h.textContent === 'Late · bcb')"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, ManualClock]]:
    """PTAX stored up to Monday, the server's clock on Tuesday morning: nothing is late yet."""
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "h.sqlite", clock=clock)
    store.put_records([Record(USD.key, MONDAY, Decimal("5"), Status.OK)])
    # As a run does: the page's views are stored under a new data version, so health is
    # served with an ETag that follows the clock (the answer cache keeps only untagged ones).
    mark_changed(
        store,
        clock.now(),
        "fill",
        before=lambda version: refresh_views(store, DEFAULT_CATALOG, None, clock, version),
    )
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        yield url, clock
    store.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with error_free_page(browser) as page:
        yield page


def test_the_open_health_view_refreshes_its_problems_every_minute_and_only_them(
    served: tuple[str, ManualClock], page: Page
) -> None:
    # The view redrew only when the data version moved, but a source turns late with time
    # alone: an open Health tab kept saying "0" problems while PTAX went late.
    url, clock = served
    asked: list[str] = []
    page.on(
        "request",
        lambda r: asked.append(urlparse(r.url).path) if "/api/" in r.url else None,
    )
    page.clock.install()  # the page's timers move when the test says so
    page.goto(f"{url}/?view=health&lang=en")
    page.wait_for_selector("body[data-ready=health]", state="attached")
    first = page.locator("#health-cards .card").first
    assert first.locator("h3").text_content() == "Sources late or failing"
    assert first.locator(".card-value").text_content() == "0"

    # Wednesday afternoon on the server: Tuesday's PTAX is past its window, not stored.
    clock.set(USD.schedule.stale_at(WEDNESDAY) + timedelta(minutes=1))
    asked.clear()
    page.clock.fast_forward("01:00")
    page.wait_for_function(LATE_BCB)
    assert page.locator(".view-error").count() == 0
    assert {p for p in asked if p != "/api/live"} == {"/api/health"}  # nothing else refetched

    # Another tab: the refresh stops (live.js's poll shows the page's timers did run).
    page.click(".tabs [data-view=parity]")
    page.wait_for_selector("body[data-ready=parity]", state="attached")
    asked.clear()
    with page.expect_request("**/api/live"):
        page.clock.fast_forward("03:00")
    assert "/api/health" not in asked

    # Back on Health: read at once, and refreshed every minute again.
    clock.set(clock.now() + timedelta(days=1))
    page.click(".tabs [data-view=health]")
    page.wait_for_selector("body[data-ready=health]", state="attached")
    assert asked.count("/api/health") == 1
    page.wait_for_function(LATE_BCB)
    with page.expect_request("**/api/health"):
        page.clock.fast_forward("01:01")
