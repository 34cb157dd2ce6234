"""The data version is read at most once a second and once per request: a cache hit costs no
store read, a precomputed path with other parameters is looked up once per version, and a failed
version read serves what the cache holds instead of a 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.dashboard.conftest import NOW, ManualTimer

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.versions import DataVersion
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.data_version import DATA_VERSION, mark_changed

USD = "/api/series?key=CURRENCY%23USD"
OTHER_INDICES = "/api/indices?keys=CURRENCY%23USD&start=2022-01-01"


class CountingStore(SqliteStore):
    """A SQLite store that counts its meta reads by name, and can fail the version read."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, clock=FixedClock(NOW))
        self.meta_reads: list[str] = []
        self.fail_version = False

    def get_meta(self, name: str) -> str | None:
        self.meta_reads.append(name)
        if name == DATA_VERSION and self.fail_version:
            raise RuntimeError("ProvisionedThroughputExceededException")
        return super().get_meta(name)

    def versions_read(self) -> int:
        return self.meta_reads.count(DATA_VERSION)

    def views_read(self) -> int:
        return sum(name.startswith("VIEW#") for name in self.meta_reads)


@pytest.fixture
def app_on(tmp_path: Path) -> Iterator[tuple[CountingStore, ManualTimer, TestClient]]:
    """The app with its response cache on, its data version read on a hand-moved timer."""
    timer = ManualTimer()
    with CountingStore(tmp_path / "v.sqlite") as store:
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 2), Decimal("4.9"), Status.OK)])
        mark_changed(store, NOW, "fill")
        versions = DataVersion(store, timer=timer)
        app = create_app(
            store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=30, versions=versions
        )
        with TestClient(app) as client:
            yield store, timer, client


def test_cache_hits_read_the_data_version_at_most_once_a_second(
    app_on: tuple[CountingStore, ManualTimer, TestClient],
) -> None:
    store, timer, client = app_on
    first = client.get(USD)
    assert first.status_code == 200
    store.meta_reads.clear()
    for _ in range(3):  # hits within the version's second: no store read at all
        assert client.get(USD).json() == first.json()
    assert store.versions_read() == 0
    timer.now += 1
    for _ in range(3):  # a second later: one read, shared by the hits after it
        assert client.get(USD).json() == first.json()
    assert store.versions_read() == 1


def test_a_precomputed_path_with_other_parameters_reads_the_version_once(
    app_on: tuple[CountingStore, ManualTimer, TestClient],
) -> None:
    store, timer, client = app_on
    timer.now += 1  # past the version read create_app's first request may have made
    store.meta_reads.clear()
    assert client.get(OTHER_INDICES).status_code == 200  # a miss: no stored view for it
    assert (store.versions_read(), store.views_read()) == (1, 1)
    timer.now += 1
    store.meta_reads.clear()
    assert client.get(OTHER_INDICES).status_code == 200  # the cache's hit, same version
    assert (store.versions_read(), store.views_read()) == (1, 0)  # not looked up again


def test_a_failed_version_read_serves_what_the_cache_holds(
    app_on: tuple[CountingStore, ManualTimer, TestClient],
) -> None:
    store, timer, client = app_on
    first = client.get(USD)
    store.fail_version = True
    timer.now += 1
    again = client.get(USD)
    assert (again.status_code, again.json()) == (200, first.json())
    store.meta_reads.clear()
    assert client.get(USD).status_code == 200  # the failed read is not retried at once
    assert store.versions_read() == 0


def test_a_new_version_is_served_within_the_memos_second(
    app_on: tuple[CountingStore, ManualTimer, TestClient],
) -> None:
    store, timer, client = app_on
    assert len(client.get(USD).json()["points"]) == 1
    store.put_records([Record("CURRENCY#USD", date(2022, 5, 3), Decimal("5.0"), Status.OK)])
    mark_changed(store, NOW, "landing")
    timer.now += 0.999
    assert len(client.get(USD).json()["points"]) == 1  # within the bound: the cached answer
    timer.now += 0.001
    assert len(client.get(USD).json()["points"]) == 2  # 1 s after: the new data


def test_the_version_memo_reads_once_per_ttl_and_keeps_the_last_value_on_failure(
    tmp_path: Path,
) -> None:
    store = CountingStore(tmp_path / "m.sqlite")
    timer = ManualTimer()
    versions = DataVersion(store, timer=timer)
    assert versions.fresh() is None
    store.fail_version = True
    with pytest.raises(RuntimeError):  # nothing read yet: nothing to fall back on
        versions.get()
    store.fail_version = False
    first = versions.get()
    assert (versions.get(), versions.fresh(), store.versions_read()) == (first, first, 2)
    new = mark_changed(store, NOW, "landing")
    timer.now += 0.5
    assert versions.get() == first
    timer.now += 0.5
    assert versions.get() == new
    store.fail_version = True
    timer.now += 1
    assert versions.get() == new  # logged, the last version served
    store.close()
