"""Alert rules on the pipeline (stale source, quarantined series, dead-lettered) and evaluation.

Rules are pluggable (:class:`fuelpipe.ports.alerts.AlertRule`): :func:`evaluate` takes any
list, and other features add theirs next to :func:`default_rules`. Each condition alerts once
when it starts, once each time its severity rises past the one announced, and once when it
clears (the active set is kept in an :class:`~fuelpipe.ports.alerts.AlertState`); a message
carries its evidence.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from fuelpipe.domain.alerts import (
    OVERFLOW_SUBJECT,
    ActiveAlert,
    Alert,
    AlertKind,
    Condition,
    EvidenceValue,
    Severity,
    capped,
    removed_rule,
    retire,
    transition,
)
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.domain.messages import DownloadRequest, MalformedMessage
from fuelpipe.domain.models import Record, Status, no_value_seen_at
from fuelpipe.domain.text import clip
from fuelpipe.ports.alerts import (
    AlertContext,
    AlertRule,
    AlertSink,
    AlertState,
    AlertStateChanged,
)
from fuelpipe.ports.queue import DeadLetter, DeadLettersIncomplete, DeadLettersRemain
from fuelpipe.ports.store import PendingMarks, StatusSummary, Store
from fuelpipe.stages.dead_letter_settled import (
    SETTLE_READS,
    SettleCheck,
    Settled,
    Waiting,
    log_removal,
    now_settled,
    read_waits_on,
    settles_unread,
    waits_on_text,
)
from fuelpipe.stages.due import latest_expected, older_records
from fuelpipe.stages.orchestrate import FIRST_PLANNED, first_planned_name
from fuelpipe.stages.scrape import NO_VALUE

logger = logging.getLogger(__name__)

_EVIDENCE_KEYS = 5


def _iso(dt: datetime, timespec: str = "auto") -> str:
    """An instant in São Paulo time with its offset, as `watch`'s heartbeat and an alert's
    ``at`` write it (a NYSE close is 17:30-03:00 here, not 16:30-04:00)."""
    return sao_paulo_iso(dt, timespec)


def latest_due(series: Series, now: datetime) -> date | None:
    """The latest expected date that should have been out by now, allowance included."""
    return latest_expected(series, now - series.schedule.allowance)


class LatestDue:
    """:func:`latest_due` of many series, each recomputed only when it can have moved.

    A series' latest due date depends on the instant only through the date its schedule has
    published through (``now`` less the allowance), which holds from one date's publication
    instant to the next's: inside that span the answer is reused. The health view's ETag asks
    it for every series of the catalog on every request, a 304 too (~0.2 ms of calendar work
    a series, ~100 ms for the catalog, recomputed)."""

    def __init__(self) -> None:
        # Not cachetools' TLRUCache: an answer holds from one instant to the next, and the
        # instant is the caller's (a clock set back must miss it); TLRUCache reads its own timer
        # and expires entries only forward.
        self._memo: dict[str, tuple[datetime, datetime, date | None]] = {}

    def __call__(self, series: Series, now: datetime) -> date | None:
        held = self._memo.get(series.key)
        if held is not None and held[0] <= now < held[1]:
            return held[2]
        schedule, allowance = series.schedule, series.schedule.allowance
        through = series.published_through(now - allowance)
        found = latest_due(series, now)
        span = (
            schedule.published_at(through) + allowance,
            schedule.published_at(through + timedelta(days=1)) + allowance,
        )
        self._memo[series.key] = (*span, found)
        return found


_ANSWERED = frozenset({Status.OK, Status.ABSENT, Status.QUARANTINED})


@dataclass(frozen=True, slots=True)
class Late:
    """One series later than its window: the latest date it should have by now is not stored."""

    series: Series
    day: date
    """The latest expected date due (allowance included) that the source has not answered."""
    since: datetime
    """When the series became late: the end of the window (``stale_at``) of the first expected
    date after the last one answered (OK, ABSENT or QUARANTINED), or of the first stored; never
    before the catalog start's first."""
    latest_stored: date | None
    """The latest date stored OK that is published at the clock: never one after it (a
    clock set before the data, ``--now``, leaves later values stored), the same date as the
    health view's ``last`` of the series (:func:`~fuelpipe.domain.completeness.completeness`);
    None when none is."""


def late_series(
    series: Series,
    present: Mapping[date, Status],
    now: datetime,
    due: Callable[[Series, datetime], date | None] = latest_due,
) -> Late | None:
    """Whether ``series`` (with its stored dates' statuses) is late at ``now``; None when not,
    nor when nothing of it is stored (a series this home does not keep yet is not late), nor
    when every stored date is after its latest due date (a clock before the series' data:
    as :func:`~fuelpipe.domain.completeness.completeness` counts from the first stored
    date, such a series expects nothing yet).
    ``due``: :func:`latest_due`, or a :class:`LatestDue` that reuses its answers."""
    if not present:
        return None
    day = due(series, now)
    # The source answered for it: a value (OK), none to give (ABSENT: ANP's "-" for CNG in
    # Acre every week), or spent retries (QUARANTINED, its own rule). Not late.
    if day is None or present.get(day) in _ANSWERED or min(present) > day:
        return None
    # Values dated after what is published at ``now`` are not "stored by now" (--now before
    # the data): counted apart, as completeness counts them (after_clock).
    end = series.published_through(now)
    ok = [d for d, st in present.items() if st is Status.OK and d <= end]
    answered = [d for d, st in present.items() if st in _ANSWERED and d < day]
    start = max(answered) + timedelta(days=1) if answered else min(present)
    # Not before the catalog start (where completeness starts too): a record dated before it
    # (kept, never asked for) dated the series late since then.
    start = max(start, series.default_start)
    first = next(expected_between(get_calendar(series.calendar), start, day), day)
    return Late(series, day, series.schedule.stale_at(first), max(ok) if ok else None)


