"""The Outlook API's verdict needs a minimum of scored weeks, and each horizon says which week
its scoring began (the history may start after the backtest window opens)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.dashboard.conftest import csv_misses
from tests.outlook.conftest import store_known

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import load_history
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.hac import fixed_b_p_value
from fuelpipe.outlook import accuracy as outlook_accuracy
from fuelpipe.outlook.accuracy import (
    MIN_SCORED_WEEKS,
    AccuracyOut,
    accuracy_out,
    first_weeks,
    verdict_of,
)
from fuelpipe.outlook.backtest import (
    Scored,
    diebold_mariano,
    score,
    served_score,
    walk_forward_panel,
)
from fuelpipe.outlook.params import HORIZONS
from fuelpipe.outlook.series import Lags, inputs_for
from fuelpipe.stages.outlook import after_last_gap, refresh_outlook

DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def _one_week_ahead(
    n: int, ratio: float | None, dm_p: float | None = 0.01, no_change_n: int = 0
) -> list[AccuracyOut]:
    """Synthetic accuracy rows: horizon 1 scored over ``n`` weeks, horizon 2 beside it."""
    return [
        AccuracyOut(
            horizon=h,
            n=n,
            mae=0.01,
            naive_mae=0.02,
            ratio=ratio,
            bias=0.0,
            coverage80=0.8,
            coverage95=0.95,
            dm_p=dm_p,
            no_change_n=no_change_n,
        )
        for h in (1, 2)
    ]


@pytest.mark.parametrize("weeks", [0, 6, MIN_SCORED_WEEKS - 1])
def test_fewer_scored_weeks_than_the_minimum_give_no_verdict(weeks: int) -> None:
    assert MIN_SCORED_WEEKS == 12
    assert verdict_of(_one_week_ahead(weeks, 0.5)) is None
    assert verdict_of(_one_week_ahead(weeks, 1.5)) is None


def test_the_minimum_of_scored_weeks_gives_a_verdict() -> None:
    assert verdict_of(_one_week_ahead(MIN_SCORED_WEEKS, 0.8)) == "beats"
    assert verdict_of(_one_week_ahead(MIN_SCORED_WEEKS, 1.0)) == "does_not_beat"
    assert verdict_of(_one_week_ahead(MIN_SCORED_WEEKS, None)) is None  # no naive error
    assert verdict_of([]) is None


@pytest.mark.parametrize("weeks", [1, MIN_SCORED_WEEKS, 40])
def test_no_change_fallbacks_scored_against_no_change_give_no_verdict(weeks: int) -> None:
    """Synthetic rows: when every scored forecast was the states' no-change fallback, the
    comparison with no change does not apply, however many weeks; one model forecast among
    them decide nothing either, MIN_SCORED_WEEKS of them and the usual rule decides."""
    assert verdict_of(_one_week_ahead(weeks, None, None, no_change_n=weeks)) == "not_applicable"
    mixed = _one_week_ahead(MIN_SCORED_WEEKS, 0.8, no_change_n=MIN_SCORED_WEEKS - 1)
    assert verdict_of(mixed) is None
    enough = _one_week_ahead(2 * MIN_SCORED_WEEKS, 0.8, no_change_n=MIN_SCORED_WEEKS)
    assert verdict_of(enough) == "beats"


def _scored(week: int, actual: float, point: float, no_change: bool) -> Scored:
    return Scored(
        as_of_week=date(2025, 1, 5) + timedelta(weeks=week),
        horizon=1,
        week=date(2025, 1, 12) + timedelta(weeks=week),
        actual=actual,
        point=actual if no_change else point,
        naive=actual - 0.02 if no_change else 6.0,
        lo80=actual - 0.05,
        hi80=actual + 0.05,
        lo95=actual - 0.1,
        hi95=actual + 0.1,
        no_change=no_change,
    )


def test_the_fallback_weeks_neither_dilute_the_ratio_nor_count_towards_a_verdict() -> None:
    """Synthetic: 10 model forecasts with half no change's error (ratio 0.5, p tiny) and 30
    fallback weeks, whose loss difference is 0 by construction. Counting them gave a ratio of
    0.8, 40 weeks and a verdict; the model's 10 are fewer than MIN_SCORED_WEEKS: no verdict,
    and the ratio is the model's own."""
    rng = np.random.default_rng(5)
    model = [
        _scored(w, 6.0 + e, 6.0 + e / 2, False) for w, e in enumerate(rng.uniform(0.05, 0.15, 10))
    ]
    fallback = [_scored(10 + w, 6.0, 6.0, True) for w in range(30)]
    rows = model + fallback
    (every,) = score(rows, (1,))
    (led,) = score(model, (1,))
    out = accuracy_out(*served_score(rows, (1,)), date(2025, 1, 12))
    assert (out.n, out.no_change_n) == (40, 30)
    assert out.ratio == pytest.approx(0.5, abs=1e-4)
    assert out.mae == pytest.approx(led.mae, abs=1e-4)
    assert out.coverage95 == pytest.approx(every.coverage95, abs=1e-4)
    assert verdict_of([out]) is None
    more = model + [_scored(40 + w, 6.0 + 0.1, 6.05, False) for w in range(2)]
    out = accuracy_out(*served_score(more + fallback, (1,)), None)
    assert out.dm_p is not None and out.dm_p < 0.05
    assert verdict_of([out]) == "beats"


