"""The dashboard as a keyboard, a screen reader and a narrow screen meet it, in headless Chromium
on the real data: focus rings, tab order, text contrast, chart text and labels in the page's
language."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import (
    PLAYWRIGHT_TIMEOUT_MS,
    TOUCH_PHONE,
    error_free_page,
    new_page,
)
from tests.support.a11y import (
    HIDDEN_CONTROLS_JS,
    LABEL_NOT_IN_NAME_JS,
    LOW_CONTRAST_JS,
    REACHABLE_JS,
    assert_rings_show,
    tab_through,
)

pytestmark = pytest.mark.browser

VIEWS = {
    "overview": "view=overview",
    "movement": "view=movement&fuel=GASOLINE&area=SE",
    "map": "view=map&fuel=GASOLINE",
    "lags": "view=lags&fuel=GASOLINE&area=BR&driver=BRENT_BRL",
    "outlook": "view=outlook",  # no outlook stored: its CSVs are one row saying so
    "health": "view=health&health=all",
}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh English page that fails the test when a script on it threw."""
    with error_free_page(browser) as page:
        yield page


def _open(page: Page, base: str, query: str) -> None:
    page.goto(f"{base}/?{query}")
    page.wait_for_selector("body:not([data-ready=''])[data-ready]", state="attached")


@pytest.mark.parametrize("view", ["overview", "movement", "outlook", "health"])
def test_every_control_is_reached_by_tab_in_page_order_with_a_ring_that_shows(
    page: Page, dashboard_url: str, view: str
) -> None:
    # The focus ring was Chromium's own, 1 px of near black (rgb(16, 16, 16)): 1.6:1 on the
    # navy bar, and cut off by the tab strip that scrolls on a phone; a chart's toolbar buttons
    # took the focus while the toolbar stayed transparent (it showed on hover only).
    _open(page, dashboard_url, VIEWS[view])
    stops = tab_through(page)
    assert [s["key"] for s in stops] == page.evaluate(REACHABLE_JS)
    assert {"en", "pt-BR", f"tab-{view}", "share"} <= {s["key"] for s in stops}
    assert_rings_show(stops)  # a chart's toolbar shows while a button of it has the focus


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_all_text_reads_at_aa_contrast_including_an_off_csv_link(
    page: Page, dashboard_url: str, lang: str
) -> None:
    # The off CSV link was the navy text at half opacity: 2.93:1 on white.
    for name, query in VIEWS.items():
        _open(page, dashboard_url, f"{query}&lang={lang}")
        assert page.evaluate(LOW_CONTRAST_JS, 4.5) == [], name
    # A CSV link is off when its view's answer failed: the Today panel's, its API refused
    _fail_intraday(page)
    _open(page, dashboard_url, f"{VIEWS['overview']}&lang={lang}")
    expect(page.locator("#today-csv")).to_have_attribute("aria-disabled", "true")
    assert page.evaluate(LOW_CONTRAST_JS, 4.5) == []


def _fail_intraday(page: Page) -> None:
    """The Today panel's API answers 500: its CSV link goes off (the only view whose link can
    be off since every view's CSV, the outlook's with no forecast too, has rows to give)."""
    page.route(
        "**/api/intraday**",
        lambda route: route.fulfill(status=500, content_type="application/json", body="{}"),
    )