def is_failure(record: Record, marks: PendingMarks | None = None) -> bool:
    """A PENDING record whose last request failed: not one whose value is simply not out
    (no reason, or the scraper's :data:`~fuelpipe.stages.scrape.NO_VALUE`), nor one whose
    date the source answered with its own "no value" inside the window (``no_value_seen_at``
    in ``marks``, or on the record itself when None): that one waits for the window's end,
    whatever its reason says (FRED's empty cell, ANP's '-' or its week without the row)."""
    if record.status is not Status.PENDING or record.reason in (None, NO_VALUE):
        return False
    seen = marks.no_value_seen_at if marks is not None else no_value_seen_at(record.attrs)
    return seen is None


def never_collected(store: Store, series: Series, present: Mapping[date, Status]) -> bool:
    """Whether ``series`` (its stored dates' statuses, its whole history when none of them is
    answered, as :func:`recent_present` reads it) was never collected: the source answered
    none of its dates (no OK, ABSENT or QUARANTINED), and its newest PENDING date's last
    request did not fail either (the answer had no value for it). Such a series is not late
    (`watch` of every series on the demo's store asks for the ~150 it bundles nothing of,
    and the replay has none): no stale_source alert, no late row; its dates are retried and
    quarantined (alerted) once their re-downloads are spent. One whose requests failed (a
    source down at a store's first collection) is late as before. One read, of one record,
    for such a series only. Such a series is late all the same once a date whose window was
    still open when the store first asked for it is past that window, unanswered
    (:func:`lateness`, :func:`overdue_since_start`)."""
    if any(st in _ANSWERED for st in present.values()):
        return False
    pending = [d for d, st in present.items() if st is Status.PENDING]
    if not pending:
        return True
    newest = max(pending)
    return not any(is_failure(r) for r in store.query(series.key, newest, newest))


def first_asked(store: Store, series: Series, present: Mapping[date, Status]) -> datetime | None:
    """When the store started collecting ``series`` (its stored dates' statuses, its whole
    history for a series never collected): when its oldest PENDING date first became PENDING
    (:meth:`~fuelpipe.ports.store.Store.pending_marks`, kept through its retries; a series'
    first request asks from its oldest date). None: no PENDING date, or one PENDING since
    before that instant was kept. One read of one record."""
    pending = [d for d, st in present.items() if st is Status.PENDING]
    if not pending:
        return None
    slot = (series.key, min(pending))
    marks = store.pending_marks([slot]).get(slot)
    return marks.since if marks is not None else None


def overdue_since_start(series: Series, found: Late, start: datetime | None) -> Late | None:
    """A never-collected series' lateness (``found``: :func:`late_series`'s answer by its
    dates alone), counted from ``start``, when the store started collecting it
    (:func:`first_asked`; None: not known, so not late).

    Its dates whose window had ended by ``start`` (a backfill's, or one the source was late
    with already) say nothing: the source may simply not have the series (the demo's store,
    watched against the replay). The first date whose window was still open at ``start`` is
    another matter: the store was there to see it come, and once its window has ended too,
    unanswered, the series is late by the stale rule, since that window's end. A brand-new
    store is never late before that."""
    if start is None:
        return None
    before = latest_due(series, start)  # the last date whose window had ended by the start
    if before is not None and found.day <= before:
        return None  # no date the store saw come is overdue yet
    first_from = before + timedelta(days=1) if before is not None else series.default_start
    first = next(expected_between(get_calendar(series.calendar), first_from, found.day), found.day)
    return replace(found, since=series.schedule.stale_at(first))


def first_planned_notes(store: Store) -> dict[str, str]:
    """The orchestrator's notes of when it first planned each key it found with no record at
    all (:data:`~fuelpipe.stages.orchestrate.FIRST_PLANNED`), by key, as stored: one read of
    the store's meta for the whole catalog (of the keys still without a record, and those
    whose note :func:`forget_first_planned` has not deleted yet)."""
    prefix = f"{FIRST_PLANNED}#"
    return {name.removeprefix(prefix): value for name, value in store.meta_entries(prefix)}


def first_planned(store: Store) -> dict[str, datetime]:
    """:func:`first_planned_notes` as instants."""
    return {key: datetime.fromisoformat(v) for key, v in first_planned_notes(store).items()}


def forget_first_planned(store: Store, key: str, note: str) -> None:
    """Delete ``key``'s first-planned ``note`` once the key has a record: only a key with
    none reads it, and a key's records are never all deleted (the orchestrator writes a note
    at a first scan of a key with nothing stored only). Conditional on the value read, so a
    note written again meanwhile stays. A refusal (a throttled DeleteItem past botocore's
    retries) is logged and changes nothing: the next evaluation tries again."""
    try:
        store.delete_meta(first_planned_name(key), note)
    except Exception as exc:  # any store's error: the ports name none
        logger.warning("%s: its first_planned note not deleted (tried again): %s", key, exc)


def never_stored(
    series: Series,
    now: datetime,
    planned: datetime | None,
    due: Callable[[Series, datetime], date | None] = latest_due,
) -> Late | None:
    """Whether ``series``, with no record at all, is late at ``now``: once the orchestrator
    has planned it (``planned``: when it first did, :func:`first_planned`), a date published
    after that is past its whole window with nothing stored for it, not even a PENDING record
    (its messages lost, or never fetched), late since that window's end. A date already out
    when it was planned says nothing, even with its window still open: a new store's
    backfill may still be queued when that window ends (:func:`overdue_since_start` counts a
    series never collected from a window open at its first answer, which is the scraper's).
    Not late: never planned (None: a series this home does not keep, as most of the demo
    store's, or planned before the instant was kept), nor before the first window after its
    catalog start has ended (a series whose source has no data yet by design)."""
    if planned is None:
        return None
    day = due(series, now)
    if day is None or day < series.default_start:
        return None
    before = latest_expected(series, planned)  # the last date out when it was planned
    if before is not None and day <= before:
        return None
    first_from = series.default_start if before is None else before + timedelta(days=1)
    first_from = max(first_from, series.default_start)
    first = next(expected_between(get_calendar(series.calendar), first_from, day), day)
    return Late(series, day, series.schedule.stale_at(first), None)


