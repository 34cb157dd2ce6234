"""What a route receives and returns, and the canned pages every source shares."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from fuelpipe.replay.faults import Decision, FaultKind, FaultPlan
from fuelpipe.replay.snapshot_data import Snapshot

JSON = "application/json;charset=utf-8"
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    """An HTTP response, and the row fault the route applied while rendering it (if any)."""

    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    fault: FaultKind | None = None

    def with_fault(self, fault: FaultKind | None) -> Reply:
        """The same reply, recording the fault applied."""
        return replace(self, fault=fault)


class Memo:
    """A per-server cache of rendered bodies that do not change between requests."""

    def __init__(self) -> None:
        # Not cachetools' cached(lock=): cachetools comes with the dashboard extra only, and
        # the replay server is core code (`fuelpipe replay` runs without the extra).
        self._lock = threading.Lock()
        self._values: dict[str, bytes] = {}

    def get(self, key: str, compute: Callable[[], bytes]) -> bytes:
        """The cached value, computing it (outside the lock) the first time."""
        with self._lock:
            if key in self._values:
                return self._values[key]
        value = compute()
        with self._lock:
            return self._values.setdefault(key, value)


@dataclass(frozen=True)
class RouteContext:
    """One request to a source: the path below the source prefix, query and fault decision."""

    path: str
    query: dict[str, list[str]]
    snapshot: Snapshot
    plan: FaultPlan
    decision: Decision
    memo: Memo = field(default_factory=Memo)
    headers: dict[str, str] = field(default_factory=dict)  # request headers, names lower-cased

    def arg(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def row_fault(self) -> FaultKind | None:
        """The decided fault when it is one the route applies to its rows."""
        kind = self.decision.kind
        return kind if kind in (FaultKind.DUP, FaultKind.REORDER, FaultKind.OUTSIDE) else None

    @property
    def wants_shape(self) -> bool:
        """True when this request must get a wrong-shaped body."""
        return self.decision.kind is FaultKind.SHAPE


def json_reply(status: int, payload: Any, content_type: str = JSON) -> Reply:
    """A compact JSON reply."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, content_type, body)


def html_page(status: int, title: str, text: str) -> Reply:
    """A small HTML page."""
    body = (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1><p>{text}</p></body></html>\n"
    ).encode()
    return Reply(status, HTML, body)


MAINTENANCE_PAGES = {
    "bcb": ("Banco Central do Brasil", "Serviço temporariamente indisponível. Tente mais tarde."),
    "yahoo": ("Yahoo", "Will be right back… Thank you for your patience."),
    "fred": ("FRED | St. Louis Fed", "FRED is temporarily unavailable for maintenance."),
    "anp": ("gov.br", "Acesso temporariamente indisponível. Por favor, tente mais tarde."),
}


def maintenance_page(source: str) -> Reply:
    """The HTML page with status 200 that a source serves during an outage."""
    title, text = MAINTENANCE_PAGES[source]
    return html_page(200, title, text)


def server_error(status: int) -> Reply:
    """A 5xx page."""
    names = {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    return html_page(status, f"{status} {names[status]}", names[status])


def rate_limited(retry_after: int | None) -> Reply:
    """HTTP 429, with or without Retry-After."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return Reply(429, TEXT, b"Too Many Requests\r\n", headers)
