"""The outlook's array code against the per-week loops it replaced, kept here as oracles.

``build_samples``, ``state_at``, ``Series.of``, the publication cutoffs and the stage's known
prefix were loops over weeks and points (a row, a volatility and four cutoffs per published
week; a dict per point). Their array versions must give the very same numbers: the oracles
below are the loop code as it was, and the properties compare with ``assert_array_equal``
(the array code does the same float operations in the same order, so no tolerance). The own
changes and the volatility have since been counted on the calendar (survey pauses: see
test_outlook_calendar.py), and the driver blocks read at each row's as-of day with a stale
driver's rows left without them (test_outlook_as_of.py); their oracles are per-week loops of
those rules.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuelpipe.adapters.history_files import BRENT_FUTURES_KEY, BRENT_KEY, USD_KEY
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.keys import outlook_key
from fuelpipe.outlook.backtest import walk_forward
from fuelpipe.outlook.model import (
    Params,
    Samples,
    build_samples,
    driver_check,
    driver_move,
    forecast_from,
    nowcast,
    state_at,
)
from fuelpipe.outlook.params import HORIZONS, MODEL_VERSION
from fuelpipe.outlook.records import to_record
from fuelpipe.outlook.series import (
    RECENT_DAYS,
    CutoffRows,
    Cutoffs,
    Inputs,
    Lags,
    Series,
    StaleAfter,
    brent_brl,
    brent_brl_current,
    cutoff,
    day_number,
    day_of,
    history_mark,
    input_mark,
    inputs_for,
    known_at,
    served_at,
    served_cutoffs,
    stale_drivers,
    truncate,
)
from fuelpipe.stages.outlook import _known_count, refresh_outlook

from .conftest import store_known

SP = ZoneInfo("America/Sao_Paulo")
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- the oracles: the loop code as it was before the array version ------------------------


def old_series_of(points):
    merged: dict[int, float] = {}
    for day, value in points:
        v = float(value)
        if math.isfinite(v) and v > 0:
            merged[day_number(day)] = v
    days = np.array(sorted(merged), dtype=np.int64)
    values = np.array([merged[int(d)] for d in days], dtype=np.float64)
    return Series(days, values)


def old_brent_brl(inputs, cut, days):
    brent = inputs.brent.upto(cut.brent)
    futures = inputs.futures.upto(cut.futures)
    usd = inputs.usd.upto(cut.usd)
    if not len(brent) or not len(usd):
        return np.full(len(days), np.nan)
    spot = brent.at_or_before(days)
    last_spot_day = int(brent.days[-1])
    # BZ=F carries spot on from the last day both have on or before spot's last day (each
    # day's move counted once; sharing none, from its last bar by then with spot's last value),
    # on the days from its first bar after spot's last day (spot's last value until then)
    bars = [i for i, d in enumerate(futures.days) if d <= last_spot_day]
    newer = [int(d) for d in futures.days if d > last_spot_day]
    later = (days > last_spot_day) & (len(newer) > 0) & (days >= (newer or [0])[0])
    if bars and later.any():
        spot_on = dict(zip(brent.days.tolist(), brent.values.tolist(), strict=True))
        shared = [i for i in bars if int(futures.days[i]) in spot_on]
        start = shared[-1] if shared else bars[-1]
        level = spot_on[int(futures.days[start])] if shared else float(brent.values[-1])
        base = float(futures.values[start])
        if np.isfinite(base):
            moved = futures.at_or_before(days[later]) / base
            spot = spot.copy()
            spot[later] = level * np.where(np.isfinite(moved), moved, 1.0)
    return np.asarray(spot * usd.at_or_before(days), dtype=np.float64)


def old_driver_features(inputs, cut, params):
    # The rule as it is now, a row at a time: the blocks end at the row's as-of day (the latest
    # driver cutoff), and a row whose Brent in BRL a stale driver froze has none (it ended at
    # the last day any driver had a value, and read frozen levels, before).
    if not brent_brl_current(inputs, cut, stale_drivers(inputs, cut, StaleAfter())):
        return np.full(params.driver_blocks, np.nan), np.nan
    end = max(cut.brent, cut.usd, cut.futures)
    points = np.array([end - 7 * k for k in range(params.driver_blocks + 1)], dtype=np.int64)
    levels = np.log(old_brent_brl(inputs, cut, points))
    return levels[:-1] - levels[1:], float(levels[0])


def old_week_change(weeks, log_price, i, k):
    """The log change over the calendar week ending 7k days before week i, on the straight line
    through the weeks published up to week i only (NaN before the first)."""
    w, p = weeks[: i + 1], log_price[: i + 1]
    end = int(weeks[i]) - 7 * k
    return float(np.interp(end, w, p, left=np.nan) - np.interp(end - 7, w, p, left=np.nan))


def old_own_changes(weeks, log_price, i, params):
    changes = [old_week_change(weeks, log_price, i, k) for k in range(params.own_lags)]
    return np.array(changes, dtype=np.float64)


def old_span(weeks, i, k):
    """The weeks between the published weeks (up to week i) either side of the end of the
    calendar week ending 7k days before week i; 1 before the first."""
    w = weeks[: i + 1]
    end = int(weeks[i]) - 7 * k
    after = int(np.searchsorted(w, end, side="left"))
    return 1.0 if after == 0 else max((int(w[after]) - int(w[after - 1])) / 7, 1.0)


def old_volatility(weeks, log_price, i, params):
    changes = np.array([old_week_change(weeks, log_price, i, k) for k in range(params.vol_weeks)])
    spans = np.array([old_span(weeks, i, k) for k in range(params.vol_weeks)])
    known = np.isfinite(changes)
    squares = np.where(known, changes**2 * spans, 0.0)
    if params.vol_trim_after is not None and known.sum() > 1:
        largest = max(np.flatnonzero(known), key=lambda k: (squares[k], -k))  # latest on a tie
        if largest >= params.vol_trim_after:  # its largest week is left out once old enough
            squares[largest], known[largest] = 0.0, False
    total = float(np.sum(squares))
    mean_sq = total / int(known.sum()) if known.any() else 0.0
    return float(np.sqrt(mean_sq + params.vol_floor**2))


def old_row(inputs, cut, weeks, log_price, i, past_gaps, params):
    own = old_own_changes(weeks, log_price, i, params)
    blocks, level = old_driver_features(inputs, cut, params)
    gap = float(log_price[i] - level)
    parts = [np.ones(1), own, blocks]
    if params.error_correction:
        usable = past_gaps[np.isfinite(past_gaps)][-params.gap_window :]
        with np.errstate(all="ignore"):  # the mean of no gaps (gap_window 1, first row): NaN
            mean = float(np.mean(usable)) if len(usable) else np.nan
        ecm = gap - mean if len(usable) >= params.gap_window // 2 else np.nan
        parts.append(np.array([ecm]))
    return np.concatenate(parts), gap


def old_build_samples(inputs, lags, params):
    weeks = inputs.fuel.days
    log_price = np.log(inputs.fuel.values)
    n = len(weeks)
    rows = []
    gaps = np.full(n, np.nan)
    vol = np.zeros(n)
    for i in range(n):
        cut = Cutoffs.at(known_at(day_of(int(weeks[i])), lags.fuel), lags)
        row, gaps[i] = old_row(inputs, cut, weeks, log_price, i, gaps[:i], params)
        rows.append(row)
        vol[i] = old_volatility(weeks, log_price, i, params)
    width = 2 + params.own_lags + params.driver_blocks - (0 if params.error_correction else 1)
    features = np.vstack(rows) if rows else np.zeros((0, width))
    return weeks, log_price, features, vol, gaps


def old_state_at(inputs, samples, as_of, lags, params):
    cut = Cutoffs.at(as_of, lags)
    last = int(np.searchsorted(samples.weeks, cut.fuel, side="right")) - 1
    if last < 0:
        return None
    row, _gap = old_row(
        inputs, cut, samples.weeks, samples.log_price, last, samples.gaps[:last], params
    )
    return last, row


def old_nowcast(inputs, as_of, lags, params):
    # Not loops the arrays replaced: the served instant (the last survey week's publication),
    # the stale-driver rule and the driver move shown (driver_move) are shared by both.
    made_at = served_at(inputs.fuel, as_of, lags)
    cut = Cutoffs.at(made_at, lags)
    known = truncate(inputs, cut)
    params, stale, dropped = driver_check(known, cut, params, StaleAfter())
    weeks, log_price, features, vol, gaps = old_build_samples(known, lags, params)
    samples = Samples(weeks, log_price, features, vol, gaps, np.full(len(weeks), np.nan))
    state = old_state_at(known, samples, made_at, lags, params)
    if state is None:
        return None
    last, row = state
    move, driver_day = driver_move(known, cut, stale)
    scales = old_scales(known, lags, Params(), weeks, log_price, vol, last)
    made = forecast_from(samples, last, row, as_of, move, driver_day, params, scales=scales)
    return None if made is None else replace(made, stale=stale, drivers_dropped=dropped)


def old_scales(known, lags, params, weeks, log_price, vol, last):
    """The bands' scales as a loop: every earlier week's forecast made one at a time (the
    walk-forward's points, each its own fit), its absolute log error over the volatility of its
    week where its outcome was published by week ``last`` within ``error_weeks``, and the
    ``ceil((n + 1) q)``-th smallest; NaN at a horizon with fewer than ``least_errors``."""
    end = int(weeks[last])
    errors = [[] for _ in HORIZONS]
    start, stop = day_of(end - 7 * params.error_weeks), day_of(end)
    made, _ = walk_forward(known, start, stop, lags, params, bands=False)
    for f in made:
        t = int(np.searchsorted(weeks, day_number(f.last_week)))
        for c, step in enumerate(f.steps):
            day = day_number(step.week)
            if end - 7 * params.error_weeks < day <= end and day in weeks:
                actual = log_price[int(np.searchsorted(weeks, day))]
                errors[c].append(abs(actual - math.log(step.point)) / vol[t])
    out = np.full((len(HORIZONS), 2), np.nan)
    for c, found in enumerate(errors):
        if len(found) >= params.least_errors:
            ordered = sorted(found)
            for j, q in enumerate((0.80, 0.95)):
                rank = min(math.ceil((len(ordered) + 1) * q - 1e-9), len(ordered))
                out[c, j] = ordered[rank - 1]
    return out


def assert_same_forecast(made, oracle):
    """The same forecast: the points bit for bit; the bands within rounding (the model sums
    the walk's Gram matrices once for every week, the oracle fits each week on its own)."""
    assert oracle is not None
    assert replace(made, steps=()) == replace(oracle, steps=())
    for got, want in zip(made.steps, oracle.steps, strict=True):
        assert (got.horizon, got.week, got.point) == (want.horizon, want.week, want.point)
        bands = (got.lo80, got.hi80, got.lo95, got.hi95)
        assert bands == pytest.approx((want.lo80, want.hi80, want.lo95, want.hi95), rel=1e-9)


# --- random histories ------------------------------------------------------------------------

START = day_number(date(2015, 6, 7))  # a Sunday; SP still had summer time until 2019


@st.composite
def fuel_series(draw):
    """Weekly survey weeks with holes (a missing week or a few), a log random walk of prices;
    from none to three years of weeks (below and above own_lags, min_train, gap_window)."""
    n = draw(st.integers(0, 160))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    steps = rng.choice([1, 1, 1, 1, 1, 1, 2, 3, 9], size=max(n - 1, 0))
    days = START + draw(st.integers(0, 60)) * 7 + 7 * np.cumsum([0, *steps])[:n]
    values = 5.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    return Series(days.astype(np.int64), values.astype(np.float64))


@st.composite
def driver_series(draw, *, nan=False):
    """A daily-ish driver with holes, starting before or after the fuel; empty sometimes; NaN
    values when ``nan`` (not via Series.of, which drops them: the model must still agree with
    the loop on them)."""
    n = draw(st.sampled_from([0, 1, 5, 50, 400, 1500]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    first = START + draw(st.integers(-400, 300))
    days = first + np.cumsum(rng.choice([1, 1, 1, 2, 3, 4, 30], size=n))
    values = 80.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    if nan and n:
        values[rng.integers(0, n, size=rng.integers(1, 6))] = np.nan
    return Series(days.astype(np.int64), values.astype(np.float64))


@st.composite
def inputs_drawn(draw):
    nan = draw(st.booleans())
    return Inputs(
        fuel=draw(fuel_series()),
        brent=draw(driver_series(nan=nan)),
        usd=draw(driver_series(nan=nan)),
        futures=draw(driver_series(nan=nan)),
    )


params_drawn = st.builds(
    Params,
    own_lags=st.integers(0, 6),
    driver_blocks=st.integers(0, 5),
    error_correction=st.booleans(),
    gap_window=st.integers(1, 60),
    min_train=st.integers(0, 60),
    vol_weeks=st.integers(0, 12),
    vol_floor=st.floats(0.0, 0.01),
)

hours = st.integers(0, 24 * 12).map(lambda h: timedelta(hours=h))
minutes = st.integers(0, 24 * 60 * 12).map(lambda m: timedelta(minutes=m))
lags_drawn = st.one_of(
    st.just(Lags()),
    st.just(Lags.from_catalog(DEFAULT_CATALOG)),
    st.builds(Lags, fuel=hours, brent=minutes, usd=minutes, futures=hours),
)


def assert_samples_equal(samples: Samples, oracle) -> None:
    weeks, log_price, features, vol, gaps = oracle
    np.testing.assert_array_equal(samples.weeks, weeks)
    np.testing.assert_array_equal(samples.log_price, log_price)
    assert samples.features.shape == features.shape
    np.testing.assert_array_equal(samples.features, features)
    np.testing.assert_array_equal(samples.vol, vol)
    np.testing.assert_array_equal(samples.gaps, gaps)


# --- the properties ----------------------------------------------------------------------------


@PROPERTY
@given(inputs=inputs_drawn(), params=params_drawn, lags=lags_drawn)
def test_build_samples_equals_the_loop_it_replaced(inputs, params, lags):
    with np.errstate(all="ignore"):
        oracle = old_build_samples(inputs, lags, params)
    assert_samples_equal(build_samples(inputs, lags, params), oracle)


@PROPERTY
@given(
    inputs=inputs_drawn(),
    params=params_drawn,
    lags=lags_drawn,
    after=st.integers(-20, 1000),
    hour=st.integers(0, 23),
)
def test_state_at_equals_the_loop_it_replaced(inputs, params, lags, after, hour):
    as_of = datetime.combine(day_of(START + after), time(hour), SP)
    known = truncate(inputs, Cutoffs.at(as_of, lags))
    with np.errstate(all="ignore"):
        samples = build_samples(known, lags, params)
        got = state_at(known, samples, as_of, lags, params)
        want = old_state_at(known, samples, as_of, lags, params)
    if want is None:
        assert got is None
        return
    assert got is not None
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])


@PROPERTY
@given(
    fuels=st.lists(fuel_series(), min_size=2, max_size=4),
    drivers=inputs_drawn(),
    params=params_drawn,
)
def test_a_driver_cache_shared_by_areas_changes_no_row(fuels, drivers, params):
    cache: dict = {}
    lags = Lags()
    for fuel in [*fuels, *fuels]:  # the second round reads every row from the cache
        inputs = Inputs(fuel, drivers.brent, drivers.usd, drivers.futures)
        with np.errstate(all="ignore"):
            oracle = old_build_samples(inputs, lags, params)
        assert_samples_equal(build_samples(inputs, lags, params, cache), oracle)


values_drawn = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.5, math.inf, -math.inf, math.nan, 1e-300, 5.25]),
    st.integers(-3, 10),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10, max_value=10),
)


