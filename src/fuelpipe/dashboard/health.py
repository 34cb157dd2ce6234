"""The pipeline-health view: sources late or failing now and the active alerts, completeness
per stored series (with the stock splits whose whole-history re-read it owes), retries, the
records quarantined last, dead letters, last runs, and the values sources published that were
set aside where no record keeps them."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta

from fuelpipe.dashboard.schemas import (
    ActiveAlertView,
    AlertDeliveryView,
    HealthView,
    OwedSplit,
    QuarantinedRecord,
    QuarantinedSeries,
    RunView,
    SeriesHealth,
    SetAsideValue,
    SourceFreshness,
    SourceProblem,
    SplitOwed,
)
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.domain.completeness import completeness, first_from_start
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.models import PresentDate, Record, Status
from fuelpipe.domain.text import clip
from fuelpipe.ports.alerts import AlertReader
from fuelpipe.ports.clock import Clock, one_look
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import PendingMarks, RunLog, StatusSummary, Store
from fuelpipe.stages.alerting import (
    DeadLettered,
    Late,
    first_planned,
    is_failure,
    lateness,
    latest_due,
)
from fuelpipe.stages.dead_letter_settled import now_settled, read_waits_on
from fuelpipe.stages.lacking import given_up_dates
from fuelpipe.stages.revise import SELECTION
from fuelpipe.stages.scrape import Owed, owed_entry, owed_text
from fuelpipe.stages.set_aside import SetAside, count_set_aside, newest_set_aside

_KEYS_SHOWN = 5
PENDING_READ = 1000
"""The failing rows are built from at most this many PENDING records, the most recently
written (a failed attempt, a retry's claim): a failed backfill leaves ~100,000 PENDING, and
reading them all outran the dashboard Lambda's 29 s. The view says how many it read."""
REASON_CHARS = 160
"""A failing date's reason is cut to this many characters (its first line)."""
SET_ASIDE_SHOWN = 20
"""The view lists at most this many of the values set aside (the newest: first seen last), the
only ones it reads; it counts them all without reading them."""
QUARANTINED_SHOWN = 50
"""The view lists at most this many QUARANTINED records, the most recently quarantined, the only
ones it reads whole (from the status index, as the newest PENDING): a failed backfill leaves
~100,000, which it counts per series from the index's slim entries
(:func:`quarantined_series`); `fuelpipe quarantine list` lists them all."""
DEAD_LETTERS_CHECKED = 50
"""The view checks at most this many dead-letter alerts' ``waits_on`` date (one point read of
its status each, as the dead-letter rule's own evaluation does; the rule keeps at most 300
such alerts): one stored since is said to be re-checked at the rule's next run
(:func:`active_alerts`)."""
STORED_SINCE = (
    "; {waits} is stored since: the dead-letter rule checks it again at its next run "
    "(`fuelpipe watch`; on AWS within the hour) and removes it if every date it asked for is "
    "settled (`fuelpipe dlq purge --settled` now)"
)
STORED_SINCE_PT_BR = (
    "; {waits} foi armazenada depois: a regra de mensagens mortas a verifica de novo na "
    "próxima execução (`fuelpipe watch`; na AWS em até uma hora) e a remove se todas as datas "
    "pedidas estiverem resolvidas (`fuelpipe dlq purge --settled` agora)"
)


def set_aside_values(entries: list[SetAside]) -> list[SetAsideValue]:
    """The first :data:`SET_ASIDE_SHOWN` of ``entries`` (newest first already), in São Paulo
    time."""
    return [
        SetAsideValue(
            key=e.key,
            date=e.date,
            value=e.value,
            reason=short_reason(e.reason),
            seen_by=e.seen_by,
            first_seen=_sp(e.first_seen),
            last_seen=_sp(e.last_seen),
        )
        for e in entries[:SET_ASIDE_SHOWN]
    ]


def quarantined_records(catalog: Catalog, records: list[Record]) -> list[QuarantinedRecord]:
    """The first :data:`QUARANTINED_SHOWN` of ``records`` (newest first already: the status
    index's :meth:`~fuelpipe.ports.store.Store.latest_status`), each with its series' name (none
    for a key outside ``catalog``), in São Paulo time, its reason's first line."""
    return [
        QuarantinedRecord(
            key=r.key,
            label=catalog[r.key].label if r.key in catalog else None,
            date=r.date,
            quarantined_at=_sp(r.updated_at) if r.updated_at is not None else None,
            retries=r.retry_count,
            reason=short_reason(r.reason or ""),
        )
        for r in records[:QUARANTINED_SHOWN]
    ]


def quarantined_series(catalog: Catalog, summaries: list[StatusSummary]) -> list[QuarantinedSeries]:
    """Each key's QUARANTINED records counted (``summaries``:
    :meth:`~fuelpipe.ports.store.Store.status_summaries`), the key quarantined last first (ties
    and keys without a stamp by key, the latter last), its name as
    :func:`quarantined_records` gives it."""
    ordered = sorted(summaries, key=lambda s: s.key)
    # stable, reversed too: ties keep key order
    ordered.sort(key=lambda s: s.latest.timestamp() if s.latest else -math.inf, reverse=True)
    return [
        QuarantinedSeries(
            key=s.key,
            label=catalog[s.key].label if s.key in catalog else None,
            count=s.count,
            first=s.first,
            last=s.last,
            latest=_sp(s.latest) if s.latest is not None else None,
        )
        for s in ordered
    ]


def split_owed(owed: Owed) -> SplitOwed | None:
    """A ``split_owed`` entry as the view shows it; None when nothing is owed."""
    if not owed.splits:
        return None
    return SplitOwed(
        splits=[OwedSplit(date=s.date, ratio=s.label) for s in owed.splits],
        text=owed_text(owed.splits),
        since=_sp(owed.since) if owed.since else None,
    )


def series_health(
    series: Series,
    present: list[PresentDate],
    now: datetime,
    owed: Owed | None = None,
    lacking_given_up: int = 0,
) -> SeriesHealth:
    """OK dates over expected dates, from the first stored date to the last published one
    at ``now``; ``owed`` the stock splits whose whole-history re-read the series owes;
    ``lacking_given_up`` its OK dates still lacking figures after their last re-download."""
    c = completeness(series, present, now)
    return SeriesHealth(
        key=series.key,
        label=series.label,
        first=c.first,
        last=c.last,
        last_available=c.last_available,
        present=c.ok_expected,
        expected=c.expected,
        completeness=c.ratio,
        missing=c.missing,
        pending=c.pending,
        quarantined=c.quarantined,
        unexpected=c.unexpected,
        revised=c.revised,
        absent=c.absent,
        split_owed=split_owed(owed) if owed else None,
        lacking_given_up=lacking_given_up,
    )


FRESHNESS_SPAN = timedelta(days=35)
"""Freshness is measured on each series' newest values (five weeks: a few ANP weeks)."""


def store_lags(store: Store, series: Series, first: date, last: date) -> list[float]:
    """Seconds from publication (the record's ``published_at``) to storage (``updated_at``) of
    the values the pipeline stored as they came out: those published after the series' first
    value was stored (when the pipeline started keeping it: the ``updated_at`` of its record of
    its oldest date ``first``, or an earlier one in the window). History already published by
    then, the backfill, and older history added later, are not counted; a value stored late
    because the source was down, or the pipeline stopped, is (its delay is the pipeline's).
    ``first`` is the oldest date on or after the series' catalog start (where completeness
    starts too: :func:`~fuelpipe.domain.completeness.first_from_start`): a record dated
    before it, and any dated before ``first``, is left out."""
    since = max(last - FRESHNESS_SPAN, first)
    window = store.query(series.key, since, last, ("attrs", "updated_at"))
    stored: list[tuple[datetime, datetime]] = []
    for r in window:
        published = r.attrs.get("published_at")
        if r.status is Status.OK and isinstance(published, str) and r.updated_at is not None:
            stored.append((datetime.fromisoformat(published), r.updated_at))
    if not stored:
        return []
    began = min(r.updated_at for r in window if r.updated_at is not None)
    # The record of the oldest date can only move ``began`` earlier, so it is read only when
    # some value in the window was published before the window's own earliest storage.
    if first < window[0].date and any(at < began for at, _ in stored):
        oldest = store.query(series.key, first, first, ("updated_at",))
        began = min([began, *(r.updated_at for r in oldest if r.updated_at is not None)])
    return [max(0.0, (updated - at).total_seconds()) for at, updated in stored if at >= began]


def percentiles(samples: list[float]) -> tuple[float | None, float | None]:
    """p50 and p95 (inclusive method); one sample is both."""
    if not samples:
        return None, None
    if len(samples) == 1:
        return samples[0], samples[0]
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94]


