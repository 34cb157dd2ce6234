"""Fill a store from the real files in datasets/ (what `fuelpipe demo` would store).

A plain module, not a conftest, so the browser tests and bench/bench_dashboard.py load it too.
Replace ``real_records`` by the pipeline's output once the demo writes a store.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import openpyxl

from devtools.datasets import DATASETS
from fuelpipe.domain.catalog import FUEL_PRODUCTS, REGIONS
from fuelpipe.domain.keys import commodity_key, currency_key, fuel_key, stock_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Store

DATA = DATASETS  # committed with the repository (datasets/MANIFEST.md)
WINDOW = (date(2021, 5, 19), date(2022, 5, 7))
FIRST_WEEK = date(2021, 5, 16)  # the Sunday of WINDOW[0]'s survey week
PRODUCT_BY_LABEL = {label: key for key, (label, _) in FUEL_PRODUCTS.items()}
REGION_BY_NAME = {name: code for code, name in REGIONS.items()}
STATE_PRODUCTS = {"gasolina_c": "GASOLINE", "hidratado": "ETHANOL"}


def _ok(key: str, day: date, value: str | float) -> Record:
    return Record(key=key, date=day, value=Decimal(str(value)), status=Status.OK)


def _in_window(day: date) -> bool:
    return WINDOW[0] <= day <= WINDOW[1]


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def daily_records() -> Iterator[Record]:
    """PTAX USD sell, Brent spot and PETR4 close inside the window."""
    for row in _csv_rows(DATA / "fx" / "strongylis__ptax.csv"):
        day = date.fromisoformat(row["data"])
        if _in_window(day):
            yield _ok(currency_key("USD"), day, row["venda"])
    for row in _csv_rows(DATA / "brent" / "jackthompsondb__DCOILBRENTEU.csv"):
        day = date.fromisoformat(row["observation_date"])
        if _in_window(day) and row["DCOILBRENTEU"].strip():  # FRED leaves holidays empty
            yield _ok(commodity_key("BRENT"), day, row["DCOILBRENTEU"])
    for row in _csv_rows(DATA / "stocks" / "henriquebrnetto__PETR4.SA.csv"):
        day = date.fromisoformat(row["Date"])
        if _in_window(day):
            yield _ok(stock_key("PETR4"), day, row["Close"])


def _anp_rows(path: Path, header: str = "DATA INICIAL") -> Iterator[dict[str, object]]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        columns: list[str] | None = None
        for row in wb.worksheets[0].iter_rows(values_only=True):
            if columns is None:
                if row and row[0] == header:
                    columns = [str(c) for c in row]
                continue
            yield dict(zip(columns, row, strict=False))
    finally:
        wb.close()


def anp_weekly_records() -> Iterator[Record]:
    """ANP weekly averages for Brazil and the five regions, keyed by DATA INICIAL (Sunday)."""
    sources = [
        (DATA / "anp" / "maikereis__semanal-brasil-desde-2013.xlsx", None),
        (DATA / "anp" / "regions" / "semanal-regioes-desde-2013_to2022-06.xlsx", "REGIÃO"),
    ]
    for path, area_column in sources:
        for row in _anp_rows(path):
            start, price = row["DATA INICIAL"], row["PREÇO MÉDIO REVENDA"]
            if not isinstance(start, datetime) or not isinstance(price, int | float):
                continue  # '-' marks a missing price
            day = start.date()
            if not FIRST_WEEK <= day <= WINDOW[1]:
                continue
            area = REGION_BY_NAME[str(row[area_column])] if area_column else "BR"
            yield _ok(fuel_key(PRODUCT_BY_LABEL[str(row["PRODUTO"])], area), day, price)


def anp_state_records() -> Iterator[Record]:
    """Weekly state gasoline and ethanol; the file's date is the week's Saturday."""
    for row in _csv_rows(DATA / "anp" / "strongylis__anp_shlp_estados.csv"):
        if row["produto"] not in STATE_PRODUCTS:
            continue
        if row["preco_medio"].strip():
            day = date.fromisoformat(row["data"]) - timedelta(days=6)
            yield _ok(
                fuel_key(STATE_PRODUCTS[row["produto"]], row["estado"]), day, row["preco_medio"]
            )


@cache
def real_records() -> tuple[Record, ...]:
    """Every record of the demo window, parsed once per process."""
    return (*daily_records(), *anp_weekly_records(), *anp_state_records())


def fill_store(store: Store) -> int:
    """Write the real records into a store; returns how many."""
    return store.put_records(list(real_records()))
