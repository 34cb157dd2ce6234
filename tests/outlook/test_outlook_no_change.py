"""A state's forecast where Brazil has none from its week is the no-change fallback, and says so.

A state's forecast is its last price moved by Brazil's forecast change from the same week
(outlook/pooled.py); without that change it is the last price at every horizon. That fallback
is marked with why (``NoChange``), uses no driver (``drivers_dropped``: never "driver kept"),
and its backtest rows are flagged, so nothing presents no change compared with itself as a
result. The panels here are SYNTHETIC (``led_panel``: seeded random walks, not ANP data); the
demo store's real case is checked end to end in tests/e2e/test_demo_outlook.py.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from fuelpipe.adapters import _dynamo_items as items
from fuelpipe.outlook import pooled
from fuelpipe.outlook.backtest import (
    Scored,
    model_weeks,
    score,
    served_score,
    walk_forward_panel,
)
from fuelpipe.outlook.forecast import (
    NATIONAL_ENDS_BEFORE,
    NATIONAL_NO_FORECAST,
    NO_NATIONAL,
    Forecast,
    NoChange,
)
from fuelpipe.outlook.records import from_record, to_record
from fuelpipe.outlook.series import Inputs, Lags, Series, day_of, known_at

from .test_outlook_pooled import led_panel

STATES, WEEKS = 5, 100


@pytest.fixture(scope="module")
def synthetic_led() -> tuple[list[Inputs], Inputs, datetime]:
    """Five synthetic states led by a synthetic national series, and the as-of time of the
    states' last week's publication."""
    panel, national = led_panel(STATES, WEEKS)
    members = [panel[uf] for uf in sorted(panel)]
    as_of = known_at(day_of(int(members[0].fuel.days[-1])), Lags().fuel)
    return members, national, as_of


def _national_upto(national: Inputs, weeks: int) -> Inputs:
    """The national series' first ``weeks`` weeks only (it stops there)."""
    fuel = Series(national.fuel.days[:weeks], national.fuel.values[:weeks])
    return Inputs(fuel, national.brent, national.usd, national.futures)


def _made(members: list[Inputs], as_of: datetime, national: Inputs | None) -> list[Forecast]:
    made = pooled.nowcast_panel(members, as_of, national=national)
    assert all(f is not None for f in made)
    return [f for f in made if f is not None]


def _is_no_change(forecast: Forecast) -> bool:
    return all(s.point == pytest.approx(forecast.last_price, rel=1e-12) for s in forecast.steps)


def test_states_led_by_a_brazil_forecast_are_the_models(synthetic_led) -> None:
    members, national, as_of = synthetic_led
    for forecast in _made(members, as_of, national):
        assert forecast.no_change is None and not forecast.drivers_dropped  # drivers current
        assert not _is_no_change(forecast)


def test_brazil_ending_before_the_states_week_gives_no_change_and_says_where_it_ends(
    synthetic_led,
) -> None:
    """The demo's case: Brazil's series stops years before the states' last week."""
    members, national, as_of = synthetic_led
    ended = _national_upto(national, len(national.fuel) - 60)  # ends 60 weeks before
    last = day_of(int(ended.fuel.days[-1]))
    for forecast in _made(members, as_of, ended):
        assert forecast.no_change == NoChange(NATIONAL_ENDS_BEFORE, last)
        assert _is_no_change(forecast)
        assert forecast.drivers_dropped  # no driver used: never "driver kept"


def test_no_brazil_series_gives_no_change_saying_so(synthetic_led) -> None:
    members, _, as_of = synthetic_led
    for forecast in _made(members, as_of, None):
        assert forecast.no_change == NoChange(NO_NATIONAL)
        assert _is_no_change(forecast) and forecast.drivers_dropped


def test_a_brazil_series_too_short_for_its_model_gives_no_change_saying_so(synthetic_led) -> None:
    """Brazil has the states' week but only 40 weeks since its start: its model makes none."""
    members, national, as_of = synthetic_led
    days, values = national.fuel.days[-40:], national.fuel.values[-40:]
    short = Inputs(Series(days, values), national.brent, national.usd, national.futures)
    for forecast in _made(members, as_of, short):
        assert forecast.no_change == NoChange(NATIONAL_NO_FORECAST)
        assert _is_no_change(forecast) and forecast.drivers_dropped


def _stale_both(inputs: Inputs, stop: int) -> Inputs:
    """Brent spot and BZ=F both stopped at day ``stop`` (PTAX current): Brent in BRL frozen."""
    brent = inputs.brent.upto(stop)
    return Inputs(inputs.fuel, brent, inputs.usd, Series(brent.days, brent.values * 1.01))