def freshness_by_source(lags: dict[str, list[float]]) -> list[SourceFreshness]:
    """p50/p95 freshness per source."""
    out = []
    for source, samples in sorted(lags.items()):
        p50, p95 = percentiles(samples)
        out.append(SourceFreshness(source=source, samples=len(samples), p50_s=p50, p95_s=p95))
    return out


def _sp(at: datetime) -> datetime:
    return at.astimezone(SAO_PAULO)


def short_reason(reason: str) -> str:
    """A reason's first line, at most :data:`REASON_CHARS` characters."""
    line = reason.strip().splitlines()[0] if reason.strip() else ""
    return clip(line, REASON_CHARS)


def late_problems(late: list[Late]) -> list[SourceProblem]:
    """One ``late`` row per source, its series in key order (the first names the date)."""
    by_source: dict[str, list[Late]] = defaultdict(list)
    for item in late:
        by_source[item.series.source].append(item)
    out = []
    for source, items in sorted(by_source.items()):
        items.sort(key=lambda i: i.series.key)
        first = items[0]
        out.append(
            SourceProblem(
                source=source,
                state="late",
                series=len(items),
                keys=[i.series.key for i in items[:_KEYS_SHOWN]],
                date=first.day,
                due_at=_sp(first.series.schedule.published_at(first.day)),
                since=_sp(min(i.since for i in items)),
                latest_stored=first.latest_stored,
            )
        )
    return out


