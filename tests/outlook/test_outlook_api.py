"""The Outlook API over a real store: the nowcast, its accuracy and verdict, the map, CSV, 422s."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from tests.outlook.conftest import store_known

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.backtest import score, walk_forward
from fuelpipe.outlook.params import Params
from fuelpipe.outlook.series import known_at
from fuelpipe.stages.outlook import refresh_outlook

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2025, 6, 18, 12, 0, tzinfo=SP)
KEYS = ("FUEL#LPG#BR", "CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")


@pytest.fixture(scope="module")
def client(tmp_path_factory, history):
    store = SqliteStore(tmp_path_factory.mktemp("api") / "store.sqlite")
    store_known(store, history, KEYS, NOW)
    refresh_outlook(store, DEFAULT_CATALOG, NOW, keys=["FUEL#LPG#BR"])
    with TestClient(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0)) as c:
        yield c
    store.close()


def test_outlook_answers_the_nowcast_and_says_when_it_does_not_beat_no_change(client):
    body = client.get("/api/outlook", params={"fuel": "LPG", "area": "BR"}).json()
    assert body["available"] and body["unit"] == "BRL/13kg"
    assert body["last_week"] == "2025-06-08"
    assert [s["horizon"] for s in body["steps"]] == [1, 2, 3, 4, 5]
    assert [a["horizon"] for a in body["accuracy"]] == [1, 2, 3, 4, 5]
    one = body["accuracy"][0]
    assert body["verdict"] == ("beats" if one["ratio"] < 1 else "does_not_beat")
    assert one["n"] >= 150  # three years of forecast weeks


def test_the_leave_one_out_threshold_is_the_models_setting_in_the_answer_and_its_schema(client):
    """The bands' description said "fewer than 20" as fixed text, and the page's note "too few":
    both now read ``Params.least_errors``, which the answer serves (``least_errors``) and its
    CSV gives on every week's row, after ``bands`` (every older column keeps its place)."""
    least = Params().least_errors
    body = client.get("/api/outlook", params={"fuel": "LPG", "area": "BR"}).json()
    assert body["least_errors"] == least
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    bands = schemas["StepOut"]["properties"]["bands"]["description"]
    assert f"fewer than {least} walk-forward errors at this horizon" in bands
    assert schemas["OutlookView"]["properties"]["least_errors"]["default"] == least
    text = client.get("/api/outlook", params={"fuel": "LPG", "area": "BR", "format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[-3:] == ["bands", "least_errors", "other_tables"]
    assert [r["least_errors"] for r in rows] == [str(least)] * 5


def test_accuracy_is_the_backtest_on_the_stores_history(client, history):
    from fuelpipe.outlook.series import Lags, inputs_for

    body = client.get("/api/outlook", params={"fuel": "LPG", "area": "BR"}).json()
    cut = {
        k: [
            (d, v)
            for d, v in history.series[k]
            if known_at(d, DEFAULT_CATALOG[k].available_after) <= NOW
        ]
        for k in KEYS
    }
    inputs = inputs_for(cut, "FUEL#LPG#BR", usd_key=KEYS[1], brent_key=KEYS[2], futures_key=KEYS[3])
    start = datetime.fromisoformat(body["accuracy_from"]).date()
    one = score(walk_forward(inputs, start, lags=Lags.from_catalog(DEFAULT_CATALOG))[1])[0]
    assert body["accuracy"][0]["mae"] == pytest.approx(one.mae, abs=1e-4)
    assert body["accuracy"][0]["naive_mae"] == pytest.approx(one.naive_mae, abs=1e-4)


def test_outlook_csv_has_one_row_per_forecast_week(client):
    r = client.get("/api/outlook", params={"fuel": "LPG", "area": "BR", "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["horizon"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert all(float(row["lo95"]) <= float(row["point"]) <= float(row["hi95"]) for row in rows)


def test_a_fuel_without_an_outlook_is_not_an_error(client):
    body = client.get("/api/outlook", params={"fuel": "CNG", "area": "SP"}).json()
    assert body["available"] is False and body["steps"] == [] and body["verdict"] == "unknown"


def test_the_map_lists_states_with_an_outlook_only(client):
    body = client.get("/api/outlook/map", params={"fuel": "LPG"}).json()
    assert body == {
        "fuel": "LPG",
        "horizon": 2,
        "states": [],
        "behind": [],
        "min_scored_weeks": 12,
        "verdict_p": 0.05,
    }


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"fuel": "KEROSENE"}, "fuel: unknown fuel 'KEROSENE': use one of GASOLINE, "),
        ({"fuel": "LPG", "area": "XX"}, "area: unknown area 'XX': use BR, a region "),
    ],
)
def test_bad_parameters_are_422(client, params, named):
    # refused for the parameter given wrong, named in the detail, not for another reason
    r = client.get("/api/outlook", params=params)
    assert r.status_code == 422
    assert r.json()["detail"].startswith(named)
    assert [e["loc"] for e in r.json()["errors"]] == [["query", named.split(":")[0]]]


def test_a_horizon_outside_one_to_five_is_422(client):
    r = client.get("/api/outlook/map", params={"fuel": "LPG", "horizon": 9})
    assert r.status_code == 422 and "horizon" in r.json()["detail"]


def test_every_driver_of_the_real_history_is_current(client):
    """The bundled FRED Brent runs to 2026-05-01, PTAX and BZ=F to 2026-07: none is stale at
    this forecast, and none is dropped (tests/outlook/test_outlook_stale.py names a Brent
    stopped on a store, kept where BZ=F carries it and dropped where nothing does)."""
    body = client.get("/api/outlook", params={"fuel": "LPG", "area": "BR"}).json()
    assert body["stale_drivers"] == []
    assert body["drivers_dropped"] is False
