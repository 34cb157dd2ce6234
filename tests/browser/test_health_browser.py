"""The health view in headless Chromium: its problems (late, failing sources) follow the clock
while it is open, without a new data version and without refetching any other view."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
from devtools.dashboard.serving import serving
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import error_free_page
from tests.support.alert_sinks import RefusingWebhook, queue_alerts

from fuelpipe.adapters.alerts import SqliteAlertReader, SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.precomputed import refresh_views
from fuelpipe.domain.alerts import ActiveAlert, Condition
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.lacking import Lacking, lacking_name, note_text
from fuelpipe.domain.models import AttrValue, Record, Split, Status
from fuelpipe.ports.store import RunLog
from fuelpipe.stages._report import Counters
from fuelpipe.stages.data_version import mark_changed
from fuelpipe.stages.orchestrate import OrchestrateReport
from fuelpipe.stages.recheck import RecheckReport
from fuelpipe.stages.revise import ReviseReport
from fuelpipe.stages.scrape import ScrapeReport, owed_text, split_owed_name, split_owed_since_name

pytestmark = pytest.mark.browser
SP = ZoneInfo("America/Sao_Paulo")
USD = DEFAULT_CATALOG["CURRENCY#USD"]
MONDAY, WEDNESDAY = date(2022, 5, 2), date(2022, 5, 4)
LATE_BCB = """() => Array.from(document.querySelectorAll('#health-cards .card h3'))
  .some(h => h.textContent === 'Late · bcb')"""
CARD = "#health-cards .card:has(h3:text-is('{title}'))"  # a card by its title


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


def _open_health(page: Page, url: str) -> list[str]:
    """The health view open, the page's timers on Playwright's clock; the paths of the API
    requests the page makes, as it makes them."""
    asked: list[str] = []
    page.on(
        "request",
        lambda r: asked.append(urlparse(r.url).path) if "/api/" in r.url else None,
    )
    page.clock.install()  # the page's timers move when the test says so
    page.goto(f"{url}/?view=health&lang=en")
    page.wait_for_selector("body[data-ready=health]", state="attached")
    return asked


def test_the_open_health_view_refreshes_its_problems_every_minute_and_only_them(
    served: tuple[str, ManualClock], page: Page
) -> None:
    # The view redrew only when the data version moved, but a source turns late with time
    # alone: an open Health tab kept saying "0" problems while PTAX went late.
    url, clock = served
    asked = _open_health(page, url)
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


RED = "rgb(184, 50, 42)"  # app.css --up: a rise in price, and a problem


def test_a_late_sources_card_names_its_series_in_the_pages_language_in_red(
    served: tuple[str, ManualClock], page: Page
) -> None:
    # The card's headline was the raw keys ("CURRENCY#USD") while the chart below names each
    # series, and its "since" line was green, a falling price's colour, for a source late.
    url, clock = served
    clock.set(USD.schedule.stale_at(WEDNESDAY) + timedelta(minutes=1))
    page.goto(f"{url}/?view=health&lang=en")
    page.wait_for_function(LATE_BCB)
    card = page.locator(CARD.format(title="Late · bcb"))
    expect(card.locator(".card-value")).to_have_text("US dollar (PTAX)")
    detail = card.locator(".card-detail")
    expect(detail).to_have_text(re.compile(r"^since "))
    expect(detail).to_have_css("color", RED)
    page.click(".lang-btn[data-lang='pt-BR']")
    card = page.locator(CARD.format(title="Atrasada · bcb"))
    expect(card.locator(".card-value")).to_have_text("Dólar (PTAX)")
    expect(card.locator(".card-detail")).to_have_css("color", RED)


HIDDEN = """(hidden) => {
  if (hidden) Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
  else delete document.visibilityState;  // the browser's own answer again: visible
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_the_health_refresh_pauses_while_the_page_is_hidden_and_catches_up_when_shown(
    served: tuple[str, ManualClock], page: Page
) -> None:
    # A hidden tab has no reader: its minute refresh would only load the server.
    url, _ = served
    asked = _open_health(page, url)
    with page.expect_request("**/api/health"):
        page.clock.fast_forward("01:00")

    page.evaluate(HIDDEN, True)
    asked.clear()
    page.clock.fast_forward("05:00")
    # Requests are reported in order (live.js, hidden, no longer polls to show it): any
    # request the jump made came before this one, made now.
    with page.expect_request("**/api/meta?settled"):
        page.evaluate("() => fetch('/api/meta?settled')")
    assert "/api/health" not in asked

    with page.expect_request("**/api/health"):  # at once: the clock does not move
        page.evaluate(HIDDEN, False)
    page.wait_for_selector("body[data-ready=health]", state="attached")
    with page.expect_request("**/api/health"):  # and every minute again
        page.clock.fast_forward("01:00")


EUR = DEFAULT_CATALOG["CURRENCY#EUR"]
HEALTH_CHART = """() => { const d = document.getElementById('chart-health');
  return d.data ? {keys: d.data[0].y, title: d.layout.title.text} : null; }"""


@contextmanager
def _health_page(
    tmp_path: Path,
    page: Page,
    records: list[Record],
    runs: tuple[RunLog, ...] = (),
    query: str = "view=health&lang=en",
) -> Iterator[None]:
    """The health view open on a store holding ``records`` and ``runs``, the server's clock on
    Tuesday."""
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "c.sqlite", clock=clock)
    store.put_records(records)
    for run in runs:
        store.put_run(run)
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        page.goto(f"{url}/?{query}")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        yield
    store.close()


