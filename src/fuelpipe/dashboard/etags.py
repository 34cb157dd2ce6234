"""Conditional requests: does a request's ``If-None-Match`` name the representation it would get?"""

from __future__ import annotations

import re

_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"')


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def none_match(header: str | None, etag: str) -> bool:
    """True when an ``If-None-Match`` header matches ``etag``, so the answer is a 304 (RFC 9110
    §13.1.2): ``*``, or one of its comma-separated entity tags equal to ``etag`` by the weak
    comparison (``W/"v"`` and ``"v"`` match). Anything that is not a quoted tag matches nothing."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    want = _opaque(etag)
    return any(_opaque(tag) == want for tag in _ENTITY_TAG.findall(header))
