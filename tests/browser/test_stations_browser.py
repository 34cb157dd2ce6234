"""The station views in headless Chromium, on a lake of the real ANP sample: tables and charts
match the API, both languages, the URL restores the view, CSV downloads, no console errors."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from devtools.dashboard.serving import serving
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect
from tests.browser.conftest import (
    PLAYWRIGHT_TIMEOUT_MS,
    error_free_page,
    new_page,
    shaded_share,
)
from tests.support.a11y import (
    HIDDEN_CONTROLS_JS,
    LABEL_NOT_IN_NAME_JS,
    LOW_CONTRAST_JS,
    REACHABLE_JS,
    assert_rings_show,
    tab_through,
)
from tests.support.aria_tabs import assert_open, read_tabs, selected_tab_in_sight
from tests.support.clipboard import (
    assert_copy_link_is_honest,
    assert_copy_status_follows_the_language,
)
from tests.support.phone_layout import assert_phone_rows
from tests.support.plotly_ticks import day_ticks
from tests.support.station_lake import fuels_apart_lake, real_sample_lake

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.stations import NO_LAKE_BUCKET, no_lake_advice
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.install_hint import install_hint

if TYPE_CHECKING:
    from fuelpipe.adapters.lake.engine import StationLake

pytestmark = pytest.mark.browser
pytest.importorskip("duckdb")

NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)


def _serve(tmp: Path, lake: StationLake) -> Iterator[str]:
    """The dashboard (an empty store) with ``lake``, served; its address."""
    store = SqliteStore(tmp / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), stations=lake)
    with serving(app) as url:
        yield url
    store.close()
    lake.close()


@pytest.fixture(scope="module")
def stations_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard with a station lake holding the real gasoline/ethanol and LPG files."""
    tmp = tmp_path_factory.mktemp("stations-browser")
    yield from _serve(tmp, real_sample_lake(tmp, NOW))


@pytest.fixture(scope="module")
def apart_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard with a lake of real files whose fuels end apart and with no gasoline:
    diesel, diesel S10 and CNG to December 2023, LPG in 2025."""
    tmp = tmp_path_factory.mktemp("stations-apart")
    yield from _serve(tmp, fuels_apart_lake(tmp, NOW))


@pytest.fixture
def page(browser: Browser, stations_url: str) -> Iterator[Page]:
    page = new_page(
        browser,
        timeout_ms=PLAYWRIGHT_TIMEOUT_MS,
        locale="en-US",
        viewport={"width": 1280, "height": 900},
    )
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "request",
        # blob: of this host: a PNG download Plotly builds in the page
        lambda req: (
            None
            if req.url.startswith((stations_url, f"blob:{stations_url}"))
            else problems.append(req.url)
        ),
    )
    yield page
    page.context.close()
    assert problems == []


@pytest.fixture
def pt_page(browser: Browser) -> Iterator[Page]:
    """A page where 4xx answers are the test's point: only page errors count (not console
    messages)."""
    with error_free_page(browser) as page:
        yield page


def _open(page: Page, base: str, query: str) -> None:
    page.goto(f"{base}/stations?{query}")
    page.wait_for_selector("body[data-ready]", state="attached")
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")


def _api(base: str, path: str) -> dict[str, object]:
    resp = httpx.get(base + path, timeout=30)
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


def test_ranking_tables_match_the_api_and_a_click_draws_the_distribution(
    page: Page, stations_url: str, screenshots: Path
) -> None:
    _open(page, stations_url, "view=ranking&fuel=ETHANOL&state=SP&lang=en")
    api = _api(stations_url, "/api/stations/ranking?fuel=ETHANOL&state=SP")
    rows = api["rows"]
    assert isinstance(rows, list) and len(rows) > 30
    cheapest = page.locator("#st-cheapest tbody tr")
    assert cheapest.count() == 15
    assert cheapest.first.locator("td").first.inner_text() == rows[0][1]
    assert (
        page.locator("#st-dearest tbody tr").first.locator("td").first.inner_text() == rows[-1][1]
    )
    assert page.locator("#st-cheapest th").first.inner_text() == "Municipality"

    cheapest.first.click()
    page.wait_for_function(
        "() => { const g = document.getElementById('st-chart-muni'); return g && g.data && g.data.length === 3; }"
    )
    assert f"muni=SP%7C{rows[0][1].replace(' ', '+')}" in page.url
    weeks = page.evaluate("() => document.getElementById('st-chart-muni').data[2].x.length")
    muni = _api(
        stations_url,
        f"/api/stations/municipality?fuel=ETHANOL&state=SP&municipality={rows[0][1]}",
    )
    assert weeks == len(muni["rows"])  # type: ignore[arg-type]
    page.screenshot(path=str(screenshots / "stations-ranking.png"), full_page=True)

    # the URL alone restores the view: fuel, state, selected municipality
    page.reload()
    page.wait_for_function(
        "() => { const g = document.getElementById('st-chart-muni'); return g && g.data && g.data.length === 3; }"
    )
    assert page.locator("#st-fuel").input_value() == "ETHANOL"
    assert page.locator("#st-state").input_value() == "SP"
    assert page.locator("#st-cheapest tr.selected").count() == 1


def test_portuguese_and_csv_export(page: Page, stations_url: str) -> None:
    _open(page, stations_url, "view=brands&fuel=GASOLINE&lang=pt-BR")
    assert page.locator("html").get_attribute("lang") == "pt-BR"
    assert page.locator(".tabs [data-view=brands]").inner_text() == "Prêmio de bandeira"
    assert "bandeiras comparadas" in page.locator("#st-summary").inner_text()
    bars = page.evaluate("() => document.getElementById('st-chart-brands').data[0].y.length")
    table_rows = page.locator("#st-brands tbody tr").count()
    assert bars == table_rows > 5
    href = page.locator("#st-csv").get_attribute("href")
    assert href and "format=csv" in href and "/api/stations/brands" in href
    resp = httpx.get(stations_url + href, timeout=30)
    assert resp.headers["content-type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(resp.text)))
    assert parsed[0][:2] == ["brand", "observations"]
    assert {r[0] for r in parsed[1:]} >= {"VIBRA", "IPIRANGA", "RAIZEN"}

    page.locator(".lang-btn[data-lang=en]").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.locator(".tabs [data-view=brands]").inner_text() == "Brand premium"
    assert "lang=en" in page.url


def test_dispersion_and_search(page: Page, stations_url: str) -> None:
    _open(page, stations_url, "view=dispersion&fuel=LPG")
    api = _api(stations_url, "/api/stations/dispersion?fuel=LPG")
    weeks = page.evaluate("() => document.getElementById('st-chart-dispersion').data[1].x.length")
    assert weeks == len(api["rows"]) == 4  # type: ignore[arg-type]

    page.locator(".tabs [data-view=search]").click()
    page.locator("#st-q").fill("01.492.748")
    page.wait_for_function("() => document.querySelectorAll('#st-search tbody tr').length > 0")
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")
    cells = page.locator("#st-search tbody tr").first.locator("td").all_inner_texts()
    assert "01.492.748" in cells[0]
    assert "q=01.492.748" in page.url and "view=search" in page.url


@pytest.mark.parametrize("width", [1280, 375])
def test_the_search_view_shows_no_empty_box_before_a_search(
    page: Page, stations_url: str, width: int
) -> None:
    # Below the prompt sat an empty white panel (its table had nothing yet), at any width.
    page.set_viewport_size({"width": width, "height": 900})
    _open(page, stations_url, "view=search&lang=en")
    expect(page.locator("#st-summary")).to_have_text(
        "Type at least two letters of a station name, CNPJ or town."
    )
    box = page.locator("#st-view-search .panel")
    expect(box).to_be_hidden()
    page.locator("#st-q").fill("posto")
    page.wait_for_function("() => document.querySelectorAll('#st-search tbody tr').length > 0")
    expect(box).to_be_visible()
    page.locator("#st-q").fill("p")  # too short to search: the rows go, and their box
    expect(page.locator("#st-search tbody tr")).to_have_count(0)
    expect(box).to_be_hidden()


class _NoWindow:
    """A station engine of a lake with no collection day yet (synthetic: an empty lake)."""

    def fuel_windows(self) -> dict[str, object]:
        return {}

    def old_layout(self) -> None:
        return None

    def query(self, name: str, params: object) -> None:
        raise AssertionError(f"no query of an empty lake: {name}")


@pytest.mark.parametrize(
    ("stations", "no_lake", "said"),
    [
        (
            None,
            no_lake_advice(False),
            # the command the server names, this installation's (fuelpipe.install_hint)
            f"não há base de postos aqui: instale o extra lake ({install_hint('lake')}) e "
            "rode `fuelpipe stations ingest`",
        ),
        (
            None,
            no_lake_advice(True),
            "não há base de postos aqui: rode `fuelpipe stations ingest` (ou `fuelpipe demo`) "
            "antes, ou confira FUELPIPE_LAKE",
        ),
        (  # the AWS home's dashboard_api Lambda with no lake bucket set
            None,
            NO_LAKE_BUCKET,
            "não há base de postos aqui: defina FUELPIPE_LAKE_BUCKET com o bucket da base da "
            "stack (o infra/template.yaml o define na Lambda dashboard_api)",
        ),
        (
            _NoWindow(),
            None,
            "não há dados de postos aqui: a base está vazia: rode `fuelpipe stations ingest` antes",
        ),
    ],
)
def test_without_a_lake_portuguese_advice_fits_its_cause(
    pt_page: Page, tmp_path: Path, stations: _NoWindow | None, no_lake: str | None, said: str
) -> None:
    """The page said "install the lake extra" to every 404 without a lake, the extra installed
    or not, a lake missing or empty."""
    store = SqliteStore(tmp_path / "x.sqlite", clock=FixedClock(NOW))
    app = create_app(
        store, DEFAULT_CATALOG, clock=FixedClock(NOW), stations=stations, no_lake=no_lake
    )
    with serving(app) as url:
        pt_page.goto(f"{url}/stations?view=brands&lang=pt-BR")
        # no lake: the meta's 404 stops the page; an empty one: its meta answers, a view 404s
        pt_page.wait_for_selector("#st-error:not([hidden])")
        text = pt_page.locator("#st-error").inner_text()
    store.close()
    assert text == f"Não foi possível carregar esta visão: {said}"


def test_page_without_a_lake_says_how_to_get_one(browser: Browser, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "x.sqlite", clock=FixedClock(NOW))
    with serving(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as url:
        page = browser.new_page()
        page.goto(f"{url}/stations")
        page.wait_for_selector("body[data-ready=error]", state="attached")
        assert "fuelpipe stations ingest" in page.locator("#st-error").inner_text()
        page.close()
    store.close()


def test_an_old_layout_lake_is_a_notice_in_both_languages(
    browser: Browser, stations_url: str, tmp_path: Path
) -> None:
    """A lake not yet migrated to today's layout (its manifest records none) may count one
    station twice: the page says so above the figures, with the command to run, in English
    and in Portuguese; the module's lake, of today's layout, shows no notice."""
    page = browser.new_page()
    page.goto(f"{stations_url}/stations?view=dispersion&fuel=LPG&lang=en")
    page.wait_for_selector("body[data-ready]", state="attached")
    expect(page.locator("#st-layout")).to_be_hidden()

    lake = real_sample_lake(tmp_path, NOW)
    manifest = lake.storage.read_manifest()
    del manifest["layout"]  # as the code before layout 2 left it
    lake.storage.write_manifest(manifest)
    store = SqliteStore(tmp_path / "x.sqlite", clock=FixedClock(NOW))
    with serving(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), stations=lake)) as url:
        page.goto(f"{url}/stations?view=dispersion&fuel=LPG&lang=en")
        page.wait_for_selector("body[data-ready]", state="attached")
        notice = page.locator("#st-layout")
        expect(notice).to_be_visible()
        assert "old layout (1, before the current 2)" in notice.inner_text()
        assert "fuelpipe stations migrate" in notice.inner_text()
        assert page.locator("#st-dispersion tbody tr").count() == 4  # the figures still shown
        page.locator(".lang-btn[data-lang=pt-BR]").click()
        page.wait_for_function("() => document.documentElement.lang === 'pt-BR'")
        expect(notice).to_contain_text("formato antigo (1, anterior ao atual, 2)")
        assert "fuelpipe stations migrate" in notice.inner_text()
    page.close()
    store.close()
    lake.close()


def test_a_cut_search_says_so_and_one_is_singular(page: Page, stations_url: str) -> None:
    _open(page, stations_url, "view=search&q=posto&lang=en")
    summary = page.locator("#st-summary").inner_text()
    assert "Showing the first 150 stations for “posto”" in summary
    assert "Refine the search" in summary
    cnpjs = page.evaluate(
        "() => new Set([...document.querySelectorAll('#st-search tbody tr td:first-child')]"
        ".map((td) => td.textContent)).size"
    )
    assert cnpjs == 150
    towns = page.locator("#st-search tbody tr td:nth-child(4)").all_inner_texts()
    assert any(t.endswith("(SP)") for t in towns)  # not cut after the first states (AC..BA)
    href = page.locator("#st-csv").get_attribute("href")
    assert href
    resp = httpx.get(stations_url + href, timeout=30)
    assert resp.headers["x-truncated"] == "true"
    assert "GASOLINE" not in resp.headers["content-disposition"]
    assert "-first-150-stations.csv" in resp.headers["content-disposition"]

    page.locator(".lang-btn[data-lang=pt-BR]").click()
    page.wait_for_function("() => document.documentElement.lang === 'pt-BR'")
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")
    assert "Mostrando os primeiros 150 postos" in page.locator("#st-summary").inner_text()

    # one station: singular, in both languages
    page.locator("#st-q").fill("01.492.748")
    page.wait_for_function(
        "() => document.getElementById('st-summary').textContent.includes('01.492.748')"
    )
    assert page.locator("#st-summary").inner_text() == "1 posto encontrado para “01.492.748”."
    page.locator(".lang-btn[data-lang=en]").click()
    page.wait_for_function(
        "() => document.getElementById('st-summary').textContent.includes('found')"
    )
    assert page.locator("#st-summary").inner_text() == "1 station found for “01.492.748”."


def test_one_municipality_and_one_flag_are_singular(page: Page, stations_url: str) -> None:
    # the Federal District is one municipality
    _open(page, stations_url, "view=ranking&state=DF&lang=en")
    assert page.locator("#st-summary").inner_text().startswith("1 municipality with Gasoline")
    _open(page, stations_url, "view=ranking&state=DF&lang=pt-BR")
    assert page.locator("#st-summary").inner_text().startswith("1 município com preços")

    one_flag = {
        "query": "brand_premium", "fuel": "GASOLINE", "unit": "BRL/l", "start": "2025-03-24",
        "end": "2025-04-19",
        "covered_start": "2025-03-23", "covered_end": "2025-04-19",
        "columns": ["brand", "observations", "cells", "mean_price", "premium", "premium_pct"],
        "rows": [["VIBRA", 500, 40, 6.5, 0.12, 1.9]],
    }  # fmt: skip
    page.route("**/api/stations/brands?*", lambda route: route.fulfill(json=one_flag))
    _open(page, stations_url, "view=brands&lang=pt-BR")
    assert page.locator("#st-summary").inner_text().startswith("1 bandeira comparada com")
    _open(page, stations_url, "view=brands&lang=en")
    assert page.locator("#st-summary").inner_text().startswith("1 flag compared with")


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        (
            "en",
            " 1 with fewer than 30 prices: pale in the chart and marked “few prices” in the "
            "table (its premium is uncertain).",
        ),
        (
            "pt-BR",
            " 1 com menos de 30 preços: clara no gráfico e marcada “poucos preços” na tabela "
            "(o prêmio dela é incerto).",
        ),
    ],
)
def test_one_few_price_flag_is_singular(
    page: Page, stations_url: str, lang: str, text: str
) -> None:
    """The real answer edited to one flag with fewer than 30 prices: the summary read "1 com
    menos de 30 preços: claras no gráfico e marcadas"."""

    def one_few(route: Route) -> None:
        body = route.fetch().json()
        n = body["columns"].index("observations")
        few = [r for r in body["rows"] if r[n] < 30]
        assert len(few) > 1  # the real sample has several: the edit keeps one
        body["rows"] = [r for r in body["rows"] if r[n] >= 30] + few[:1]
        route.fulfill(json=body)

    page.route("**/api/stations/brands?*", one_few)
    _open(page, stations_url, f"view=brands&fuel=GASOLINE&lang={lang}")
    assert page.locator("#st-summary").inner_text().endswith(text)


