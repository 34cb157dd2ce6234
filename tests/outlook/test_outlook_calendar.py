"""The outlook counts weeks on the calendar, not rows: survey pauses and the minimum history.

ANP's weekly survey pauses now and then (one week in 2015 and 2022, nine in 2020). A horizon of
h weeks is the survey week exactly h weeks later, and a lag of k weeks the week exactly k weeks
earlier, whatever was published in between; and the stage's minimum of weeks is the one the
model needs to train every horizon, derived from its own knobs.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.backtest import walk_forward
from fuelpipe.outlook.model import HORIZONS, Params, band_floors, build_samples, nowcast
from fuelpipe.outlook.series import Inputs, Lags, Series, day_number, day_of, known_at
from fuelpipe.stages.outlook import MIN_WEEKS, refresh_outlook

SP = ZoneInfo("America/Sao_Paulo")
FIRST = date(2021, 1, 3)  # a Sunday: survey weeks are dated by their Sunday


def _weekly(prices: list[float | None], first: date = FIRST) -> Series:
    """Survey weeks from ``first``; None is a week the survey did not publish."""
    return Series.of((first + timedelta(weeks=i), p) for i, p in enumerate(prices) if p is not None)


def _daily(first: date, last: date, seed: int, level: float) -> Series:
    """A driver with a value every day from first to last: a log random walk."""
    n = (last - first).days + 1
    rng = np.random.default_rng(seed)
    values = level * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    return Series(day_number(first) + np.arange(n, dtype=np.int64), values)


def _inputs(fuel: Series) -> Inputs:
    """The fuel with Brent and the dollar known every day up to a month after its last week."""
    first, last = day_of(int(fuel.days[0])) - timedelta(days=60), day_of(int(fuel.days[-1]))
    last += timedelta(days=30)
    return Inputs(fuel, _daily(first, last, 1, 80.0), _daily(first, last, 2, 5.0), Series.empty())


def _as_of(fuel: Series) -> datetime:
    """The moment the fuel's last week is published."""
    return known_at(day_of(int(fuel.days[-1])), Lags().fuel)


def _walk(n: int, seed: int = 7) -> list[float | None]:
    rng = np.random.default_rng(seed)
    return [float(p) for p in 5.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))]


# --- 1. the minimum history --------------------------------------------------------------------


def test_min_weeks_is_the_fewest_weeks_the_model_trains_every_horizon_on():
    """Own lags (4) and the error-correction gap's half-year (26 gaps before a row) leave the
    first usable row at week 26; every horizon up to 5 needs 52 rows whose outcome 5 weeks on is
    published: 26 + 52 + 5 = 83 weeks. One week fewer gives no forecast."""
    assert MIN_WEEKS == 83
    fuel = _weekly(_walk(MIN_WEEKS))
    assert nowcast(_inputs(fuel), _as_of(fuel)) is not None
    short = Series(fuel.days[1:], fuel.values[1:])
    assert nowcast(_inputs(short), _as_of(short)) is None


def test_min_weeks_follows_the_models_knobs():
    """MIN_WEEKS is computed from the model's parameters, so the two cannot drift apart."""
    from fuelpipe.outlook.params import min_weeks

    assert min_weeks(Params()) == MIN_WEEKS
    assert min_weeks(Params(min_train=60)) == MIN_WEEKS + 8
    assert min_weeks(Params(error_correction=False)) == Params().own_lags + max(HORIZONS) + 52
    for params in (Params(gap_window=20, min_train=30), Params(own_lags=6, error_correction=False)):
        need = min_weeks(params)
        fuel = _weekly(_walk(need))
        assert nowcast(_inputs(fuel), _as_of(fuel), params=params) is not None
        short = Series(fuel.days[1:], fuel.values[1:])
        assert nowcast(_inputs(short), _as_of(short), params=params) is None


