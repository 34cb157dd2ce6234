"""The Outlook view's accuracy table at every served horizon (1 to 5 weeks: it showed 1, 2 and 4
only), readable on a 390 px phone in both languages, and its leave-one-out note's number read
from the API (``least_errors``, the model's ``Params.least_errors``), not fixed in the page. On
the store of tests/dashboard/test_outlook_driver_move.py: the real Brazil gasoline history as
the demo holds it, its outlook made by the stage."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from devtools.dashboard.serving import serving
from playwright.sync_api import Browser, Page, Route
from tests.browser.conftest import error_free_page
from tests.dashboard.test_outlook_driver_move import NOW, demo_gasoline_store

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.params import HORIZONS, Params

pytestmark = pytest.mark.browser

HEADS = {"en": "Weeks ahead", "pt-BR": "Semanas à frente"}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store, _ = demo_gasoline_store(tmp_path_factory.mktemp("horizons") / "store.sqlite")
    with serving(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as served:
        yield served
    store.close()


def _open(page: Page, url: str, lang: str) -> None:
    page.goto(f"{url}/?view=outlook&fuel=GASOLINE&area=BR&lang={lang}")
    page.wait_for_selector("body[data-ready='outlook']", state="attached")


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_the_accuracy_table_has_every_served_horizon_on_a_phone(
    browser: Browser, url: str, lang: str
) -> None:
    api = httpx.get(f"{url}/api/outlook", params={"fuel": "GASOLINE", "area": "BR"}).json()
    assert [a["horizon"] for a in api["accuracy"]] == list(HORIZONS) == [1, 2, 3, 4, 5]
    assert all(a["n"] > 0 and a["ratio"] is not None for a in api["accuracy"])
    with error_free_page(browser) as page:
        page.set_viewport_size({"width": 390, "height": 800})
        _open(page, url, lang)
        table = page.locator("#outlook-accuracy")
        assert table.locator("th").first.text_content() == HEADS[lang]
        rows = table.locator("tbody tr")
        assert [r.get_attribute("data-horizon") for r in rows.all()] == ["1", "2", "3", "4", "5"]
        decimal = "," if lang == "pt-BR" else "."
        for a, row in zip(api["accuracy"], rows.all(), strict=True):
            cells = row.locator("td").all_inner_texts()
            assert cells[0] == str(a["horizon"]) and all(c.strip() for c in cells), cells
            # the ratio, as the API gives it, in the page's language
            assert cells[4] == f"{a['ratio']:.2f}".replace(".", decimal), (cells, a["ratio"])
        sizes = page.evaluate(
            """() => {
              const table = document.getElementById('outlook-accuracy');
              const box = table.parentElement.getBoundingClientRect();
              const rows = [...table.tBodies[0].rows].map((r) => r.getBoundingClientRect());
              return [document.documentElement.scrollWidth, box.left, box.right,
                      rows.every((r) => r.height > 0 && r.height < 80)];
            }"""
        )
        # the page does not scroll sideways; the table's box is on screen (it scrolls inside
        # it), and each horizon's row is one short line of cells, not wrapped into a column
        assert sizes[0] == 390 and sizes[1] >= 0 and sizes[2] <= 390 and sizes[3], sizes


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "as it has fewer than {n} past forecast errors there yet."),
        (
            "pt-BR",
            "pois ainda há menos de {n} erros de suas previsões passadas com essa antecedência.",
        ),
    ],
)
def test_the_leave_one_out_note_names_the_apis_least_errors(
    browser: Browser, url: str, lang: str, text: str
) -> None:
    """The served number is the model's setting; the page says whatever the API serves (an
    answer edited to 7 reads 7), so the two cannot drift apart."""
    api = httpx.get(f"{url}/api/outlook", params={"fuel": "GASOLINE", "area": "BR"}).json()
    assert api["least_errors"] == Params().least_errors == 20

    def fell_back(least: int) -> object:
        def edit(route: Route) -> None:
            body = route.fetch().json()
            for step in body["steps"]:
                step["bands"] = "leave_one_out" if step["horizon"] >= 3 else "walk_forward"
            body["least_errors"] = least
            route.fulfill(json=body)

        return edit

    for least in (Params().least_errors, 7):
        with error_free_page(browser) as page:
            page.route("**/api/outlook?*", fell_back(least))
            _open(page, url, lang)
            note = page.locator("#outlook-bands").inner_text()
            assert note.startswith("Bands 3, 4, 5 " if lang == "en" else "Faixas a 3, 4, 5 ")
            assert note.endswith(text.format(n=least)), note


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        (
            "en",
            "Bands 1 week ahead: from the model's leave-one-out residuals, as it has fewer than "
            "1 past forecast error there yet.",
        ),
        (
            "pt-BR",
            "Faixas a 1 semana à frente: dos resíduos leave-one-out do modelo, pois ainda há "
            "menos de 1 erro de suas previsões passadas com essa antecedência.",
        ),
    ],
)
def test_the_leave_one_out_note_says_one_week_and_one_error_in_the_singular(
    browser: Browser, url: str, lang: str, text: str
) -> None:
    """An answer edited to one leave-one-out horizon, the first, and a ``least_errors`` of 1:
    the note read "Bands 1 weeks ahead" and "fewer than 1 past forecast errors"."""

    def edit(route: Route) -> None:
        body = route.fetch().json()
        for step in body["steps"]:
            step["bands"] = "leave_one_out" if step["horizon"] == 1 else "walk_forward"
        body["least_errors"] = 1
        route.fulfill(json=body)

    with error_free_page(browser) as page:
        page.route("**/api/outlook?*", edit)
        _open(page, url, lang)
        assert page.locator("#outlook-bands").inner_text() == text
