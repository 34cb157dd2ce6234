"""data_clustering: find each key's missing dates and enqueue one message per stream."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from fuelpipe.domain.calendars import get_calendar, last_available_date
from fuelpipe.domain.catalog import Series
from fuelpipe.domain.gaps import clamp_start, missing_dates
from fuelpipe.domain.planning import plan_requests
from fuelpipe.homes.app import App
from fuelpipe.ports.store import RunLog
from fuelpipe.stages._report import Counters


@dataclass
class OrchestrateReport(Counters):
    """What one orchestrator run found and sent."""

    keys_scanned: int = 0
    gaps_found: int = 0
    messages_sent: int = 0


def find_gaps(app: App, series: Series, since: date | None) -> list[date]:
    """Expected dates of one series, up to what is published by now, with no record at all."""
    end = last_available_date(app.clock.now(), series.available_after)
    start = clamp_start(series.default_start, since)
    if end < start:
        return []
    present = (p.date for p in app.store.present(series.key))
    return missing_dates(get_calendar(series.calendar), start, end, present)


def orchestrate(
    app: App,
    *,
    series: Sequence[Series] | None = None,
    since: date | None = None,
    on_key: Callable[[str], None] | None = None,
) -> OrchestrateReport:
    """Scan every key once (one keys-only query each), plan the fewest requests, enqueue them."""
    started = app.clock.now()
    report = OrchestrateReport()
    wanted: list[tuple[Series, list[date]]] = []
    for s in series if series is not None else list(app.catalog):
        gaps = find_gaps(app, s, since)
        report.keys_scanned += 1
        report.gaps_found += len(gaps)
        if gaps:
            wanted.append((s, gaps))
        if on_key:
            on_key(s.key)
    requests = plan_requests(wanted, origin="gap")
    app.failpoints.hit("orchestrate.before_send")
    report.messages_sent = app.queue.send([r.to_body() for r in requests])
    app.failpoints.hit("orchestrate.after_send")
    app.store.put_run(RunLog("data_clustering", started, app.clock.now(), report.as_dict()))
    return report
