"""After `fuelpipe demo --no-serve`, every stored value equals the real file it came from.

The replay snapshot is built from files in datasets/ (scripts/build_snapshot.py); this reads
those originals and compares every value of every series in the demo window, both ways: each
real value is stored, and each stored value is a real one.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
from devtools.calendar_history import DATASETS, is_stale_bar
from devtools.snapshot.builder import DRIVERS_END
from tests.e2e.conftest import fuelpipe

from fuelpipe.domain.calendars import SAO_PAULO, last_available_date
from fuelpipe.domain.catalog import DEFAULT_CATALOG, FUEL_PRODUCTS, REGIONS
from fuelpipe.replay import SNAPSHOT_DIR

COVERAGE = json.loads((Path(SNAPSHOT_DIR) / "coverage.json").read_text())
W_START = date.fromisoformat(COVERAGE["window"]["start"])
W_END = date.fromisoformat(COVERAGE["window"]["end"])
DEMO_NOW = datetime.combine(W_END, datetime.min.time(), SAO_PAULO).replace(hour=23, minute=59)
DRIVERS_NOW = datetime.combine(DRIVERS_END, datetime.min.time(), SAO_PAULO).replace(hour=23)
"""PTAX and FRED's Brent run on past the window, to the last state week (the outlook's inputs)."""


def _export(env: dict[str, str], key: str) -> dict[date, dict]:
    out = fuelpipe("export", key, "--format", "json", env=env).stdout
    return {date.fromisoformat(r["date"]): r for r in json.loads(out)}


def _rows(path: str) -> list[dict[str, str]]:
    with (DATASETS / path).open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _in_window(day: date) -> bool:
    return W_START <= day <= W_END


def _compare(
    env,
    key: str,
    real: dict[date, Decimal],
    *,
    places: int | None = None,
    now: datetime = DEMO_NOW,
) -> None:
    stored = {d: r for d, r in _export(env, key).items() if r["status"] == "OK"}
    # A value is asked for only once it is published (the demo's clock is the window's end).
    published = last_available_date(now, DEFAULT_CATALOG[key].available_after)
    real = {d: v for d, v in real.items() if d <= published}
    assert real, key
    assert set(stored) == set(real), (key, sorted(set(stored) ^ set(real))[:10])
    for day, want in real.items():
        got = Decimal(stored[day]["value"])
        if places is not None:
            assert round(got, places) == round(want, places), (key, day, got, want)
        else:
            assert got == want, (key, day, got, want)


def test_brent_2022_01_03_is_stored(demo_store):
    env, _, _ = demo_store
    brent = _export(env, "COMMODITY#BRENT")
    assert brent[date(2022, 1, 3)]["value"] == "78.25"
    assert brent[date(2022, 1, 3)]["status"] == "OK"


def test_every_ptax_and_brent_value_equals_the_real_file(demo_store):
    env, _, _ = demo_store
    ptax = {
        date.fromisoformat(r["data"]): Decimal(r["venda"])
        for r in _rows("fx/strongylis__ptax.csv")
        if W_START <= date.fromisoformat(r["data"]) <= DRIVERS_END
    }
    _compare(env, "CURRENCY#USD", ptax, now=DRIVERS_NOW)
    brent = {
        date.fromisoformat(r["observation_date"]): Decimal(r["DCOILBRENTEU"])
        for r in _rows("brent/jackthompsondb__DCOILBRENTEU.csv")
        if r["DCOILBRENTEU"].strip() and date.fromisoformat(r["observation_date"]) >= W_START
    }
    assert max(brent) == date(2024, 12, 31)  # the bundled file's last real Brent spot
    _compare(env, "COMMODITY#BRENT", brent, now=DRIVERS_NOW)


YAHOO_FILES = {
    "STOCK#PETR4": "stocks/henriquebrnetto__PETR4.SA.csv",
    "STOCK#PETR3": "stocks/rowrias__PETR3.SA.csv",
    "STOCK#PRIO3": "stocks/rowrias__PRIO3.SA.csv",
    "COMMODITY#BRENT_FUTURES": "stocks/henriquebrnetto__BZ=F.csv",
    **{
        f"STOCK#{t}": f"stocks/daily-2018-2023/{t}_daily_2018-01-04_2023-12-29.csv"
        for t in ("XOM", "CVX", "BP", "SHEL", "TTE")
    },
}


def test_every_share_and_futures_close_equals_the_real_file(demo_store):
    env, _, _ = demo_store
    for key, path in YAHOO_FILES.items():
        real = {
            date.fromisoformat(r["Date"][:10]): Decimal(r["Close"])
            for r in _rows(path)
            if _in_window(date.fromisoformat(r["Date"][:10])) and not is_stale_bar(r)
        }
        # Yahoo's JSON carries the close as a float: equal to the file's text to 6 places.
        _compare(env, key, real, places=6)


def _anp(path: str, area_col: str | None) -> dict[tuple[str, str], dict[date, Decimal]]:
    book = openpyxl.load_workbook(DATASETS / path, read_only=True, data_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    for row in rows:
        if row and "PRODUTO" in row:
            header = [str(c).strip() if c else "" for c in row]
            break
    col = {name: i for i, name in enumerate(header)}
    products = {label: part for part, (label, _) in FUEL_PRODUCTS.items()}
    regions = {name: code for code, name in REGIONS.items()}
    out: dict[tuple[str, str], dict[date, Decimal]] = {}
    for row in rows:
        start, price = row[col["DATA INICIAL"]], row[col["PREÇO MÉDIO REVENDA"]]
        if not isinstance(start, datetime) or not isinstance(price, int | float):
            continue
        # Every week the window touches: the week of Sunday 2021-05-16 holds its first day.
        week = start.date(), start.date() + timedelta(days=6)
        if not (week[0] <= W_END and week[1] >= W_START) or row[col["PRODUTO"]] not in products:
            continue
        area = "BR" if area_col is None else regions[row[col[area_col]]]
        out.setdefault((products[row[col["PRODUTO"]]], area), {})[start.date()] = Decimal(
            str(price)
        )
    book.close()
    return out


def test_every_anp_weekly_brazil_and_region_value_equals_the_real_workbook(demo_store):
    env, _, _ = demo_store
    series = {
        **_anp("anp/maikereis__semanal-brasil-desde-2013.xlsx", None),
        **_anp("anp/regions/semanal-regioes-desde-2013_to2022-06.xlsx", "REGIÃO"),
    }
    assert len(series) >= 30
    for (product, area), real in series.items():
        key = f"FUEL#{product}#{area}"
        assert key in DEFAULT_CATALOG
        # The adapter keeps ANP's published precision (3 decimals, 2 from May 2022).
        _compare(env, key, real, places=3)


def test_no_pending_or_quarantined_record_remains_for_a_day_never_published(demo_store):
    env, rows, stdout = demo_store
    assert sum(r["pending"] for r in rows) == 0, [r for r in rows if r["pending"]]
    assert sum(r["quarantined"] for r in rows) == 0
    assert "0 pending, 0 quarantined" in stdout
    # The days ANP's workbooks have without a value for an area and fuel are ABSENT, each with
    # the source's reason (e.g. CNG in the North region, ethanol in Amapá).
    absent = [r for r in rows if r["absent"]]
    assert absent
    for row in absent:
        records = _export(env, row["key"])
        gone = [r for r in records.values() if r["status"] == "ABSENT"]
        assert len(gone) == row["absent"]
        assert all(r["reason"].startswith("anp: ") for r in gone)