def test_the_completeness_chart_shows_the_series_below_100_percent_and_all_on_request(
    tmp_path: Path, page: Page
) -> None:
    # Every series was a bar: 287 full green bars on the demo hid the few short ones.
    complete = Record(USD.key, MONDAY, Decimal("5"), Status.OK)
    short = [  # Friday 2022-04-29, a banking day, is not stored: 2 of 3
        Record(EUR.key, day, Decimal("5.5"), Status.OK) for day in (date(2022, 4, 28), MONDAY)
    ]
    with _health_page(tmp_path, page, [complete, *short]):
        chart = page.wait_for_function(HEALTH_CHART).json_value()
        assert chart["keys"] == [EUR.key]
        assert chart["title"].startswith("Series below 100% complete: 1 (the other 1 are complete)")
        toggle = page.locator("#health-all")
        assert toggle.text_content() == "Show all 2 series"
        toggle.click()
        page.wait_for_function(f"() => ({HEALTH_CHART})()?.keys.length === 2")
        assert page.evaluate("location.search").count("health=all") == 1
        assert toggle.text_content() == "Show only those below 100%"
        assert toggle.get_attribute("aria-pressed") == "true"
        page.reload()  # the choice is in the URL
        page.wait_for_selector("body[data-ready=health]", state="attached")
        assert page.wait_for_function(HEALTH_CHART).json_value()["keys"] == [EUR.key, USD.key]
        page.locator("#health-all").click()
        page.wait_for_function(f"() => ({HEALTH_CHART})()?.keys.length === 1")
        assert "health=" not in page.evaluate("location.search")


def test_a_completeness_bar_hovers_its_series_key_beside_its_name(
    tmp_path: Path, page: Page
) -> None:
    """The hover wrote the bar's name twice, "Petrobras PN (PETR4) (Petrobras PN (PETR4))":
    ``%{y}`` on an axis whose ticks name the keys is the tick's text, so the key was lost."""
    petr4 = DEFAULT_CATALOG["STOCK#PETR4"]
    short = [  # Friday 2022-04-29, a trading day, is not stored: 2 of 3
        Record(petr4.key, day, Decimal("30"), Status.OK) for day in (date(2022, 4, 28), MONDAY)
    ]
    with _health_page(tmp_path, page, short, query="view=health&lang=pt-BR"):
        assert page.wait_for_function(HEALTH_CHART).json_value()["keys"] == [petr4.key]
        box = page.locator("#chart-health .nsewdrag").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
        hover = page.locator("#chart-health .hoverlayer .hovertext")
        expect(hover).to_have_count(1)
        assert page.locator("#chart-health .ytick text").text_content() == "Petrobras PN (PETR4)"
        text = hover.text_content() or ""
        assert text.startswith("Petrobras PN (PETR4) (STOCK#PETR4): 66,7%"), text
        assert text.endswith("2 / 3"), text


@pytest.mark.parametrize(
    ("lang", "complete", "show"),
    [
        ("en", "The one series is complete: every expected date is stored.", "Show the one series"),
        (
            "pt-BR",
            "A única série está completa: toda data esperada está armazenada.",
            "Mostrar a única série",
        ),
    ],
)
def test_a_complete_store_says_so_instead_of_drawing_full_bars(
    tmp_path: Path, page: Page, lang: str, complete: str, show: str
) -> None:
    # One series stored: it read "All 1 series are complete" and "Show all 1 series" (in
    # Portuguese "As 1 séries estão completas").
    records = [Record(USD.key, MONDAY, Decimal("5"), Status.OK)]
    with _health_page(tmp_path, page, records, query=f"view=health&lang={lang}"):
        empty = page.locator("#chart-health + .empty")
        assert empty.text_content() == complete
        assert page.locator("#health-all").text_content() == show
        page.locator("#health-all").click()
        assert page.wait_for_function(HEALTH_CHART).json_value()["keys"] == [USD.key]
        assert empty.is_hidden()


