"""The analysis module against independent pandas/numpy computations on the real demo data."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from devtools.dashboard.realdata import DATA, WINDOW

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard import analysis as an
from fuelpipe.dashboard.repository import BRENT, BRENT_BRL, PTAX_MAX_AGE, USD, SeriesReader
from fuelpipe.domain.catalog import DEFAULT_CATALOG

GASOLINE_BR = "FUEL#GASOLINE#BR"
PETR4 = "STOCK#PETR4"


@pytest.fixture(scope="module")
def reader(real_store: SqliteStore) -> SeriesReader:
    return SeriesReader(real_store, DEFAULT_CATALOG)


# --- independent pandas versions, read straight from the CSV and XLSX files ---------------------


def _daily_csv(path: str, date_col: str, value_col: str) -> pd.Series:
    df = pd.read_csv(DATA / path, parse_dates=[date_col])
    s = df.set_index(date_col)[value_col].dropna().astype(float)
    return s[(s.index >= str(WINDOW[0])) & (s.index <= str(WINDOW[1]))]


@pytest.fixture(scope="module")
def pd_daily() -> dict[str, pd.Series]:
    usd = _daily_csv("fx/strongylis__ptax.csv", "data", "venda")
    brent = _daily_csv("brent/jackthompsondb__DCOILBRENTEU.csv", "observation_date", "DCOILBRENTEU")
    petr4 = _daily_csv("stocks/henriquebrnetto__PETR4.SA.csv", "Date", "Close")
    # each Brent day at the PTAX in force, the latest on or before it (none is over 5 days old)
    in_force = pd.merge_asof(
        brent.rename("b").to_frame(),
        usd.rename("u").to_frame(),
        left_index=True,
        right_index=True,
        direction="backward",
        tolerance=pd.Timedelta(days=7),
    ).dropna()
    return {USD: usd, BRENT: brent, PETR4: petr4, BRENT_BRL: in_force["b"] * in_force["u"]}


@pytest.fixture(scope="module")
def pd_gasoline_br() -> pd.Series:
    df = pd.read_excel(DATA / "anp" / "maikereis__semanal-brasil-desde-2013.xlsx", header=17)
    df = df[df["PRODUTO"] == "GASOLINA COMUM"]
    s = df.set_index(pd.to_datetime(df["DATA INICIAL"]))["PREÇO MÉDIO REVENDA"].astype(float)
    return s[(s.index >= "2021-05-16") & (s.index <= str(WINDOW[1]))].sort_index()


def pd_weekly_mean(daily: pd.Series) -> pd.Series:
    """Sunday-to-Saturday means, labelled by the Sunday (pandas labels W-SAT by the Saturday)."""
    weekly = daily.resample("W-SAT").mean().dropna()
    weekly.index = weekly.index - pd.Timedelta(days=6)
    return weekly


def pd_log_changes(weekly: pd.Series) -> pd.Series:
    """ln(v_t / v_{t-1 week}) with gaps left as NaN, on a regular weekly index."""
    full = weekly.asfreq("7D")
    return np.log(full).diff()


def _as_pd(series: an.TimeSeries) -> pd.Series:
    return pd.Series(series.values, index=pd.to_datetime(list(series.dates)))


# --- derived series ----------------------------------------------------------------------------


def test_brent_in_brl_matches_hand_computed_rows(reader: SeriesReader) -> None:
    got = reader.raw(BRENT_BRL).as_dict()
    # 2021-05-20: Brent 65.18 USD/bbl (FRED row) x PTAX sell 5.2905 BRL/USD = 344.83479 BRL/bbl
    assert got[date(2021, 5, 20)] == pytest.approx(344.83479, rel=1e-12)
    # 2022-03-08: 133.18 x 5.0903 = 677.926154 BRL/bbl
    assert got[date(2022, 3, 8)] == pytest.approx(677.926154, rel=1e-12)
    # 2021-05-31 is a UK bank holiday: FRED has no Brent, so no product that day
    assert date(2021, 5, 31) not in got
    # Carnival Tuesday 2022-03-01 has no PTAX: Brent's 110.93 at Friday 02-25's 5.1394 = 570.113642
    # (matching dates alone left the day out, and with Monday's the week's two lowest Brent days)
    assert got[date(2022, 3, 1)] == pytest.approx(570.113642, rel=1e-12)
    assert got[date(2022, 2, 28)] == pytest.approx(103.08 * 5.1394, rel=1e-12)


def test_brent_in_brl_takes_no_ptax_older_than_a_week(reader: SeriesReader) -> None:
    # The real PTAX cut after Friday 2022-04-22, as a PTAX series stored behind Brent's would be:
    # Brent's days to Friday 04-29 take 04-22's rate (days old 3 to 7), later ones none.
    brent = reader.raw(BRENT, date(2022, 4, 25), date(2022, 5, 6))
    ptax = reader.raw(USD, date(2022, 4, 18), date(2022, 4, 22))
    got = an.product_at_latest("brl", brent, ptax, PTAX_MAX_AGE)
    assert got.dates == tuple(d for d in brent.dates if d <= date(2022, 4, 29))
    assert got.values[-1] == brent.as_dict()[date(2022, 4, 29)] * ptax.values[-1]


def test_brent_in_brl_weekly_matches_pandas(
    reader: SeriesReader, pd_daily: dict[str, pd.Series]
) -> None:
    got = _as_pd(reader.weekly(BRENT_BRL))
    want = pd_weekly_mean(pd_daily[BRENT_BRL])
    pd.testing.assert_series_equal(got, want, check_names=False, check_freq=False, rtol=1e-12)
    assert all(d.dayofweek == 6 for d in got.index)  # every key is a Sunday


@pytest.mark.parametrize("key", [USD, BRENT, PETR4])
def test_weekly_mean_and_last_match_pandas(
    reader: SeriesReader, pd_daily: dict[str, pd.Series], key: str
) -> None:
    mean = _as_pd(reader.weekly(key, how="mean"))
    pd.testing.assert_series_equal(
        mean, pd_weekly_mean(pd_daily[key]), check_names=False, check_freq=False, rtol=1e-12
    )
    last = _as_pd(reader.weekly(key, how="last"))
    want_last = pd_daily[key].resample("W-SAT").last().dropna()
    want_last.index = want_last.index - pd.Timedelta(days=6)
    pd.testing.assert_series_equal(last, want_last, check_names=False, check_freq=False)


def test_weekly_window_reads_whole_edge_weeks(
    reader: SeriesReader, pd_daily: dict[str, pd.Series]
) -> None:
    # A window starting mid-week (Wednesday 2021-09-08) still averages that week from its Sunday.
    got = reader.weekly(USD, start=date(2021, 9, 8), end=date(2021, 10, 2))
    assert got.dates[0] == date(2021, 9, 5)
    want = pd_daily[USD]["2021-09-05":"2021-09-11"].mean()
    assert got.values[0] == pytest.approx(want, rel=1e-12)


def test_normalised_index_is_100_at_base(reader: SeriesReader, pd_gasoline_br: pd.Series) -> None:
    base_date, index = an.normalised_index(reader.weekly(GASOLINE_BR), date(2021, 10, 1))
    assert base_date == date(2021, 10, 3)  # the first survey week on or after the base
    want = 100 * pd_gasoline_br / pd_gasoline_br["2021-10-03"]
    pd.testing.assert_series_equal(_as_pd(index), want, check_names=False, check_freq=False)
    with pytest.raises(ValueError, match="no observation on or after"):
        an.normalised_index(reader.weekly(GASOLINE_BR), date(2030, 1, 1))


# --- correlations and pass-through ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pd_changes(pd_daily: dict[str, pd.Series], pd_gasoline_br: pd.Series) -> pd.DataFrame:
    series = {GASOLINE_BR: pd_log_changes(pd_gasoline_br)}
    for key in (USD, BRENT_BRL, PETR4):
        series[key] = pd_log_changes(pd_weekly_mean(pd_daily[key]))
    frame = pd.concat(series, axis=1)
    return frame.reindex(pd.date_range(frame.index.min(), frame.index.max(), freq="7D"))


def test_correlation_matrix_matches_pandas(reader: SeriesReader, pd_changes: pd.DataFrame) -> None:
    keys = [GASOLINE_BR, USD, BRENT_BRL, PETR4]
    matrix = an.correlation_matrix([an.log_changes(reader.weekly(k)) for k in keys])
    want_r = pd_changes[keys].corr()
    present = pd_changes[keys].notna().astype(int)
    want_n = present.T @ present
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            assert matrix.n[i][j] == want_n.loc[a, b]
            assert matrix.r[i][j] == pytest.approx(want_r.loc[a, b], abs=1e-12)
    assert matrix.n[0][1] >= 45  # about a year of overlapping weeks behind each cell


@pytest.mark.parametrize("driver", [BRENT_BRL, USD, PETR4])
def test_cross_correlation_matches_pandas(
    reader: SeriesReader, pd_changes: pd.DataFrame, driver: str
) -> None:
    pump = an.log_changes(reader.weekly(GASOLINE_BR))
    drv = an.log_changes(reader.weekly(driver))
    cross = an.cross_correlation(pump, drv, max_lag=12)
    assert [c.lag for c in cross] == list(range(13))
    # every lag on the same pump weeks: those with a driver change at all 13 lags
    shifts = pd.concat({k: pd_changes[driver].shift(k) for k in range(13)}, axis=1)
    weeks = pd_changes[GASOLINE_BR].notna() & shifts.notna().all(axis=1)
    for c in cross:
        assert c.n == int(weeks.sum())
        want = pd_changes[GASOLINE_BR][weeks].corr(shifts[c.lag][weeks])
        assert c.r == pytest.approx(want, abs=1e-12)
    best = an.strongest_lag(pump, drv, max_lag=12)
    top = max(cross, key=lambda c: abs(c.r or 0))
    p_value = an.max_r_p_value(*an.lagged(pump, drv, 12))
    # named only when the largest |r| over the 13 lags stands out from chance
    assert best == (top if p_value < an.LAG_ALPHA else None)


def test_a_lag_is_named_only_when_it_stands_out_from_chance() -> None:
    """Synthetic: 13 lags of pure noise over 46 weeks name no lag; a driver the pump follows
    two weeks later names lag 2."""
    from datetime import date, timedelta

    rng = np.random.default_rng(11)
    days = [date(2024, 1, 7) + timedelta(weeks=i) for i in range(60)]
    driver = rng.normal(size=60)
    noise = an.TimeSeries("pump", tuple(days), tuple(rng.normal(size=60)))
    follows = an.TimeSeries(
        "pump", tuple(days), tuple(0.8 * np.roll(driver, 2) + 0.3 * rng.normal(size=60))
    )
    drv = an.TimeSeries("driver", tuple(days), tuple(driver))
    assert an.strongest_lag(noise, drv, max_lag=12) is None
    best = an.strongest_lag(follows, drv, max_lag=12)
    assert best is not None and best.lag == 2


def test_every_lag_uses_the_same_pump_weeks_when_the_driver_ends_first() -> None:
    """Synthetic: the driver's changes stop 5 weeks before the pump's. Lag 0 would lose those
    5 weeks and lag 3 only 2: each lag is scored on the weeks every lag has instead."""
    rng = np.random.default_rng(5)
    pump = _weekly("p", list(rng.normal(0, 0.01, 40)))
    drv = _weekly("d", list(rng.normal(0, 0.02, 35)))
    cross = an.cross_correlation(pump, drv, max_lag=3)
    assert [c.n for c in cross] == [32] * 4  # pump weeks 3..34: lags 0..3 all in the driver
    y, x = np.array(pump.values[3:35]), np.array(drv.values)
    for c in cross:
        assert c.r == pytest.approx(np.corrcoef(y, x[3 - c.lag : 35 - c.lag])[0, 1], abs=1e-12)


@pytest.mark.parametrize(("driver", "lags"), [(BRENT_BRL, 4), (USD, 2), (PETR4, 0)])
def test_distributed_lag_matches_numpy(
    reader: SeriesReader, pd_changes: pd.DataFrame, driver: str, lags: int
) -> None:
    pump = an.log_changes(reader.weekly(GASOLINE_BR))
    drv = an.log_changes(reader.weekly(driver))
    fit = an.distributed_lag(pump, drv, lags)

    design = pd.concat(
        {
            "y": pd_changes[GASOLINE_BR],
            **{f"x{k}": pd_changes[driver].shift(k) for k in range(lags + 1)},
        },
        axis=1,
    ).dropna()
    y = design["y"].to_numpy()
    x = np.column_stack([np.ones(len(design)), design.drop(columns="y").to_numpy()])
    beta = np.linalg.solve(x.T @ x, x.T @ y)
    resid = y - x @ beta
    dof = len(y) - x.shape[1]
    # Newey-West by the textbook sums (Bartlett weights, n/(n-k)), written out independently.
    n, k = x.shape
    big_l = math.ceil(1.3 * math.sqrt(n)) - 1  # bandwidth 1.3 sqrt(n) (LLSW 2018)
    meat = sum(resid[t] ** 2 * np.outer(x[t], x[t]) for t in range(n))
    for lag in range(1, big_l + 1):
        w = 1 - lag / (big_l + 1)
        for t in range(lag, n):
            meat = meat + w * resid[t] * resid[t - lag] * (
                np.outer(x[t], x[t - lag]) + np.outer(x[t - lag], x[t])
            )
    bread = np.linalg.inv(x.T @ x)
    cov = bread @ meat @ bread * n / (n - k)
    ones = np.ones(lags + 1)
    cumulative_se = math.sqrt(ones @ cov[1:, 1:] @ ones)

    assert fit.n == len(y)
    assert fit.dof == dof
    assert fit.intercept == pytest.approx(beta[0], abs=1e-12)
    assert list(fit.coefficients) == pytest.approx(list(beta[1:]), abs=1e-10)
    assert list(fit.std_errors) == pytest.approx(list(np.sqrt(np.diag(cov)[1:])), rel=1e-8)
    assert fit.cumulative == pytest.approx(beta[1:].sum(), abs=1e-10)
    assert fit.cumulative_se == pytest.approx(cumulative_se, rel=1e-8)
    assert fit.ci_low == pytest.approx(fit.cumulative - fit.t_crit * cumulative_se, rel=1e-8)
    assert fit.ci_high == pytest.approx(fit.cumulative + fit.t_crit * cumulative_se, rel=1e-8)
    assert fit.r2 == pytest.approx(1 - resid @ resid / ((y - y.mean()) @ (y - y.mean())), rel=1e-8)
    # "x% of a 10% driver move": a sustained +10% driver move implies 1.1**beta - 1 at the pump
    assert fit.pump_move_pct(10.0) == pytest.approx((1.1 ** beta[1:].sum() - 1) * 100, rel=1e-8)


@pytest.mark.parametrize(
    ("b", "table"),
    # 97.5% quantiles of |t| for the mean of 300 iid normals with a Bartlett variance of
    # bandwidth b * 300, simulated (6,000 draws) independently of Kiefer and Vogelsang's fit
    [(0.0, 1.960), (0.05, 2.111), (0.1, 2.254), (0.2, 2.589), (0.3, 2.891), (0.5, 3.526)],
)
def test_fixed_b_critical_values_match_simulated_quantiles(b: float, table: float) -> None:
    assert an.fixed_b_critical(b) == pytest.approx(table, abs=0.05)


def test_the_pass_through_interval_uses_the_fixed_b_critical_value_of_its_bandwidth() -> None:
    """Synthetic: 100 weeks use Bartlett bandwidth 13 (b = 0.13), so a critical value of 2.35
    rather than Student's 1.99."""
    rng = np.random.default_rng(9)
    drv = _weekly("d", list(rng.normal(0, 0.02, 104)))
    pump = _weekly("p", list(rng.normal(0, 0.01, 104)))
    fit = an.distributed_lag(pump, drv, lags=4)
    assert (fit.n, an.hac_lags(fit.n)) == (100, 12)
    assert fit.t_crit == pytest.approx(an.fixed_b_critical(0.13)) == pytest.approx(2.3519, abs=1e-4)
    assert fit.ci_high - fit.cumulative == pytest.approx(fit.t_crit * fit.cumulative_se)


