"""The station views in headless Chromium, on a lake of the real ANP sample: tables and charts
match the API, both languages, the URL restores the view, CSV downloads, no console errors."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from devtools.dashboard.serving import serving
from playwright.sync_api import Browser, ConsoleMessage, Page

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

pytestmark = pytest.mark.browser
pytest.importorskip("duckdb")

NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def stations_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard with a station lake holding the real gasoline/ethanol and LPG files."""
    import lzma

    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.adapters.lake.storage import LocalLakeStorage

    tmp = tmp_path_factory.mktemp("stations-browser")
    lake = StationLake(LocalLakeStorage(tmp / "lake"), FixedClock(NOW))
    for group in ("gasolina-etanol", "glp"):
        path = tmp / f"ultimas-4-semanas-{group}.csv"
        path.write_bytes(lzma.decompress((SNAPSHOT_DIR / f"shpc/qus/{path.name}.xz").read_bytes()))
        lake.ingest_path(path)
    store = SqliteStore(tmp / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), stations=lake)
    with serving(app) as url:
        yield url
    store.close()


@pytest.fixture
def page(browser: Browser, stations_url: str) -> Iterator[Page]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "request",
        lambda req: None if req.url.startswith(stations_url) else problems.append(req.url),
    )
    yield page
    context.close()
    assert problems == []


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


def test_page_without_a_lake_says_how_to_get_one(browser: Browser, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "x.sqlite", clock=FixedClock(NOW))
    with serving(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as url:
        page = browser.new_page()
        page.goto(f"{url}/stations")
        page.wait_for_selector("body[data-ready=error]", state="attached")
        assert "fuelpipe stations ingest" in page.locator("#st-error").inner_text()
        page.close()
    store.close()
