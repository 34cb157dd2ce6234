"""The Python API on both homes: the same rows as `fuelpipe export`, the dashboard's figures."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import NOW, RETRY_DAY, RETRY_KEY, Home, fill, rows

import fuelpipe
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.api import TIDY_COLUMNS
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.areas import DRIVERS, PRODUCTS

KEYS = ("CURRENCY#USD", "COMMODITY#BRENT", "FUEL#GASOLINE#SP", "FUEL#ETHANOL#REGION_NE")


def cli(home: Home, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, on the home's settings."""
    return subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", "--now", NOW.isoformat(), *args],
        env={**os.environ, **home.env},
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def test_series_rows_equal_fuelpipe_export(home: Home) -> None:
    frame = home.fp.series(list(KEYS))
    assert list(frame.columns) == list(TIDY_COLUMNS)
    for key in KEYS:
        exported = json.loads(cli(home, "export", key, "--format", "json").stdout)
        mine = rows(frame[frame["key"] == key])
        assert len(mine) == len(exported) > 0, key
        for got, want in zip(mine, exported, strict=True):
            assert got["date"].date().isoformat() == want.pop("date")
            value = want.pop("value")
            assert got["value"] == (None if value is None else float(Decimal(value)))
            assert got["value_text"] == value
            revisions = want.pop("revisions", None)
            assert (got["revisions"] and json.loads(got["revisions"])) == revisions
            assert got["status"] == want.pop("status")
            assert got["retry_count"] == want.pop("retry_count")
            assert json.loads(got["attributes"]) == want  # everything else export prints
    pending = rows(frame[(frame["key"] == RETRY_KEY) & (frame["date"] == str(RETRY_DAY))])
    assert pending[0]["status"] == "PENDING"
    assert json.loads(pending[0]["attributes"])["reason"].startswith("source returned no value")


def test_an_unknown_driver_names_the_drivers_the_dashboard_offers(embedded_home: Home) -> None:
    # fp.lags said only "series 'STOCK#NOPE' is not in the catalog".
    with pytest.raises(LookupError, match="'STOCK#NOPE' is not in the catalog") as raised:
        embedded_home.fp.lags("GASOLINE", driver="STOCK#NOPE")
    assert str(raised.value).endswith(f"choose a driver among {', '.join(DRIVERS)}")


def test_lags_and_regional_take_any_case_and_name_the_valid_fuels(embedded_home: Home) -> None:
    """Correlations took lower-case keys, lags' driver did not (NotFoundError for
    "currency#usd"); an unknown product was a bare KeyError 'PETROL' from regional and one
    naming a catalog key from lags."""
    fp = embedded_home.fp
    lower = fp.lags("gasoline", area="sp", driver="currency#usd")
    upper = fp.lags("GASOLINE", area="SP", driver="CURRENCY#USD")
    assert (lower.pump, lower.driver) == ("FUEL#GASOLINE#SP", "CURRENCY#USD")
    assert lower.best_lag == upper.best_lag and lower.cross.equals(upper.cross)
    fuels = ", ".join(PRODUCTS)
    for call in (lambda: fp.regional("petrol"), lambda: fp.lags("petrol")):
        with pytest.raises(ValueError, match="unknown fuel 'petrol'") as raised:
            call()
        assert str(raised.value).endswith(fuels)
    with pytest.raises(ValueError, match="unknown area 'XX'"):
        fp.lags("GASOLINE", area="XX")


