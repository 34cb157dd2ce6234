"""The wired application: everything a stage needs, built by one composition root."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.failpoints import Failpoints
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.source import Source
from fuelpipe.ports.store import Store


@dataclass
class App:
    """Catalog, store, queue, sources, clock and retry policy, injected into every stage."""

    catalog: Catalog
    store: Store
    queue: Queue
    sources: Mapping[str, Source]
    clock: Clock
    policy: RetryPolicy
    settings: Settings
    failpoints: Failpoints = field(default_factory=Failpoints)

    def close(self) -> None:
        """Release HTTP clients and connections."""
        for source in self.sources.values():
            source.close()
        for resource in (self.store, self.queue):
            closer = getattr(resource, "close", None)
            if callable(closer):
                closer()


def policy_from(settings: Settings) -> RetryPolicy:
    """The retry policy the settings describe."""
    return RetryPolicy(
        max_retries=settings.max_retries,
        base_delay=settings.retry_delay,
        factor=settings.retry_factor,
    )
