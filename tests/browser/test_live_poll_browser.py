"""The live panel's poll in headless Chromium: it waits longer while the server does not answer,
says so in the page's language and recovers; a hidden page asks nothing and catches up at once
when shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from email.utils import formatdate
from pathlib import Path
from time import time
from zoneinfo import ZoneInfo

import pytest
from devtools.dashboard.serving import serving
from playwright.sync_api import Browser, Page, Route
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.browser.conftest import error_free_page

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status

pytestmark = pytest.mark.browser
SP = ZoneInfo("America/Sao_Paulo")
USD = "CURRENCY#USD"
HIDDEN = """(hidden) => {
  if (hidden) Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
  else delete document.visibilityState;  // the browser's own answer again: visible
  document.dispatchEvent(new Event('visibilitychange'));
}"""
STATUS_SAYS = """(text) => document.getElementById('live-status').textContent.startsWith(text)"""


@pytest.fixture
def opened(tmp_path: Path, browser: Browser) -> Iterator[tuple[Page, list[str], SqliteStore]]:
    """The overview open on PTAX stored up to Monday, served on Tuesday morning, the page's
    timers on Playwright's clock and its first poll answered; the page, the /api/live requests
    it makes from then on, and the store."""
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "p.sqlite", clock=clock)
    store.put_records([Record(USD, date(2022, 5, 2), Decimal("5"), Status.OK)])
    live: list[str] = []
    app = create_app(store, DEFAULT_CATALOG, clock=clock)
    with serving(app) as url, error_free_page(browser) as page:
        page.on("request", lambda r: live.append(r.url) if "/api/live" in r.url else 0)
        page.clock.install()
        page.goto(f"{url}/?view=overview&lang=en")
        page.wait_for_selector("body[data-ready=overview]", state="attached")
        page.wait_for_function("() => document.getElementById('live-status').dataset.version")
        live.clear()
        yield page, live, store
    store.close()


def _settled(page: Page) -> None:
    """Every request the page made so far has been reported: requests are reported in order,
    and this one is made now."""
    with page.expect_request("**/api/meta?settled"):
        page.evaluate("() => fetch('/api/meta?settled')")


def test_a_server_that_does_not_answer_is_asked_less_often_and_the_page_recovers(
    opened: tuple[Page, list[str], SqliteStore],
) -> None:
    # A poll that failed was retried every 3 s for as long as the server was down: twenty
    # requests a minute from every open tab against a server that is restarting.
    page, live, _ = opened

    def down(route: Route) -> None:
        route.fulfill(status=503, body="restarting")

    page.route("**/api/live", down)
    with page.expect_request("**/api/live"):
        page.clock.fast_forward(3_000)
    page.wait_for_function(STATUS_SAYS, arg="Live updates paused (server error 503)")
    live.clear()
    for _ in range(20):  # a minute, in steps each poll's answer can come in between
        page.clock.fast_forward(3_000)
        _settled(page)
    assert 2 <= len(live) <= 6, live  # 6, 12, 24, 48 s apart: not 20
    assert page.locator("#live-status.paused").count() == 1

    # Back up: the next poll says so.
    page.unroute("**/api/live", down)
    page.clock.fast_forward(60_000)
    page.wait_for_function(STATUS_SAYS, arg="Live · checked")
    assert page.locator("#live-status.paused").count() == 0
    live.clear()  # and it polls every 3 s again
    for _ in range(5):
        with page.expect_request("**/api/live"):
            page.clock.fast_forward(3_000)


@pytest.mark.parametrize(
    ("lang", "down", "failing"),
    [
        ("en", "Live updates paused (no connection to the server)",
         "Live updates paused (server error 503)"),
        ("pt-BR", "Atualização ao vivo pausada (sem conexão com o servidor)",
         "Atualização ao vivo pausada (erro do servidor 503)"),
    ],
)  # fmt: skip
def test_a_paused_poll_says_why_in_the_pages_language(
    opened: tuple[Page, list[str], SqliteStore], lang: str, down: str, failing: str
) -> None:
    # "Atualização ao vivo pausada (Failed to fetch)": the browser's English inside Portuguese.
    page, _, _ = opened
    page.click(f'.lang-btn[data-lang="{lang}"]')

    def unreachable(route: Route) -> None:
        route.abort("connectionrefused")

    def error(route: Route) -> None:
        route.fulfill(status=503, body="restarting")

    for answer, text, wait in ((unreachable, down, 3_000), (error, failing, 60_000)):
        page.route("**/api/live", answer)
        page.clock.fast_forward(wait)
        page.wait_for_function(STATUS_SAYS, arg=text)
        page.unroute("**/api/live", answer)
    assert page.locator("#live-status").get_attribute("title")  # the browser's own words


@pytest.mark.parametrize(
    ("lang", "live", "paused"),
    [
        ("en", "Live · checked ", "Live updates paused (server error 503) · last checked "),
        ("pt-BR", "Ao vivo · verificado ",
         "Atualização ao vivo pausada (erro do servidor 503) · última verificação "),
    ],
)  # fmt: skip
def test_a_paused_poll_says_when_the_page_last_heard_from_the_server(
    opened: tuple[Page, list[str], SqliteStore], lang: str, live: str, paused: str
) -> None:
    # Paused, the line said why and no more: the cards kept their ages as of the last answer,
    # a reader could not tell that was an hour ago. It keeps that answer's time.
    page, _, _ = opened
    page.click(f'.lang-btn[data-lang="{lang}"]')
    page.wait_for_function(STATUS_SAYS, arg=live)
    said = page.locator("#live-status").text_content() or ""
    page.route("**/api/live", lambda route: route.fulfill(status=503, body="restarting"))
    page.clock.fast_forward(3_000)
    page.wait_for_function(STATUS_SAYS, arg=paused)
    assert page.locator("#live-status").text_content() == paused + said.removeprefix(live)


def test_a_hidden_page_does_not_poll_and_catches_up_at_once_when_shown(
    opened: tuple[Page, list[str], SqliteStore],
) -> None:
    # A hidden tab polled every 3 s for nobody; shown again, it waited for its next poll.
    page, live, store = opened
    version = page.locator("#live-status").get_attribute("data-version")
    page.evaluate(HIDDEN, True)
    page.clock.fast_forward(3_000)  # the poll already due may still go
    _settled(page)
    live.clear()
    for _ in range(10):
        page.clock.fast_forward(3_000)
        _settled(page)
    assert live == []

    # A value lands while hidden: shown again, the page asks at once (its clock stands still).
    store.put_records([Record(USD, date(2022, 5, 3), Decimal("5.1"), Status.OK)])
    with page.expect_request("**/api/live"):
        page.evaluate(HIDDEN, False)
    page.wait_for_function(
        "(v) => document.getElementById('live-status').dataset.version !== v", arg=version
    )
    with page.expect_request("**/api/live"):  # and every 3 s again
        page.clock.fast_forward(3_000)


WATCH = """() => {
  window.__renders = 0;
  window.__veiled = false;
  document.addEventListener('fuelpipe:rendered', () => { window.__renders += 1; });
  const view = document.getElementById('view-overview');
  new MutationObserver(() => {
    window.__veiled ||= view.classList.contains('is-loading');
  }).observe(view, {attributes: true, attributeFilter: ['class']});
}"""


def test_new_data_redraws_the_open_view_once_in_place_without_the_loading_veil(
    opened: tuple[Page, list[str], SqliteStore],
) -> None:
    # Each new version dimmed the whole view under "Loading…" while it redrew: with intraday
    # bars landing every 15 minutes the open page flashed as if reloaded.
    page, _, store = opened
    url = page.url
    page.evaluate(WATCH)
    store.put_records([Record(USD, date(2022, 5, 3), Decimal("5.1"), Status.OK)])
    page.clock.fast_forward(3_000)
    page.wait_for_function("() => window.__renders === 1")
    for _ in range(3):  # quiet polls after it: no other redraw
        with page.expect_request("**/api/live"):
            page.clock.fast_forward(3_000)
    _settled(page)
    assert page.evaluate("() => [window.__renders, window.__veiled]") == [1, False]
    assert page.url == url


CHART_STATE = """() => { const d = document.getElementById('chart-overview');
  return [d.layout.xaxis.autorange, d.layout.xaxis.range]; }"""


def test_a_redraw_for_new_data_keeps_the_readers_zoom(
    opened: tuple[Page, list[str], SqliteStore],
) -> None:
    # Each new version redrew every chart from scratch: a zoom was lost every time something
    # landed (an intraday bar moves the version every 15 minutes).
    page, _, store = opened
    box = page.locator("#chart-overview .nsewdrag").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    before = page.evaluate(CHART_STATE)
    assert before[0] is False, before
    page.evaluate(WATCH)
    store.put_records([Record(USD, date(2022, 5, 3), Decimal("5.1"), Status.OK)])
    page.clock.fast_forward(3_000)
    page.wait_for_function("() => window.__renders === 1")
    assert page.evaluate(CHART_STATE) == before
    # A choice of the reader's (a new address) is a new chart: drawn whole again.
    other = page.evaluate(
        "() => Array.from(document.getElementById('window').options).map((o) => o.value)"
        ".find((v) => v !== document.getElementById('window').value)"
    )
    page.select_option("#window", other)
    page.wait_for_function("() => window.__renders === 2")
    assert page.evaluate(CHART_STATE)[0] is True


def test_a_page_whose_first_meta_failed_still_polls_and_says_so(
    tmp_path: Path, browser: Browser
) -> None:
    """live.js loads after the first chart; a page whose first /api/meta failed draws no chart
    and never loaded it: its status line stayed empty, saying nothing of whether the server
    answers. It loads then too, and polls."""
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "p.sqlite", clock=clock)
    store.put_records([Record(USD, date(2022, 5, 2), Decimal("5"), Status.OK)])
    app = create_app(store, DEFAULT_CATALOG, clock=clock)
    with serving(app) as url, error_free_page(browser) as page:
        page.route("**/api/meta", lambda route: route.fulfill(status=503, body="restarting"))
        page.goto(f"{url}/?view=overview&lang=en")
        page.wait_for_selector("#view-overview .view-error")
        page.wait_for_function(STATUS_SAYS, arg="Live · checked")
    store.close()


class Gate:
    """The dashboard behind a gate that answers /api/live itself while ``status`` is set, as an
    older server without it (404) or a proxy throttling it (429) would; ``retry_after`` is its
    Retry-After (``"date"``: an HTTP date two minutes after the answer)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.status: int | None = None
        self.retry_after: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.status is None or scope["type"] != "http" or scope["path"] != "/api/live":
            await self.app(scope, receive, send)
            return
        headers = {}
        if self.retry_after == "date":
            headers["Retry-After"] = formatdate(time() + 120, usegmt=True)
        elif self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        await PlainTextResponse("no", self.status, headers)(scope, receive, send)


