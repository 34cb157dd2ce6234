"""The "Hoje · Today" panel in headless Chromium: it draws the day's bulletins with their times,
speaks both languages, keeps its series in the URL, and redraws when points of its series land
(and nothing else does: a bar of another series redraws nothing).

The bulletins are the replay's real PTAX windows of 2022-03-16 (fetched by the real BCB
client); the previous close is the real daily PTAX of 2022-03-15."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from devtools.dashboard.serving import serving
from playwright.sync_api import Browser, Page, Route, expect
from tests.browser.conftest import error_free_page

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.intraday_store import SqliteIntradayStore
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.intraday import IntradayPoint
from fuelpipe.domain.models import Record, Status
from fuelpipe.replay.server import ReplayServer
from fuelpipe.replay.snapshot_data import Snapshot

pytestmark = pytest.mark.browser
SP = ZoneInfo("America/Sao_Paulo")
DAY = date(2022, 3, 16)
PREVIOUS = date(2022, 3, 15)
NOW = datetime(2022, 3, 16, 15, 0, tzinfo=SP)
CHART = "#chart-today"
PETR4_BAR = IntradayPoint(  # made up: a value on that day's session
    "STOCK#PETR4", datetime(2022, 3, 16, 11, 0, tzinfo=SP), "15m", Decimal("33.1")
)
VERSION = "() => document.getElementById('live-status').dataset.version"


@pytest.fixture(scope="module")
def bulletins() -> list[IntradayPoint]:
    with ReplayServer(quiet=True) as replay:
        source = BcbPtaxSource(replay.source_urls()["bcb"])
        try:
            return source.fetch_bulletins(DEFAULT_CATALOG["CURRENCY#USD"], DAY)
        finally:
            source.close()


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SqliteStore, SqliteIntradayStore]]:
    """A store with the previous close and its intraday table (empty)."""
    db = tmp_path / "today.sqlite"
    store = SqliteStore(db)
    close = next(q for q in Snapshot().ptax["USD"] if q.day == PREVIOUS)
    store.put_records([Record("CURRENCY#USD", PREVIOUS, Decimal(close.sell), Status.OK)])
    points = SqliteIntradayStore(db)
    yield store, points
    points.close()
    store.close()


@pytest.fixture
def served(
    stores: tuple[SqliteStore, SqliteIntradayStore],
) -> Iterator[tuple[SqliteIntradayStore, str]]:
    """The intraday table and the dashboard over both stores."""
    store, points = stores
    app = create_app(store, DEFAULT_CATALOG, clock=ManualClock(NOW), intraday=points)
    with serving(app) as url:
        yield points, url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with error_free_page(browser) as page:
        yield page


def _drawn(page: Page, n: int) -> None:
    page.wait_for_selector(f'{CHART}[data-points="{n}"]', state="attached")


def _caption(page: Page) -> str:
    return page.locator("#today-panel .as-of").inner_text()


def test_the_panel_draws_the_days_points_and_redraws_when_more_land(
    served: tuple[SqliteIntradayStore, str], page: Page, bulletins: list[IntradayPoint]
) -> None:
    points, url = served
    points.put_points(bulletins[:2])  # the opening and the first intermediate bulletin
    page.goto(f"{url}/?view=overview&lang=en")
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    _drawn(page, 2)
    trace = page.evaluate(
        f"() => {{ const t = document.querySelector('{CHART}').data; return [t[0], t[1]]; }}"
    )
    assert [x[-5:-3] for x in trace[0]["x"]] == ["10", "11"]  # each point at its time
    assert trace[0]["y"] == [float(b.value) for b in bulletins[:2]]
    assert trace[0]["text"] == ["Opening bulletin", "Intermediate bulletin"]
    assert trace[1]["name"] == "Previous close (Mar 15, 2022)"
    assert _caption(page).startswith("as of Mar 16, 2022, 11:0")
    assert page.locator("#today-panel h2").inner_text() == "Today"
    page.evaluate("() => { window.__sameDocument = true; }")
    options = "#today-series option"
    page.evaluate(
        f"() => document.querySelectorAll('{options}').forEach((o) => o.classList.add('kept'))"
    )

    points.put_points(bulletins[2:])  # the other bulletins and the closing land
    _drawn(page, 5)  # through /api/live's polling: no reload
    assert page.evaluate("() => window.__sameDocument === true")
    assert "(Closing PTAX)" in _caption(page)
    texts = page.evaluate(f"() => document.querySelector('{CHART}').data[0].text")
    assert texts[-1] == "Closing PTAX"
    # Each redraw built the series list anew: a list the reader had open closed when a bulletin
    # landed. The same list is left as it is; another (the other language's names) is rebuilt.
    assert page.locator(options).count() > 1
    assert page.locator(f"{options}:not(.kept)").count() == 0
    page.click('.lang-btn[data-lang="pt-BR"]')
    expect(page.locator(f"{options}.kept")).to_have_count(0)


def test_points_that_land_before_the_live_panel_starts_are_drawn(
    served: tuple[SqliteIntradayStore, str], page: Page, bulletins: list[IntradayPoint]
) -> None:
    # live.js loads after the first chart and took its first poll's version as where the page
    # stood: points landing between the page's read and that poll (a loaded host's CI run) were
    # never drawn. Its first answer is now one app.js asked before it read the view.
    points, url = served
    points.put_points(bulletins[:2])
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)  # the live panel's script waits

    page.route("**/static/live.min.js*", hold)
    with page.expect_request("**/static/live.min.js*"):
        page.goto(f"{url}/?view=overview&lang=en")
    _drawn(page, 2)
    points.put_points(bulletins[2:])  # land before the live panel's first poll
    held[0].continue_()
    _drawn(page, 5)


def test_the_days_first_point_is_drawn_against_a_visible_previous_close(
    served: tuple[SqliteIntradayStore, str], page: Page, bulletins: list[IntradayPoint]
) -> None:
    # With the opening bulletin alone (10:00 to 11:00 each day) the previous close was a line
    # from the point's time to the same time: nothing drawn, the y axis stretched to it.
    points, url = served
    points.put_points(bulletins[:1])
    page.goto(f"{url}/?view=overview&lang=en")
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    _drawn(page, 1)
    point, close = page.evaluate(
        f"() => {{ const t = document.querySelector('{CHART}').data; return [t[0].x, t[1].x]; }}"
    )
    assert close[0] < point[0] < close[1], (point, close)


def test_language_switch_and_the_series_in_the_url(
    served: tuple[SqliteIntradayStore, str], page: Page, bulletins: list[IntradayPoint]
) -> None:
    points, url = served
    points.put_points(bulletins)
    page.goto(f"{url}/?view=overview&lang=en")
    _drawn(page, 5)
    page.click('.lang-btn[data-lang="pt-BR"]')
    page.wait_for_function(
        f"() => document.querySelector('{CHART}').data[0].text[0] === 'Boletim de abertura'"
    )
    assert page.locator("#today-panel h2").inner_text() == "Hoje"
    _drawn(page, 5)
    assert _caption(page).startswith("em 16 de mar. de 2022, às 13:")
    assert "lang=pt-BR" in page.url

    page.select_option("#today-series", "STOCK#PETR4")
    page.wait_for_function("() => location.search.includes('today=STOCK%23PETR4')")
    empty = page.locator("#today-panel .empty")
    empty.wait_for()
    # `watch` collects the day's points unless given --no-intraday: no option to name
    assert "`fuelpipe watch` guarda as barras" in empty.inner_text()
    assert "--intraday" not in empty.inner_text()
    assert "Nenhum ponto intradiário de Petrobras PN (PETR4)" in empty.inner_text()
    # a share's points are bars: not "os boletins PTAX"
    assert "as barras de 15 minutos" in empty.inner_text() and "PTAX" not in empty.inner_text()
    href = page.locator("#today-csv").get_attribute("href")
    assert href == "/api/intraday?series=STOCK%23PETR4&format=csv"

    page.reload()  # the URL alone brings the same panel back
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    page.locator("#today-panel .empty").wait_for()
    assert page.locator("#today-series").input_value() == "STOCK#PETR4"
    assert page.locator("#today-panel h2").inner_text() == "Hoje"
    page.select_option("#today-series", "CURRENCY#USD")
    _drawn(page, 5)
    assert "today=CURRENCY%23USD" in page.url


def test_a_stored_close_is_said_and_the_panel_follows_the_end_date(
    served: tuple[SqliteIntradayStore, str],
    stores: tuple[SqliteStore, SqliteIntradayStore],
    page: Page,
) -> None:
    """Under the dollar's card showing the day's close "published 4 hours ago", the panel said
    "No point of US dollar (PTAX) stored for the day yet", and kept today when an End date
    moved the cards to another day. It says the close is stored and its intraday points are
    not, for the End date's day when one is picked (the real closes of the 15th and 16th), and
    its heading names that day, where it said "Today" over the 15th."""
    store, _ = stores
    close = next(q for q in Snapshot().ptax["USD"] if q.day == DAY)
    store.put_records([Record("CURRENCY#USD", DAY, Decimal(close.sell), Status.OK)])
    _, url = served
    empty = page.locator("#today-panel .empty")
    heading = page.locator("#today-panel h2")
    for query, day, value, title in (
        ("", "Mar 16, 2022", close.sell, "Today"),
        (f"&date={PREVIOUS}", "Mar 15, 2022", None, "Intraday on Mar 15, 2022"),
    ):
        page.goto(f"{url}/?view=overview&lang=en{query}")
        page.wait_for_selector("body[data-ready=overview]", state="attached")
        assert heading.inner_text() == title
        text = empty.inner_text()
        assert text.startswith(f"The close of US dollar (PTAX) for {day}, R$"), text
        assert "its intraday points are not" in text and "No intraday point" not in text
        assert "stores the day's PTAX bulletins" in text
        if value:
            assert f"R${float(value):.4f}," in text.replace("\u00a0", "")
        card = page.locator('.card[data-key="CURRENCY#USD"]').inner_text()
        assert f"as of {day}" in card  # the card above reads the same day
    href = page.locator("#today-csv").get_attribute("href")
    assert href == f"/api/intraday?series=CURRENCY%23USD&end={PREVIOUS}&format=csv"
    page.click('.lang-btn[data-lang="pt-BR"]')
    expect(heading).to_have_text("Intradiário em 15 de mar. de 2022")
    page.goto(f"{url}/?view=overview&lang=pt-BR")  # no End date: today's day, "Hoje"
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    assert heading.inner_text() == "Hoje"


def test_a_past_day_without_points_is_not_said_to_be_waiting_for_them(
    stores: tuple[SqliteStore, SqliteIntradayStore],
    served: tuple[SqliteIntradayStore, str],
    page: Page,
) -> None:
    """An End date's day with no point said, as today does, "… stored for Jan 14, 2000 yet …;
    this panel redraws when they land": watch stores the day's points as they are published,
    so a past day's never land. Today's still waits for them; a past day's says what is kept.
    (The store holds the dollar's real close of the Friday before, so the day is not one
    before any daily value of it, which the panel says too.)"""
    _, url = served
    friday = next(q for q in Snapshot().ptax["USD"] if q.day == date(2022, 3, 11))
    stores[0].put_records([Record("CURRENCY#USD", friday.day, Decimal(friday.sell), Status.OK)])
    empty = page.locator("#today-panel .empty")
    page.goto(f"{url}/?view=overview&lang=en")
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    assert empty.inner_text() == (
        "No intraday point of US dollar (PTAX) stored for Mar 16, 2022 yet. `fuelpipe watch` "
        "stores the day's PTAX bulletins as they are published; this panel redraws when they land."
    )
    page.goto(f"{url}/?view=overview&lang=en&date=2022-03-14")  # no close stored that day
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    assert empty.inner_text() == (
        "No intraday point of US dollar (PTAX) stored for Mar 14, 2022. `fuelpipe watch` "
        "stores the day's PTAX bulletins as they are published (kept 35 days)."
    )
    page.click('.lang-btn[data-lang="pt-BR"]')
    expect(empty).to_have_text(
        "Nenhum ponto intradiário de Dólar (PTAX) armazenado para 14 de mar. de 2022. "
        "`fuelpipe watch` guarda os boletins PTAX do dia à medida que saem (por 35 dias)."
    )


@contextmanager
def _overview_at(
    stores: tuple[SqliteStore, SqliteIntradayStore], now: datetime, page: Page, query: str
) -> Iterator[str]:
    """The dashboard over ``stores`` with its clock at ``now``, ``page`` open on its overview
    with ``query`` and drawn; its address."""
    store, points = stores
    app = create_app(store, DEFAULT_CATALOG, clock=ManualClock(now), intraday=points)
    with serving(app) as url:
        page.goto(f"{url}/?view=overview&{query}")
        page.wait_for_selector("body[data-ready=overview]", state="attached")
        yield url


def test_on_a_saturday_the_heading_names_the_friday_the_panel_shows(
    stores: tuple[SqliteStore, SqliteIntradayStore], page: Page
) -> None:
    """Without an End date, on a Saturday the panel shows the dollar's last session, Friday,
    as a market screen does, and its heading said "Today" over it (it named the day only for
    an End date). It names the day shown whenever that is not the server's today."""
    saturday = datetime(2022, 3, 19, 15, 0, tzinfo=SP)
    heading = page.locator("#today-panel h2")
    with _overview_at(stores, saturday, page, "lang=en"):
        assert "Mar 18, 2022" in page.locator("#today-panel .empty").inner_text()
        assert heading.inner_text() == "Intraday on Mar 18, 2022"
        page.click('.lang-btn[data-lang="pt-BR"]')
        expect(heading).to_have_text("Intradiário em 18 de mar. de 2022")


