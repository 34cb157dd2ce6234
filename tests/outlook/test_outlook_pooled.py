"""The states' pooled outlook (outlook/pooled.py) on SYNTHETIC panels: states that share their
dynamics and have short histories, as the real state files since 2024-06 do.

Every panel here is made up (seeded random walks named ``synthetic_*``), not ANP data: it
checks that pooling beats each state's own regression where that regression overfits, that no
row published after an as-of time reaches a forecast made then, that the bands cover about
their nominal share, and that the stage stores the pooled forecast the backtest scores.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG, STATES
from fuelpipe.domain.keys import outlook_key
from fuelpipe.domain.models import Record, Revision, Status
from fuelpipe.outlook import pooled
from fuelpipe.outlook.backtest import score, served_score, walk_forward_panel
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


def led_panel(states: int, weeks: int, lead: int = 400, seed: int = 7) -> tuple[dict, Inputs]:
    """States whose common weekly move is autocorrelated (AR(1) with 0.7, as pump prices spread a
    refinery change over weeks), each with its own noise, and the national series: the
    states' mean log price, starting ``lead`` weeks earlier (its long history)."""
    rng = np.random.default_rng(seed)
    total = lead + weeks
    common = np.zeros(total)
    for t in range(1, total):
        common[t] = 0.7 * common[t - 1] + rng.normal(0.0, 0.008)
    first = day_number(FIRST) - 7 * lead
    n = 7 * total + 150
    days = first - 60 + np.arange(n, dtype=np.int64)
    brent = Series(days, 80.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, n))))
    usd = Series(days, 5.0 * np.exp(np.cumsum(rng.normal(0.0, 0.005, n))))
    all_days = first + 7 * np.arange(total, dtype=np.int64)
    logs = np.array(
        [
            np.log(rng.uniform(5.5, 6.5)) + np.cumsum(common + rng.normal(0.0, 0.004, total))
            for _ in range(states)
        ]
    )
    panel = {
        uf: Inputs(Series(all_days[lead:], np.exp(logs[i, lead:])), brent, usd, Series.empty())
        for i, uf in enumerate(UFS[:states])
    }
    national = Inputs(Series(all_days, np.exp(logs.mean(axis=0))), brent, usd, Series.empty())
    return panel, national


@pytest.mark.parametrize("seed", [7, 8])
def test_states_led_by_the_national_forecast_beat_no_change_on_a_synthetic_panel(seed):
    """The states share an autocorrelated move that the national series' long history lets
    its model learn: each state's last price moved by the national forecast change beats no
    change at 1, 2 and 4 weeks; without a national series the forecast is no change."""
    panel, national = led_panel(10, 180, seed=seed)
    led = [s for rows in walk_forward_panel(panel, national=national).values() for s in rows]
    ratios = [s.ratio for s in score(led)]
    assert max(ratios) < 0.97, ratios
    alone = [s for rows in walk_forward_panel(panel).values() for s in rows]
    assert alone and all(s.point == s.naive for s in alone)
    assert {(s.as_of_week, s.horizon) for s in alone} == {(s.as_of_week, s.horizon) for s in led}


