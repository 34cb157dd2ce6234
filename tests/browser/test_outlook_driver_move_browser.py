"""The Outlook page's "Brent in reais, last 7 days" is the move /api/series gives, to 0.1 %, on
the store of tests/dashboard/test_outlook_driver_move.py (the real history as the demo holds
it). The move was +37.8 % to Friday 2026-03-06 while FRED's Brent was read 7 days behind (the
page said +37.9 % while /api/outlook rounded the move to 4 decimals); read by its weekly
batches, it runs to Monday 2026-03-09: +22.5 %."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from devtools.dashboard.serving import serving
from playwright.sync_api import Browser
from tests.browser.conftest import error_free_page
from tests.dashboard.test_outlook_driver_move import NOW, brent_brl_change, demo_gasoline_store

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("lang", "title", "percent"), [("en", "Brent in reais", "+22.5%"), ("pt-BR", "Brent em reais", "+22,5%")])  # fmt: skip
def test_the_driver_card_is_brent_in_brls_change_over_the_7_days(
    browser: Browser, tmp_path, lang: str, title: str, percent: str
) -> None:
    store, _ = demo_gasoline_store(tmp_path / "store.sqlite")
    with serving(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as url:
        with httpx.Client(base_url=url) as client:
            change = brent_brl_change(client.get, date(2026, 3, 9))
        assert f"{change * 100:+.1f}%" == "+22.5%"
        with error_free_page(browser) as page:
            page.goto(f"{url}/?view=outlook&fuel=GASOLINE&area=BR&lang={lang}")
            page.wait_for_selector("body[data-ready='outlook']", state="attached")
            card = page.locator("#outlook-cards .card", has_text=title).first
            assert percent in card.inner_text()
    store.close()
