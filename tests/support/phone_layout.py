"""The tab strip and the controls of a dashboard page as a phone shows them (browser tests)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

# Lines of text counted by their distinct tops (a line can hold several rects); each shown
# control's label and field as [left, right] boxes, rounded to the pixel.
PHONE_ROWS_JS = """() => {
  const box = (e) => e.getBoundingClientRect();
  const lines = (e) => {
    const r = document.createRange();
    r.selectNodeContents(e);
    return new Set(Array.from(r.getClientRects()).map((b) => Math.round(b.top))).size;
  };
  const tabs = Array.from(document.querySelectorAll('nav.tabs [role=tab], nav.tabs a'));
  const shown = Array.from(document.querySelectorAll('.controls > label')).filter((l) => l.offsetParent);
  const edges = (e) => [Math.round(box(e).left), Math.round(box(e).right)];
  return {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    wrapped: tabs.filter((e) => lines(e) > 1).map((e) => e.textContent.trim()),
    columns: [...new Set(shown.map((l) => edges(l).join(':')))].sort(),
    fields: shown.map((l) => [...edges(l), ...edges(l.querySelector('select, input'))]),
  };
}"""


def phone_rows(page: Page) -> dict[str, Any]:
    """How far the page runs past the viewport's right edge (px), the tabs (and the tab strip's
    link) whose text takes more than one line, the distinct [left:right] edges of the controls
    shown, and each control's label and field edges: [label left, right, field left, right]."""
    got: dict[str, Any] = page.evaluate(PHONE_ROWS_JS)
    return got


def assert_phone_rows(page: Page, width: int) -> None:
    """No sideways scroll of the page, every tab on one line, and the controls shown in at most
    two columns of one width, each field inside its label and the viewport."""
    got = phone_rows(page)
    assert got["overflow"] == 0, got
    assert got["wrapped"] == [], got
    columns = [tuple(int(x) for x in c.split(":")) for c in got["columns"]]
    assert 1 <= len(columns) <= 2, got
    assert len({right - left for left, right in columns}) == 1, got  # equal columns
    for left, right, field_left, field_right in got["fields"]:
        assert 0 <= left <= field_left and field_right <= right <= width, got
