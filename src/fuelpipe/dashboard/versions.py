"""The store's data version as the dashboard reads it: at most once per ``ttl_s`` seconds.

Every cached or precomputed ``/api/`` answer is keyed by the data version, a strongly consistent
read (a DynamoDB GetItem, or a query behind the SQLite store's lock). Reading it on every request
made each cache hit cost a store read, and a throttled read turned hits into 500s. One
:class:`DataVersion` per app memoises it for ``ttl_s`` (1 s): an answer cached before a data
change is served at most ``ttl_s`` seconds after the change is written, never longer. One request
reads it once (:func:`request_version` keeps it in the ASGI scope for the layers after the first).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from fuelpipe.dashboard.errors import FaultNamer, no_fault
from fuelpipe.ports.store import Store
from fuelpipe.stages.data_version import data_version

VERSION_TTL_S = 1.0
"""How long a data version read is trusted: the bound on serving an answer after a change."""
SCOPE_KEY = "fuelpipe.data_version"
"""Where a request keeps the version it read (an ASGI scope extension key)."""
_log = logging.getLogger("fuelpipe.dashboard")


class DataVersion:
    """The data version of one store, read at most once per ``ttl_s`` on ``timer``'s clock.

    A failed read is logged and answered with the last version read (trusted for another
    ``ttl_s``, so a throttled store is not asked again at once): the caches keep serving what
    they hold. With no version read yet the error propagates. An error ``faults`` names (a
    damaged store file) is logged as that line, without a traceback.
    """

    def __init__(
        self,
        store: Store,
        ttl_s: float = VERSION_TTL_S,
        timer: Callable[[], float] = time.monotonic,
        faults: FaultNamer = no_fault,
    ) -> None:
        self.store = store
        self.faults = faults
        self.ttl_s = ttl_s
        self.timer = timer
        self._lock = threading.Lock()
        self._value: str | None = None
        self._read_at = 0.0
        self.reads = 0
        """Store reads made (tests and the bench read it)."""

    def _within_ttl(self, now: float) -> str | None:
        return self._value if self._value is not None and now - self._read_at < self.ttl_s else None

    def fresh(self) -> str | None:
        """The memoised version while it is within its TTL, else None (never reads)."""
        with self._lock:
            return self._within_ttl(self.timer())

    def get(self) -> str:
        """The current version: memoised, or read from the store (one read per TTL)."""
        with self._lock:  # one reader at a time: concurrent requests share the read
            now = self.timer()
            if (memo := self._within_ttl(now)) is not None:
                return memo
            try:
                self.reads += 1
                value = data_version(self.store)
            except Exception as exc:
                if self._value is None:
                    raise
                if (fault := self.faults(exc)) is not None:
                    _log.error("data version read failed (%s); serving version %s", fault,
                               self._value)  # fmt: skip
                else:
                    _log.exception("data version read failed; serving version %s", self._value)
                self._read_at = now
                return self._value
            self._value, self._read_at = value, now
            return value


async def request_version(scope: Scope, versions: DataVersion) -> str:
    """The data version of this request: read (or memoised) once, then kept in its scope."""
    found = scope.get(SCOPE_KEY)
    if isinstance(found, str):
        return found
    value = versions.fresh()
    if value is None:  # a store read: off the event loop
        value = await run_in_threadpool(versions.get)
    scope[SCOPE_KEY] = value
    return value