def test_open_through_the_cli_settings_reads_the_same_store(home: Home) -> None:
    code = (
        "import sys, fuelpipe\n"
        "with fuelpipe.open(now=sys.argv[1]) as fp:\n"
        "    print(fp.series(sys.argv[2:]).to_json(orient='records', double_precision=15))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, NOW.isoformat(), *KEYS],
        env={**os.environ, **home.env},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    theirs = pd.read_json(io.StringIO(done.stdout), orient="records")
    mine = home.fp.series(list(KEYS))
    assert len(theirs) == len(mine)
    assert list(theirs["key"]) == list(mine["key"])
    # JSON carries 15 significant digits: equal to the last one
    assert theirs["value"].fillna(-1).tolist() == pytest.approx(
        mine["value"].fillna(-1).tolist(), rel=1e-14
    )


def test_parquet_export_has_the_api_columns_and_rows(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "gasoline.parquet"
    done = cli(home, "export", "--format", "parquet", "--series", "FUEL#GASOLINE#*", "-o", str(out))
    assert "series" in done.stderr
    written = pq.read_table(out)
    expected = home.fp.series("FUEL#GASOLINE#*", to="arrow")
    assert written.column_names == list(TIDY_COLUMNS)
    assert written.equals(expected)  # same schema, same rows, same order
    stored = set(pd.read_parquet(out)["key"])
    assert {"FUEL#GASOLINE#BR", "FUEL#GASOLINE#SP", "FUEL#GASOLINE#REGION_NE"} <= stored
    assert stored <= set(home.fp.keys("FUEL#GASOLINE#*"))


def test_parquet_export_without_a_file_is_one_line_exit_2(embedded_home: Home) -> None:
    done = cli(embedded_home, "export", "--format", "parquet", "-s", "FUEL#*", check=False)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "--output" in done.stderr
    unknown = cli(embedded_home, "export", "-f", "parquet", "-s", "FUEL#KEROSENE#*", "-o", "x.pq",
                  check=False)  # fmt: skip
    assert unknown.returncode == 2
    assert "matches no series" in unknown.stderr


def test_pandas_and_polars_hold_the_same_values(home: Home) -> None:
    pdf = home.fp.series("CURRENCY#USD", "2021-06-01", "2021-06-30")
    plf = home.fp.series("CURRENCY#USD", "2021-06-01", "2021-06-30", to="polars")
    assert isinstance(plf, pl.DataFrame)
    assert plf.columns == list(TIDY_COLUMNS)
    assert plf["date"].dtype == pl.Date
    assert plf["value"].to_list() == pdf["value"].tolist()
    assert [d.isoformat() for d in plf["date"].to_list()] == [
        d.date().isoformat() for d in pdf["date"]
    ]
    assert pdf["date"].min().date() >= date(2021, 6, 1)
    assert pdf["date"].max().date() <= date(2021, 6, 30)


def test_wide_frame_one_column_per_key_and_the_derived_brent_in_brl(home: Home) -> None:
    wide = home.fp.wide(
        ["COMMODITY#BRENT", "CURRENCY#USD", "BRENT_BRL"], "2022-03-01", "2022-03-31"
    )
    assert list(wide.columns) == ["date", "COMMODITY#BRENT", "CURRENCY#USD", "BRENT_BRL"]
    both = wide.dropna()
    assert len(both) > 15
    assert (both["BRENT_BRL"] - both["COMMODITY#BRENT"] * both["CURRENCY#USD"]).abs().max() < 1e-9
    weekly = home.fp.wide("FUEL#GASOLINE#BR", freq="weekly", to="polars")
    assert all(d.weekday() == 6 for d in weekly["date"].to_list())  # ANP weeks: Sundays


def test_a_frequency_or_weekly_aggregation_not_offered_is_refused_naming_them(
    embedded_home: Home,
) -> None:
    """``wide(freq="Weekly")`` (or "hourly", "W") gave daily values without a word, and
    ``how="median"`` was ignored wherever no daily series was put on weeks (``wide`` daily,
    ``indices`` of weekly fuels): each is a ValueError naming what is offered. Any case is
    taken, as the HTTP API takes it (``/api/series?freq=Weekly``)."""
    fp = embedded_home.fp
    weekly = fp.wide("CURRENCY#USD", freq="weekly", how="last")
    assert fp.wide("CURRENCY#USD", freq="Weekly", how=" LAST").equals(weekly)  # type: ignore[arg-type]
    assert len(fp.wide("CURRENCY#USD")) > len(weekly)
    for freq in ("hourly", "W", "raw"):
        with pytest.raises(ValueError, match=f"freq must be 'daily' or 'weekly', not '{freq}'"):
            fp.wide("CURRENCY#USD", freq=freq)  # type: ignore[arg-type]
    median = "how must be 'mean' or 'last', not 'median'"
    with pytest.raises(ValueError, match=median):
        fp.wide("CURRENCY#USD", how="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=median):
        fp.indices("FUEL#GASOLINE#BR", how="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=median):
        fp.correlations("FUEL#GASOLINE#BR", how="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=median):
        fp.lags(how="median")  # type: ignore[arg-type]
    from typing import get_args

    from fuelpipe.api import HOWS
    from fuelpipe.dashboard.analysis import WeeklyHow

    assert get_args(WeeklyHow) == HOWS


def test_status_and_catalog(home: Home) -> None:
    status = home.fp.status(["CURRENCY#*", "FUEL#GASOLINE#BR"])
    cli_rows = json.loads(cli(home, "status", "--json", "-s", "CURRENCY", "-s",
                              "FUEL#GASOLINE#BR").stdout)  # fmt: skip
    mine = {r["key"]: r for r in rows(status)}
    for want in cli_rows:
        got = mine[want["key"]]
        for field, value in want.items():
            # set_aside_newest: the CLI's few newest values set aside (a list); the frame
            # has each key's count, set_aside, as the CLI has
            if field not in ("key", "first", "last", "set_aside_newest"):
                assert got[field] == value, (want["key"], field)
    assert mine[RETRY_KEY]["pending"] == 1
    catalog = home.fp.catalog(to="polars")
    assert catalog.height == len(home.fp.keys())
    assert {"key", "kind", "label", "unit", "calendar"} <= set(catalog.columns)


def test_unknown_keys_and_missing_stores_are_clear_errors(home: Home, tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="matches no series"):
        home.fp.series("CURRENCY#XXX")
    # a typo is told the keys it may have meant, as the CLI tells it (it named none)
    with pytest.raises(KeyError, match=r"'CURRENCY#USX' .*; did you mean CURRENCY#USD\?"):
        home.fp.series("CURRENCY#USX")
    with pytest.raises(KeyError, match=r"did you mean FUEL#GASOLINE\?"):
        home.fp.wide("GASOLINA")
    missing = tmp_path / "nowhere.sqlite"
    with pytest.raises(FileNotFoundError, match="no fuelpipe store"):
        fuelpipe.open(db=missing)
    assert not missing.exists()  # read-only: never creates an empty store


def test_open_reads_a_store_and_writes_nothing_beside_it_or_in_it(tmp_path: Path) -> None:
    # docs/NOTEBOOK.md: fuelpipe.open() is read-only, as the CLI's reading commands: no queue file
    # beside the store, no byte of the store changed
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "fuelpipe.sqlite"
    store = SqliteStore(db, clock=FixedClock(NOW))
    fill(store)
    store.close()
    before = db.read_bytes()
    fp = fuelpipe.open(db=db, now=NOW)
    try:
        assert len(fp.series("CURRENCY#USD")) > 0
        assert len(fp.status(["CURRENCY#*"])) > 0
        fp.lags("GASOLINE", driver="BRENT_BRL")
    finally:
        fp.close()
    assert sorted(p.name for p in folder.iterdir()) == ["fuelpipe.sqlite"]
    assert db.read_bytes() == before


def test_open_refuses_an_empty_file_as_the_cli_does(tmp_path: Path) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    db.touch()
    with pytest.raises(ValueError, match="is an empty file, not a fuelpipe store"):
        fuelpipe.open(db=db)
    assert db.stat().st_size == 0  # no schema written into it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fuelpipe.sqlite"]


def test_the_analyses_equal_what_the_dashboard_serves(embedded_home: Home) -> None:
    fp = embedded_home.fp
    app = create_app(fp._app.store, fp._app.catalog, clock=FixedClock(NOW))
    with TestClient(app) as http:
        lags = http.get("/api/lags", params={"fuel": "GASOLINE"}).json()
        parity = http.get("/api/parity").json()
        regional = http.get("/api/regional", params={"fuel": "ETHANOL"}).json()
        keys = "CURRENCY#USD,BRENT_BRL,FUEL#GASOLINE#BR"
        indices = http.get("/api/indices", params={"keys": keys}).json()
        corr = http.get("/api/correlations", params={"keys": keys}).json()

    mine = fp.lags("GASOLINE")
    best = lags["best"] or {"lag": None, "r": None}
    assert mine.best_lag == best["lag"]
    assert mine.best_r == pytest.approx(best["r"])
    assert mine.regression is not None
    assert mine.regression["cumulative"] == pytest.approx(lags["regression"]["cumulative"])
    assert mine.cross["r"].tolist() == pytest.approx([c["r"] for c in lags["cross"]])

    par = rows(fp.parity())
    assert [r["area"] for r in par] == [a["area"] for a in parity["areas"]]
    assert [r["ratio"] for r in par] == pytest.approx([a["ratio"] for a in parity["areas"]])
    assert par[0]["week"].date().isoformat() == parity["week"]

    reg = rows(fp.regional("ETHANOL"))
    assert [r["price"] for r in reg] == pytest.approx([a["price"] for a in regional["areas"]])

    idx = fp.indices(keys.split(","))
    served = [p["value"] for s in indices["series"] for p in s["points"]]
    assert idx["value"].tolist() == pytest.approx(served)

    matrix = fp.correlations(keys.split(","))
    flat = [v for row in matrix.drop(columns="key").to_numpy().tolist() for v in row]
    assert flat == pytest.approx([v for row in corr["r"] for v in row], nan_ok=True)


def test_import_fuelpipe_loads_no_frame_library_until_asked(embedded_home: Home) -> None:
    code = (
        "import sys, json, fuelpipe\n"
        "heavy = ('pandas', 'polars', 'pyarrow', 'fastapi', 'plotly')\n"
        "fp = fuelpipe.open()\n"
        "before = sorted(m for m in heavy if m in sys.modules)\n"
        "fp.keys('FUEL#*')\n"
        "fp.lags('GASOLINE', to='polars'); fp.series('CURRENCY#USD', to='polars')\n"
        "after = sorted(m for m in heavy if m in sys.modules)\n"
        "print(json.dumps([before, after]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **embedded_home.env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    before, after = json.loads(done.stdout)
    assert before == []
    assert after == ["polars"]  # to="polars" loads Polars only: no pandas, no pyarrow


def test_patterns_are_globs_exact_keys_or_prefixes(embedded_home: Home) -> None:
    fp = embedded_home.fp
    regions = {f"FUEL#GASOLINE#REGION_{r}" for r in ("N", "NE", "CO", "SE", "S")}
    assert set(fp.keys("FUEL#GASOLINE#REGION_*")) == regions
    assert fp.keys("currency#usd") == ["CURRENCY#USD"]
    assert set(fp.keys("FUEL#GASOLINE")) == set(fp.keys("FUEL#GASOLINE#*"))
    assert fp.keys(["CURRENCY#USD", "CURRENCY#*"]).count("CURRENCY#USD") == 1
