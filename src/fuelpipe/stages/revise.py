"""revise: re-read each fetch unit's recent window so the scraper can see revised values.

Only dates the source has answered are asked for: those with a stored value (OK) and those it
said have no value (ABSENT: FRED's empty cell, ANP's '-'), and those quarantined after their
re-downloads (QUARANTINED). A source may publish a value for an ABSENT date later (ANP turns a
'-' into a price in a later workbook, FRED fills a day), or come back after an outage longer
than the backoff that quarantined its dates, and nothing else asks for such a date again: the
gap scan counts ABSENT and QUARANTINED as complete. A key never collected, or a date still
missing, is the gap scan's work (asking for it here would only leave PENDING records behind).

One message per fetch unit (one source request, through the same queue and the same polite
HTTP clients as every other request) covering the expected dates of the last N days, N per
source (``Settings.revision_window_days``). The scraper compares what comes back with what is
stored: a changed value is kept with its history (Store.revise), an equal one is left alone,
so a second re-read of an unchanged source writes nothing. A value for an ABSENT date is a new
value (stored as OK, no history: there was none to replace); a date still answered with "no
value", missing from the answer, or in a failed request stays ABSENT and nothing is written
(never PENDING: the source has said it has no value, so it is not retried). So does a
QUARANTINED date: a value published since is stored as OK (the quarantine is resolved, and
`fuelpipe quarantine list` no longer shows it); one still not there stays QUARANTINED, nothing
written, no retries started. A quarantined date older than the window waits for `fuelpipe
quarantine release`.

The run log keeps what a revise covered: a revise of every series with no ``since`` records
its counts alone; one restricted to some series (`fuelpipe revise --series`, `watch --series`)
or to dates from ``since`` also records its :func:`selection` (``counts["selection"]``), so a
`watch` counts it as the day's revise only when it covered what the watch watches
(stages/daily_revise.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import Series
from fuelpipe.domain.messages import MAX_DATES_PER_MESSAGE
from fuelpipe.domain.models import Status
from fuelpipe.domain.planning import plan_requests
from fuelpipe.ports.store import RunLog
from fuelpipe.stages._report import Counters
from fuelpipe.stages.context import StageContext

DEFAULT_WINDOW_DAYS = 35
DEFAULT_WINDOWS: Mapping[str, int] = MappingProxyType(
    {"bcb": 35, "yahoo": 35, "fred": 35, "anp": 56}
)
"""Days re-read per source: five weeks of daily values, eight ANP survey weeks."""
SELECTION = "selection"
"""The run-log count naming what a restricted revise covered (:func:`selection`)."""
REREAD = frozenset({Status.OK, Status.ABSENT, Status.QUARANTINED})
"""The statuses re-read: a stored value (revised?), a source's "no value" and a date whose
re-downloads were spent (published since?)."""


@dataclass
class ReviseReport(Counters):
    """What one revise run asked for."""

    keys: int = 0
    dates: int = 0
    messages_sent: int = 0


def window(series: Series, end: date, windows: Mapping[str, int]) -> list[date]:
    """The expected dates of the last ``windows[source]`` days up to ``end``, newest kept."""
    days = windows.get(series.source, DEFAULT_WINDOW_DAYS)
    start = max(series.default_start, end - timedelta(days=days - 1))
    if end < start:
        return []
    dates = list(expected_between(get_calendar(series.calendar), start, end))
    return dates[-MAX_DATES_PER_MESSAGE:]


def selection(
    series: Sequence[Series] | None, since: date | None, catalog: Iterable[Series]
) -> int | None:
    """What a revise of ``series`` (None: every one) from ``since`` covers, as its run-log
    entry keeps it: None for every series of ``catalog`` and no ``since`` (unrestricted),
    else a number drawn from the keys and ``since`` (the same for the same selection, in any
    order; 48 bits, so a browser shows it exactly)."""
    every = {s.key for s in catalog}
    keys = every if series is None else {s.key for s in series}
    if since is None and keys >= every:
        return None
    text = "\n".join([*sorted(keys), since.isoformat() if since else ""])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big")


def revise(
    app: StageContext, *, series: Sequence[Series] | None = None, since: date | None = None
) -> ReviseReport:
    """Enqueue one re-read per fetch unit of the chosen series (all by default); recorded in
    the run log with its :func:`selection` when it is restricted."""
    return revise_run(app, series=series, since=since)[0]


def revise_run(
    app: StageContext, *, series: Sequence[Series] | None = None, since: date | None = None
) -> tuple[ReviseReport, RunLog, frozenset[str]]:
    """:func:`revise`, the run-log entry it wrote and the bodies of the messages it sent: a
    caller that drains the re-reads tells by those which requests were the revise's
    (stages/daily_revise.py's ``OwnRequests``) and settles the entry with the sources they
    did not reach (``settle``)."""
    started = app.clock.now()
    report = ReviseReport()
    windows = {**DEFAULT_WINDOWS, **app.revision_window_days}
    wanted: list[tuple[Series, list[date]]] = []
    for s in series if series is not None else list(app.catalog):
        end = s.published_through(started)
        dates = [d for d in window(s, end, windows) if since is None or d >= since]
        if dates:  # only dates answered: filling gaps is the gap scan's work, not a revision's
            stored = app.store.query(s.key, dates[0], dates[-1], fields=("status",))
            answered = {r.date for r in stored if r.status in REREAD}
            dates = [d for d in dates if d in answered]
        if dates:
            wanted.append((s, dates))
            report.keys += 1
            report.dates += len(dates)
    bodies = [r.to_body() for r in plan_requests(wanted, origin="revise")]
    report.messages_sent = app.queue.send(bodies)
    counts = report.as_dict()
    covered = selection(series, since, app.catalog)
    if covered is not None:  # none kept: unrestricted (so are the entries written before it)
        counts[SELECTION] = covered
    run = RunLog("revise", started, app.clock.now(), counts)
    app.store.put_run(run)
    return report, run, frozenset(bodies)