def test_a_series_with_nothing_expected_yet_is_neither_complete_nor_a_red_zero(
    tmp_path: Path, page: Page
) -> None:
    """Its completeness is null: "show all" drew it as a red 0% bar, and the title counted it
    among "the other … are complete"."""
    petr4 = DEFAULT_CATALOG["STOCK#PETR4"]
    records = [
        Record(USD.key, MONDAY, Decimal("5"), Status.OK),
        *(Record(EUR.key, d, Decimal("5.5"), Status.OK) for d in (date(2022, 4, 28), MONDAY)),
        Record(petr4.key, date(2022, 5, 10), Decimal("30"), Status.OK),  # after the clock
    ]
    with _health_page(tmp_path, page, records):
        chart = page.wait_for_function(HEALTH_CHART).json_value()
        assert chart["keys"] == [EUR.key]
        assert chart["title"].startswith("Series below 100% complete: 1 (the other 1 are complete)")
        page.locator("#health-all").click()
        page.wait_for_function(f"() => ({HEALTH_CHART})()?.keys.length === 3")
        bars = page.evaluate(
            """() => { const t = document.getElementById('chart-health').data[0];
            return t.y.map((key, i) => [key, t.marker.color[i], t.customdata[i][2]]); }"""
        )
        colour = {key: (c, text) for key, c, text in bars}
        assert colour[petr4.key] == ("#9aa8b5", "nothing expected yet")
        assert colour[USD.key][0] == "#2e8540" and colour[USD.key][1] == "100.0%"


def test_a_series_owing_a_split_reread_has_its_own_card_in_both_languages(
    tmp_path: Path, page: Page
) -> None:
    # The health view showed no sign of an owed split: a PETR4 chart could step at the split,
    # its earlier closes on the old basis, with only `fuelpipe status` saying why.
    petr4 = DEFAULT_CATALOG["STOCK#PETR4"]
    split = Split(petr4.key, date(2022, 4, 25), Decimal(2), Decimal(1))
    owed_at = datetime(2022, 4, 26, 19, 5, tzinfo=SP)
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "s.sqlite", clock=clock)
    store.put_records([Record(k, MONDAY, Decimal("5"), Status.OK) for k in (USD.key, petr4.key)])
    store.put_meta(split_owed_since_name(petr4.key), owed_at.isoformat())  # as the scraper does
    store.put_meta(split_owed_name(petr4.key), owed_text([split]))
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        page.goto(f"{url}/?view=health&lang=en")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        card = page.locator(CARD.format(title="Split: history not re-based · Petrobras PN (PETR4)"))
        assert card.count() == 1
        assert card.locator(".card-value").text_content() == "2:1 · Apr 25, 2022"
        detail = card.locator(".card-detail")
        assert detail.get_attribute("class") == "card-detail bad"  # red, not a fall's green
        assert detail.text_content() == (
            "since 4/26/22, 7:05 PM (São Paulo time) · closes before Apr 25, 2022 may be on the "
            "pre-split basis until the re-read succeeds"
        )
        assert page.locator("#health-cards h3:text-matches('^Split')").count() == 1  # not USD

        page.click(".lang-btn[data-lang='pt-BR']")
        pt = CARD.format(title="Desdobramento: histórico não reajustado · Petrobras PN (PETR4)")
        page.wait_for_selector(pt)
        detail = page.locator(pt).locator(".card-detail").text_content() or ""
        assert detail.startswith("desde 26/04/2022")
        assert detail.endswith(
            "fechamentos antes de 25 de abr. de 2022 podem estar na base anterior ao "
            "desdobramento até a releitura dar certo"
        )

        # Re-read at last: the entry is emptied, a new data version written, and the card
        # goes with the next read of the view.
        store.put_meta(split_owed_name(petr4.key), "")
        mark_changed(store, clock.now(), "re-read")
        page.click(".tabs [data-view=parity]")
        page.wait_for_selector("body[data-ready=parity]", state="attached")
        page.click(".tabs [data-view=health]")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        page.wait_for_function(
            "() => !Array.from(document.querySelectorAll('#health-cards h3'))"
            ".some(h => h.textContent.startsWith('Desdobramento'))"
        )
    store.close()