@pytest.mark.parametrize(
    ("dof", "table"),
    [(1, 12.706), (2, 4.303), (5, 2.571), (10, 2.228), (30, 2.042), (120, 1.980)],
)
def test_t_quantile_matches_the_printed_table(dof: int, table: float) -> None:
    assert an.t_quantile_two_sided(0.95, dof) == pytest.approx(table, abs=6e-4)


def test_distributed_lag_needs_enough_weeks() -> None:
    days = [date(2022, 1, 2) + timedelta(weeks=i) for i in range(5)]
    pump = an.TimeSeries("p", tuple(days), (0.01, 0.02, -0.01, 0.0, 0.03))
    with pytest.raises(an.TooFewWeeksError, match="only 1 overlapping week for") as info:
        an.distributed_lag(pump, pump, lags=4)
    assert (info.value.have, info.value.need) == (1, an.MIN_LAG_WEEKS)


WEEK0 = date(2022, 1, 2)


def _weekly(name: str, values: list[float]) -> an.TimeSeries:
    days = [WEEK0 + timedelta(weeks=i) for i in range(len(values))]
    return an.TimeSeries(name, tuple(days), tuple(values))


def test_regressions_with_few_lags_still_need_the_minimum_of_weeks() -> None:
    rng = np.random.default_rng(7)
    drv = _weekly("d", list(rng.normal(0, 0.02, 7)))
    pump = _weekly("p", list(rng.normal(0, 0.01, 7)))
    # 7 weeks would do for the OLS with 0 lags (2 parameters), not for the minimum of 8
    with pytest.raises(an.TooFewWeeksError, match=r"only 7 overlapping weeks .* 0 lags; need"):
        an.distributed_lag(pump, drv, lags=0)


