"""The lake's queries on the real sample: one SQL text that DuckDB runs and that parses
unchanged in Athena's Trino dialect; quantiles equal DuckDB's own; station-level weekly means
reconcile with ANP's published state averages."""

from __future__ import annotations

import csv
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from tests.support.station_lake import fuels_apart_lake

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.adapters.lake.queries import QUERIES, window_params
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.domain.stations import (
    RECONCILE_MEDIAN_PCT,
    RECONCILE_MIN_COVERAGE,
    RECONCILE_TOLERANCE_PCT,
    SEARCH_STATIONS,
    ReconcileCheck,
    Reconciled,
    query_params,
    reconcile,
    reconcile_check,
)

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "datasets" / "anp" / "strongylis__anp_shlp_estados.csv"
START, END = date(2025, 3, 24), date(2025, 4, 19)


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
    assert duck is not None
    assert {c.name for c in duck.find_all(exp.Column)} == {
        c.name for c in tree.find_all(exp.Column)
    }


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_runs_on_duckdb(name: str, real_lake: StationLake) -> None:
    params = _params(state="SP", municipality="SAO PAULO", text="POSTO")
    params |= window_params(real_lake.storage.partitions())
    result = real_lake.query(name, params)
    assert result.rows, name


def test_each_fuel_has_its_own_window(tmp_path: Path) -> None:
    """A lake of diesel and CNG to December 2023 and LPG in 2025 (real files) had one window,
    2023-12-04..2025-04-18, so every fuel's default span was the four weeks to 2025-04-18:
    diesel's and CNG's views were empty. Each fuel's first and last day now come from its own
    first and last month (one query, which reads no other month), the lake's from them."""
    lake = fuels_apart_lake(tmp_path, datetime(2025, 4, 22, tzinfo=UTC))
    dec = (date(2023, 12, 4), date(2023, 12, 28))
    assert lake.fuel_windows() == {
        "DIESEL": dec,
        "DIESEL_S10": dec,
        "CNG": dec,
        "LPG": (date(2025, 3, 24), date(2025, 4, 18)),
    }
    assert lake.window() == (date(2023, 12, 4), date(2025, 4, 18))
    params = window_params(lake.storage.partitions())
    assert (params["first_month_LPG"], params["last_month_LPG"]) == ("2025-03", "2025-04")
    assert (params["first_month_CNG"], params["last_month_CNG"]) == ("2023-12", "2023-12")
    assert params["first_month_GASOLINE"] == params["last_month_GASOLINE"] == ""


def test_an_empty_lake_has_no_fuel_window(tmp_path: Path) -> None:
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(datetime.now(UTC)))
    assert lake.fuel_windows() == {}
    assert lake.window() is None


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


def test_dispersion_p90_p10_is_the_exact_difference(real_lake: StationLake) -> None:
    """P90 − P10 was the difference of the two DOUBLEs: 0.9000000000000004 for 6.79 − 5.89.
    It is now the exact quantiles' difference, cast once, as every other figure."""
    rows = real_lake.query("dispersion", _params()).records()
    assert len(rows) == 4
    for row in rows:
        exact = Decimal(repr(row["p90"])) - Decimal(repr(row["p10"]))
        assert Decimal(repr(row["p90_p10"])) == exact, row
    assert [r["p90_p10"] for r in rows][:2] == [0.9, 0.943]


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


