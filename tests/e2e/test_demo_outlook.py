"""The demo's state outlook says what it is: no change, because Brazil's series ends first.

A state's forecast is its last price moved by Brazil's forecast change from the same week; the
demo stores Brazil's real weeks from the snapshot window's first to the bundled workbook's last
(2021-05 → 2026-03-08) and the states' from 2024-06 to 2026-06, so Brazil has no forecast from
the states' last week (2026-06-21) and every state's current forecast is the no-change
fallback. The states' earlier weeks up to 2026-03 had Brazil's forecasts: their scored
forecasts are the model's, the later ones no change, too few of the model's for a verdict. Its
FRED Brent ends on 2026-05-01 (before the states' last weeks) and its BZ=F with the window, so
both Brent drivers are stale for the states; no-change uses neither. The API, the CLI and the accuracy must say so (a reviewer found them
saying "driver kept" and "no change vs no change: ratio 1.0").
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG, STATES
from fuelpipe.domain.instants import SAO_PAULO

from .conftest import fuelpipe

NOW = datetime(2026, 6, 27, 12, 0, tzinfo=SAO_PAULO)


@pytest.fixture(scope="module")
def demo_api(demo_store):
    env, _, _ = demo_store
    store = SqliteStore(Path(env["FUELPIPE_DB"]), clock=FixedClock(NOW))
    brazil = [r.date for r in store.query("FUEL#GASOLINE#BR") if r.value is not None]
    with TestClient(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as client:
        yield client, brazil[-1]
    store.close()


def test_the_api_marks_a_demo_states_forecast_as_the_no_change_fallback(demo_api) -> None:
    client, brazil_last = demo_api
    assert brazil_last == date(2026, 3, 8)  # the bundled Brazil workbook's last week
    body = client.get("/api/outlook", params={"fuel": "GASOLINE", "area": "SP"}).json()
    assert body["available"] and body["last_week"] == "2026-06-21"
    assert body["method"] == "no_change"
    assert body["no_change_reason"] == "national_ends_before"
    assert body["national_last_week"] == brazil_last.isoformat()
    assert [s["point"] for s in body["steps"]] == [body["last_price"]] * 5
    # Both Brent drivers are stale, and the no-change forecast uses neither: not "kept".
    assert {d["driver"] for d in body["stale_drivers"]} == {"brent", "futures"}
    assert body["drivers_dropped"] is True
    # The forecasts scored from weeks Brazil has (to 2026-03) were the model's, the later ones
    # no change: a ratio over both, but too few of the model's own weeks for a verdict.
    assert [a["horizon"] for a in body["accuracy"]] == [1, 2, 3, 4, 5]
    for a in body["accuracy"]:
        assert 0 < a["no_change_n"] < a["n"]
        assert a["ratio"] is not None and a["mae"] != a["naive_mae"]
    one = body["accuracy"][0]
    assert one["n"] - one["no_change_n"] < body["min_scored_weeks"]
    assert body["verdict"] == "unknown"


def test_the_map_marks_every_demo_state_no_change_without_a_verdict(demo_api) -> None:
    client, _ = demo_api
    body = client.get("/api/outlook/map", params={"fuel": "ETHANOL"}).json()
    assert sorted(s["area"] for s in body["states"]) == sorted(STATES)
    for s in body["states"]:
        assert (s["method"], s["no_change_reason"]) == ("no_change", "national_ends_before")
        assert s["change"] == 0.0 and s["point"] == s["last_price"]
        # too few of the model's own scored weeks (those with Brazil's forecast) for a verdict
        assert s["verdict"] in ("unknown", "not_applicable"), s
    assert sum(s["verdict"] == "unknown" for s in body["states"]) > len(STATES) // 2
    text = client.get("/api/outlook/map", params={"fuel": "ETHANOL", "format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(STATES)
    assert {(r["method"], r["no_change_reason"]) for r in rows} == {
        ("no_change", "national_ends_before")
    }
    assert {r["verdict"] for r in rows} <= {"unknown", "not_applicable"}


def test_the_demo_forecasts_brazil_from_its_last_real_week(demo_api) -> None:
    """Brazil's real weeks now reach 2026-03: its own forecast is the model's, fitted with
    Brent in BRL (FRED's Brent spot is bundled to 2026-05-01; only BZ=F is stale), scored over
    its backtest. Before, the bundled Brent ended in 2024-12 and the model dropped it."""
    client, brazil_last = demo_api
    body = client.get("/api/outlook", params={"fuel": "GASOLINE", "area": "BR"}).json()
    assert body["available"] and body["method"] == "model"
    assert body["last_week"] == brazil_last.isoformat() == "2026-03-08"
    assert [d["driver"] for d in body["stale_drivers"]] == ["futures"]
    assert body["drivers_dropped"] is False
    assert body["driver_day"] == "2026-03-09"  # to the Monday of FRED's last weekly batch out
    one = body["accuracy"][0]
    assert one["no_change_n"] == 0 and one["n"] >= body["min_scored_weeks"]
    # The honest answer on these real weeks (2023-03 .. 2026-03): gasoline's model does not
    # beat no change (MAE ratio about 1.4).
    assert one["ratio"] > 1 and body["verdict"] == "does_not_beat"


def test_outlook_show_notes_the_no_change_fallback_and_no_driver_kept(demo_store) -> None:
    env, _, _ = demo_store
    out = fuelpipe("outlook", "show", "--area", "SP", env=env).stdout
    text = " ".join(out.split())  # the console wraps long notes at its width
    notes = [f"note: {n}" for n in text.split(" note: ")[1:] if n.startswith("GASOLINE")]
    assert notes == [
        "note: GASOLINE: no change: a state's forecast is its last price moved by Brazil's "
        "forecast change from the week of 2026-06-21, and Brazil's GASOLINE series stored here "
        "ends in the week of 2026-03-08, before that week; so the forecast is the last price at "
        "every week (no model forecast, no driver used)",
        # the verdict the Outlook view gives beside it: too few of the model's own weeks
        "note: GASOLINE: no verdict on the model yet: 8 scored 1-week forecasts here, 12 needed",
    ]
    # the stale drivers' notes, once for both fuels shown (GASOLINE and ETHANOL)
    assert (
        "note: both fuels: brent has no value after 2026-05-01 (not used: the forecast is no change)"
        in text
    )
    assert (
        "note: both fuels: futures has no value after 2022-05-06 (not used: the forecast is no change)"
        in text
    )
    assert "driver kept" not in out


@pytest.mark.parametrize("area", ["BR", "SP"])
def test_outlook_show_json_gives_the_apis_fields_in_the_apis_shapes(demo_api, demo_store, area):
    """`outlook show --json` gave ``stale_drivers`` as ``{"futures": "2022-05-06"}`` where
    /api/outlook gives ``[{"driver", "key", "last_day"}]``, and no ``unit``, ``driver_day``,
    ``verdict`` or ``accuracy``: every field it gives is the API's, named and valued as the
    API's (``as_of`` the same instant, in UTC), the verdict and the backtest among them."""
    client, _ = demo_api
    env, _, _ = demo_store
    shown = json.loads(
        fuelpipe("outlook", "show", "-f", "GASOLINE", "-a", area, "--json", env=env).stdout
    )
    (row,) = shown
    body = client.get("/api/outlook", params={"fuel": "GASOLINE", "area": area}).json()
    assert {"unit", "driver_day", "stale_drivers", "verdict", "accuracy", "accuracy_from"} <= set(
        row
    )
    assert set(row) <= set(body)
    assert datetime.fromisoformat(row.pop("as_of")) == datetime.fromisoformat(body["as_of"])
    assert {k: body[k] for k in row} == row
    assert row["verdict"] == ("does_not_beat" if area == "BR" else "unknown")


def test_outlook_show_says_under_the_table_whether_the_model_beats_no_change(demo_store) -> None:
    """The table gave a forecast with no word on whether the model beats the no-change
    forecast on this store's history; the note under it says so, in the API's verdict."""
    env, _, _ = demo_store
    out = fuelpipe("outlook", "show", "--fuel", "GASOLINE,ETHANOL", env=env).stdout
    text = " ".join(out.split())
    body = json.loads(fuelpipe("outlook", "show", "-f", "GASOLINE", "--json", env=env).stdout)[0]
    one = body["accuracy"][0]
    assert (
        "note: GASOLINE: the model does NOT beat the no-change forecast here: its 1-week MAE was "
        f"{one['ratio']:.0%} of no-change's over {one['n']} scored 1-week forecasts since "
        f"{one['first_week']} (Diebold-Mariano p = {one['dm_p']:.2f})"
    ) in text
    assert "note: ETHANOL: no clear difference from the no-change forecast here:" in text
