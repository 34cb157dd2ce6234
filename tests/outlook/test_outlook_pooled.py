"""The states' pooled outlook (outlook/pooled.py) on SYNTHETIC panels: states that share their
dynamics and have short histories, as the real state files since 2024-06 do.

Every panel here is made up (seeded random walks named ``synthetic_*``), not ANP data: it
checks that pooling beats each state's own regression where that regression overfits, that no
row published after an as-of time reaches a forecast made then, that the bands cover about
their nominal share, and that the stage stores the pooled forecast the backtest scores.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook import pooled
from fuelpipe.outlook.backtest import score, walk_forward, walk_forward_panel
from fuelpipe.outlook.model import nowcast
from fuelpipe.outlook.params import PoolParams
from fuelpipe.outlook.records import from_record
from fuelpipe.outlook.series import (
    Cutoffs,
    Inputs,
    Lags,
    Series,
    day_number,
    day_of,
    known_at,
)
from fuelpipe.stages.outlook import refresh_outlook

FIRST = date(2024, 6, 23)  # a Sunday, as the real state files restart
UFS = ("AC", "AL", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "PR", "RJ", "RS", "SC", "SP")


def synthetic_drivers(weeks: int, seed: int = 1) -> tuple[Series, Series]:
    """Brent (USD/bbl) and PTAX, a value every day from 60 days before the first week to 30
    after the last: log random walks."""
    first = day_number(FIRST) - 60
    n = 7 * weeks + 90
    rng = np.random.default_rng(seed)
    days = first + np.arange(n, dtype=np.int64)
    brent = 80.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, n)))
    usd = 5.0 * np.exp(np.cumsum(rng.normal(0.0, 0.005, n)))
    return Series(days, brent), Series(days, usd)


def synthetic_panel(states: int, weeks: int, seed: int = 3) -> dict[str, Inputs]:
    """States sharing one weekly dynamic: a common drift and common shocks, plus each state's
    own noise; the drivers carry no signal. Each state's own regression (ten regressors on
    52–75 training weeks) can only overfit it."""
    rng = np.random.default_rng(seed)
    common = 0.002 + rng.normal(0.0, 0.008, weeks)
    brent, usd = synthetic_drivers(weeks)
    days = day_number(FIRST) + 7 * np.arange(weeks, dtype=np.int64)
    out = {}
    for uf in UFS[:states]:
        changes = common + rng.normal(0.0, 0.006, weeks)
        prices = rng.uniform(5.5, 6.5) * np.exp(np.cumsum(changes))
        out[uf] = Inputs(Series(days, prices), brent, usd, Series.empty())
    return out


def _mae(rows: list) -> dict[int, float]:
    return {s.horizon: s.mae for s in score(rows)}


@pytest.mark.parametrize("seed", [3, 4])
def test_the_pooled_fit_beats_each_states_own_on_a_synthetic_panel_of_short_histories(seed):
    """On 110 weeks per state (52–75 training weeks at the scored ones), each state's own
    regression fits its noise: ten regressors that carry no signal. The fit pooled over the
    states beats it at 1, 2 and 4 weeks on the very same scored steps (by 3% at least, and
    more the longer the horizon)."""
    panel = synthetic_panel(12, 110, seed)
    pooled_rows = walk_forward_panel(panel)
    own_rows = {uf: walk_forward(inputs)[1] for uf, inputs in panel.items()}
    # The same steps: the pooled forecast is served from the same week on.
    key = {uf: {(s.as_of_week, s.horizon) for s in rows} for uf, rows in own_rows.items()}
    assert all(key[uf] == {(s.as_of_week, s.horizon) for s in pooled_rows[uf]} for uf in panel)
    pooled_mae = _mae([s for rows in pooled_rows.values() for s in rows])
    own_mae = _mae([s for rows in own_rows.values() for s in rows])
    ratios = [pooled_mae[h] / own_mae[h] for h in (1, 2, 4)]
    assert max(ratios) < 0.97, ratios
    assert ratios[2] < ratios[0], ratios


def test_the_pooled_bands_cover_their_nominal_share_on_a_synthetic_panel():
    """Bands from the panel's walk-forward errors cover about 80% and 95% at 1, 2 and 4 weeks
    on a stationary synthetic panel; each state's own leave-one-out bands fall short at 4."""
    panel = synthetic_panel(15, 150, seed=5)
    rows = [s for r in walk_forward_panel(panel).values() for s in r]
    for s in score(rows):
        assert abs(s.coverage80 - 0.80) <= 0.05, s
        assert abs(s.coverage95 - 0.95) <= 0.04, s
    own = [s for inputs in panel.values() for s in walk_forward(inputs)[1]]
    own4 = next(s for s in score(own) if s.horizon == 4)
    pooled4 = next(s for s in score(rows) if s.horizon == 4)
    assert own4.coverage80 < pooled4.coverage80 - 0.05