def test_the_accuracy_gives_the_models_own_coverage_beside_every_forecasts() -> None:
    """Synthetic: 10 model forecasts, 4 of them outside their 80% band, and 30 no-change
    fallback forecasts inside theirs. The served coverage of every forecast (36/40) is mostly
    the fallback's; the model's own (6/10) is served beside it, and is None without any."""
    model = [_scored(w, 6.0, 6.01, False) for w in range(10)]
    model = [replace(s, lo80=s.actual + 0.01) for s in model[:4]] + model[4:]
    fallback = [_scored(10 + w, 6.0, 6.0, True) for w in range(30)]
    out = accuracy_out(*served_score(model + fallback, (1,)), None)
    assert (out.n, out.no_change_n) == (40, 30)
    assert (out.coverage80, out.coverage80_model) == (0.9, 0.6)
    assert out.coverage95 == out.coverage95_model == 1.0
    alone = accuracy_out(*served_score(fallback, (1,)), None)
    assert alone.coverage80 == 1.0 and alone.coverage80_model is None
    assert alone.coverage95_model is None


def test_a_ratio_the_test_cannot_tell_from_no_change_is_no_verdict_either_way() -> None:
    """A ratio of 0.95 over 22 weeks had p = 0.78: the page says there is no clear difference
    instead of 'beats'; the same holds for a ratio above 1."""
    weeks = MIN_SCORED_WEEKS + 10
    assert verdict_of(_one_week_ahead(weeks, 0.95, dm_p=0.78)) == "no_clear_difference"
    assert verdict_of(_one_week_ahead(weeks, 1.10, dm_p=0.30)) == "no_clear_difference"
    assert verdict_of(_one_week_ahead(weeks, 1.10, dm_p=0.01)) == "does_not_beat"
    assert verdict_of(_one_week_ahead(weeks, 0.80, dm_p=None)) == "no_clear_difference"


def test_the_diebold_mariano_p_value_separates_a_real_gain_from_noise() -> None:
    """Synthetic loss differences: a steady gain is significant, zero-mean noise is not, and
    two or fewer weeks give no p-value."""
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 1.0, 40)
    assert diebold_mariano(noise - noise.mean(), 1) > 0.5
    assert diebold_mariano(noise * 0.1 - 0.5, 1) < 0.001
    assert math.isnan(diebold_mariano(np.array([0.1, -0.1]), 1))


def _ar1(rho: float, n: int, draws: int, seed: int) -> np.ndarray:
    """``draws`` AR(1) series of length ``n`` with Student-t(5) shocks (fat tails, as weekly
    price errors), 100 burn-in steps dropped."""
    shocks = np.random.default_rng(seed).standard_t(5, (draws, n + 100))
    d = np.empty_like(shocks)
    d[:, 0] = shocks[:, 0]
    for i in range(1, n + 100):
        d[:, i] = rho * d[:, i - 1] + shocks[:, i]
    return d[:, 100:]


def test_the_diebold_mariano_test_keeps_its_size_when_the_difference_is_autocorrelated() -> None:
    """A true null (mean 0) with loss differences AR(1) at rho 0.3, gasoline's 1-week lag-1
    autocorrelation in the backtest: p < 0.05 about 5% of the time. With h - 1 = 0
    autocovariances (Diebold and Mariano's, for optimal forecasts only) it was 15%."""
    null = _ar1(0.3, 200, 600, seed=7)
    rejected = np.mean([diebold_mariano(d, 1) < 0.05 for d in null])
    assert 0.02 < rejected < 0.09


def test_the_diebold_mariano_test_still_finds_a_real_difference() -> None:
    """The same autocorrelated differences shifted by 0.4 of their spread (a model whose
    absolute errors are that much smaller on average) are found nearly every time."""
    shifted = [d + 0.4 * d.std() for d in _ar1(0.3, 200, 200, seed=8)]
    assert np.mean([diebold_mariano(d, 1) < 0.05 for d in shifted]) > 0.9


