"""A source's own Retry-After, kept by `watch` across its requests and ticks.

An adapter waits out a 429's or 503's Retry-After inside one fetch only up to its cap (20 s,
``RETRY_AFTER_CAP_S``) and then raises the error with ``retry_after`` set. A source that asks
for ten minutes means ten minutes: `watch` keeps the instant it may ask that source again
(:class:`SourceRests`, which its home supplies: ``build_home(keeps_rests=True)``), sends it
no request before then (the scraper skips the source's messages, the tick leaves its due
series, retries and daily revise for later) and wakes for the first look after it. The
scraper Lambda keeps one too, for its environment's life (homes/aws.py:
``lazy_scraper_context``): a resting source's messages are given back hidden until the rest
ends (stages/scrape.py: ``defer_if_resting``). The wait is cut to :data:`MAX_REST`, so a
wrong or hostile header cannot silence a source for days.

A rest is real time at the source, so it is timed on a monotonic clock (the homes give
``time.monotonic``; tests one they move), not on the business clock: a business clock fixed by
``FUELPIPE_NOW`` (the demo, tests) never reaches the end of a rest timed on it, and an
accelerated one (``demo --live``) or one set by ``--now`` would end it early or late. The
business clock only places the end among the stage's own instants (``now`` + what is left).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from fuelpipe.ports.source import RateLimited, ServerError, SourceError

MAX_REST = timedelta(hours=1)
"""The longest a Retry-After keeps `watch` off a source: a source that asks for more is asked
again after an hour (and, if still unwilling, says so again)."""


class SourceRests:
    """Per source, when it may be asked again: timed in ``monotonic`` seconds (real elapsed
    time), told as an instant of the caller's clock."""

    def __init__(self, cap: timedelta = MAX_REST, *, monotonic: Callable[[], float]) -> None:
        self.cap = cap
        self._monotonic = monotonic
        self._until: dict[str, float] = {}

    def note(self, source: str, error: SourceError) -> None:
        """Keep ``error``'s Retry-After (a 429's or a 503's; none, or 0 s, keeps nothing), cut
        to the cap; a rest already running for longer is not shortened."""
        if not isinstance(error, RateLimited | ServerError) or not error.retry_after:
            return
        until = self._monotonic() + min(error.retry_after, self.cap.total_seconds())
        self._until[source] = max(until, self._until.get(source, until))

    def until(self, source: str, now: datetime) -> datetime | None:
        """When ``source`` may be asked again, as ``now`` plus the real time left of its rest
        (``now``: the caller's clock, read now), or None when it may be asked now."""
        until = self._until.get(source)
        left = None if until is None else until - self._monotonic()
        if left is None or left <= 0:
            return None
        return now + timedelta(seconds=left)

    def resting(self, now: datetime) -> dict[str, datetime]:
        """Every source not to be asked at ``now``, with the instant its rest ends."""
        return {name: until for name in self._until if (until := self.until(name, now))}