def test_in_sao_paulos_evening_the_end_dates_limit_is_a_year_after_its_day(
    stores: tuple[SqliteStore, SqliteIntradayStore], page: Page
) -> None:
    """At 22:30 in São Paulo the server's clock (X-Fuelpipe-As-Of, UTC) is already the next
    day: the page took that day's first 10 characters, so from 21:00 to midnight the End date
    allowed a day more than São Paulo's today + 366 (the API now bounds it by that day too).
    The store holds no fuel week, so the clock alone sets the limit."""
    store, points = stores
    # In UTC, as the real clock (SystemClock) answers: 22:30 on the 16th in São Paulo.
    evening = datetime(2022, 3, 17, 1, 30, tzinfo=UTC)
    app = create_app(store, DEFAULT_CATALOG, clock=ManualClock(evening), intraday=points)
    last = (DAY + timedelta(days=366)).isoformat()  # 2023-03-17
    with serving(app) as url:
        page.goto(f"{url}/?view=overview&lang=en")
        page.wait_for_selector("body[data-ready=overview]", state="attached")
        page.wait_for_function("() => document.getElementById('date').max")
        assert page.get_attribute("#date", "max") == last
        assert page.locator("#today-panel h2").inner_text() == "Today"
        after = (DAY + timedelta(days=367)).isoformat()
        assert httpx.get(f"{url}/api/overview", params={"end": last}).status_code == 200
        refused = httpx.get(f"{url}/api/overview", params={"end": after})
        assert refused.status_code == 422
        assert refused.json()["detail"].endswith(f"more than a year after today ({DAY})")