def _bartlett_t(d: np.ndarray, lags: int) -> float:
    """The mean's t statistic with a Bartlett variance of ``lags`` lags, written out (with
    ``newey_west``'s n/(n-1) factor)."""
    n, e = len(d), d - d.mean()
    variance = float(e @ e) / n
    for lag in range(1, lags + 1):
        variance += 2.0 * (1.0 - lag / (lags + 1)) * float(e[lag:] @ e[:-lag]) / n
    return float(d.mean()) / math.sqrt(variance * n / (n - 1) / n)


def test_the_diebold_mariano_p_value_is_fixed_b_on_a_bartlett_variance() -> None:
    """Synthetic: 100 loss differences shifted so their mean's t statistic with a Bartlett
    variance of bandwidth ceil(1.3 sqrt(100)) = 13 (b = 0.13) is Kiefer and Vogelsang's 5%
    critical value there, 2.352: p = 0.05 (Student's t on 99 gave 0.021). At 20 weeks ahead
    the forecasts' overlap sets the bandwidth, h - 1 = 19 lags (b = 0.2)."""
    e = np.random.default_rng(12).normal(0.0, 1.0, 100)
    e -= e.mean()
    d = e + 2.3519 / _bartlett_t(e + 1.0, 12)  # the t statistic is linear in the mean
    assert _bartlett_t(d, 12) == pytest.approx(2.3519, abs=1e-9)
    assert diebold_mariano(d, 1) == pytest.approx(0.05, abs=2e-4)
    assert diebold_mariano(d, 20) == pytest.approx(fixed_b_p_value(_bartlett_t(d, 19), 0.2))


def test_each_horizon_says_the_first_week_it_scored() -> None:
    start = date(2024, 6, 23)
    scored = [(h, start + timedelta(weeks=w + h)) for w in range(20) for h in (1, 2, 3)]
    scored.reverse()  # any order
    assert first_weeks(scored) == {h: start + timedelta(weeks=h) for h in (1, 2, 3)}


