"""The live panel in headless Chromium: a value landing in the store updates the open page
without a reload, and every card and chart says how recent its data is."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from devtools.dashboard.serving import serving
from playwright.sync_api import Browser, Page
from tests.browser.conftest import error_free_page, new_page
from tests.support.sqlite_copy import sqlite_copy

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.store import RunLog
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.scrape import freshness_attrs

pytestmark = pytest.mark.browser
SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2022, 5, 7, 23, 59, tzinfo=SP)
KEYS = [
    "FUEL#GASOLINE#BR", "FUEL#ETHANOL#BR", "FUEL#DIESEL_S10#BR",
    "CURRENCY#USD", "COMMODITY#BRENT", "STOCK#PETR4",
]  # fmt: skip
GAS = "FUEL#GASOLINE#BR"
ETHANOL = "FUEL#ETHANOL#BR"
GAS_FRESH_IS = """(text) => document.querySelector('.card[data-key="FUEL#GASOLINE#BR"] .card-fresh')
  ?.innerText.replace(/[\\u202f\\u00a0]/g, ' ') === text"""  # Intl's spaces as plain ones


@pytest.fixture(scope="module")
def live_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real snapshot data (through the replay and the pipeline), stored once for the module;
    no test serves this file: each serves a copy of its own (``live_store``)."""
    db = tmp_path_factory.mktemp("live") / "live.sqlite"
    catalog = Catalog(replace(DEFAULT_CATALOG[k], default_start=date(2022, 1, 2)) for k in KEYS)
    with ReplayServer(quiet=True) as replay:
        urls = {f"source_{n}_url": u for n, u in replay.source_urls().items()}
        app = build_context(
            Settings(db=db, yahoo_min_interval_s=0, **urls), clock=ManualClock(NOW), catalog=catalog
        )
        try:
            run_cycle(app)
        finally:
            app.close()
    return db


@pytest.fixture
def live_store(live_db: Path, tmp_path: Path) -> Iterator[tuple[SqliteStore, str, ManualClock]]:
    """The module's data in a store of this test's own, behind a dashboard (and a clock) of its
    own: what a test lands, logs or reads is seen by no other, so any order passes."""
    store = SqliteStore(sqlite_copy(live_db, tmp_path / "live.sqlite"))
    clock = ManualClock(NOW)
    try:
        with serving(create_app(store, DEFAULT_CATALOG, clock=clock, cache_ttl_s=30)) as url:
            yield store, url, clock
    finally:
        store.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with error_free_page(browser) as page:
        yield page


def _gas_card(page: Page) -> str:
    return page.locator(f'.card[data-key="{GAS}"]').inner_text()


def test_a_value_landing_in_the_store_updates_the_open_page(live_store, page: Page) -> None:
    store, url, clock = live_store
    page.goto(f"{url}/?view=overview")
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    fresh = page.locator(f'.card[data-key="{GAS}"] .card-fresh')
    assert "as of the week of May 1 – 7, 2022" in _gas_card(page).replace("\u2009", " ")
    assert fresh.inner_text() == "published yesterday"  # May 6, 18:00; the clock May 7, 23:59
    page.evaluate("() => { window.__sameDocument = true; }")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    # A synthetic week lands (the next survey week; the value is made up for this test).
    day = date(2022, 5, 8)
    series = DEFAULT_CATALOG[GAS]
    store.put_records(
        [Record(GAS, day, Decimal("7.301"), Status.OK, attrs=freshness_attrs(series, day))]
    )
    page.wait_for_function(
        "() => document.querySelector('.card[data-key=\"FUEL#GASOLINE#BR\"]')"
        ".innerText.includes('week of May 8')"
    )
    text = _gas_card(page)
    assert "R$7.30" in text.replace("\u00a0", "")
    assert page.evaluate("() => window.__sameDocument === true")  # no reload
    assert navigations == []
    caption = page.locator("#view-overview .as-of").first
    assert caption.get_attribute("data-date") == "2022-05-08"

    # It landed ahead of the server's clock (due on May 13): the card said "published now".
    page.wait_for_function(GAS_FRESH_IS, arg="published 5/13/22, 6:00 PM (São Paulo time)")
    # Once the clock passes it, a 304 (nothing else landed) turns it into an age.
    version = page.locator("#live-status").get_attribute("data-version")
    clock.set(datetime(2022, 5, 14, 23, 59, tzinfo=SP))  # this test's own clock
    page.wait_for_function(GAS_FRESH_IS, arg="published yesterday")
    assert page.locator("#live-status").get_attribute("data-version") == version


# A listener added after app.js's: it runs once app.js has handled live.js's announcement of new
# data, and reads body[data-ready], which a redraw empties before it asks for anything.
READY_AFTER_THE_ANNOUNCEMENT = """() => {
  window.__readyAfter = undefined;
  document.addEventListener("fuelpipe:data-changed", () => {
    window.__readyAfter = document.body.dataset.ready;
  }, { once: true });
}"""


