"""The lake's price figures are exact, so one query gives one answer: on every run, and on one
thread or several. Float sums taken on two threads in no fixed order gave a 4-place mean that
changed by one unit between two runs of one query (4.2462 against 4.2463 in CI)."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from tests.lake.conftest import NOW
from tests.support.station_lake import synthetic_cnpj

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import QueryResult, StationLake
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.domain.stations import ANP_COLUMNS, query_params

START, END = date(2024, 1, 1), date(2024, 12, 28)
TOWNS = (("SP", "CAMPINAS"), ("SP", "SANTOS"), ("RJ", "NITEROI"), ("MG", "UBERABA"))
BRANDS = ("BRANCA", "VIBRA", "IPIRANGA", "RAIZEN")
RUNS = 12
# The queries whose figures are sums of prices (means, spreads, quantiles, premiums).
PRICED = (
    "municipality_weekly",
    "state_weekly",
    "municipality_ranking",
    "dispersion",
    "brand_premium",
    "brand_national",
)


Sold = list[tuple[str, str, Fraction]]  # (town, brand, price as published)


def _anp_file(path: Path) -> Sold:
    """A year of gasoline prices, two decimals as ANP writes them, from 120 stations in four
    towns (and one price of one more flag): one file, so twelve monthly partitions. What it
    holds, price by price."""
    rnd = random.Random(20241)
    lines = [";".join(ANP_COLUMNS)]
    sold: Sold = []
    for s in range(120):
        state, town = TOWNS[s % len(TOWNS)]
        brand = BRANDS[s // len(TOWNS) % len(BRANDS)]
        cnpj = synthetic_cnpj(f"01{s:03d}0000001")  # one per station
        day = START + timedelta(days=s % 6)
        while day <= END:
            cents = rnd.randrange(450, 750)
            lines.append(
                f"SE;{state};{town};POSTO {s};{cnpj};RUA A;1;;CENTRO;01000-000;GASOLINA;"
                f"{day:%d/%m/%Y};{cents // 100},{cents % 100:02d};;R$ / litro;{brand}"
            )
            sold.append((town, brand, Fraction(cents, 100)))
            day += timedelta(days=3)
    # and one flag with a single price: no spread (NULL, as stddev_samp says)
    lines.append(
        f"SE;MG;UBERABA;POSTO UNICO;{synthetic_cnpj('990000000001')};RUA B;2;;CENTRO;38000-000;"
        "GASOLINA;"
        "02/07/2024;6,01;;R$ / litro;ALESAT"
    )
    sold.append(("UBERABA", "ALESAT", Fraction(601, 100)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sold


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Sold]:
    """A lake of a year of prices, and those prices."""
    tmp = tmp_path_factory.mktemp("exact-lake")
    sold = _anp_file(tmp / "year.csv")
    lake = StationLake(LocalLakeStorage(tmp / "lake"), FixedClock(NOW))
    (report,) = lake.ingest_path(tmp / "year.csv")
    assert report.rejected == 0 and len(report.partitions) == 12
    lake.close()
    return tmp / "lake", sold


def _params() -> dict[str, object]:
    return query_params("GASOLINE", START, END, "SP", "CAMPINAS", "")


def _answers(root: Path, name: str, threads: int, runs: int) -> list[QueryResult]:
    lake = StationLake(LocalLakeStorage(root), FixedClock(NOW), threads=threads)
    try:
        return [lake.query(name, _params()) for _ in range(runs)]
    finally:
        lake.close()


@pytest.mark.parametrize("name", PRICED)
def test_every_run_on_any_threads_gives_the_same_answer(year: tuple[Path, Sold], name: str) -> None:
    root, _ = year
    (one_thread,) = _answers(root, name, 1, 1)
    assert one_thread.rows, name
    for threads in (2, 4):
        for answer in _answers(root, name, threads, RUNS):
            # every figure to its last bit, not merely to a published place
            assert answer == one_thread, (name, threads)


def test_brand_figures_are_the_exact_ones(year: tuple[Path, Sold]) -> None:
    """Mean and standard deviation as exact arithmetic on the published prices gives them,
    to a double's last bit (a float sum drifts further, and from run to run)."""
    root, sold = year
    (answer,) = _answers(root, "brand_national", 2, 1)
    got = {r["brand"]: r for r in answer.records()}
    assert set(got) == {*BRANDS, "ALESAT"}
    assert (got["ALESAT"]["observations"], got["ALESAT"]["sd"]) == (1, None)
    assert got["ALESAT"]["mean_price"] == 6.01
    for brand in BRANDS:
        prices = [p for _, b, p in sold if b == brand]
        n = len(prices)
        mean = sum(prices) / n
        var = sum((p - mean) ** 2 for p in prices) / (n - 1)
        assert got[brand]["observations"] == n
        assert got[brand]["mean_price"] == pytest.approx(float(mean), rel=1e-15, abs=0)
        assert got[brand]["sd"] == pytest.approx(math.sqrt(var), rel=1e-15, abs=0)
        assert got[brand]["min_price"] == float(min(prices))
        assert got[brand]["max_price"] == float(max(prices))


def test_ranking_quantiles_are_the_exact_ones(year: tuple[Path, Sold]) -> None:
    root, sold = year
    (answer,) = _answers(root, "municipality_ranking", 2, 1)
    got = {r["municipality"]: r for r in answer.records()}
    for _, town in TOWNS:
        prices = sorted(p for t, _, p in sold if t == town)
        n = len(prices)

        def quantile(q: Fraction, prices: list[Fraction] = prices, n: int = n) -> float:
            pos = q * (n - 1)  # from 0: between prices[floor] and the next one
            low = math.floor(pos)
            return float(prices[low] + (pos - low) * (prices[min(low + 1, n - 1)] - prices[low]))

        assert got[town]["observations"] == n
        for column, q in (("median", "0.5"), ("p10", "0.1"), ("p90", "0.9")):
            assert got[town][column] == pytest.approx(quantile(Fraction(q)), rel=1e-15, abs=0)