def test_brand_premium_in_brl_and_in_percent_come_from_one_comparison(
    real_lake: StationLake,
) -> None:
    """premium = Σ n·(flag − white) / Σ n and premium_pct = 100 · Σ n·(flag − white) / Σ n·white
    over the same matched (town, week) cells, so the two always share their sign. ATEM' S
    showed −0.001 BRL and +0.06% when the percent was a mean of ratios."""
    got = {r["brand"]: r for r in real_lake.query("brand_premium", _params()).records()}
    with real_lake.reader() as con:
        raw = con.execute(
            "SELECT state, municipality, week, brand, price FROM stations "
            "WHERE product = 'GASOLINE'"
        ).fetchall()
    cells: dict[tuple[str, str, date, str], list[float]] = {}
    for state, town, week, brand, price in raw:
        cells.setdefault((state, town, week, brand), []).append(price)
    white = {k[:3]: sum(v) / len(v) for k, v in cells.items() if k[3] == "BRANCA"}
    sums: dict[str, list[float]] = {}
    for (state, town, week, brand), prices in cells.items():
        w = white.get((state, town, week))
        if brand == "BRANCA" or w is None:
            continue
        n, mean = float(len(prices)), sum(prices) / len(prices)
        acc = sums.setdefault(brand, [0.0, 0.0, 0.0])
        acc[0] += n
        acc[1] += n * (mean - w)
        acc[2] += n * w
    assert set(got) == set(sums)
    for brand, (count, diff, base) in sums.items():
        assert got[brand]["premium"] == pytest.approx(diff / count, abs=1e-9), brand
        assert got[brand]["premium_pct"] == pytest.approx(100 * diff / base, abs=1e-9), brand
        assert (got[brand]["premium"] < 0) == (got[brand]["premium_pct"] < 0), got[brand]
    assert got["ATEM' S"]["premium"] < 0 and got["ATEM' S"]["premium_pct"] < 0


def test_search_brings_best_matches_first_and_one_station_past_the_cut(
    real_lake: StationLake,
) -> None:
    def search(text: str) -> list[dict[str, object]]:
        return real_lake.query("station_search", _params(text=text)).records()

    found = search("POSTO")
    stations = list(dict.fromkeys(r["cnpj"] for r in found))
    # one station more than the page shows: how the API knows the answer was cut
    assert len(stations) == SEARCH_STATIONS + 1
    # every fuel of a station, one row each, its rows together
    assert len({(r["cnpj"], r["product"]) for r in found}) == len(found)
    runs = [r["cnpj"] for i, r in enumerate(found) if i == 0 or found[i - 1]["cnpj"] != r["cnpj"]]
    assert runs == stations
    # names that start with the text first, in name order; not the first states of the alphabet
    names = [str(r["station"]).upper() for r in found]
    assert all(n.startswith("POSTO") for n in names)
    assert names == sorted(names)
    assert {"SP", "RJ", "MG"} <= {r["state"] for r in found}

    # a whole town's name ranks its stations before towns that only contain it
    towns = [r["municipality"] for r in search("CAMPINAS")]
    assert towns[0] == "CAMPINAS"
    firsts = towns.index(next(t for t in towns if t != "CAMPINAS"))
    assert all(t == "CAMPINAS" for t in towns[:firsts])
    assert all(t != "CAMPINAS" for t in towns[firsts:])
    # and a CNPJ from its start comes first of all
    assert len({r["cnpj"] for r in search("01.492.748")}) == 1


def test_ranking_and_search(real_lake: StationLake) -> None:
    ranking = real_lake.query("municipality_ranking", _params()).records()
    medians = [r["median"] for r in ranking]
    assert medians == sorted(medians)
    # towns of one median come in state and name order (a float sum once put NILOPOLIS, RJ, at
    # 5.9399999999999995 before TERESINA, PI, at 5.94)
    shown = [(round(r["median"], 4), r["state"], r["municipality"]) for r in ranking]
    assert shown == sorted(shown)
    assert len({m for m, *_ in shown}) < len(shown)  # there are such ties
    found = real_lake.query("station_search", _params(text="01.492.748")).records()
    assert found and all(r["cnpj"].startswith("01492748") for r in found)  # kept as digits


def _published_rows(product: str) -> dict[tuple[str, date], dict[str, str]]:
    """ANP's published weekly state averages of ``product``, by state and week end (Saturday)."""
    with PUBLISHED.open(newline="", encoding="utf-8") as fh:
        return {
            (r["estado"], date.fromisoformat(r["data"])): r
            for r in csv.DictReader(fh)
            if r["produto"] == product
        }


def _published(product: str) -> dict[tuple[str, date], tuple[float, int]]:
    return {
        key: (float(r["preco_medio"]), int(r["n_postos"]))
        for key, r in _published_rows(product).items()
    }


