"""The store port: a single table keyed by ``info_type`` (partition) and ``date`` (sort)."""

from __future__ import annotations

import abc
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from types import MappingProxyType
from typing import Literal

from fuelpipe.domain.instants import iso_utc
from fuelpipe.domain.models import AttrValue, PresentDate, Record, Revision, Status

BATCH_LIMIT = 25
"""At most this many items go in one batch write (DynamoDB's BatchWriteItem limit)."""

RECORD_ATTRIBUTES = MappingProxyType(
    {
        "key": "info_type",
        "date": "date",
        "value": "value",
        "status": "status",
        "retry_count": "retry_count",
        "next_attempt_at": "next_attempt_at",
        "reason": "reason",
        "attrs": "attrs",
        "updated_at": "updated_at",
        "revisions": "revisions",
    }
)
"""Record field -> attribute (column) name in the single table, the same in every adapter."""

LATEST_FIELDS = ("key", "date", "status", "retry_count", "next_attempt_at", "reason", "updated_at")
"""What :meth:`Store.latest_status` reads of each record, and all a DynamoDB status index holds."""


def paged(
    store: Store,
    key: str,
    *,
    start: date | None = None,
    end: date | None = None,
    newest_first: bool,
    fields: Sequence[str],
    first: int,
    growth: int,
) -> Iterator[Record]:
    """The records of ``key`` in ``[start, end]`` from one end (``newest_first``), read in
    growing pages (``first`` records, then ``growth`` times more each), each page only when the
    caller asks past the previous one: a caller after the first record of some kind at an end
    reads about as much as lies between that end and it, whatever the history's length."""
    size = first
    while True:
        page = store.query(key, start, end, fields, limit=size, newest_first=newest_first)
        yield from page
        if len(page) < size:
            return
        if newest_first:
            end = page[-1].date - timedelta(days=1)
        else:
            start = page[-1].date + timedelta(days=1)
        size *= growth


@dataclass(frozen=True, slots=True)
class Watermark:
    """How far one key is known complete, so a gap scan reads only the dates after it.

    Every expected date of the key up to ``through`` (both ends included, from the series'
    start) has a record that is OK, ABSENT or QUARANTINED; ``None``: nothing known complete.
    ``version`` grows with every change (a conditional update compares it, so two orchestrators
    never both move it, and a date going back to PENDING meanwhile makes the move fail);
    ``audited_at`` is when a full scan last checked it; ``calendar`` the fingerprint of the
    series' calendar the scan used (``domain.calendars.calendar_fingerprint``; None: written
    before fingerprints were kept): another one means "complete" was judged by other rules,
    and the next scan is a full audit.
    """

    key: str
    through: date | None
    version: int
    audited_at: datetime | None = None
    calendar: str | None = None


_REVISIONS = attrgetter("revisions")


def refuse_histories(records: Sequence[Record]) -> None:
    """put_records writes records whole and keeps no history: one carrying revisions is a
    caller's mistake (only :meth:`Store.revise` adds to a history), refused alike everywhere."""
    if not any(map(_REVISIONS, records)):  # the usual case, read at C speed
        return
    for r in records:
        if r.revisions:
            raise ValueError(
                f"put_records writes records without a history; {r.key} {r.date} carries "
                f"{len(r.revisions)} revision(s) (revise() adds to a history)"
            )


def meta_family(name: str) -> str:
    """The family of a meta setting's name (its text up to and including its first ``#``),
    which :meth:`Store.latest_meta` orders ranked settings within; ValueError without one."""
    family, hash_, _ = name.partition("#")
    if not family or not hash_:
        raise ValueError(f"meta name {name!r} has no family (text before a '#')")
    return family + hash_


def ranked_family(family: str) -> str:
    """``family`` when it is one (``set_aside#``: text, then its only ``#`` at the end), for
    :meth:`Store.latest_meta`; ValueError otherwise."""
    if not family.endswith("#") or meta_family(family) != family:
        raise ValueError(f"{family!r} is not a meta family (text, then one '#' at its end)")
    return family