@PROPERTY
@given(
    points=st.lists(
        st.tuples(st.dates(date(1990, 1, 1), date(2040, 12, 31)), values_drawn), max_size=60
    ),
    repeat=st.lists(st.tuples(st.integers(0, 59), values_drawn), max_size=20),
)
def test_series_of_equals_the_dict_it_replaced(points, repeat):
    points = list(points)
    for at, value in repeat:  # the same days again, later in the list, maybe with bad values
        if points:
            points.append((points[at % len(points)][0], value))
    got, want = Series.of(points), old_series_of(points)
    assert got.days.dtype == want.days.dtype and got.values.dtype == want.values.dtype
    np.testing.assert_array_equal(got.days, want.days)
    np.testing.assert_array_equal(got.values, want.values)
    assert np.all(np.diff(got.days) > 0)


def test_series_of_keeps_the_last_good_value_of_a_day():
    day = date(2024, 1, 7)
    series = Series.of(
        [(day, 2.0), (date(2024, 1, 1), 1.0), (day, 3.0), (day, math.nan), (day, -1.0), (day, 0)]
    )
    assert series.days.tolist() == [day_number(date(2024, 1, 1)), day_number(day)]
    assert series.values.tolist() == [1.0, 3.0]
    assert len(Series.of(iter([]))) == 0
    assert Series.of([(day, Decimal("4.5"))]).values.tolist() == [4.5]


