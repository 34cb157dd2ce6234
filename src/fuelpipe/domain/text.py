"""Text fit for one line of a console, a log or a table cell, and text folded for matching."""

from __future__ import annotations

import re
import unicodedata


def clip(text: str, chars: int) -> str:
    """``text`` if it has at most ``chars`` characters, else its first ``chars - 1`` and "…".

    Not :func:`textwrap.shorten`: it drops whole words, so an error of one long token (a URL,
    a file path) would be "…" alone."""
    return text if len(text) <= chars else text[: chars - 1] + "…"


_SPACES = re.compile(" {2,}")


def folded(text: str) -> str:
    """Search text as the lake queries fold names: upper case, accents dropped, a hyphen a
    space and each run of spaces one space ("São  Paulo" -> "SAO PAULO", "Ji-Paraná" -> "JI
    PARANA"): any combining mark goes, not only those of ``domain.stations.ACCENTED``, as the
    text is typed by a person and the names are ANP's, whose letters ACCENTED covers. BCB's
    bulletin types are matched folded too (``domain.intraday.bulletin_kind``)."""
    spaced = _SPACES.sub(" ", text.upper().replace("-", " "))
    decomposed = unicodedata.normalize("NFD", spaced)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )
