"""A short-lived cache of API answers: the store changes a few times a day, readers in bursts."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """The messages of one 200 answer and when they go stale."""

    start: Message
    body: bytes
    expires: float


class ResponseCache:
    """Caches successful GET /api/ answers by path and query for ``ttl_s`` seconds (LRU-bounded)."""

    def __init__(
        self,
        app: ASGIApp,
        ttl_s: float = 30.0,
        max_entries: int = 512,
        timer: Callable[[], float] = time.monotonic,
        prefix: str = "/api/",
        generation: Callable[[], str] | None = None,
        uncached: tuple[str, ...] = ("/api/live",),
    ) -> None:
        self.app = app
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.timer = timer
        self.prefix = prefix
        # A new store version (seen by the live endpoint) starts a new set of cache keys.
        self.generation = generation
        self.uncached = uncached
        self._entries: OrderedDict[tuple[str, bytes], CachedResponse] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, key: tuple[str, bytes]) -> CachedResponse | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found.expires <= self.timer():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found

    def _put(self, key: tuple[str, bytes], entry: CachedResponse) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

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
            query += b"#" + self.generation().encode()
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
                if not message.get("more_body", False) and start.get("status") == 200:
                    entry = CachedResponse(start, b"".join(chunks), self.timer() + self.ttl_s)
                    self._put(key, entry)
            await send(message)

        await self.app(scope, receive, capture)
