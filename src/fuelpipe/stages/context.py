"""What every stage is given: the ports, the catalog, the clock and the retry policy.

The homes (``fuelpipe.homes``) build it and own its lifetime; stages only read it, so a stage
test builds one from its own doubles without settings or an environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.failpoints import Failpoints
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.source import Source
from fuelpipe.ports.store import Store
from fuelpipe.stages.source_rest import Rests


@dataclass
class StageContext:
    """Catalog, store, queue, sources, clock, retry policy and failpoints, injected into stages."""

    catalog: Catalog
    store: Store
    queue: Queue
    sources: Mapping[str, Source]
    clock: Clock
    policy: RetryPolicy
    failpoints: Failpoints = field(default_factory=Failpoints)
    revision_window_days: Mapping[str, int] = field(default_factory=dict)
    """Per-source overrides of how far back `revise` re-reads (stages/revise.py has defaults)."""
    gap_audit_interval_s: float = 86_400.0
    """How often the orchestrator's full gap audit repairs a key's watermark."""
    store_batch: int = 5_000
    """Observations the scraper checks and stores together (bounds memory per message)."""
    poll_in_flight_s: float = 450.0
    """How long a polled PENDING date's message may still be queued or fetched (the queue's
    visibility timeout): until the scraper answers it, or this passes, polls skip the date."""
    gap_sent_hold_s: float | None = None
    """Set: the orchestrator notes the gaps it sends (``gap_sent#<key>``) and sends none of
    them again while its message may still wait in the queue: for this long at least (the
    queue's visibility timeout), then while the queue holds any message, up to the queue's
    retention (stages/orchestrate.py ``claim_gaps``). The AWS home's, whose schedules scan
    while the scraper Lambdas work the queue. None: no note; `run` drains the queue before
    its gap scan (stages/cycle.py) and a `watch` tick drains what it sent before the next one
    (the embedded home's)."""
    rests: Rests | None = None
    """The sources' Retry-After kept across requests (stages/source_rest.py; the homes supply
    one to `watch` and `demo --live`, and the AWS home's scraper, retry recheck and
    orchestrator Lambdas share one through the store); None: a Retry-After counts only inside
    one fetch (waited within the adapter's cap, or ending the fetch when longer; the dates stay
    PENDING for the policy's retries), as in `run` and the other Lambdas."""

    def close(self) -> None:
        """Release the HTTP clients and connections this context holds."""
        for source in self.sources.values():
            source.close()
        for resource in (self.store, self.queue):
            closer = getattr(resource, "close", None)
            if callable(closer):
                closer()