def test_a_failed_load_clears_the_view_and_speaks_portuguese(
    browser: Browser, stations_url: str
) -> None:
    # 4xx answers are this test's point, so only page errors count (not console messages)
    page = new_page(
        browser,
        timeout_ms=PLAYWRIGHT_TIMEOUT_MS,
        locale="pt-BR",
        viewport={"width": 1280, "height": 900},
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _open(page, stations_url, "view=brands&fuel=GASOLINE&lang=pt-BR")
    assert page.locator("#st-brands tbody tr").count() > 5
    assert page.locator("#st-summary").inner_text()

    page.locator("#st-start").fill("2025-04-01")
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")
    page.locator("#st-end").fill("2025-03-01")
    page.wait_for_selector("#st-error:not([hidden])")
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")
    assert page.locator("#st-error").inner_text() == (
        "Não foi possível carregar esta visão: a data inicial 1 de abr. de 2025 é posterior à final "
        "1 de mar. de 2025"
    )
    # nothing of the last answer stays under the error
    assert page.locator("#st-summary").inner_text() == ""
    assert page.locator("#st-brands tr").count() == 0
    assert page.evaluate("() => !document.getElementById('st-chart-brands').data")
    assert page.locator("#st-view-brands").is_hidden()

    # a message the page does not know: a Portuguese sentence, the detail in parentheses
    page.route(
        "**/api/stations/dispersion?*",
        lambda route: route.fulfill(status=500, json={"detail": "engine exploded"}),
    )
    _open(page, stations_url, "view=dispersion&lang=pt-BR")
    assert page.locator("#st-error").inner_text() == (
        "Não foi possível carregar esta visão: a consulta falhou (engine exploded)"
    )
    # and a good answer brings the view back
    page.unroute("**/api/stations/dispersion?*")
    _open(page, stations_url, "view=dispersion&lang=pt-BR")
    assert page.locator("#st-error").is_hidden()
    assert page.locator("#st-view-dispersion").is_visible()
    assert page.locator("#st-dispersion tbody tr").count() == 4
    page.context.close()
    assert errors == []


def test_a_span_too_long_is_said_in_portuguese_with_its_two_days(
    pt_page: Page, stations_url: str
) -> None:
    """The API's 422 names the start and the end it counted to (the lake's last day, named so,
    when none is given); the page translates it with both days."""
    page = pt_page
    _open(page, stations_url, "view=dispersion&start=2024-01-01&lang=pt-BR")
    page.wait_for_selector("#st-error:not([hidden])")
    assert page.locator("#st-error").inner_text() == (
        "Não foi possível carregar esta visão: a data inicial 1 de jan. de 2024 está mais de 370 dias "
        "antes do último dia de coleta de Gasolina comum da base, 19 de abr. de 2025, onde termina uma "
        "consulta sem data final"
    )
    _open(page, stations_url, "view=dispersion&start=2024-01-01&end=2025-01-06&lang=pt-BR")
    page.wait_for_selector("#st-error:not([hidden])")
    assert page.locator("#st-error").inner_text() == (
        "Não foi possível carregar esta visão: a data inicial 1 de jan. de 2024 está mais de 370 dias "
        "antes da final 6 de jan. de 2025"
    )


def test_a_start_after_the_lakes_last_day_names_that_day_and_marks_the_start_alone(
    pt_page: Page, stations_url: str
) -> None:
    """Without an end the API counts to the lake's last day: a start after it was "posterior à
    final 19/04/2025", and the empty To field was marked wrong beside it."""
    page = pt_page
    _open(page, stations_url, "view=brands&start=2025-05-01&lang=pt-BR")
    error = page.locator("#st-error")
    expect(error).to_be_visible()
    assert error.inner_text() == (
        "Não foi possível carregar esta visão: a data inicial 1 de mai. de 2025 é posterior ao último "
        "dia de coleta de Gasolina comum da base, 19 de abr. de 2025, onde termina uma consulta sem "
        "data final: a base tem dias de coleta de Gasolina comum de 24 de mar. de 2025 a 19 de abr. de 2025"
    )
    start = page.get_by_role("textbox", name="De", exact=True)
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(start).to_have_accessible_description(error.inner_text())
    assert page.locator("#st-end").get_attribute("aria-invalid") is None
    # in English the API's own words, whose day is no end
    _open(page, stations_url, "view=brands&start=2025-05-01&lang=en")
    expect(error).to_contain_text("is after the lake's last GASOLINE collection day 2025-04-19")
    assert page.locator("#st-end").get_attribute("aria-invalid") is None


def test_portuguese_chart_axes_and_the_dispersion_right_axis(
    browser: Browser, stations_url: str, screenshots: Path
) -> None:
    page = new_page(
        browser,
        timeout_ms=PLAYWRIGHT_TIMEOUT_MS,
        locale="en-US",
        viewport={"width": 1366, "height": 900},
    )
    _open(page, stations_url, "view=dispersion&fuel=GASOLINE&lang=pt-BR")
    page.wait_for_selector("#st-chart-dispersion .y2tick text", state="attached")
    ticks = page.evaluate(
        "() => [...document.querySelectorAll('#st-chart-dispersion .xtick text')]"
        ".map((t) => t.textContent)"
    )
    assert ticks and all(any(m in t for m in ("mar", "abr")) for t in ticks), ticks
    assert not any(m in " ".join(ticks) for m in ("Mar", "Apr")), ticks
    geometry = page.evaluate(
        """() => {
          const g = document.getElementById('st-chart-dispersion');
          const box = g.querySelector('.main-svg').getBoundingClientRect();
          const ticks = [...g.querySelectorAll('.y2tick text')].map((t) => {
            const r = t.getBoundingClientRect();
            return { text: t.textContent, left: r.left, right: r.right };
          });
          const title = g.querySelector('.g-y2title text').getBoundingClientRect();
          return { right: box.right, ticks, titleLeft: title.left, titleRight: title.right };
        }"""
    )
    labels = [t["text"] for t in geometry["ticks"]]
    assert len(labels) >= 3 and all(t.endswith("%") for t in labels), labels
    assert len(set(labels)) == len(labels), labels  # no two ticks read the same ("0,0")
    widest = max(t["right"] for t in geometry["ticks"])
    assert widest <= geometry["titleLeft"], geometry  # the title does not cover the labels
    assert geometry["titleRight"] <= geometry["right"], geometry  # nor is it cut off
    # Brazilian decimals on the left axis too
    left = page.evaluate(
        "() => [...document.querySelectorAll('#st-chart-dispersion .ytick text')]"
        ".map((t) => t.textContent)"
    )
    assert any("," in t for t in left), left
    page.screenshot(path=str(screenshots / "stations-dispersion-pt.png"), full_page=True)
    page.context.close()


def test_a_municipality_is_picked_with_the_keyboard(page: Page, stations_url: str) -> None:
    # The ranking rows answered a mouse click only: no focus, no key, so a keyboard user could
    # not draw any municipality's weekly distribution.
    _open(page, stations_url, "view=ranking&fuel=ETHANOL&state=SP&lang=en")
    rows = _api(stations_url, "/api/stations/ranking?fuel=ETHANOL&state=SP")["rows"]
    assert isinstance(rows, list)
    page.focus("#st-state")
    for _ in range(50):  # Tab onwards to the first cheapest row
        page.keyboard.press("Tab")
        if page.evaluate("() => !!document.activeElement.closest('#st-cheapest tbody tr')"):
            break
    else:
        pytest.fail("no ranking row takes the keyboard focus")
    assert page.evaluate("() => document.activeElement.dataset.muni") == f"SP|{rows[0][1]}"
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => { const g = document.getElementById('st-chart-muni'); return g && g.data && g.data.length === 3; }"
    )
    assert page.locator("#st-cheapest tr.selected").count() == 1
    page.keyboard.press("Tab")  # the next row, picked with the space bar
    page.keyboard.press(" ")
    page.wait_for_function(
        "() => document.querySelector('#st-cheapest tr.selected')?.dataset.muni"
        f" === {('SP|' + rows[1][1])!r}"
    )
    assert f"muni=SP%7C{rows[1][1].replace(' ', '+')}" in page.url


