"""The outlook's accuracy is computed once per data version: a repeated state request reads no
other state's series, the pooled panel walks from the accuracy window only (the same scored
weeks as the walk over every era), and its caches are safe to share between threads."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from tests.dashboard.conftest import ManualTimer
from tests.outlook.conftest import store_known

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import load_history
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.areas import STATE_CODES
from fuelpipe.dashboard.outlook_views import (
    MAP_HORIZON,
    LockedCache,
    PanelCache,
    panel_scored,
)
from fuelpipe.dashboard.precomputed import refresh_views
from fuelpipe.dashboard.versions import DataVersion
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Status
from fuelpipe.outlook.accuracy import accuracy_start, drivers_once, states_once
from fuelpipe.outlook.backtest import walk_forward_panel
from fuelpipe.outlook.series import Lags
from fuelpipe.outlook.series import Series as Points
from fuelpipe.stages.data_version import data_version, mark_changed
from fuelpipe.stages.outlook import refresh_outlook

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
NOW = datetime(2026, 6, 27, 12, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
DRIVERS = ("CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
STATES = ("SP", "RJ", "AC")
FUELS = tuple(f"FUEL#GASOLINE#{uf}" for uf in STATES)


class CountingStore(SqliteStore):
    """A SQLite store that records the keys it is queried for."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, clock=FixedClock(NOW))
        self.queried: list[str] = []

    def query(self, key: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        self.queried.append(key)
        return super().query(key, *args, **kwargs)  # type: ignore[arg-type]

    def fuel_reads(self) -> list[str]:
        return [k for k in self.queried if k.startswith("FUEL#")]


@pytest.fixture(scope="module")
def states_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingStore]:
    """Three states' real gasoline and the drivers, as known at NOW, with their outlooks."""
    history = load_history(DATASETS)
    with CountingStore(tmp_path_factory.mktemp("reads") / "s.sqlite") as store:
        store_known(store, history, (*FUELS, *DRIVERS), NOW)
        refresh_outlook(store, DEFAULT_CATALOG, NOW, keys=list(FUELS))
        mark_changed(store, NOW, "fill")
        yield store


def test_a_repeated_state_request_reads_no_other_states_series(
    states_store: CountingStore,
) -> None:
    timer = ManualTimer()
    versions = DataVersion(states_store, timer=timer)
    app = create_app(
        states_store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, versions=versions
    )
    sp = {"fuel": "GASOLINE", "area": "SP"}
    with TestClient(app) as client:
        states_store.queried.clear()
        first = client.get("/api/outlook", params=sp).json()
        # A miss: its weeks for the chart, its own history for its published weeks, every
        # state and Brazil for the backtest.
        everyone = [
            "FUEL#GASOLINE#SP",
            "FUEL#GASOLINE#SP",
            *(f"FUEL#GASOLINE#{uf}" for uf in STATE_CODES),
            "FUEL#GASOLINE#BR",
        ]
        assert first["accuracy"] and sorted(states_store.fuel_reads()) == sorted(everyone)
        for _ in range(2):
            timer.now += 1  # a new version read each time, the same version
            states_store.queried.clear()
            assert client.get("/api/outlook", params=sp).json() == first
            assert states_store.fuel_reads() == ["FUEL#GASOLINE#SP"]  # its chart's weeks only
        map_params = {"fuel": "GASOLINE", "horizon": 1}
        client.get("/api/outlook/map", params=map_params)
        states_store.queried.clear()
        assert len(client.get("/api/outlook/map", params=map_params).json()["states"]) == 3
        assert states_store.fuel_reads() == []  # every state's accuracy cached at this version


def test_the_panel_walked_from_the_accuracy_window_scores_as_the_whole_walk(
    states_store: CountingStore,
) -> None:
    def points(key: str) -> list[tuple[date, float]]:
        return [
            (r.date, float(r.value))
            for r in states_store.query(key)
            if r.status is Status.OK and r.value is not None
        ]

    states = states_once(points, "GASOLINE")
    drivers = drivers_once(points)
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    served = panel_scored(PanelCache(8), DEFAULT_CATALOG, "GASOLINE", states, drivers, "v1")
    members = {uf: drivers().with_fuel(Points.of(p)) for uf, p in states().items()}
    whole = walk_forward_panel(members, lags=lags)  # every era, 2004-2019 included
    assert set(served) == set(whole) == set(STATES)
    window = min(s for s in map(accuracy_start, states().values()) if s is not None)
    assert any(s.week < window for s in whole["SP"])  # the old era is scored by the whole walk
    for uf, p in states().items():
        start = accuracy_start(p)
        assert start is not None
        want = [s for s in whole[uf] if s.week >= start]
        got = [s for s in served[uf] if s.week >= start]
        assert want and got == want, uf
        assert all(s.week >= window for s in served[uf])  # and the served walk skips it


def test_the_outlook_caches_are_safe_to_share_between_threads() -> None:
    cache: LockedCache[int] = LockedCache(2)  # tiny: nearly every put evicts

    def hammer(n: int) -> int:
        for i in range(50_000):
            key = (n * 7 + i) % 5
            cache.get(key)
            cache.put(key, i)
        return n

    # An unguarded cachetools LRUCache raises KeyError here (a get racing an eviction).
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(hammer, range(4))) == [0, 1, 2, 3]  # a thread's error re-raised


def test_the_outlook_tabs_first_requests_are_stored_views_read_no_history(
    tmp_path: Path,
) -> None:
    """The Outlook tab's first two requests (Brazil's gasoline and the states' map at the
    page's horizon) are stored with the other default views after a change: a dashboard
    process that has not computed them (a new Lambda container, the first request after a
    version move) answers them with no series read, the same bodies the routes compute."""
    history = load_history(DATASETS)
    fuels = (*FUELS, "FUEL#GASOLINE#BR")
    with CountingStore(tmp_path / "o.sqlite") as store:
        store_known(store, history, (*fuels, *DRIVERS), NOW)
        refresh_outlook(store, DEFAULT_CATALOG, NOW, keys=list(fuels))
        mark_changed(store, NOW, "fill")
        refresh_views(store, DEFAULT_CATALOG, None, FixedClock(NOW), data_version(store))
        first = {"fuel": "GASOLINE", "area": "BR"}
        on_map = {"fuel": "GASOLINE", "horizon": MAP_HORIZON}

        def answers(precompute: bool) -> tuple[dict[str, object], dict[str, object]]:
            app = create_app(
                store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, precompute=precompute
            )
            with TestClient(app) as client:
                area = client.get("/api/outlook", params=first)
                states = client.get("/api/outlook/map", params=on_map)
                assert area.status_code == states.status_code == 200
                return area.json(), states.json()

        store.queried.clear()
        area, states = answers(precompute=True)
        assert store.fuel_reads() == [] and not {*DRIVERS} & {*store.queried}
        assert area["available"] and area["accuracy"] and len(states["states"]) == 3
        assert (area, states) == answers(precompute=False)  # what the routes compute
        assert len(store.fuel_reads()) > len(STATE_CODES)  # which reads every state's history