def test_health_in_portuguese_names_series_stages_and_counts_in_portuguese(
    tmp_path: Path, page: Page
) -> None:
    """The chart's bars were raw keys and the last runs English stage and counter names."""
    monthly = "FUEL_MONTHLY#CNG#DF"
    short = [  # 2 of the 3 months up to March
        Record(monthly, date(2022, 1, 1), Decimal("4.5"), Status.OK),
        Record(monthly, date(2022, 3, 1), Decimal("4.6"), Status.OK),
    ]
    started = datetime(2022, 5, 3, 8, 0, tzinfo=SP)
    run = RunLog("scraper", started, started + timedelta(minutes=1), {"records_written": 1234})
    with _health_page(tmp_path, page, short, (run,), "view=health&lang=pt-BR"):
        assert page.wait_for_function(HEALTH_CHART).json_value()["keys"] == [monthly]
        ticks = page.locator("#chart-health .ytick text").all_text_contents()
        assert ticks == ["GNV — Distrito Federal (mensal)"]
        cells = page.locator("#runs tbody tr td").all_text_contents()
        assert cells[0] == "Coleta"
        assert page.locator("#runs tbody td").first.get_attribute("title") == "scraper"
        assert cells[3] == "valores gravados 1.234"


# Every stage that writes a run log, with the report whose counters it writes.
RUN_REPORTS: dict[str, type[Counters]] = {
    "scraper": ScrapeReport,
    "data_clustering": OrchestrateReport,
    "retry_recheck": RecheckReport,
    "revise": ReviseReport,
}


def test_every_counter_a_run_logs_has_its_portuguese_name(tmp_path: Path, page: Page) -> None:
    """The demo's scraper and recheck runs read "left unread 0", "rest held 0", "set aside
    kept 0"… in the Portuguese page: counters added to the stages without a text here."""
    started = datetime(2022, 5, 3, 8, 0, tzinfo=SP)
    runs = tuple(
        RunLog(stage, started, started + timedelta(minutes=1), report().as_dict())
        for stage, report in RUN_REPORTS.items()
    )
    with _health_page(tmp_path, page, [], runs, "view=health&lang=pt-BR"):
        shown = page.locator("#runs tbody .count").all_text_contents()
        names = {f.name for report in RUN_REPORTS.values() for f in fields(report)}
        assert len(shown) == sum(len(fields(report)) for report in RUN_REPORTS.values())
        english = sorted(n for n in names if f"{n.replace('_', ' ')} 0" in shown)
        assert english == []


# The last runs' values (each time cell and each counter): how many lines each takes, the
# width the page scrolls to and how far the table overflows its box.
RUNS_LAYOUT = """() => {
  const lines = (el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top))).size;
  };
  const table = document.getElementById('runs');
  const values = Array.from(table.querySelectorAll('tbody td.when, tbody .count'));
  return {
    page: document.documentElement.scrollWidth,
    overflow: table.parentElement.scrollWidth - table.parentElement.clientWidth,
    values: values.map((el) => [el.textContent, lines(el)]),
  };
}"""


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_the_last_runs_read_whole_on_a_phone(tmp_path: Path, page: Page, lang: str) -> None:
    # At 390 px the four columns were squashed to ~85 px each: "6/30/26, 8:00 AM" took two
    # lines, a counter one word a line ("records / written / 1,234") and the headers four.
    started = datetime(2022, 5, 3, 8, 0, tzinfo=SP)
    audit = {"keys_audited": 1234, "gaps_found": 12, "records_written": 5678,
             "source_requests": 44, "split_rereads_failed": 1}  # fmt: skip
    runs = (
        RunLog("data_clustering", started, started + timedelta(minutes=3), audit),
        RunLog("scraper", started, started + timedelta(minutes=1), {"records_written": 1234}),
    )
    page.set_viewport_size({"width": 390, "height": 800})
    with _health_page(tmp_path, page, [], runs, f"view=health&lang={lang}"):
        got = page.evaluate(RUNS_LAYOUT)
        assert got["page"] == 390  # the page does not scroll sideways
        assert got["overflow"] == 0  # nor does the table in its box: nothing to scroll to
        assert len(got["values"]) == 2 * 2 + len(audit) + 1  # two times a run, every counter
        assert [text for text, n in got["values"] if n != 1] == []  # each value on one line
        # Each value still says what it is: its column's name above it.
        label = page.evaluate(
            "() => getComputedStyle(document.querySelector('#runs td.when'), '::before').content"
        )
        assert label == '"{}"'.format("Started (São Paulo time)" if lang == "en" else
                                      "Início (horário de Brasília)")  # fmt: skip


FAILING_CARD = "#health-cards .card:has(h3:text-is('{title}'))"


