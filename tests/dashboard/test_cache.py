"""The short-lived answer cache: fresh answers after the TTL, never stale past it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from devtools.dashboard.serving import serving
from tests.dashboard.conftest import NOW

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.cache import ResponseCache
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status

USD = "/api/series?key=CURRENCY%23USD"


class ManualTimer:
    """A monotonic timer the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cached(tmp_path: Path) -> Iterator[tuple[SqliteStore, ManualTimer, str]]:
    store = SqliteStore(tmp_path / "c.sqlite", clock=FixedClock(NOW))
    store.put_records([Record("CURRENCY#USD", date(2022, 5, 2), Decimal("4.9"), Status.OK)])
    timer = ManualTimer()
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0)
    with serving(ResponseCache(app, ttl_s=30, timer=timer)) as url:
        yield store, timer, url
    store.close()


def test_answers_are_reused_until_the_ttl_then_refreshed(
    cached: tuple[SqliteStore, ManualTimer, str],
) -> None:
    store, timer, url = cached
    with httpx.Client(base_url=url) as client:
        assert len(client.get(USD).json()["points"]) == 1
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 3), Decimal("5.0"), Status.OK)])
        timer.now += 29
        hit = client.get(USD)
        assert len(hit.json()["points"]) == 1  # still the cached answer
        assert hit.headers["x-content-type-options"] == "nosniff"
        assert len(client.get(USD + "&start=2022-05-01").json()["points"]) == 2  # another query
        timer.now += 2
        assert len(client.get(USD).json()["points"]) == 2  # past the TTL: read again


def test_errors_are_not_cached(cached: tuple[SqliteStore, ManualTimer, str]) -> None:
    _, _, url = cached
    with httpx.Client(base_url=url) as client:
        assert client.get("/api/lags?fuel=NOPE").status_code == 422
        assert client.get("/api/lags?fuel=NOPE").status_code == 422
        assert client.get("/api/overview").status_code == 200