def _store(tmp_path, fuel: Series, inputs: Inputs, where: str = "FUEL#GASOLINE#SP") -> SqliteStore:
    store = SqliteStore(tmp_path / "store.sqlite")
    for key, series in (
        (where, fuel),
        ("CURRENCY#USD", inputs.usd),
        ("COMMODITY#BRENT", inputs.brent),
    ):
        store.put_records(
            [
                Record(key, day_of(int(d)), Decimal(f"{v:.6f}"), Status.OK)
                for d, v in zip(series.days, series.values, strict=True)
            ]
        )
    return store


@pytest.mark.parametrize(
    ("key", "area"),
    [("FUEL#GASOLINE#SP", "SP"), ("FUEL#GASOLINE#BR", "BR")],
    ids=["state-pooled", "brazil-own"],
)
@pytest.mark.parametrize("weeks", [MIN_WEEKS - 1, 75])
def test_the_stage_skips_a_fuel_with_fewer_weeks_and_says_why(tmp_path, weeks, key, area):
    """Neither model runs: not the states' pooled panel (SP), not a series' own (Brazil)."""
    fuel = _weekly(_walk(weeks))
    as_of = _as_of(fuel) + timedelta(hours=1)
    calls: list[str] = []

    def own(*args, **kwargs):  # must not run
        calls.append("nowcast")

    def panel(*args, **kwargs):  # must not run
        calls.append("nowcast_panel")
        return []

    with _store(tmp_path, fuel, _inputs(fuel), key) as store:
        report = refresh_outlook(
            store, DEFAULT_CATALOG, as_of, keys=[key], nowcast=own, nowcast_panel=panel
        )
        assert not store.query(outlook_key("GASOLINE", area))
    assert calls == []
    assert (report.made, report.too_short, report.problems) == (0, 1, [])
    assert report.skipped == [f"{key}: {weeks} published weeks, the model needs {MIN_WEEKS}"]


def test_the_stage_forecasts_from_min_weeks(tmp_path):
    fuel = _weekly(_walk(MIN_WEEKS))
    with _store(tmp_path, fuel, _inputs(fuel)) as store:
        report = refresh_outlook(store, DEFAULT_CATALOG, _as_of(fuel), keys=["FUEL#GASOLINE#SP"])
        assert len(store.query(outlook_key("GASOLINE", "SP"))) == 1
    assert (report.made, report.too_short, report.skipped) == (1, 0, [])


def test_the_stage_names_a_fuel_whose_pauses_leave_too_few_usable_weeks(tmp_path):
    """Enough weeks in all, but a pause leaves too few with an outcome h weeks on: no forecast
    of Brazil's own regression, and the report says so (not an exception, not a model on fewer
    rows than it needs). A state's forecast fits nothing on its own rows: it is served."""
    prices = _walk(MIN_WEEKS + 3)
    prices[40:43] = [None, None, None]  # three weeks without a survey: MIN_WEEKS published
    fuel = _weekly(prices)
    assert len(fuel) == MIN_WEEKS
    with _store(tmp_path, fuel, _inputs(fuel), "FUEL#GASOLINE#BR") as store:
        report = refresh_outlook(store, DEFAULT_CATALOG, _as_of(fuel), keys=["FUEL#GASOLINE#BR"])
    assert (report.made, report.too_short) == (0, 1)
    (why,) = report.skipped
    assert why.startswith(f"FUEL#GASOLINE#BR: {MIN_WEEKS} published weeks, but too few have")
    assert why.endswith(f"the model needs {MIN_WEEKS} weeks without a pause")
    (tmp_path / "state").mkdir()
    with _store(tmp_path / "state", fuel, _inputs(fuel)) as store:
        report = refresh_outlook(store, DEFAULT_CATALOG, _as_of(fuel), keys=["FUEL#GASOLINE#SP"])
    assert (report.made, report.too_short) == (1, 0)


# --- 2. horizons and lags across a survey pause ------------------------------------------------


def _paused(before: int = 60, pause: int = 9, after: int = 60) -> tuple[list[float | None], int]:
    """Flat at 5.0, a pause of ``pause`` weeks during which the price rose 10%, flat at 5.5."""
    return [5.0] * before + [None] * pause + [5.5] * after, before


