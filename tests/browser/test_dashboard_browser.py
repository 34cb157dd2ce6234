"""The dashboard in headless Chromium: charts match the API, controls work, URLs share views."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

pytestmark = pytest.mark.browser

Json = dict[str, Any]


def _states(rows: list[Json]) -> list[Json]:
    return [r for r in rows if r["level"] == "STATE"]


# How many points each chart must draw, computed from the API answer its data-source names.
EXPECTED_POINTS: dict[str, Callable[[Json], int]] = {
    "chart-overview": lambda b: sum(len(s["points"]) for s in b["series"]),
    "chart-price": lambda b: len(b["points"]),
    "chart-index": lambda b: sum(len(s["points"]) for s in b["series"]),
    "chart-map": lambda b: len(_states(b["areas"])),
    "chart-areas": lambda b: len(b["areas"]),
    "chart-parity": lambda b: len(_states(b["areas"])),
    "chart-parity-bars": lambda b: len(_states(b["areas"]) or b["areas"]),
    "chart-corr": lambda b: len(b["keys"]) ** 2,
    "chart-lags": lambda b: len(b["cross"]),
    "chart-coefs": lambda b: len(b["regression"]["coefficients"]),
    "chart-health": lambda b: len(b["series"]),
}

# Every point Plotly holds in a graph div, whatever the trace type.
COUNT_POINTS_JS = """(id) => {
  const gd = document.getElementById(id);
  if (!gd || !gd.data) return null;
  let n = 0;
  for (const tr of gd.data) {
    if (tr.type === 'choropleth') n += tr.locations.length;
    else if (tr.type === 'heatmap') n += tr.z.reduce((a, row) => a + row.length, 0);
    else n += tr.x.length;
  }
  return n;
}"""

CHARTS_JS = """() => Array.from(document.querySelectorAll('.chart')).map(d => ({
  id: d.id, source: d.dataset.source || '', rendered: d.dataset.rendered || '',
  empty: d.dataset.empty || '', visible: !!d.offsetParent,
}))"""


@dataclass
class Watched:
    """A page and what it said: console errors, page errors and off-host requests."""

    page: Page
    base: str
    problems: list[str] = field(default_factory=list)

    def open(self, query: str) -> None:
        """Load the page with a query string and wait until its view is drawn."""
        self.page.goto(f"{self.base}/?{query}")
        self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until the current view finished loading."""
        self.page.wait_for_selector("body:not([data-ready=''])[data-ready]", state="attached")

    def charts(self) -> list[Json]:
        """The chart divs of the page with their data-source and state."""
        charts: list[Json] = self.page.evaluate(CHARTS_JS)
        return charts

    def points(self, chart_id: str) -> int | None:
        """How many points Plotly draws in that chart."""
        n: int | None = self.page.evaluate(COUNT_POINTS_JS, chart_id)
        return n

    def title(self, chart_id: str) -> str:
        """The Plotly title of a chart (SVG text)."""
        return self.page.locator(f"#{chart_id} .gtitle").first.text_content() or ""


