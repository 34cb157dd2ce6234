"""The overview's cards in headless Chromium, on the real data: a driver's change is not
coloured as good or bad, every number writes its minus as Plotly's axes do (U+2212), Brent in
reais says when it was published, and the Stations link's tooltip speaks the page's language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from devtools.dashboard.serving import serving
from playwright.sync_api import Browser, Page
from tests.browser.conftest import error_free_page
from tests.dashboard.conftest import DATASETS, NOW

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import load_history
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status

pytestmark = pytest.mark.browser
MINUS = "\u2212"
END = "2022-01-15"  # the dollar fell on the week (-2.5%), ethanol and LPG too
FUELS = {"FUEL#GASOLINE#BR", "FUEL#ETHANOL#BR", "FUEL#DIESEL_S10#BR", "FUEL#LPG#BR"}
LPG, GASOLINE = "FUEL#LPG#BR", "FUEL#GASOLINE#BR"
SKIP_FROM, SKIP_TO = date(2022, 8, 21), date(2022, 10, 9)
DRIVERS = {"CURRENCY#USD", "COMMODITY#BRENT", "BRENT_BRL", "STOCK#PETR4"}
# app.css: --up (a pump price rising: red), --down (falling: green), --navy (the card's value)
UP, DOWN, NAVY = "rgb(184, 50, 42)", "rgb(26, 127, 75)", "rgb(22, 50, 79)"
CARDS_JS = """() => [...document.querySelectorAll('#cards .card[data-key]')].map((card) => {
  const detail = card.querySelector('.card-detail');
  return { key: card.dataset.key, text: detail.textContent, colour: getComputedStyle(detail).color };
})"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with error_free_page(browser) as page:
        yield page


def _cards(page: Page, url: str, query: str) -> dict[str, dict[str, str]]:
    page.goto(f"{url}/?view=overview&{query}")
    page.wait_for_selector("body[data-ready=overview]", state="attached")
    return {c["key"]: c for c in page.evaluate(CARDS_JS)}


def test_a_drivers_change_is_neutral_and_a_pump_prices_is_the_consumers(
    page: Page, dashboard_url: str
) -> None:
    """Every card was coloured as a pump price: a fall green, a rise red, so a share, the
    dollar or Brent falling read as good news (Petrobras PN -8.1% in green)."""
    changes = {
        i["key"]: i["change_pct"]
        for i in httpx.get(f"{dashboard_url}/api/overview?end={END}").json()["items"]
    }
    cards = _cards(page, dashboard_url, f"lang=en&date={END}")
    assert changes["CURRENCY#USD"] < -1 and changes["COMMODITY#BRENT"] > 1  # both ways
    for key in DRIVERS:
        assert cards[key]["colour"] == NAVY, (key, cards[key])
    for key in FUELS:
        change = changes[key]
        expected = UP if change >= 0.05 else DOWN if change <= -0.05 else None
        if expected:
            assert cards[key]["colour"] == expected, (key, change, cards[key])


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_every_minus_on_the_page_is_u2212_as_plotlys(
    page: Page, dashboard_url: str, lang: str
) -> None:
    """Cards and the correlation heatmap's cells wrote Intl's hyphen ("-2.5%") beside Plotly's
    axes' U+2212 ("−0.5"); the CSV keeps ASCII "-" for programs that read it."""
    cards = _cards(page, dashboard_url, f"lang={lang}&date={END}")
    falling = [c["text"] for k, c in cards.items() if k in {"CURRENCY#USD", "FUEL#LPG#BR"}]
    assert all(text.startswith(MINUS) for text in falling), falling
    assert not any("-" in c["text"] for c in cards.values()), cards
    csv = httpx.get(f"{dashboard_url}/api/overview?end={END}&format=csv").text
    assert re.search(r"^CURRENCY#USD,.*,-2\.\d+,,2022-01-15$", csv, re.M) and MINUS not in csv

    page.goto(f"{dashboard_url}/?view=correlations&lang={lang}")
    page.wait_for_selector("#chart-corr[data-rendered]", state="attached")
    cells = page.evaluate("() => document.getElementById('chart-corr').data[0].text.flat()")
    assert any(c.startswith(MINUS) for c in cells) and not any("-" in c for c in cells), cells


