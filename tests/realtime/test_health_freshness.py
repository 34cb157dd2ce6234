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


def test_health_shows_p50_and_p95_freshness_per_source(tmp_path) -> None:
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    clock = ManualClock(datetime(2022, 5, 2, 13, 10, tzinfo=SP))
    store = SqliteStore(tmp_path / "h.sqlite", clock=clock)
    # each PTAX close stored 1..20 minutes after 13:10 (synthetic lags, real schedule)
    days = [date(2022, 5, 2) + timedelta(days=i) for i in range(20) if i % 7 < 5]
    try:
        for minutes, day in enumerate(days, start=1):
            clock.set(usd.schedule.published_at(day) + timedelta(minutes=minutes))
            store.put_records(
                [Record(usd.key, day, Decimal("5"), Status.OK, attrs=freshness_attrs(usd, day))]
            )
        view = health_view(store, DEFAULT_CATALOG, None, clock)
    finally:
        store.close()
    (bcb,) = [f for f in view.freshness if f.source == "bcb"]
    lags = [m * 60.0 for m in range(1, len(days) + 1)]
    assert bcb.samples == len(days)
    assert bcb.p50_s == pytest.approx(statistics.median(lags))  # 8 minutes
    assert bcb.p95_s is not None and lags[-2] <= bcb.p95_s <= lags[-1]