def _tampered_after(inputs: Inputs, cut: Cutoffs, seed: int) -> Inputs:
    """The inputs with every value after its cutoff replaced by another (as if revised)."""
    rng = np.random.default_rng(seed)

    def after(series: Series, last: int) -> Series:
        later = series.days > last
        values = series.values.copy()
        values[later] *= rng.uniform(0.5, 1.5, int(later.sum()))
        return Series(series.days, values)

    return Inputs(
        after(inputs.fuel, cut.fuel),
        after(inputs.brent, cut.brent),
        after(inputs.usd, cut.usd),
        inputs.futures,
    )


@pytest.mark.parametrize("week", [85, 96])
def test_no_value_published_after_the_as_of_time_reaches_a_pooled_forecast(week):
    """At a week's publication, every state's pooled forecast (its fit, its ridge rows, its
    band errors) is the same when every value published later, in any state or driver, is
    replaced; a value published before changes it (the check can fail). And it is the
    forecast the backtest scores from that week (served as scored)."""
    panel = synthetic_panel(8, 110)
    members = [panel[uf] for uf in sorted(panel)]
    day = int(members[0].fuel.days[week])
    as_of = known_at(day_of(day), Lags().fuel) + timedelta(hours=5)
    cut = Cutoffs.at(known_at(day_of(day), Lags().fuel), Lags())
    made = pooled.nowcast_panel(members, as_of)
    tampered = [_tampered_after(m, cut, i) for i, m in enumerate(members)]
    assert pooled.nowcast_panel(tampered, as_of) == made
    assert all(f is not None for f in made)
    earlier = [replace(m, fuel=m.fuel) for m in members]
    values = earlier[3].fuel.values.copy()
    values[week - 10] *= 1.05  # a week whose outcome was published by then
    earlier[3] = replace(earlier[3], fuel=Series(earlier[3].fuel.days, values))
    assert pooled.nowcast_panel(earlier, as_of) != made
    scored = walk_forward_panel(dict(zip(sorted(panel), members, strict=True)))
    for uf, forecast in zip(sorted(panel), made, strict=True):
        assert forecast is not None
        steps = {s.horizon: s for s in forecast.steps}
        at = [s for s in scored[uf] if s.as_of_week == day_of(day)]
        assert at
        for s in at:
            step = steps[s.horizon]
            assert (s.point, s.lo80, s.hi80, s.lo95, s.hi95) == (
                step.point,
                step.lo80,
                step.hi80,
                step.lo95,
                step.hi95,
            )


def test_pooled_training_rows_are_those_whose_outcome_was_published():
    """The panel's training rows at a week are exactly the rows, in every state, whose week
    h weeks on was published by then: the running sums read at that week equal the sums over
    those rows, and no later row comes before them."""
    from fuelpipe.outlook.model import build_samples
    from fuelpipe.outlook.params import HORIZONS, Params

    panel = synthetic_panel(4, 100)
    parts = pooled._parts([panel[uf] for uf in sorted(panel)])
    samples = [build_samples(p, Lags(), Params()) for _, p in parts]
    table = pooled._table(samples)
    week = int(samples[0].weeks[90])
    for h in (1, 4):
        training = pooled._training(table, HORIZONS.index(h))
        count = int(np.searchsorted(training.target_days, week, side="right"))
        assert np.all(training.target_days[:count] <= week)
        assert np.all(training.target_days[count:] > week)
        x = np.vstack(
            [
                s.features[
                    (s.weeks + 7 * h <= week)
                    & np.isin(s.weeks + 7 * h, s.weeks)
                    & np.all(np.isfinite(s.features), axis=1)
                ]
                for s in samples
            ]
        )
        assert count == len(x) > 0
        np.testing.assert_allclose(training.sums(count)[0], x.T @ x, rtol=1e-10, atol=1e-14)


def _store_panel(store: SqliteStore, panel: dict[str, Inputs], upto: int) -> None:
    first = next(iter(panel.values()))
    for key, series in (("CURRENCY#USD", first.usd), ("COMMODITY#BRENT", first.brent)):
        store.put_records(
            [
                Record(key, day_of(int(d)), Decimal(f"{v:.6f}"), Status.OK)
                for d, v in zip(series.days, series.values, strict=True)
            ]
        )
    for uf, inputs in panel.items():
        store.put_records(
            [
                Record(f"FUEL#GASOLINE#{uf}", day_of(int(d)), Decimal(f"{v:.6f}"), Status.OK)
                for d, v in zip(inputs.fuel.days[:upto], inputs.fuel.values[:upto], strict=True)
            ]
        )