def lateness(
    store: Store,
    series: Series,
    present: Mapping[date, Status],
    now: datetime,
    due: Callable[[Series, datetime], date | None] = latest_due,
    planned: datetime | None = None,
) -> Late | None:
    """Whether ``series`` is late, as the stale-source rule and the health view's late rows
    both judge it: :func:`late_series`, except that a series never collected
    (:func:`never_collected`) is late only once a date is overdue that was not yet when the
    store started collecting it (:func:`overdue_since_start`), and one with no record at all
    (``present`` empty) only once one is overdue that was not yet when the orchestrator first
    planned it (``planned``: :func:`never_stored`). Two reads of one record each, for a
    never-collected series only."""
    if not present:
        return never_stored(series, now, planned, due)
    found = late_series(series, present, now, due)
    if found is None or found.latest_stored is not None:
        return found
    if not never_collected(store, series, present):
        return found
    return overdue_since_start(series, found, first_asked(store, series, present))


_SUMMARY_DATES = 3
"""Late dates a stale-source summary names, oldest first (the evidence holds the oldest)."""


STALE_WINDOW = timedelta(days=62)
"""How far before its latest due date :class:`StaleSource` first reads a series: two of ANP's
monthly dates, nine of its weeks. A series whose window holds no value stored OK or no date
answered before its due date (late for that long, stopped, or never OK) is read further back
newest first, in growing pages, only until it holds both (:func:`~fuelpipe.stages.due.
older_records`): the hourly cost grows with what is stored after the last answered date, not
with the history (a series stopped for years: one more small read)."""


def recent_present(
    store: Store, series: Series, day: date, window: timedelta = STALE_WINDOW
) -> dict[date, Status]:
    """The stored dates of ``series`` from ``window`` before ``day`` (its latest due date) on,
    with their statuses: as much of its history as :func:`late_series` needs to answer as it
    would with the whole of it. That is the whole suffix from ``day`` when ``day`` is answered;
    otherwise a suffix holding a date stored OK up to ``day`` (so the latest stored by the
    clock, which may be later, is in it too) and one answered before ``day`` (where lateness
    started): older records are added, newest first, until it does, or until there are none
    left (then the suffix is the whole history)."""
    after = day - window
    present = {p.date: p.status for p in store.present_after(series.key, after)}
    if present.get(day) in _ANSWERED:
        return present
    ok = any(d <= day and st is Status.OK for d, st in present.items())
    answered = any(d < day and st in _ANSWERED for d, st in present.items())
    if ok and answered:
        return present
    for record in older_records(store, series.key, after):
        present[record.date] = record.status
        ok = ok or record.status is Status.OK
        answered = answered or record.status in _ANSWERED  # every one read is before ``day``
        if ok and answered:
            break
    return present


class StaleSource:
    """A source is later than its usual window: a published date is still not stored OK.

    Each series is read from a window before its latest due date (:func:`recent_present`),
    not whole: this runs every hour after recheck, on ~440 series and ~300,000 dates."""

    name = "stale_source"

    def evaluate(self, context: AlertContext) -> Sequence[Condition]:
        late: dict[str, list[Late]] = defaultdict(list)
        # One small read: the notes of keys with no record yet, and of those given one since
        # the last evaluation, whose notes go now (a store's notes are a fresh deploy's keys
        # or a release's new ones, until their first records).
        notes = first_planned_notes(context.store)
        for series in context.catalog:
            day = latest_due(series, context.now)
            if day is None:
                continue
            present = recent_present(context.store, series, day)  # empty: no record at all
            note = notes.get(series.key)
            if present and note is not None:
                forget_first_planned(context.store, series.key, note)
            since = None if note is None else datetime.fromisoformat(note)
            found = lateness(context.store, series, present, context.now, planned=since)
            if found is not None:
                late[series.source].append(found)
        out = []
        for source, items in sorted(late.items()):
            # The oldest late date first: a source's series can lack different dates (ANP's
            # weekly a week, its monthly a month), and one date must not speak for all.
            items.sort(key=lambda item: (item.day, item.series.key))
            first = items[0]
            series, day, stored = first.series, first.day, first.latest_stored
            schedule = series.schedule
            # Late since the earliest of its series, as the health view's late row says.
            since = min(item.since for item in items)
            by_day: dict[date, list[Series]] = defaultdict(list)
            for item in items:
                by_day[item.day].append(item.series)
            shown = list(by_day.items())[:_SUMMARY_DATES]
            lacks = "; ".join(
                f"{len(group)} series still lack {d.isoformat()}, due "
                f"{_iso(group[0].schedule.published_at(d), 'minutes')}"
                for d, group in shown
            )
            faltam = "; ".join(
                f"{len(group)} série(s) ainda sem {d.isoformat()}, prevista(s) para "
                f"{_iso(group[0].schedule.published_at(d), 'minutes')}"
                for d, group in shown
            )
            more = len(by_day) - _SUMMARY_DATES
            out.append(
                Condition(
                    rule=self.name,
                    subject=source,
                    summary=f"{source} is late since {_iso(since, 'minutes')}: {lacks}"
                    + (f"; and {more} later date(s)" if more > 0 else ""),
                    summary_pt_br=f"{source} atrasada desde {_iso(since, 'minutes')}: {faltam}"
                    + (f"; e mais {more} data(s) posterior(es)" if more > 0 else ""),
                    evidence={
                        "source": source,
                        "series_late": len(items),
                        "series": ", ".join(i.series.key for i in items[:_EVIDENCE_KEYS]),
                        "date": day.isoformat(),
                        "published_at": _iso(schedule.published_at(day)),
                        "stale_at": _iso(schedule.stale_at(day)),
                        "late_since": _iso(since),
                        "latest_stored": stored.isoformat() if stored else None,
                        "now": _iso(context.now),
                    },
                    severity=Severity.WARNING,
                    started=since,
                )
            )
        return out

    def cleared(self, condition: Condition, context: AlertContext) -> dict[str, EvidenceValue]:
        """What a late-source alert that cleared says cleared it, read now: the series it
        named first (the one its ``latest_stored`` was about), that series' newest date stored
        OK and published by now (``latest_stored``: the firing's was the last evaluation's),
        and the status its late ``date`` has now (OK, ABSENT, QUARANTINED: the quarantine
        rule tells the last). Two small reads of one series, once per clear."""
        key = str(condition.evidence.get("series") or "").split(", ")[0]
        if key not in context.catalog:
            return {}
        series = context.catalog[key]
        told: dict[str, EvidenceValue] = {"series": key, "latest_stored": None}
        day = latest_due(series, context.now)
        if day is not None:
            end = series.published_through(context.now)
            present = recent_present(context.store, series, day)
            ok = [d for d, st in present.items() if st is Status.OK and d <= end]
            told["latest_stored"] = max(ok).isoformat() if ok else None
        lacked = condition.evidence.get("date")
        if isinstance(lacked, str):
            when = date.fromisoformat(lacked)
            now_is = context.store.query(key, when, when)
            told["date"] = lacked
            told["date_status"] = now_is[0].status.value if now_is else None
        return told


