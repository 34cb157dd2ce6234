"""An independent audit of the lake's answers: every figure of the analysis queries recomputed
from ANP's raw CSV (the real 2025-03-24..04-19 sample) in plain Python, not from the lake:
the file's records parsed with ``csv``, one record per (CNPJ, fuel, day), survey weeks from
Sunday to Saturday, quantiles by ``statistics`` (its ``inclusive`` method interpolates linearly
at position 1 + q·(n−1): DuckDB's ``quantile_cont``, which docs/STATIONS.md promises)."""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.lake.conftest import real_file, real_lines, set_cell

from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.domain.stations import PRODUCTS, query_params

START, END = date(2025, 3, 24), date(2025, 4, 19)
WEEKS = {date(2025, 3, 23), date(2025, 3, 30), date(2025, 4, 6), date(2025, 4, 13)}
FUELS = ("GASOLINE", "GASOLINE_PREMIUM", "ETHANOL", "LPG")


@dataclass(frozen=True, slots=True)
class Price:
    """One record of the raw file, as the audit reads it."""

    state: str
    town: str
    cnpj: str
    name: str
    fuel: str
    day: date
    price: float
    brand: str

    @property
    def week(self) -> date:
        """The Sunday opening the record's survey week (isoweekday: Monday 1 .. Sunday 7)."""
        return self.day - timedelta(days=self.day.isoweekday() % 7)


def raw_prices(group: str) -> tuple[list[Price], int]:
    """A real file's records, the first of each (CNPJ digits, fuel, day) kept, and how many
    records repeated a key."""
    text = real_file(group).decode("utf-8-sig")
    kept: dict[tuple[str, str, date], Price] = {}
    repeats = 0
    for row in csv.DictReader(io.StringIO(text), delimiter=";"):
        cnpj = "".join(c for c in row["CNPJ da Revenda"] if c.isdigit()).zfill(14)
        fuel = PRODUCTS[row["Produto"].strip().upper()]
        day = datetime.strptime(row["Data da Coleta"].strip(), "%d/%m/%Y").date()
        record = Price(
            row["Estado - Sigla"].strip(),
            row["Municipio"].strip(),
            cnpj,
            row["Revenda"].strip(),
            fuel,
            day,
            float(row["Valor de Venda"].strip().replace(",", ".")),
            row["Bandeira"].strip().upper() or "BRANCA",
        )
        repeats += (cnpj, fuel, day) in kept
        kept.setdefault((cnpj, fuel, day), record)
    return list(kept.values()), repeats


@pytest.fixture(scope="module")
def raw() -> dict[str, list[Price]]:
    """The records of the two files the lake holds, by fuel."""
    by_fuel: dict[str, list[Price]] = defaultdict(list)
    for group in ("gasolina-etanol", "glp"):
        records, repeats = raw_prices(group)
        assert repeats == 0  # ANP's sample repeats no (CNPJ, fuel, day)
        for record in records:
            by_fuel[record.fuel].append(record)
    return by_fuel


def quantiles(prices: list[float]) -> tuple[float, float, float]:
    """P10, median and P90, linear between closest ranks (position 1 + q·(n−1))."""
    if len(prices) == 1:
        return prices[0], prices[0], prices[0]
    deciles = statistics.quantiles(prices, n=10, method="inclusive")
    return deciles[0], statistics.median(prices), deciles[8]


def figures(records: list[Price]) -> dict[str, float]:
    """What every distribution query gives of a group of records; a station counted once."""
    prices = [r.price for r in records]
    p10, median, p90 = quantiles(prices)
    return {
        "stations": len({r.cnpj for r in records}),
        "observations": len(prices),
        "mean": statistics.fmean(prices),
        "median": median,
        "p10": p10,
        "p90": p90,
        "min_price": min(prices),
        "max_price": max(prices),
    }


def grouped(records: Iterable[Price], key: Callable[[Price], Hashable]) -> dict[Any, list[Price]]:
    out: dict[Any, list[Price]] = defaultdict(list)
    for r in records:
        out[key(r)].append(r)
    return out


def same(got: dict[str, Any], want: dict[str, float], label: object) -> None:
    """Each recomputed figure equal to the lake's: counts exactly, prices to float noise."""
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=0, abs=1e-9), (label, name, got[name], value)


def answer(lake: StationLake, query: str, fuel: str, **kw: str) -> list[dict[str, Any]]:
    params = query_params(fuel, START, END, kw.get("state"), kw.get("town"), kw.get("text", ""))
    return lake.query(query, params).records()


