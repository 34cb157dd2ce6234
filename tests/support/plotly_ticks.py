"""What a browser test reads of a Plotly chart's date axis once zoomed to days."""

from __future__ import annotations

from playwright.sync_api import Page

# The x axis zoomed to its last 12 days, where Plotly writes a day and its month ("dayMonth"),
# then its tick labels as drawn.
_ZOOMED_TICKS_JS = """async (id) => {
  const el = document.getElementById(id);
  const end = new Date(el.layout.xaxis.range[1]);
  const start = new Date(end - 12 * 864e5);
  await Plotly.relayout(el, {'xaxis.range': [start.toISOString().slice(0, 10), end.toISOString().slice(0, 10)]});
  return Array.from(el.querySelectorAll('.xtick text')).map(t => t.textContent);
}"""


def day_ticks(page: Page, chart_id: str) -> list[str]:
    """The chart's x tick labels at a 12-day zoom (the first also carries the year)."""
    ticks: list[str] = page.evaluate(_ZOOMED_TICKS_JS, chart_id)
    return ticks
