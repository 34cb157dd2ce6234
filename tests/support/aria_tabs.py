"""The WAI-ARIA tabs pattern as a browser test reads it: every tab, its panel and the focus."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

TABS_JS = """() => {
  const list = document.querySelector('[role=tablist]');
  const tabs = Array.from(list.querySelectorAll('[role=tab]'));
  return {
    children: Array.from(list.children).every(c => c.getAttribute('role') === 'tab'),
    tabs: tabs.map(t => {
      const panel = document.getElementById(t.getAttribute('aria-controls'));
      return [t.dataset.view, t.getAttribute('aria-selected'), t.tabIndex, panel && panel.getAttribute('role'),
              panel && panel.getAttribute('aria-labelledby') === t.id, panel && panel.hidden];
    }),
    focused: document.activeElement.getAttribute('role') === 'tab' ? document.activeElement.dataset.view : null,
  };
}"""


def read_tabs(page: Page) -> dict[str, Any]:
    """The tab list: whether it holds tabs only, each tab's view, aria-selected, tabIndex, its
    panel's role, whether that panel is labelled by it and is hidden, and the tab focused."""
    got: dict[str, Any] = page.evaluate(TABS_JS)
    return got


def assert_open(got: dict[str, Any], view: str) -> None:
    """`view`'s tab alone is selected and the one tab stop, and its panel alone is shown; every
    tab controls a tab panel labelled by it."""
    assert got["children"]
    for tab, selected, tabindex, role, labelled, hidden in got["tabs"]:
        active = tab == view
        assert (selected, tabindex, role, labelled, hidden) == (
            str(active).lower(),
            0 if active else -1,
            "tabpanel",
            True,
            not active,
        ), (view, tab)


# The open view's tab and whether its strip (it scrolls sideways on a phone) shows all of it.
_SELECTED_TAB_SHOWN_JS = """() => {
  const tab = document.querySelector('.tabs [role=tab][aria-selected=true]');
  const s = tab.closest('.tabs').getBoundingClientRect();
  const r = tab.getBoundingClientRect();
  return {view: tab.dataset.view, shown: r.left >= s.left - 1 && r.right <= s.right + 1};
}"""


def selected_tab_in_sight(page: Page) -> dict[str, Any]:
    """The selected tab's view, and whether the tab strip shows all of it (`shown`)."""
    got: dict[str, Any] = page.evaluate(_SELECTED_TAB_SHOWN_JS)
    return got
