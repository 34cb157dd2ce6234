"""The pipeline-health view: completeness per stored series, retries, dead letters, last runs."""

from __future__ import annotations

from fuelpipe.dashboard.schemas import HealthView, RunView, SeriesHealth
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.domain.completeness import completeness
from fuelpipe.domain.models import PresentDate
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import Store


def series_health(series: Series, present: list[PresentDate], clock: Clock) -> SeriesHealth:
    """OK dates over expected dates, from the first stored date to the last published one."""
    c = completeness(series, present, clock.now())
    return SeriesHealth(
        key=series.key,
        label=series.label,
        first=c.first,
        last=c.last,
        last_available=c.last_available,
        present=c.ok_expected,
        expected=c.expected,
        completeness=c.ratio,
        pending=c.pending,
        quarantined=c.quarantined,
        unexpected=c.unexpected,
        revised=c.revised,
        absent=c.absent,
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