def test_accuracy_scores_the_weeks_the_served_model_trains_on(tmp_path: Path) -> None:
    """São Paulo's real gasoline history stops from 2019-06 to 2024-06: the stored nowcast
    trains on the weeks after that hole only, so the accuracy shown beside it is scored on
    them too, not on a backtest over 2004-2019 (real bundled files, datasets/); by the pooled
    states' panel (here São Paulo alone), as the forecast is served."""
    history = load_history(DATASETS)
    now = datetime(2026, 6, 27, 12, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    keys = ("FUEL#GASOLINE#SP", "CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
    with SqliteStore(tmp_path / "store.sqlite") as store:
        store_known(store, history, keys, now)
        refresh_outlook(store, DEFAULT_CATALOG, now, keys=["FUEL#GASOLINE#SP"])
        app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(now), cache_ttl_s=0)
        with TestClient(app) as client:
            sp = {"fuel": "GASOLINE", "area": "SP"}
            body = client.get("/api/outlook", params=sp).json()
            csv_text = client.get("/api/outlook", params={**sp, "format": "csv"}).text
        points = {
            k: [(r.date, float(r.value)) for r in store.query(k) if r.value is not None]
            for k in keys
        }
    assert body["available"]
    firsts = [a["first_week"] for a in body["accuracy"] if a["n"]]
    assert firsts and min(firsts) > "2024-06-23"
    # The same backtest on the weeks after the hole, as the served model sees them.
    fuel = after_last_gap(points["FUEL#GASOLINE#SP"])
    assert fuel[0][0] == date(2024, 6, 23)
    inputs = inputs_for(
        {**points, "FUEL#GASOLINE#SP": fuel},
        "FUEL#GASOLINE#SP",
        usd_key="CURRENCY#USD",
        brent_key="COMMODITY#BRENT",
        futures_key="COMMODITY#BRENT_FUTURES",
    )
    start = fuel[-1][0] - timedelta(weeks=outlook_accuracy.ACCURACY_WEEKS)
    panel = walk_forward_panel({"SP": inputs}, start, lags=Lags.from_catalog(DEFAULT_CATALOG))
    scored = panel["SP"]
    want = {s.horizon: s.n for s in score(scored, HORIZONS)}
    assert {a["horizon"]: a["n"] for a in body["accuracy"]} == want
    one = next(s for s in score(scored) if s.horizon == 1)
    (got,) = [a for a in body["accuracy"] if a["horizon"] == 1]
    assert got["mae"] == pytest.approx(one.mae, abs=1e-4)
    # Its CSV gives the forecast's own fields on every week's row (it had no unit, method or
    # driver move); `available` is true wherever it has a row.
    assert csv_misses(body, csv_text, ["available"]) == []


def test_the_map_gives_each_states_scored_accuracy_and_verdict_at_its_horizon(
    tmp_path: Path,
) -> None:
    """A state's history is short (the real state files restart in 2024-06): the map gives each
    state its backtest at the horizon shown, and the verdict rule of the area view (MIN_SCORED_
    WEEKS weeks and a Diebold-Mariano p below VERDICT_P), so a state with a few scored weeks is
    marked ``unknown`` instead of being shown as if it had been scored."""
    history = load_history(DATASETS)
    now = datetime(2026, 6, 27, 12, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    drivers = ("CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
    sp, ac, br = "FUEL#GASOLINE#SP", "FUEL#GASOLINE#AC", "FUEL#GASOLINE#BR"
    short = datetime(2026, 3, 28, 12, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    with SqliteStore(tmp_path / "store.sqlite") as store:
        store_known(store, history, (sp, br, *drivers), now)
        store_known(store, history, (ac,), short)  # AC known only to 2026-03: a few weeks scored
        refresh_outlook(store, DEFAULT_CATALOG, now, keys=[sp, ac])
        app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(now), cache_ttl_s=0)
        with TestClient(app) as client:
            bodies = {
                h: client.get("/api/outlook/map", params={"fuel": "GASOLINE", "horizon": h})
                for h in (1, 2, 3)
            }
            csv_text = client.get(
                "/api/outlook/map", params={"fuel": "GASOLINE", "horizon": 1, "format": "csv"}
            ).text
        points = {
            k: [(r.date, float(r.value)) for r in store.query(k) if r.value is not None]
            for k in (sp, ac, br, *drivers)
        }
    members = {
        uf: inputs_for(
            points, key, usd_key=drivers[0], brent_key=drivers[1], futures_key=drivers[2]
        )
        for uf, key in (("SP", sp), ("AC", ac), ("BR", br))
    }
    national = members.pop("BR")
    panel = walk_forward_panel(members, lags=lags, national=national)  # as served
    for h, response in bodies.items():
        body = response.json()
        assert (body["min_scored_weeks"], body["verdict_p"]) == (12, 0.05)
        states = {s["area"]: s for s in body["states"]}
        assert set(states) == {"SP", "AC"}
        for uf, key in (("SP", sp), ("AC", ac)):
            start = points[key][-1][0] - timedelta(weeks=outlook_accuracy.ACCURACY_WEEKS)
            # the model's own forecasts: the no-change fallback's weeks are no evidence
            want = score([s for s in panel[uf] if s.week >= start and not s.no_change], (h,))[0]
            got = states[uf]
            assert got["scored_weeks"] == want.n
            assert got["ratio"] == pytest.approx(want.ratio, abs=1e-4)
            if want.n < MIN_SCORED_WEEKS:
                assert got["verdict"] == "unknown"
            elif want.dm_p >= outlook_accuracy.VERDICT_P:
                assert got["verdict"] == "no_clear_difference"
            else:
                assert got["verdict"] == ("beats" if want.ratio < 1 else "does_not_beat")
        # SP's scored weeks are mostly no change (Brazil's file ends on 2026-03-08): counted,
        # they made 12 or more and a verdict; the model's own are fewer, and decide nothing
        start = points[sp][-1][0] - timedelta(weeks=outlook_accuracy.ACCURACY_WEEKS)
        served = [s for s in panel["SP"] if s.week >= start and s.horizon == h]
        assert len(served) >= MIN_SCORED_WEEKS > states["SP"]["scored_weeks"] > 0
        assert states["SP"]["verdict"] == "unknown"
        assert 0 < states["AC"]["scored_weeks"] < MIN_SCORED_WEEKS
        assert states["AC"]["verdict"] == "unknown"
        # The bundled Brazil file ends on 2026-03-08: SP's forecast from 2026-06-21 is no change
        # (its backtest, led by Brazil before, keeps its verdict); AC's from 2026-03-22 too.
        for uf in ("SP", "AC"):
            assert states[uf]["method"] == "no_change"
            assert states[uf]["no_change_reason"] == "national_ends_before"
            assert states[uf]["change"] == 0.0
    header = csv_text.splitlines()[0].split(",")
    assert header[-8:-3] == ["ratio", "dm_p", "verdict", "method", "no_change_reason"]
    assert header[-1] == "other_tables"  # the map's states out of date: table=behind
    # The reason of a no-change state and what a verdict needs, as the map's JSON gives them
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert {r["no_change_reason"] for r in rows} == {"national_ends_before"}
    assert csv_misses(bodies[1].json(), csv_text) == []