def test_a_run_that_stored_nothing_redraws_only_the_health_view(live_store, page: Page) -> None:
    """Every `watch` tick logs its recheck's run: the open view was redrawn after each one,
    every 15 minutes, though nothing it shows landed. Only the health view (the runs) is now."""
    store, url, clock = live_store
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/live" not in r.url else None)

    def run_logged() -> str:
        """Log a run; once live.js announced it, what the page was doing right after app.js
        handled the announcement: a redraw has begun by then (its data-ready is "")."""
        page.evaluate(READY_AFTER_THE_ANNOUNCEMENT)
        newest = max(r.finished_at for r in store.last_runs())
        # a run logged after every other, at the same minute
        at = newest + timedelta(microseconds=1)
        store.put_run(RunLog("retry_recheck", at, at))
        page.wait_for_function("() => window.__readyAfter !== undefined")
        return str(page.evaluate("() => window.__readyAfter"))

    page.goto(f"{url}/?view=parity")
    page.wait_for_selector("body[data-ready=parity]", state="attached")
    page.wait_for_selector("#live-status[data-version]", state="attached")
    asked.clear()
    assert run_logged() == "parity"  # handled, and not redrawn
    assert not [u for u in asked if "/api/parity" in u]

    page.locator("#tab-health").click()
    page.wait_for_selector("body[data-ready=health]", state="attached")
    asked.clear()
    assert run_logged() == ""  # redrawn: it asks for the runs again
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').filter("
        "e => e.name.includes('/api/health')).length >= 2"
    )


@pytest.mark.parametrize("view", ["overview", "health", "movement"])
def test_every_card_and_chart_shows_its_as_of(live_store, page: Page, view: str) -> None:
    _, url, _ = live_store
    page.goto(f"{url}/?view={view}&fuel=GASOLINE&area=BR&health=all")  # every chart drawn
    page.wait_for_selector(f"body[data-ready={view}]", state="attached")
    section = page.locator(f"#view-{view}")
    cards = section.locator(".card")
    for i in range(cards.count()):
        card = cards.nth(i)
        if card.locator(".card-value").inner_text() == "—":  # no value: no date to be as of
            assert card.locator(".card-detail").inner_text() == "No data stored yet"
            continue
        foot = card.locator(".card-foot").first.inner_text()
        assert foot.startswith("as of "), foot
    charts = section.locator(".chart:not([hidden])")
    assert charts.count() > 0
    for i in range(charts.count()):
        chart = charts.nth(i)
        if chart.get_attribute("data-rendered"):
            caption = chart.locator("xpath=..").locator(".as-of")
            assert caption.inner_text().startswith("as of "), view
    status = page.locator("#live-status")
    page.wait_for_function("() => document.getElementById('live-status').dataset.version")
    assert status.inner_text().startswith("Live")


def test_live_endpoint_answers_304_when_nothing_changed(live_store) -> None:
    import httpx

    _, url, _ = live_store
    first = httpx.get(f"{url}/api/live")
    assert first.status_code == 200 and first.headers["ETag"]
    again = httpx.get(f"{url}/api/live", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    body = first.json()
    gas = next(s for s in body["series"] if s["key"] == GAS)
    assert gas["published_at"]


def _duration(seconds: float | None) -> str:
    """A freshness as the English page writes it: minutes, hours past 2 h, days past 2 days."""
    if seconds is None:
        return "—"
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:,.1f} min"
    hours = minutes / 60
    return f"{hours:,.1f} hr" if hours < 48 else f"{hours / 24:,.1f} days"


def test_freshness_cards_write_long_delays_in_hours_or_days(live_store, page: Page) -> None:
    # "33,119.0 / 73,439.0 min": a delay of weeks was written in minutes.
    import httpx

    store, url, _ = live_store
    # The fixture's one run is every series' first (history: no freshness sample), so a week
    # lands in this test's own store, stored at this machine's time, years after it was out
    # (the synthetic week test_a_value_landing_in_the_store_updates_the_open_page lands in its).
    day = date(2022, 5, 8)
    attrs = freshness_attrs(DEFAULT_CATALOG[GAS], day)
    store.put_records([Record(GAS, day, Decimal("7.301"), Status.OK, attrs=attrs)])
    freshness = httpx.get(f"{url}/api/health").json()["freshness"]
    assert any((f["p95_s"] or 0) >= 2 * 86400 for f in freshness)  # the week is late
    page.goto(f"{url}/?view=health&lang=en")
    page.wait_for_selector("body[data-ready=health]", state="attached")
    for f in freshness:
        if not f["samples"]:  # the sources with none share a card that says so, not "— / —"
            card = page.locator("#health-cards .card", has_text="No value yet")
            assert f["source"] in card.locator("h3").inner_text().lower().split(" · ")[1], f
            continue
        card = page.locator("#health-cards .card", has_text=f"Freshness p50 / p95 · {f['source']}")
        value = card.locator(".card-value").inner_text().replace("\u00a0", " ")
        assert value == f"{_duration(f['p50_s'])} / {_duration(f['p95_s'])}", f