@PROPERTY
@given(
    days=st.lists(st.dates(date(1995, 1, 1), date(2035, 12, 31)), min_size=1, max_size=30),
    lags=lags_drawn,
)
def test_publication_cutoffs_equal_cutoffs_at_each_publication(days, lags):
    numbers = np.array([day_number(d) for d in days], dtype=np.int64)
    rows = CutoffRows.published(numbers, lags)
    for i, day in enumerate(days):
        cut = Cutoffs.at(known_at(day, lags.fuel), lags)
        assert (rows.fuel[i], rows.brent[i], rows.usd[i], rows.futures[i]) == (
            cut.fuel,
            cut.brent,
            cut.usd,
            cut.futures,
        )


def test_publication_cutoffs_across_sao_paulo_summer_time_changes():
    """Days either side of SP's DST starts and ends (2018-11-04, 2019-02-17), with lags that
    land the as-of time inside the skipped and the repeated hour."""
    days = [date(2018, 11, 3) + timedelta(days=k) for k in range(4)]
    days += [date(2019, 2, 15) + timedelta(days=k) for k in range(5)]
    numbers = np.array([day_number(d) for d in days], dtype=np.int64)
    for fuel in (timedelta(0), timedelta(hours=23, minutes=30), timedelta(days=7)):
        for other in (timedelta(0), timedelta(minutes=30), timedelta(hours=14), timedelta(days=8)):
            lags = Lags(fuel=fuel, brent=other, usd=other, futures=other)
            rows = CutoffRows.published(numbers, lags)
            for i, day in enumerate(days):
                as_of = known_at(day, fuel)
                assert rows.usd[i] == cutoff(as_of, other)
                assert rows.fuel[i] == day_number(day)