def failing_records(
    catalog: Catalog,
    pending: list[Record],
    marks: Mapping[tuple[str, date], PendingMarks] | None = None,
) -> list[Record]:
    """The records of ``pending`` whose last request failed, of a series of ``catalog``;
    ``marks``: their :meth:`~fuelpipe.ports.store.Store.pending_marks`, for records read
    without their attributes (the status index's entries; a record left out of it: none)."""
    return [
        r
        for r in pending
        if r.key in catalog and is_failure(r, None if marks is None else marks.get((r.key, r.date)))
    ]


def failing_problems(
    catalog: Catalog,
    failing: list[Record],
    pending_since: Mapping[tuple[str, date], datetime] | None = None,
) -> list[SourceProblem]:
    """One ``failing`` row per source of ``failing`` (:func:`failing_records` of the health
    view's newest PENDING records); ``pending_since`` when each of them first became PENDING
    (:meth:`~fuelpipe.ports.store.Store.pending_marks`), for those that carry it."""
    first_failed = pending_since or {}
    by_source: dict[str, list[Record]] = defaultdict(list)
    for r in failing:
        by_source[catalog[r.key].source].append(r)
    out = []
    for source, records in sorted(by_source.items()):
        oldest = min(records, key=lambda r: (r.date, r.key))
        due = _sp(catalog[oldest.key].schedule.published_at(oldest.date))
        # When the first of them became PENDING (kept across retries, unlike its write time,
        # which each retry's claim moves). A record PENDING since before that was kept falls
        # back on its date's publication, when a request for it could first fail.
        since = min(
            first_failed.get((r.key, r.date)) or catalog[r.key].schedule.published_at(r.date)
            for r in records
        )
        stamped = sorted((r for r in records if r.updated_at), key=lambda r: r.updated_at or due)
        keys = sorted({r.key for r in records})
        nexts = [r.next_attempt_at for r in records if r.next_attempt_at is not None]
        out.append(
            SourceProblem(
                source=source,
                state="failing",
                series=len(keys),
                keys=keys[:_KEYS_SHOWN],
                date=oldest.date,
                due_at=due,
                since=_sp(since),
                last_attempt_at=_sp(stamped[-1].updated_at or due) if stamped else None,
                reason=short_reason((stamped[-1] if stamped else oldest).reason or ""),
                next_attempt_at=_sp(min(nexts)) if nexts else None,
            )
        )
    return out


