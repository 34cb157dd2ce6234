"""The stored forecast names the horizons whose bands are the leave-one-out residuals'.

Brazil's and the regions' bands come from the model's own walk-forward errors, but a horizon
with fewer than ``Params.least_errors`` of them (a series' first weeks of forecasts) falls back
to the regression's leave-one-out residuals. Nothing said which: no stored field, nothing in
``/api/outlook``, its CSV, the page or ``fuelpipe outlook show``. On the REAL bundled Brazil
gasoline, the forecast from 2014-12-07 has no walk-forward error at any horizon yet (its first
forecasts are from 2014-07), the one from 2014-12-21 has 20 at one and two weeks only, and
the ones from 2015-01-11 on have 20 at every horizon.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import History
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.main import cli
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import outlook_key
from fuelpipe.outlook.forecast import Forecast, Step
from fuelpipe.outlook.model import nowcast
from fuelpipe.outlook.params import MODEL_VERSION
from fuelpipe.outlook.records import from_record, to_record
from fuelpipe.outlook.series import Lags
from fuelpipe.stages.outlook import refresh_outlook

from .conftest import bundled_inputs, store_known

SP = ZoneInfo("America/Sao_Paulo")
GASOLINE = "FUEL#GASOLINE#BR"
KEYS = (GASOLINE, "CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
MIXED = datetime(2014, 12, 29, 12, 0, tzinfo=SP)
"""After the week of 2014-12-21 was published (its Friday, 18:00), before the next."""


@pytest.mark.parametrize(
    ("as_of", "last_week", "loo"),
    [
        (datetime(2014, 12, 15, 12, 0, tzinfo=SP), date(2014, 12, 7), (1, 2, 3, 4, 5)),
        (MIXED, date(2014, 12, 21), (3, 4, 5)),
        (datetime(2015, 1, 19, 12, 0, tzinfo=SP), date(2015, 1, 11), ()),
        (datetime(2022, 3, 16, 15, 0, tzinfo=SP), date(2022, 3, 6), ()),
    ],
)
def test_the_forecast_names_its_leave_one_out_horizons(
    history: History, as_of: datetime, last_week: date, loo: tuple[int, ...]
) -> None:
    made = nowcast(bundled_inputs(history, GASOLINE), as_of, Lags.from_catalog(DEFAULT_CATALOG))
    assert made is not None and made.last_week == last_week
    assert made.loo_horizons == loo


def _forecast(loo: tuple[int, ...] | None) -> Forecast:
    """A SYNTHETIC forecast (values made up for the round trip)."""
    steps = tuple(
        Step(h, date(2024, 3, 3) + timedelta(weeks=h), 6.0, 5.9, 6.1, 5.8, 6.2) for h in range(1, 6)
    )
    return Forecast(
        datetime(2024, 3, 6, 13, 30, tzinfo=SP),
        date(2024, 3, 3),
        6.0,
        0.01,
        date(2024, 3, 5),
        steps,
        loo_horizons=loo,
    )


@pytest.mark.parametrize(("loo", "stored"), [((3, 4, 5), "3,4,5"), ((), "")])
def test_the_record_stores_and_reads_back_the_leave_one_out_horizons(
    loo: tuple[int, ...], stored: str
) -> None:
    record = to_record("OUTLOOK#GASOLINE#BR", _forecast(loo))
    assert record.attrs["loo_bands"] == stored
    assert from_record(record).forecast.loo_horizons == loo


def test_a_record_stored_before_it_was_recorded_reads_as_not_known() -> None:
    record = to_record("OUTLOOK#GASOLINE#BR", _forecast(()))
    older = record.with_(attrs={k: v for k, v in record.attrs.items() if k != "loo_bands"})
    assert from_record(older).forecast.loo_horizons is None


@pytest.fixture(scope="module")
def mixed_store(tmp_path_factory: pytest.TempPathFactory, history: History):
    """A store of Brazil's real gasoline and drivers as known at MIXED, its outlook refreshed."""
    db = tmp_path_factory.mktemp("loo") / "store.sqlite"
    store = SqliteStore(db)
    store_known(store, history, KEYS, MIXED)
    assert refresh_outlook(store, DEFAULT_CATALOG, MIXED, keys=[GASOLINE]).made == 1
    (record,) = store.query(outlook_key("GASOLINE", "BR"))
    assert record.attrs["loo_bands"] == "3,4,5"
    yield store, db
    store.close()


