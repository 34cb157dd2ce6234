"""Brent in BRL's 7-day move behind a forecast is the same number in the store, /api/outlook
and `fuelpipe outlook show --json`, and the percent the Outlook page draws from it
(exp(move) - 1, to 0.1 %) is the move /api/series gives. The store is the real history as the
demo holds it at its clock (2026-06-26 18:01): Brazil's gasoline to the week of 2026-03-08,
PTAX, FRED's Brent, and BZ=F only to 2022-05-06 (the demo's snapshot window), so the move
was Brent spot's to 2026-03-06, +37.85 %: rounded to 4 decimals (0.3210) the page said
+37.9 %. With FRED's Brent read by its weekly batches the forecast's day is Monday 2026-03-09
(the Monday of the last batch out by the week's Friday publication), +22.48 %; the move the
API gives must still be the stored one to its 6 decimals (0.202744, not 0.2027)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.outlook.conftest import DATASETS, store_known
from typer.testing import CliRunner

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import load_history
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.main import cli
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.outlook import refresh_outlook

NOW = datetime(2026, 6, 26, 18, 1, tzinfo=ZoneInfo("America/Sao_Paulo"))
FUTURES = "COMMODITY#BRENT_FUTURES"
DEMO_FUTURES_END = date(2022, 5, 6)
WEEK = timedelta(days=7)


def demo_gasoline_store(db: Path) -> tuple[SqliteStore, float]:
    """The store (see the module's docstring) with Brazil's gasoline outlook made at NOW, and
    the driver move its record holds."""
    history = load_history(DATASETS, with_areas=False)
    store = SqliteStore(db, clock=FixedClock(NOW))
    store_known(store, history, ("FUEL#GASOLINE#BR", "CURRENCY#USD", "COMMODITY#BRENT"), NOW)
    store.put_records(
        [
            Record(FUTURES, d, Decimal(str(v)), Status.OK)
            for d, v in history.series[FUTURES]
            if d <= DEMO_FUTURES_END
        ]
    )
    assert refresh_outlook(store, DEFAULT_CATALOG, NOW, keys=["FUEL#GASOLINE#BR"]).made == 1
    (record,) = store.query(outlook_key("GASOLINE", "BR"))
    return store, float(record.attrs["driver_move"])


def brent_brl_change(get: Callable[..., httpx.Response], day: date) -> float:
    """Brent in BRL's change over the 7 days to ``day``, as /api/series gives its levels."""
    points = get("/api/series", params={"key": "BRENT_BRL", "start": str(day - WEEK)}).json()
    levels = {p["date"]: p["value"] for p in points["points"]}
    return float(levels[str(day)] / levels[str(day - WEEK)] - 1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path, float]]:
    """The API on the store, the store's path, and the driver move the store holds."""
    db = tmp_path_factory.mktemp("driver-move") / "store.sqlite"
    store, stored = demo_gasoline_store(db)
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0)
    with TestClient(app) as client:
        yield client, db, stored
    store.close()


def test_the_api_gives_the_stored_move_and_the_page_percent_is_brent_in_brls(served) -> None:
    client, _, stored = served
    body = client.get("/api/outlook", params={"fuel": "GASOLINE", "area": "BR"}).json()
    assert body["driver_day"] == "2026-03-09"
    assert body["driver_move"] == stored == 0.202744  # not 0.2027
    # Brent in BRL on 2026-03-09 against 2026-03-02 (the 7 days to it): 491.93 / 401.66
    change = brent_brl_change(client.get, date.fromisoformat(body["driver_day"]))
    shown = (math.exp(body["driver_move"]) - 1) * 100  # outlook.js's "Brent in BRL, last 7 days"
    assert f"{shown:.1f}" == f"{change * 100:.1f}" == "22.5"


def test_outlook_show_json_gives_the_same_move_as_the_api(served) -> None:
    client, db, stored = served
    result = CliRunner().invoke(
        cli,
        ["outlook", "show", "--fuel", "GASOLINE", "--area", "BR", "--json"],
        env={"FUELPIPE_DB": str(db)},
    )
    assert result.exit_code == 0, result.output
    (shown,) = json.loads(result.stdout)
    api = client.get("/api/outlook", params={"fuel": "GASOLINE", "area": "BR"}).json()
    assert shown["driver_move"] == api["driver_move"] == stored
