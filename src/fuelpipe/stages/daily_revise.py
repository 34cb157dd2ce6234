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

A revise counts for the series it covered only: the latest recorded counts when it was
unrestricted (every series, no ``since``: the AWS schedule's, a `fuelpipe revise` without
``--series``, a `watch` of every series; an entry recorded before revises kept their
selection counts so too), or when its selection (stages/revise.py's ``selection``) is the
watch's own. A `fuelpipe revise --series CURRENCY#USD` after 23:00 does not stand for the
other series' re-read: a watch of them runs its revise all the same (a re-read of a window
that did not change writes nothing).

A revise counts for the sources it reached only. Once its re-reads are drained (`watch`'s tick,
`fuelpipe revise`), its entry is settled (:func:`settle`): each source every request of which
failed (``SourceStats.unreachable``: offline, an outage) is named in it (``unreached:<source>``),
as owed. A source with one answer at least counts as revised (a request of it that failed
leaves its dates as they were, as any failed re-read does). So a revise that reached no source
is not the day's: `watch` re-reads the owed sources' series (theirs only) ``REVISE_RETRY``
after it started, then again after each retry that still finds them unreachable, until the
next scheduled revise re-reads everything anyway. The retry is recorded as the watch's own
(its selection), owing what it did not reach in turn. The AWS home's revise is enqueued for
the scraper Lambdas and not settled: its schedule does not read the run log.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, time, timedelta

from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.ports.store import RunLog, Store
from fuelpipe.stages.revise import SELECTION


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
REVISE_RETRY = timedelta(minutes=30)
"""How long after a revise that left sources unreached their re-read is tried again: soon
enough that an outage of minutes costs the day's revise nothing, far enough apart that a
machine offline all night asks each source twice an hour, not at every tick."""


def _latest(store: Store, selection: int | None) -> RunLog | None:
    """The latest revise recorded in the store's run log, if it covered ``selection``
    (stages/revise.py's ``selection``: None, every series); None: never, or the latest
    covered other series only."""
    latest = next((run for run in store.last_runs() if run.stage == "revise"), None)
    if latest is None:
        return None
    covered = latest.counts.get(SELECTION)
    return latest if covered is None or covered == selection else None


def unreached(run: RunLog) -> set[str]:
    """The sources a settled revise did not reach (none: reached all, or not settled)."""
    return {
        k.removeprefix(UNREACHED) for k, v in run.counts.items() if k.startswith(UNREACHED) and v
    }


def owed_sources(
    store: Store, now: datetime, at: time, selection: int | None = None
) -> set[str] | None:
    """What of the revise of ``selection`` is owed at ``now``: None, all of it (no revise of
    it since the latest ``at``); else the sources the latest left unreached (empty: none)."""
    latest = _latest(store, selection)
    if latest is None or latest.started_at < latest_slot(now, at):
        return None
    return unreached(latest)


def next_revise(store: Store, now: datetime, at: time, selection: int | None = None) -> datetime:
    """When the daily revise of ``selection`` is next due: ``now`` when it is; a revise that
    left sources unreached, ``REVISE_RETRY`` after it started (the next ``at`` at the latest);
    else the next ``at``."""
    latest = _latest(store, selection)  # one read of the run log (owed_sources' own)
    if latest is None or latest.started_at < latest_slot(now, at):
        return now
    scheduled = next_slot(now, at)
    if not unreached(latest):
        return scheduled
    return min(scheduled, max(now, latest.started_at + REVISE_RETRY))


def revise_due(store: Store, now: datetime, at: time, selection: int | None = None) -> bool:
    """True when no revise of ``selection`` (None: every series) recorded started at or after
    the latest ``at`` up to ``now``, or the latest left sources unreached ``REVISE_RETRY``
    ago or more."""
    return next_revise(store, now, at, selection) <= now


def settle(store: Store, run: RunLog, covered: int | None, missed: Collection[str]) -> RunLog:
    """Rewrite a revise's run-log entry once its re-reads are drained: as a revise of
    ``covered`` (a watch's retry of its owed sources counts as the watch's own), naming each
    source of ``missed`` (every request to it failed) as unreached."""
    counts = {k: v for k, v in run.counts.items() if k != SELECTION and not k.startswith(UNREACHED)}
    if covered is not None:
        counts[SELECTION] = covered
    counts.update({f"{UNREACHED}{name}": 1 for name in sorted(missed)})
    settled = replace(run, counts=counts)
    store.put_run(settled)  # the same stage and start: the entry is replaced
    return settled
