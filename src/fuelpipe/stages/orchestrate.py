"""data_clustering: find each key's missing dates and enqueue one message per stream."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fuelpipe.domain.calendars import Calendar, calendar_fingerprint, get_calendar
from fuelpipe.domain.catalog import Series
from fuelpipe.domain.gaps import (
    ONE_DAY,
    clamp_start,
    complete_through,
    group_streams,
    missing_dates,
)
from fuelpipe.domain.planning import parse_sent_runs, plan_requests, sent_held, sent_runs_text
from fuelpipe.ports.store import RunLog, Watermark
from fuelpipe.stages._report import Counters
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.orphan_notes import drop_orphan_notes

_log = logging.getLogger(__name__)


@dataclass
class OrchestrateReport(Counters):
    """What one orchestrator run found and sent."""

    keys_scanned: int = 0
    keys_audited: int = 0
    """Keys read in full this run (no watermark yet, or their daily audit was due)."""
    watermarks_moved: int = 0
    watermarks_repaired: int = 0
    """Audits that found the watermark past a date that is not complete, and moved it back."""
    watermark_conflicts: int = 0
    """Moves refused because someone changed the watermark meanwhile (retried next run)."""
    gaps_found: int = 0
    gaps_held: int = 0
    """Gaps found and not sent: an earlier run sent them and their message may still wait in
    the queue (:func:`claim_gaps`; the AWS home only)."""
    messages_sent: int = 0
    rest_held: int = 0
    """Due series the caller left out, their source resting after a Retry-After until before
    a later poll of the same window, or sent already by a poll of the same rest (the AWS
    window polls: stages/due.py ``hold_resting``)."""


FIRST_PLANNED = "first_planned"
"""Meta entries ``first_planned#<key>``: when the orchestrator first scanned a key that had no
record at all (its first plan of the key, as a new store's or a series a release adds): the
instant the stale-source rule counts such a key from while it still has none
(:func:`~fuelpipe.stages.alerting.never_stored`). One write a key, at its first scan only;
the stale-source rule deletes it once the key has a record
(:func:`~fuelpipe.stages.alerting.forget_first_planned`)."""


def first_planned_name(key: str) -> str:
    return f"{FIRST_PLANNED}#{key}"


GAP_SENT = "gap_sent"
"""Meta entries ``gap_sent#<key>``: the runs of the key's gap dates the orchestrator sent and
when (:func:`~fuelpipe.domain.planning.sent_runs_text`), kept while their message may still
wait in the queue (:func:`claim_gaps`). One entry a key, written only when the key has gaps
to send; read together, the notes of a run's keys in one Query (:class:`GapNotes`), only when
one of its keys has gaps. A run of dates stored since, or past holding, is dropped at the next
write; the note of a key the catalog no longer has (a release dropped its series), never
written again, is deleted by the next scan of the whole catalog
(:func:`~fuelpipe.stages.orphan_notes.drop_orphan_notes`: one names read, then one read and one
conditional delete of each such note, an empty one too)."""


def gap_sent_name(key: str) -> str:
    return f"{GAP_SENT}#{key}"


CLAIM_ATTEMPTS = 3
"""How often :func:`claim_gaps` reads a key's note again after another orchestrator changed
it between its read and its write."""
_NO_SPLIT = 1_000_000  # days: a note's run is broken only where a date of the key is not a gap
NOTE_MAX_CHARS = 32_000
"""The longest a ``gap_sent#`` note's runs may make it (a run is ~50 characters; a DynamoDB
item holds 400 KB): gaps scattered over a long history (every other date stored) make one run
each, and past this one run from the first sent date to the last stands for them all."""


class QueueBusy:
    """Whether the queue holds any message, visible or in flight: read once, when first asked
    (:func:`~fuelpipe.domain.planning.sent_held`), so a run costs at most one depth read."""

    def __init__(self, app: StageContext) -> None:
        self._app = app
        self._busy: bool | None = None

    def __call__(self) -> bool:
        if self._busy is None:
            self._busy = self._app.queue.waiting() > 0
        return self._busy


class GapNotes:
    """The ``gap_sent#`` notes of a run's keys as the run first read them: one Query of the
    notes whose names start with the keys' common start (every note for the backstop's scan
    of the catalog, the one key's for a window poll of one series; Store.meta_entries, every
    page), made when first asked, so a run whose keys have no gaps reads none: not a read of
    each key's note (ANP's window polls scan 420 keys)."""

    def __init__(self, app: StageContext, keys: Sequence[str]) -> None:
        self._app = app
        # the keys' common start, character by character ("CURRENCY#"), as the notes' names
        self._prefix = gap_sent_name(os.path.commonprefix(list(keys)))  # noqa: RUF071
        self._notes: dict[str, str] | None = None

    def __call__(self, name: str) -> str | None:
        if self._notes is None:
            self._notes = dict(self._app.store.meta_entries(self._prefix))
        return self._notes.get(name)


@dataclass(frozen=True, slots=True)
class Claim:
    """A key's ``gap_sent#`` note as :func:`claim_gaps` read it and as it wrote it."""

    name: str
    before: str | None
    after: str


