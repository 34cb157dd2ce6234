"""The daily revise of the embedded home: when `watch` runs stages/revise.py's ``revise``.

In AWS the ``ReviseSchedule`` (infra/template.yaml: ``cron(0 23 * * ? *)``, America/Sao_Paulo)
invokes data_clustering with ``{"mode": "revise"}`` once a day. `watch` runs the same
``revise`` at the same São Paulo time (``FUELPIPE_REVISE_AT``, `watch --revise-at`), on its
injected clock, as one of the things its loop wakes for (the default, 23:00, is
homes/settings.py's ``DEFAULT_REVISE_AT``; tests/aws/test_aws_template.py holds the two equal).

The run log is the memory: ``revise`` records a ``revise`` run (``Store.put_run``) when it has
sent its re-reads, and the revise is due when the latest one recorded started before the
latest scheduled instant already passed (none recorded: due). So a watch restarted after the
day's revise does not run it again, and one started after 23:00 (or after days stopped) with
no revise since the last 23:00 runs one revise at once, the missed ones folded into it (a
re-read covers the whole window).

A revise counts for the series it covered only: the one that counts is the latest recorded
that was unrestricted (every series, no ``since``: the AWS schedule's, a `fuelpipe revise`
without ``--series``, a `watch` of every series; an entry recorded before revises kept their
selection counts so too) or whose selection (stages/revise.py's ``selection``) is the watch's
own, whatever other revises came after it (``Store.stage_runs``). A `fuelpipe revise --series
CURRENCY#USD` after 23:00 does not stand for the other series' re-read: a watch of them runs
its revise all the same (a re-read of a window that did not change writes nothing), and one
after the watch's revise does not make it owed again. A revise that started after the watch's
clock (a store used at real time, watched with ``--now`` in the past) is not one it has seen:
it neither counts nor hides the watch's own, so the watch runs the revise once and then
counts that one, never re-reading at every tick.

A revise counts for the sources it reached only. Once its re-reads are drained (`watch`'s tick,
`fuelpipe revise`), its entry is settled (:func:`settle`): each source every request of which
failed (``SourceStats.unreachable``: offline, an outage) is named in it (``unreached:<source>``),
as owed. Only the revise's own messages count (:class:`OwnRequests`): the same drain also
handles whatever else is queued (a message an earlier tick or another command left, a due
series' retry), and a request of those neither reaches a source for the revise nor misses
one. A source with one answer at least counts as revised (a request of it that failed
leaves its dates as they were, as any failed re-read does). So a revise that reached no source
is not the day's: `watch` re-reads the owed sources' series (theirs only, of those it watches)
``REVISE_RETRY`` after it started, then again after each retry that still finds them
unreachable, until the next scheduled revise re-reads everything anyway. As the run log's
latest revise is the memory, the retry's entry continues the day's revise it retries: it keeps
that revise's selection, names the sources it re-read (``retried:<source>``) beside its own
counts (the series, dates and requests it re-read), and owes those it did not reach and those
it did not re-read (another watch's sources), so a watch restarted then re-reads neither the
whole selection again nor forgets a source still owed. A watch counts as owed only the owed
sources it reads series of (``sources``): one of CNG in Acre does not retry for BCB. The AWS
home's revise is enqueued for the scraper Lambdas and not settled: its schedule does not read
the run log.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, time, timedelta

from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.ports.queue import Message
from fuelpipe.ports.source import SourceStats
from fuelpipe.ports.store import RunLog, Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.revise import SELECTION
from fuelpipe.stages.scrape import ScrapeReport, handle_message


def latest_slot(now: datetime, at: time) -> datetime:
    """The latest instant at São Paulo time ``at`` that is not after ``now``."""
    local = now.astimezone(SAO_PAULO)
    slot = datetime.combine(local.date(), at, tzinfo=SAO_PAULO)
    if slot > local:
        slot = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=SAO_PAULO)
    return slot


def next_slot(now: datetime, at: time) -> datetime:
    """The first instant at São Paulo time ``at`` after ``now``."""
    latest = latest_slot(now, at)
    return datetime.combine(latest.date() + timedelta(days=1), at, tzinfo=SAO_PAULO)


UNREACHED = "unreached:"
"""A settled revise's run-log count naming a source it did not reach (``unreached:bcb``: 1)."""
RETRIED = "retried:"
"""A retry's run-log count naming a source whose series it re-read (``retried:bcb``: 1)."""
REVISE_RETRY = timedelta(minutes=30)
"""How long after a revise that left sources unreached their re-read is tried again: soon
enough that an outage of minutes costs the day's revise nothing, far enough apart that a
machine offline all night asks each source twice an hour, not at every tick."""


def source_stats(app: StageContext) -> dict[str, SourceStats]:
    """Each source's requests so far (cumulative), for those whose adapter counts them."""
    return {name: st for name, s in app.sources.items() if (st := s.stats()) is not None}


def requests_since(
    before: dict[str, SourceStats], after: dict[str, SourceStats]
) -> dict[str, SourceStats]:
    """The requests made between two counts of the sources' (cumulative) stats."""
    moved = {name: now.since(before.get(name, SourceStats(0, 0))) for name, now in after.items()}
    return {name: st for name, st in moved.items() if st is not None}