def test_a_failing_source_card_shows_since_the_reason_the_last_attempt_and_the_next(
    tmp_path: Path, page: Page
) -> None:
    # docs/DASHBOARD.md promises the reason, the last attempt and the next; the card showed only
    # "since" (which was the last retry's claim) and the reason. "since" is when the date first
    # failed (9:00), not its publication (Friday 13:10) nor the retry's claim (9:30).
    friday = date(2022, 4, 29)
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "f.sqlite", clock=clock)
    store.put_records(
        [Record(USD.key, d, Decimal("5"), Status.OK) for d in (date(2022, 4, 28), MONDAY)]
    )
    nxt = datetime(2022, 5, 3, 10, 0, tzinfo=SP)
    store.put_pending(Record(USD.key, friday, None, Status.PENDING, 1, nxt, "HTTP 503 from bcb"))
    clock.advance(timedelta(minutes=30))
    assert store.claim_retry(USD.key, friday, 1, 2, nxt)
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        page.goto(f"{url}/?view=health&lang=en")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        card = page.locator(FAILING_CARD.format(title="Failing · bcb"))
        assert card.locator(".card-detail").text_content() == (
            "since 5/3/22, 9:00 AM (São Paulo time) · HTTP 503 from bcb · last attempt 5/3/22, "
            "9:30 AM (São Paulo time) · next attempt 5/3/22, 10:00 AM (São Paulo time)"
        )
        page.click(".lang-btn[data-lang='pt-BR']")
        pt = FAILING_CARD.format(title="Com falha · bcb")
        page.wait_for_selector(pt)
        assert page.locator(pt).locator(".card-detail").text_content() == (
            "desde 03/05/2022, 09:00 (horário de Brasília) · HTTP 503 from bcb · última tentativa "
            "03/05/2022, 09:30 (horário de Brasília) · próxima tentativa 03/05/2022, 10:00 "
            "(horário de Brasília)"
        )
    store.close()


def test_the_health_view_says_when_its_script_fails_to_load_and_loads_it_on_the_next_visit(
    tmp_path: Path, page: Page
) -> None:
    # health.js left app.min.js (the first chart's JavaScript budget): the page loads it when
    # the tab opens. A failed load is said in the tab, in the page's language, not a blank view.
    page.route("**/static/health.min.js*", lambda route: route.abort())
    with _health_page(tmp_path, page, [], query="view=health&lang=pt-BR"):
        error = page.locator("#view-health .view-error")
        assert (
            error.text_content()
            == "Não foi possível carregar esta visão: health.min.js did not load"
        )
        page.unroute("**/static/health.min.js*")
        page.click(".tabs [data-view=parity]")
        page.wait_for_selector("body[data-ready=parity]", state="attached")
        page.click(".tabs [data-view=health]")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        assert page.locator("#view-health .view-error").count() == 0
        first = page.locator("#health-cards .card h3").first
        assert first.text_content() == "Fontes atrasadas ou com falha"


def test_alerts_a_sink_has_not_taken_have_their_cards_in_both_languages(
    tmp_path: Path, page: Page
) -> None:
    # /api/health said which alerts a webhook refused or has not taken yet, but the page drew
    # none of it: a user watching the Health tab saw "0 problems" while alerts piled up.
    path = tmp_path / "a.sqlite"
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(path, clock=clock)
    store.put_records([Record(USD.key, MONDAY, Decimal("5"), Status.OK)])
    state = SqliteAlertState(path, clock=clock)
    queue_alerts(state, clock, "FUEL#LPG#AC", "FUEL#LPG#AL")
    state.deliver([RefusingWebhook(refused="FUEL#LPG#AC")])  # AC's body refused for good: dropped
    clock.advance(timedelta(minutes=10))
    queue_alerts(state, clock, "FUEL#LPG#AM", "FUEL#LPG#AP")
    clock.advance(timedelta(minutes=1))
    state.deliver([RefusingWebhook(down=True)])  # the webhook down: both wait
    app = create_app(store, DEFAULT_CATALOG, clock=clock, alerts=SqliteAlertReader(path))
    with serving(app) as url:
        page.goto(f"{url}/?view=health&lang=en")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        waiting = page.locator(CARD.format(title="Alerts not yet sent · webhook"))
        assert waiting.locator(".card-value").text_content() == "2"
        assert waiting.locator(".card-detail").text_content() == (
            "oldest queued 5/3/22, 9:10 AM (São Paulo time) · sending fails since "
            "5/3/22, 9:11 AM (São Paulo time)"
        )
        dropped = page.locator(CARD.format(title="Alerts dropped · webhook"))
        assert dropped.locator(".card-value").text_content() == "1"
        line = dropped.locator(".card-detail").text_content() or ""
        assert "FUEL#LPG#AC" in line and "HTTP 400: 'bad'" in line

        page.click(".lang-btn[data-lang='pt-BR']")
        pt = CARD.format(title="Alertas ainda não enviados · webhook")
        page.wait_for_selector(pt)
        detail = page.locator(pt).locator(".card-detail").text_content() or ""
        assert detail.startswith("o mais antigo na fila desde 03/05/2022")
        assert "o envio falha desde 03/05/2022" in detail
        assert page.locator(CARD.format(title="Alertas descartados · webhook")).count() == 1
    store.close()


