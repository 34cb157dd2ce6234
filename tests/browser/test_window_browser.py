"""The "1 year" window in Chromium over a store whose fuel ends before its drivers: every line
of a chart ends with the fuel's newest week, and a line that stops before the others is named
under the chart with its last week."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from tests.browser.conftest import error_free_page
from tests.support.window_store import serving_window_store

SPANS_JS = """(id) => document.getElementById(id).data.map(
  (t) => [t.name, t.x[0].slice(0, 10), t.x[t.x.length - 1].slice(0, 10), t.x.length])"""
READY = "body:not([data-ready=''])[data-ready]"
NOTE_JS = """(id) => {
  const note = document.getElementById(id).parentElement.querySelector(':scope > .chart-note');
  return note && !note.hidden ? note.textContent.replace(/\\u2009/g, ' ') : null;
}"""


@pytest.fixture(scope="module")
def window_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_window_store(tmp_path_factory.mktemp("window")) as url:
        yield url


def test_the_default_year_ends_with_the_fuels_week_in_every_chart(
    browser: Browser, window_url: str
) -> None:
    # The dollar, Brent and PETR4 ran on to 2023-06-25 under the fuel's 2022-05-01.
    with error_free_page(browser) as page:
        for view, chart, lines in [
            ("overview", "chart-overview", 6),
            ("movement", "chart-index", 4),
        ]:
            page.goto(f"{window_url}/?view={view}&lang=en")
            page.wait_for_selector(READY, state="attached")
            spans = page.evaluate(SPANS_JS, chart)
            assert len(spans) == lines
            assert {tuple(s[1:]) for s in spans} == {("2021-05-09", "2022-05-01", 52)}, spans
            assert page.evaluate(NOTE_JS, chart) is None
            source = page.get_attribute(f"#{chart}", "data-source") or ""
            assert source.endswith("&start=2021-05-09&until=2022-05-07")
        caption = page.locator("#chart-overview ~ .as-of").first
        page.goto(f"{window_url}/?view=overview&lang=en")
        page.wait_for_selector(READY, state="attached")
        # the window's last day: the cards show the drivers' newest values, a year later
        assert caption.get_attribute("data-date") == "2022-05-07"


@pytest.mark.parametrize(
    ("lang", "note"),
    [
        (
            "en",
            "Ends before the others: Gasoline — Brazil (last week May 1 – 7, 2022) and Brent in "
            "reais (last week Dec 18 – 24, 2022).",
        ),
        (
            "pt-BR",
            "Termina antes dos demais: Gasolina comum — Brasil (última semana 1 – 7 de mai. de "
            "2022) e Brent em reais (última semana 18 – 24 de dez. de 2022).",
        ),
    ],
)
def test_a_line_that_ends_before_the_others_is_named_with_its_last_week(
    browser: Browser, window_url: str, lang: str, note: str
) -> None:
    # An End date (Thursday 2022-12-29) months after the fuel's last week: the window stays the
    # year up to it (the dollar's and PETR4's lines run to its week) and the fuel's line stops at
    # its own, said so below, as Brent's: FRED's batch through Monday 12-26 is out only on
    # Friday 12-30, so Brent is known through Monday 12-19, in the week before.
    with error_free_page(browser) as page:
        page.goto(f"{window_url}/?view=movement&date=2022-12-29&lang={lang}")
        page.wait_for_selector(READY, state="attached")
        ends = {s[2] for s in page.evaluate(SPANS_JS, "chart-index")}
        assert ends == {"2022-05-01", "2022-12-18", "2022-12-25"}  # Brent: FRED's batches
        assert page.evaluate(NOTE_JS, "chart-index") == note


def test_a_mid_week_end_date_keeps_the_windows_weeks(browser: Browser, window_url: str) -> None:
    # Thursday 2022-02-03 with 13 weeks: its own week is drawn from Sunday 2022-01-30, so the
    # window starts on the Sunday 12 weeks before (not on Friday 2021-11-05, which drew 14).
    with error_free_page(browser) as page:
        page.goto(f"{window_url}/?view=movement&window=13&date=2022-02-03&lang=en")
        page.wait_for_selector(READY, state="attached")
        source = page.get_attribute("#chart-index", "data-source") or ""
        assert source.endswith("&start=2021-11-07&end=2022-02-03"), source
        spans = page.evaluate(SPANS_JS, "chart-index")
        assert {s[1] for s in spans} == {"2021-11-07"}, spans
        assert max(s[3] for s in spans) == 13, spans


@pytest.mark.parametrize(
    ("lang", "note"),
    [
        (
            "en",
            "One week only (May 16 – 22, 2021): every line is 100 there; a change needs a "
            "second week.",
        ),
        (
            "pt-BR",
            "Uma semana só (16 – 22 de mai. de 2021): toda linha vale 100 nela; uma variação "
            "pede uma segunda semana.",
        ),
    ],
)
def test_a_window_of_one_week_says_why_every_marker_sits_at_100(
    browser: Browser, dashboard_url: str, lang: str, note: str
) -> None:
    # An End date in the real data's first survey week (May 16 - 22, 2021): each line is that
    # week alone, rebased to 100, so every marker was drawn on top of the others with nothing
    # saying why. A second week draws lines and needs no such note.
    with error_free_page(browser) as page:
        for view, chart in [("overview", "chart-overview"), ("movement", "chart-index")]:
            page.goto(f"{dashboard_url}/?view={view}&date=2021-05-22&lang={lang}")
            page.wait_for_selector(READY, state="attached")
            spans = page.evaluate(SPANS_JS, chart)
            assert spans and {tuple(s[1:]) for s in spans} == {("2021-05-16", "2021-05-16", 1)}
            assert (page.evaluate(NOTE_JS, chart) or "").endswith(note), view
            page.goto(f"{dashboard_url}/?view={view}&date=2021-05-29&lang={lang}")
            page.wait_for_selector(READY, state="attached")
            assert note not in (page.evaluate(NOTE_JS, chart) or ""), view