def test_the_pooled_bands_cover_their_nominal_share_on_a_synthetic_panel():
    """Bands from the panel's walk-forward errors cover about 80% and 95% at 1, 2 and 4 weeks
    on a stationary synthetic panel led by its national series."""
    panel, national = led_panel(15, 150, seed=5)
    rows = [s for r in walk_forward_panel(panel, national=national).values() for s in r]
    for s in score(rows):
        assert abs(s.coverage80 - 0.80) <= 0.05, s
        assert abs(s.coverage95 - 0.95) <= 0.04, s


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
    """At a week's publication, every state's forecast (Brazil's forecast change, its band
    errors) is the same when every value published later, in any state, Brazil or a driver, is
    replaced; a value published before, in a state or Brazil, changes it (the check can fail).
    And it is the forecast the backtest scores from that week (served as scored)."""
    panel, national = led_panel(8, 110)
    members = [panel[uf] for uf in sorted(panel)]
    day = int(members[0].fuel.days[week])
    as_of = known_at(day_of(day), Lags().fuel) + timedelta(hours=5)
    cut = Cutoffs.at(known_at(day_of(day), Lags().fuel), Lags())
    made = pooled.nowcast_panel(members, as_of, national=national)
    tampered = [_tampered_after(m, cut, i) for i, m in enumerate(members)]
    later = _tampered_after(national, cut, 99)
    assert pooled.nowcast_panel(tampered, as_of, national=later) == made
    assert all(f is not None for f in made)
    assert made != pooled.nowcast_panel(members, as_of)  # led: not no change
    earlier = [replace(m, fuel=m.fuel) for m in members]
    values = earlier[3].fuel.values.copy()
    values[week - 10] *= 1.05  # a week whose outcome was published by then
    earlier[3] = replace(earlier[3], fuel=Series(earlier[3].fuel.days, values))
    assert pooled.nowcast_panel(earlier, as_of, national=national) != made
    values = national.fuel.values.copy()
    values[np.searchsorted(national.fuel.days, day)] *= 1.01  # Brazil's week, published then
    moved = replace(national, fuel=Series(national.fuel.days, values))
    assert pooled.nowcast_panel(members, as_of, national=moved) != made
    scored = walk_forward_panel(dict(zip(sorted(panel), members, strict=True)), national=national)
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


def _store_panel(
    store: SqliteStore, panel: dict[str, Inputs], upto: int, national: Inputs | None = None
) -> None:
    first = next(iter(panel.values()))
    if national is not None:
        last = first.fuel.days[upto - 1]
        store.put_records(
            [
                Record("FUEL#GASOLINE#BR", day_of(int(d)), Decimal(f"{v:.6f}"), Status.OK)
                for d, v in zip(national.fuel.days, national.fuel.values, strict=True)
                if d <= last
            ]
        )
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


def test_the_stage_stores_each_states_pooled_forecast_walking_the_panel_once(tmp_path):
    """The refresh walks the gasoline states' panel once (one ``nowcast_panel``, one walk)
    and stores for each state the forecast led by the stored Brazil series (as
    ``nowcast_panel`` makes it from the store), not its own regression's; a second refresh
    finds nothing new."""
    panel, national = led_panel(6, 110)
    walks: list[int] = []

    def counted(members, *args, **kwargs):
        walks.append(len(members))
        return pooled.nowcast_panel(members, *args, **kwargs)

    with SqliteStore(tmp_path / "store.sqlite") as store:
        _store_panel(store, panel, 100, national)
        day = int(next(iter(panel.values())).fuel.days[99])
        as_of = known_at(day_of(day), Lags.from_catalog(DEFAULT_CATALOG).fuel) + timedelta(hours=3)
        keys = [f"FUEL#GASOLINE#{uf}" for uf in sorted(panel)]
        report = refresh_outlook(store, DEFAULT_CATALOG, as_of, nowcast_panel=counted)
        assert (report.made, report.problems) == (len(panel) + 1, [])  # and Brazil's
        assert walks == [len(STATES)]  # every gasoline state of the catalog, walked once
        *members, brazil = _stored_inputs(store, [*keys, "FUEL#GASOLINE#BR"])
        lags = Lags.from_catalog(DEFAULT_CATALOG)
        want = pooled.nowcast_panel(members, as_of, lags, national=brazil)
        assert want != pooled.nowcast_panel(members, as_of, lags)  # Brazil leads them
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
        again = refresh_outlook(store, DEFAULT_CATALOG, as_of, nowcast_panel=counted)
        assert (again.made, again.unchanged) == (0, len(panel) + 1)
        assert walks == [len(STATES)]  # nothing new: no walk


def test_pool_params_are_checked():
    with pytest.raises(ValueError, match="pooled outlook parameters"):
        PoolParams(error_weeks=0)