@pytest.mark.parametrize(
    ("fuel", "lang", "median"),
    [("LPG", "en", "Median (R$/13 kg)"), ("GASOLINE", "pt-BR", "Mediana (R$/l)")],
)
def test_price_tables_name_their_unit(
    page: Page, stations_url: str, fuel: str, lang: str, median: str
) -> None:
    # Only the footer said "Prices in BRL per unit": an LPG median of 110 had no unit beside it.
    _open(page, stations_url, f"view=ranking&fuel={fuel}&lang={lang}")
    for table in ("#st-cheapest", "#st-dearest"):
        assert median in page.locator(f"{table} th").all_text_contents()
    page.locator(".tabs [data-view=dispersion]").click()
    page.wait_for_function("() => document.querySelectorAll('#st-dispersion tbody tr').length")
    assert median in page.locator("#st-dispersion th").all_text_contents()
    unit = median[median.index("(") + 1 : -1]
    title = page.evaluate(
        "() => document.getElementById('st-chart-dispersion').layout.yaxis.title.text"
    )
    assert title == unit


@pytest.mark.parametrize(
    ("lang", "mark", "per"), [("en", ".", "per 13 kg"), ("pt-BR", ",", "por 13 kg")]
)
def test_every_price_in_the_tables_is_money_in_the_pages_language(
    page: Page, stations_url: str, lang: str, mark: str, per: str
) -> None:
    """The ranking, dispersion and brand tables wrote their prices as bare numbers ("110,00")
    under a header naming the unit, where the page's search and the main page write money
    ("R$ 110,00"): every price cell is money in the page's language, two digits (a premium
    three), its header still naming the unit; the count and percent columns stay numbers."""

    def money(value: float, digits: int = 2) -> str:
        text = f"{abs(value):,.{digits}f}"
        if mark == ",":
            text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
        return ("\u2212" if round(value, digits) < 0 else "") + f"R$\u00a0{text}"

    def cells(table: str) -> list[list[str]]:
        rows = page.locator(f"{table} tbody tr")
        return [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]

    def records(path: str) -> list[dict[str, float]]:
        body = _api(stations_url, path)
        cols: list[str] = body["columns"]  # type: ignore[assignment]
        return [dict(zip(cols, r, strict=True)) for r in body["rows"]]  # type: ignore[attr-defined]

    _open(page, stations_url, f"view=ranking&fuel=LPG&lang={lang}")
    ranking = records("/api/stations/ranking?fuel=LPG")
    shown = cells("#st-cheapest")
    assert shown and [r[3:6] for r in shown] == [
        [money(r["p10"]), money(r["median"]), money(r["p90"])] for r in ranking[: len(shown)]
    ]
    assert "R$" not in shown[0][2], shown[0]  # the count of stations, a number

    page.locator(".tabs [data-view=dispersion]").click()
    page.wait_for_function("() => document.querySelectorAll('#st-dispersion tbody tr').length")
    spread = records("/api/stations/dispersion?fuel=LPG")
    assert [r[2:6] for r in cells("#st-dispersion")] == [
        [money(r["p10"]), money(r["median"]), money(r["p90"]), money(r["p90_p10"])] for r in spread
    ]
    assert _hover(page, "st-chart-dispersion", 1).endswith(f"{money(spread[0]['median'])} {per}")

    page.locator(".tabs [data-view=brands]").click()
    page.wait_for_function("() => document.querySelectorAll('#st-brands tbody tr').length")
    brands = {r["brand"]: r for r in records("/api/stations/brands?fuel=LPG")}
    for row in cells("#st-brands"):
        flag = brands[row[0]]
        assert row[2:4] == [money(flag["mean_price"]), money(flag["premium"], 3)], row
        assert "R$" not in row[4], row  # its premium in percent


@pytest.mark.parametrize(
    ("lang", "price", "lpg", "gasoline", "collected"),
    [
        ("en", r"R\$\u00a0\d+\.\d{2}", "LPG (13 kg)", "Gasoline", r"[A-Z][a-z]{2} \d{1,2}, \d{4}"),
        (
            "pt-BR",
            r"R\$\u00a0\d+,\d{2}",
            "GLP (13 kg)",
            "Gasolina comum",
            r"\d{1,2} de [a-z]{3}\. de \d{4}",
        ),
    ],
)
def test_search_prices_name_each_fuels_unit(
    page: Page, stations_url: str, lang: str, price: str, lpg: str, gasoline: str, collected: str
) -> None:
    """A station's price read "6,34 R$/l" and its day "23/03/2025" where the main page writes
    "R$ 6,34" and "23 de mar. de 2025": they are written as the main page writes them, each
    price with its own fuel's unit in words (a search mixes fuels)."""
    _open(page, stations_url, f"view=search&q=posto&lang={lang}")
    page.wait_for_function("() => document.querySelectorAll('#st-search tbody tr').length > 0")
    rows = page.locator("#st-search tbody tr")
    units = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert re.fullmatch(collected, cells[6]), cells[6]
        amount, unit = cells[7].split(" ", 1)
        assert re.fullmatch(price, amount), cells[7]
        units.setdefault(cells[5], set()).add(unit)
    per = {"en": ("per 13 kg", "per litre"), "pt-BR": ("por 13 kg", "por litro")}[lang]
    assert (units[lpg], units[gasoline]) == ({per[0]}, {per[1]})


def test_station_tabs_follow_the_aria_tabs_pattern_with_the_keyboard(
    page: Page, stations_url: str
) -> None:
    # The tabs had role=tab but no aria-controls, no tab panels, a tab stop each and no arrow
    # keys: the main page's tabs had all four.
    _open(page, stations_url, "view=brands&fuel=LPG&lang=en")
    got = read_tabs(page)
    assert [t[0] for t in got["tabs"]] == ["ranking", "brands", "dispersion", "search"]
    assert_open(got, "brands")

    page.focus("[role=tab][aria-selected=true]")
    for key, view in [("ArrowRight", "dispersion"), ("ArrowLeft", "brands"),
                      ("ArrowLeft", "ranking"), ("ArrowLeft", "search"), ("ArrowRight", "ranking"),
                      ("End", "search"), ("Home", "ranking")]:  # fmt: skip
        before = page.evaluate("() => document.body.dataset.ready")
        page.keyboard.press(key)
        page.wait_for_function(
            f"() => document.body.dataset.ready !== {before!r}"
            " && !document.querySelector('main .view.is-loading')"
        )
        got = read_tabs(page)
        assert got["focused"] == view, key
        assert_open(got, view)
        assert f"view={view}" in page.url
    # One tab stop: Tab leaves the tab list for the next control, Shift+Tab comes back to it.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "st-fuel"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.dataset.view") == "ranking"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.dataset.lang") == "pt-BR"


def test_the_municipality_chart_has_its_csv(page: Page, stations_url: str) -> None:
    """The header promises every table as CSV, but the municipality's weekly chart had no
    download (its CSV URL was built and never used)."""
    _open(page, stations_url, "view=ranking&fuel=ETHANOL&state=SP&lang=pt-BR")
    link = page.locator("#st-muni-csv")
    assert link.is_hidden()  # no municipality picked yet
    page.locator("#st-cheapest tbody tr").first.click()
    page.wait_for_function(
        "() => { const g = document.getElementById('st-chart-muni'); return g && g.data && g.data.length === 3; }"
    )
    assert link.is_visible() and link.inner_text() == "Baixar as semanas (CSV)"
    href = link.get_attribute("href")
    assert href and href.startswith("/api/stations/municipality?") and "format=csv" in href
    resp = httpx.get(stations_url + href, timeout=30)
    assert resp.headers["content-type"].startswith("text/csv")
    weeks = list(csv.reader(io.StringIO(resp.text)))[1:]
    drawn = page.evaluate("() => document.getElementById('st-chart-muni').data[2].x.length")
    assert len(weeks) == drawn > 0
    page.locator(".lang-btn[data-lang=en]").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert link.inner_text() == "Download its weeks (CSV)"


def test_the_brand_table_lists_every_flag_of_its_csv(page: Page, stations_url: str) -> None:
    """The table hid flags with fewer than 30 prices that the CSV holds: screen and file
    disagreed. An analyst checks the file against the screen, and a flag with few prices is
    still a fact about the market; so the screen lists every flag of the file, in its order,
    and marks the few-price ones (pale bar, "few prices"), whose premium is uncertain."""
    _open(page, stations_url, "view=brands&fuel=GASOLINE&lang=pt-BR")
    href = page.locator("#st-csv").get_attribute("href")
    assert href
    exported = list(csv.DictReader(io.StringIO(httpx.get(stations_url + href, timeout=30).text)))
    few = {r["brand"] for r in exported if int(r["observations"]) < 30}
    assert few  # the real sample has such flags
    rows = page.locator("#st-brands tbody tr")
    shown = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert shown == [r["brand"] for r in exported]  # the file's flags, in its order
    marked = page.locator("#st-brands tbody tr.few")
    assert {marked.nth(i).locator("td").first.inner_text() for i in range(marked.count())} == few
    assert "poucos preços" in marked.first.inner_text()
    assert f"{len(few)} com menos de 30 preços" in page.locator("#st-summary").inner_text()
    bars = page.evaluate("() => document.getElementById('st-chart-brands').data[0].y.length")
    assert bars == len(exported)