class Quarantined:
    """A catalog series has quarantined records: their retries are spent and a person must
    look. One condition per series (``subject``: its key) with the count and span of its
    quarantined dates, not one per date: a failed ANP backfill quarantines ~136,000 dates, and
    an alert each outgrew the alert state (DynamoDB's 400 KB item). More dates quarantined in
    a series already alerting do not alert again (the retry_recheck Lambda's ``Quarantined``
    metric counts every one); the alert clears when the series has none left.

    Active alerts of the older per-date form (subject ``KEY@DATE``) are folded: dropped from
    the active set without a CLEARED alert each (:meth:`folds`), the per-series alert firing in
    their place.

    ``summaries``: the store's per-series summaries of its quarantined records when the
    caller has just read them (the retry_recheck Lambda does, for its ``QuarantinedTotal``
    metric): they are then read once a run, not twice. None: the rule reads them from
    ``context.store``. Either way the summaries are exact (count, span, reasons), and the
    store reads only each record's key, date, reason, retry count and stamp for them (on
    DynamoDB the slim status index), never the records whole."""

    name = "quarantined"

    def __init__(self, summaries: Sequence[StatusSummary] | None = None) -> None:
        self._summaries = summaries
        self._counted: dict[str, int] | None = None  # the last evaluation's, for ``cleared``

    def evaluate(self, context: AlertContext) -> Sequence[Condition]:
        summaries = self._summaries
        if summaries is None:
            summaries = context.store.status_summaries(Status.QUARANTINED)
        self._counted = {s.key: s.count for s in summaries}
        # `watch --series`: the watched ones
        watched = [s for s in summaries if s.key in context.catalog]
        return [self._condition(s, context.now) for s in sorted(watched, key=lambda s: s.key)]

    def _condition(self, summary: StatusSummary, now: datetime) -> Condition:
        key, n = summary.key, summary.count
        first, last = summary.first.isoformat(), summary.last.isoformat()
        reasons: Counter[str] = Counter()
        for text, count in summary.reasons.items():  # by earliest date: ties go to the first
            reasons[text or "no reason"] += count
        reason, _ = reasons.most_common(1)[0]
        span = first if n == 1 else f"{first} to {last}"
        # When its first date still quarantined was quarantined (never after ``now``: a clock
        # set before the stamps, ``--now``); None (no stamp): since the evaluation finding it
        since = None if summary.earliest is None else min(summary.earliest, now)
        at, desde = _at(since, " since"), _at(since, " desde")
        return Condition(
            rule=self.name,
            subject=key,
            summary=f"{key}: {n} date{'' if n == 1 else 's'} quarantined{at} ({span}): {reason}",
            summary_pt_br=(
                f"{key}: {n} data{'' if n == 1 else 's'} em quarentena{desde} "
                f"({first if n == 1 else f'{first} a {last}'}): {reason}"
            ),
            evidence={
                "series": key,
                "dates": n,
                "first": first,
                "last": last,
                "reason": reason,
                "reasons": len(reasons),
                "max_retry_count": summary.max_retry_count,
                "quarantined_since": _iso(since) if since else None,
                "updated_at": _iso(summary.latest) if summary.latest else None,
            },
            severity=Severity.WARNING,
            started=since,
        )

    def folds(self, condition: Condition) -> bool:
        """Whether a stored active alert of this rule is of the per-date form (``KEY@DATE``)."""
        return "@" in condition.subject

    def cleared(self, condition: Condition, context: AlertContext) -> dict[str, EvidenceValue]:
        """What a quarantine alert that cleared says cleared it: the series' quarantined
        count now (``quarantined``, from the summaries the evaluation that cleared it read:
        no further read; read from the status index when this rule has not evaluated), and
        the status now of the first and last dates the firing named (``first_status``,
        ``last_status``: PENDING when released by hand, ABSENT when accepted, OK once stored)
        with their reason (``first_reason``, ``last_reason``: "released by hand at …",
        "accepted by hand as no value at …"; null when none). Two point reads of one series,
        once per clear, however many dates the firing counted."""
        key = str(condition.evidence.get("series") or condition.subject.partition("@")[0])
        counted = self._counted
        if counted is None:
            counted = {s.key: s.count for s in context.store.status_summaries(Status.QUARANTINED)}
        told: dict[str, EvidenceValue] = {"series": key, "quarantined": counted.get(key, 0)}
        for end in ("first", "last"):
            named = condition.evidence.get(end)
            if not isinstance(named, str):
                continue
            day = date.fromisoformat(named)
            now_is = context.store.query(key, day, day)
            told[end] = named
            told[f"{end}_status"] = now_is[0].status.value if now_is else None
            reason = now_is[0].reason if now_is else None
            told[f"{end}_reason"] = clip(reason, 300) if reason else None
        return told


