"""Copy-link checks shared by the main and station pages' browser tests."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

# The browser refuses the write (permission denied), as a real one can.
REFUSE_CLIPBOARD_JS = """() => {
  navigator.clipboard.writeText = () =>
    Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError'));
}"""

# What the page says when it could not copy, by language.
COPY_FAILED = {
    "en": "Could not copy the link: copy it from this box",
    "pt-BR": "Não foi possível copiar o link: copie-o desta caixa",
}
COPIED = {"en": "Link copied", "pt-BR": "Link copiado"}
LINK_NAME = {"en": "Link to this view", "pt-BR": "Link desta visão"}


def assert_copy_link_is_honest(page: Page, lang: str, button: str, status: str, box: str) -> None:
    """A refused write says so and leaves the link selected in a named box; a write that
    resolved says "copied", hides that box and the clipboard holds the page's address."""
    page.evaluate(REFUSE_CLIPBOARD_JS)
    page.click(button)
    expect(page.locator(status)).to_have_text(COPY_FAILED[lang])
    link = page.locator(box)
    expect(link).to_be_visible()
    assert link.input_value() == page.url
    assert link.get_attribute("aria-label") == LINK_NAME[lang]
    selected = page.evaluate(
        "(sel) => { const b = document.querySelector(sel);"
        " return b.value.slice(b.selectionStart, b.selectionEnd); }",
        box,
    )
    assert selected == page.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("() => { delete navigator.clipboard.writeText; }")  # the browser's own again
    page.click(button)
    expect(page.locator(status)).to_have_text(COPIED[lang])
    expect(link).to_be_hidden()
    assert page.evaluate("() => navigator.clipboard.readText()") == page.url


def assert_copy_status_follows_the_language(
    page: Page, button: str, status: str, box: str, wait_ready: Callable[[], None]
) -> None:
    """On an English page: a refused write's message and its box's name are said again in
    Portuguese after a switch (and back), the box holds the address shown then; a "copied"
    says so in Portuguese after a switch."""
    page.evaluate(REFUSE_CLIPBOARD_JS)
    page.click(button)
    expect(page.locator(status)).to_have_text(COPY_FAILED["en"])
    link = page.locator(box)
    for lang in ("pt-BR", "en"):
        page.click(f".lang-btn[data-lang='{lang}']")
        wait_ready()
        expect(page.locator(status)).to_have_text(COPY_FAILED[lang])
        assert link.get_attribute("aria-label") == LINK_NAME[lang]
        expect(link).to_be_visible()
        assert link.input_value() == page.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("() => { delete navigator.clipboard.writeText; }")
    page.click(button)
    expect(page.locator(status)).to_have_text(COPIED["en"])
    page.click(".lang-btn[data-lang='pt-BR']")
    expect(page.locator(status)).to_have_text(COPIED["pt-BR"])
    wait_ready()