def test_every_brand_bar_has_its_label(page: Page, stations_url: str) -> None:
    """Plotly's automatic ticks named every other flag of 44 in a fixed 560 px: a tick per bar
    now, in a chart as tall as its flags need."""
    _open(page, stations_url, "view=brands&fuel=GASOLINE&lang=en")
    bars: list[str] = page.evaluate("() => document.getElementById('st-chart-brands').data[0].y")
    assert len(bars) > 30
    labels = page.locator("#st-chart-brands .ytick text").all_text_contents()
    assert sorted(labels) == sorted(bars)
    height = page.evaluate("() => document.getElementById('st-chart-brands').offsetHeight")
    assert height >= 20 * len(bars)


def test_back_and_forward_restore_the_station_view(page: Page, stations_url: str) -> None:
    _open(page, stations_url, "view=ranking&fuel=GASOLINE&lang=en")
    page.click(".tabs [data-view='brands']")
    expect(page.locator("#st-view-brands")).to_be_visible()
    page.select_option("#st-fuel", "ETHANOL")
    expect(page.locator("#st-csv")).to_have_attribute("href", re.compile("fuel=ETHANOL"))
    page.go_back()
    expect(page.locator("#st-fuel")).to_have_value("GASOLINE")
    expect(page.locator("#st-view-brands")).to_be_visible()
    expect(page.locator("#st-csv")).to_have_attribute("href", re.compile("fuel=GASOLINE"))
    page.go_back()
    expect(page.locator("#st-view-ranking")).to_be_visible()
    expect(page.locator(".tabs [data-view='ranking']")).to_have_attribute("aria-selected", "true")
    page.go_forward()
    expect(page.locator("#st-view-brands")).to_be_visible()
    page.go_forward()
    expect(page.locator("#st-fuel")).to_have_value("ETHANOL")


def test_the_links_between_the_pages_keep_the_language(page: Page, stations_url: str) -> None:
    """Each page fell back to the browser's language (en-US here) when the other linked to it."""
    page.goto(f"{stations_url}/?lang=pt-BR")
    page.wait_for_selector("body[data-ready]:not([data-ready=''])", state="attached")
    link = page.locator("a.tab-link")
    expect(link).to_have_attribute("href", "/stations?lang=pt-BR&fuel=GASOLINE")
    link.click()
    page.wait_for_url(re.compile(r"/stations\?"))
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    expect(page.locator("#st-back")).to_have_text("Médias semanais")
    page.click(".lang-btn[data-lang='en']")
    expect(page.locator("#st-back")).to_have_attribute("href", "/?lang=en&fuel=GASOLINE")
    page.click(".lang-btn[data-lang='pt-BR']")
    expect(page.locator("#st-back")).to_have_attribute("href", "/?lang=pt-BR&fuel=GASOLINE")
    page.click("#st-back")
    page.wait_for_url(re.compile(r"/\?"))
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    expect(page.locator(".lang-btn[data-lang='pt-BR']")).to_have_attribute("aria-pressed", "true")


def test_the_links_between_the_pages_keep_the_fuel(page: Page, stations_url: str) -> None:
    """The stations page opened on gasoline whatever fuel the main page showed, and the way
    back on the main page's default: each link carried the language alone."""
    page.goto(f"{stations_url}/?view=movement&fuel=ETHANOL&lang=en")
    page.wait_for_selector("body[data-ready]:not([data-ready=''])", state="attached")
    link = page.locator("a.tab-link")
    expect(link).to_have_attribute("href", "/stations?lang=en&fuel=ETHANOL")
    page.select_option("#fuel", "LPG")  # a choice made here, not only the address's
    expect(link).to_have_attribute("href", "/stations?lang=en&fuel=LPG")
    link.click()
    page.wait_for_url(re.compile(r"/stations\?"))
    page.wait_for_selector("body[data-ready]", state="attached")
    expect(page.locator("#st-fuel")).to_have_value("LPG")
    page.select_option("#st-fuel", "ETHANOL")
    expect(page.locator("#st-back")).to_have_attribute("href", "/?lang=en&fuel=ETHANOL")
    page.click("#st-back")
    page.wait_for_url(re.compile(r"/\?"))
    page.wait_for_selector("body[data-ready]:not([data-ready=''])", state="attached")
    expect(page.locator("#fuel")).to_have_value("ETHANOL")
    expect(page.locator("#link-note")).to_be_hidden()  # nothing refused


def test_a_fuel_the_stations_page_lacks_opens_its_default_without_an_error(
    page: Page, stations_url: str
) -> None:
    # It was sent to the API, whose 422 was the page's only content (the fixture fails on it).
    _open(page, stations_url, "view=dispersion&fuel=KEROSENE&lang=en")
    expect(page.locator("#st-fuel")).to_have_value("GASOLINE")
    expect(page.locator("#st-error")).to_be_hidden()
    expect(page.locator("#st-dispersion tbody tr").first).to_be_visible()
    assert "fuel=" not in page.url  # the default, which the address leaves out
    expect(page.locator("#st-back")).to_have_attribute("href", "/?lang=en&fuel=GASOLINE")


def test_a_lake_without_gasoline_opens_on_a_fuel_it_holds_over_its_last_weeks(
    pt_page: Page, apart_url: str
) -> None:
    """With gasoline missing and LPG alone in the lake's last four weeks, the page opened on
    gasoline and said only "No station data for this choice": it offered every fuel code and
    each view's default span was the lake's last four weeks. It now offers the fuels the lake
    holds, opens on the first of them over that fuel's own last four weeks, and an address's
    fuel the lake lacks opens it too."""
    page = pt_page
    for query in ("lang=en", "view=ranking&fuel=GASOLINE&lang=en"):
        _open(page, apart_url, query)
        options = page.eval_on_selector_all("#st-fuel option", "(os) => os.map((o) => o.value)")
        assert options == ["DIESEL", "DIESEL_S10", "CNG", "LPG"]
        expect(page.locator("#st-fuel")).to_have_value("DIESEL")
        expect(page.locator("#st-error")).to_be_hidden()
        expect(page.locator("#st-summary")).to_contain_text("municipalities with Diesel prices")
        expect(page.locator("#st-cheapest tbody tr")).to_have_count(15)
        expect(page.locator("#st-start")).to_have_value("2023-12-04")
        expect(page.locator("#st-end")).to_have_value("2023-12-28")
        assert "fuel=" not in page.url  # the page's default now, which the address leaves out
    # another fuel from a fresh address: its own last weeks, not diesel's
    _open(page, apart_url, "view=dispersion&fuel=LPG&lang=en")
    expect(page.locator("#st-dispersion tbody tr")).to_have_count(4)
    expect(page.locator("#st-start")).to_have_value("2025-03-24")
    expect(page.locator("#st-end")).to_have_value("2025-04-18")


def test_an_empty_choice_shows_no_municipality_panel_under_its_note(
    pt_page: Page, apart_url: str
) -> None:
    """CNG in Acre (no station sells it) said "No station data for this choice" above an empty
    "Pick a municipality" chart panel."""
    page = pt_page
    muni = page.locator("#st-chart-muni").locator("xpath=..")
    _open(page, apart_url, "view=ranking&fuel=CNG&state=AC&lang=en")
    expect(page.locator("#st-summary")).to_have_text("No station data for this choice.")
    expect(muni).to_be_hidden()
    page.select_option("#st-state", "SP")  # a choice with towns: the panel is back
    expect(page.locator("#st-cheapest tbody tr").first).to_be_visible()
    expect(muni).to_be_visible()
    expect(page.locator("#st-muni-title")).to_have_text(
        "Pick a municipality to see its weekly distribution"
    )


def test_on_a_phone_a_flags_few_prices_mark_keeps_to_one_line(
    browser: Browser, stations_url: str
) -> None:
    """At 390 px the brand table's "3 · poucos preços" took three lines."""
    page = new_page(
        browser,
        timeout_ms=PLAYWRIGHT_TIMEOUT_MS,
        locale="pt-BR",
        viewport={"width": 390, "height": 800},
    )
    _open(page, stations_url, "view=brands&lang=pt-BR")
    lines = page.evaluate(
        """() => [...document.querySelectorAll('#st-brands tbody tr')].map((tr) => {
          const range = document.createRange();
          range.selectNodeContents(tr.cells[1]);
          return [tr.cells[1].textContent,
                  new Set([...range.getClientRects()].map((r) => r.top)).size];
        })"""
    )
    page.context.close()
    assert sum("poucos preços" in text for text, _ in lines) > 10
    assert [text for text, n in lines if n != 1] == []


PHONE_WIDTHS_JS = """() => [document.documentElement.scrollWidth,
  ...Array.from(document.querySelectorAll('main .view:not([hidden]) .table-scroll'))
    .map((box) => [box.clientWidth, box.scrollWidth > box.clientWidth])]"""


@pytest.mark.parametrize(
    ("query", "boxes"),
    [
        ("view=ranking&lang=pt-BR", 2),
        ("view=brands&lang=en", 1),
        ("view=dispersion&lang=pt-BR", 1),
        ("view=search&q=posto&lang=en", 1),
    ],
)
def test_on_a_phone_a_wide_table_scrolls_in_its_box_not_the_page(
    browser: Browser, stations_url: str, query: str, boxes: int
) -> None:
    """At 390 px the ranking's tables (a grid cell as wide as its table) and the dispersion's
    widened the page to 429 and 456 px: a sideways scroll of the whole page, the header and the
    controls ending short of it. Now each table scrolls in its own box, as wide as the panel."""
    page = new_page(
        browser,
        timeout_ms=PLAYWRIGHT_TIMEOUT_MS,
        locale="en-US",
        viewport={"width": 390, "height": 800},
    )
    _open(page, stations_url, query)
    page.wait_for_selector("main .view:not([hidden]) .st-table tbody tr")
    page_width, *tables = page.evaluate(PHONE_WIDTHS_JS)
    page.context.close()
    assert page_width == 390
    assert len(tables) == boxes
    assert all(width <= 390 - 2 * 16 for width, _ in tables), tables
    assert any(scrolls for _, scrolls in tables), tables  # the widest scrolls inside