def test_a_day_the_source_answered_with_no_point_is_said_so_in_both_languages(
    served: tuple[SqliteIntradayStore, str],
    stores: tuple[SqliteStore, SqliteIntradayStore],
    page: Page,
) -> None:
    """`demo --live`'s shares have no bar in the bundle: the panel said to run `fuelpipe watch
    --intraday`, though the loop had asked. A day the source answered with none says so, with
    its close when one is stored (the dollar's real close of the day), and when it was asked
    (São Paulo's wall clock, in the page language's format), in either language."""
    store, points = stores
    close = next(q for q in Snapshot().ptax["USD"] if q.day == DAY)
    store.put_records([Record("CURRENCY#USD", DAY, Decimal(close.sell), Status.OK)])
    # PETR4's real closes of the week before: a series the store receives
    store.put_records(
        [
            Record("STOCK#PETR4", b.day, Decimal(str(b.close)), Status.OK)
            for b in Snapshot().bars["PETR4.SA"]
            if DAY - timedelta(days=7) <= b.day < DAY
        ]
    )
    for key in ("CURRENCY#USD", "STOCK#PETR4"):
        points.note_none(key, DAY, NOW)
    _, url = served
    empty = page.locator("#today-panel .empty")
    page.goto(f"{url}/?view=overview&lang=en")
    empty.wait_for()
    text = empty.inner_text().replace("\u202f", " ")  # some ICU versions: U+202F before PM
    assert text.startswith("The close of US dollar (PTAX) for Mar 16, 2022, R$"), text
    assert text.endswith(
        "its intraday points are not: the source, asked for the day's PTAX bulletins at "
        "3/16/22, 3:00 PM (São Paulo time), answered with none."
    )
    page.select_option("#today-series", "STOCK#PETR4")
    page.wait_for_function("() => location.search.includes('today=STOCK%23PETR4')")
    expect(empty).to_have_text(
        "No intraday point of Petrobras PN (PETR4) stored for Mar 16, 2022: the source, asked "
        "for the day's 15-minute bars at 3/16/22, 3:00 PM (São Paulo time), answered with "
        "none."
    )
    page.click('.lang-btn[data-lang="pt-BR"]')
    expect(empty).to_have_text(
        "Nenhum ponto intradiário de Petrobras PN (PETR4) armazenado para 16 de mar. de 2022: a "
        "fonte, consultada sobre as barras de 15 minutos do dia em 16/03/2022, 15:00 (horário "
        "de Brasília), respondeu sem dados."
    )