def test_a_pump_price_that_never_moved_has_no_regression() -> None:
    rng = np.random.default_rng(3)
    drv = _weekly("d", list(rng.normal(0, 0.02, 20)))
    with pytest.raises(an.NoChangeError, match="did not change"):
        an.distributed_lag(_weekly("p", [0.0] * 20), drv, lags=4)


def test_no_strongest_lag_is_named_on_fewer_than_the_minimum_of_weeks() -> None:
    # Three overlapping weeks can give |r| = 0.8 by chance: no r, no strongest lag.
    pump = _weekly("p", [0.01, -0.02, 0.03])
    drv = _weekly("d", [0.02, -0.01, 0.04])
    cross = an.cross_correlation(pump, drv, max_lag=2)
    assert [c.n for c in cross] == [1, 1, 1]  # only the third week has lags 0..2
    assert all(c.r is None for c in cross)
    assert an.strongest_lag(pump, drv, max_lag=2) is None
    assert an.strongest_lag(pump, drv, max_lag=0) is None  # 3 weeks at lag 0: still too few


def test_the_lag_p_value_is_seeded_by_the_data() -> None:
    """Synthetic: the same inputs give the same p-value; a strong lag gives the smallest one."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 5))
    y = rng.normal(size=60)
    assert an.max_r_p_value(y, x) == an.max_r_p_value(y.copy(), x.copy())
    assert 0.05 < an.max_r_p_value(y, x) <= 1.0
    assert an.max_r_p_value(x[:, 3] + 0.1 * y, x) == 1 / (1 + an.LAG_RESAMPLES)
    assert math.isnan(an.max_r_p_value(np.zeros(60), x))


# --- building blocks ----------------------------------------------------------------------------


def test_log_changes_skip_survey_pauses() -> None:
    sundays = [date(2020, 8, 2), date(2020, 8, 9), date(2020, 10, 18), date(2020, 10, 25)]
    weekly = an.TimeSeries("x", tuple(sundays), (4.0, 4.4, 4.5, 4.5))
    changes = an.log_changes(weekly)
    assert changes.dates == (date(2020, 8, 9), date(2020, 10, 25))
    assert changes.values == pytest.approx((math.log(1.1), 0.0))


def test_week_start_is_the_sunday() -> None:
    assert an.week_start(date(2022, 5, 1)) == date(2022, 5, 1)  # a Sunday
    assert an.week_start(date(2022, 5, 7)) == date(2022, 5, 1)  # its Saturday
    assert an.week_start(date(2022, 5, 2)) == date(2022, 5, 1)  # its Monday


def test_pearson_needs_eight_varying_pairs() -> None:
    # as a lag's correlation: three weeks gave r = 0.8 by chance
    assert an.pearson([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) is None
    assert (
        an.pearson([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]) is None
    )
    assert an.pearson([1.0] * 8, [float(i) for i in range(8)]) is None
    eight = [float(i) for i in range(8)]
    assert an.pearson(eight, eight[::-1]) == pytest.approx(-1.0)


def test_a_matrix_cell_over_fewer_than_eight_weeks_is_empty() -> None:
    """Synthetic: b overlaps a for 5 weeks, c for 12: the (a, b) cell has its count, no r."""
    rng = np.random.default_rng(8)
    a = _weekly("a", list(rng.normal(size=12)))
    b = an.TimeSeries("b", a.dates[7:], tuple(rng.normal(size=5)))
    c = _weekly("c", list(rng.normal(size=12)))
    matrix = an.correlation_matrix([a, b, c])
    assert matrix.n[0][1] == matrix.n[1][2] == 5 and matrix.n[0][2] == 12
    assert matrix.r[0][1] is None and matrix.r[1][2] is None and matrix.r[1][1] is None
    assert matrix.r[0][2] == pytest.approx(np.corrcoef(a.values, c.values)[0, 1])


# --- regional view and parity --------------------------------------------------------------------

WEEK = date(2026, 6, 21)  # the file's row date 2026-06-27 is that week's Saturday


def _state_series(reader: SeriesReader, product: str) -> dict[str, an.TimeSeries]:
    return {a: reader.raw(f"FUEL#{product}#{a}") for a in ("AC", "BA", "SP", "MG", "RR")}


def test_parity_matches_hand_computed_rows(reader: SeriesReader) -> None:
    rows = {
        p.area: p
        for p in an.parity(
            _state_series(reader, "ETHANOL"), _state_series(reader, "GASOLINE"), WEEK
        )
    }
    # AC: hidratado 5.28 / gasolina_c 7.50 = 0.7040 -> above 0.70
    assert rows["AC"].ratio == pytest.approx(0.704, abs=1e-12)
    assert rows["AC"].ethanol_pays is False
    # BA: 4.88 / 7.07 = 0.690240... -> below 0.70, ethanol pays
    assert rows["BA"].ratio == pytest.approx(0.6902404526, abs=1e-9)
    assert rows["BA"].ethanol_pays is True
    # SP: 3.82 / 6.45 = 0.592248...
    assert rows["SP"].ratio == pytest.approx(0.5922480620, abs=1e-9)


@pytest.mark.parametrize(
    ("ethanol", "gasoline", "pays"),
    [
        (4.34, 6.20, True),  # ES, week 2024-07-14: exactly 0.70 (4.34 / 6.2 in floats is 0.7)
        (5.53, 7.90, True),  # RR, week 2026-03-22: exactly 0.70
        (4.20, 6.00, True),  # exactly 0.70, 0.7000000000000001 in floats
        (4.201, 6.00, False),  # a tenth of a centavo above
        (4.199, 6.00, True),
    ],
)
def test_parity_at_exactly_70_percent_favours_ethanol(
    ethanol: float, gasoline: float, pays: bool
) -> None:
    """Synthetic weeks with the bundled ties' prices: the rule is ethanol <= 0.70 x gasoline."""
    row = an.parity({"ES": _weekly("e", [ethanol])}, {"ES": _weekly("g", [gasoline])}, WEEK0)[0]
    assert row.ethanol_pays is pays
    if pays and ethanol in (4.34, 5.53, 4.20):
        assert row.ratio == 0.7  # the quotient of the published milli-reais, no float noise