@pytest.mark.parametrize("led", [True, False])
def test_brent_and_futures_both_stale_say_dropped_led_or_not(synthetic_led, led: bool) -> None:
    """Both Brent drivers stop 20 weeks before the last week: whether Brazil's forecast (then
    fitted without them) leads the states or they fall back to no change, each forecast says
    the drivers were dropped, never kept, and names both as stale."""
    members, national, as_of = synthetic_led
    stop = int(members[0].fuel.days[-1]) - 140
    stale = [_stale_both(m, stop) for m in members]
    nat = _stale_both(national, stop) if led else _national_upto(national, 50)
    for forecast in _made(stale, as_of, nat):
        assert {d.name for d in forecast.stale} == {"brent", "futures"}
        assert forecast.drivers_dropped
        assert (forecast.no_change is None) is led
        assert _is_no_change(forecast) is not led


def test_the_backtest_flags_the_no_change_rows_and_counts_them(synthetic_led) -> None:
    """Brazil's series stops 8 weeks before the states' last (their forecasts are served from
    their 83rd week): the scored rows after it are flagged no change (point = the last price),
    those before are not, and each horizon's score counts them."""
    members, national, _ = synthetic_led
    panel = {f"S{i}": m for i, m in enumerate(members)}
    cut = len(national.fuel) - 8
    ended = int(national.fuel.days[cut - 1])
    rows = [s for r in walk_forward_panel(panel, national=_national_upto(national, cut)).values()
            for s in r]  # fmt: skip
    flagged = [s for s in rows if s.no_change]
    assert flagged and len(flagged) < len(rows)
    assert all(s.point == s.naive for s in flagged)
    assert all(s.as_of_week > day_of(ended) for s in flagged)
    assert not any(s.point == s.naive for s in rows if not s.no_change)
    for sc in score(rows):
        assert 0 < sc.no_change_n < sc.n
    alone = score([s for r in walk_forward_panel(panel).values() for s in r])
    assert all(sc.n and sc.no_change_n == sc.n and sc.ratio == 1.0 for sc in alone)


def test_the_served_score_compares_the_model_on_its_own_weeks(synthetic_led) -> None:
    """The score the dashboard, `outlook backtest` and the bench's states' ratio share: the n,
    the fallback count and the coverage over every scored row, the MAEs, ratio, bias and p-value
    over the model's own rows only (the fallback's loss difference is 0 by construction and
    pulled the ratio towards 1); no ratio and no p-value when every row was the fallback."""
    members, national, _ = synthetic_led
    panel = {f"S{i}": m for i, m in enumerate(members)}
    cut = len(national.fuel) - 8
    rows = [s for r in walk_forward_panel(panel, national=_national_upto(national, cut)).values()
            for s in r]  # fmt: skip
    own = model_weeks(rows)
    assert own and len(own) < len(rows) and not any(s.no_change for s in own)
    for served, every, led in zip(served_score(rows), score(rows), score(own), strict=True):
        assert (served.n, served.no_change_n) == (every.n, every.no_change_n)
        assert (served.coverage80, served.coverage95) == (every.coverage80, every.coverage95)
        assert (served.coverage80_model, served.coverage95_model) == (
            led.coverage80,
            led.coverage95,
        )
        assert (served.mae, served.naive_mae, served.bias) == (led.mae, led.naive_mae, led.bias)
        assert (served.ratio, served.dm_p) == (led.ratio, led.dm_p)
        assert served.ratio != every.ratio  # counting the fallback's weeks moved it
    alone = [s for r in walk_forward_panel(panel).values() for s in r]
    for served, every in zip(served_score(alone), score(alone), strict=True):
        assert served.n == served.no_change_n == every.n > 0
        assert np.isnan(served.ratio) and np.isnan(served.dm_p)
        assert served.mae == every.mae == every.naive_mae


def _band_row(week: int, no_change: bool, inside80: bool, inside95: bool) -> Scored:
    """One scored 1-week forecast (SYNTHETIC) whose outcome falls inside its 80% and 95% bands
    or not, as told."""
    actual = 6.0
    return Scored(
        as_of_week=date(2025, 1, 5) + timedelta(weeks=week),
        horizon=1,
        week=date(2025, 1, 12) + timedelta(weeks=week),
        actual=actual,
        point=actual if no_change else actual + 0.01,
        naive=actual,
        lo80=actual - (0.05 if inside80 else -0.02),
        hi80=actual + 0.05,
        lo95=actual - (0.1 if inside95 else -0.01),
        hi95=actual + 0.1,
        no_change=no_change,
    )


