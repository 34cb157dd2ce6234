"""The pipeline-health view: completeness per stored series, retries, dead letters, last runs."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from fuelpipe.dashboard.schemas import HealthView, RunView, SeriesHealth
from fuelpipe.domain.calendars import expected_between, get_calendar, last_available_date
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.domain.models import PresentDate, Status
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import Store


@lru_cache(maxsize=256)
def expected_dates(calendar: str, first: date, last: date) -> frozenset[date]:
    """The calendar's dates in ``[first, last]``; cached, as many series share one calendar."""
    if first > last:
        return frozenset()
    return frozenset(expected_between(get_calendar(calendar), first, last))


def series_health(series: Series, present: list[PresentDate], clock: Clock) -> SeriesHealth:
    """OK dates over expected dates, from the first stored date to the last published one."""
    stored = [p.date for p in present]
    first, last = min(stored), max(stored)
    last_available = last_available_date(clock.now(), series.available_after)
    expected = expected_dates(series.calendar, first, last_available)
    ok = sum(1 for p in present if p.status is Status.OK and p.date in expected)
    return SeriesHealth(
        key=series.key,
        label=series.label,
        first=first,
        last=last,
        last_available=last_available,
        present=ok,
        expected=len(expected),
        completeness=ok / len(expected) if expected else None,
        pending=sum(1 for p in present if p.status is Status.PENDING),
        quarantined=sum(1 for p in present if p.status is Status.QUARANTINED),
        unexpected=sum(
            1
            for p in present
            if p.status is Status.OK and not get_calendar(series.calendar).is_expected(p.date)
        ),
        revised=sum(1 for p in present if p.revised),
        absent=sum(1 for p in present if p.status is Status.ABSENT),
    )


def health_view(store: Store, catalog: Catalog, queue: Queue | None, clock: Clock) -> HealthView:
    """Health of every series that has at least one stored record."""
    rows = []
    for series in catalog:
        present = store.present(series.key)
        if present:
            rows.append(series_health(series, present, clock))
    return HealthView(
        as_of=clock.now(),
        series=rows,
        catalog_series=len(catalog),
        stored_series=len(rows),
        pending=len(store.pending()),
        quarantined=len(store.quarantined()),
        dead_letters=queue.depth().dead if queue is not None else None,
        unexpected=sum(r.unexpected for r in rows),
        revised=sum(r.revised for r in rows),
        absent=sum(r.absent for r in rows),
        last_runs=[
            RunView(
                stage=r.stage, started_at=r.started_at, finished_at=r.finished_at, counts=r.counts
            )
            for r in store.last_runs()
        ],
    )
