"""A source's own Retry-After, kept by `watch` across its requests and ticks.

An adapter waits out a 429's or 503's Retry-After inside one fetch only when it is within its
cap (20 s, ``RETRY_AFTER_CAP_S``); a longer one ends the fetch at that answer, with no further
request, and the error is raised with ``retry_after`` set. A source that asks for ten minutes
means ten minutes: `watch` keeps the instant it may ask that source again
(:class:`SourceRests`, which its home supplies: ``build_home(keeps_rests=True)``), sends it
no request before then (the scraper skips the source's messages, the tick leaves its due
series, retries and daily revise for later) and wakes for the first look after it. `run`
keeps one the same way for the run (one for all its ``--workers`` processes, in memory they
share: homes/embedded.py ``SharedRestEnds``): the source's further messages are not fetched,
their dates left PENDING and due when the rest ends, and the run's recheck claims none of its
retries. The AWS home's scraper, retry recheck and
orchestrator Lambdas share theirs through the table (:class:`SharedRests`, homes/aws.py:
``share_rests``): a resting source's messages are given back hidden until the rest ends
(stages/scrape.py: ``defer_if_resting``), by every scraper environment, its retries are not
claimed meanwhile, and a window poll holds its due series when a later poll of the window
comes after the rest, or once a poll of the rest has sent them (stages/due.py:
``hold_resting``). The wait is cut to :data:`MAX_REST`, so a wrong or hostile header cannot
silence a source for days.

A rest is real time at the source, so it is timed on a monotonic clock (the embedded home
gives ``time.monotonic``; tests one they move), or, shared between machines, on the wall
clock the AWS home gives, not on the business clock: a business clock fixed by
``FUELPIPE_NOW`` (the demo, tests) never reaches the end of a rest timed on it, and an
accelerated one (``demo --live``) or one set by ``--now`` would end it early or late. The
business clock only places the end among the stage's own instants (``now`` + what is left).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from fuelpipe.ports.clock import Clock
from fuelpipe.ports.source import RateLimited, ServerError, SourceError
from fuelpipe.ports.store import Store

MAX_REST = timedelta(hours=1)
"""The longest a Retry-After keeps `watch` off a source: a source that asks for more is asked
again after an hour (and, if still unwilling, says so again)."""


REST_META = "rest#"
"""The meta family of the rests shared through the store (:class:`SharedRests`):
``rest#<source>`` holds the wall-clock instant (ISO 8601) the source may be asked again."""

SHARE_ATTEMPTS = 5
"""How many times :meth:`SharedRests.note` tries its conditional write against other
clients writing the same rest before it leaves theirs standing."""

logger = logging.getLogger(__name__)


def _rest_seconds(error: SourceError, cap: timedelta) -> float | None:
    """``error``'s Retry-After in seconds, cut to ``cap``; None when it asks for no rest."""
    if not isinstance(error, RateLimited | ServerError) or not error.retry_after:
        return None
    return min(error.retry_after, cap.total_seconds())


class Rests(ABC):
    """Per source, when it may be asked again after a Retry-After, told as an instant of the
    caller's clock."""

    @abstractmethod
    def note(self, source: str, error: SourceError) -> None:
        """Keep ``error``'s Retry-After (a 429's or a 503's; none, or 0 s, keeps nothing), cut
        to the cap; a rest already running for longer is not shortened."""

    @abstractmethod
    def until(self, source: str, now: datetime) -> datetime | None:
        """When ``source`` may be asked again, as ``now`` plus the real time left of its rest
        (``now``: the caller's clock, read now), or None when it may be asked now."""

    @abstractmethod
    def resting(self, now: datetime) -> dict[str, datetime]:
        """Every source not to be asked at ``now``, with the instant its rest ends."""

    @contextmanager
    def batch(self) -> Iterator[None]:
        """A batch of messages (the scraper Lambda's): rests kept elsewhere may be read once
        for all of it (:class:`SharedRests`); one kept here in memory is read as always."""
        yield


class RestEnds(Protocol):
    """Where :class:`SourceRests` keeps each source's rest end, in ``monotonic`` seconds."""

    def extend(self, source: str, until: float) -> None:
        """``source`` rests until ``until`` at least (a later end already kept stands)."""

    def ends(self) -> dict[str, float]:
        """Every source's kept end."""