@pytest.mark.parametrize(
    ("fuel", "published"), [("GASOLINE", "gasolina_c"), ("ETHANOL", "hidratado")]
)
def test_reconciles_with_anp_published_state_averages(
    real_lake: StationLake, fuel: str, published: str
) -> None:
    weeks = [
        (r["state"], r["week"], r["mean"], r["observations"], r["stations"])
        for r in real_lake.query("state_weekly", _params(fuel)).records()
    ]
    rows = reconcile(weeks, _published(published))
    assert len(rows) == 27 * 4  # every state and week of the sample was published
    compared = [r for r in rows if r.compared]
    assert len(compared) >= 0.9 * len(rows)
    outside = [(r.state, r.week_end, round(r.diff_pct, 2)) for r in compared if not r.within]
    assert outside == [], f"beyond ±{RECONCILE_TOLERANCE_PCT}%: {outside}"
    assert {r.result for r in compared} == {"within"}
    assert {r.result for r in rows if not r.compared} <= {"not compared"}
    diffs = sorted(abs(r.diff_pct) for r in compared)
    assert diffs[len(diffs) // 2] <= RECONCILE_MEDIAN_PCT
    check = reconcile_check(rows)  # the verdict `stations reconcile` exits by
    assert (check.compared, check.outside, check.passed) == (len(compared), 0, True)
    assert check.median_pct == pytest.approx(statistics.median(diffs))
    # the file holds ANP's own sample: where coverage is full the station counts agree
    assert sum(r.stations == r.published_stations for r in rows) >= 0.7 * len(rows)
    # no station is surveyed twice in a state-week of the real sample (docs/STATIONS.md)
    assert all(r.stations == r.observations for r in rows)
    # and the difference is ANP's weighting, not a bias of one sign everywhere
    assert any(r.diff > 0 for r in compared) and any(r.diff < 0 for r in compared)
    assert all(r.coverage >= RECONCILE_MIN_COVERAGE for r in compared)


@pytest.mark.parametrize(
    ("fuel", "published", "worst_pct", "median_pct"),
    [("GASOLINE", "gasolina_c", 3.6, 0.6), ("ETHANOL", "hidratado", 4.5, 0.7)],
)
def test_the_reconciliation_tolerance_and_its_reason_hold_on_the_real_sample(
    real_lake: StationLake, fuel: str, published: str, worst_pct: float, median_pct: float
) -> None:
    """docs/STATIONS.md's measured figures (largest and median |difference| over the compared
    state-weeks) and the reason it gives: the file holds ANP's own sample (where it holds ANP's
    count of stations, its lowest and highest price are the published minimum and maximum), so
    the difference is how ANP averages, and a plain median or an unweighted mean of municipal
    means fits worse than the plain mean."""
    params = _params(fuel)
    state_weeks = real_lake.query("state_weekly", params).records()
    rows = reconcile(
        [(r["state"], r["week"], r["mean"], r["observations"], r["stations"]) for r in state_weeks],
        _published(published),
    )
    check = reconcile_check(rows)
    compared = [r for r in rows if r.compared]
    assert check.median_pct is not None
    worst = max(abs(r.diff_pct) for r in compared)
    assert (round(worst, 1), round(check.median_pct, 1)) == (worst_pct, median_pct)

    anp = _published_rows(published)
    lake = {(r["state"], r["week"] + timedelta(days=6)): r for r in state_weeks}
    same_sample = [r for r in compared if r.stations == r.published_stations]
    assert len(same_sample) >= 0.8 * len(rows)
    for r in same_sample:
        ours, theirs = lake[(r.state, r.week_end)], anp[(r.state, r.week_end)]
        assert (ours["min_price"], ours["max_price"]) == (
            float(theirs["preco_min"]),
            float(theirs["preco_max"]),
        ), r

    def worse(means: dict[tuple[str, date], float]) -> bool:
        """Whether other state-week means fit worse: a larger median difference, and some
        state-week outside the tolerance the plain means all keep."""
        other = reconcile_check(
            reconcile(
                [
                    (s, w, means[(s, w)], r["observations"], r["stations"])
                    for (s, w), r in by_week.items()
                ],
                _published(published),
            )
        )
        assert other.median_pct is not None and check.median_pct is not None
        return other.median_pct > check.median_pct and other.outside > check.outside == 0

    by_week = {(r["state"], r["week"]): r for r in state_weeks}
    with real_lake.reader() as con:
        town_means = con.execute(
            "SELECT state, week, avg(town) FROM (SELECT state, municipality, week, "
            "avg(price) AS town FROM stations WHERE product = ? GROUP BY ALL) GROUP BY ALL",
            [fuel],
        ).fetchall()
    assert worse({k: r["median"] for k, r in by_week.items()})
    assert worse({(s, w): m for s, w, m in town_means})


def test_a_bias_within_the_weekly_tolerance_fails_the_median_check() -> None:
    """Synthetic state-weeks: every one 2% dearer than published (a bias no week's ±5% catches)
    fails on the median; one week 6% off fails on that week; too few prices are not compared."""
    day = date(2025, 3, 29)

    def week(state: str, pct: float, n: int = 10) -> Reconciled:
        return Reconciled(state, day, 6.0 * (1 + pct / 100), n, n, 6.0, 10)

    biased = reconcile_check([week("SP", 2.0), week("RJ", 2.2), week("MG", -1.9)])
    assert (biased.compared, biased.outside, biased.median_within, biased.passed) == (
        3,
        0,
        False,
        False,
    )
    assert biased.median_pct == pytest.approx(2.0)
    one = reconcile_check([week("SP", 0.5), week("RJ", -6.0), week("MG", 0.2), week("BA", 0.1)])
    assert (one.outside, one.median_within, one.passed) == (1, True, False)
    thin = reconcile_check([week("SP", 0.5), week("AC", 30.0, n=1)])
    assert (thin.compared, thin.outside, thin.passed) == (1, 0, True)
    assert thin.median_pct == pytest.approx(0.5)
    assert reconcile_check([]) == ReconcileCheck(0, 0, None) and ReconcileCheck(0, 0, None).passed
    # over a subset of the states the median is given, not held: the same weeks pass
    subset = reconcile_check([week("SP", 2.0), week("RJ", 2.2)], median_held=False)
    assert (subset.median_within, subset.median_held, subset.passed) == (False, False, True)
    assert not reconcile_check([week("SP", 0.5), week("RJ", -6.0)], median_held=False).passed


def test_search_shows_no_price_after_the_window(real_lake: StationLake) -> None:
    # The sample's weeks run from late March into April 2025: a window ending in the week of
    # 2025-03-30 must not show an April price, though its month bounds reach into April.
    params = query_params("LPG", date(2025, 3, 1), date(2025, 3, 30), None, None, "POSTO")
    found = real_lake.query("station_search", params).records()
    assert found
    assert max(r["collected"] for r in found) <= date(2025, 4, 5)  # the last week's Saturday
    assert max(r["collected"] for r in found) >= date(2025, 4, 1)  # that week crosses a month


def test_a_cnpj_is_found_typed_with_or_without_its_punctuation(real_lake: StationLake) -> None:
    """The lake holds ``01.492.748/...``: the same CNPJ typed as bare digits (whole or its
    start) found nothing. Each form finds the same station, and only it; the query is
    still one Trino statement (see test_every_query_parses_unchanged_as_trino)."""

    def stations(text: str) -> set[object]:
        return {r["cnpj"] for r in real_lake.query("station_search", _params(text=text)).records()}

    (cnpj,) = stations("01.492.748")
    digits = "".join(c for c in str(cnpj) if c.isdigit())
    assert len(digits) == 14
    for typed in (digits, digits[:8], str(cnpj), f"{digits[:8]}/{digits[8:12]}-{digits[12:]}"):
        assert stations(typed) == {cnpj}, typed
    # punctuation alone matches no CNPJ (stripped, it would be empty and match every one)
    assert stations("./-") == set()


def test_a_search_finds_a_name_typed_with_or_without_its_accents(real_lake: StationLake) -> None:
    """The real sample writes 512 station names with accents and no town with one: "posto sao"
    and "posto são" found different stations, and "são paulo" none of the town's. Names and
    the search text are folded alike (upper case, accents dropped)."""

    def stations(text: str) -> set[object]:
        return {r["cnpj"] for r in real_lake.query("station_search", _params(text=text)).records()}

    accented = {
        r["cnpj"]
        for r in real_lake.query("station_search", _params(text="posto são")).records()
        if "SÃO" in str(r["station"]).upper()
    }
    assert accented  # the real names hold the accent
    assert stations("posto são") == stations("posto sao") == stations("POSTO SÃO")
    assert accented <= stations("posto sao")
    assert stations("são paulo") == stations("sao paulo")
    # not two empty answers: the real sample's 297 stations of the town (and any name with
    # it), cut at the search's limit, the same first ones either way
    assert len(stations("sao paulo")) == SEARCH_STATIONS + 1
    town = real_lake.query(
        "municipality_weekly", _params("ETHANOL", state="SP", municipality="São Paulo")
    ).records()
    assert len(town) == 4 and all(r["municipality"] == "SAO PAULO" for r in town)


def test_a_search_finds_a_name_anp_wrote_with_doubled_spaces(real_lake: StationLake) -> None:
    """ANP writes 64 of the real sample's station names with two spaces in a row ("POSTO  SUMARE
    LTDA"); the page shows them with one (HTML collapses them), and "posto sumare" typed from
    it found nothing. Names and the search text have their runs of spaces folded to one."""

    def stations(text: str) -> set[object]:
        return {r["cnpj"] for r in real_lake.query("station_search", _params(text=text)).records()}

    found = real_lake.query("station_search", _params(text="posto sumare")).records()
    assert any("  " in str(r["station"]) for r in found)  # ANP's doubled space is kept as is
    doubled = {r["cnpj"] for r in found if str(r["station"]).startswith("POSTO  SUMARE")}
    assert len(doubled) == 1
    assert stations("posto sumare") == stations("posto  sumare") == stations("POSTO   SUMARE")
    # the whole name typed with single spaces is its best match (rank: the whole name)
    whole = "lopes e cardoso ltda"
    first = real_lake.query("station_search", _params(text=whole)).records()[0]
    assert first["station"] == "LOPES  E  CARDOSO  LTDA"


def test_a_town_written_with_a_hyphen_is_found_typed_with_a_space(real_lake: StationLake) -> None:
    """ANP writes Ji-Paraná (RO) "JI-PARANA": "ji parana" found none of its 24 stations, and
    its weekly distribution asked as "Ji Parana" was empty. A hyphen is folded to a space in
    names, towns and the search text alike ("LTDA - ME" and "LTDA ME" are one name too)."""

    def stations(text: str) -> set[object]:
        return {r["cnpj"] for r in real_lake.query("station_search", _params(text=text)).records()}

    found = real_lake.query("station_search", _params(text="ji parana")).records()
    assert {r["municipality"] for r in found} >= {"JI-PARANA"}
    assert stations("ji parana") == stations("JI-PARANÁ") == stations("ji - parana")
    assert stations("ltda me") == stations("LTDA - ME") and stations("ltda me")
    for typed in ("Ji Paraná", "JI-PARANA"):
        town = real_lake.query(
            "municipality_weekly", _params(state="RO", municipality=typed)
        ).records()
        assert len(town) == 4 and all(r["municipality"] == "JI-PARANA" for r in town), typed


def test_folding_drops_the_accents_sql_translate_drops() -> None:
    from fuelpipe.domain.stations import ACCENTED, PLAIN
    from fuelpipe.domain.text import folded

    assert len(ACCENTED) == len(PLAIN)
    assert [folded(c) for c in ACCENTED] == list(PLAIN)
    assert [folded(c.lower()) for c in ACCENTED] == list(PLAIN)
    assert folded("posto são joão ii") == "POSTO SAO JOAO II"
    assert folded("posto  são   joão") == "POSTO SAO JOAO"  # runs of spaces, as the SQL folds
    assert folded("Ji-Paraná") == folded("ji - parana") == "JI PARANA"  # a hyphen is a space