def indexed_only(status: Status) -> None:
    """ValueError unless ``status`` is PENDING or QUARANTINED: only those records are indexed
    (counted, summed up); OK and ABSENT ones are not."""
    if status not in (Status.PENDING, Status.QUARANTINED):
        raise ValueError(f"only PENDING and QUARANTINED records are counted, not {status}")


WRITTEN_AT = "written_at"
"""The attribute (column) every write of a published value stamps with the store's *wall*
clock (:meth:`Store.wall_now`): real time, kept apart from ``updated_at``'s business clock,
so writes stay ordered when that clock is fixed (``--now``: every ``updated_at`` equal). Not a
record field: only :meth:`Store.revise` compares it. A record no release stamped (written
before it was kept) orders nothing."""


def written_since(written_at: datetime | None, answered_at: datetime | None, now: datetime) -> bool:
    """Whether a record last written at ``written_at`` was written after an answer whose request
    was sent at ``answered_at``, all three read on one wall clock (:meth:`Store.wall_now`):
    that write may come from a later answer, so the earlier one must not revise it
    (:meth:`Store.revise`). A stamp later than ``now`` was set by a clock ahead (another
    machine's): it orders nothing, so it is not held against any answer (holding it would
    refuse every revision until the clocks met)."""
    if written_at is None or answered_at is None:
        return False
    return answered_at < written_at <= now


PENDING_SINCE = "pending_since"
"""The attribute (column) holding when a PENDING record first became PENDING: the store
stamps it with its business clock (as ``updated_at``) when it creates a PENDING record or
:meth:`Store.release` puts a QUARANTINED one back, keeps it through every refresh
(:meth:`Store.put_pending` of a later failure), retry claim and give-back, and drops it when the
record leaves PENDING (stored OK, quarantined, ABSENT). ``updated_at`` cannot say this: each
retry's claim rewrites it. Not a record field: :meth:`Store.pending_marks` reads it. A
record made PENDING before it was kept has none (its caller falls back on the date's
publication)."""


@dataclass(frozen=True, slots=True)
class PendingMarks:
    """What the health view reads of one PENDING record beyond its status index entry."""

    since: datetime | None
    """When it first became PENDING (:data:`PENDING_SINCE`); None: before that was kept."""
    no_value_seen_at: datetime | None
    """When the source answered its date with its own "no value" inside the window
    (:func:`~fuelpipe.domain.models.no_value_seen_at` of its attributes); None: it has not,
    the date is waiting for a value not out yet or its last request failed."""


class AnsweredBefore(Exception):
    """:meth:`Store.revise` refused an answer whose request was sent before the record's last
    write (:func:`written_since`): that write may hold a later answer, so only a new request
    can tell which is the source's latest."""


@dataclass(frozen=True, slots=True)
class StatusStamp:
    """How many records of one status there are and the newest ``updated_at`` among them:
    together they change whenever a record of that status is written (its stamp is the
    newest) or leaves it (one fewer), so a view built from those records can be cached on
    them."""

    count: int
    latest: datetime | None


@dataclass(frozen=True, slots=True)
class StatusSummary:
    """One key's records of one status, summed up exactly."""

    key: str
    count: int
    first: date
    last: date
    latest: datetime | None
    """The newest ``updated_at`` among them."""
    earliest: datetime | None
    """The oldest ``updated_at`` among them. A QUARANTINED record is written when it is
    quarantined and not again until it leaves (released, stored OK), so for that status it is
    when the first of the key's quarantined records was quarantined: the quarantine alert's
    ``since``. (Read from the same entries as ``latest``: no further read.)"""
    max_retry_count: int
    reasons: dict[str | None, int]
    """How many records give each reason, in the order of each reason's earliest date."""


SettleVerb = Literal["release", "accept"]
"""What :meth:`Store.settle_many` does to a QUARANTINED record."""
Slot = tuple[str, date]
"""A record's key and date."""


