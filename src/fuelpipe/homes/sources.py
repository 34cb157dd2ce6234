"""Source adapters as both homes build them: one HTTP client each, settings from one place."""

from __future__ import annotations

import httpx

from fuelpipe.homes.settings import Settings
from fuelpipe.ports.source import Source


def build_sources(settings: Settings) -> dict[str, Source]:
    """The four HTTP sources with their base URLs, timeouts and retry bounds from settings."""
    from fuelpipe.adapters.sources._http import make_client
    from fuelpipe.adapters.sources.anp import AnpWorkbookSource
    from fuelpipe.adapters.sources.bcb import BcbPtaxSource
    from fuelpipe.adapters.sources.fred import FredCsvSource
    from fuelpipe.adapters.sources.yahoo import YahooChartSource

    def client() -> httpx.Client:
        return make_client(settings.http_timeout_s)

    attempts, backoff = settings.http_attempts, settings.http_backoff_s
    return {
        "bcb": BcbPtaxSource(
            settings.source_url("bcb"), client(), attempts=attempts, backoff_s=backoff
        ),
        "yahoo": YahooChartSource(
            settings.source_url("yahoo"),
            client(),
            attempts=attempts,
            backoff_s=backoff,
            min_interval_s=settings.yahoo_min_interval_s,
        ),
        "fred": FredCsvSource(
            settings.source_url("fred"), client(), attempts=attempts, backoff_s=backoff
        ),
        "anp": AnpWorkbookSource(
            settings.source_url("anp"), client(), attempts=attempts, backoff_s=backoff
        ),
    }
