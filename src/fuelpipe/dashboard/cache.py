"""A short-lived cache of API answers: the store changes a few times a day, readers in bursts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cachetools import TTLCache
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fuelpipe.dashboard.errors import FaultNamer, no_fault

_log = logging.getLogger("fuelpipe.dashboard")


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """The messages of one 200 answer."""

    start: Message
    body: bytes


class ResponseCache:
    """Caches successful GET /api/ answers by path and query for ``ttl_s`` seconds (LRU-bounded).

    An answer that carries its own validator (an ``ETag``: a stored view, the live panel) is never
    stored: its producer checks the data version on every request and answers ``If-None-Match``
    itself, while a stored copy would keep answering 200 to a matching tag, and the old body and
    tag after the version moved. ``generation`` (the app passes the store's data version, read at
    most once a second by :class:`~fuelpipe.dashboard.versions.DataVersion`, and the version the
    live endpoint saw) starts new keys when it changes, so nothing cached before a data change is
    served more than that second after it. When it cannot be had (the store failing before any
    version was read) the request passes through uncached; when ``faults`` names why (a damaged
    store file) that is left to the answer's own line, without a traceback here.

    ``uncached`` paths always pass through: the live panel's version check, and the intraday
    points, whose writes move no data version: only the process that answered ``/api/live``
    sees their new store version, so another (a second Lambda environment) would serve the
    page's redraw its cached old points, and the page would never redraw again.
    """

    def __init__(
        self,
        app: ASGIApp,
        ttl_s: float = 30.0,
        max_entries: int = 512,
        timer: Callable[[], float] = time.monotonic,
        prefix: str = "/api/",
        generation: Callable[[Scope], Awaitable[str]] | None = None,
        uncached: tuple[str, ...] = ("/api/live", "/api/intraday"),
        faults: FaultNamer = no_fault,
    ) -> None:
        self.app = app
        self.faults = faults
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.timer = timer
        self.prefix = prefix
        # A new store version (seen by the live endpoint) starts a new set of cache keys.
        self.generation = generation
        self.uncached = uncached
        # cachetools expires entries ttl_s after they are stored and evicts the least recently
        # used past max_entries; it is not thread-safe, so one lock guards it.
        self._entries = TTLCache(maxsize=max_entries, ttl=ttl_s, timer=timer)
        self._lock = threading.Lock()

    def _get(self, key: tuple[str, bytes]) -> CachedResponse | None:
        with self._lock:
            found: CachedResponse | None = self._entries.get(key)
            return found

    def _put(self, key: tuple[str, bytes], entry: CachedResponse) -> None:
        with self._lock:
            self._entries[key] = entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer from the cache, or pass through and remember a 200."""
        if (
            self.ttl_s <= 0
            or scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(self.prefix)
            or scope["path"].startswith(self.uncached)
        ):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if self.generation is not None:
            try:
                query += b"#" + (await self.generation(scope)).encode()
            except Exception as exc:
                if self.faults(exc) is None:
                    _log.exception("no cache generation: answering %s uncached", scope["path"])
                await self.app(scope, receive, send)
                return
        key = (scope["path"], query)
        hit = self._get(key)
        if hit is not None:
            await send({**hit.start, "headers": list(hit.start.get("headers", []))})
            await send({"type": "http.response.body", "body": hit.body, "more_body": False})
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = {**message, "headers": list(message.get("headers", []))}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and _storable(start):
                    self._put(key, CachedResponse(start, b"".join(chunks)))
            await send(message)

        await self.app(scope, receive, capture)


def _storable(start: Message) -> bool:
    """A 200 without an ETag of its own (see :class:`ResponseCache`)."""
    return start.get("status") == 200 and not any(
        name.lower() == b"etag" for name, _ in start.get("headers", [])
    )
