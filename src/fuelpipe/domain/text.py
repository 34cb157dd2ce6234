"""Text fit for one line of a console, a log or a table cell."""

from __future__ import annotations


def clip(text: str, chars: int) -> str:
    """``text`` if it has at most ``chars`` characters, else its first ``chars - 1`` and "…".

    Not :func:`textwrap.shorten`: it drops whole words, so an error of one long token (a URL,
    a file path) would be "…" alone."""
    return text if len(text) <= chars else text[: chars - 1] + "…"