@PROPERTY
@given(inputs=inputs_drawn(), offset=st.integers(-30, 1000), hour=st.integers(0, 23))
def test_scalar_brent_brl_equals_its_loop(inputs, offset, hour):
    cut = Cutoffs.at(datetime.combine(day_of(START + offset), time(hour), SP), Lags())
    days = START + np.arange(-10, 900, 13, dtype=np.int64)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(
            brent_brl(inputs, cut, days), old_brent_brl(inputs, cut, days)
        )


@PROPERTY
@given(
    days=st.lists(st.dates(date(2016, 1, 1), date(2020, 12, 31)), unique=True, max_size=40),
    as_of=st.datetimes(datetime(2016, 1, 1), datetime(2021, 1, 1), timezones=st.just(SP)),
    utc=st.booleans(),
    lag=minutes,
)
def test_the_known_prefix_equals_the_filter_it_replaced(days, as_of, utc, lag):
    points = [(d, 1.0) for d in sorted(days)]
    if utc:
        as_of = as_of.astimezone(ZoneInfo("UTC"))
    known = [p for p in points if datetime.combine(p[0], time(0), SAO_PAULO) + lag <= as_of]
    assert points[: _known_count(points, lag, as_of)] == known


def test_params_out_of_range_are_refused():
    for bad in ({"gap_window": 0}, {"own_lags": -1}, {"driver_blocks": -1}, {"vol_weeks": -2}):
        with pytest.raises(ValueError, match="out of range"):
            Params(**bad)


