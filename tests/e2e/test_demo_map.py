"""The demo's Map view: the states' layer by default, and weeks where Brazil sits beside it.

The map's default week is the states' last (2026-06-21). Brazil's weeks stopped with the
snapshot window (2022-05-01) while the states' run 2024-06 … 2026-06, so no week had both:
the bar chart of areas never had Brazil beside a state. Brazil's real weeks now reach the
bundled workbook's last (2026-03-08): from 2024-06 to then a week has Brazil and all 27
states. The regions' real file ends with the window.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.instants import SAO_PAULO

DEMO_NOW = datetime(2022, 5, 7, 23, 59, tzinfo=SAO_PAULO)
"""The clock the demo stamps on its store, which `fuelpipe dashboard` then runs at."""


@pytest.fixture(scope="module")
def client(demo_store):
    env, _, _ = demo_store
    store = SqliteStore(Path(env["FUELPIPE_DB"]), clock=FixedClock(DEMO_NOW))
    with TestClient(create_app(store, DEFAULT_CATALOG, clock=FixedClock(DEMO_NOW))) as http:
        yield http
    store.close()


def _levels(body: dict) -> Counter:
    return Counter(area["level"] for area in body["areas"])


def test_the_default_week_shows_the_states(client) -> None:
    body = client.get("/api/regional", params={"fuel": "GASOLINE"}).json()
    assert body["week"] == "2026-06-21"  # the states' last week
    assert _levels(body)["STATE"] == 27


def test_brazil_sits_beside_the_states_up_to_its_last_week(client) -> None:
    assert client.get("/api/meta").json()["latest"] == "2026-03-08"  # Brazil's newest week
    for week in ("2024-06-23", "2025-07-06", "2026-03-08"):
        body = client.get("/api/regional", params={"fuel": "GASOLINE", "week": week}).json()
        assert _levels(body) == Counter({"STATE": 27, "BR": 1}), week
    after = client.get("/api/regional", params={"fuel": "GASOLINE", "week": "2026-03-15"})
    assert _levels(after.json()) == Counter({"STATE": 27})  # past Brazil's file


def test_a_fuel_without_state_weeks_shows_brazil_and_the_regions_of_the_window(client) -> None:
    body = client.get("/api/regional", params={"fuel": "DIESEL"}).json()
    assert body["week"] == "2022-05-01"  # the regions' last (their file ends with the window)
    assert _levels(body) == Counter({"REGION": 5, "BR": 1})