def active_alerts(
    alerts: AlertReader | None, store: Store | None = None
) -> list[ActiveAlertView] | None:
    """The alert state's active alerts, oldest first; None without a reader. With ``store``, a
    dead-letter alert whose ``waits_on`` date (the first its rule found missing) is settled in
    the store now says so, and that the rule checks it again at its next run: the alert stays
    active until then (hourly on AWS), and a reader took it for a date still missing. At most
    :data:`DEAD_LETTERS_CHECKED` point reads."""
    if alerts is None:
        return None
    left = DEAD_LETTERS_CHECKED if store is not None else 0
    views = []
    for a in sorted(alerts.load().values(), key=lambda a: (a.since, a.condition.id)):
        summary = a.condition.summary
        summary_pt_br = a.condition.summary_pt_br or a.condition.summary
        waits = a.condition.evidence.get("waits_on")
        waiting = read_waits_on(waits) if a.condition.rule == DeadLettered.name else None
        if store is not None and waiting is not None and left > 0:
            left -= 1
            if now_settled(store, waiting):
                summary += STORED_SINCE.format(waits=waits)
                summary_pt_br += STORED_SINCE_PT_BR.format(waits=waits)
        views.append(
            ActiveAlertView(
                rule=a.condition.rule,
                subject=a.condition.subject,
                summary=summary,
                summary_pt_br=summary_pt_br,
                severity=a.condition.severity.value,
                since=_sp(a.since),
            )
        )
    return views


def alert_delivery(alerts: AlertReader | None) -> list[AlertDeliveryView] | None:
    """What waits for each sink, then the latest drops; None without a reader."""
    if alerts is None:
        return None
    delivery = alerts.delivery()
    waiting = [
        AlertDeliveryView(
            sink=b.sink,
            state="waiting",
            count=b.waiting,
            at=_sp(b.oldest),
            failing_since=_sp(b.failing_since) if b.failing_since else None,
            line=None,
        )
        for b in delivery.backlog
    ]
    dropped = [
        AlertDeliveryView(
            sink=d.sink,
            state="dropped",
            count=d.count,
            at=_sp(d.at),
            failing_since=None,
            line=d.line,
        )
        for d in delivery.dropped
    ]
    return waiting + dropped


def runs_shown(runs: list[RunLog]) -> list[list[object]]:
    """What the view shows of ``runs`` (:meth:`~fuelpipe.ports.store.Store.last_runs`): each
    stage's instants and counters, for the keys that must move when they do (the stored view's,
    `/api/live`'s `runs` part). The newest finish alone missed a run logged again at the same
    instants with other counters (a demo store's fixed clock replaces it) and one finishing
    before another stage's newest (logged late, or by a process on another clock)."""
    # the counters sorted: a backend may hand a map back in any order, and the key must not move
    return [
        [r.stage, r.started_at.isoformat(), r.finished_at.isoformat(), sorted(r.counts.items())]
        for r in runs
    ]