@dataclass(frozen=True, slots=True)
class Settled:
    """A QUARANTINED record :meth:`Store.settle_many` released or accepted, as it was then."""

    key: str
    date: date
    retry_count: int
    """The re-downloads it had."""
    reason: str | None
    """Why it was quarantined (the last error)."""


@dataclass(frozen=True, slots=True)
class Journal:
    """A meta entry :meth:`Store.settle_many` keeps for each record it settles, written with
    the record's change (both or neither)."""

    name: Callable[[str, date], str]
    """The entry of a key's date."""
    add: Callable[[str | None, Settled], str]
    """The entry's new value from the one it holds (None: none yet) and the change."""


def earliest_by_key(settled: Sequence[Settled]) -> dict[str, date]:
    """The earliest date of each key among ``settled``: where a release of them all moves
    the key's watermark below (once, not once a date)."""
    out: dict[str, date] = {}
    for s in settled:
        out[s.key] = min(out.get(s.key, s.date), s.date)
    return out


def new_run_id() -> str:
    """A run-log entry's own id (:attr:`RunLog.run_id`): the wall clock's microseconds when
    it is made, then random bits, so no two runs share one and, of runs alike in start and
    end (a fixed clock), the one made later sorts later and is the stage's latest on both
    stores (UUIDv7's layout; Python 3.11 has no ``uuid.uuid7``). An id, not a business time:
    the clock port is not for it."""
    return f"{time.time_ns() // 1000:014x}{uuid.uuid4().hex[:8]}"


RUN_ID_MARK = "#"
"""Between a run-log entry's start and its id where a store keeps both in one sort key
(:func:`run_sort_key`)."""


def run_sort_key(run: RunLog) -> str:
    """A run-log entry's place among its stage's: its start (fixed-width UTC ISO, so the text
    sorts as the instants do), then its id, so runs starting at the same instant (a fixed
    clock: `--now`, a demo store's; `watch`'s drains within one tick) are each kept. An entry
    of no id (written before entries had one) keeps its start alone, as it was kept."""
    started = iso_utc(run.started_at)
    return f"{started}{RUN_ID_MARK}{run.run_id}" if run.run_id else started


RUN_START_WIDTH = len("2000-01-01T00:00:00.000000+00:00")
"""The characters of a :func:`run_sort_key`'s start (``iso_utc`` is fixed-width)."""

RUNS_THROUGH_MARK = "~"
"""Appended to an instant's ISO text to bound :func:`run_sort_key`s started at or before it:
``~`` sorts after :data:`RUN_ID_MARK` and every character of an id."""


def run_id_of(sort_key: str) -> str:
    """The id :func:`run_sort_key` put in ``sort_key`` ("" for none)."""
    return sort_key.partition(RUN_ID_MARK)[2]


@dataclass(frozen=True, slots=True)
class RunLog:
    """What one stage did in one run, kept for the pipeline-health view."""

    stage: str
    started_at: datetime
    finished_at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    run_id: str = field(default_factory=new_run_id, compare=False)
    """The entry's own id: a new one each entry, so two runs of a stage that start at the same
    instant are both kept (and each read back with its id); the same id (``replace`` of a
    run read or written) rewrites that entry, as a cycle's scraper entry after each drain or
    a settled revise. Not compared: two entries saying the same are equal."""