def test_a_series_the_store_no_longer_receives_is_not_said_to_be_awaited(
    stores: tuple[SqliteStore, SqliteIntradayStore], page: Page
) -> None:
    """The demo's panel said "No intraday point of Petrobras ON (PETR3) stored for Jun 26, 2026
    yet …; this panel redraws when they land" for a series whose newest stored daily value is
    of 2022-03-14 (the bundle's last; the store no longer receives it). Three weeks later
    (Friday 2022-04-01) it says since when, in both languages."""
    store, _ = stores
    store.put_records(
        [
            Record("STOCK#PETR3", b.day, Decimal(str(b.close)), Status.OK)
            for b in Snapshot().bars["PETR3.SA"]
        ]
    )
    later = datetime(2022, 4, 1, 15, 0, tzinfo=SP)
    empty = page.locator("#today-panel .empty")
    with _overview_at(stores, later, page, "today=STOCK%23PETR3&lang=en"):
        expect(empty).to_have_text(
            "No intraday point of Petrobras ON (PETR3) stored for Apr 1, 2022, and no value of "
            "it since Mar 14, 2022: this store no longer receives it."
        )
        page.click('.lang-btn[data-lang="pt-BR"]')
        expect(empty).to_have_text(
            "Nenhum ponto intradiário de Petrobras ON (PETR3) armazenado para 1 de abr. de "
            "2022, e nenhum valor dele desde 14 de mar. de 2022: este banco não o recebe mais."
        )