# --- on the real history ---------------------------------------------------------------------

REAL_KEYS = ("FUEL#GASOLINE#BR", "FUEL#LPG#BR", "FUEL#DIESEL_S10#BR")


@pytest.mark.parametrize("key", REAL_KEYS)
def test_nowcasts_on_the_real_history_equal_the_loops(history, key):
    inputs = inputs_for(
        history.series, key, usd_key=USD_KEY, brent_key=BRENT_KEY, futures_key=BRENT_FUTURES_KEY
    )
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    for params in (Params(), Params(error_correction=False)):
        assert_samples_equal(
            build_samples(inputs, lags, params), old_build_samples(inputs, lags, params)
        )
    for as_of in (
        datetime(2019, 2, 17, 0, 30, tzinfo=SP),  # the night summer time ended
        datetime(2022, 3, 16, 15, 0, tzinfo=SP),
        datetime(2030, 1, 1, tzinfo=SP),
    ):
        made = nowcast(inputs, as_of, lags)
        assert made is not None
        assert_same_forecast(made, old_nowcast(inputs, as_of, lags, Params()))


def test_a_refresh_stores_the_forecasts_the_loops_make(tmp_path, history):
    """The stage on a real store (Brazil's history): each stored forecast equals the record
    the loop implementation's nowcast gives for the same inputs."""
    as_of = datetime(2023, 6, 7, 12, 0, tzinfo=SP)
    store = SqliteStore(tmp_path / "store.sqlite")
    store_known(
        store, history, (*REAL_KEYS, USD_KEY, BRENT_KEY, BRENT_FUTURES_KEY), as_of, date(2100, 1, 1)
    )
    report = refresh_outlook(store, DEFAULT_CATALOG, as_of, keys=list(REAL_KEYS))
    assert report.made == len(REAL_KEYS)
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    for key in REAL_KEYS:
        inputs = inputs_for(
            history.series, key, usd_key=USD_KEY, brent_key=BRENT_KEY, futures_key=BRENT_FUTURES_KEY
        )
        known = truncate(inputs, Cutoffs.at(as_of, lags))
        forecast = old_nowcast(known, as_of, lags, Params())
        assert forecast is not None
        cut = served_cutoffs(known.fuel, as_of, lags)
        mark = f"{input_mark(known, cut)};model={MODEL_VERSION};history={history_mark(known, cut)}"
        want = to_record(outlook_key(*key.split("#")[1:]), forecast, mark)
        (stored,) = store.query(want.key)
        assert (stored.date, stored.value, stored.attrs) == (want.date, want.value, want.attrs)
    store.close()