@pytest.fixture
def watched(browser: Browser, dashboard_url: str) -> Iterator[Watched]:
    """A fresh page whose console errors and external requests fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    w = Watched(page, dashboard_url)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            w.problems.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: w.problems.append(f"page error: {exc}"))
    page.on(
        "request",
        lambda req: (
            None
            if req.url.startswith(dashboard_url) or req.url.startswith("data:")
            else w.problems.append(f"off-host request: {req.url}")
        ),
    )
    yield w
    context.close()
    assert w.problems == []


VIEWS = {
    "overview": "view=overview",
    "movement": "view=movement&fuel=GASOLINE&area=SE",
    "map": "view=map&fuel=GASOLINE",
    "parity": "view=parity",
    "correlations": "view=correlations&fuel=GASOLINE&area=BR",
    "lags": "view=lags&fuel=GASOLINE&area=BR&driver=BRENT_BRL",
    "health": "view=health",
}


def test_every_chart_draws_the_points_the_api_returns(
    watched: Watched, dashboard_url: str, screenshots: Path
) -> None:
    drawn = 0
    with httpx.Client(base_url=dashboard_url) as api:
        for name, query in VIEWS.items():
            watched.open(query)
            visible = [c for c in watched.charts() if c["visible"]]
            assert visible, f"{name}: no chart drawn"
            for chart in visible:
                assert chart["source"], f"{name}/{chart['id']} has no data source"
                assert chart["rendered"], f"{name}/{chart['id']} never rendered"
                body = api.get(chart["source"]).json()
                want = EXPECTED_POINTS[chart["id"]](body)
                assert want > 0
                assert watched.points(chart["id"]) == want, f"{name}/{chart['id']}"
                drawn += 1
            watched.page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    assert drawn >= 11


def test_fuel_area_and_language_update_charts_and_labels(
    watched: Watched, screenshots: Path
) -> None:
    page = watched.page
    watched.open("view=movement&fuel=GASOLINE&area=BR&lang=en")
    assert "Gasoline — Brazil" in watched.title("chart-price")
    before = watched.points("chart-price")

    page.select_option("#fuel", "DIESEL")
    watched.wait_ready()
    assert "Diesel — Brazil" in watched.title("chart-price")
    assert "FUEL%23DIESEL%23BR" in page.get_attribute("#chart-price", "data-source")

    page.select_option("#area", "REGION_NE")
    watched.wait_ready()
    assert "Diesel — Nordeste" in watched.title("chart-price")
    assert "FUEL%23DIESEL%23REGION_NE" in page.get_attribute("#chart-price", "data-source")
    assert watched.points("chart-price") == before  # same weeks, another series

    page.click(".lang-btn[data-lang='pt-BR']")
    watched.wait_ready()
    assert "Óleo diesel — Nordeste" in watched.title("chart-price")
    assert page.locator(".tabs [data-view='movement']").text_content() == "Evolução de preços"
    assert page.locator("html").get_attribute("lang") == "pt-BR"
    ticks = " ".join(page.locator("#chart-price .ytick text").all_text_contents())
    assert re.search(r"R\$ \d+,\d", ticks.replace("\u00a0", " "))  # decimal comma, pt-BR style
    page.screenshot(path=str(screenshots / "movement-pt-BR.png"), full_page=True)

    page.click(".tabs [data-view='overview']")
    watched.wait_ready()
    cards = page.locator("#cards").text_content() or ""
    assert "R$ 7,30" in cards.replace("\u00a0", " ")  # gasoline 7.295 in Brazilian format
    assert "em 1 de mai. de 2022" in cards.replace("\u00a0", " ")
    page.click(".lang-btn[data-lang='en']")
    watched.wait_ready()
    cards = page.locator("#cards").text_content() or ""
    assert "R$7.30" in cards.replace("\u00a0", "")
    assert "as of May 1, 2022" in cards


def test_a_shared_url_restores_the_view(
    watched: Watched, dashboard_url: str, browser: Browser
) -> None:
    page = watched.page
    watched.open("view=overview&lang=en")
    page.click(".tabs [data-view='lags']")
    watched.wait_ready()
    page.select_option("#fuel", "ETHANOL")
    watched.wait_ready()
    page.select_option("#area", "REGION_SE")
    watched.wait_ready()
    page.select_option("#driver", "CURRENCY#USD")
    watched.wait_ready()
    page.select_option("#window", "26")
    watched.wait_ready()
    page.click(".lang-btn[data-lang='pt-BR']")
    watched.wait_ready()
    shared = page.url
    source = page.get_attribute("#chart-lags", "data-source")
    assert "view=lags" in shared
    assert "fuel=ETHANOL" in shared

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    other = context.new_page()
    other.goto(shared)
    other.wait_for_selector("body[data-ready='lags']", state="attached", timeout=15_000)
    assert other.input_value("#fuel") == "ETHANOL"
    assert other.input_value("#area") == "REGION_SE"
    assert other.input_value("#driver") == "CURRENCY#USD"
    assert other.input_value("#window") == "26"
    assert other.get_attribute(".lang-btn[data-lang='pt-BR']", "aria-pressed") == "true"
    assert other.get_attribute(".tabs [data-view='lags']", "aria-selected") == "true"
    assert other.get_attribute("#chart-lags", "data-source") == source
    assert "Etanol hidratado (Sudeste)" in (
        other.locator("#chart-lags .gtitle").text_content() or ""
    )
    context.close()


def test_missing_data_shows_an_explaining_empty_state(watched: Watched, screenshots: Path) -> None:
    watched.open("view=movement&fuel=DIESEL&area=SP&lang=en")
    box = watched.page.locator("#chart-price + .empty")
    assert box.is_visible()
    text = box.text_content() or ""
    assert "No stored Diesel (São Paulo)" in text
    assert "Stored Diesel prices for states: none stored yet." in text
    assert watched.page.get_attribute("#chart-price", "data-empty") == "1"

    watched.open("view=map&fuel=DIESEL&lang=en")
    text = watched.page.locator("#chart-map + .empty").text_content() or ""
    assert "No state-level Diesel prices are stored for the week of May 1, 2022" in text
    assert watched.points("chart-areas") == 6  # Brazil and the five regions still show
    watched.page.screenshot(path=str(screenshots / "map-empty-state.png"), full_page=True)