def test_a_stretch_after_a_long_hole_starts_the_panel_afresh():
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
    wide = PoolParams(error_weeks=300)  # the band's window reaches back into the old era
    served = pooled.nowcast_panel([joined[uf] for uf in sorted(joined)], as_of, pool=wide)
    assert served == pooled.nowcast_panel([alone[uf] for uf in sorted(alone)], as_of, pool=wide)
    across = pooled.nowcast_panel(
        [joined[uf] for uf in sorted(joined)], as_of, pool=wide, start_of_era=lambda fuels: -(10**9)
    )  # one era from the first week: walked across the hole
    assert across != served


@pytest.mark.parametrize("full", [True, False])
def test_a_revised_brazil_base_week_redoes_the_states_pooled_forecasts(tmp_path, full):
    """Brazil's weekly price leads every state's pooled forecast: a revision of Brazil's price
    of the states' base week is a new input of each, so the next refresh (checked or full)
    redoes them, not Brazil's alone; a refresh after that finds nothing new."""
    panel, national = led_panel(6, 110)
    with SqliteStore(tmp_path / "store.sqlite") as store:
        _store_panel(store, panel, 100, national)
        day = int(next(iter(panel.values())).fuel.days[99])
        base = day_of(day)
        lags = Lags.from_catalog(DEFAULT_CATALOG)
        as_of = known_at(base, lags.fuel) + timedelta(hours=3)
        first = refresh_outlook(store, DEFAULT_CATALOG, as_of)
        assert (first.made, first.problems) == (len(panel) + 1, [])
        state = outlook_key("GASOLINE", sorted(panel)[0])
        (before,) = store.query(state)
        (old,) = store.query("FUEL#GASOLINE#BR", base, base)
        assert old.value is not None
        new = (old.value * Decimal("1.08")).quantize(Decimal("0.000001"))
        revision = Revision(old.value, new, as_of + timedelta(hours=1), "revise anp")
        assert store.revise("FUEL#GASOLINE#BR", base, revision, dict(old.attrs), history=0)
        later = as_of + timedelta(hours=2)
        report = refresh_outlook(store, DEFAULT_CATALOG, later, full=full)
        assert (report.made, report.problems) == (len(panel) + 1, [])  # the states and Brazil
        after = store.query(state)[-1]
        assert after.attrs["inputs"] != before.attrs["inputs"]
        assert from_record(after).forecast.steps[3].point != pytest.approx(
            from_record(before).forecast.steps[3].point, abs=1e-9
        )
        again = refresh_outlook(store, DEFAULT_CATALOG, later + timedelta(hours=1), full=full)
        assert (again.made, again.unchanged) == (0, len(panel) + 1)


def test_a_states_no_change_forecast_is_its_published_price_not_a_rounding_of_it():
    """A state whose price did not move over the scored weeks: no change's error is exactly 0,
    so its MAE ratio is undefined (NaN, "—"), not the model's error over float noise (the
    no-change point was the price's exp(log), one ulp off: ratios of 1e12 on the dashboard's
    accuracy and the map's hover)."""
    panel, national = led_panel(10, 180, seed=7)
    ac = panel["AC"]
    prices = np.round(ac.fuel.values * 6.2 / ac.fuel.values[-21], 3)  # R$ 6.20 or so
    # flat over the last 21 weeks at ANP's three decimals, a price whose exp(log) is not itself
    near = np.round(prices[-21] + np.arange(0.0, 0.05, 0.001), 3)
    flat = next(float(v) for v in near if float(np.exp(np.log(v))) != v)
    prices[-21:] = flat
    panel["AC"] = replace(ac, fuel=Series(ac.fuel.days, prices))
    from_week = day_of(int(ac.fuel.days[-15]))
    rows = walk_forward_panel(panel, start=from_week, national=national)["AC"]
    assert rows and all(s.naive == flat and s.actual == flat for s in rows)
    for s in served_score(rows):
        assert s.n > s.no_change_n  # the model's own forecasts are scored
        assert s.naive_mae == 0.0
        assert math.isnan(s.ratio), s