@pytest.mark.parametrize(("week", "area"), [(date(2024, 7, 14), "ES"), (date(2026, 3, 22), "RR")])
def test_the_bundled_ties_at_70_percent_favour_ethanol(
    reader: SeriesReader, week: date, area: str
) -> None:
    # ES 4.34 / 6.20 and RR 5.53 / 7.90: both exactly 0.70, both were called "gasoline"
    eth, gas = (reader.raw(f"FUEL#{p}#{area}", week, week) for p in ("ETHANOL", "GASOLINE"))
    (row,) = an.parity({area: eth}, {area: gas}, week)
    assert (row.ratio, row.ethanol_pays) == (0.7, True)


def test_regional_changes_match_hand_computed_rows(reader: SeriesReader) -> None:
    rows = {r.area: r for r in an.regional_view(_state_series(reader, "GASOLINE"), WEEK)}
    sp = rows["SP"]
    assert sp.price == 6.45
    # 4 weeks: 2026-05-24 (row 2026-05-30: 6.47): (6.45 / 6.47 - 1) * 100 = -0.30912 %
    assert sp.changes[4] == pytest.approx(-0.3091190108, abs=1e-9)
    # 12 weeks: 2026-03-29 (row 2026-04-04: 6.69): (6.45 / 6.69 - 1) * 100 = -3.58744 %
    assert sp.changes[12] == pytest.approx(-3.5874439462, abs=1e-9)
    # 52 weeks: 2025-06-22 (row 2025-06-28: 6.07): (6.45 / 6.07 - 1) * 100 = 6.26030 %
    assert sp.changes[52] == pytest.approx(6.2602965404, abs=1e-9)