def test_a_quiet_poll_moves_the_checked_time_and_the_ages_on_in_sao_paulo_time(
    live_store, browser: Browser
) -> None:
    """Nothing lands for a day: every poll is a 304, yet the status line's "checked" time
    and each card's "published … ago" follow the server's clock, written in São Paulo time
    with its zone whatever the reader's browser zone (Tokyo here)."""
    _, url, clock = live_store
    page = new_page(browser, locale="en-US", timezone_id="Asia/Tokyo")
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        page.goto(f"{url}/?view=overview")
        page.wait_for_selector(f'.card[data-key="{GAS}"] .card-fresh')
        status = page.locator("#live-status")
        checked = _plain(status.inner_text())
        # the server's clock in São Paulo, labelled; not Tokyo's 12 hours later
        assert f"{clock.now():%-m/%-d/%y}, {clock.now():%-I:%M %p} (São Paulo time)" in checked, (
            checked
        )
        version = status.get_attribute("data-version")
        # ethanol's week of May 1, published on May 6 (the newest week stored)
        fresh = page.locator(f'.card[data-key="{ETHANOL}"] .card-fresh')
        assert fresh.inner_text() == "published yesterday"
        clock.advance(timedelta(hours=24))
        later = clock.now()
        page.wait_for_function(
            "(text) => document.getElementById('live-status').innerText"
            ".replace(/[\\u202f\\u00a0]/g, ' ').includes(text)",
            arg=f"{later:%-m/%-d/%y}, {later:%-I:%M %p} (São Paulo time)",
        )
        assert status.get_attribute("data-version") == version  # nothing landed: 304s
        assert fresh.inner_text() == "published 2 days ago"
    finally:
        page.context.close()
    assert problems == []


@pytest.mark.parametrize(
    ("lang", "said"), [("en", "published 2 days ago"), ("pt-BR", "publicado anteontem")]
)
def test_yesterday_is_the_calendar_day_before_in_sao_paulo(
    live_store, browser: Browser, lang: str, said: str
) -> None:
    """A week ANP published on Friday at 18:00, read on Sunday at 03:00 (33 hours on), was
    "published yesterday": a day was any 24 hours, and Intl says a day ago as "yesterday".
    Days are São Paulo's calendar days, so Saturday is yesterday and Friday two days ago,
    whatever the reader's browser zone (Tokyo's Sunday starts 12 hours earlier)."""
    _, url, clock = live_store
    clock.set(datetime(2022, 5, 8, 3, 0, tzinfo=SP))  # ethanol's week of May 1: May 6, 18:00
    with error_free_page(browser, timezone_id="Asia/Tokyo") as page:
        page.goto(f"{url}/?view=overview&lang={lang}")
        fresh = page.locator(f'.card[data-key="{ETHANOL}"] .card-fresh')
        fresh.wait_for()
        assert fresh.inner_text().replace("\u00a0", " ") == said
        clock.set(datetime(2022, 5, 7, 17, 0, tzinfo=SP))  # 23 hours on: still hours
        page.wait_for_function(
            f"""() => document.querySelector('.card[data-key="{ETHANOL}"] .card-fresh')"""
            ".innerText.includes('23')"
        )


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
@pytest.mark.parametrize(
    ("lang", "label"), [("en", "(São Paulo time)"), ("pt-BR", "(horário de Brasília)")]
)
def test_every_time_shown_is_sao_paulo_time_and_says_so(
    live_store, browser: Browser, zone: str, lang: str, label: str
) -> None:
    # The health view's "as of" was the browser's clock: São Paulo's 23:59 on May 7 showed as
    # "5/8/22, 2:59 AM" in a UTC browser, unlabelled (and the chart's as-of said May 8).
    _, url, _ = live_store
    with error_free_page(browser, timezone_id=zone) as page:
        page.goto(f"{url}/?view=health&health=all&lang={lang}")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        page.wait_for_function("() => document.getElementById('live-status').dataset.version")
        clock = "5/7/22, 11:59 PM" if lang == "en" else "07/05/2022, 23:59"
        foot = _plain(page.locator("#health-cards .card .card-foot").first.inner_text())
        assert foot.endswith(f"{clock} {label}"), foot
        status = _plain(page.locator("#live-status").inner_text())
        assert status.endswith(f"{clock} {label}"), status
        headers = page.locator("#runs th").all_text_contents()
        assert headers[1].endswith(label) and headers[2].endswith(label), headers
        started = [_plain(c) for c in page.locator("#runs tbody td:nth-child(2)").all_inner_texts()]
        assert started and set(started) == {clock}, started
        caption = page.locator("#chart-health").locator("xpath=..").locator(".as-of")
        assert caption.get_attribute("data-date") == "2022-05-07"


def _plain(text: str) -> str:
    """Text with Intl's narrow and no-break spaces as plain ones."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")
