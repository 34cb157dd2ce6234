"""The lake's queries on the real sample: one SQL text that DuckDB runs and that parses
unchanged in Athena's Trino dialect; quantiles equal DuckDB's own; station-level weekly means
reconcile with ANP's published state averages."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from tests.lake.conftest import NOW, real_file

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.adapters.lake.queries import QUERIES
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.domain.stations import (
    RECONCILE_MEDIAN_PCT,
    RECONCILE_MIN_COVERAGE,
    RECONCILE_TOLERANCE_PCT,
    query_params,
    reconcile,
)

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "datasets" / "anp" / "strongylis__anp_shlp_estados.csv"
START, END = date(2025, 3, 24), date(2025, 4, 19)


@pytest.fixture(scope="module")
def real_lake(tmp_path_factory: pytest.TempPathFactory) -> StationLake:
    """The real gasoline/ethanol and LPG samples ingested."""
    tmp = tmp_path_factory.mktemp("real-lake")
    lake = StationLake(LocalLakeStorage(tmp / "lake"), FixedClock(NOW))
    for group in ("gasolina-etanol", "glp"):
        path = tmp / f"ultimas-4-semanas-{group}.csv"
        path.write_bytes(real_file(group))
        lake.ingest_path(path)
    return lake


def _params(fuel: str = "GASOLINE", **kw: str) -> dict[str, object]:
    return query_params(
        fuel, START, END, kw.get("state"), kw.get("municipality"), kw.get("text", "")
    )


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_parses_unchanged_as_trino(name: str) -> None:
    sql = QUERIES[name].sql
    (tree,) = sqlglot.parse(sql, read="trino")
    assert tree is not None
    assert len(list(tree.find_all(exp.Placeholder))) == len(QUERIES[name].params)
    tables = {t.name for t in tree.find_all(exp.Table)}
    assert "stations" in tables
    # the same text parses as DuckDB too, and both read the same table and columns
    (duck,) = sqlglot.parse(sql, read="duckdb")
    assert {c.name for c in duck.find_all(exp.Column)} == {
        c.name for c in tree.find_all(exp.Column)
    }


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_runs_on_duckdb(name: str, real_lake: StationLake) -> None:
    result = real_lake.query(name, _params(state="SP", municipality="SAO PAULO", text="POSTO"))
    assert result.rows, name


def test_weekly_quantiles_match_duckdb_quantile_cont(real_lake: StationLake) -> None:
    got = real_lake.query("state_weekly", _params()).records()
    with real_lake.reader() as con:
        want = {
            (r[0], r[1]): r[2:]
            for r in con.execute(
                "SELECT state, week, quantile_cont(price, 0.5), quantile_cont(price, 0.1), "
                "quantile_cont(price, 0.9), count(DISTINCT cnpj) FROM stations "
                "WHERE product = 'GASOLINE' GROUP BY ALL"
            ).fetchall()
        }
    assert len(got) == len(want) == 27 * 4
    for row in got:
        median, p10, p90, stations = want[(row["state"], row["week"])]
        assert row["median"] == pytest.approx(median, abs=1e-9)
        assert row["p10"] == pytest.approx(p10, abs=1e-9)
        assert row["p90"] == pytest.approx(p90, abs=1e-9)
        assert row["stations"] == stations
        assert row["p10"] <= row["median"] <= row["p90"]


def test_municipality_week_fuel(real_lake: StationLake) -> None:
    rows = real_lake.query(
        "municipality_weekly", _params("ETHANOL", state="SP", municipality="SAO PAULO")
    ).records()
    assert [r["week"] for r in rows] == [
        date(2025, 3, 23),
        date(2025, 3, 30),
        date(2025, 4, 6),
        date(2025, 4, 13),
    ]
    assert all(r["stations"] > 50 and 3.5 < r["median"] < 5.5 for r in rows)


def test_brand_premium_is_over_unbranded_in_the_same_town_and_week(real_lake: StationLake) -> None:
    rows = {r["brand"]: r for r in real_lake.query("brand_premium", _params()).records()}
    assert "BRANCA" not in rows
    # the three big distributors' flags cost more than unbranded stations next door
    for brand in ("VIBRA", "IPIRANGA", "RAIZEN"):
        assert 0.05 < rows[brand]["premium"] < 0.5, rows[brand]


def test_ranking_and_search(real_lake: StationLake) -> None:
    ranking = real_lake.query("municipality_ranking", _params()).records()
    medians = [r["median"] for r in ranking]
    assert medians == sorted(medians)
    found = real_lake.query("station_search", _params(text="01.492.748")).records()
    assert found and all("01.492.748" in r["cnpj"] for r in found)


def _published(product: str) -> dict[tuple[str, date], tuple[float, int]]:
    with PUBLISHED.open(newline="", encoding="utf-8") as fh:
        return {
            (r["estado"], date.fromisoformat(r["data"])): (
                float(r["preco_medio"]),
                int(r["n_postos"]),
            )
            for r in csv.DictReader(fh)
            if r["produto"] == product
        }


@pytest.mark.parametrize(
    ("fuel", "published"), [("GASOLINE", "gasolina_c"), ("ETHANOL", "hidratado")]
)
def test_reconciles_with_anp_published_state_averages(
    real_lake: StationLake, fuel: str, published: str
) -> None:
    weeks = [
        (r["state"], r["week"], r["mean"], r["observations"])
        for r in real_lake.query("state_weekly", _params(fuel)).records()
    ]
    rows = reconcile(weeks, _published(published))
    assert len(rows) == 27 * 4  # every state and week of the sample was published
    compared = [r for r in rows if r.compared]
    assert len(compared) >= 0.9 * len(rows)
    outside = [(r.state, r.week_end, round(r.diff_pct, 2)) for r in compared if not r.within]
    assert outside == [], f"beyond ±{RECONCILE_TOLERANCE_PCT}%: {outside}"
    diffs = sorted(abs(r.diff_pct) for r in compared)
    assert diffs[len(diffs) // 2] <= RECONCILE_MEDIAN_PCT
    # the file holds ANP's own sample: where coverage is full the station counts agree
    assert sum(r.observations == r.published_stations for r in rows) >= 0.7 * len(rows)
    # and the difference is ANP's weighting, not a bias of one sign everywhere
    assert any(r.diff > 0 for r in compared) and any(r.diff < 0 for r in compared)
    assert all(r.coverage >= RECONCILE_MIN_COVERAGE for r in compared)