def test_an_active_alerts_card_reads_its_summary_in_the_pages_language(
    tmp_path: Path, page: Page
) -> None:
    # The alerts carry a Brazilian Portuguese summary, but the card showed the English one in
    # pt-BR too (/api/health did not serve it).
    path = tmp_path / "a.sqlite"
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(path, clock=clock)
    store.put_records([Record(USD.key, MONDAY, Decimal("5"), Status.OK)])
    state = SqliteAlertState(path, clock=clock)
    state.load()
    late = Condition(
        "stale_source",
        "bcb",
        "bcb is late: 1 series still lack 2022-05-03",
        summary_pt_br="bcb atrasada: falta 2022-05-03 em 1 série",
    )
    state.save({late.id: ActiveAlert(late, clock.now())})
    app = create_app(store, DEFAULT_CATALOG, clock=clock, alerts=SqliteAlertReader(path))
    with serving(app) as url:
        page.goto(f"{url}/?view=health&lang=en")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        en = page.locator(CARD.format(title="Active alert · stale_source"))
        expect(en.locator(".card-value")).to_have_text(late.summary)
        page.click(".lang-btn[data-lang='pt-BR']")
        pt = page.locator(CARD.format(title="Alerta ativo · stale_source"))
        expect(pt.locator(".card-value")).to_have_text("bcb atrasada: falta 2022-05-03 em 1 série")
    store.close()