@pytest.fixture(scope="module")
def skipped_week_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real Brazil LPG weeks of 2022-08-21 to 10-09 (the bundled workbook has no week of
    09-18: ANP skipped it) and gasoline's, served."""
    history = load_history(DATASETS, with_areas=False)
    store = SqliteStore(tmp_path_factory.mktemp("gap") / "gap.sqlite", clock=FixedClock(NOW))
    for key in (LPG, GASOLINE):
        weeks = [(d, v) for d, v in history.series[key] if SKIP_FROM <= d <= SKIP_TO]
        store.put_records([Record(key, d, Decimal(str(v)), Status.OK) for d, v in weeks])
    assert date(2022, 9, 18) not in {d for d, _ in history.series[LPG]}
    assert date(2022, 9, 18) in {d for d, _ in history.series[GASOLINE]}
    with serving(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as url:
        yield url
    store.close()


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "no survey the week before"), ("pt-BR", "sem pesquisa na semana anterior")],
)
def test_a_fuel_card_after_a_skipped_survey_week_says_so(
    page: Page, skipped_week_url: str, lang: str, text: str
) -> None:
    """ANP skipped LPG's week of 2022-09-18: the card of 09-25 has no weekly change and read
    "no earlier value", though 09-11's is stored. The API says why (no_change_reason)."""
    items = httpx.get(f"{skipped_week_url}/api/overview?end=2022-09-30").json()["items"]
    lpg = next(i for i in items if i["key"] == LPG)
    assert (lpg["date"], lpg["change_pct"], lpg["no_change_reason"]) == (
        "2022-09-25",
        None,
        "no_week_before",
    )
    cards = _cards(page, skipped_week_url, f"lang={lang}&date=2022-09-30")
    assert cards[LPG]["text"] == text
    assert cards[GASOLINE]["text"] != text  # surveyed that week: a change


def test_brent_in_reais_says_when_it_was_published(page: Page, dashboard_url: str) -> None:
    """The only card without a "published … ago" line: its inputs' publication is known, the
    later of Brent's (FRED, a week after its day) and PTAX's."""
    _cards(page, dashboard_url, "lang=en")
    page.wait_for_function("() => document.querySelectorAll('#cards .card-fresh').length")
    fresh = page.locator('.card[data-key="BRENT_BRL"] .card-fresh')
    brent = page.locator('.card[data-key="COMMODITY#BRENT"] .card-fresh')
    dated = page.evaluate(
        """() => ['BRENT_BRL', 'COMMODITY#BRENT'].map(
          (k) => document.querySelector(`.card[data-key="${k}"]`).dataset.date)"""
    )
    assert dated[0] == dated[1]  # the same day: Brent's publication is the later one
    assert fresh.inner_text().startswith("published ") and fresh.inner_text() == brent.inner_text()


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("en", "Stations: prices by municipality, brand and station"),
        ("pt-BR", "Postos: preços por município, bandeira e posto"),
    ],
)
def test_the_stations_links_tooltip_speaks_the_pages_language(
    page: Page, dashboard_url: str, lang: str, title: str
) -> None:
    _cards(page, dashboard_url, f"lang={lang}")
    assert page.locator("a.tab-link").get_attribute("title") == title
    page.click(f'.lang-btn[data-lang="{"en" if lang == "pt-BR" else "pt-BR"}"]')
    page.wait_for_function("(t) => document.querySelector('a.tab-link').title !== t", arg=title)


@pytest.mark.parametrize(("lang", "value"), [("en", "R$\u00a07.30"), ("pt-BR", "R$\u00a07,30")])
def test_a_card_writes_reais_as_the_price_axis_does(
    page: Page, dashboard_url: str, lang: str, value: str
) -> None:
    """English cards read "R$7.30" while the price axis beside read "R$ 7.00": one format per
    language, a space after R$ as Brazil writes it (no-break on a card, so it stays on a line)."""
    cards = _cards(page, dashboard_url, f"lang={lang}")
    assert "FUEL#GASOLINE#BR" in cards
    card = page.locator("#cards .card[data-key='FUEL#GASOLINE#BR'] .card-value")
    assert card.text_content() == value
    page.goto(f"{dashboard_url}/?view=movement&fuel=GASOLINE&area=BR&lang={lang}")
    page.wait_for_selector("body[data-ready=movement]", state="attached")
    ticks = page.locator("#chart-price .ytick text").all_text_contents()
    assert ticks, "no price axis"
    mark = re.escape(value[4])  # the decimal mark of the card's language
    for tick in ticks:
        assert re.fullmatch(rf"R\$ \d+{mark}\d\d", tick.replace("\u00a0", " ")), ticks