@pytest.fixture
def gated(tmp_path: Path, browser: Browser) -> Iterator[tuple[Page, list[str], Gate]]:
    """As ``opened``, the server behind a ``Gate``: the page, its /api/live requests from its
    first answer on, and the gate."""
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "p.sqlite", clock=clock)
    store.put_records([Record(USD, date(2022, 5, 2), Decimal("5"), Status.OK)])
    live: list[str] = []
    gate = Gate(create_app(store, DEFAULT_CATALOG, clock=clock))
    with serving(gate) as url, error_free_page(browser) as page:
        page.on("request", lambda r: live.append(r.url) if "/api/live" in r.url else 0)
        page.clock.install()
        page.goto(f"{url}/?view=overview&lang=en")
        page.wait_for_function("() => document.getElementById('live-status').dataset.version")
        live.clear()
        yield page, live, gate
    store.close()


REFUSALS = {
    "en": [
        (404, "Live updates paused (not found on this server, 404)"),
        (429, "Live updates paused (too many requests to the server, 429)"),
        (400, "Live updates paused (request refused by the server, 400)"),
        (503, "Live updates paused (server error 503)"),
    ],
    "pt-BR": [
        (404, "Atualização ao vivo pausada (não encontrada neste servidor, 404)"),
        (429, "Atualização ao vivo pausada (muitas requisições ao servidor, 429)"),
        (403, "Atualização ao vivo pausada (requisição recusada pelo servidor, 403)"),
        (500, "Atualização ao vivo pausada (erro do servidor 500)"),
    ],
}


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_a_refused_poll_is_not_called_a_server_error(
    gated: tuple[Page, list[str], Gate], lang: str
) -> None:
    # Every failed poll said "server error N": a 404 from a server without /api/live, a 429
    # from a proxy throttling it, a 400, are the request refused, not the server failing.
    page, _, gate = gated
    page.click(f'.lang-btn[data-lang="{lang}"]')
    for status, text in REFUSALS[lang]:
        gate.status = status
        page.clock.fast_forward(60_000)  # past any wait the failures so far set
        page.wait_for_function(STATUS_SAYS, arg=text)
    gate.status = None
    page.clock.fast_forward(60_000)
    page.wait_for_function(STATUS_SAYS, arg="Live · " if lang == "en" else "Ao vivo · ")