def test_the_coverage_is_given_over_the_models_own_forecasts_beside_every_ones() -> None:
    """Synthetic: 10 model forecasts, 6 inside their 80% band and 8 inside their 95%, and 30
    no-change fallback forecasts, all inside both. Over every one the bands cover 36/40 and
    38/40, the fallback's lifting them; over the model's own, 6/10 and 8/10: each is reported,
    by ``score`` and as served (``served_score``, the dashboard's and the CLI's)."""
    model = [_band_row(w, False, w < 6, w < 8) for w in range(10)]
    fallback = [_band_row(10 + w, True, True, True) for w in range(30)]
    for got in (*score(model + fallback, (1,)), *served_score(model + fallback, (1,))):
        assert (got.n, got.no_change_n) == (40, 30)
        assert (got.coverage80, got.coverage95) == (36 / 40, 38 / 40)
        assert (got.coverage80_model, got.coverage95_model) == (0.6, 0.8)
        assert got.as_dict()["coverage80_model"] == 0.6
    (alone,) = served_score(fallback, (1,))  # no model forecast: no model coverage
    assert alone.coverage80 == 1.0 and math.isnan(alone.coverage80_model)
    (brazil,) = score(model, (1,))  # no fallback: the model's coverage is every forecast's
    assert (brazil.coverage80_model, brazil.coverage95_model) == (0.6, 0.8)


def test_the_fallback_and_its_reason_are_stored_and_read_back(synthetic_led) -> None:
    members, national, as_of = synthetic_led
    ended = _national_upto(national, len(national.fuel) - 60)
    forecast = _made(members, as_of, ended)[0]
    record = to_record("OUTLOOK#GASOLINE#SP", forecast, "mark")
    assert record.attrs["no_change"] == NATIONAL_ENDS_BEFORE
    assert record.attrs["national_last_week"] == forecast.no_change.national_last_week.isoformat()
    back = from_record(record).forecast  # its numbers rounded as stored
    assert (back.no_change, back.drivers_dropped) == (forecast.no_change, True)
    led = _made(members, as_of, national)[0]
    record = to_record("OUTLOOK#GASOLINE#SP", led, "mark")
    assert "no_change" not in record.attrs  # as stored before the fallback was marked
    assert from_record(record).forecast.no_change is None


def test_the_reason_reads_the_national_weeks_up_to_the_week() -> None:
    """Synthetic weeks: none by then, ended before, or the very week present."""
    days = np.array([0, 7, 14], dtype=np.int64)
    national = Inputs(Series(days, np.ones(3)), Series.empty(), Series.empty(), Series.empty())
    assert pooled.no_change_reason(national, -7) == NoChange(NO_NATIONAL)
    assert pooled.no_change_reason(national, 21) == NoChange(NATIONAL_ENDS_BEFORE, day_of(14))
    assert pooled.no_change_reason(national, 7) == NoChange(NATIONAL_NO_FORECAST)
    assert pooled.no_change_reason(None, 7) == NoChange(NO_NATIONAL)
    assert day_of(14) == date(1970, 1, 15)


def test_a_fallback_without_any_driver_value_stores_no_driver_move(synthetic_led) -> None:
    """With no driver value at all (no PTAX, Brent or BZ=F stored) the fallback's driver move is
    unknown: it is stored absent, not as a NaN (DynamoDB refuses non-finite numbers, SQLite
    kept ``Decimal('NaN')``), and read back as NaN, as a record stored with one reads."""
    members, _, as_of = synthetic_led
    bare = [Inputs(m.fuel, Series.empty(), Series.empty(), Series.empty()) for m in members]
    forecast = _made(bare, as_of, None)[0]
    assert math.isnan(forecast.driver_move) and forecast.driver_day is None
    record = to_record("OUTLOOK#GASOLINE#SP", forecast, "mark")
    assert record.attrs["driver_move"] is None
    assert "driver_move" not in items.to_item(record.attrs)  # DynamoDB takes it, leaves it out
    back = from_record(record).forecast
    assert math.isnan(back.driver_move) and back.no_change == NoChange(NO_NATIONAL)
    absent = {k: v for k, v in record.attrs.items() if k != "driver_move"}
    assert math.isnan(from_record(record.with_(attrs=absent)).forecast.driver_move)
    stored_before = {**record.attrs, "driver_move": Decimal("NaN")}  # by older code
    assert math.isnan(from_record(record.with_(attrs=stored_before)).forecast.driver_move)
    led = _made(members, as_of, None)[0]  # drivers known: the move is stored
    assert isinstance(to_record("OUTLOOK#GASOLINE#SP", led, "m").attrs["driver_move"], Decimal)
