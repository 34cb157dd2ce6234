"""The pipeline-health view: completeness per stored series, retries, dead letters, last runs."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from fuelpipe.dashboard.schemas import HealthView, RunView, SeriesHealth, SourceFreshness
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.domain.completeness import completeness
from fuelpipe.domain.models import PresentDate, Status
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import Store


def series_health(series: Series, present: list[PresentDate], now: datetime) -> SeriesHealth:
    """OK dates over expected dates, from the first stored date to the last published one
    at ``now``."""
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
        pending=c.pending,
        quarantined=c.quarantined,
        unexpected=c.unexpected,
        revised=c.revised,
        absent=c.absent,
    )


FRESHNESS_SPAN = timedelta(days=35)
"""Freshness is measured on each series' newest values (five weeks: a few ANP weeks)."""


def store_lags(store: Store, series: Series, last: date) -> list[float]:
    """Seconds from publication (the record's ``published_at``) to storage (``updated_at``)."""
    lags = []
    for r in store.query(series.key, last - FRESHNESS_SPAN, last, ("attrs", "updated_at")):
        published = r.attrs.get("published_at")
        if r.status is not Status.OK or not isinstance(published, str) or r.updated_at is None:
            continue
        lags.append(max(0.0, (r.updated_at - datetime.fromisoformat(published)).total_seconds()))
    return lags


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


def health_view(
    store: Store,
    catalog: Catalog,
    queue: Queue | None,
    clock: Clock,
    series_clocks: Mapping[str, datetime] | None = None,
) -> HealthView:
    """Health of every series that has at least one stored record; ``series_clocks`` gives
    some series their own time (a demo store's: its bundled files end in different years)."""
    rows = []
    lags: dict[str, list[float]] = defaultdict(list)
    clocks = series_clocks or {}
    for series in catalog:
        present = store.present(series.key)
        if present:
            now = clocks.get(series.key) or clock.now()
            rows.append(series_health(series, present, now))
            lags[series.source] += store_lags(store, series, max(p.date for p in present))
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
        freshness=freshness_by_source(lags),
    )