def test_spread_matches_pandas(reader: SeriesReader) -> None:
    prices = {r.area: r.price for r in an.regional_view(_state_series(reader, "GASOLINE"), WEEK)}
    spread = an.spread(prices)
    assert spread is not None
    want = pd.Series(prices)
    assert spread.range == pytest.approx(want.max() - want.min())
    assert spread.std == pytest.approx(want.std(ddof=1))
    assert (spread.min_area, spread.max_area) == (want.idxmin(), want.idxmax())
    assert an.spread({}) is None


@pytest.mark.parametrize(
    ("prices", "lows", "highs", "extremes"),
    [
        # the 4th decimal (a float's noise, or a 4-decimal workbook cell): both read R$ 6,29
        ({"RR": 6.2904, "AC": 6.29, "SP": 7.1}, ("AC", "RR"), ("SP",), ("AC", "SP")),
        # ANP's 3rd decimal: R$ 6,29 and R$ 6,29 on the map, the cheaper named first
        ({"RR": 6.286, "AC": 6.294, "SP": 7.1}, ("AC", "RR"), ("SP",), ("RR", "SP")),
        # R$ 6,28 and R$ 6,29: no tie, whatever the gap (2 milli-reais)
        ({"RR": 6.284, "AC": 6.286, "SP": 7.1}, ("RR",), ("SP",), ("RR", "SP")),
        # 6.125 is exact in binary and reads R$ 6,13 (half away from zero, as Intl rounds),
        # not 6,12 as Python's round(6.125, 2): it ties with 6.13
        ({"PI": 5.0, "AP": 6.125, "PB": 6.13}, ("PI",), ("AP", "PB"), ("PI", "PB")),
    ],
)
def test_the_spread_ties_states_whose_prices_read_the_same_centavo(
    prices: dict[str, float],
    lows: tuple[str, ...],
    highs: tuple[str, ...],
    extremes: tuple[str, str],
) -> None:
    """The map writes prices in centavos (R$ 6,29): two states it shows at the same price
    were not both named cheapest when they differed at the 3rd or 4th decimal. The extremes'
    prices and areas stay exact: ``min_area`` holds ``min_price``."""
    spread = an.spread(prices)
    assert spread is not None
    assert (spread.min_areas, spread.max_areas) == (lows, highs)
    assert (spread.min_area, spread.max_area) == extremes
    assert (spread.min_price, spread.max_price) == (min(prices.values()), max(prices.values()))