def _iphone(browser: Browser, locale: str) -> Page:
    """A 390x844 touch phone's page (the caller closes page.context)."""
    return new_page(
        browser,
        timeout_ms=PLAYWRIGHT_TIMEOUT_MS,
        locale=locale,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_on_an_iphone_the_tabs_and_controls_keep_their_rows(
    browser: Browser, stations_url: str, lang: str
) -> None:
    """At 390x844 the controls wrapped as they came, each as wide as its longest option: "From"
    stood 15 px right of the "State" under it, "To" under a wider "Fuel" (four edges, no
    columns). Now two equal columns, every tab on one line, no sideways scroll."""
    page = _iphone(browser, "en-US")
    for view in ("ranking", "search"):
        _open(page, stations_url, f"view={view}&lang={lang}")
        assert_phone_rows(page, 390)
    page.context.close()


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_on_a_phone_the_open_views_tab_is_in_sight(
    page: Page, stations_url: str, lang: str
) -> None:
    """At 390 px the tab strip scrolls sideways: a link to the station search opened with its
    tab out of sight past the strip's right edge (x=494 of 390)."""
    page.set_viewport_size({"width": 390, "height": 800})
    for view in ("search", "dispersion", "brands", "ranking"):
        _open(page, stations_url, f"view={view}&lang={lang}")
        assert selected_tab_in_sight(page) == {"view": view, "shown": True}


MODEBAR_JS = """() => Array.from(document.querySelectorAll('main .view:not([hidden]) .modebar-btn'))
  .map((b) => b.getAttribute('data-title'))"""


def test_no_chart_offers_to_upload_itself_to_plotly_cloud(page: Page, stations_url: str) -> None:
    """Plotly 3 adds a "Share chart..." button to every modebar: an English dialog, then the
    chart's data posted to cloud.plotly.com in a new page. The station charts no longer have it."""
    _open(page, stations_url, "view=dispersion&lang=pt-BR")
    page.wait_for_selector("#st-chart-dispersion .modebar-btn", state="attached")
    titles = page.evaluate(MODEBAR_JS)
    assert (
        "Download plot as a PNG" in titles
        or "Fazer download do gráfico como imagem (PNG)" in titles
    )
    assert [t for t in titles if "Share" in t or "Compartilhar" in t] == []


HOVER_BRAND_JS = """(bar) => {
  const gd = document.getElementById('st-chart-brands');
  Plotly.Fx.hover(gd, [{ curveNumber: 0, pointNumber: bar }]);
  return gd.querySelector('.hoverlayer').textContent;
}"""


def test_a_premium_that_rounds_to_zero_shows_no_minus_sign(page: Page, stations_url: str) -> None:
    """A flag a fraction of a centavo below unbranded read "-0.0" % in the table (the real
    sample's ATEM' S, -0.001 R$/l): a sign on a figure shown as zero says it is below when
    the page cannot show that it is. Rounded to zero, a figure is shown without a sign; one
    that stays below zero at the shown digits keeps its minus, U+2212 as on the main page
    (it was Intl's hyphen), in the page's language's decimal mark."""
    rows = [["ATEM' S", 67, 12, 7.27, -0.0004, -0.02], ["LARCO", 31, 9, 6.19, -0.033, -0.5]]
    body = {
        "query": "brand_premium", "fuel": "GASOLINE", "unit": "BRL/l", "start": "2025-03-24",
        "end": "2025-04-19",
        "covered_start": "2025-03-23", "covered_end": "2025-04-19",
        "columns": ["brand", "observations", "cells", "mean_price", "premium", "premium_pct"],
        "rows": rows,
    }  # fmt: skip
    page.route("**/api/stations/brands?*", lambda route: route.fulfill(json=body))
    for lang in ("en", "pt-BR"):
        _open(page, stations_url, f"view=brands&lang={lang}")
        cells = page.locator("#st-brands tbody tr").first.locator("td")
        texts = [cells.nth(i).inner_text() for i in range(cells.count())]
        assert texts[0] == "ATEM' S", texts
        # premium, premium %: the premium is money, as every price of the page
        assert texts[-2:] in (["R$\u00a00.000", "0.0"], ["R$\u00a00,000", "0,0"]), texts
        last = page.locator("#st-brands tbody tr").last.locator("td")
        minus = last.nth(last.count() - 1).inner_text()
        assert minus == {"en": "\u22120.5", "pt-BR": "\u22120,5"}[lang], (lang, minus)
        premium = last.nth(last.count() - 2).inner_text()
        assert premium == {"en": "\u2212R$\u00a00.033", "pt-BR": "\u2212R$\u00a00,033"}[lang], (
            lang,
            premium,
        )
        # The chart's hover says them as the table does (it had Plotly's hyphen-minus).
        hover = page.evaluate(HOVER_BRAND_JS, 0)  # the bars sorted by premium: LARCO first
        said = {
            "en": "\u2212R$\u00a00.033 per litre (\u22120.5%)",
            "pt-BR": "\u2212R$\u00a00,033 por litro (\u22120,5%)",
        }[lang]
        assert hover == f"LARCO: {said}", (lang, hover)


@pytest.mark.parametrize("view", ["ranking", "brands", "dispersion"])
def test_station_text_reads_at_aa_contrast_and_every_stop_shows_its_ring(
    page: Page, stations_url: str, view: str
) -> None:
    # A brand with few prices was #7f8c8d on white, 3.5:1; the back link's ring was cut off by
    # the rounded language group and Chromium's own ring was 1 px of near black on the navy bar.
    _open(page, stations_url, f"view={view}&lang=en")
    assert page.evaluate(LOW_CONTRAST_JS, 4.5) == []
    stops = tab_through(page)
    assert [s["key"] for s in stops] == page.evaluate(REACHABLE_JS)
    assert_rings_show(stops)


def test_groups_and_charts_are_named_in_the_pages_language(page: Page, stations_url: str) -> None:
    # The language group and the tab list were named in English on the Portuguese page, and a
    # chart was a bare div whose SVG tick labels a screen reader met one by one; then an img,
    # which hid its toolbar's buttons from a screen reader while a keyboard reached them.
    _open(page, stations_url, "view=brands&fuel=GASOLINE&lang=pt-BR")
    expect(page.get_by_role("group", name="Idioma", exact=True)).to_have_count(1)
    expect(page.get_by_role("tablist", name="Visões dos postos", exact=True)).to_have_count(1)
    brands = page.locator("#st-chart-brands")
    expect(brands).to_have_attribute("role", "figure")
    expect(brands.get_by_role("button", name="Ampliar zoom", exact=True)).to_have_count(1)
    assert page.evaluate(HIDDEN_CONTROLS_JS) == []
    expect(brands).to_have_attribute(
        "aria-label", "Gasolina comum: Prêmio sobre bandeira branca (R$/l)"
    )
    # The language buttons read "EN" and "PT"; each is named by that label, then its language
    # in that language (named "Português" alone, "click PT" missed it: WCAG 2.5.3).
    expect(
        page.get_by_role("button", name="PT, Português", exact=True, pressed=True)
    ).to_have_count(1)
    assert page.evaluate(LABEL_NOT_IN_NAME_JS) == []
    # The tab's title stayed "fuelpipe — stations", in English on the Portuguese page.
    expect(page).to_have_title("fuelpipe — Todos os postos do Brasil")
    page.get_by_role("button", name="EN", pressed=False).click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    expect(page).to_have_title("fuelpipe — Every pump in Brazil")
    expect(page.get_by_role("button", name="EN, English", exact=True, pressed=True)).to_have_count(
        1
    )
    assert page.evaluate(LABEL_NOT_IN_NAME_JS) == []
    expect(page.get_by_role("group", name="Language", exact=True)).to_have_count(1)
    expect(page.get_by_role("tablist", name="Station views", exact=True)).to_have_count(1)
    expect(brands).to_have_attribute("aria-label", re.compile(r"^Gasoline: Premium over unbranded"))
    page.locator("[role=tab][data-view=dispersion]").click()
    expect(page.get_by_role("figure", name="Dispersion (Gasoline): P90, Median, P10, "
                            "Coefficient of variation", exact=True)).to_have_count(1)  # fmt: skip


def test_a_charts_toolbar_speaks_the_pages_language_as_on_the_main_page(
    page: Page, stations_url: str
) -> None:
    # The toolbar kept Plotly's Box Select, Lasso Select and Autoscale, whose words the bundle's
    # Portuguese does not have (the main page removes those buttons): English on a Portuguese
    # page.
    names = {}
    for lang in ("en", "pt-BR"):
        _open(page, stations_url, f"view=dispersion&fuel=GASOLINE&lang={lang}")
        toolbar = page.locator("#st-chart-dispersion [role=toolbar] button")
        expect(toolbar.first).to_be_attached()
        names[lang] = [b.get_attribute("data-title") for b in toolbar.all()]
    assert set(names["en"]) & set(names["pt-BR"]) == {"Zoom"}, names  # the same word in both
    assert names["en"] == [
        "Download plot as a PNG", "Zoom", "Pan", "Zoom in", "Zoom out", "Reset axes",
    ]  # fmt: skip


# The page's overflow past the viewport, and each visible table box: its role, its name and
# how far its table overflows it.
NARROW_JS = """() => ({
  page: document.documentElement.scrollWidth - innerWidth,
  boxes: Array.from(document.querySelectorAll('.table-scroll')).filter(b => b.getClientRects().length)
    .map(b => [b.getAttribute('role'), b.getAttribute('aria-label'), b.scrollWidth - b.clientWidth]),
})"""


@pytest.mark.parametrize(
    ("view", "names"),
    [
        ("ranking", ["Municípios mais baratos", "Municípios mais caros"]),
        ("brands", ["Prêmio de bandeira"]),
        ("search&q=posto", ["Busca de postos"]),
    ],
)
def test_on_a_375_px_phone_tables_scroll_in_a_named_box_the_keyboard_reaches(
    page: Page, stations_url: str, view: str, names: list[str]
) -> None:
    # The page kept to the screen and its tables scrolled in their boxes, but a box the keyboard
    # focused to scroll was a nameless group to a screen reader.
    page.set_viewport_size({"width": 375, "height": 800})
    _open(page, stations_url, f"view={view}&lang=pt-BR")
    got = page.evaluate(NARROW_JS)
    assert got["page"] == 0
    assert [(role, name) for role, name, _ in got["boxes"]] == [("region", n) for n in names]
    wide = {name for _, name, over in got["boxes"] if over > 0}
    assert wide  # a table wider than the phone
    # The keyboard reaches each box that scrolls (or a row in it), its ring showing.
    stops = tab_through(page)
    assert_rings_show(stops)
    keys = {s["key"] for s in stops}
    for name in wide:
        rows = page.locator(f".table-scroll[aria-label='{name}'] [tabindex='0']")
        assert name in keys or rows.count() > 0, name
    for name in names:
        expect(page.get_by_role("region", name=name, exact=True)).to_have_count(1)


# The header's title: how many lines it wraps to, and its box's width.
TITLE_JS = """() => { const h = document.querySelector('.brand h1'); const r = document.createRange();
  r.selectNodeContents(h);
  return {lines: new Set(Array.from(r.getClientRects(), (x) => Math.round(x.top))).size,
          width: h.getBoundingClientRect().width}; }"""


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_on_a_375_px_phone_the_header_title_is_not_squeezed_beside_its_buttons(
    page: Page, stations_url: str, lang: str
) -> None:
    # The back link and the language buttons kept their row beside the title, which got 70 px:
    # "Todos / os / postos / do / Brasil", one word a line, the subtitle in ten lines.
    page.set_viewport_size({"width": 375, "height": 800})
    _open(page, stations_url, f"view=ranking&lang={lang}")
    title = page.evaluate(TITLE_JS)
    assert title["lines"] == 1 and title["width"] > 250, title
    assert page.evaluate(NARROW_JS)["page"] == 0
    back = page.locator("#st-back").bounding_box()
    english = page.get_by_role("button", name="EN, English").bounding_box()
    assert back and english  # the buttons still share a row (the link is not in their group)
    assert abs((back["y"] + back["height"] / 2) - (english["y"] + english["height"] / 2)) < 2


def test_a_refused_date_marks_its_field_and_is_its_description(
    pt_page: Page, stations_url: str
) -> None:
    # The error was an alert above the views, tied to no field: on the From date a screen
    # reader said nothing of it.
    page = pt_page
    _open(page, stations_url, "view=dispersion&start=2024-01-01&lang=pt-BR")
    error = page.locator("#st-error")
    expect(error).to_be_visible()
    start = page.get_by_role("textbox", name="De", exact=True)
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(start).to_have_accessible_description(error.inner_text())
    assert error.inner_text().endswith(
        "está mais de 370 dias antes do último dia de coleta de Gasolina comum da base, "
        "19 de abr. de 2025, onde termina uma consulta sem data final"
    )
    assert page.locator("#st-end").get_attribute("aria-invalid") is None  # not what was refused
    # A start it takes clears both.
    page.fill("#st-start", "2025-01-01")
    expect(error).to_be_hidden()
    expect(start).not_to_have_attribute("aria-invalid", "true")
    assert page.locator("#st-start").get_attribute("aria-describedby") is None


def test_the_portuguese_charts_take_plotlys_words_and_dates_from_the_bundle(
    page: Page, stations_url: str
) -> None:
    # The page registered a pt-BR locale of its own (no words, only dates) over the bundle's;
    # the bundle's now has the day-and-month order too, and the page registers nothing.
    _open(page, stations_url, "view=dispersion&fuel=GASOLINE&lang=pt-BR")
    titles = page.evaluate(
        "() => Array.from(document.querySelectorAll('#st-chart-dispersion .modebar-btn'),"
        " b => b.dataset.title)"
    )
    assert {"Ampliar zoom", "Reduzir zoom", "Restaurar eixos"} <= set(titles), titles
    ticks = day_ticks(page, "st-chart-dispersion")
    assert len(ticks) >= 3 and all(re.match(r"\d{1,2} [a-zç]{3}", t) for t in ticks), ticks


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_copy_link_says_copied_only_when_the_clipboard_took_it(
    page: Page, stations_url: str, lang: str
) -> None:
    # A refused clipboard printed the bare address, with no word that nothing was copied.
    _open(page, stations_url, f"view=ranking&lang={lang}")
    assert_copy_link_is_honest(page, lang, "#st-share", "#st-status", "#st-link")


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_each_fuel_has_the_main_pages_name(page: Page, stations_url: str, lang: str) -> None:
    # In Portuguese this page said "Etanol" and "Diesel" where the main page says "Etanol
    # hidratado" and "Óleo diesel": one product, two names.
    page.goto(f"{stations_url}/?lang={lang}")
    main = page.evaluate(f"() => window.FUELPIPE_I18N[{lang!r}]")
    _open(page, stations_url, f"view=ranking&lang={lang}")
    names = page.eval_on_selector_all(
        "#st-fuel option", "(os) => os.map((o) => [o.value, o.textContent])"
    )
    assert len(names) >= 2
    assert dict(names) == {code: main[f"product.{code}"] for code, _ in names}


def _edge_shade(page: Page, box: str, side: str) -> float:
    """How much of the 6 px strip inside a box's left or right edge is shaded."""
    r = page.locator(box).bounding_box()
    assert r
    x = r["x"] + 1 if side == "left" else r["x"] + r["width"] - 7
    png = page.screenshot(clip={"x": x, "y": r["y"] + 2, "width": 6, "height": r["height"] - 4})
    return shaded_share(page, png)


def test_on_a_phone_a_table_that_scrolls_shades_the_edge_with_more_beyond(
    page: Page, stations_url: str
) -> None:
    # At 390 px the ranking's P90 column was off to the right with nothing saying the box
    # scrolled. The table's own text and lines are made invisible here: what is left is the cue.
    page.set_viewport_size({"width": 390, "height": 800})
    _open(page, stations_url, "view=ranking&lang=pt-BR")
    page.add_style_tag(
        content=".st-table, .st-table * { color: transparent; border-color: transparent; }"
    )
    box = ".table-scroll[aria-label='Municípios mais baratos']"
    assert page.eval_on_selector(box, "(b) => b.scrollWidth - b.clientWidth") > 0
    assert _edge_shade(page, box, "right") > 0.5  # more to the right
    assert _edge_shade(page, box, "left") < 0.05  # nothing to the left yet
    page.eval_on_selector(box, "(b) => { b.scrollLeft = b.scrollWidth; }")
    assert _edge_shade(page, box, "right") < 0.05
    assert _edge_shade(page, box, "left") > 0.5


@pytest.mark.parametrize(
    ("query", "chart", "name"),
    [
        ("view=dispersion&fuel=ETHANOL", "st-chart-dispersion", r"stations-dispersion-ETHANOL"),
        ("view=brands&fuel=GASOLINE", "st-chart-brands", r"stations-brands-GASOLINE"),
        (
            "view=ranking&fuel=ETHANOL&state=SP&muni=SP%7CSAO+PAULO",
            "st-chart-muni",
            r"stations-muni-ETHANOL-SP-SAO_PAULO",
        ),
    ],
)
def test_a_station_charts_png_is_named_after_what_it_shows(
    page: Page, stations_url: str, query: str, chart: str, name: str
) -> None:
    # Every PNG was "newplot.png", as on the main page.
    _open(page, stations_url, f"{query}&start=2025-03-24&end=2025-04-19&lang=pt-BR")
    page.wait_for_function(
        "(id) => { const g = document.getElementById(id); return g && g.data && g.data.length; }",
        arg=chart,
    )
    page.hover(f"#{chart}")
    with page.expect_download() as got:
        page.locator(f"#{chart} .modebar-btn").first.click()
    assert got.value.suggested_filename == f"{name}-2025-03-24..2025-04-19.png"


def test_copy_links_message_follows_a_language_switch(page: Page, stations_url: str) -> None:
    # "Could not copy the link" stayed in English after a switch to Portuguese.
    _open(page, stations_url, "view=ranking&lang=en")

    def drawn() -> None:
        page.wait_for_function("() => !document.querySelector('main .view.is-loading')")

    assert_copy_status_follows_the_language(page, "#st-share", "#st-status", "#st-link", drawn)


@pytest.mark.parametrize("width", [1366, 375])
def test_the_back_link_stands_apart_from_the_language_buttons(
    page: Page, stations_url: str, width: int
) -> None:
    """The link to the weekly averages sat inside the language group's border, white like the
    chosen language: "Weekly averages | EN | PT" read as one switch with two options chosen, and
    a screen reader heard a link among the Language buttons."""
    page.set_viewport_size({"width": width, "height": 800})
    _open(page, stations_url, "view=ranking&lang=en")
    group = page.get_by_role("group", name="Language")
    expect(group.get_by_role("button")).to_have_count(2)
    expect(group.get_by_role("link")).to_have_count(0)
    back = page.get_by_role("link", name="Weekly averages").bounding_box()
    box = group.bounding_box()
    assert back and box and back["x"] + back["width"] < box["x"]  # beside the group, not in it
    assert abs((back["y"] + back["height"] / 2) - (box["y"] + box["height"] / 2)) < 2
    assert page.evaluate(NARROW_JS)["page"] == 0


# Each axis title of a chart, as [its text, its left and right, the chart's left and right].
AXIS_TITLES_JS = """(id) => {
  const chart = document.getElementById(id).getBoundingClientRect();
  return [...document.querySelectorAll(`#${id} .g-xtitle text, #${id} .g-ytitle text,
    #${id} .g-y2title text`)].map((el) => {
      const r = el.getBoundingClientRect();
      return [el.textContent, r.left, r.right, chart.left, chart.right];
    });
}"""


@pytest.mark.parametrize("width", [390, 375])
@pytest.mark.parametrize(
    ("query", "chart"),
    [
        ("view=brands&fuel=GASOLINE", "st-chart-brands"),
        ("view=dispersion&fuel=GASOLINE", "st-chart-dispersion"),
        ("view=ranking&fuel=GASOLINE&muni=SP%7CSAO+PAULO", "st-chart-muni"),
    ],
)
def test_on_a_phone_every_axis_title_is_whole_inside_its_chart(
    page: Page, stations_url: str, query: str, chart: str, width: int
) -> None:
    """At 390 px the brand chart's Portuguese title, "Prêmio sobre bandeira branca (R$/l)",
    ran past the chart's right edge, cut at "(R$": Plotly centres a title on the plot (160 px
    of flag names left of it) and never wraps it. A title too long for the plot now wraps."""
    page.set_viewport_size({"width": width, "height": 800})
    _open(page, stations_url, f"{query}&lang=pt-BR")
    page.wait_for_selector(f"#{chart} .xtick", state="attached")
    titles = page.evaluate(AXIS_TITLES_JS, chart)
    assert titles
    for text, left, right, chart_left, chart_right in titles:
        assert chart_left <= left and right <= chart_right, (text, left, right, chart_right)


@pytest.mark.parametrize("width", [1366, 390])
def test_a_searchs_cnpj_and_price_are_never_broken_across_lines(
    page: Page, stations_url: str, width: int
) -> None:
    """At 1366 px the search table broke a CNPJ after its dash ("35.245.207/0001-" over "00")
    and a bottle's price from its unit ("89.00" over "R$/13 kg"): both keep to one line."""
    page.set_viewport_size({"width": width, "height": 800})
    _open(page, stations_url, "view=search&q=sao+jose&lang=en")
    lines = page.evaluate(
        """() => [...document.querySelectorAll('#st-search tbody tr')].map((tr) =>
          [tr.cells[0], tr.cells[tr.cells.length - 1]].map((td) => {
            const range = document.createRange();
            range.selectNodeContents(td);
            return [td.textContent, new Set([...range.getClientRects()].map((r) => r.top)).size];
          }))"""
    )
    assert len(lines) > 20
    assert any(price.endswith("per 13 kg") for (_, _), (price, _) in lines)
    broken = [cell for row in lines for cell in row if cell[1] != 1]
    assert broken == []


# Each ranking table's towns, or None when its panel is hidden.
RANKED_JS = """() => ['st-cheapest', 'st-dearest'].map((id) => {
  const table = document.getElementById(id);
  return table.closest('.panel').checkVisibility()
    ? [...table.querySelectorAll('tbody tr')].map((tr) => tr.cells[0].textContent)
    : null;
})"""


@pytest.mark.parametrize("state", ["AC", "PI", "SC", "DF", "SP"])
def test_no_municipality_is_both_cheapest_and_dearest(
    page: Page, stations_url: str, state: str
) -> None:
    """Acre has 2 municipalities with gasoline prices: both tables listed both, Rio Branco as
    the cheapest and, below Cruzeiro do Sul, as the dearest (24 of the 27 states have fewer than
    30 towns, so their two tables shared towns). A state of up to 30 towns is split at its
    median now, the cheaper half in one table, the dearer in the other; the Federal District,
    one town, has one table."""
    _open(page, stations_url, f"view=ranking&fuel=GASOLINE&state={state}&lang=en")
    towns = [row[1] for row in _api(stations_url, f"/api/stations/ranking?state={state}")["rows"]]  # type: ignore[union-attr]
    cheapest, dearest = page.evaluate(RANKED_JS)
    n = len(towns)
    assert cheapest == towns[: min(15, (n + 1) // 2)]
    if n == 1:
        assert dearest is None  # no empty table beside the one town
    else:
        assert dearest == towns[::-1][: min(15, n // 2)]
        assert not set(cheapest) & set(dearest)


def test_a_state_picked_drops_a_town_of_another_state(page: Page, stations_url: str) -> None:
    """São Paulo's weekly distribution stayed drawn, its CSV offered, under Acre's ranking once
    Acre was picked (the address kept muni=SP|SAO PAULO). A state picked drops a town of another
    state; all states, or the town's own, keep it."""
    _open(page, stations_url, "view=ranking&fuel=GASOLINE&muni=SP%7CSAO+PAULO&lang=en")
    page.wait_for_function("() => document.getElementById('st-chart-muni').data")
    page.select_option("#st-state", "SP")
    page.wait_for_function("() => new URL(location.href).searchParams.get('state') === 'SP'")
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")
    assert "muni=SP%7CSAO+PAULO" in page.url
    assert page.inner_text("#st-muni-title").startswith("SAO PAULO (SP)")
    page.select_option("#st-state", "AC")
    page.wait_for_function("() => new URL(location.href).searchParams.get('state') === 'AC'")
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")
    assert "muni=" not in page.url
    assert page.inner_text("#st-muni-title") == "Pick a municipality to see its weekly distribution"
    assert not page.is_visible("#st-muni-csv")
    page.go_back()  # Back shows São Paulo again, as it was
    page.wait_for_function("() => new URL(location.href).searchParams.get('state') === 'SP'")
    page.wait_for_function(
        "() => document.getElementById('st-muni-title').textContent.startsWith('SAO PAULO')"
    )


# The x tick labels of a chart (as drawn) that its legend covers, each with its text.
UNDER_THE_LEGEND_JS = """(id) => {
  const legend = document.querySelector(`#${id} .legend`).getBoundingClientRect();
  return [...document.querySelectorAll(`#${id} .xtick text, #${id} .xtick tspan`)]
    .map((el) => [el.textContent, el.getBoundingClientRect()])
    .filter(([, r]) => r.bottom > legend.top && r.top < legend.bottom
      && r.right > legend.left && r.left < legend.right)
    .map(([text]) => text);
}"""


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize(
    ("query", "chart"),
    [
        ("view=dispersion&fuel=GASOLINE", "st-chart-dispersion"),
        ("view=ranking&fuel=GASOLINE&muni=SP%7CSAO+PAULO", "st-chart-muni"),
    ],
)
def test_a_charts_legend_covers_none_of_its_dates(
    page: Page, stations_url: str, query: str, chart: str, width: int
) -> None:
    """At 390 px the dispersion chart's legend sat on the year under its first date ("2025"
    under "23 mar", half hidden): the legend goes below the dates, in both languages."""
    page.set_viewport_size({"width": width, "height": 800})
    for lang in ("pt-BR", "en"):
        _open(page, stations_url, f"{query}&lang={lang}")
        page.wait_for_selector(f"#{chart} .legend", state="attached")
        assert page.evaluate(UNDER_THE_LEGEND_JS, chart) == [], lang


# A chart's x ticks (ISO days) and its weeks (the days its points are drawn at).
TICKS_AND_WEEKS_JS = """(id) => {
  const el = document.getElementById(id);
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  return [el._fullLayout.xaxis._vals.map((v) => day(v.x)), el.data[el.data.length - 1].x];
}"""


@pytest.mark.parametrize("width", [1366, 390])
@pytest.mark.parametrize(
    ("query", "chart"),
    [
        ("view=dispersion&fuel=GASOLINE", "st-chart-dispersion"),
        ("view=ranking&fuel=GASOLINE&muni=SP%7CSAO+PAULO", "st-chart-muni"),
    ],
)
def test_a_weekly_charts_dates_are_its_survey_weeks(
    page: Page, stations_url: str, query: str, chart: str, width: int
) -> None:
    """The weekly charts drew their points on the survey weeks' Sundays (23 Mar, 30 Mar, ...)
    under dates every 3 days from the 24th (24 Mar, 27 Mar, 30 Mar, 2 Apr): at 1366 px no
    point had its date, and the first read as a week before the table's "Week of 3/23/2025".
    The dates are the weeks now."""
    page.set_viewport_size({"width": width, "height": 800})
    _open(page, stations_url, f"{query}&lang=en")
    page.wait_for_selector(f"#{chart} .xtick", state="attached")
    ticks, weeks = page.evaluate(TICKS_AND_WEEKS_JS, chart)
    assert len(weeks) == 4
    inside = [t for t in ticks if weeks[0] <= t <= weeks[-1]]
    assert inside == weeks, ticks


def test_a_picked_town_without_prices_of_the_fuel_says_so_with_no_empty_axes(
    page: Page, stations_url: str
) -> None:
    """A town picked under one fuel stays picked when the fuel changes (and a link names it):
    where it has no price of the new fuel (LPG in some towns) the panel drew empty axes from
    2000 to 2001 under the town's "weekly price distribution" title."""
    towns = {
        r[1] for r in _api(stations_url, "/api/stations/ranking?fuel=GASOLINE&state=SP")["rows"]
    }  # type: ignore[union-attr]
    lpg = {r[1] for r in _api(stations_url, "/api/stations/ranking?fuel=LPG&state=SP")["rows"]}  # type: ignore[union-attr]
    town = sorted(towns - lpg)[0]
    _open(page, stations_url, f"view=ranking&fuel=GASOLINE&state=SP&muni=SP%7C{town}&lang=en")
    chart = page.locator("#st-chart-muni")
    page.wait_for_function(
        "() => { const g = document.getElementById('st-chart-muni'); return g && g.data && g.data.length === 3; }"
    )
    page.locator("#st-fuel").select_option("LPG")
    title = page.locator("#st-muni-title")
    expect(title).to_have_text(f"{town} (SP): No station data for this choice.")
    expect(chart).to_be_hidden()
    page.locator(".lang-btn[data-lang=pt-BR]").click()
    expect(title).to_have_text(f"{town} (SP): Sem dados de postos para esta escolha.")
    page.locator("#st-fuel").select_option("GASOLINE")  # back to a fuel it has: drawn again
    expect(chart).to_be_visible()
    page.wait_for_function(
        "() => { const g = document.getElementById('st-chart-muni'); return g && g.data && g.data.length === 3 && g.data[2].x.length > 0; }"
    )


def _hover(page: Page, chart: str, curve: int, point: int = 0) -> str:
    """The hover label of one point of a station chart, as drawn (Plotly throttles hovers, so
    the label is awaited, the previous one cleared first)."""
    page.evaluate("(id) => Plotly.Fx.unhover(id)", chart)
    page.evaluate(  # in the curve's own subplot (the dispersion's CV has its panel, "xy2")
        """([id, c, p]) => {
          const tr = document.getElementById(id)._fullData[c];
          Plotly.Fx.hover(id, [{curveNumber: c, pointNumber: p}], tr.xaxis + tr.yaxis);
        }""",
        [chart, curve, point],
    )
    page.wait_for_function(
        "(id) => document.querySelectorAll(`#${id} .hoverlayer .hovertext`).length > 0", arg=chart
    )
    labels = page.locator(f"#{chart} .hoverlayer .hovertext").all_text_contents()
    assert len(labels) == 1, labels
    return labels[0]


@pytest.mark.parametrize(
    ("lang", "week", "median", "stations", "per"),
    [
        ("en", "Mar 23, 2025", "Median", "stations", "per litre"),
        ("pt-BR", "23 de mar. de 2025", "Mediana", "postos", "por litro"),
    ],
)
def test_station_chart_hovers_name_the_week_and_both_ends_of_the_band(
    page: Page, stations_url: str, lang: str, week: str, median: str, stations: str, per: str
) -> None:
    """The municipality chart's band said "P10–P90(Mar 23, 2025, 5.744)": one number, its P10,
    for a range, and in Plotly's date words, not the page's; its median said "5.79 · 10
    Stations", with no week. The dispersion chart's cut its coefficient's name to
    "Coefficient ...". Their prices were bare numbers ("5,79") where the main page's hovers write
    money and its unit ("R$ 5,79 por litro")."""
    _open(page, stations_url, f"view=ranking&fuel=GASOLINE&lang={lang}")
    ranking = _api(stations_url, "/api/stations/ranking?fuel=GASOLINE")["rows"]
    assert isinstance(ranking, list)
    uf, town = ranking[0][0], ranking[0][1]
    page.locator("#st-cheapest tbody tr").first.click()
    page.wait_for_function(
        "() => { const g = document.getElementById('st-chart-muni'); return g && g.data && g.data.length === 3; }"
    )
    body = _api(
        stations_url,
        f"/api/stations/municipality?fuel=GASOLINE&state={uf}&municipality={town}",
    )
    cols: list[str] = body["columns"]  # type: ignore[assignment]
    first = dict(zip(cols, body["rows"][0], strict=True))  # type: ignore[index]
    assert first["week"] == "2025-03-23"

    def num(value: float, digits: int = 2) -> str:
        text = f"{value:.{digits}f}"
        return text.replace(".", ",") if lang == "pt-BR" else text

    def money(value: float) -> str:
        return f"R$\u00a0{num(value)}"

    band = _hover(page, "st-chart-muni", 1)
    assert band == f"{week} · P10–P90: {money(first['p10'])} – {money(first['p90'])} {per}"
    assert _hover(page, "st-chart-muni", 2) == (
        f"{week} · {median}: {money(first['median'])} {per} · {first['stations']} {stations}"
    )

    page.locator(".tabs [data-view=dispersion]").click()
    page.wait_for_function(
        "() => { const g = document.getElementById('st-chart-dispersion'); return g && g.data && g.data.length === 4; }"
    )
    spread = _api(stations_url, "/api/stations/dispersion?fuel=GASOLINE")
    row = dict(zip(spread["columns"], spread["rows"][0], strict=True))  # type: ignore[call-overload,index]
    assert _hover(page, "st-chart-dispersion", 0) == f"{week} · P90: {money(row['p90'])} {per}"
    cv = "Coefficient of variation" if lang == "en" else "Coeficiente de variação"
    assert _hover(page, "st-chart-dispersion", 3) == f"{week} · {cv}: {num(row['cv'] * 100, 1)}%"


@pytest.mark.parametrize("fuel", ["GASOLINE", "LPG"])
def test_station_price_axes_tick_in_centavos(page: Page, stations_url: str, fuel: str) -> None:
    """The municipality and dispersion charts ticked "5.8" beside "5.75", and "6" beside
    "6.2", where the main page's price axes write every tick in centavos."""
    _open(page, stations_url, f"view=ranking&fuel={fuel}&lang=en")
    page.locator("#st-cheapest tbody tr").first.click()
    page.wait_for_selector("#st-chart-muni .ytick text", state="attached")
    page.locator(".tabs [data-view=dispersion]").click()
    page.wait_for_selector("#st-chart-dispersion .ytick text", state="attached")
    for chart in ("st-chart-dispersion", "st-chart-muni"):
        ticks = page.locator(f"#{chart} .ytick text").all_text_contents()
        assert len(ticks) >= 3, (chart, ticks)
        assert all(re.fullmatch(r"\d[\d,]*\.\d\d", tick) for tick in ticks), (chart, ticks)


def test_a_day_typed_with_the_keyboard_is_asked_for_only_when_whole(
    page: Page, stations_url: str
) -> None:
    """Typed digit by digit, each first digits of the year made a day ("0002-03-30", "0020-…",
    "0202-…"): each was fetched, refused with a 422, and pushed a history entry."""
    _open(page, stations_url, "view=dispersion&fuel=GASOLINE&lang=en")
    asked: list[str] = []
    page.on("request", lambda req: asked.append(req.url) if "/api/stations/" in req.url else None)
    page.focus("#st-start")
    page.keyboard.press("ArrowRight")  # to the day: the month stays March
    page.keyboard.type("30")
    page.keyboard.press("ArrowRight")
    page.keyboard.type("2025")
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('start') === '2025-03-30'"
    )
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")
    starts = [m for url in asked for m in re.findall(r"[?&]start=([^&]*)", url)]
    assert starts and starts[-1] == "2025-03-30", asked
    assert not [day for day in starts if day.startswith("0")], asked


def test_an_answer_landing_while_a_year_is_typed_leaves_the_keys_alone(
    page: Page, stations_url: str
) -> None:
    """CI's failure: the answer for "2025-03-30" landed between the year's "2" and "0". The
    page wrote the field's value under the reader's keys, the year typed on became "0000" (an
    empty value), and the page went back to its default span, 2025-03-24."""
    _open(page, stations_url, "view=dispersion&fuel=GASOLINE&lang=en")
    page.focus("#st-start")
    page.keyboard.press("ArrowRight")
    page.keyboard.type("30")
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('start') === '2025-03-30'"
    )
    page.keyboard.type("2")  # "0002-03-30", not asked for
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")
    page.keyboard.type("025")
    page.wait_for_function("() => document.getElementById('st-start').value === '2025-03-30'")
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")
    assert "start=2025-03-30" in page.url
    # A part cleared to be typed again (an empty value) does not ask for the default span, and
    # left unfinished the field shows the span shown again.
    asked: list[str] = []
    page.on("request", lambda req: asked.append(req.url) if "/api/stations/" in req.url else None)
    page.keyboard.press("Backspace")
    assert page.input_value("#st-start") == ""
    page.locator("#st-fuel").focus()
    expect(page.locator("#st-start")).to_have_value("2025-03-30")
    assert "start=2025-03-30" in page.url
    assert asked == []


START_IS = "(day) => new URLSearchParams(location.search).get('start') === day"


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
@pytest.mark.parametrize("width", [1280, 390])
def test_a_day_typed_over_another_passes_through_no_other_day(
    page: Page, stations_url: str, lang: str, width: int
) -> None:
    """Typing the day "30" over "24" made "03" first: 2025-03-03 is a valid day, and it was
    fetched and pushed as a history entry before 2025-03-30. A day typed with the keys is taken
    once the reader pauses (the page's clock is Playwright's here: it moves when the test says
    so), leaves the field or presses Enter; a choice made without the keys, at once."""
    page.set_viewport_size({"width": width, "height": 900})
    page.clock.install(time=NOW)
    _open(page, stations_url, f"view=dispersion&fuel=GASOLINE&lang={lang}")
    page.clock.pause_at(datetime(2025, 4, 22, 13, 0, tzinfo=UTC))
    assert page.input_value("#st-start") == "2025-03-24"
    asked: list[str] = []
    page.on("request", lambda req: asked.append(req.url) if "/api/stations/" in req.url else None)
    entries = page.evaluate("() => history.length")
    page.focus("#st-start")
    page.keyboard.press("ArrowRight")  # to the day (the browser's en-US field: MM/DD/YYYY)
    page.keyboard.type("30")
    assert page.input_value("#st-start") == "2025-03-30"
    assert asked == []  # neither "03" nor "30" while the reader may still be typing
    page.clock.run_for(1000)  # a pause
    page.wait_for_function(START_IS, arg="2025-03-30")
    page.wait_for_function("() => !document.querySelector('main .view.is-loading')")
    assert [u for u in asked if "start=2025-03-03" in u] == [], asked
    assert page.evaluate("() => history.length") == entries + 1
    # Leaving the field or pressing Enter takes the day typed without a pause.
    page.keyboard.press("ArrowLeft")  # back from the year the field moved on to
    page.keyboard.type("29")
    page.keyboard.press("Enter")
    page.wait_for_function(START_IS, arg="2025-03-29")
    page.keyboard.press("ArrowLeft")
    page.keyboard.type("28")
    page.locator("#st-fuel").focus()
    page.wait_for_function(START_IS, arg="2025-03-28")
    # A day set without the keys (as the picker does) is taken at once.
    page.locator("#st-start").fill("2025-03-27")
    page.wait_for_function(START_IS, arg="2025-03-27")
    days = [m for url in asked for m in re.findall(r"[?&]start=([^&]*)", url)]
    assert days == ["2025-03-30", "2025-03-29", "2025-03-28", "2025-03-27"], asked
    assert page.evaluate("() => history.length") == entries + 4


@pytest.mark.parametrize(
    ("lang", "weeks", "asked"),
    [
        (
            "en",
            "survey weeks Mar 30, 2025 to Apr 5, 2025.",
            "the days asked for, Apr 1, 2025 to Apr 2, 2025.",
        ),
        (
            "pt-BR",
            "semanas de pesquisa de 30 de mar. de 2025 a 5 de abr. de 2025.",
            "os dias pedidos, de 1 de abr. de 2025 a 2 de abr. de 2025.",
        ),
    ],
)
@pytest.mark.parametrize("view", ["ranking", "brands", "dispersion"])
def test_the_summary_says_the_weeks_answered_and_the_days_asked(
    page: Page, stations_url: str, lang: str, weeks: str, asked: str, view: str
) -> None:
    """The From and To fields said 4/1/2025 and 4/2/2025, the summary "3/30/2025 to 4/5/2025"
    alone: the answer's whole survey weeks read as a contradiction of the fields. The summary
    names both spans; a span that is whole weeks is said once."""
    _open(
        page, stations_url, f"view={view}&fuel=GASOLINE&start=2025-04-01&end=2025-04-02&lang={lang}"
    )
    summary = page.locator("#st-summary").inner_text()
    assert weeks in summary, summary
    assert asked in summary, summary
    assert page.input_value("#st-start") == "2025-04-01"
    _open(
        page, stations_url, f"view={view}&fuel=GASOLINE&start=2025-03-30&end=2025-04-05&lang={lang}"
    )
    summary = page.locator("#st-summary").inner_text()
    assert asked.partition(",")[0] not in summary, summary  # the weeks said once


# Each dispersion line's points as the page's y pixels: [name, top, bottom] (a y axis's l2p is
# its pixel from the top of its own domain, _offset where that domain starts).
LINE_PIXELS_JS = """() => {
  const g = document.getElementById('st-chart-dispersion');
  return g._fullData.map((tr) => {
    const ax = g._fullLayout[tr.yaxis === 'y2' ? 'yaxis2' : 'yaxis'];
    const ys = tr.y.filter((v) => v !== null).map((v) => ax._offset + ax.l2p(v));
    return [tr.name, Math.min(...ys), Math.max(...ys)];
  });
}"""


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_dispersion_cv_line_never_sits_on_the_price_lines(
    page: Page, stations_url: str, width: int, lang: str
) -> None:
    """On its own right axis over the prices, the coefficient of variation's dotted line sat on
    the P90 line at 390 px. It has a panel of its own under them, titled inside the chart."""
    page.set_viewport_size({"width": width, "height": 900})
    _open(page, stations_url, f"view=dispersion&fuel=GASOLINE&lang={lang}")
    page.wait_for_selector("#st-chart-dispersion .y2tick text", state="attached")
    lines = page.evaluate(LINE_PIXELS_JS)
    assert len(lines) == 4, lines
    *prices, (_, cv_top, _) = lines
    lowest_price = max(bottom for _, _, bottom in prices)
    assert lowest_price + 12 < cv_top, lines  # apart, with room between
    titles = page.evaluate(AXIS_TITLES_JS, "st-chart-dispersion")
    assert titles
    for text, left, right, chart_left, chart_right in titles:
        assert chart_left <= left and right <= chart_right, (text, left, right, chart_right)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_cv_of_a_single_week_is_drawn(page: Page, stations_url: str, width: int) -> None:
    """A span within one survey week drew its prices as points and its coefficient of
    variation, a line of one point, as nothing: an empty panel under a legend naming it."""
    page.set_viewport_size({"width": width, "height": 900})
    _open(page, stations_url, "view=dispersion&fuel=GASOLINE&start=2025-04-01&end=2025-04-02")
    page.wait_for_selector("#st-chart-dispersion .y2tick text", state="attached")
    assert (
        page.evaluate("() => document.getElementById('st-chart-dispersion').data[3].x.length") == 1
    )
    expect(
        page.locator("#st-chart-dispersion .xy2 .scatterlayer .trace .points path")
    ).to_have_count(1)


# The note above a view and the view's first panel: the space between, and the space the main
# page leaves between its views' notes and panels (the view's gap).
NOTE_GAP_JS = """() => {
  const note = document.getElementById('st-summary').getBoundingClientRect();
  const view = document.querySelector('main .view:not([hidden])');
  const panel = view.firstElementChild.getBoundingClientRect();
  return [Math.round(panel.top - note.bottom), getComputedStyle(view).rowGap];
}"""


@pytest.mark.parametrize("view", ["ranking", "brands", "dispersion"])
def test_the_note_above_a_view_stands_apart_from_its_first_panel(
    page: Page, stations_url: str, view: str
) -> None:
    """The note sat on the panel under it, 0 px apart (the main page's keep 16 px): outside the
    view, it had none of the view's gap."""
    _open(page, stations_url, f"view={view}")
    expect(page.locator("#st-summary")).not_to_be_empty()
    gap, view_gap = page.evaluate(NOTE_GAP_JS)
    assert f"{gap}px" == view_gap == "16px"


# The brand chart's toolbar and its bars: any bar the toolbar's box overlaps.
TOOLBAR_OVER_BARS_JS = """() => {
  const chart = document.getElementById('st-chart-brands');
  const bar = chart.querySelector('.modebar').getBoundingClientRect();
  const shown = getComputedStyle(chart.querySelector('.modebar-group')).opacity === '1';
  const bars = [...chart.querySelectorAll('.trace.bars .point path')];
  const over = bars.filter((p) => {
    const r = p.getBoundingClientRect();
    return r.top < bar.bottom && r.bottom > bar.top && r.left < bar.right && r.right > bar.left;
  }).length;
  return {shown, bars: bars.length, over};
}"""


def test_on_a_touch_phone_the_brand_charts_toolbar_covers_no_bar(
    browser: Browser, stations_url: str
) -> None:
    """A device with no hover shows Plotly's toolbar at all times, top right: it sat on the
    top flag's bar (the largest premium, the longest bar), 16 px of margin above the bars."""
    page = _iphone(browser, "pt-BR")
    try:
        _open(page, stations_url, "view=brands&lang=pt-BR")
        page.wait_for_selector("#st-chart-brands .trace.bars .point path")
        got = page.evaluate(TOOLBAR_OVER_BARS_JS)
    finally:
        page.context.close()
    assert got["shown"] and got["bars"] > 10, got
    assert got["over"] == 0, got