def test_nothing_known_yet_gives_no_rows():
    inputs = Inputs(Series.empty(), Series.empty(), Series.empty(), Series.empty())
    samples = build_samples(inputs, Lags(), Params())
    assert samples.features.shape == (0, 10)
    assert state_at(inputs, samples, datetime(2024, 1, 1, tzinfo=SP), Lags(), Params()) is None


def test_the_mark_moves_with_a_recent_value_and_the_history_with_any(history):
    """A PTAX day filled RECENT_DAYS or less before its cut-off moves the input mark (what the
    checked refresh compares); one filled earlier moves only the history's digest (what the
    full refresh compares too); neither moves a day after the cut-off (REAL data)."""
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    inputs = inputs_for(
        history.series,
        REAL_KEYS[0],
        usd_key=USD_KEY,
        brent_key=BRENT_KEY,
        futures_key=BRENT_FUTURES_KEY,
    )
    as_of = datetime(2023, 6, 7, 12, 0, tzinfo=SP)
    cut = served_cutoffs(inputs.fuel, as_of, lags)
    usd = inputs.usd.upto(cut.usd)

    def without(day: int) -> Inputs:
        """The inputs with the PTAX of the ``day``-th known day from the last missing."""
        keep = np.arange(len(inputs.usd)) != len(usd) - day
        return replace(inputs, usd=Series(inputs.usd.days[keep], inputs.usd.values[keep]))

    def marks(given: Inputs) -> tuple[str, str]:
        return input_mark(given, cut), history_mark(given, cut)

    mark, whole = marks(inputs)
    recent = int(usd.days[-5])  # a Tuesday or so before the last day: the last day stays
    assert cut.usd - recent < RECENT_DAYS
    assert marks(without(5))[0] != mark
    old = without(200)
    assert cut.usd - int(usd.days[-200]) >= RECENT_DAYS
    assert marks(old) == (mark, marks(old)[1]) and marks(old)[1] != whole
    later = Series(np.append(usd.days, cut.usd + 1), np.append(usd.values, 5.0))
    assert marks(replace(inputs, usd=later)) == (mark, whole)