class OwnEnds(RestEnds):
    """Rest ends in this process's memory alone."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def extend(self, source: str, until: float) -> None:
        self._until[source] = max(until, self._until.get(source, until))

    def ends(self) -> dict[str, float]:
        return dict(self._until)


class SourceRests(Rests):
    """Rests on one machine: timed in ``monotonic`` seconds (real elapsed time), kept in
    ``ends``: this process's memory unless given (`run --workers` gives one its scraper
    processes share: homes/embedded.py ``SharedRestEnds``)."""

    def __init__(
        self,
        cap: timedelta = MAX_REST,
        *,
        monotonic: Callable[[], float],
        ends: RestEnds | None = None,
    ) -> None:
        self.cap = cap
        self._monotonic = monotonic
        self._ends = ends if ends is not None else OwnEnds()

    def note(self, source: str, error: SourceError) -> None:
        seconds = _rest_seconds(error, self.cap)
        if seconds is None:
            return
        self._ends.extend(source, self._monotonic() + seconds)

    def until(self, source: str, now: datetime) -> datetime | None:
        return self._left(self._ends.ends().get(source), now)

    def resting(self, now: datetime) -> dict[str, datetime]:
        return {
            name: until
            for name, end in self._ends.ends().items()
            if (until := self._left(end, now)) is not None
        }

    def _left(self, end: float | None, now: datetime) -> datetime | None:
        """The rest ending at ``end`` (monotonic) as an instant after ``now``; None when over."""
        left = None if end is None else end - self._monotonic()
        if left is None or left <= 0:
            return None
        return now + timedelta(seconds=left)


class SharedRests(Rests):
    """Rests kept in the store's meta entries (:data:`REST_META`), so every client of the
    store (each scraper Lambda environment, the retry recheck) honours a Retry-After any of
    them heard. Timed on ``wall``: real wall time, which the home injects (each client's own
    monotonic clock means nothing to another), never the business clock. A rest is read cut
    to the cap too, so a wrong entry silences no source for longer."""

    def __init__(self, store: Store, wall: Clock, cap: timedelta = MAX_REST) -> None:
        self.cap = cap
        self._store = store
        self._wall = wall
        self._in_batch = False
        self._held: dict[str, str] | None = None
        """In a batch, the rest entries read once (source: its end), None until first asked."""

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Within, the rests are read from the store once, on first use (one Query of the
        :data:`REST_META` entries), not once a message and again a request: a rest this
        client notes is kept in what was read, so its later messages honour it; one another
        client notes meanwhile is read by the next batch (until then, a request of this one
        may draw that source's 429 itself, and rest it). Outside, every call reads the store."""
        self._in_batch, self._held = True, None
        try:
            yield
        finally:
            self._in_batch, self._held = False, None

    def note(self, source: str, error: SourceError) -> None:
        """As :meth:`Rests.note`, written conditionally (a longer rest another client wrote
        meanwhile stands). A store that refuses the write is logged, not raised: the rest is
        then only unshared, and the error being handled goes on as it would."""
        seconds = _rest_seconds(error, self.cap)
        if seconds is None:
            return
        until = self._wall.now() + timedelta(seconds=seconds)
        standing = self._share(source, until)
        if self._in_batch:  # kept even when unshared: this client heard it
            self._entries()[source] = (standing or until).isoformat()

    def _share(self, source: str, until: datetime) -> datetime | None:
        """Write ``until`` as ``source``'s rest unless a longer one stands; the end that
        stands then (None: the store refused, logged)."""
        name = REST_META + source
        try:
            for _ in range(SHARE_ATTEMPTS):
                held = self._store.get_meta(name)
                ends = _instant(held)
                if ends is not None and ends >= until:
                    return ends
                if self._store.replace_meta(name, held, until.isoformat()):
                    return until
        except Exception:
            logger.warning("the rest of %s could not be shared", source, exc_info=True)
            return None
        return until  # every attempt met another client's write: theirs stands, ours heard

    def until(self, source: str, now: datetime) -> datetime | None:
        if self._in_batch:
            value = self._entries().get(source)
        else:
            value = self._store.get_meta(REST_META + source)
        return self._left(value, now, self._wall.now())

    def resting(self, now: datetime) -> dict[str, datetime]:
        wall = self._wall.now()
        return {
            source: until
            for source, value in self._entries().items()
            if (until := self._left(value, now, wall)) is not None
        }

    def _entries(self) -> dict[str, str]:
        """Every shared rest (source: its stored end): read now, or in a batch, once."""
        if self._in_batch and self._held is not None:
            return self._held
        read = {
            name.removeprefix(REST_META): value
            for name, value in self._store.meta_entries(REST_META)
        }
        if self._in_batch:
            self._held = read
        return read

    def _left(self, value: str | None, now: datetime, wall: datetime) -> datetime | None:
        ends = _instant(value)
        left = None if ends is None else min(ends - wall, self.cap)
        return now + left if left is not None and left > timedelta(0) else None


def _instant(value: str | None) -> datetime | None:
    """A shared rest's end; None for none, or for text that is not an instant with its
    offset (then no rest: the next note replaces it)."""
    try:
        ends = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return ends if ends is not None and ends.tzinfo is not None else None