class PartialFindings(Exception):
    """A rule's run that saw only part of what it looks at: ``conditions`` (what it did see)
    fire, and none of the rule's active alerts is cleared this run, as for a rule that failed.
    So a short read neither announces a held condition as CLEARED nor keeps a new one it did
    see from firing."""

    def __init__(self, conditions: Sequence[Condition], reason: str) -> None:
        super().__init__(reason)
        self.conditions = list(conditions)


DEAD_LETTERS_READ = 300
"""Dead letters :class:`DeadLettered` reads in one evaluation at most (30 SQS receives, and as
many visibility resets): past :data:`MAX_CONDITIONS_PER_RULE` they would not alert one by one
anyway. The rest are told as one condition, "N more not read"."""

DEAD_LETTERS_REREAD = timedelta(hours=24)
"""How long :class:`DeadLettered` answers from its stored conditions while the DLQ's count
stays the same: a dead letter that arrived as another expired (SQS keeps them 14 days) is
read within this, not never."""

_UNREAD = "+unread"
_UNREMOVED = "settled_not_removed"
"""Evidence of a read that found settled dead letters and could not remove them all: how
many it tried (the next evaluation reads the DLQ again, count changed or not)."""


class DeadLettered:
    """A queue message was dead-lettered (malformed, or failed too many times): one that
    is readable counts when it asked for a catalog series.

    Reading the DLQ is dear on SQS (it is peeked: a receive and a visibility reset per 10
    messages, ~30 s for 200 on moto, inside retry_recheck's hourly budget), so the DLQ's count
    is read first (one GetQueueAttributes): when it is the one the stored conditions were
    read at (their ``dlq_count``), within :data:`DEAD_LETTERS_REREAD`, those conditions are
    the answer and nothing is received. Otherwise at most ``read`` dead letters are read;
    those the DLQ counts beyond what came back are one condition (subject ``+unread``) saying
    how many, and the stored conditions not read again are kept (never cleared for a dead
    letter that was only not read). A read that came back short of what it asked for (SQS
    returned fewer than it counts) is done again at the next evaluation, count changed or not.

    A DLQ holding only dead letters about series outside the catalog leaves no condition to
    answer from: it is read at each evaluation (`watch --series` on others' dead letters).

    A dead letter every date of which is settled in the store since (OK, ABSENT, QUARANTINED:
    a later poll, the recheck or a release stored them; :mod:`~fuelpipe.stages.
    dead_letter_settled`) is removed from the DLQ when read, its whole body, reason and its
    dates' statuses logged first, and its alert clears saying so (``settled``); a key the
    whole catalog (:attr:`AlertContext.known`, not a `watch --series` selection) no longer has
    is settled unread, named in both. One not
    settled keeps, in its alert's ``waits_on``, the first date found missing: while the count
    holds, each evaluation reads that date's status alone (one point read a dead letter), and
    the DLQ is read again as soon as one of them is settled, or needs no record any more (a
    release dropped its key or moved its start past it: :func:`settles_unread`). A removal
    that does not find every settled one (another reader holds it, a redrive took it) clears
    nothing that run (:class:`PartialFindings`): the next read tells."""

    name = "dead_lettered"

    def __init__(
        self,
        read: int = DEAD_LETTERS_READ,
        reread: timedelta = DEAD_LETTERS_REREAD,
        settle_reads: int = SETTLE_READS,
    ) -> None:
        self._read = read
        self._reread = reread
        self._settle_reads = settle_reads
        self._counted: int | None = None  # the last evaluation's, for ``cleared``
        # removed, by message id: what their clears say (kept while an evaluation is redone
        # after another saved first, dropped at the next evaluation)
        self._settled: dict[str, dict[str, EvidenceValue]] = {}

    def cleared(self, condition: Condition, context: AlertContext) -> dict[str, EvidenceValue]:
        """What a dead-letter alert that cleared says cleared it: the DLQ's depth now
        (``dlq_count``; 0 when it was redriven or purged whole), as the evaluation that cleared
        it counted it (no further read; one count when this rule has not evaluated), and for a
        dead letter this rule removed because every date it asked for is settled, ``settled``
        (what it says, with its dates' statuses) and ``settled_dates`` (how many)."""
        counted = self._counted
        if counted is None:
            counted = context.queue.dead_letter_count()
        return {"dlq_count": counted, **self._settled.get(condition.subject, {})}

    def evaluate(self, context: AlertContext) -> Sequence[Condition]:
        counted = context.queue.dead_letter_count()
        self._counted = counted
        held = [a.condition for a in context.active.values() if a.condition.rule == self.name]
        subjects = {c.subject for c in held}
        self._settled = {k: v for k, v in self._settled.items() if k in subjects}
        if counted == 0:
            return []
        if self._still(held, counted, context.now) and not _any_settled(held, context):
            return held
        try:
            letters = context.queue.dead_letters(self._read)
        except DeadLettersIncomplete as exc:
            letters = exc.found
        check = SettleCheck(context.store, context.known, self._settle_reads, now=context.now)
        checked = [(d, check.check(d)) for d in letters]
        settled = [(d, told) for d, told in checked if isinstance(told, Settled)]
        waits = {d.message_id: told for d, told in checked if isinstance(told, Waiting)}
        letters = [d for d, told in checked if not isinstance(told, Settled)]
        stamp: dict[str, EvidenceValue] = {"dlq_count": counted, "read_at": _iso(context.now)}
        gone = {d.message_id for d, _ in settled}
        if settled:
            removed = self._remove(settled, context, subjects, counted)
            if removed is None:  # not every one found: nothing clears; read again next time
                stamp[_UNREMOVED] = len(settled)
                found = self._conditions(letters, context, stamp, waits)
                raise PartialFindings(found, "settled dead letters not all removed")
            counted = removed  # the letters left keep their alerts whatever SQS counts
            self._counted = counted
            stamp["dlq_count"] = counted
        found = self._conditions(letters, context, stamp, waits)
        read = sum(d.copies for d in letters)  # one message held twice by SQS is shown once
        unread = counted - read
        if unread <= 0:
            return found
        ids = {c.id for c in found}
        kept = [  # stamped with this read: they count as read at this count
            replace(c, evidence={**c.evidence, **stamp})
            for c in held
            if c.id not in ids and c.subject not in (_UNREAD, OVERFLOW_SUBJECT, *gone)
        ]
        told = Condition(
            rule=self.name,
            subject=_UNREAD,
            summary=f"{unread} more dead letter(s) not read: the DLQ counts {counted}, "
            f"{read} read (`fuelpipe dlq list` shows them all)",
            summary_pt_br=f"mais {unread} mensagem(ns) na fila de mortas (DLQ) não lida(s): "
            f"a DLQ conta {counted}, {read} lida(s) (`fuelpipe dlq list` mostra todas)",
            evidence={"unread": unread, "read": read, **stamp},
            severity=Severity.CRITICAL,
        )
        return [*found, *kept, told]

    def _still(self, held: Sequence[Condition], counted: int, now: datetime) -> bool:
        """Whether ``held`` (the stored conditions) were read at this count, recently enough."""
        marks = [c.evidence for c in held if "dlq_count" in c.evidence]
        if not marks or any(m["dlq_count"] != counted for m in marks):
            return False
        if any(c.subject == _UNREAD and _short(c.evidence, self._read) for c in held):
            return False  # the last read came back short: read again, not only at a change
        if any(c.evidence.get(_UNREMOVED) for c in held):
            return False  # settled ones the last read could not all remove: again
        oldest = min(datetime.fromisoformat(str(m["read_at"])) for m in marks)
        return now - oldest < self._reread

    def _remove(
        self,
        settled: Sequence[tuple[DeadLetter, Settled]],
        context: AlertContext,
        alerting: Collection[str],
        counted: int,
    ) -> int | None:
        """Remove the ``settled`` dead letters (each logged whole first) by their ids, noting
        what the clear of each one ``alerting`` will say; the DLQ's count after (``counted``
        before, less their copies), or None when the removal did not find every one (SQS:
        another reader holds it, or a redrive took it; the error logged)."""
        for letter, found in settled:
            log_removal(letter, found)
        ids = [d.message_id for d, _ in settled]
        try:
            removed = context.queue.purge_dead_letters(ids=ids)
        except DeadLettersRemain:
            logger.warning("settled dead letters not all removed", exc_info=True)
            return None
        if removed < len(ids):  # a queue that vouches: the others were gone already
            logger.warning(
                "%d of the %d settled dead letters were gone already", len(ids) - removed, len(ids)
            )
        # a queue that vouches (SQLite) does not say which were gone: a redrive or purge
        done = "removed" if removed == len(ids) else "removed or gone already (redriven or purged)"
        for letter, found in settled:
            if letter.message_id in alerting:
                self._settled[letter.message_id] = {
                    "settled": f"every date it asked for is settled in the store "
                    f"({found.words()}): {done} from the dead letters, its body logged",
                    "settled_dates": found.statuses.total(),
                }
        if removed < len(ids):  # count again: which of them were gone is not told
            return context.queue.dead_letter_count()
        return max(counted - sum(d.copies for d, _ in settled), 0)  # SQS: every copy went

    def _conditions(
        self,
        letters: Sequence[DeadLetter],
        context: AlertContext,
        stamp: Mapping[str, EvidenceValue],
        waits: Mapping[str, Waiting] | None = None,
    ) -> list[Condition]:
        waits = waits or {}
        return [
            Condition(
                rule=self.name,
                subject=d.message_id,
                summary=f"message {d.message_id[:12]} dead-lettered{_at(dead, ' at')}: {d.reason}",
                summary_pt_br=f"mensagem {d.message_id[:12]} foi para a fila de mortas (DLQ)"
                f"{_at(dead, ' em')}: {d.reason}",
                evidence={
                    "message_id": d.message_id,
                    "reason": d.reason,
                    "receive_count": d.receive_count,
                    "body": d.body[:500],
                    "dead_at": _iso(d.dead_at) if d.dead_at else None,
                    "waits_on": waits_on_text(w) if (w := waits.get(d.message_id)) else None,
                    **stamp,
                },
                severity=Severity.CRITICAL,
                started=dead,
            )
            for d in letters
            if _about(d.body, context.catalog)
            # when it was dead-lettered, never after ``now`` (a clock set back, ``--now``)
            for dead in [None if d.dead_at is None else min(d.dead_at, context.now)]
        ]