# Each drawn chart: its role, its name, its title (unwrapped), its as-of caption and what a
# screen reader meets inside it.
CHARTS_JS = """() => Array.from(document.querySelectorAll('.chart'))
  .filter(d => d.dataset.rendered && !d.hidden && d.getClientRects().length)
  .map(d => ({
    id: d.id, role: d.getAttribute('role'), label: d.getAttribute('aria-label'),
    title: d.dataset.title, caption: d.parentElement.querySelector(':scope > .as-of').textContent,
  }))"""


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_every_chart_is_a_figure_named_by_its_title_and_date_whose_toolbar_stays_reachable(
    page: Page, dashboard_url: str, lang: str
) -> None:
    # A chart was a bare div: a screen reader met the SVG's tick labels one by one. Then it was
    # role="img", which hides what is inside it, so the toolbar's buttons a keyboard reaches
    # were nothing to a screen reader (axe: nested-interactive).
    captions = []
    zoom = "Ampliar zoom" if lang == "pt-BR" else "Zoom in"
    for name in ("overview", "movement", "map", "lags", "health"):
        _open(page, dashboard_url, f"{VIEWS[name]}&lang={lang}")
        assert page.evaluate(HIDDEN_CONTROLS_JS) == [], name
        for chart in page.evaluate(CHARTS_JS):
            assert chart["role"] == "figure", chart
            assert chart["title"] and chart["caption"], chart
            assert chart["label"] == f"{chart['title']}, {chart['caption']}", chart
            figure = page.get_by_role("figure", name=chart["label"], exact=True)
            expect(figure).to_have_count(1)
            expect(figure.get_by_role("button", name=zoom, exact=True)).to_have_count(1)
            # The drawing itself says nothing more: its tick labels and legend are not read.
            drawn = figure.aria_snapshot()
            roles = re.findall(r"^\s*- '?(\w+)", drawn, re.M)
            assert roles[:2] == ["figure", "toolbar"], drawn
            assert roles[2:] == ["button", "img"] * (len(roles) // 2 - 1), drawn  # icons
            captions.append(chart["caption"])
    assert len(captions) >= 7
    starts = ("na semana de ", "em ") if lang == "pt-BR" else ("as of the week of ", "as of ")
    assert all(c.startswith(starts) for c in captions), captions


def test_the_pages_groups_are_named_in_its_language_as_it_switches(
    page: Page, dashboard_url: str
) -> None:
    # The language group and the tab list were named "Language" and "Views" on the Portuguese
    # page too; the navigation "Main".
    _open(page, dashboard_url, "view=overview&lang=pt-BR")
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    expect(page.get_by_role("group", name="Idioma", exact=True)).to_have_count(1)
    expect(page.get_by_role("tablist", name="Visão", exact=True)).to_have_count(1)
    named = page.evaluate(
        """() => Array.from(document.querySelectorAll('[aria-label]'))
             .filter(el => !el.closest('.chart')).map(el => el.getAttribute('aria-label'))"""
    )
    # the link to copy by hand (hidden until the clipboard refuses it) is named from the start
    assert named == ["Idioma", "EN, English", "PT, Português", "Visão", "Link desta visão",
                     "Acurácia no backtest", "Últimas execuções"]  # fmt: skip
    page.click(".lang-btn[data-lang='en']")
    page.wait_for_function(
        "() => document.body.dataset.ready && location.search.includes('lang=en')"
    )
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("group", name="Language", exact=True)).to_have_count(1)
    expect(page.get_by_role("tablist", name="View", exact=True)).to_have_count(1)


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_the_language_buttons_are_named_by_their_label_and_language_and_say_which_is_on(
    page: Page, dashboard_url: str, lang: str
) -> None:
    # A screen reader read them as "EN" and "PT"; then their names were "English" and
    # "Português", without the label they show, so "click PT" missed (WCAG 2.5.3). Each is
    # named by its label, then its language in that language, on either page, and says
    # whether it is the page's.
    _open(page, dashboard_url, f"view=overview&lang={lang}")
    for name, code in (("EN, English", "en"), ("PT, Português", "pt-BR")):
        button = page.get_by_role("button", name=name, exact=True, pressed=code == lang)
        expect(button).to_have_count(1)
        expect(button).to_have_attribute("lang", code)
    page.get_by_role("button", name="PT" if lang == "en" else "EN").click()
    other = "pt-BR" if lang == "en" else "en"
    page.wait_for_function(f"() => document.documentElement.lang === '{other}'")
    expect(
        page.get_by_role("button", name="EN, English", exact=True, pressed=other == "en")
    ).to_have_count(1)
    expect(
        page.get_by_role("button", name="PT, Português", exact=True, pressed=other == "pt-BR")
    ).to_have_count(1)


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
@pytest.mark.parametrize("view", ["overview", "outlook", "health"])
def test_every_named_control_is_named_with_the_text_it_shows(
    page: Page, dashboard_url: str, view: str, lang: str
) -> None:
    # The language buttons showed "EN"/"PT" and were named "English"/"Português".
    _open(page, dashboard_url, f"{VIEWS[view]}&lang={lang}")
    assert page.evaluate(LABEL_NOT_IN_NAME_JS) == []