@pytest.mark.parametrize("retry_after", ["120", "date"])
def test_a_retry_after_is_waited_out_even_when_the_page_is_shown_again(
    gated: tuple[Page, list[str], Gate], retry_after: str
) -> None:
    # A 429's Retry-After was ignored: the page asked again 6 s later, and at once when shown.
    page, live, gate = gated
    gate.status, gate.retry_after = 429, retry_after
    with page.expect_request("**/api/live"):
        page.clock.fast_forward(3_000)
    page.wait_for_selector("#live-status.paused")
    # Paused from here: install()'s clock also runs on with the host's, and a loaded host's
    # 20 s across the steps below would let the two minutes pass before the test looked.
    page.clock.pause_at(page.evaluate("() => Date.now() / 1000") + 1)
    live.clear()
    for _ in range(10):  # 100 s of the two minutes asked (an HTTP date: to the second)
        page.clock.fast_forward(10_000)
        _settled(page)
    page.evaluate(HIDDEN, True)
    page.evaluate(HIDDEN, False)  # shown again within them: still not asked
    _settled(page)
    assert live == []
    gate.status = None
    with page.expect_request("**/api/live"):  # asked once they end
        page.clock.fast_forward(30_000)
    page.wait_for_function(STATUS_SAYS, arg="Live · checked")


def test_a_paused_status_stays_paused_through_a_redraw_in_the_new_language(
    gated: tuple[Page, list[str], Gate],
) -> None:
    # Each drawn view repainted the status line as "Live · checked …": a reader switching
    # language (or view) while polls failed was told the page was live.
    page, _, gate = gated
    gate.status = 503
    page.clock.fast_forward(3_000)
    page.wait_for_function(STATUS_SAYS, arg="Live updates paused (server error 503)")
    page.evaluate(WATCH)
    page.click('.lang-btn[data-lang="pt-BR"]')
    page.wait_for_function("() => window.__renders === 1")
    assert (page.locator("#live-status").text_content() or "").startswith(
        "Atualização ao vivo pausada (erro do servidor 503) · última verificação "
    )
    assert page.locator("#live-status.paused").count() == 1