def test_a_forecast_stored_by_the_version_before_is_redone_with_them(
    history: History, tmp_path
) -> None:
    """Model version 9 stored no ``loo_bands``: the version moved, so the first refresh after
    the upgrade redoes such a forecast (the same numbers) and it names them."""
    store = SqliteStore(tmp_path / "store.sqlite")
    store_known(store, history, KEYS, MIXED)
    refresh_outlook(store, DEFAULT_CATALOG, MIXED, keys=[GASOLINE])
    (new,) = store.query(outlook_key("GASOLINE", "BR"))
    mark = str(new.attrs["inputs"])
    assert f";model={MODEL_VERSION};" in mark
    attrs = {k: v for k, v in new.attrs.items() if k != "loo_bands"}
    attrs["inputs"] = mark.replace(f";model={MODEL_VERSION};", ";model=9;")
    store.put_records([new.with_(attrs=attrs)])
    assert refresh_outlook(store, DEFAULT_CATALOG, MIXED, keys=[GASOLINE]).made == 1
    (again,) = store.query(outlook_key("GASOLINE", "BR"))
    assert again.attrs["loo_bands"] == "3,4,5"
    assert (again.value, again.attrs["hi95_5"]) == (new.value, new.attrs["hi95_5"])
    store.close()


def test_the_api_and_its_csv_say_where_each_steps_bands_come_from(mixed_store) -> None:
    store, _ = mixed_store
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(MIXED), cache_ttl_s=0)
    with TestClient(app) as client:
        params = {"fuel": "GASOLINE", "area": "BR"}
        body = client.get("/api/outlook", params=params).json()
        got = [(s["horizon"], s["bands"]) for s in body["steps"]]
        csv_text = client.get("/api/outlook", params={**params, "format": "csv"}).text
    walked, loo = "walk_forward", "leave_one_out"
    assert got == [(1, walked), (2, walked), (3, loo), (4, loo), (5, loo)]
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [(r["horizon"], r["bands"]) for r in rows] == [(str(h), b) for h, b in got]


def test_outlook_show_says_which_bands_are_leave_one_out(mixed_store) -> None:
    _, db = mixed_store
    env = {"FUELPIPE_DB": str(db), "COLUMNS": "200"}
    shown = CliRunner().invoke(cli, ["outlook", "show", "--fuel", "GASOLINE", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    (row,) = json.loads(shown.stdout)
    assert [s["bands"] for s in row["steps"]] == ["walk_forward"] * 2 + ["leave_one_out"] * 3
    table = CliRunner().invoke(cli, ["outlook", "show", "--fuel", "GASOLINE"], env=env)
    assert table.exit_code == 0, table.output
    assert (
        "note: GASOLINE: the bands at 3, 4 and 5 weeks ahead are from the regression's "
        "leave-one-out residuals: fewer than 20 of the model's own walk-forward errors there "
        "yet (the other horizons' are from those)"
    ) in " ".join(table.output.split())


def test_a_forecast_with_every_band_from_its_errors_has_no_note(mixed_store, tmp_path) -> None:
    db = tmp_path / "store.sqlite"
    store = SqliteStore(db)
    record = to_record(outlook_key("GASOLINE", "BR"), _forecast(()))
    store.put_records([record.with_(value=Decimal("6.0"))])
    store.close()
    env = {"FUELPIPE_DB": str(db), "COLUMNS": "200"}
    table = CliRunner().invoke(cli, ["outlook", "show", "--fuel", "GASOLINE"], env=env)
    assert table.exit_code == 0, table.output
    assert "leave-one-out" not in table.output