def claim_gaps(
    app: StageContext,
    series: Series,
    gaps: Sequence[date],
    cal: Calendar,
    now: datetime,
    busy: Callable[[], bool],
    notes: Callable[[str], str | None],
) -> tuple[list[date], Claim | None]:
    """The gaps of ``series`` to send now, noted in its ``gap_sent#`` entry before they are
    sent, and that note; the others are held: an earlier run sent them and their message may
    still wait in the queue or be fetched (:func:`~fuelpipe.domain.planning.sent_held`: for
    ``app.gap_sent_hold_s`` after it, then while the queue holds any message, up to the
    queue's retention). Without this, each AWS schedule that ran while a first backfill's
    messages waited for the scraper (the 6-hourly backstop; a window poll, whose due series
    it scans) sent every date of theirs not stored yet once more.

    A lost message (deleted without storing, dead-lettered, dropped by the queue) leaves the
    queue, so its dates are sent again by the first run after its hold that finds the queue
    empty, and at the latest past the retention: never hidden for good. The note is written
    conditionally on what was read (two orchestrators at once: the second reads the first's
    note again and sends only what it left), up to :data:`CLAIM_ATTEMPTS` times; then the
    key's gaps are left to the next run. The note is first taken from ``notes`` (the run's
    one read of them all: :class:`GapNotes`), read again alone (get_meta) only after a refused
    write; one write when something is sent."""
    hold = timedelta(seconds=app.gap_sent_hold_s or 0)
    name = gap_sent_name(series.key)
    read = notes
    for _ in range(CLAIM_ATTEMPTS):
        before = read(name)
        read = app.store.get_meta
        held = [
            run
            for run in parse_sent_runs(before)
            if sent_held(run[2], now, hold, app.queue.retention, busy)
        ]
        free = [d for d in gaps if not any(a <= d <= b for a, b, _ in held)]
        if not free:
            return [], None
        kept = [(a, b, at) for a, b, at in held if any(a <= d <= b for d in gaps)]
        runs = [(r.start, r.end, now) for r in group_streams(cal, free, _NO_SPLIT)]
        after = sent_runs_text(kept + runs)
        if len(after) > NOTE_MAX_CHARS:  # holds a few dates between them that are no gaps too
            after = sent_runs_text([*kept, (free[0], free[-1], now)])
        if app.store.replace_meta(name, before, after):
            return free, Claim(name, before, after)
    _log.warning(
        "%s: its gaps were noted by another orchestrator %d times while this one noted them; "
        "left to the next run",
        series.key,
        CLAIM_ATTEMPTS,
    )
    return [], None


def release_claims(app: StageContext, claims: Sequence[Claim]) -> None:
    """A send that failed: each key's note goes back to what it was (an empty one for a key
    that had none), unless another run changed it since (sent dates are then sent again by a
    later run: never lost)."""
    for claim in claims:
        with contextlib.suppress(Exception):  # the send's error is what matters
            app.store.replace_meta(claim.name, claim.after, claim.before or "")


def audit_due(
    mark: Watermark | None, now: datetime, every: timedelta, calendar: str | None = None
) -> bool:
    """A key is read in full when it has no watermark or its last full audit is ``every`` old,
    or later than ``now``: a clock ahead (``--now``, ``--simulate-future``) stamped it, and
    waiting for real time to catch up would skip the audit, the repair of a wrong watermark.
    Also when the watermark was computed with another calendar than ``calendar`` (the series'
    calendar fingerprint; a watermark from before fingerprints has none): a release that
    makes a date expected behind the watermark has it found on its first run, not a day on."""
    if mark is None or mark.audited_at is None:
        return True
    if calendar is not None and mark.calendar != calendar:
        return True
    return mark.audited_at > now or now - mark.audited_at >= every