def _stored_inputs(store: SqliteStore, keys: list[str]) -> list[Inputs]:
    def series(key: str) -> Series:
        return Series.of((r.date, float(r.value)) for r in store.query(key) if r.value is not None)

    brent, usd = series("COMMODITY#BRENT"), series("CURRENCY#USD")
    return [Inputs(series(k), brent, usd, Series.empty()) for k in keys]


def test_the_stage_stores_each_states_pooled_forecast_walking_the_panel_once(tmp_path, monkeypatch):
    """The refresh walks the gasoline states' panel once and stores for each state the pooled
    forecast (as ``nowcast_panel`` makes it from the store), not its own regression's; a
    second refresh finds nothing new."""
    panel = synthetic_panel(6, 110)
    walks: list[int] = []
    real_walk = pooled.walk_panel

    def counted(*args, **kwargs):
        walks.append(1)
        return real_walk(*args, **kwargs)

    monkeypatch.setattr(pooled, "walk_panel", counted)
    with SqliteStore(tmp_path / "store.sqlite") as store:
        _store_panel(store, panel, 100)
        day = int(next(iter(panel.values())).fuel.days[99])
        as_of = known_at(day_of(day), Lags.from_catalog(DEFAULT_CATALOG).fuel) + timedelta(hours=3)
        keys = [f"FUEL#GASOLINE#{uf}" for uf in sorted(panel)]
        report = refresh_outlook(store, DEFAULT_CATALOG, as_of)
        assert (report.made, report.problems) == (len(panel), [])
        assert len(walks) == 1
        members = _stored_inputs(store, keys)
        lags = Lags.from_catalog(DEFAULT_CATALOG)
        want = pooled.nowcast_panel(members, as_of, lags)
        differs = 0
        for uf, inputs, forecast in zip(sorted(panel), members, want, strict=True):
            (record,) = store.query(outlook_key("GASOLINE", uf))
            assert ";panel=" in str(record.attrs["inputs"])
            stored = from_record(record).forecast
            assert forecast is not None
            for got, made in zip(stored.steps, forecast.steps, strict=True):
                for band in ("point", "lo80", "hi80", "lo95", "hi95"):
                    assert getattr(got, band) == pytest.approx(getattr(made, band), abs=1e-4)
            own = nowcast(inputs, as_of, lags)
            assert own is not None
            differs += abs(own.steps[3].point - stored.steps[3].point) > 1e-3
        assert differs >= len(panel) // 2
        again = refresh_outlook(store, DEFAULT_CATALOG, as_of)
        assert (again.made, again.unchanged) == (0, len(panel))


def test_pool_params_are_checked():
    with pytest.raises(ValueError, match="pooled outlook parameters"):
        PoolParams(ridge=-1.0)
    with pytest.raises(ValueError, match="pooled outlook parameters"):
        PoolParams(min_errors=0)


def test_a_stretch_after_a_long_hole_starts_the_panel_afresh(monkeypatch):
    """The union of the states' weeks restarts after a hole of over 26 weeks (the real files'
    2019 → 2024): the panel's rows and band errors are the last era's only, as the stage reads
    a state's weeks after its last long hole. (Walked across the hole, they would differ.)"""
    old = synthetic_panel(5, 110, seed=11)
    new = synthetic_panel(5, 100, seed=12)
    gap = 7 * (110 + 60)  # the old era ends 60 weeks before the new one starts
    n = gap + 7 * 100 + 200
    rng = np.random.default_rng(13)
    days = day_number(FIRST) - gap - 60 + np.arange(n, dtype=np.int64)
    brent = Series(days, 80.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, n))))
    usd = Series(days, 5.0 * np.exp(np.cumsum(rng.normal(0.0, 0.005, n))))
    joined, alone = {}, {}
    for uf in new:
        o, f = old[uf].fuel, new[uf].fuel
        both = Series(np.concatenate([o.days - gap, f.days]), np.concatenate([o.values, f.values]))
        joined[uf] = Inputs(both, brent, usd, Series.empty())
        alone[uf] = Inputs(f, brent, usd, Series.empty())
    start = day_of(int(new["AC"].fuel.days[0]))
    assert walk_forward_panel(joined, start=start) == walk_forward_panel(alone)
    assert pooled.era_start([m.fuel for m in joined.values()]) == int(new["AC"].fuel.days[0])
    as_of = known_at(day_of(int(new["AC"].fuel.days[-1])), Lags().fuel)
    served = pooled.nowcast_panel([joined[uf] for uf in sorted(joined)], as_of)
    assert served == pooled.nowcast_panel([alone[uf] for uf in sorted(alone)], as_of)
    monkeypatch.setattr(pooled, "era_start", lambda fuels: -(10**9))
    assert pooled.nowcast_panel([joined[uf] for uf in sorted(joined)], as_of) != served