class OwnRequests:
    """What the requests of one revise's own messages came to, source by source: pass
    :meth:`handle` to the drain of its re-reads, then ask :meth:`unreached`.

    A message is the revise's when its body is one of those the revise sent (``bodies``); one
    with the same body sent by another (a second revise of the same window) is the same request
    and tells the same. Whatever else the drain handles (a message left queued by an earlier
    tick or another command, a retry, a due series' request) counts for nothing here. The drain
    handles one message at a time in this process, so the change of the sources' counts around
    a message is that message's requests (its re-read after a stock split too)."""

    def __init__(self, bodies: Collection[str]) -> None:
        self._bodies = frozenset(bodies)
        self._requests: dict[str, SourceStats] = {}

    def handle(self, app: StageContext, message: Message) -> ScrapeReport:
        """Handle ``message`` as the drain does; note its requests when it is the revise's."""
        if message.body not in self._bodies:
            return handle_message(app, message)
        before = source_stats(app)
        try:
            return handle_message(app, message)
        finally:  # a message that raised is given back, and its requests were made all the same
            for name, st in requests_since(before, source_stats(app)).items():
                self._requests[name] = self._requests.get(name, SourceStats(0, 0)).plus(st)

    def unreached(self) -> list[str]:
        """The sources every request of which (one at least) for the revise's messages failed
        or was refused unsent (its breaker open)."""
        return sorted(name for name, st in self._requests.items() if st.unreachable)


RUNS_READ = 100
"""How many of the latest revises (started by the clock) the owed check reads for one that
covered the watch's selection: one Query. Past them it counts as none, and the revise the
watch then runs is the latest."""


def _latest(store: Store, now: datetime, selection: int | None) -> RunLog | None:
    """The latest revise recorded in the store's run log that started at or before ``now``
    and covered ``selection`` (stages/revise.py's ``selection``: None, every series); None:
    none of the latest ``RUNS_READ`` did."""
    for run in store.stage_runs("revise", now, RUNS_READ):
        covered = run.counts.get(SELECTION)
        if covered is None or covered == selection:
            return run
    return None


def unreached(run: RunLog) -> set[str]:
    """The sources a settled revise did not reach (none: reached all, or not settled)."""
    return {
        k.removeprefix(UNREACHED) for k, v in run.counts.items() if k.startswith(UNREACHED) and v
    }


def todays_revise(store: Store, now: datetime, at: time, selection: int | None) -> RunLog | None:
    """The latest revise recorded that counts for ``selection`` at ``now`` (started at or
    after the latest ``at``); None: the whole revise is owed."""
    latest = _latest(store, now, selection)
    if latest is None or latest.started_at < latest_slot(now, at):
        return None
    return latest


def _owed(run: RunLog, sources: Collection[str] | None) -> set[str]:
    owed = unreached(run)
    return owed if sources is None else owed & set(sources)


def next_revise(
    store: Store,
    now: datetime,
    at: time,
    selection: int | None = None,
    sources: Collection[str] | None = None,
) -> datetime:
    """When the daily revise of ``selection`` is next due: ``now`` when it is; a revise that
    left sources (of ``sources``, when given) unreached, ``REVISE_RETRY`` after it started
    (the next ``at`` at the latest); else the next ``at``."""
    latest = todays_revise(store, now, at, selection)  # one read of the run log
    if latest is None:
        return now
    scheduled = next_slot(now, at)
    if not _owed(latest, sources):
        return scheduled
    return min(scheduled, max(now, latest.started_at + REVISE_RETRY))


def revise_due(
    store: Store,
    now: datetime,
    at: time,
    selection: int | None = None,
    sources: Collection[str] | None = None,
) -> bool:
    """True when no revise of ``selection`` (None: every series) recorded started at or after
    the latest ``at`` up to ``now``, or the latest left sources (of ``sources``, when given)
    unreached ``REVISE_RETRY`` ago or more."""
    return next_revise(store, now, at, selection, sources) <= now


def settle(
    store: Store,
    run: RunLog,
    covered: int | None,
    missed: Collection[str],
    retried: Collection[str] = (),
) -> RunLog:
    """Rewrite a revise's run-log entry once its re-reads are drained: as a revise of
    ``covered`` (a retry: the selection of the revise it continues), naming each source of
    ``missed`` as unreached (owed) and, for a retry, each source of ``retried`` whose series
    it re-read."""
    counts = {
        k: v
        for k, v in run.counts.items()
        if k != SELECTION and not k.startswith((UNREACHED, RETRIED))
    }
    if covered is not None:
        counts[SELECTION] = covered
    counts.update({f"{RETRIED}{name}": 1 for name in sorted(retried)})
    counts.update({f"{UNREACHED}{name}": 1 for name in sorted(missed)})
    settled = replace(run, counts=counts)
    store.put_run(settled)  # the same stage and start: the entry is replaced
    return settled


def settle_retry(
    store: Store, run: RunLog, day: RunLog, retried: Collection[str], missed: Collection[str]
) -> RunLog:
    """Settle a retry's entry ``run`` as the continuation of the day's revise ``day``: its
    selection, ``retried`` named, and owing what ``day`` owed and it did not re-read, with
    what it re-read and did not reach (``missed``)."""
    owed = (unreached(day) - set(retried)) | set(missed)
    return settle(store, run, day.counts.get(SELECTION), owed, retried)