def _any_settled(held: Sequence[Condition], context: AlertContext) -> bool:
    """Whether the date one of the ``held`` dead-letter alerts was last found waiting on
    (``waits_on``) is settled now: needs no record since (:func:`settles_unread`: a release
    dropped its key or moved its start past it, or a clock set back put it more than a year
    ahead; no read), or is settled in the store (one point read each), until the first that
    is."""
    for condition in held:
        waiting = read_waits_on(condition.evidence.get("waits_on"))
        if waiting is None:
            continue
        if settles_unread(context.known, waiting, context.now):
            return True
        if now_settled(context.store, waiting):
            return True
    return False


def _at(when: datetime | None, word: str) -> str:
    """``word`` (`` since``, in the text's language) and ``when``, or nothing when None."""
    return f"{word} {_iso(when, 'minutes')}" if when else ""


def _short(evidence: Mapping[str, EvidenceValue], most: int) -> bool:
    """Whether a ``+unread`` condition's read came back with fewer dead letters than it asked
    for (SQS returned fewer than it counts), not merely stopped at its ``most``."""
    read, counted = evidence.get("read"), evidence.get("dlq_count")
    return isinstance(read, int) and isinstance(counted, int) and read < min(counted, most)


def _about(body: str, catalog: Catalog) -> bool:
    """Whether a message asked for a series of ``catalog``; a malformed one is about none
    in particular, so it always counts."""
    try:
        keys = DownloadRequest.from_body(body).keys
    except MalformedMessage:
        return True
    return any(key in catalog for key in keys)