def test_a_refused_end_date_marks_the_field_and_is_its_description(
    page: Page, dashboard_url: str
) -> None:
    # The error was an alert at the top of the view, tied to nothing: on the field a screen
    # reader said nothing of it.
    _open(page, dashboard_url, "view=movement&fuel=GASOLINE&area=BR&lang=en")
    page.wait_for_function("() => document.getElementById('date').max")
    page.fill("#date", "2030-01-01")
    error = page.locator("#view-movement .view-error")
    expect(error).to_be_visible()
    date = page.locator("#date")
    expect(date).to_have_attribute("aria-invalid", "true")
    described = page.evaluate(
        """() => document.getElementById(
             document.getElementById('date').getAttribute('aria-describedby')).textContent"""
    )
    assert described == error.inner_text() and "out of range" in described
    expect(page.get_by_role("textbox", name="End date")).to_have_accessible_description(described)
    # A date it takes clears both.
    page.fill("#date", page.evaluate("() => document.getElementById('date').max"))
    expect(error).to_have_count(0)
    expect(date).not_to_have_attribute("aria-invalid", "true")
    assert date.get_attribute("aria-describedby") is None


@pytest.mark.parametrize(("lang", "label"), [("en", "Download CSV"), ("pt-BR", "Baixar CSV")])
def test_an_off_csv_link_is_still_a_link_a_screen_reader_calls_unavailable(
    page: Page, dashboard_url: str, lang: str, label: str
) -> None:
    # Without its address the link was no link at all to a screen reader: plain text, its
    # aria-disabled said nothing (the Today panel's had no role="link" to keep it one).
    today = page.locator("#today-panel").get_by_role("link", name=label, exact=True)
    _fail_intraday(page)
    _open(page, dashboard_url, f"view=overview&lang={lang}")
    expect(page.locator("#today-csv")).to_have_attribute("aria-disabled", "true")
    expect(today.and_(page.get_by_role("link", disabled=True))).to_have_count(1)
    # Answered, the panel's link is on again, and a link with an address.
    page.unroute("**/api/intraday**")
    _open(page, dashboard_url, f"view=overview&lang={lang}")
    expect(page.locator("#today-csv")).to_have_attribute("href", re.compile("format=csv"))
    expect(today.and_(page.get_by_role("link", disabled=False))).to_have_count(1)


@pytest.mark.parametrize(
    ("lang", "says"), [("en", "hover or tap a cell"), ("pt-BR", "ou toque nela")]
)
def test_on_a_touch_screen_the_correlations_hint_says_tap_and_a_tap_shows_the_weeks(
    browser: Browser, dashboard_url: str, lang: str, says: str
) -> None:
    # The hint said only "hover a cell" ("passe o mouse"), on a phone too, where nothing hovers.
    page = new_page(browser, timeout_ms=PLAYWRIGHT_TIMEOUT_MS, **TOUCH_PHONE)
    try:
        _open(page, dashboard_url, f"view=correlations&fuel=GASOLINE&area=BR&lang={lang}")
        assert page.evaluate("() => matchMedia('(hover: none)').matches")
        note = page.locator("#view-correlations .summary").inner_text()
        assert says in note, note
        page.locator("#chart-corr .nsewdrag").first.tap()  # scrolled to, then its middle cell
        hover = page.locator("#chart-corr .hoverlayer .hovertext")
        expect(hover).to_have_count(1)
        text = hover.text_content() or ""
        assert re.search(r"\d+ (overlapping weeks?|semanas? em comum)$", text), text
    finally:
        page.context.close()