def test_the_pass_through_interval_widens_for_autocorrelated_errors() -> None:
    """Synthetic: a driver and errors that both follow an AR(1) with rho 0.6 (as weekly
    price changes do). Plain OLS errors understate the cumulative effect's uncertainty; the
    Newey-West errors the interval uses are larger (the true ratio is 1.46)."""
    rng = np.random.default_rng(7)
    n, rho = 400, 0.6
    x = np.zeros(n)
    e = np.zeros(n)
    for t in range(1, n):
        x[t] = rho * x[t - 1] + rng.normal()
        e[t] = rho * e[t - 1] + rng.normal()
    y = 0.3 * x + e
    design = np.column_stack([np.ones(n), x])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    resid = y - design @ beta
    ols = (resid @ resid / (n - 2)) * np.linalg.inv(design.T @ design)
    hac = an.newey_west(design, resid)
    assert math.sqrt(hac[1, 1]) > 1.25 * math.sqrt(ols[1, 1])
    # and the interval's fixed-b critical value (bandwidth 27 of 400 weeks) widens it further
    b = (an.hac_lags(n) + 1) / n
    half_hac = an.fixed_b_critical(b) * math.sqrt(hac[1, 1])
    half_ols = an.t_quantile_two_sided(0.95, n - 2) * math.sqrt(ols[1, 1])
    assert half_hac > 1.4 * half_ols
