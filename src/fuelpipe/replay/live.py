"""Publication-aware replay: a value is served only once its real publication instant has passed
on an injected clock (``fuelpipe demo --live``, the freshness bench).

It reuses the fault plan's "absent dates" hook that every route already honours: each route
also withholds every date after the latest one its publication schedule has released by
``clock.now()``. A publication appears whole, as the source publishes it: the schedule is the
route's own (a workbook's, a series'), not only the catalog's keys, so an ANP workbook gains a
week's rows for every product and area at once, whichever keys the plan's catalog holds.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta

from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog, Series
from fuelpipe.domain.publication import Publication, publication
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
        return self._released_at(series.source, series.schedule, day)

    def released_through(self, series: Series, now: datetime) -> date:
        """The latest date of ``series`` released by ``now``."""
        return self._released_through(series.source, series.schedule, now)

    def _released_at(self, source: str, schedule: Publication, day: date) -> datetime:
        return schedule.published_at(day) + self._offset(source, day)

    def _released_through(self, source: str, schedule: Publication, now: datetime) -> date:
        lo = self.jitter.get(source, (timedelta(0), timedelta(0)))[0]
        day = schedule.published_through(now - min(lo, timedelta(0)))
        while self._released_at(source, schedule, day) > now:
            day -= timedelta(days=1)
        return day

    def _schedule(self, source: str, key: str | None, schedule: str | None) -> str | None:
        """The publication schedule of what a route serves: its key's (the plan's catalog
        first, then the full one: a key the plan does not watch is still published by its
        source on its schedule), else the route's own ``schedule``, else the source's only
        one (None: a source with several and nothing to choose by)."""
        for catalog in (self.catalog, DEFAULT_CATALOG):
            if key is not None and key in catalog:
                return catalog[key].publication
        if schedule is not None:
            return schedule
        names = _publications(self.catalog, source)
        return next(iter(names)) if len(names) == 1 else None

    def absent_days(self, source: str, key: str | None, schedule: str | None = None) -> DateSet:
        """The base plan's absent dates plus every date not released yet by the schedule of
        what is served (:meth:`_schedule`), whether or not the plan's catalog has ``key``."""
        out = super().absent_days(source, key, schedule)
        name = self._schedule(source, key, schedule)
        if name is None:
            return out
        through = self._released_through(source, publication(name), self._now())
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
        return ",".join(
            self._released_through(source, publication(name), now).isoformat()
            for name in sorted(_publications(self.catalog, source))
        )


def _publications(catalog: Catalog, source: str) -> set[str]:
    """The schedules ``source`` publishes on: its series' in ``catalog`` and the full one."""
    return {s.publication for c in (catalog, DEFAULT_CATALOG) for s in c if s.source == source}


class SpeedClock:
    """A clock that starts at ``start`` and runs ``speed`` times faster than real time, and
    that can be held still (:meth:`hold`) while the pipeline works: `demo --live` runs it only
    while its loop waits, so a second the machine spends on a tick is not ``speed`` seconds of
    replayed time (at 3600x, two seconds of work were two replayed hours, a Yahoo close's whole
    allowance, and its source was alerted late). ``monotonic``: the real time it runs on."""

    def __init__(
        self,
        start: datetime,
        speed: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("SpeedClock needs a timezone-aware start")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        self._monotonic = monotonic
        # (the instant reached, the real time it runs from; None: held there). One tuple,
        # replaced whole: the panel's thread reads it while the loop's thread holds it.
        self._state: tuple[datetime, float | None] = (start, monotonic())

    def restart(self) -> None:
        """Go back to ``start`` and run from now (after a backfill that took real time)."""
        self._state = (self.start, self._monotonic())

    def hold(self) -> None:
        """Stand still at the instant reached until :meth:`resume`."""
        self._state = (self.now(), None)

    def resume(self) -> None:
        """Run on from the instant held (nothing when running)."""
        at, since = self._state
        if since is None:
            self._state = (at, self._monotonic())

    def now(self) -> datetime:
        """The instant reached: the real time it has run since ``start``, times ``speed``."""
        at, since = self._state
        if since is None:
            return at
        return at + timedelta(seconds=(self._monotonic() - since) * self.speed)
