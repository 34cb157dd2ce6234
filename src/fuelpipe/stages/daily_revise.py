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
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.ports.store import Store
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


def last_revise(store: Store, selection: int | None = None) -> datetime | None:
    """When the latest revise recorded in the store's run log started, if it covered
    ``selection`` (stages/revise.py's ``selection``: None, every series); None: never, or the
    latest covered other series only."""
    latest = next((run for run in store.last_runs() if run.stage == "revise"), None)
    if latest is None:
        return None
    covered = latest.counts.get(SELECTION)
    return latest.started_at if covered is None or covered == selection else None


def revise_due(store: Store, now: datetime, at: time, selection: int | None = None) -> bool:
    """True when no revise of ``selection`` (None: every series) recorded started at or after
    the latest ``at`` up to ``now``."""
    last = last_revise(store, selection)
    return last is None or last < latest_slot(now, at)


def next_revise(store: Store, now: datetime, at: time, selection: int | None = None) -> datetime:
    """When the daily revise is next due: ``now`` if it is due, else the next ``at``."""
    return now if revise_due(store, now, at, selection) else next_slot(now, at)