def health_view(
    store: Store,
    catalog: Catalog,
    queue: Queue | None,
    clock: Clock,
    series_clocks: Mapping[str, datetime] | None = None,
    alerts: AlertReader | None = None,
    due: Callable[[Series, datetime], date | None] = latest_due,
    pending_read: int = PENDING_READ,
) -> HealthView:
    """Health of every series that has at least one stored record; ``series_clocks`` gives
    some series their own time (a demo store's: its bundled files end in different years);
    ``alerts`` the alert state to show the active alerts of; ``due`` each series' latest due
    date (a :class:`~fuelpipe.stages.alerting.LatestDue` the app keeps reuses them);
    ``pending_read`` how many of the newest PENDING records the failing rows are built from."""
    rows = []
    lags: dict[str, list[float]] = defaultdict(list)
    late: list[Late] = []
    # one read of a demo store's clocks a request, not one a series (`demo --live` moves them)
    clocks = one_look(series_clocks)
    as_of = clock.now()
    # Most catalog series may have no record at all (341 of 440 in the demo's store): one
    # keys-only read says which do, and only those are read.
    stored = store.stored_keys([s.key for s in catalog])
    # A series with no record is late once a window has passed since it was first planned:
    # when the orchestrator did is one read for all of them (none when every one has records).
    planned = first_planned(store) if len(stored) < len(catalog) else {}
    # The OK dates whose lacking figures never came: one read of the lacking# notes.
    given_up = Counter(g.key for g in given_up_dates(store))
    for series in catalog:
        present = store.present(series.key) if series.key in stored else []
        now = clocks.get(series.key) or as_of
        statuses = {p.date: p.status for p in present}
        if present:
            # One meta read per stored split-adjusted series (a Yahoo ticker), none otherwise.
            rows.append(
                series_health(series, present, now, owed_entry(store, series), given_up[series.key])
            )
            first = first_from_start(series, statuses)
            if first is not None:
                lags[series.source] += store_lags(store, series, first, max(statuses))
        found = lateness(store, series, statuses, now, due, planned.get(series.key))
        if found is not None:
            late.append(found)
    # The PENDING and QUARANTINED records are counted, not read: a failed backfill leaves
    # ~100,000 of them, and reading them whole (~115 us each to decode) outran the dashboard
    # Lambda's 29 s. The failing rows come from the newest PENDING records only (a bounded
    # read of the slim status index); the view says how many of them that was.
    waiting = store.count_status(Status.PENDING)
    newest = store.latest_status(Status.PENDING, pending_read) if waiting else []
    # Those entries carry no attributes: the records that look failing by their reason are
    # read for their marks (one small read each), so a date the source answered with "no
    # value" inside its window is not counted, and their first-failure instants come along.
    suspects = failing_records(catalog, newest)
    marks = store.pending_marks([(r.key, r.date) for r in suspects]) if suspects else {}
    failing = failing_records(catalog, suspects, marks)
    first_failed = {slot: m.since for slot, m in marks.items() if m.since is not None}
    # Counted, not read (a COUNT of the meta partition's set_aside# range), and only the
    # newest shown are read (their rank, first_seen, orders them in an index): a source
    # publishing garbage for years of dates leaves as many entries.
    # The same for the QUARANTINED records: only the newest shown read whole, all of them
    # counted per series from the status index's slim entries (key, date, reason, stamp: the
    # pages a COUNT of that index reads too), so the panel's by-series line and total are of
    # every one, not of those listed.
    summaries = store.status_summaries(Status.QUARANTINED)
    quarantined = sum(s.count for s in summaries)
    held = store.latest_status(Status.QUARANTINED, QUARANTINED_SHOWN) if quarantined else []
    set_aside = count_set_aside(store)
    newest_aside = newest_set_aside(store, SET_ASIDE_SHOWN) if set_aside else []
    return HealthView(
        as_of=as_of,
        series=rows,
        catalog_series=len(catalog),
        stored_series=len(rows),
        problems=late_problems(late) + failing_problems(catalog, failing, first_failed),
        alerts=active_alerts(alerts, store),
        alert_delivery=alert_delivery(alerts),
        pending=waiting,
        pending_read=len(newest),
        quarantined=quarantined,
        quarantined_records=quarantined_records(catalog, held),
        quarantined_series=quarantined_series(catalog, summaries),
        dead_letters=queue.depth().dead if queue is not None else None,
        unexpected=sum(r.unexpected for r in rows),
        revised=sum(r.revised for r in rows),
        absent=sum(r.absent for r in rows),
        split_owed=sum(r.split_owed is not None for r in rows),
        lacking_given_up=sum(given_up.values()),
        last_runs=[
            RunView(
                stage=r.stage,
                started_at=r.started_at,
                finished_at=r.finished_at,
                # a restricted revise's selection is an identity for the daily revise's
                # bookkeeping (stages/revise.py), not a count: an analyst read a 15-digit number
                counts={k: v for k, v in r.counts.items() if k != SELECTION},
            )
            for r in store.last_runs()
        ],
        freshness=freshness_by_source(lags),
        set_aside=set_aside,
        set_aside_values=set_aside_values(newest_aside),
    )