def test_a_horizon_is_the_week_exactly_h_weeks_later_in_training():
    """Across the pause no week moved by a week-on-week change: every published h-week change
    is 0, so a model trained on h-week changes forecasts no change with no spread of its own:
    its bands are the floor's (``band_floors``), not widened by any error. Counting rows made
    the last week before the pause's "1 week later" the first week after it (10%)."""
    fuel = _weekly(_paused()[0])
    made = nowcast(_inputs(fuel), _as_of(fuel))
    assert made is not None
    floors = band_floors(Params())
    for c, step in enumerate(made.steps):
        assert step.week == made.last_week + timedelta(weeks=step.horizon)
        assert step.point == pytest.approx(5.5, abs=1e-9)
        assert math.log(step.hi80 / step.point) == pytest.approx(floors[c, 0], rel=1e-9)
        assert math.log(step.point / step.lo95) == pytest.approx(floors[c, 1], rel=1e-9)


def test_the_backtest_scores_each_step_against_the_week_h_weeks_later():
    prices, before = _paused(before=100, pause=9, after=40)
    fuel = _weekly(prices)
    published = {day_of(int(d)): v for d, v in zip(fuel.days, fuel.values, strict=True)}
    forecasts, scored = walk_forward(_inputs(fuel))
    assert forecasts and scored
    for s in scored:
        assert s.week == s.as_of_week + timedelta(weeks=s.horizon)
        assert s.actual == pytest.approx(published[s.week], rel=1e-12)
        assert s.naive == pytest.approx(published[s.as_of_week], rel=1e-12)
    # The weeks just before the pause have no published outcome inside it: not scored.
    last_before = FIRST + timedelta(weeks=before - 1)
    assert not [s for s in scored if s.as_of_week == last_before]
    week_earlier = last_before - timedelta(weeks=1)  # its 1-week outcome is published
    assert {s.horizon for s in scored if s.as_of_week == week_earlier} == {1}
    made_before = [f for f in forecasts if f.last_week == last_before]
    assert made_before  # forecast, just not scored
    # After the pause, each week is scored at every horizon whose week is published.
    first_after = FIRST + timedelta(weeks=before + 9)
    assert sorted(s.horizon for s in scored if s.as_of_week == first_after) == list(HORIZONS)


def test_own_lags_and_volatility_are_weekly_changes_on_the_calendar():
    """After a pause, the k-week lag is the change over the calendar week k weeks back, on the
    straight line (in logs) between the weeks published either side: a 10% move over a
    10-week gap is 1/10 of it per week, not a one-week jump of 10%."""
    prices, before = _paused(before=40, pause=9, after=10)
    fuel = _weekly(prices)
    params = Params()
    samples = build_samples(_inputs(fuel), Lags(), params)
    own = samples.features[:, 1 : 1 + params.own_lags]
    per_week = np.log(5.5 / 5.0) / 10
    first_after = before  # the row of the first published week after the pause
    np.testing.assert_allclose(own[first_after], [per_week] * 4, rtol=1e-12)
    np.testing.assert_allclose(own[first_after + 2], [0.0, 0.0, per_week, per_week], atol=1e-15)
    np.testing.assert_allclose(own[first_after + 4], [0.0] * 4, atol=1e-15)
    np.testing.assert_allclose(own[before - 1], [0.0] * 4, atol=1e-15)
    # The volatility: the root mean square of the last eight calendar weeks' changes, each week
    # of the 10-week gap counted as 10 weeks' variance of its 1/10 (a random walk's sqrt(10)
    # weekly moves): the regressors keep the spread change, the volatility does not.
    floor = params.vol_floor
    assert samples.vol[first_after] == pytest.approx(np.sqrt(10 * per_week**2 + floor**2))
    assert samples.vol[first_after + 8] == pytest.approx(floor)
    assert samples.vol[0] == pytest.approx(floor)
    assert samples.vol[3] == pytest.approx(floor)
