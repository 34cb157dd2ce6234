"""Source adapters as both homes build them: one HTTP client each, settings from one place."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

import httpx

from fuelpipe.homes.settings import Settings
from fuelpipe.ports.source import Source

if TYPE_CHECKING:
    from fuelpipe.adapters.sources._http import BreakerState

SOURCE_NAMES = ("bcb", "yahoo", "fred", "anp")
"""The HTTP sources :func:`build_sources` builds, by name, in its order."""


def build_sources(
    settings: Settings,
    names: Collection[str] | None = None,
    *,
    breakers: Mapping[str, BreakerState] | None = None,
) -> dict[str, Source]:
    """The HTTP sources (all four, or those ``names``) with their base URLs, timeouts, attempt
    deadlines and retry bounds from settings; ``breakers``: the state each source's breaker
    keeps, by name (`run --workers`'s processes share theirs), else each its own."""
    from fuelpipe.adapters.sources._http import make_client
    from fuelpipe.adapters.sources.anp import AnpWorkbookSource
    from fuelpipe.adapters.sources.bcb import BcbPtaxSource
    from fuelpipe.adapters.sources.fred import FredCsvSource
    from fuelpipe.adapters.sources.yahoo import YahooChartSource

    @functools.cache
    def verify() -> ssl.SSLContext:
        """One TLS context for every client: each new one reads the CA bundle again."""
        return httpx.create_ssl_context()

    def client() -> httpx.Client:
        return make_client(settings.http_timeout_s, ssl_context=verify())

    attempts, backoff = settings.http_attempts, settings.http_backoff_s
    deadline = settings.http_attempt_deadline_s  # None: derived from the client's timeout
    shared = breakers or {}
    makers: dict[str, Callable[[], Source]] = {
        "bcb": lambda: BcbPtaxSource(
            settings.source_url("bcb"),
            client(),
            breaker_state=shared.get("bcb"),
            attempts=attempts,
            backoff_s=backoff,
            attempt_deadline_s=deadline,
        ),
        "yahoo": lambda: YahooChartSource(
            settings.source_url("yahoo"),
            client(),
            breaker_state=shared.get("yahoo"),
            attempts=attempts,
            backoff_s=backoff,
            min_interval_s=settings.yahoo_min_interval_s,
            attempt_deadline_s=deadline,
        ),
        "fred": lambda: FredCsvSource(
            settings.source_url("fred"),
            client(),
            breaker_state=shared.get("fred"),
            attempts=attempts,
            backoff_s=backoff,
            attempt_deadline_s=deadline,
        ),
        "anp": lambda: AnpWorkbookSource(
            settings.source_url("anp"),
            client(),
            breaker_state=shared.get("anp"),
            attempts=attempts,
            backoff_s=backoff,
            attempt_deadline_s=deadline,
        ),
    }
    unknown = sorted(set(names or ()) - set(makers))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(makers)}")
    # Only the sources asked for: each one holds its own HTTP client (connection pool).
    return {name: make() for name, make in makers.items() if names is None or name in names}