@pytest.mark.parametrize("fuel", FUELS)
def test_state_weekly_is_the_raw_file_by_state_and_survey_week(
    real_lake: StationLake, raw: dict[str, list[Price]], fuel: str
) -> None:
    want = grouped(raw[fuel], lambda r: (r.state, r.week))
    got = {(r["state"], r["week"]): r for r in answer(real_lake, "state_weekly", fuel)}
    assert set(got) == set(want)
    assert {week for _, week in want} == WEEKS
    for key, records in want.items():
        same(got[key], figures(records), key)


def test_the_quantiles_interpolate_between_prices(
    real_lake: StationLake, raw: dict[str, list[Price]]
) -> None:
    """quantile_cont, not quantile_disc: in 25 of the 108 state-weeks the P10 is no price of
    the week (quantile_disc would give one of them in all). São Paulo's first gasoline week by
    hand: P10 at position 1 + 0.1·(n−1) of the sorted prices."""
    rows = answer(real_lake, "state_weekly", "GASOLINE")
    weeks = grouped(raw["GASOLINE"], lambda r: (r.state, r.week))
    offered = {key: {r.price for r in records} for key, records in weeks.items()}
    between = [r for r in rows if r["p10"] not in offered[(r["state"], r["week"])]]
    assert (len(between), len(rows)) == (25, 108)
    ranked = sorted(r.price for r in weeks[("SP", date(2025, 3, 23))])
    position = 1 + 0.1 * (len(ranked) - 1)
    at = int(position)
    p10 = ranked[at - 1] + (position - at) * (ranked[at] - ranked[at - 1])
    (sp,) = (r for r in rows if (r["state"], r["week"]) == ("SP", date(2025, 3, 23)))
    assert sp["p10"] == pytest.approx(p10, rel=0, abs=1e-9)


@pytest.mark.parametrize("fuel", ["GASOLINE", "LPG"])
def test_municipality_weekly_is_the_raw_file_by_town_and_survey_week(
    real_lake: StationLake, raw: dict[str, list[Price]], fuel: str
) -> None:
    """Every town of Rio de Janeiro state, week by week."""
    towns = grouped((r for r in raw[fuel] if r.state == "RJ"), lambda r: r.town)
    assert len(towns) > 10
    for town, records in towns.items():
        want = grouped(records, lambda r: r.week)
        got = {
            r["week"]: r
            for r in answer(real_lake, "municipality_weekly", fuel, state="RJ", town=town)
        }
        assert set(got) == set(want), town
        for week, in_week in want.items():
            same(got[week], figures(in_week), (town, week))


@pytest.mark.parametrize("fuel", FUELS)
def test_municipality_ranking_is_the_raw_file_by_town_over_the_span(
    real_lake: StationLake, raw: dict[str, list[Price]], fuel: str
) -> None:
    """A station surveyed in each of the four weeks is one station and four prices."""
    want = {key: figures(v) for key, v in grouped(raw[fuel], lambda r: (r.state, r.town)).items()}
    rows = answer(real_lake, "municipality_ranking", fuel)
    assert [(r["state"], r["municipality"]) for r in rows] == sorted(
        want, key=lambda k: (round(want[k]["median"], 9), k)
    )
    for row in rows:
        same(row, want[(row["state"], row["municipality"])], row["municipality"])
    assert any(r["observations"] >= 4 * r["stations"] > 0 for r in rows)


@pytest.mark.parametrize("fuel", FUELS)
def test_dispersion_is_the_raw_file_nationally_by_survey_week(
    real_lake: StationLake, raw: dict[str, list[Price]], fuel: str
) -> None:
    want = grouped(raw[fuel], lambda r: r.week)
    rows = answer(real_lake, "dispersion", fuel)
    assert [r["week"] for r in rows] == sorted(want)
    for row in rows:
        records = want[row["week"]]
        expected = figures(records)
        prices = [r.price for r in records]
        expected["p90_p10"] = expected["p90"] - expected["p10"]
        expected["cv"] = statistics.stdev(prices) / statistics.fmean(prices)
        same(row, expected, row["week"])


@pytest.mark.parametrize("fuel", FUELS)
def test_brand_national_is_the_raw_file_by_flag(
    real_lake: StationLake, raw: dict[str, list[Price]], fuel: str
) -> None:
    want = grouped(raw[fuel], lambda r: r.brand)
    rows = {r["brand"]: r for r in answer(real_lake, "brand_national", fuel)}
    assert set(rows) == set(want)
    for brand, records in want.items():
        prices = [r.price for r in records]
        expected = figures(records)
        expected = {k: expected[k] for k in ("stations", "observations", "min_price", "max_price")}
        expected["mean_price"] = statistics.fmean(prices)
        if len(prices) > 1:
            expected["sd"] = statistics.stdev(prices)
        else:
            assert rows[brand]["sd"] is None
        same(rows[brand], expected, brand)


