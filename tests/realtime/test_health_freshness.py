"""The health view's p50/p95 freshness per source: publication (schedule) to storage."""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.health import health_view
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.scrape import freshness_attrs

SP = ZoneInfo("America/Sao_Paulo")


def _put(store: SqliteStore, days: list[date]) -> None:
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    store.put_records(
        [Record(usd.key, d, Decimal("5"), Status.OK, attrs=freshness_attrs(usd, d)) for d in days]
    )


def _weekdays(start: date, count: int) -> list[date]:
    return [
        start + timedelta(days=i) for i in range(count) if (start + timedelta(days=i)).weekday() < 5
    ]


def test_health_shows_p50_and_p95_freshness_per_source(tmp_path) -> None:
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    clock = ManualClock(datetime(2022, 5, 2, 13, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "h.sqlite", clock=clock)
    # the first run backfills the two weeks before (stored at once, published days before)
    _put(store, _weekdays(date(2022, 4, 18), 14))
    # then each PTAX close stored 1..20 minutes after 13:10 (synthetic lags, real schedule)
    days = _weekdays(date(2022, 5, 2), 20)
    try:
        for minutes, day in enumerate(days, start=1):
            clock.set(usd.schedule.published_at(day) + timedelta(minutes=minutes))
            _put(store, [day])
        view = health_view(store, DEFAULT_CATALOG, None, clock)
    finally:
        store.close()
    (bcb,) = [f for f in view.freshness if f.source == "bcb"]
    lags = [m * 60.0 for m in range(1, len(days) + 1)]
    assert bcb.samples == len(days)  # the backfilled history is not counted
    assert bcb.p50_s == pytest.approx(statistics.median(lags))  # 8 minutes
    assert bcb.p95_s is not None and lags[-2] <= bcb.p95_s <= lags[-1]


def test_freshness_leaves_out_history_backfilled_at_the_start_or_later(tmp_path) -> None:
    """A first run storing five weeks at once measured ~2 weeks for PTAX (20,090 min p50),
    though each new close is stored within minutes: history is not freshness."""
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    clock = ManualClock(datetime(2022, 5, 20, 19, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "h.sqlite", clock=clock)
    try:
        _put(store, _weekdays(date(2022, 4, 15), 35))  # the first run: five weeks at once
        assert health_view(store, DEFAULT_CATALOG, None, clock).freshness[0].samples == 0
        monday = date(2022, 5, 23)
        clock.set(usd.schedule.published_at(monday) + timedelta(minutes=3))
        _put(store, [monday])
        clock.set(clock.now() + timedelta(hours=1))
        _put(store, _weekdays(date(2022, 3, 1), 30))  # older history added later
        (bcb,) = health_view(store, DEFAULT_CATALOG, None, clock).freshness
    finally:
        store.close()
    assert (bcb.samples, bcb.p50_s, bcb.p95_s) == (1, 180.0, 180.0)
