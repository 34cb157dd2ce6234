"""Every relative link in README.md and docs/*.md reaches a file, and its #anchor a heading.

The Markdown is parsed with markdown-it-py (already installed through rich), so links inside
code are not links. Anchors are made from headings as GitHub makes them (lowercase, punctuation
other than ``-`` and ``_`` dropped, spaces to ``-``, a repeated heading suffixed ``-1``, ``-2``):
no installed library makes GitHub's slugs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_MD = MarkdownIt("commonmark")


def _tokens(path: Path) -> list[Token]:
    return _MD.parse(path.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """The anchors GitHub gives the headings of ``path``."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    tokens = _tokens(path)
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type != "heading_open":
            continue
        text = "".join(
            c.content for c in inline.children or [] if c.type in {"text", "code_inline"}
        )
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return frozenset(out)


def _links(path: Path) -> Iterator[str]:
    for token in _tokens(path):
        for child in token.children or []:
            href = child.attrGet("href") if child.type == "link_open" else None
            if isinstance(href, str) and not re.match(r"^[a-z][a-z0-9+.-]*:", href):
                yield href


def test_the_slugs_are_githubs() -> None:
    assert slug("Versions, the live alias, the check and rollback") == (
        "versions-the-live-alias-the-check-and-rollback"
    )
    assert slug("Gates (make gates)") == "gates-make-gates"
    assert slug("Só é preço") == "só-é-preço"


def test_the_docs_have_relative_links() -> None:
    """The check below has something to check (the README links every doc)."""
    assert sum(1 for path in FILES for _ in _links(path)) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for href in _links(path):
        target, _, fragment = href.partition("#")
        dest = (path.parent / target).resolve() if target else path
        if not dest.exists():
            broken.append(f"{href}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{href}: no heading makes #{fragment}")
    assert not broken, f"{path.relative_to(ROOT)}: {broken}"