def test_a_series_with_no_daily_value_stored_says_so_after_how_to_collect_its_points(
    stores: tuple[SqliteStore, SqliteIntradayStore], page: Page
) -> None:
    """A series the store holds no daily value of at all (PETR3 here) had no ``stale_since``,
    and the panel said only that its points were still to come, as for a series the store
    receives: it says too that no daily value of it is stored (so there is no previous close to
    compare with) and how they are stored, in both languages."""
    empty = page.locator("#today-panel .empty")
    with _overview_at(stores, NOW, page, "today=STOCK%23PETR3&lang=en"):
        expect(empty).to_have_text(
            "No intraday point of Petrobras ON (PETR3) stored for Mar 16, 2022 yet. `fuelpipe "
            "watch` stores the day's 15-minute bars as they are published; this panel redraws "
            "when they land. Nor is any daily value of it stored up to that day (`fuelpipe run` "
            "stores them)."
        )
        page.click('.lang-btn[data-lang="pt-BR"]')
        expect(empty).to_have_text(
            "Nenhum ponto intradiário de Petrobras ON (PETR3) armazenado para 16 de mar. de 2022 "
            "ainda. `fuelpipe watch` guarda as barras de 15 minutos do dia à medida que saem; "
            "este painel se redesenha quando chegam. Tampouco há valor diário dele armazenado "
            "até esse dia (`fuelpipe run` os guarda)."
        )


