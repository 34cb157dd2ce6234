"""After `fuelpipe demo --no-serve`, every stored value equals the real file it came from.

The replay snapshot is built from files in datasets/ (scripts/build_snapshot.py); this reads
those originals (csv and openpyxl, never the adapters) and compares every value of every series
the demo stores, both ways: each real value is stored, and each stored value is a real one.
With each value it compares the figures the file publishes beside it: PTAX's buy rate; Yahoo's
open, high, low, close, adjusted close and volume; ANP's station count, minimum and maximum,
and from the ANP workbooks also the unit, standard deviation, coefficient of variation, margin
and distribution prices. The series are those of the window, except four groups that run on
past it: PTAX, FRED's Brent and ANP's weekly gasoline and ethanol by state (2024-06 to 2026-06)
to the last state week (2026-06-27), and ANP's weekly Brazil prices to their workbook's last
week (2026-03-08). The set of series compared must equal the set the demo stores, so that no
series is skipped unnoticed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import NamedTuple

import openpyxl
import pyarrow.parquet as pq
import pytest
from devtools.calendar_history import DATASETS, is_stale_bar
from devtools.snapshot.builder import DRIVERS_END
from tests.e2e.conftest import fuelpipe

from fuelpipe.domain.calendars import SAO_PAULO, last_available_date
from fuelpipe.domain.catalog import DEFAULT_CATALOG, FUEL_PRODUCTS, REGIONS, STATES
from fuelpipe.replay import SNAPSHOT_DIR

COVERAGE = json.loads((Path(SNAPSHOT_DIR) / "coverage.json").read_text())
W_START = date.fromisoformat(COVERAGE["window"]["start"])
W_END = date.fromisoformat(COVERAGE["window"]["end"])
DEMO_NOW = datetime.combine(W_END, datetime.min.time(), SAO_PAULO).replace(hour=23, minute=59)
DRIVERS_NOW = datetime.combine(DRIVERS_END, datetime.min.time(), SAO_PAULO).replace(hour=23)
"""PTAX, FRED's Brent and the weekly state series run on past the window, to the last state
week (the outlook's inputs); the weekly Brazil series too, up to their file's last week."""

Figures = dict[str, object]
"""One real day's published figures by export attribute: "value" and any others the file
carries (a Decimal, an int, a text, or None for a cell the file publishes empty)."""


class Real(NamedTuple):
    """One series' real days, as its file has them, and how to compare them."""

    days: dict[date, Figures]
    places: int | None = None
    """Decimals compared (None: exact)."""
    now: datetime = DEMO_NOW
    """The demo's clock for the series: a day is asked for once it is published by then."""


def _export(env: dict[str, str], key: str) -> dict[date, dict]:
    out = fuelpipe("export", key, "--format", "json", env=env).stdout
    return {date.fromisoformat(r["date"]): r for r in json.loads(out)}


def _rows(path: str) -> list[dict[str, str]]:
    with (DATASETS / path).open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _in_window(day: date) -> bool:
    return W_START <= day <= W_END


@pytest.fixture(scope="module")
def stored(demo_store, tmp_path_factory) -> dict[str, dict[date, dict]]:
    """Every record the demo stored, by key and date, as `fuelpipe export` gives them: read at
    once by `export --format parquet --series '*'` (the same rows; one process, not one a key)."""
    env, _, _ = demo_store
    path = tmp_path_factory.mktemp("export") / "all.parquet"
    fuelpipe("export", "--format", "parquet", "--series", "*", "--output", str(path), env=env)
    out: dict[str, dict[date, dict]] = {}
    for r in pq.read_table(path).to_pylist():
        record = {"value": r["value_text"], "status": r["status"], **json.loads(r["attributes"])}
        out.setdefault(r["key"], {})[r["date"]] = record
    return out


def _compare(stored: dict[str, dict[date, dict]], key: str, real: Real) -> int:
    """Assert the demo's OK records of ``key`` are exactly ``real``'s published days, each with
    ``real``'s figures; return how many days were compared."""
    ok = {d: r for d, r in stored.get(key, {}).items() if r["status"] == "OK"}
    days = _published(key, real)
    assert set(ok) == set(days), (key, sorted(set(ok) ^ set(days))[:10])
    for day, figures in days.items():
        for attr, want in figures.items():
            got = ok[day][attr]
            assert _same(got, want, real.places), (key, day, attr, got, want)
    return len(days)


def _published(key: str, real: Real) -> dict[date, Figures]:
    """``real``'s days published by the series' clock: only those are asked for."""
    published = last_available_date(real.now, DEFAULT_CATALOG[key].available_after)
    return {d: f for d, f in real.days.items() if d <= published}


def _same(got: object, want: object, places: int | None) -> bool:
    if not isinstance(want, Decimal) or got is None:
        return got == want
    if places is None:
        return Decimal(str(got)) == want
    return round(Decimal(str(got)), places) == round(want, places)


def _compare_all(stored: dict[str, dict[date, dict]], series: dict[str, Real]) -> int:
    return sum(_compare(stored, key, real) for key, real in series.items())


def test_brent_2022_01_03_is_stored(demo_store):
    env, _, _ = demo_store
    brent = _export(env, "COMMODITY#BRENT")
    assert brent[date(2022, 1, 3)]["value"] == "78.25"
    assert brent[date(2022, 1, 3)]["status"] == "OK"


@cache
def _ptax_and_brent() -> dict[str, Real]:
    ptax = {
        date.fromisoformat(r["data"]): {"value": Decimal(r["venda"]), "buy": Decimal(r["compra"])}
        for r in _rows("fx/strongylis__ptax.csv")
        if W_START <= date.fromisoformat(r["data"]) <= DRIVERS_END
    }
    brent = {
        date.fromisoformat(r["observation_date"]): {"value": Decimal(r["DCOILBRENTEU"])}
        for r in _rows("brent/kianezimmermann94__DCOILBRENTEU_2015-01-02_2026-05-01.csv")
        if r["DCOILBRENTEU"].strip() and date.fromisoformat(r["observation_date"]) >= W_START
    }
    assert max(brent) == date(2026, 5, 1)  # the bundled file's last real Brent spot
    return {
        "CURRENCY#USD": Real(ptax, now=DRIVERS_NOW),
        "COMMODITY#BRENT": Real(brent, now=DRIVERS_NOW),
    }


def test_every_ptax_and_brent_value_equals_the_real_file(stored):
    assert _compare_all(stored, _ptax_and_brent()) > 1000


YAHOO_FILES = {
    "STOCK#PETR3": "stocks/rowrias__PETR3.SA.csv",
    "STOCK#PRIO3": "stocks/rowrias__PRIO3.SA.csv",
    "COMMODITY#BRENT_FUTURES": "stocks/henriquebrnetto__BZ=F.csv",
    **{
        f"STOCK#{t}": f"stocks/daily-2018-2023/{t}_daily_2018-01-04_2023-12-29.csv"
        for t in ("XOM", "CVX", "BP", "SHEL", "TTE")
    },
}


def _bar(row: dict[str, str]) -> Figures:
    # Files without an Adj Close (the NYSE exports are adjusted already; a future has none)
    # publish their Close as the adjusted close, as Yahoo does.
    return {
        "value": Decimal(row["Close"]),
        "close": Decimal(row["Close"]),
        "open": Decimal(row["Open"]),
        "high": Decimal(row["High"]),
        "low": Decimal(row["Low"]),
        "adj_close": Decimal(row.get("Adj Close") or row["Close"]),
        "volume": int(Decimal(row["Volume"])),
    }


@cache
def _yahoo() -> dict[str, Real]:
    # Yahoo's JSON carries prices as floats: equal to the file's text to 6 places.
    return {
        key: Real(
            {
                date.fromisoformat(r["Date"][:10]): _bar(r)
                for r in _rows(path)
                if _in_window(date.fromisoformat(r["Date"][:10])) and not is_stale_bar(r)
            },
            places=6,
        )
        for key, path in YAHOO_FILES.items()
    }


def test_every_share_and_futures_bar_equals_the_real_file(stored):
    assert _compare_all(stored, _yahoo()) > 1500


PETR4_NOW = datetime(2025, 9, 29, 23, 0, tzinfo=SAO_PAULO)
"""PETR4's clock in the demo: its file's last day (2025-09-29), past the window."""


@cache
def _petr4() -> dict[str, Real]:
    """PETR4 comes from one yfinance export from the window's start to its end (2025-09-29),
    its prices float32 values (26.149999618530273): equal to the stored ones to 6 places."""
    bars = {
        date.fromisoformat(r["date"]): {
            "value": Decimal(r["close"]),
            "close": Decimal(r["close"]),
            "open": Decimal(r["open"]),
            "high": Decimal(r["high"]),
            "low": Decimal(r["low"]),
            "adj_close": Decimal(r["adjclose"]),
            "volume": int(Decimal(r["volume"])),
        }
        for r in _rows("stocks/sheep-farm__PETR4.SA_2021-05-19_2025-09-29.csv")
    }
    assert max(bars) == date(2025, 9, 29)
    return {"STOCK#PETR4": Real(bars, places=6, now=PETR4_NOW)}


def test_every_petr4_bar_equals_its_one_source_from_the_window_to_its_end(stored):
    assert _compare_all(stored, _petr4()) == 1091


ANP_FIGURES = {
    "value": "PREÇO MÉDIO REVENDA",
    "stations": "NÚMERO DE POSTOS PESQUISADOS",
    "unit": "UNIDADE DE MEDIDA",
    "std": "DESVIO PADRÃO REVENDA",
    "min": "PREÇO MÍNIMO REVENDA",
    "max": "PREÇO MÁXIMO REVENDA",
    "margin": "MARGEM MÉDIA REVENDA",
    "cv": "COEF DE VARIAÇÃO REVENDA",
    "dist_price": "PREÇO MÉDIO DISTRIBUIÇÃO",
    "dist_std": "DESVIO PADRÃO DISTRIBUIÇÃO",
    "dist_min": "PREÇO MÍNIMO DISTRIBUIÇÃO",
    "dist_max": "PREÇO MÁXIMO DISTRIBUIÇÃO",
    "dist_cv": "COEF DE VARIAÇÃO DISTRIBUIÇÃO",
}
"""Export attribute -> the ANP workbook column it publishes."""
ANP_UNITS = {"R$/l": "BRL/l", "R$/13kg": "BRL/13kg", "R$/m³": "BRL/m3"}


def _anp_cell(attr: str, cell: object) -> object:
    if cell == "-":  # ANP's "no figure" (margin and distribution, emptied by the 2020 survey)
        return None
    if attr == "stations":
        return cell
    if attr == "unit":
        return ANP_UNITS[str(cell)]
    assert isinstance(cell, int | float), (attr, cell)
    return Decimal(str(cell))


def _anp(
    path: str, area_col: str | None, *, monthly: bool = False, through: date = W_END
) -> dict[str, dict]:
    """Key -> {day: figures} of an ANP workbook, every period from the window's first through
    the one holding ``through`` (the window's end, or later for a file bundled past it)."""
    book = openpyxl.load_workbook(DATASETS / path, read_only=True, data_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    for row in rows:
        if row and "PRODUTO" in row:
            header = [str(c).strip() if c else "" for c in row]
            break
    col = {name: i for i, name in enumerate(header)}
    products = {label: part for part, (label, _) in FUEL_PRODUCTS.items()}
    areas = {
        "REGIÃO": {name: code for code, name in REGIONS.items()},
        "ESTADO": {name: uf for uf, (name, _) in STATES.items()},
    }
    kind = "FUEL_MONTHLY" if monthly else "FUEL"
    out: dict[str, dict[date, Figures]] = {}
    for row in rows:
        start = row[col["MÊS" if monthly else "DATA INICIAL"]]
        price = row[col[ANP_FIGURES["value"]]]
        if not isinstance(start, datetime) or not isinstance(price, int | float):
            continue
        day = start.date()
        # Every period the window touches: the week of Sunday 2021-05-16 and the month of
        # 2021-05-01 hold its first day.
        last = day.replace(day=28) + timedelta(days=4) if monthly else day + timedelta(days=6)
        if not (day <= through and last >= W_START) or row[col["PRODUTO"]] not in products:
            continue
        area = "BR" if area_col is None else areas[area_col][row[col[area_col]]]
        key = f"{kind}#{products[row[col['PRODUTO']]]}#{area}"
        out.setdefault(key, {})[day] = {
            attr: _anp_cell(attr, row[col[name]]) for attr, name in ANP_FIGURES.items()
        }
    book.close()
    return out


@cache
def _anp_workbooks() -> dict[str, Real]:
    # The adapter keeps ANP's published precision (3 decimals, 2 from May 2022).
    # Brazil's weeks run on past the window to the workbook's last (2026-03-08).
    brazil = _anp("anp/maikereis__semanal-brasil-desde-2013.xlsx", None, through=DRIVERS_END)
    assert {max(days) for days in brazil.values()} == {date(2026, 3, 8)}
    series = {
        **_anp("anp/regions/semanal-regioes-desde-2013_to2022-06.xlsx", "REGIÃO"),
        **_anp("anp/eduardoicosta__mensal-estados-desde-jan2013.xlsx", "ESTADO", monthly=True),
    }
    return {
        **{key: Real(days, places=3, now=DRIVERS_NOW) for key, days in brazil.items()},
        **{key: Real(days, places=3) for key, days in series.items()},
    }


def test_every_anp_brazil_region_and_monthly_state_figure_equals_the_real_workbook(stored):
    series = _anp_workbooks()
    assert sum(k.startswith("FUEL#") for k in series) >= 30
    assert sum(k.startswith("FUEL_MONTHLY#") for k in series) >= 150
    assert _compare_all(stored, series) > 5000
    # every Brazil week, 2021-05-16 to 2026-03-08 (LPG lacks the week of 2022-09-18)
    brazil = {k: r for k, r in series.items() if k.endswith("#BR")}
    assert sum(len(_published(k, r)) for k, r in brazil.items()) == 252 * 7 - 1


STATE_PRODUCTS = {"gasolina_c": "GASOLINE", "hidratado": "ETHANOL"}


@cache
def _anp_state_weeks() -> dict[str, Real]:
    """The weekly state values, from the CSV the snapshot's state workbook is rebuilt from
    (its price, minimum, maximum and station count; the other columns are not in it)."""
    series: dict[str, dict[date, Figures]] = {}
    for r in _rows("anp/strongylis__anp_shlp_estados.csv"):
        # The CSV dates a week by its Saturday; the store by its Sunday (DATA INICIAL).
        sunday = date.fromisoformat(r["data"]) - timedelta(days=6)
        key = f"FUEL#{STATE_PRODUCTS[r['produto']]}#{r['estado']}"
        series.setdefault(key, {})[sunday] = {
            "value": Decimal(r["preco_medio"]),
            "min": Decimal(r["preco_min"]),
            "max": Decimal(r["preco_max"]),
            "stations": int(r["n_postos"]),
        }
    return {key: Real(days, now=DRIVERS_NOW) for key, days in series.items()}


def test_every_anp_weekly_state_figure_equals_the_real_file(stored):
    series = _anp_state_weeks()
    assert len(series) == 2 * len(STATES)
    assert _compare_all(stored, series) > 5000


FAMILIES: tuple[Callable[[], dict[str, Real]], ...] = (
    _ptax_and_brent,
    _yahoo,
    _petr4,
    _anp_workbooks,
    _anp_state_weeks,
)


def test_the_series_compared_are_every_series_the_demo_stores(demo_store, stored):
    _, rows, _ = demo_store
    series = [(key, real) for family in FAMILIES for key, real in family().items()]
    assert len(series) == len({key for key, _ in series})  # no series compared twice
    # A series with a real value published by its clock; the others are asked for and have
    # nothing to store (FUEL_MONTHLY#CNG#MA: its one month in the window, 2022-04, comes out
    # after the demo's clock), so the demo, `status` and this test leave them out.
    compared = {key for key, real in series if _published(key, real)}
    assert {key for key, real in series if not _published(key, real)} == {"FUEL_MONTHLY#CNG#MA"}
    # Every key with a record is every key `status` lists.
    assert {r["key"] for r in rows} == set(stored)
    missed, extra = set(stored) - set(compared), set(compared) - set(stored)
    assert not missed and not extra, (sorted(missed), sorted(extra))


def test_no_pending_or_quarantined_record_remains_for_a_day_never_published(demo_store, stored):
    _, rows, stdout = demo_store
    assert sum(r["pending"] for r in rows) == 0, [r for r in rows if r["pending"]]
    assert sum(r["quarantined"] for r in rows) == 0
    assert "0 pending, 0 quarantined" in stdout
    # The days ANP's workbooks have without a value for an area and fuel are ABSENT, each with
    # the source's reason (e.g. CNG in the North region, ethanol in Amapá).
    absent = [r for r in rows if r["absent"]]
    assert absent
    for row in absent:
        gone = [r for r in stored[row["key"]].values() if r["status"] == "ABSENT"]
        assert len(gone) == row["absent"]
        assert all(r["reason"].startswith("anp: ") for r in gone)
