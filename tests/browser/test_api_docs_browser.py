"""/docs in headless Chromium with every request off 127.0.0.1 blocked: the API reference
renders from the app's own files, under the strict Content-Security-Policy."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Route, expect

pytestmark = pytest.mark.browser


def test_docs_render_offline(browser: Browser, dashboard_url: str, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(20_000)
    blocked: list[str] = []
    problems: list[str] = []

    def only_local(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1" or route.request.url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_local)
    page = context.new_page()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(msg.text)  # a CSP violation is reported here

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        page.goto(f"{dashboard_url}/docs")
        page.wait_for_selector("body[data-rendered='true']", state="attached")
        title = page.locator("#api-title").text_content() or ""
        operations = page.locator("section.operation").count()
        lags = page.locator("section#get-api-lags").text_content() or ""
        page.screenshot(path=str(screenshots / "api-docs.png"), full_page=False)
        redoc = page.goto(f"{dashboard_url}/redoc")
        assert redoc is not None
        assert redoc.url == f"{dashboard_url}/docs"
    finally:
        context.close()
    assert "fuelpipe dashboard API" in title
    assert operations >= 9  # every /api view
    assert "REGION_SE" in lags  # the area codes, from the constants the code checks
    assert "max_lag" in lags
    assert blocked == []  # nothing even tried to leave the machine
    assert problems == []


# The leaf elements of the reference whose right edge is past the window's.
PAST_THE_EDGE_JS = """() => {
  const width = document.documentElement.clientWidth;
  return Array.from(document.querySelectorAll('h2, p, li, th, td'))
    .filter((e) => e.getBoundingClientRect().right > width + 1)
    .map((e) => e.textContent.slice(0, 40));
}"""


# The links of the index of operations drawn on more than one line (or column): their text.
BROKEN_INDEX_LINKS_JS = """() => Array.from(document.querySelectorAll('#api-index a'))
  .filter((a) => a.getClientRects().length !== 1)
  .map((a) => a.textContent)"""


def test_docs_fit_a_phone(browser: Browser, dashboard_url: str) -> None:
    """At 390 px the parameter tables were 577 px wide: long values (the enums' lists, the
    series keys) never broke, so every description was cut at the window's edge."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(f"{dashboard_url}/docs")
        page.wait_for_selector("body[data-rendered='true']", state="attached")
        wide = page.evaluate("document.documentElement.scrollWidth")
        past = page.evaluate(PAST_THE_EDGE_JS)
        broken = page.evaluate(BROKEN_INDEX_LINKS_JS)
    finally:
        context.close()
    assert wide <= 390
    assert past == []
    # The index of operations, two columns at 390 px, cut its paths mid-word over two or three
    # lines ("GET /api/stations/rankin" "g") and one across its columns ("…/dispers" at the
    # foot of the first, "ion" atop the second): each operation's link is one line now.
    assert broken == []


def test_docs_speak_the_dashboards_language_and_link_home_in_it(
    browser: Browser, dashboard_url: str
) -> None:
    """/docs was English only, the main page's link to it carried no language and its link
    home was a bare "/": a Portuguese reader came back to an English dashboard."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        page.goto(f"{dashboard_url}/?lang=pt-BR")
        page.wait_for_selector("body[data-ready]:not([data-ready=''])", state="attached")
        link = page.locator("footer a[href^='/docs']")
        expect(link).to_have_attribute("href", "/docs?lang=pt-BR")
        link.click()
        page.wait_for_selector("body[data-rendered='true']", state="attached")
        expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
        expect(page).to_have_title("Referência da API do fuelpipe")
        expect(page.locator("#api-title")).to_have_text(
            re.compile(r"^Referência da API do fuelpipe")
        )
        expect(page.locator("#api-note")).to_contain_text("em inglês")
        expect(page.locator("nav#api-index")).to_have_attribute("aria-label", "operações")
        lags = page.locator("section#get-api-lags")
        expect(lags.locator("h3")).to_have_text(["Parâmetros", "Respostas"])
        expect(lags.locator("th").first).to_have_text("nome")
        # the API's own descriptions stay English, and say so to a screen reader
        expect(page.locator("#api-description")).to_have_attribute("lang", "en")
        expect(lags.locator("td[lang='en']").first).to_be_attached()
        home = page.locator("#api-home")
        expect(home).to_have_text("painel")
        expect(home).to_have_attribute("href", "/?lang=pt-BR")
        home.click()
        page.wait_for_selector("body[data-ready]:not([data-ready=''])", state="attached")
        expect(page.locator("html")).to_have_attribute("lang", "pt-BR")

        page.goto(f"{dashboard_url}/docs?lang=en")
        page.wait_for_selector("body[data-rendered='true']", state="attached")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("#api-note")).to_be_hidden()
        expect(page.locator("#api-description")).not_to_have_attribute("lang", "en")
        expect(page.locator("#api-home")).to_have_attribute("href", "/?lang=en")
    finally:
        context.close()
    assert problems == []