def test_without_an_intraday_store_the_panel_says_how_to_collect(
    tmp_path: Path, page: Page
) -> None:
    store = SqliteStore(tmp_path / "plain.sqlite")
    try:
        with serving(create_app(store, DEFAULT_CATALOG, clock=ManualClock(NOW))) as url:
            page.goto(f"{url}/?view=overview&lang=en")
            page.wait_for_selector("body[data-ready=overview]", state="attached")
            empty = page.locator("#today-panel .empty")
            empty.wait_for()
            assert "no intraday store" in empty.inner_text()
            assert "Run `fuelpipe watch` on this store" in empty.inner_text()
            assert "--intraday" not in empty.inner_text()
            assert page.locator(CHART).is_hidden()
    finally:
        store.close()


STARTS = """() => {
  window.__started = 0;  // render() clears data-ready as it starts, in the task that called it
  new MutationObserver(() => { window.__started += document.body.dataset.ready === '' ? 1 : 0; })
    .observe(document.body, {attributes: true, attributeFilter: ['data-ready']});
}"""


def _opened(page: Page, url: str, query: str) -> None:
    """The page open at ``query``, drawn and polled once, counting the redraws it starts."""
    page.goto(f"{url}/?{query}")
    page.wait_for_selector("body[data-ready]:not([data-ready=''])", state="attached")
    page.wait_for_function(VERSION)
    page.evaluate(STARTS)


def _redraws(page: Page, put: Callable[[], object]) -> int:
    """``put`` run and the page's next live version seen: the redraws started so far (the
    poll that saw it announced it in the same task, and the version is read in a later one)."""
    version = page.evaluate(VERSION)
    put()
    page.wait_for_function(f"(v) => ({VERSION})() !== v", arg=version)
    return int(page.evaluate("() => window.__started"))


def test_a_bar_of_a_series_the_view_does_not_show_redraws_nothing(
    served: tuple[SqliteIntradayStore, str], page: Page, bulletins: list[IntradayPoint]
) -> None:
    # Every intraday bar (one per series every 15 minutes) redrew the open view, whichever
    # series it was: the overview refetched its cards, its chart and its Today panel for a
    # PETR4 bar while the panel showed the dollar.
    points, url = served
    points.put_points(bulletins[:2])
    _opened(page, url, "view=overview&today=CURRENCY%23USD&lang=en")
    assert _redraws(page, lambda: points.put_points([PETR4_BAR])) == 0
    # A bulletin of the series shown redraws it.
    assert _redraws(page, lambda: points.put_points(bulletins[2:3])) == 1
    _drawn(page, 3)