def test_a_source_with_no_freshness_sample_says_why_in_both_languages(
    tmp_path: Path, page: Page
) -> None:
    # The demo's four freshness cards read "— / —, 0 values": every value it stores is stored
    # by its series' first run, history not counted, and the card said nothing of it.
    clock = ManualClock(datetime(2022, 4, 29, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "f.sqlite", clock=clock)
    brent = DEFAULT_CATALOG["COMMODITY#BRENT"]
    published = {"published_at": "2022-04-28T16:10:00+00:00"}
    store.put_records(  # the first run: history, published before it (no sample)
        [
            Record(USD.key, date(2022, 4, 28), Decimal("5"), Status.OK, attrs=published),
            Record(brent.key, date(2022, 4, 25), Decimal("100"), Status.OK, attrs=published),
        ]
    )
    clock.set(datetime(2022, 5, 2, 13, 20, tzinfo=SP))  # Monday's PTAX, 10 minutes after 13:10
    store.put_records(
        [
            Record(
                USD.key, MONDAY, Decimal("5.1"), Status.OK,
                attrs={"published_at": "2022-05-02T16:10:00+00:00"},
            )
        ]
    )  # fmt: skip
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        page.goto(f"{url}/?view=health&lang=en")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        bcb = page.locator(CARD.format(title="Freshness p50 / p95 · bcb"))
        expect(bcb.locator(".card-value")).to_have_text("10.0 min / 10.0 min")
        expect(bcb.locator(".card-detail")).to_have_text("publication to storage, 1 value")
        fred = page.locator(CARD.format(title="Freshness p50 / p95 · fred"))
        expect(fred.locator(".card-value")).to_have_text("No value yet")
        expect(fred.locator(".card-detail")).to_have_text(
            "no value of its series' last five weeks was stored as it was published: those "
            "stored by their series' first run, as all of a demo store's, are history and not "
            "counted"
        )
        # The why is a sentence: the normal weight, not the bold of a short detail (bcb's).
        expect(fred.locator(".card-detail")).to_have_css("font-weight", "400")
        expect(bcb.locator(".card-detail")).to_have_css("font-weight", "600")
        page.click(".lang-btn[data-lang='pt-BR']")
        fred = page.locator(CARD.format(title="Atualização p50 / p95 · fred"))
        expect(fred.locator(".card-value")).to_have_text("Nenhum valor ainda")
        expect(fred.locator(".card-detail")).to_have_text(
            re.compile(r"^nenhum valor .* não contam$")
        )
        expect(fred.locator(".card-detail")).to_have_css("font-weight", "400")
    store.close()


@pytest.mark.parametrize(
    ("lang", "title", "none"),
    [
        ("en", "Freshness p50 / p95", "No value yet"),
        ("pt-BR", "Atualização p50 / p95", "Nenhum valor ainda"),
    ],
)
def test_the_sources_with_no_freshness_sample_share_one_card_on_a_phone(
    tmp_path: Path, page: Page, lang: str, title: str, none: str
) -> None:
    # On a demo store every source has no sample: at 390 px its four cards, each the same
    # 200-character why, filled more than a screen. The sources with none share one card.
    # (Synthetic values: what counts is that a first run stored them, history, no sample.)
    clock = ManualClock(datetime(2022, 4, 29, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "f.sqlite", clock=clock)
    published = {"published_at": "2022-04-28T16:10:00+00:00"}
    store.put_records(
        [
            Record(USD.key, date(2022, 4, 28), Decimal("5"), Status.OK, attrs=published),
            Record(
                "COMMODITY#BRENT", date(2022, 4, 25), Decimal("100"), Status.OK, attrs=published
            ),
            Record("STOCK#PETR3", date(2022, 4, 28), Decimal("30"), Status.OK, attrs=published),
            Record("FUEL#GASOLINE#BR", date(2022, 4, 24), Decimal("7"), Status.OK, attrs=published),
        ]
    )
    clock.set(datetime(2022, 5, 2, 13, 20, tzinfo=SP))  # Monday's PTAX, 10 minutes after 13:10
    store.put_records(
        [
            Record(
                USD.key, MONDAY, Decimal("5.1"), Status.OK,
                attrs={"published_at": "2022-05-02T16:10:00+00:00"},
            )
        ]
    )  # fmt: skip
    page.set_viewport_size({"width": 390, "height": 800})
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        page.goto(f"{url}/?view=health&lang={lang}")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        cards = page.locator("#health-cards .card", has_text=none)
        expect(cards).to_have_count(1)
        expect(cards.locator("h3")).to_have_text(f"{title} · anp, fred, yahoo")
        expect(page.locator(CARD.format(title=f"{title} · bcb"))).to_have_count(1)
    store.close()


HELD_REASON = 'HTTP 503 from bcb: <img src=x onerror="window.pwned=1"><b>down</b>'


def test_the_quarantined_panel_lists_the_newest_records_with_their_commands_and_text_reasons(
    tmp_path: Path, page: Page
) -> None:
    """The page said how many records were quarantined, nothing about which: the panel lists
    the newest 50, each with its own release and accept commands and its reason as text (it
    quotes a source's error: as HTML, this one would run a script), sums them all up by series
    (every one: the line summed the 50 listed, USD's 49 of its 52), and says the list is the
    newest 50 of how many, all in `fuelpipe quarantine list`. Hidden while none is quarantined."""
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "q.sqlite", clock=clock)
    store.put_records([Record(USD.key, MONDAY, Decimal("5"), Status.OK)])
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        page.goto(f"{url}/?view=health&lang=en")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        expect(page.locator("#health-quarantine")).to_be_hidden()

        weekdays = (date(2022, 1, 3) + timedelta(days=i) for i in range(90))
        for day in [d for d in weekdays if d.weekday() < 5][:52]:  # a minute apart
            clock.advance(timedelta(minutes=1))
            store.put_pending(Record(USD.key, day, None, Status.QUARANTINED, 5, None, "HTTP 503"))
        clock.advance(timedelta(minutes=1))
        gone = "FUEL#KEROSENE#BR"  # a key outside the catalog, quarantined last
        store.put_pending(Record(gone, MONDAY, None, Status.QUARANTINED, 2, None, HELD_REASON))
        # as the recheck that quarantines: a new data version, so no answer cached before it is
        # served (the page reads /api/live before the view; it names that version)
        mark_changed(store, clock.now(), "recheck")
        page.reload()
        page.wait_for_selector("body[data-ready=health]", state="attached")
        panel = page.locator("#health-quarantine")
        expect(panel.locator("h2")).to_have_text("Quarantined: 53 records waiting for a person")
        rows = panel.locator("#quarantined tbody tr")
        expect(rows).to_have_count(50)
        first = rows.first.locator("td")
        expect(first.nth(0)).to_have_text(gone)  # no name of its own: its key alone
        expect(first.nth(1)).to_have_text("May 2, 2022")
        expect(first.nth(2)).to_have_text(re.compile(r"^5/3/22, 9:53\sAM$"))  # São Paulo's
        expect(first.nth(3)).to_have_text("2")
        expect(first.nth(4)).to_have_text(HELD_REASON)  # the text, not its markup
        assert first.nth(4).locator("img, b").count() == 0
        assert page.evaluate("window.pwned") is None
        expect(first.nth(5).locator("code")).to_have_text(
            [
                f"fuelpipe quarantine release {gone} 2022-05-02",
                f"fuelpipe quarantine accept {gone} 2022-05-02",
            ]
        )
        second = rows.nth(1).locator("td")
        expect(second.nth(0)).to_have_text(f"US dollar (PTAX) {USD.key}")
        expect(second.nth(1)).to_have_text("Mar 15, 2022")  # USD's newest of 52 weekdays
        summary = panel.locator("p").nth(1)
        expect(summary).to_have_text(
            f"All 53 by series: {gone}: 1 date, May 2, 2022; "
            f"US dollar (PTAX) ({USD.key}): 52 dates, Jan 3, 2022 – Mar 15, 2022"
        )
        newest = (
            "the newest 50 of 53, quarantined last first; all of them: fuelpipe quarantine list"
        )
        expect(panel.locator("p").nth(2)).to_have_text(f"Below, {newest}")
        expect(panel.locator("p")).to_have_count(3)  # nothing after the list

        page.click(".lang-btn[data-lang='pt-BR']")
        expect(panel.locator("h2")).to_have_text(
            "Em quarentena: 53 registros aguardando uma pessoa"
        )
        expect(summary).to_have_text(
            f"Todos os 53 por série: {gone}: 1 data, 2 de mai. de 2022; "
            f"Dólar (PTAX) ({USD.key}): 52 datas, 3 de jan. de 2022 – 15 de mar. de 2022"
        )
        expect(panel.locator("p").nth(2)).to_have_text(
            "Abaixo, os 50 mais recentes de 53, o último em quarentena primeiro; "
            "todos: fuelpipe quarantine list"
        )
        expect(panel.locator("th").nth(2)).to_have_text("Em quarentena desde (horário de Brasília)")
    store.close()


def test_the_quarantined_panel_counts_the_dates_stored_ok_whose_lacking_figures_never_came(
    tmp_path: Path, page: Page
) -> None:
    """A close stored OK whose volume did not come after its five re-downloads is listed for
    a person (``fuelpipe quarantine list``): the panel, hidden with nothing quarantined, shows
    their count in both languages."""
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "q.sqlite", clock=clock)
    petr4 = DEFAULT_CATALOG["STOCK#PETR4"]
    attrs: dict[str, AttrValue] = {"volume": None, "lacking": "volume"}
    store.put_records([Record(petr4.key, MONDAY, Decimal("25.93"), Status.OK, attrs=attrs)])
    spent = Lacking("volume", 5, clock.now(), given_up=True)
    store.put_meta(lacking_name(petr4.key), note_text({MONDAY: spent}))
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        page.goto(f"{url}/?view=health&lang=en")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        panel = page.locator("#health-quarantine")
        expect(panel.locator("h2")).to_have_text("Quarantined")
        expect(panel.locator("p")).to_have_text(
            "Stored OK but still lacking figures (a volume, say) after their re-downloads: "
            "1 date(s), listed by fuelpipe quarantine list; fuelpipe quarantine release KEY "
            "DATE asks again."
        )
        expect(panel.locator("table")).to_have_count(0)
        page.click(".lang-btn[data-lang='pt-BR']")
        expect(panel.locator("p")).to_have_text(re.compile(r"^Gravadas OK, .*: 1 data\(s\), "))
    store.close()


