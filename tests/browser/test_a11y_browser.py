"""The dashboard as a keyboard, a screen reader and a narrow screen meet it, in headless Chromium
on the real data: focus rings, tab order, text contrast, chart text and labels in the page's
language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from tests.browser.conftest import error_free_page
from tests.support.a11y import LOW_CONTRAST_JS, REACHABLE_JS, assert_rings_show, tab_through

pytestmark = pytest.mark.browser

VIEWS = {
    "overview": "view=overview",
    "movement": "view=movement&fuel=GASOLINE&area=SE",
    "map": "view=map&fuel=GASOLINE",
    "lags": "view=lags&fuel=GASOLINE&area=BR&driver=BRENT_BRL",
    "outlook": "view=outlook",  # no outlook stored: its CSV links are off
    "health": "view=health&health=all",
}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh English page that fails the test when a script on it threw."""
    with error_free_page(browser) as page:
        yield page


def _open(page: Page, base: str, query: str) -> None:
    page.goto(f"{base}/?{query}")
    page.wait_for_selector("body:not([data-ready=''])[data-ready]", state="attached")


@pytest.mark.parametrize("view", ["overview", "movement", "outlook", "health"])
def test_every_control_is_reached_by_tab_in_page_order_with_a_ring_that_shows(
    page: Page, dashboard_url: str, view: str
) -> None:
    # The focus ring was Chromium's own, 1 px of near black (rgb(16, 16, 16)): 1.6:1 on the
    # navy bar, and cut off by the tab strip that scrolls on a phone; a chart's toolbar buttons
    # took the focus while the toolbar stayed transparent (it showed on hover only).
    _open(page, dashboard_url, VIEWS[view])
    stops = tab_through(page)
    assert [s["key"] for s in stops] == page.evaluate(REACHABLE_JS)
    assert {"en", "pt-BR", f"tab-{view}", "share"} <= {s["key"] for s in stops}
    assert_rings_show(stops)  # a chart's toolbar shows while a button of it has the focus


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_all_text_reads_at_aa_contrast_including_an_off_csv_link(
    page: Page, dashboard_url: str, lang: str
) -> None:
    # The off CSV link was the navy text at half opacity: 2.93:1 on white.
    for name, query in VIEWS.items():
        _open(page, dashboard_url, f"{query}&lang={lang}")
        assert page.evaluate(LOW_CONTRAST_JS, 4.5) == [], name
        if name == "outlook":  # no outlook stored: its CSV links are off, and read all the same
            assert page.get_attribute("#csv", "aria-disabled") == "true"
