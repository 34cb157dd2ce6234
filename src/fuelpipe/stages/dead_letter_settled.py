"""Dead letters whose every date has since been settled in the store.

A download message dead-lettered while its source was down (its receives spent) asks for
dates a later orchestrator poll, the recheck or a release may store all the same. Once every
date it asked for, of every key it names, is settled (OK, ABSENT or QUARANTINED: the statuses
the gap scan counts as complete, :data:`~fuelpipe.domain.gaps.COMPLETE`), a redrive would
only fetch them again, and nothing is left for a person to do with it: the dead-letter alert
rule (:class:`~fuelpipe.stages.alerting.DeadLettered`) removes it, logged whole first
(:func:`log_removal`), and its alert clears saying so. A quarantined date is settled here as
the gap scan counts it: the quarantine rule alerts about it, with its series.

Never settled this way: a malformed message (no dates to read: a person must look), and a
``revise`` message, which asks only for dates answered already, so that its dates are settled
says nothing of whether the re-read it failed to make was made since.

A key the catalog no longer has, or no longer fetches by the message's fetch unit (a release
dropped or moved its series), is settled for that message as the scraper would settle it (it
fetches the message's other keys and skips that one, :func:`fuelpipe.stages.scrape.resolve`;
both ask :func:`fuelpipe.domain.planning.unfetched`): no record of it is read and none is
needed, so a redrive would fetch nothing for it. The removal says so with the key
(:meth:`Settled.words`): a dead letter naming only dropped keys is removed as "no longer in the
catalog", logged whole first, instead of staying for good. A date no message may ask for (before
its series starts: a release moved the start) of a key still in the catalog has no record to
settle it, and the scraper fetches none (:func:`fuelpipe.domain.planning.before_start`, which
``unservable`` asks first): it is settled unread as well, and said so (``before_start``). So is
a date more than a year after today (São Paulo's day of the clock the check is given, as the
scraper counts it): the scraper refuses it too (:func:`fuelpipe.domain.planning.unservable`,
the rule both ask; only a PENDING record of it is quarantined, and a dead letter's has none
unless its sender wrote one), so a redrive would fetch nothing for it while it stays that far
ahead, and the gap scan asks for it once it is near (``ahead``).

Reads are bounded: one status-only read of a key's span of dates (:meth:`SettleCheck.check`,
at most ``budget`` an evaluation), stopped at the first date not settled, which the alert keeps
(:func:`waits_on_text`) so that later evaluations ask the store about that one date alone
(:func:`now_settled`) and read the DLQ again only once it is settled, or needs no record any
more (:func:`settles_unread`: a release dropped its key or moved its start past it).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.gaps import COMPLETE
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.messages import DownloadRequest, MalformedMessage
from fuelpipe.domain.models import Status
from fuelpipe.domain.planning import before_start, unfetched, unservable
from fuelpipe.ports.queue import DeadLetter
from fuelpipe.ports.store import Store

logger = logging.getLogger(__name__)

SETTLE_READS = 2_000
"""Key reads (one status-only read of a key's span of dates each) one evaluation spends at
most on checking dead letters: an ANP workbook's message names ~230 keys, so a handful of
settled ones a run; most dead letters not settled cost one read (the first date read is
missing). A dead letter not reached is checked at the DLQ's next read."""

DROPPED_NAMED = 3
"""Keys no longer in the catalog a removal names (an ANP workbook's message names ~230)."""


@dataclass(frozen=True, slots=True)
class Settled:
    """Every (key, date) a dead letter asked for is settled: how many, by status, the keys
    it named that the catalog no longer has (or fetches by another unit), whose dates were not
    read, and how many (key, date) it asked for are before their series starts or more than a
    year ahead (the scraper fetches neither: :func:`~fuelpipe.domain.planning.unservable`), not
    read either."""

    statuses: Counter[Status]
    dropped: tuple[str, ...] = ()
    before_start: int = 0
    ahead: int = 0

    def words(self) -> str:
        """``3 OK, 1 ABSENT``: the dates' statuses, in the order of :class:`Status`; then the
        dropped keys, ``1 key no longer in the catalog: FUEL#X`` (the first 3 named), then the
        dates before their series starts and those more than a year ahead."""
        said = [f"{self.statuses[s]} {s.value}" for s in Status if self.statuses[s]]
        if self.dropped:
            n = len(self.dropped)
            named = ", ".join(self.dropped[:DROPPED_NAMED])
            more = f" and {n - DROPPED_NAMED:,} more" if n > DROPPED_NAMED else ""
            said.append(
                f"{n:,} key{'s' if n > 1 else ''} no longer in the catalog (or fetched by "
                f"another unit): {named}{more}"
            )
        if self.before_start:
            n = self.before_start
            said.append(
                f"{n:,} date{'s' if n > 1 else ''} before {'their' if n > 1 else 'its'} "
                "series starts"
            )
        if self.ahead:
            n = self.ahead
            said.append(f"{n:,} date{'s' if n > 1 else ''} more than a year ahead")
        return ", ".join(said)


@dataclass(frozen=True, slots=True)
class Waiting:
    """The first (key, date) of a dead letter found not settled (missing, or PENDING)."""

    key: str
    day: date


def waits_on_text(waiting: Waiting) -> str:
    """How a dead-letter alert's evidence keeps it (``waits_on``): ``KEY DATE``."""
    return f"{waiting.key} {waiting.day.isoformat()}"


def read_waits_on(text: object) -> Waiting | None:
    """:func:`waits_on_text` read back; None for anything else (an alert without one)."""
    if not isinstance(text, str):
        return None
    key, _, day = text.rpartition(" ")
    try:
        return Waiting(key, date.fromisoformat(day)) if key else None
    except ValueError:
        return None


def now_settled(store: Store, waiting: Waiting) -> bool:
    """Whether the one date a dead letter was last found waiting on is settled now: one point
    read of its record's status."""
    found = store.query(waiting.key, waiting.day, waiting.day, fields=("status",))
    return bool(found) and found[0].status in COMPLETE


def settles_unread(catalog: Catalog, waiting: Waiting, now: datetime) -> bool:
    """Whether the date a dead letter was last found waiting on needs no record now: its key
    is no longer in ``catalog`` (the whole one: a release dropped it), or the date is one the
    scraper refuses at ``now`` (before the series starts, a release having moved the start, or
    more than a year ahead: :func:`~fuelpipe.domain.planning.unservable`), as
    :meth:`SettleCheck.check` counts them; no read. A key moved to another fetch unit is not
    told here (``waits_on`` does not carry the message's unit): the DLQ's next read tells."""
    if waiting.key not in catalog:
        return True
    today = now.astimezone(SAO_PAULO).date()
    return unservable(catalog[waiting.key], waiting.day, today) is not None


class SettleCheck:
    """Checks dead letters against the store, spending at most ``budget`` key reads in all;
    ``catalog``: the whole catalog the scraper fetches by (not a `watch --series` selection),
    whose dropped keys settle without a read; ``now``: the clock's instant, whose São Paulo day
    says which dates are more than a year ahead (settled unread, as the scraper refuses them)."""

    def __init__(
        self, store: Store, catalog: Catalog, budget: int = SETTLE_READS, *, now: datetime
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._today = now.astimezone(SAO_PAULO).date()  # the scraper's ``refused_dates`` day
        self.left = budget

    def check(self, letter: DeadLetter) -> Settled | Waiting | None:
        """Whether every date ``letter`` asked for is settled (:class:`Settled`), the first one
        found not to be (:class:`Waiting`), or None: never settled this way (malformed, a
        ``revise``), or not checked (the reads left would not cover its keys)."""
        try:
            request = DownloadRequest.from_body(letter.body)
        except MalformedMessage:
            return None
        if request.origin == "revise":
            return None
        unit = request.fetch_unit
        dropped = tuple(k for k in request.keys if unfetched(self._catalog, k, unit) is not None)
        keys, early, ahead = self._to_read(request, dropped)
        if len(keys) > self.left:
            return None
        statuses: Counter[Status] = Counter()
        for key, days in keys:  # the partition key first: the one its sender missed
            self.left -= 1
            stored = self._store.query(key, days[0], days[-1], fields=("status",))
            found = {r.date: r.status for r in stored}
            for day in days:
                status = found.get(day)
                if status is None or status not in COMPLETE:
                    return Waiting(key, day)
                statuses[status] += 1
        return Settled(statuses, dropped, early, ahead)

    def _to_read(
        self, request: DownloadRequest, dropped: tuple[str, ...]
    ) -> tuple[list[tuple[str, list[date]]], int, int]:
        """Each key of ``request`` not ``dropped`` with the dates of it the scraper would fetch
        (those to read), and how many (key, date) it refuses: before the series starts (a
        release moved the start), then more than a year ahead (``unservable``, the rule it
        refuses dates by)."""
        asked = request.dates_to_download  # sorted, no repeats
        keys = []
        early = ahead = 0
        for key in request.keys:
            if key in dropped:
                continue
            series = self._catalog[key]
            days = []
            for day in asked:
                if unservable(series, day, self._today) is None:
                    days.append(day)
                elif before_start(series, day) is not None:
                    early += 1
                else:
                    ahead += 1
            if days:
                keys.append((key, days))
        return keys, early, ahead


def never_settled(letter: DeadLetter) -> str | None:
    """Why :meth:`SettleCheck.check` never finds ``letter`` settled: ``malformed`` (no dates
    to read) or ``revise`` (its dates say nothing of the re-read it failed to make); None for
    any other (one it answered None for was not reached: its reads were spent)."""
    try:
        request = DownloadRequest.from_body(letter.body)
    except MalformedMessage:
        return "malformed"
    return "revise" if request.origin == "revise" else None


def log_removal(letter: DeadLetter, settled: Settled) -> None:
    """Log a settled dead letter whole before it is removed, so nothing of it is lost: its
    id, copies, reason, the statuses of its dates and its body."""
    logger.warning(
        "removing dead letter %s (%d copy/copies): every date it asked for is settled in the "
        "store (%s); it was dead-lettered for: %s; its body: %s",
        letter.message_id,
        letter.copies,
        settled.words(),
        letter.reason,
        letter.body,
    )