def scan_key(
    app: StageContext,
    series: Series,
    since: date | None,
    mark: Watermark | None,
    *,
    audit: bool,
    report: OrchestrateReport,
    cal: Calendar | None = None,
) -> list[date]:
    """One key's gaps, reading only the dates after its watermark unless ``audit``.

    Then the watermark moves over the dates now complete, with a conditional write on the
    version read before the scan, and keeps the fingerprint of ``cal`` (the series' calendar
    unless given); a full audit also repairs a watermark that went too far.
    """
    now = app.clock.now()
    end = series.published_through(now)
    cal = get_calendar(series.calendar) if cal is None else cal
    fingerprint = calendar_fingerprint(cal)
    through = None if audit or mark is None else mark.through
    present = app.store.present_after(series.key, through)
    noted = True
    if mark is None and not present:
        # The first scan of a key with nothing stored: from now on the home keeps it, and a
        # key that stays without a record past its next window is late (the first instant
        # stays: a scan redone after a watermark conflict does not move it). Only the lateness
        # rule reads it: a write refused (throttled) never stops this scan or the keys after
        # it; the key's first watermark is then left unwritten, so the next scan is a first
        # scan again and tries the note again.
        try:
            app.store.replace_meta(first_planned_name(series.key), None, now.isoformat())
        except Exception as exc:  # any store's error: the ports name none
            _log.warning(
                "%s: when it was first planned not kept (tried again at the next scan): %s",
                series.key,
                exc,
            )
            noted = False
    statuses = {p.date: p.status for p in present}
    base = series.default_start if through is None else through + ONE_DAY
    start = max(clamp_start(series.default_start, since), base)
    gaps = missing_dates(cal, start, end, statuses) if start <= end else []
    moved = complete_through(cal, base, end, statuses, through)
    version = 0 if mark is None else mark.version
    audited_at = now if audit else (None if mark is None else mark.audited_at)
    if audit:
        report.keys_audited += 1
        if (
            mark is not None
            and mark.through is not None
            and (moved is None or moved < mark.through)
        ):
            report.watermarks_repaired += 1
    if noted and (
        mark is None
        or moved != mark.through
        or audited_at != mark.audited_at
        or fingerprint != mark.calendar
    ):
        if app.store.set_watermark(series.key, moved, version, audited_at, fingerprint):
            report.watermarks_moved += int(moved != (None if mark is None else mark.through))
        else:
            report.watermark_conflicts += 1
    return gaps


def orchestrate(
    app: StageContext,
    *,
    series: Sequence[Series] | None = None,
    since: date | None = None,
    on_key: Callable[[str], None] | None = None,
    audit: bool = False,
    calendars: Callable[[str], Calendar] = get_calendar,
    rest_held: int = 0,
) -> OrchestrateReport:
    """Scan every key once (one keys-only query each), plan the fewest requests, enqueue them.

    Each key is read from its watermark on (in steady state: the few dates since the last
    run); a key with no watermark, whose full audit is due (``gap_audit_interval_s``, daily
    by default) or whose watermark was computed with another calendar, or every key when
    ``audit`` is set, is read in full. ``calendars``: a series' calendar by its name.
    ``rest_held``: how many due series the caller left out of ``series`` because their source
    rests, counted in the report and its run log.
    """
    started = app.clock.now()
    report = OrchestrateReport(rest_held=rest_held)
    wanted: list[tuple[Series, list[date]]] = []
    claims: list[Claim] = []
    marks = app.store.watermarks()
    every = timedelta(seconds=app.gap_audit_interval_s)
    busy = QueueBusy(app)
    scanned = list(series) if series is not None else list(app.catalog)
    notes = GapNotes(app, [s.key for s in scanned])
    for s in scanned:
        mark = marks.get(s.key)
        cal = calendars(s.calendar)
        full = audit or audit_due(mark, started, every, calendar_fingerprint(cal))
        gaps = scan_key(app, s, since, mark, audit=full, report=report, cal=cal)
        report.keys_scanned += 1
        report.gaps_found += len(gaps)
        if gaps and app.gap_sent_hold_s is not None:  # the AWS home's: claim_gaps
            found = len(gaps)
            gaps, claim = claim_gaps(app, s, gaps, cal, app.clock.now(), busy, notes)
            report.gaps_held += found - len(gaps)
            claims.extend([claim] if claim is not None else [])
        if gaps:
            wanted.append((s, gaps))
        if on_key:
            on_key(s.key)
    requests = plan_requests(wanted, origin="gap")
    app.failpoints.hit("orchestrate.before_send")
    try:
        report.messages_sent = app.queue.send([r.to_body() for r in requests])
    except BaseException:
        release_claims(app, claims)
        raise
    app.failpoints.hit("orchestrate.after_send")
    if series is None and app.gap_sent_hold_s is not None:  # the whole catalog, AWS's notes
        try:
            drop_orphan_notes(app.store, gap_sent_name(""), app.catalog)
        except Exception as exc:  # any store's error: the ports name none; the sends are made
            _log.warning("gap_sent notes of dropped keys not deleted (next backstop): %s", exc)
    app.store.put_run(RunLog("data_clustering", started, app.clock.now(), report.as_dict()))
    return report