def test_the_quarantined_panels_by_series_line_names_the_first_20_series_then_how_many_more(
    tmp_path: Path, page: Page
) -> None:
    # A failed backfill over hundreds of series would make the line a wall of text.
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "q.sqlite", clock=clock)
    keys = [f"TEST#K{i:02}" for i in range(22)]  # keys outside the catalog: named by key
    for key in keys:  # K21 quarantined last: first in the line
        clock.advance(timedelta(minutes=1))
        store.put_pending(Record(key, MONDAY, None, Status.QUARANTINED, 5, None, "HTTP 503"))
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        page.goto(f"{url}/?view=health&lang=en")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        named = "; ".join(f"{k}: 1 date, May 2, 2022" for k in reversed(keys[2:]))
        summary = page.locator("#health-quarantine p").nth(1)
        expect(summary).to_have_text(f"All 22 by series: {named}; 2 more series")
        page.click(".lang-btn[data-lang='pt-BR']")
        expect(summary).to_have_text(re.compile(r"^Todos os 22 por série: .*; mais 2 séries$"))
    store.close()


def test_a_quarantined_records_commands_wrap_on_a_phone_instead_of_running_off_it(
    tmp_path: Path, page: Page
) -> None:
    # Kept on one line, a stacked row's command ran past a 390 px screen's edge.
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "q.sqlite", clock=clock)
    gasoline = "FUEL#GASOLINE#SP"
    store.put_pending(Record(gasoline, MONDAY, None, Status.QUARANTINED, 5, None, "HTTP 503"))
    page.set_viewport_size({"width": 390, "height": 800})
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        page.goto(f"{url}/?view=health&lang=en")
        page.wait_for_selector("body[data-ready=health]", state="attached")
        commands = page.locator("#quarantined td code")
        expect(commands).to_have_count(3)  # the key, then release and accept
        # each command within its box, and the table within the screen (no sideways scroll)
        overflow = """() => [...document.querySelectorAll('#quarantined td code'),
          document.querySelector('#health-quarantine .table-scroll')]
          .filter((e) => e.scrollWidth > e.clientWidth).map((e) => e.textContent.slice(0, 40))"""
        assert page.evaluate(overflow) == []
    store.close()