def test_a_bulletin_does_not_redraw_a_view_without_the_today_panel(
    stores: tuple[SqliteStore, SqliteIntradayStore],
    served: tuple[SqliteIntradayStore, str],
    page: Page,
    bulletins: list[IntradayPoint],
) -> None:
    store, points = stores
    _opened(page, served[1], "view=movement&lang=en")
    assert _redraws(page, lambda: points.put_points(bulletins[:1])) == 0
    # A stored value is read by every view: the open one is redrawn.
    usd = Record("CURRENCY#USD", DAY, Decimal("5.2"), Status.OK)
    assert _redraws(page, lambda: store.put_records([usd])) == 1


# The Today panel's note on a link's series without intraday values, by language.
REFUSED_SERIES = {
    "en": "The link's series “FOO#BAR” has no intraday values: showing US dollar (PTAX).",
    "pt-BR": "A série “FOO#BAR” do link não tem valores intradiários: exibindo Dólar (PTAX).",
}


@pytest.mark.parametrize(("lang", "said"), list(REFUSED_SERIES.items()))
def test_a_series_without_intraday_values_in_the_url_falls_back_to_the_dollar_and_says_so(
    served: tuple[SqliteIntradayStore, str],
    page: Page,
    bulletins: list[IntradayPoint],
    lang: str,
    said: str,
) -> None:
    # An old or mistyped link's series was an error in English (inside a Portuguese sentence)
    # over an empty series list: nothing to pick, the CSV button still looking enabled.
    points, url = served
    points.put_points(bulletins)
    page.goto(f"{url}/?view=overview&today=FOO%23BAR&lang={lang}")
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    _drawn(page, 5)
    assert page.locator("#today-series").input_value() == "CURRENCY#USD"
    assert page.locator("#today-series option").count() > 1
    assert "today=CURRENCY%23USD" in page.url and "FOO" not in page.url
    note = page.locator("#today-note")
    assert note.inner_text() == said
    csv_link = page.locator("#today-csv")
    assert csv_link.get_attribute("href") == "/api/intraday?series=CURRENCY%23USD&format=csv"
    assert csv_link.get_attribute("aria-disabled") is None

    page.select_option("#today-series", "STOCK#PETR4")  # a series picked: the note has done
    page.locator("#today-panel .empty").wait_for()
    assert note.is_hidden()


@pytest.mark.parametrize("stored", [True, False], ids=["bulletins", "empty-day"])
def test_the_links_series_note_follows_a_language_switch(
    served: tuple[SqliteIntradayStore, str],
    page: Page,
    bulletins: list[IntradayPoint],
    stored: bool,
) -> None:
    # A switch to Portuguese took the note away (the dollar was the page's own series by then),
    # and on a day with no value yet the empty chart hid it with the chart's own notes.
    points, url = served
    if stored:
        points.put_points(bulletins)
    page.goto(f"{url}/?view=overview&today=FOO%23BAR&lang=en")
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    note = page.locator("#today-note")
    for lang in ("en", "pt-BR", "en"):
        if lang != "en" or page.locator("html[lang=pt-BR]").count():
            page.click(f".lang-btn[data-lang='{lang}']")
            page.wait_for_selector("body[data-ready=overview]", state="attached")
        expect(note).to_be_visible()
        expect(note).to_have_text(REFUSED_SERIES[lang])
    # a series picked: the note has done its work
    other = page.locator("#today-series option:not([value='CURRENCY#USD'])").first
    page.select_option("#today-series", other.get_attribute("value"))
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    expect(note).to_be_hidden()
