"""Publication-aware replay: a value is served only once its real publication instant has passed
on an injected clock (``fuelpipe demo --live``, the freshness bench).

It reuses the fault plan's "absent dates" hook that every route already honours: each series
also withholds every date after the latest one its schedule has published by ``clock.now()``.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog, Series
from fuelpipe.ports.clock import Clock
from fuelpipe.replay.faults import DateSet, FaultPlan


class PublishedPlan(FaultPlan):
    """A fault plan that also withholds what is not released yet at ``clock.now()``.

    A date's release is its scheduled publication instant plus a per-source, per-date offset
    drawn (seeded) from ``jitter[source] = (earliest, latest)``: real releases scatter around
    the schedule (PTAX closes seen 13:04-13:10, docs/SOURCE_FORMATS.md; ANP on Friday
    evening). No jitter: on time.
    """

    def __init__(
        self,
        clock: Clock,
        base: FaultPlan | None = None,
        catalog: Catalog | None = None,
        jitter: Mapping[str, tuple[timedelta, timedelta]] | None = None,
    ) -> None:
        base = base or FaultPlan.none()
        super().__init__(
            base.rates, base.absent, base.seed, base.slow_s, base.retry_after_s, base.spec
        )
        self.clock = clock
        self.catalog = catalog or DEFAULT_CATALOG
        self.jitter = dict(jitter or {})
        self._at: datetime | None = None  # set on a request's copy: see for_request()

    def _now(self) -> datetime:
        return self._at if self._at is not None else self.clock.now()

    def for_request(self) -> PublishedPlan:
        """This plan with the clock read once: a request's rows and cache tag see one instant.

        Read per row, a moving clock could withhold part of a week while the tag already names
        it released, and the memo would keep that half week until the next release. The copy
        shares the fault counters.
        """
        pinned = copy.copy(self)
        pinned._at = self.clock.now()
        return pinned

    def _offset(self, source: str, day: date) -> timedelta:
        lo, hi = self.jitter.get(source, (timedelta(0), timedelta(0)))
        if hi <= lo:
            return lo
        digest = hashlib.sha256(f"{self.seed}/{source}/{day.isoformat()}".encode()).digest()
        share = int.from_bytes(digest[:8], "big") / 2**64
        return lo + timedelta(seconds=int((hi - lo).total_seconds() * share))

    def released_at(self, series: Series, day: date) -> datetime:
        """When the replay starts serving ``day`` of ``series``."""
        return series.schedule.published_at(day) + self._offset(series.source, day)

    def released_through(self, series: Series, now: datetime) -> date:
        """The latest date of ``series`` released by ``now``."""
        lo = self.jitter.get(series.source, (timedelta(0), timedelta(0)))[0]
        day = series.published_through(now - min(lo, timedelta(0)))
        while self.released_at(series, day) > now:
            day -= timedelta(days=1)
        return day

    def absent_days(self, source: str, key: str | None) -> DateSet:
        """The base plan's absent dates plus every date not released yet."""
        out = super().absent_days(source, key)
        if key is None or key not in self.catalog:
            return out
        through = self.released_through(self.catalog[key], self._now())
        return out | DateSet(((through + timedelta(days=1), date.max),))

    def intraday_released(self, source: str, key: str | None, at: datetime) -> bool:
        """A bulletin is served from its own instant on (the panel fills during the day),
        unless the base plan withholds its day."""
        return at <= self._now() and at.date() not in super().absent_days(source, key)

    @property
    def has_absent(self) -> bool:
        """Always: what is not released yet is withheld."""
        return True

    def cache_tag(self, source: str) -> str:
        """Rendered bodies change as releases pass: key caches by what is released."""
        now = self._now()
        schedules = {s.publication: s for s in self.catalog if s.source == source}
        return ",".join(
            self.released_through(s, now).isoformat() for _, s in sorted(schedules.items())
        )


class SpeedClock:
    """A clock that starts at ``start`` and runs ``speed`` times faster than real time."""

    def __init__(self, start: datetime, speed: float) -> None:
        if start.tzinfo is None:
            raise ValueError("SpeedClock needs a timezone-aware start")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def restart(self) -> None:
        """Go back to ``start`` and run from now (after a backfill that took real time)."""
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        """``start`` plus the real time elapsed since creation, times ``speed``."""
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)