class Store(abc.ABC):
    """Durable, idempotent storage of records and their retry state."""

    @abc.abstractmethod
    def put_records(self, records: Sequence[Record]) -> int:
        """Upsert OK records in bounded batches (DynamoDB: 25 per BatchWriteItem); the same
        record twice leaves one.

        Each record is written whole, as DynamoDB's Put writes an item: a stored history is
        not kept over it, and a record carrying ``revisions`` is refused (ValueError: only
        :meth:`revise` adds to a history). It is the writer of records their caller owns (the
        outlook's forecasts and scores, bulk loads of a fresh store); published values go
        through :meth:`add_records` and :meth:`revise`, which keep histories. Every number is
        stored in its canonical form (``domain.numbers.canonical``: ``68.80`` is kept as
        ``68.8``, ``1E+2`` as ``100``), so every backend returns the same Decimal; an
        attribute keeps its type (a Decimal stays a
        Decimal, ``27.0`` coming back ``Decimal("27")``, an int stays an int). A number with
        more than 38 significant digits is refused (``TooManyDigits``, naming the key and
        date), as by every write of this port."""

    @abc.abstractmethod
    def add_records(self, records: Sequence[Record]) -> list[tuple[str, date]]:
        """Store new OK values without ever overwriting an OK one: each record is created, or
        replaces a PENDING, QUARANTINED or ABSENT record of its date, conditionally per record.

        Returns the (key, date) slots left as they were because they already held an OK
        record, as another writer may have stored meanwhile: the caller compares and revises
        them (``revise``), so a value is never replaced without its history. The last of
        duplicate keys in ``records`` is the one offered.
        """

    def add_values(
        self,
        keys: Sequence[str],
        days: Sequence[date],
        values: Sequence[Decimal],
        attrs: Sequence[dict[str, AttrValue]],
    ) -> list[tuple[str, date]]:
        """:meth:`add_records` of the OK records given a column at a time (row ``i``:
        ``keys[i]``, ``days[i]``, ``values[i]``, ``attrs[i]``, no retry state): the same
        writes, errors and answer. A store may write them without a Record each (SQLite
        does: the scraper's values, ~283,000 in a 20-year backfill); this default makes the
        records and adds them."""
        ok = Status.OK
        return self.add_records(
            [
                Record(key, day, value, ok, 0, None, None, attr)
                for key, day, value, attr in zip(keys, days, values, attrs, strict=True)
            ]
        )

    @abc.abstractmethod
    def revise(
        self,
        key: str,
        day: date,
        revision: Revision,
        attrs: dict[str, AttrValue],
        *,
        history: int | None = None,
        answered_at: datetime | None = None,
    ) -> bool:
        """Replace an OK record's value with a revised one and append the revision to its history.

        An adjustment (``revision.kind``: only derived attributes changed, ``previous ==
        new``) is stored the same way, conditions and all; it is kept in the history but
        ``revised`` and ``present`` do not count it as a revision.

        Conditional: only when the record is OK and its value still equals
        ``revision.previous``, and, given ``history`` (how many revisions the caller saw), it
        still holds exactly that many: another revision meanwhile, of its value or only of its
        attributes, refuses this one. False otherwise (it changed meanwhile), so no value or
        attribute is ever overwritten without its history. ``attrs`` replace the record's side
        attributes.

        Given ``answered_at`` (when the request that returned ``revision.new`` was sent, read
        with :meth:`wall_now`), it raises AnsweredBefore instead when the OK record was
        written after that instant (:func:`written_since` on its :data:`WRITTEN_AT`, which
        add_records, put_records and revise stamp with the store's wall clock): that write may
        hold a later answer than this one (another reader's, stored while this answer was on
        its way), so only a new request can tell which is the source's latest. The wall clock
        is not the business clock: with that one fixed (``--now``) writes are still ordered.
        A stamp later than the store's wall now was set by a clock ahead and refuses nothing.
        """

    def wall_now(self) -> datetime:
        """Now on the wall clock that stamps :data:`WRITTEN_AT`: what a reader reads just
        before sending a request, as the ``answered_at`` of its answer's revisions."""
        return datetime.now(UTC)

    @abc.abstractmethod
    def revised(self, key: str) -> list[Record]:
        """Every record of one key whose value was revised, with its history, in date order;
        a record whose history holds adjustments only is not listed."""

    @abc.abstractmethod
    def put_pending(self, record: Record) -> bool:
        """Create or refresh a PENDING record; never touches an OK or QUARANTINED one.

        A QUARANTINED or ABSENT record is created, or replaces a PENDING one (an ABSENT one
        leaves the pending index: it is never retried).
        """

    def put_pendings(self, records: Sequence[Record]) -> list[bool]:
        """``put_pending`` of each record, in order (what each returned); a backend may write
        them together. A failed request marks thousands of dates at once (a 20-year ANP
        workbook: ~89,000)."""
        return [self.put_pending(r) for r in records]

    @abc.abstractmethod
    def create_pendings(self, records: Sequence[Record]) -> list[bool]:
        """Create each PENDING record whose date holds no record at all; a record of any
        status already there (a PENDING one too: its retry state and reason) is left as it
        is. What each call did, in order: True where it created the record. A ValueError for
        a record that is not PENDING, before anything is written.

        The write a message's last delivery makes before it is handled (stages/scrape.py:
        :func:`~fuelpipe.stages.scrape.hold_last_delivery`): should the worker die on it, its
        dates are PENDING, retried by recheck, not gaps sent again. Conditional per record
        (SQLite: one transaction; DynamoDB: a PutItem on ``attribute_not_exists`` each, in
        parallel; one botocore sent again after its first attempt landed reads False)."""

    @abc.abstractmethod
    def pending_marks(
        self, slots: Sequence[tuple[str, date]]
    ) -> dict[tuple[str, date], PendingMarks]:
        """Each PENDING record's :class:`PendingMarks` among ``slots`` (key, date): when it
        first became PENDING (:data:`PENDING_SINCE`) and when the source answered its date
        with "no value" (neither is in the status index); a slot whose record is not PENDING
        or does not exist is left out. A read of those records alone, by primary key
        (DynamoDB: one GetItem each, in parallel, eventually consistent as
        :meth:`latest_status`, which it follows in the health view)."""

    @abc.abstractmethod
    def stored_keys(self, keys: Sequence[str]) -> set[str]:
        """The keys among ``keys`` that hold at least one record, of any status: the keys
        whose :meth:`present` is not empty, without reading their dates (SQLite: one
        statement seeking each key's first row; DynamoDB: one keys-only Query of one item a
        key, in parallel). The health view asks it of the whole catalog, most of whose series
        a store may not hold."""

    @abc.abstractmethod
    def present(self, key: str) -> list[PresentDate]:
        """Every stored date of one key with its status and whether it was revised (an
        adjustment alone is no revision); one paginated keys-only query."""

    @abc.abstractmethod
    def query(
        self,
        key: str,
        start: date | None = None,
        end: date | None = None,
        fields: Sequence[str] | None = None,
        *,
        consistent: bool = False,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Record]:
        """Records of one key in ``[start, end]``, in date order; ``fields`` limits what is read.
        ``consistent``: see every write that finished before the call (DynamoDB: a strongly
        consistent read, twice the read units), as a writer comparing before it writes must.
        ``newest_first``: latest date first; ``limit``: at most that many records, read from
        the end the order starts at (the newest record of a key: ``limit=1,
        newest_first=True``, one small read whatever the history's length)."""

    def compared(
        self,
        key: str,
        start: date,
        end: date,
        days: Collection[date],
        fields: Sequence[str],
    ) -> tuple[dict[date, Decimal], dict[date, Record]]:
        """What a writer compares new values of ``key`` on ``days`` with, read consistently:
        the OK values in ``[start, end]`` by date (the neighbours a new value is judged by),
        and the OK records of ``days`` with ``fields`` and the value read (what a new value
        would revise). A record that is not OK, or has no value, is in neither.

        Here one consistent :meth:`query` of the range (DynamoDB: one Query, as before this
        method). SQLite reads the values alone and the records only of ``days`` that hold an
        OK value: in a backfill none does, and the neighbours' attributes and histories,
        which nothing compares, are not decoded."""
        values: dict[date, Decimal] = {}
        records: dict[date, Record] = {}
        for record in self.query(key, start, end, (*fields, "value"), consistent=True):
            if record.status is Status.OK and record.value is not None:
                values[record.date] = record.value
                if record.date in days:
                    records[record.date] = record
        return values, records

    @abc.abstractmethod
    def claim_retry(
        self, key: str, day: date, expected_count: int, new_count: int, next_attempt_at: datetime
    ) -> bool:
        """Move a PENDING record's retry count from expected to new; False if someone else did."""

    @abc.abstractmethod
    def give_back_retry(
        self,
        key: str,
        day: date,
        claimed_count: int,
        claimed_next: datetime,
        count: int,
        next_attempt_at: datetime | None,
    ) -> bool:
        """Undo a :meth:`claim_retry` whose re-download was never sent (the queue refused it):
        the retry count goes back from ``claimed_count`` to ``count`` and the next attempt
        back to ``next_attempt_at`` (None: due, as one never scheduled).

        Conditional: only while the record is still PENDING with exactly what the claim wrote
        (``claimed_count`` and ``claimed_next``); False otherwise (stored, quarantined or
        claimed again meanwhile), so nobody else's retry state is ever overwritten.
        """

    @abc.abstractmethod
    def quarantine(self, key: str, day: date, expected_count: int, reason: str) -> bool:
        """Quarantine a PENDING record whose retries are spent; False if it changed meanwhile."""

    @abc.abstractmethod
    def release(self, key: str, day: date, now: datetime) -> bool:
        """Put a QUARANTINED record back to PENDING with a fresh retry budget, due now."""

    @abc.abstractmethod
    def accept(self, key: str, day: date, now: datetime) -> bool:
        """Make a QUARANTINED record ABSENT: a person accepts that its date has no value.

        It is never retried and leaves the quarantined list; its retry count (the re-downloads
        it had) is kept and its reason says it was accepted, when, and why it was quarantined
        (:func:`~fuelpipe.domain.retry.accepted_reason`). As any ABSENT date, a value the
        source publishes for it later is still stored (``revise`` re-reads its window).
        Conditional: False unless the record is QUARANTINED."""

    @abc.abstractmethod
    def settle_many(
        self, verb: SettleVerb, slots: Sequence[Slot], now: datetime, journal: Journal | None = None
    ) -> list[Settled]:
        """:meth:`release` or :meth:`accept` (``verb``) each QUARANTINED record of ``slots``
        (key, date; a slot named twice counts once), with the ``journal`` entry of each
        written in the same step as its change; those settled, in the order of ``slots``, as
        they were. A slot that is not QUARANTINED (none, OK, PENDING, ABSENT, or settled by
        someone else meanwhile) is left as it is, never overwritten. A release moves each
        key's watermark once, below its earliest date released.

        Few requests for many dates: SQLite, one write transaction; DynamoDB, consistent
        BatchGetItem reads (100 keys a call) and TransactWriteItems of up to 100 conditional
        items (a record's change and its entry together), one date's at a time only for the
        dates of a transaction a changed record cancelled (or on a server without
        transactions, dynalite)."""

    @abc.abstractmethod
    def due_pending(self, now: datetime, set_after: datetime | None = None) -> list[Record]:
        """PENDING records whose next attempt is due (from the pending index, not a scan), by
        key and date; with ``set_after`` (not before ``now``) also those whose next attempt is
        later than it: no policy at ``now`` sets one so late, so a clock ahead did
        (``RetryPolicy.set_ahead`` decides), and they would wait for real time to catch up."""

    @abc.abstractmethod
    def due_pending_pages(
        self, now: datetime, set_after: datetime | None = None, page_size: int = 1000
    ) -> Iterator[list[Record]]:
        """:meth:`due_pending`'s records in pages of at most ``page_size``, each read only when
        the caller asks for it: a caller that stops (out of time) has read only what it used.

        The records come oldest next attempt first over all keys (and all shards of
        DynamoDB's index): first those a clock ahead set (later than ``set_after``), then the
        ones never scheduled, then by next attempt; equal ones by key and date. Each page is
        then sorted by key and date. So a caller that claims or quarantines a page a run
        (recheck, out of time) reaches every due record within ceil(due / page_size) runs
        however big a backlog is: a record claimed is due again only later than every record
        that was due when it was claimed, so it goes behind them (an order by key kept a
        backlog due again first in every run, and the keys after it starved). A page read after the
        caller changed records of earlier pages (claimed, quarantined) still holds every due
        record it would have held: the read resumes after the last one given, never from the
        start.
        """

    @abc.abstractmethod
    def count_status(self, status: Status) -> int:
        """How many PENDING or QUARANTINED records there are, counted without reading them
        whole (DynamoDB: a COUNT Query of each shard of the slim status index; it is eventually
        consistent, so a record that just changed status may be counted in its old one).
        ValueError for any other status: OK records are not in the index."""

    @abc.abstractmethod
    def status_stamp(self, status: Status) -> StatusStamp:
        """:meth:`count_status` and the newest ``updated_at`` of the PENDING or QUARANTINED
        records, without reading them (DynamoDB: a COUNT and a one-item Query of each shard of
        the status index, eventually consistent as :meth:`count_status`). ValueError for
        any other status."""

    @abc.abstractmethod
    def latest_status(self, status: Status, limit: int) -> list[Record]:
        """The ``limit`` most recently updated PENDING or QUARANTINED records, newest first
        (SQLite breaks ties by key and date; DynamoDB's index keeps records written at the
        same instant in no set order, so which of them make the cut is not fixed): a
        bounded read, whatever the backlog. Each carries its key,
        date, status, retry count, next attempt, reason and ``updated_at``; not its value,
        attributes or history. ValueError for any other status or a ``limit`` below 1."""

    @abc.abstractmethod
    def status_summaries(self, status: Status) -> list[StatusSummary]:
        """One :class:`StatusSummary` per key with PENDING or QUARANTINED records, by key.

        Exact, so every record of the status is read, but only its key, date, reason,
        retry count and stamp (SQLite: two GROUP BY queries; DynamoDB: the status index,
        which projects only those, never the items whole). ValueError for any other status.
        """

    @abc.abstractmethod
    def quarantined(self) -> list[Record]:
        """Every QUARANTINED record, read whole: as many as a failed backfill left (~136,000),
        so nothing that must answer in bounded time uses it (see :meth:`status_summaries`)."""

    @abc.abstractmethod
    def pending(self) -> list[Record]:
        """Every PENDING record, due or not, read whole (see :meth:`quarantined`; the health
        view reads :meth:`status_stamp` and :meth:`latest_status` instead)."""

    @abc.abstractmethod
    def present_after(self, key: str, after: date | None) -> list[PresentDate]:
        """Stored dates of one key later than ``after`` (all if None), with status: one Query."""

    @abc.abstractmethod
    def watermarks(self) -> dict[str, Watermark]:
        """Every key's watermark (one Query of the watermark partition); absent keys have none."""

    @abc.abstractmethod
    def set_watermark(
        self,
        key: str,
        through: date | None,
        expected_version: int,
        audited_at: datetime | None,
        calendar: str | None = None,
    ) -> bool:
        """Move a watermark if its version is still ``expected_version`` (0: none stored yet),
        with the fingerprint of the calendar it was computed with (None: none).

        The version grows by one; False (and nothing written) if anyone changed it since.
        """

    @abc.abstractmethod
    def lower_watermark(self, key: str, day: date) -> None:
        """``day`` is no longer complete (back to PENDING, revised): the watermark moves below it
        (its calendar fingerprint stays: the rules it was judged by have not changed).

        Always bumps the version by one, even when the watermark is already lower, so a gap
        scan that read the watermark before this call cannot move it forward afterwards.
        """

    @abc.abstractmethod
    def put_run(self, run: RunLog) -> None:
        """Remember what a stage did (for the health view): an entry of its own for each
        :attr:`RunLog.run_id` (the same id rewrites its entry), so runs of a stage that start
        at the same instant are each kept."""

    @abc.abstractmethod
    def last_runs(self) -> list[RunLog]:
        """The latest run of each stage: the latest start, of those the latest to finish
        (runs alike in both: any one of them)."""

    @abc.abstractmethod
    def stage_runs(self, stage: str, through: datetime, limit: int) -> list[RunLog]:
        """The runs of ``stage`` that started at or before ``through``, newest first, at most
        ``limit`` (ValueError below 1), of those the store keeps (SQLite: the latest 500 of
        each stage; DynamoDB: each run's ``RUN#<stage>`` item, 30 days after it finished):
        one Query. The daily revise reads it for the latest revise of a watch's own series
        (stages/daily_revise.py), which :meth:`last_runs` does not give when another revise
        came after it."""

    @abc.abstractmethod
    def delete_not_ok(self, key: str, day: date) -> bool:
        """Delete a PENDING or QUARANTINED record (repair of impossible states); never an OK one.

        False when there is no such record or it is OK.
        """

    @abc.abstractmethod
    def put_meta(self, name: str, value: str) -> None:
        """Remember one named setting of this store (e.g. the clock a demo filled it at)."""

    @abc.abstractmethod
    def replace_meta(
        self, name: str, expected: str | None, value: str, ranked: datetime | None = None
    ) -> bool:
        """:meth:`put_meta` only while the setting still holds ``expected`` (None: unset), in
        one atomic step against every other client; False (nothing written) otherwise.

        ``ranked``: the instant :meth:`latest_meta` orders the setting by among those of its
        family (its name up to its first ``#``: ``set_aside#``), kept with it in the same
        write; ValueError for a name without ``#``. Written without one (or by
        :meth:`put_meta`), a setting is in no such order."""

    @abc.abstractmethod
    def get_meta(self, name: str) -> str | None:
        """A setting :meth:`put_meta` remembered, or None."""

    @abc.abstractmethod
    def meta_entries(self, prefix: str) -> list[tuple[str, str]]:
        """Every setting whose name starts with ``prefix`` (not empty), as (name, value), in
        name order (the dashboard's stored views, ``VIEW#``, for their sweep)."""

    def count_meta(self, prefix: str) -> int:
        """How many settings' names start with ``prefix`` (not empty), counted without
        returning them (SQLite: a COUNT of a range of the primary key; DynamoDB: a COUNT
        Query of the meta partition). This default reads them all (:meth:`meta_entries`)."""
        return len(self.meta_entries(prefix))

    def meta_names(self, prefix: str) -> list[str]:
        """The names of the settings whose names start with ``prefix`` (not empty), in name
        order, without their values (SQLite: a range of the primary key; DynamoDB: one Query
        of the meta partition projecting the name). This default reads the values too
        (:meth:`meta_entries`)."""
        return [name for name, _ in self.meta_entries(prefix)]

    @abc.abstractmethod
    def latest_meta(self, family: str, limit: int) -> list[tuple[str, str]]:
        """The ``limit`` settings of ``family`` (text up to and including a name's first
        ``#``: ``set_aside#``) written with the latest ``ranked`` instants
        (:meth:`replace_meta`), newest first, as (name, value): a bounded read, however many
        there are. Equal instants: SQLite by name; DynamoDB's index keeps them in no set order.
        Settings written without an instant are not among them. DynamoDB reads the names from
        an eventually consistent index (a setting just written or deleted may be missed or
        skipped), then each value consistently. ValueError for a ``family`` that is not one,
        or a ``limit`` below 1."""

    @abc.abstractmethod
    def delete_meta(self, name: str, expected_start: str, *, whole: bool = False) -> bool:
        """Delete a setting only while its value still starts with ``expected_start``, in one
        atomic step against every other client (a writer that replaced it meanwhile keeps
        its value); False (nothing deleted) otherwise. ``expected_start`` must not be empty,
        but with ``whole``: then only while the value is ``expected_start`` itself, which
        may be empty (a note emptied, as read)."""