def default_rules(*, quarantined: Sequence[StatusSummary] | None = None) -> list[AlertRule]:
    """The pipeline's own rules; features append theirs. ``quarantined``: the store's
    summaries of its quarantined records, if the caller read them already (see
    :class:`Quarantined`)."""
    return [StaleSource(), Quarantined(quarantined), DeadLettered()]


class _Outside:
    """What the rules find in the whole catalog, for the active alerts the evaluated part did
    not find: each rule is run on the whole at most once an evaluation, and only when one of
    its alerts would otherwise clear."""

    def __init__(
        self,
        context: AlertContext,
        rules: Sequence[AlertRule],
        whole: Catalog | None,
        limit: int,
    ) -> None:
        self._context = context
        self._limit = limit
        self._rules = {r.name: r for r in rules}
        self._whole = whole
        self._found: dict[str, set[str] | None] = {}
        """By rule: the condition ids it finds in the whole (None: it raised there)."""
        self.failed: list[str] = []
        """One line per rule that raised on the whole (its alerts there are kept)."""

    def still_holding(self, active: Mapping[str, ActiveAlert], found: set[str]) -> list[Condition]:
        """The active conditions not in ``found`` that still hold in the whole catalog (one
        whose rule raised there counts as holding: never cleared by accident)."""
        if self._whole is None:
            return []
        held = []
        for cid, prior in active.items():
            rule = prior.condition.rule
            if cid in found or rule not in self._rules:
                continue
            if rule not in self._found:
                self._found[rule] = self._run_on_whole(self._rules[rule])
            ids = self._found[rule]
            if ids is None or cid in ids:
                held.append(prior.condition)
        return held

    def _run_on_whole(self, rule: AlertRule) -> set[str] | None:
        assert self._whole is not None
        try:
            found = list(rule.evaluate(replace(self._context, catalog=self._whole)))
            # every one found holds, listed or folded into the overflow
            return {c.id for c in [*found, *capped(rule.name, found, self._limit)]}
        except Exception as exc:  # as when it fails on the part: reported, nothing cleared
            self.failed.append(f"{rule.name} (whole catalog): {type(exc).__name__}: {exc}")
            return None


@dataclass
class AlertReport:
    """What one evaluation did."""

    firing: int = 0
    escalated: int = 0
    cleared: int = 0
    active: int = 0
    folded: int = 0
    """Stored alerts of an older form a rule replaced, dropped without a CLEARED alert."""
    failed_rules: tuple[str, ...] = ()
    unknown_rules: dict[str, int] = field(default_factory=dict)
    """Active alerts of rules this evaluation neither has nor knows as retired, by rule: kept
    as they are (a newer release's rule during a deploy, or one removed without being listed
    as retired: then they stay active until it is)."""


SAVE_ATTEMPTS = 3
"""Evaluations redone when other evaluators keep saving the active set first."""

MAX_CONDITIONS_PER_RULE = 300
"""Conditions of one rule alerted one by one; past it, one condition stands for the rest
(:func:`fuelpipe.domain.alerts.capped`). Above the ~420 ANP series a failed backfill can
quarantine only when nearly all fail; far below what fits the DynamoDB alert item."""


def _folded(
    active: Mapping[str, ActiveAlert], rules: Sequence[AlertRule]
) -> tuple[dict[str, ActiveAlert], int]:
    """``active`` without the alerts a rule that ran says are of an older form of its own
    (its optional ``folds(condition)``: :class:`Quarantined`'s per-date alerts), and how many
    those were. They go without a CLEARED alert each: what replaces them fires on its own."""
    folds = {r.name: f for r in rules if callable(f := getattr(r, "folds", None))}
    kept = {
        cid: a
        for cid, a in active.items()
        if a.condition.rule not in folds or not folds[a.condition.rule](a.condition)
    }
    return kept, len(active) - len(kept)


