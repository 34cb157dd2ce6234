"""What a browser test reads of a page's accessibility: text contrast, focus rings, tab order."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

# A colour's parts, WCAG's relative luminance and the effective background behind an element
# (its own and its ancestors' backgrounds blended over white), shared by the probes below.
COLOUR_JS = """
const rgba = (s) => { const m = s.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
const lum = ([r, g, b]) => {
  const l = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * l(r) + 0.7152 * l(g) + 0.0722 * l(b);
};
const ratio = (a, b) => { const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x); return (hi + 0.05) / (lo + 0.05); };
const bgOf = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let base = [255, 255, 255];
  for (const c of layers.reverse()) base = base.map((v, i) => v * (1 - c[3]) + c[i] * c[3]);
  return base;
};
const opacityOf = (el) => { let o = 1; for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; };
"""

# Every element holding visible text (outside the charts' SVG) whose text, its opacity and its
# ancestors' counted, reads below `min` against the background behind it.
LOW_CONTRAST_JS = (
    "(min) => {"
    + COLOUR_JS
    + """
  const low = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el) || el.closest('svg')) continue;
    seen.add(el);
    if (!el.getClientRects().length || getComputedStyle(el).visibility !== 'visible') continue;
    const bg = bgOf(el);
    const fg = rgba(getComputedStyle(el).color);
    const a = fg[3] * opacityOf(el);
    const shown = bg.map((v, i) => v * (1 - a) + fg[i] * a);
    const r = ratio(shown, bg);
    if (r < min) low.push([el.id || el.className || el.tagName, el.textContent.trim().slice(0, 30), +r.toFixed(2)]);
  }
  return low;
}"""
)

# The focused element, its focus ring, its opacity (its ancestors' counted) and what is behind that ring: the element's own background
# for a ring drawn inside it, its parent's for one drawn outside; and whether a box that clips
# its overflow (a scrolling tab strip, a rounded group) holds it.
FOCUS_JS = (
    "() => {"
    + COLOUR_JS
    + """
  const el = document.activeElement;
  const cs = getComputedStyle(el);
  const width = parseFloat(cs.outlineWidth);
  const offset = parseFloat(cs.outlineOffset);
  let clipped = false;
  for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.overflowX !== 'visible' || s.overflowY !== 'visible') clipped = true;
  }
  const behind = offset + width <= 0 ? bgOf(el) : bgOf(el.parentElement);
  return {
    key: el.id || el.dataset.lang || el.dataset.muni || el.getAttribute('href') || el.getAttribute('aria-label') || el.tagName,
    style: cs.outlineStyle, width, offset, clipped, opacity: opacityOf(el),
    contrast: +ratio(rgba(cs.outlineColor), behind).toFixed(2),
  };
}"""
)

# The visible elements a keyboard should reach, in document order: links with an address,
# buttons, form fields and anything with tabindex 0, one tab stop per tab list.
REACHABLE_JS = """() => Array.from(document.querySelectorAll(
    'a[href], button, select, input, [tabindex="0"]'))
  .filter(el => el.getClientRects().length && !el.disabled && el.tabIndex >= 0
    && getComputedStyle(el).visibility === 'visible')
  .map(el => el.id || el.dataset.lang || el.dataset.muni || el.getAttribute('href') || el.getAttribute('aria-label') || el.tagName)"""


def tab_through(page: Page) -> list[dict[str, Any]]:
    """Press Tab from the top of the page until the focus leaves it: each stop's focus ring."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    stops: list[dict[str, Any]] = []
    for _ in range(150):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            break
        got: dict[str, Any] = page.evaluate(FOCUS_JS)
        if not stops or stops[-1]["key"] != got["key"]:  # a date field's parts are one stop
            stops.append(got)
    return stops


def assert_rings_show(stops: list[dict[str, Any]]) -> None:
    """Each stop shows a solid ring of 2 px or more, 3:1 against what is behind it (WCAG
    1.4.11), on an opaque control, and drawn inside the control where a box would clip it."""
    for stop in stops:
        assert stop["style"] == "solid" and stop["width"] >= 2, stop
        assert stop["opacity"] == 1, stop
        assert stop["contrast"] >= 3, stop
        assert not stop["clipped"] or stop["offset"] + stop["width"] <= 0, stop


# The controls a keyboard reaches that assistive technology cannot: each focusable element
# inside aria-hidden, or inside a role whose children are presentational (an img, a button...),
# as [that ancestor's role or "aria-hidden", the control's name or tag]. axe calls these
# aria-hidden-focus and nested-interactive.
HIDDEN_CONTROLS_JS = """() => {
  const flat = new Set(['img', 'button', 'checkbox', 'link', 'math', 'meter', 'option',
    'progressbar', 'radio', 'scrollbar', 'separator', 'slider', 'switch', 'tab']);
  const hidden = [];
  for (const el of document.querySelectorAll('a[href], button, select, input, textarea, [tabindex]')) {
    if (el.disabled || el.tabIndex < 0) continue;
    for (let up = el.parentElement; up; up = up.parentElement) {
      const role = up.getAttribute('role');
      const why = up.getAttribute('aria-hidden') === 'true' ? 'aria-hidden' : flat.has(role) ? role : null;
      if (why) { hidden.push([why, el.getAttribute('aria-label') || el.dataset.title || el.tagName]); break; }
    }
  }
  return hidden;
}"""

# WCAG 2.5.3 (label in name): a control whose aria-label does not contain the text it shows is
# missed by a voice-control user saying what they see ("click PT" on a button named Português).
LABEL_NOT_IN_NAME_JS = """() => Array.from(document.querySelectorAll('[aria-label]'))
  .filter(el => el.matches('a, button, input, select, [role=button], [role=link], [role=tab]')
    && el.checkVisibility())
  .map(el => [el.innerText.trim(), el.getAttribute('aria-label')])
  .filter(([shown, name]) => shown && !name.toLowerCase().includes(shown.toLowerCase()))"""