@pytest.mark.parametrize("fuel", FUELS)
def test_brand_premium_is_the_raw_file_matched_by_town_and_week(
    real_lake: StationLake, raw: dict[str, list[Price]], fuel: str
) -> None:
    """Each flag against the unbranded mean of the same state, town and week only: premium =
    Σ n·(flag − white) / Σ n, premium_pct = 100 · Σ n·(flag − white) / Σ n·white, mean_price
    the flag's mean over the matched cells (docs/STATIONS.md, Brand premium)."""
    cells = grouped(raw[fuel], lambda r: (r.state, r.town, r.week, r.brand))
    white = {
        k[:3]: statistics.fmean(r.price for r in v) for k, v in cells.items() if k[3] == "BRANCA"
    }
    sums: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0.0])
    for (state, town, week, brand), records in cells.items():
        base = white.get((state, town, week))
        if brand == "BRANCA" or base is None:
            continue
        acc, n, total = sums[brand], len(records), sum(r.price for r in records)
        acc[0] += n
        acc[1] += 1
        acc[2] += total
        acc[3] += total - n * base
        acc[4] += n * base
    rows = {r["brand"]: r for r in answer(real_lake, "brand_premium", fuel)}
    assert set(rows) == set(sums)
    for brand, (n, cell_count, total, diff, base) in sums.items():
        expected = {
            "observations": n,
            "cells": cell_count,
            "mean_price": total / n,
            "premium": diff / n,
            "premium_pct": 100 * diff / base,
        }
        same(rows[brand], expected, brand)


def test_station_search_gives_each_stations_last_price_of_each_fuel(
    real_lake: StationLake, raw: dict[str, list[Price]]
) -> None:
    """The station table: for each station found, one row per fuel it sold in the window, its
    last collection's day, price, name and flag."""
    last: dict[tuple[str, str], Price] = {}
    for records in raw.values():
        for r in records:
            if (r.cnpj, r.fuel) not in last or r.day > last[(r.cnpj, r.fuel)].day:
                last[(r.cnpj, r.fuel)] = r
    rows = answer(real_lake, "station_search", "GASOLINE", text="POSTO")
    assert len(rows) > 300
    found = {r["cnpj"] for r in rows}
    assert {(r["cnpj"], r["product"]) for r in rows} == {k for k in last if k[0] in found}
    for row in rows:
        want = last[(row["cnpj"], row["product"])]
        assert (row["collected"], row["price"], row["station"], row["brand"], row["state"]) == (
            want.day,
            want.price,
            want.name,
            want.brand,
            want.state,
        ), row


def test_synthetic_repeat_collections_weeks_and_duplicate_keys(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Synthetic (the real files have none of these): three real Rio Branco gasoline stations
    of the week of 2025-03-23 (7.62, 7.64, 7.60), then CODEPE again on Friday (7.70), on the
    same day as its real line (7.99, and its CNPJ unpunctuated 7.98: one key, the first line
    kept) and CASTANHEIRA on Saturday 29 (7.66, the same week) and Sunday 30 (7.68, the next).
    A station is counted once in a week it was surveyed in twice, its every price is one."""
    header, *lines = real_lines("gasolina-etanol", 12)
    town = [line for line in lines if ";RIO BRANCO;" in line and ";GASOLINA;" in line]
    codepe, castanheira, cidade = town
    extra = [
        set_cell(set_cell(codepe, 11, "28/03/2025"), 12, "7,70"),
        set_cell(codepe, 12, "7,99"),
        set_cell(set_cell(codepe, 4, "08220930000162"), 12, "7,98"),
        set_cell(set_cell(castanheira, 11, "29/03/2025"), 12, "7,66"),
        set_cell(set_cell(castanheira, 11, "30/03/2025"), 12, "7,68"),
    ]
    text = "\r\n".join([header, codepe, castanheira, cidade, *extra]) + "\r\n"
    (report,) = lake.ingest_path(write("synthetic-repeats.csv", text.encode()))
    assert (report.written, report.duplicates_in_file) == (6, 2)
    params = query_params("GASOLINE", START, END, "AC", "RIO BRANCO", "")
    rows = {r["week"]: r for r in lake.query("municipality_weekly", params).records()}
    # prices 7.60 7.62 7.64 7.66 7.70: P10 at 1 + 0.1·4 = 1.4, P90 at 4.6
    same(
        rows[date(2025, 3, 23)],
        {
            "stations": 3,
            "observations": 5,
            "mean": 38.22 / 5,
            "median": 7.64,
            "p10": 7.60 + 0.4 * 0.02,
            "p90": 7.66 + 0.6 * 0.04,
            "min_price": 7.60,
            "max_price": 7.70,
        },
        "week of 2025-03-23",
    )
    same(rows[date(2025, 3, 30)], {"stations": 1, "observations": 1, "median": 7.68}, "next")
    assert set(rows) == {date(2025, 3, 23), date(2025, 3, 30)}