class _Cleared:
    """A CLEARED alert with what cleared it (:attr:`~fuelpipe.domain.alerts.Alert.
    cleared_evidence`): a removed rule's says so (:func:`~fuelpipe.domain.alerts.
    removed_rule`); a rule with a ``cleared(condition, context)`` (optional, as ``folds``
    is: :meth:`StaleSource.cleared`, :meth:`Quarantined.cleared`,
    :meth:`DeadLettered.cleared`) tells its own, read on the whole catalog when the
    evaluation has one. One that raises does not hold the clear back: it goes out with its
    instant and the error in its evidence. Other kinds pass as they are."""

    def __init__(
        self,
        context: AlertContext,
        whole: Catalog | None,
        rules: Sequence[AlertRule],
        removed: Collection[str],
    ) -> None:
        self._context = context if whole is None else replace(context, catalog=whole)
        self._tells = {r.name: f for r in rules if callable(f := getattr(r, "cleared", None))}
        self._removed = removed

    def __call__(self, alert: Alert) -> Alert:
        if alert.kind is not AlertKind.CLEARED:
            return alert
        rule = alert.condition.rule
        if rule in self._removed:
            return replace(alert, cleared_evidence=removed_rule(rule))
        if rule not in self._tells:
            return alert
        try:
            told = dict(self._tells[rule](alert.condition, self._context))
        except Exception as exc:  # the clear still goes out, saying why it tells no more
            told = {"cleared_unknown": clip(f"{type(exc).__name__}: {exc}", 300)}
        return replace(alert, cleared_evidence=told)


def evaluate(
    context: AlertContext,
    rules: Sequence[AlertRule],
    state: AlertState,
    sinks: Sequence[AlertSink],
    *,
    whole: Catalog | None = None,
    limit: int = MAX_CONDITIONS_PER_RULE,
    retired: Mapping[str, str | None] | None = None,
) -> AlertReport:
    """Run every rule, send what started, escalated or cleared to every sink, then save the
    active set. A CLEARED alert carries what cleared it when its rule tells (:class:`_Cleared`).

    A rule that raises is reported and its conditions are left as they were (never cleared by
    accident). The state is saved only after every sink accepted every alert. Callers pass the
    state's ``outbox`` as the one sink (the CLI's watch, the retry_recheck Lambda) and then
    ``state.deliver`` the real sinks: the alerts are saved with the state, all or nothing, and
    each is sent to each sink once, a sink that is down keeping its alerts for the next call.

    ``whole``: the catalog ``context.catalog`` is a part of (`watch --series`), which the
    stored alerts may be about. An active alert the part no longer finds is cleared only if
    the rule, run on ``whole``, does not find it either: a watch restarted on fewer series
    does not announce as cleared what it stopped looking at and still holds (it clears once
    it stops holding); what fires is still about the part only.

    ``limit``: the conditions of one rule alerted one by one; past it, one stands for the rest
    (:func:`fuelpipe.domain.alerts.capped`), so the stored active set stays bounded.

    ``retired``: rule names no longer in use, each to the rule it was renamed to or None when
    removed (:data:`fuelpipe.stages.alert_rules.RETIRED_RULES`): a renamed rule's stored alerts
    carry on under the new name, a removed rule's are cleared once
    (:func:`fuelpipe.domain.alerts.retire`); those of a rule in neither list are kept and
    counted in the report's ``unknown_rules``.
    """
    capped("", (), limit)  # a cap under 2 is refused before any rule runs
    names = [r.name for r in rules]
    retired = retired or {}
    retire({}, retired, names)  # a retired name still evaluated is refused before any rule runs
    loaded = state.load()  # the rules see it (AlertContext.active); the first attempt saves on it
    context = replace(context, active=loaded)
    found: list[tuple[str, list[Condition]]] = []
    ran: list[str] = []
    failed: list[str] = []
    for rule in rules:
        try:
            found.append((rule.name, list(rule.evaluate(context))))
        except PartialFindings as part:  # what it saw fires; it clears nothing (not in ``ran``)
            found.append((rule.name, part.conditions))
            failed.append(f"{rule.name}: incomplete: {part}")
            continue
        except Exception as exc:  # one broken rule must not silence the others
            failed.append(f"{rule.name}: {type(exc).__name__}: {exc}")
            continue
        ran.append(rule.name)
    outside = _Outside(context, [r for r in rules if r.name in ran], whole, limit)
    # Redone at once, not with stamina: a save another one beat is a lost race, redone against
    # what it saved, with nothing to wait out.
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        current = loaded if attempt == 1 else state.load()
        active, folded = _folded(current, [r for r in rules if r.name in ran])
        carried = retire(active, retired, names)
        active = carried.active
        # capped against the active set just loaded: what is announced stays listed
        conditions = [c for name, cs in found for c in capped(name, cs, limit, active)]
        held = outside.still_holding(active, {c.id for c in conditions})
        change = transition(
            active,
            [*conditions, *held],
            context.now,
            evaluated_rules=[*ran, *carried.removed],
        )
        told = _Cleared(context, whole, [r for r in rules if r.name in ran], carried.removed)
        for alert in map(told, change.alerts):
            for sink in sinks:
                sink.send(alert)
        try:
            state.save(change.active)
            break
        except AlertStateChanged:
            # Another evaluation (a second watch, a concurrent Lambda run) saved meanwhile:
            # what it queued stands, and this one is redone against it, so a condition both
            # saw start is queued once. (The outbox sink: ``load`` forgot what was queued.)
            if attempt == SAVE_ATTEMPTS:
                raise
    kinds = Counter(a.kind for a in change.alerts)
    return AlertReport(
        firing=kinds[AlertKind.FIRING],
        escalated=kinds[AlertKind.ESCALATED],
        cleared=kinds[AlertKind.CLEARED],
        active=len(change.active),
        folded=folded,
        failed_rules=(*failed, *outside.failed),
        unknown_rules=carried.unknown,
    )
