"""A driver that stops is named on the forecast, and one that freezes Brent in BRL is dropped.

The demo's FRED Brent ended on 2024-12-31 while its fuel weeks and PTAX ran to 2026 (its
snapshot and the history the backtest reads now bundle Brent to 2026-05-01, past Brazil's last
week; the real-history tests below stop it where it stopped, on a store as it was): without a
check, every later forecast read Brent as if it had not moved since, silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import BRENT_FUTURES_KEY, BRENT_KEY, USD_KEY, History
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.backtest import walk_forward
from fuelpipe.outlook.forecast import StaleDriver
from fuelpipe.outlook.model import Params, driver_move, nowcast
from fuelpipe.outlook.records import from_record, to_record
from fuelpipe.outlook.series import (
    Cutoffs,
    Inputs,
    Lags,
    Series,
    StaleAfter,
    brent_brl_last_day,
    day_number,
    day_of,
    inputs_for,
    known_at,
    stale_drivers,
)
from fuelpipe.stages.outlook import refresh_outlook

from .conftest import store_known

SP = ZoneInfo("America/Sao_Paulo")
FIRST = date(2021, 1, 3)
WEEKS = 150
LAST_WEEK = FIRST + timedelta(weeks=WEEKS - 1)
AS_OF = known_at(LAST_WEEK, Lags().fuel)
LPG = "FUEL#LPG#BR"


def _daily(first: date, last: date, seed: int, level: float) -> Series:
    n = (last - first).days + 1
    rng = np.random.default_rng(seed)
    values = level * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    return Series(day_number(first) + np.arange(n, dtype=np.int64), values)


def _inputs(brent_ends: date, usd_ends: date, futures_ends: date | None = None) -> Inputs:
    """A fuel with Brent, PTAX and (when given) BZ=F ending on the days given."""
    rng = np.random.default_rng(11)
    prices = 5.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, WEEKS)))
    fuel = Series(day_number(FIRST) + 7 * np.arange(WEEKS, dtype=np.int64), prices)
    start = FIRST - timedelta(days=60)
    futures = _daily(start, futures_ends, 3, 82.0) if futures_ends else Series.empty()
    return Inputs(
        fuel, _daily(start, brent_ends, 1, 80.0), _daily(start, usd_ends, 2, 5.0), futures
    )


FRESH = LAST_WEEK + timedelta(days=6)  # the drivers' last days known at AS_OF
OLD = LAST_WEEK - timedelta(weeks=20)


def test_a_driver_is_stale_past_its_limit_counted_from_its_cutoff():
    cut = Cutoffs.at(AS_OF, Lags())
    limits = StaleAfter()
    brent_cut = day_of(cut.brent)
    at_limit = _inputs(brent_cut - timedelta(days=limits.brent), FRESH)
    assert stale_drivers(at_limit, cut, limits) == ()
    past = _inputs(brent_cut - timedelta(days=limits.brent + 1), FRESH)
    assert stale_drivers(past, cut, limits) == (
        StaleDriver("brent", brent_cut - timedelta(days=limits.brent + 1)),
    )
    usd_cut = day_of(cut.usd)
    old_usd = _inputs(FRESH, usd_cut - timedelta(days=limits.usd + 1), OLD)
    assert [s.name for s in stale_drivers(old_usd, cut, limits)] == ["usd", "futures"]
    assert stale_drivers(_inputs(FRESH, FRESH), cut, limits) == ()  # no BZ=F: nothing to warn


def test_current_drivers_give_no_warning():
    made = nowcast(_inputs(FRESH, FRESH, FRESH), AS_OF)
    assert made is not None
    assert made.stale == () and made.drivers_dropped is False


def test_brent_stopped_with_nothing_to_carry_it_is_dropped_from_the_model():
    """Brent spot 20 weeks old and no BZ=F: Brent in BRL would move with the dollar only. The
    forecast names Brent and its last day and is the model fitted without the driver terms
    (its points; its bands read the errors of the earlier forecasts as they were made, with the
    driver terms while Brent was current, so they are not the driver-free model's)."""
    inputs = _inputs(OLD, FRESH)
    made = nowcast(inputs, AS_OF)
    assert made is not None
    assert made.stale == (StaleDriver("brent", OLD),)
    assert made.drivers_dropped is True
    alone = nowcast(inputs, AS_OF, params=Params().without_drivers())
    assert alone is not None
    assert [s.point for s in made.steps] == [s.point for s in alone.steps]
    with_drivers = nowcast(inputs, AS_OF, stale_after=StaleAfter(brent=10_000))
    assert with_drivers is not None and with_drivers.steps != made.steps
    assert with_drivers.stale == () and not with_drivers.drivers_dropped


def test_a_stale_dollar_is_dropped_too():
    made = nowcast(_inputs(FRESH, OLD, FRESH), AS_OF)
    assert made is not None
    assert made.stale == (StaleDriver("usd", OLD),) and made.drivers_dropped


def test_brent_spot_carried_by_current_futures_is_kept_with_its_warning():
    inputs = _inputs(OLD, FRESH, FRESH)
    made = nowcast(inputs, AS_OF)
    assert made is not None
    assert made.stale == (StaleDriver("brent", OLD),) and made.drivers_dropped is False
    unchecked = nowcast(inputs, AS_OF, stale_after=StaleAfter(brent=10_000))
    assert unchecked is not None and made.steps == unchecked.steps


def test_brent_and_futures_both_stopped_are_dropped():
    made = nowcast(_inputs(OLD, FRESH, OLD - timedelta(days=3)), AS_OF)
    assert made is not None
    assert [s.name for s in made.stale] == ["brent", "futures"] and made.drivers_dropped


def _brent_brl(inputs: Inputs, day: date) -> float:
    """Brent x PTAX on ``day`` from the raw series (both have a value every day)."""
    at = np.array([day_number(day)], dtype=np.int64)
    return float(inputs.brent.at_or_before(at)[0] * inputs.usd.at_or_before(at)[0])


def test_brent_in_brls_last_day_is_the_last_day_both_brent_and_the_dollar_are_known():
    """At a publication FRED's Brent (7 days' lag) is known 6 days less far than PTAX (14 h):
    Brent in BRL ends on Brent's day, or later only where BZ=F carries spot on; still on
    Brent's when PTAX has a (current) value only before it, as on a PTAX holiday; and nowhere
    when a stale driver froze it or PTAX has no value by Brent's last day."""
    cut, limits = Cutoffs.at(AS_OF, Lags()), StaleAfter()
    assert (day_of(cut.brent), day_of(cut.usd), day_of(cut.futures)) == (LAST_WEEK, FRESH, FRESH)

    def last(inputs: Inputs) -> int | None:
        return brent_brl_last_day(inputs, cut, stale_drivers(inputs, cut, limits))

    assert last(_inputs(FRESH, FRESH)) == cut.brent  # not PTAX's 6 days more
    assert last(_inputs(FRESH, FRESH, FRESH)) == cut.usd  # BZ=F carries spot to PTAX's day
    early = LAST_WEEK - timedelta(days=3)
    assert last(_inputs(FRESH, early)) == cut.brent  # the dollar of 3 days before, not stale
    at_limit = LAST_WEEK - timedelta(days=limits.brent)
    assert last(_inputs(at_limit, FRESH)) == day_number(at_limit)  # old, not yet stale
    assert last(_inputs(at_limit - timedelta(days=1), FRESH)) is None  # stale, nothing carries
    assert last(_inputs(OLD, FRESH)) is None
    assert last(_inputs(OLD, FRESH, FRESH)) == cut.usd  # carried by current BZ=F
    assert last(_inputs(FRESH, OLD, FRESH)) is None  # a stale dollar freezes it too
    ends = LAST_WEEK - timedelta(days=10)
    brent_first = _inputs(ends, FRESH)
    later = brent_first.usd.days > day_number(ends)
    usd = Series(brent_first.usd.days[later], brent_first.usd.values[later])
    assert last(Inputs(brent_first.fuel, brent_first.brent, usd, Series.empty())) is None


def test_the_driver_move_shown_is_brents_not_the_dollars_after_brents_last_day():
    """The move ended on the last day any driver was known: with FRED's Brent 6 days behind
    PTAX, that move was Brent's up to its day and then the dollar's alone, called Brent's."""
    inputs = _inputs(FRESH, FRESH)  # no BZ=F, as the demo
    made = nowcast(inputs, AS_OF)
    assert made is not None and made.stale == () and not made.drivers_dropped
    assert made.driver_day == LAST_WEEK
    week_ago = LAST_WEEK - timedelta(days=7)
    want = math.log(_brent_brl(inputs, LAST_WEEK) / _brent_brl(inputs, week_ago))
    assert made.driver_move == pytest.approx(want, rel=1e-12)


def test_no_move_is_shown_for_a_brent_frozen_past_its_limit():
    """The demo's card read "+0.5% to Jun 26, 2026" with FRED's Brent ended on 2024-12-31: the
    dollar's move. A Brent stale past its limit with nothing to carry it shows no move; taken
    as current (a limit it is within), its move is its own, to its own last day."""
    inputs = _inputs(OLD, FRESH)
    made = nowcast(inputs, AS_OF)
    assert made is not None and made.drivers_dropped
    assert math.isnan(made.driver_move) and made.driver_day is None
    cut = Cutoffs.at(AS_OF, Lags())
    move, day = driver_move(inputs, cut, stale_drivers(inputs, cut, StaleAfter()))
    assert math.isnan(move) and day is None
    assert to_record("OUTLOOK#GASOLINE#BR", made).attrs.get("driver_move") is None
    unchecked = nowcast(inputs, AS_OF, stale_after=StaleAfter(brent=10_000))
    assert unchecked is not None and unchecked.driver_day == OLD
    want = math.log(_brent_brl(inputs, OLD) / _brent_brl(inputs, OLD - timedelta(days=7)))
    assert unchecked.driver_move == pytest.approx(want, rel=1e-12)


def test_the_backtest_drops_a_stale_driver_the_way_the_nowcast_does():
    inputs = _inputs(OLD, FRESH)
    forecasts, _ = walk_forward(inputs, LAST_WEEK - timedelta(weeks=30))
    assert {f.drivers_dropped for f in forecasts} == {False, True}  # before and after Brent ends
    for made in forecasts[::4]:
        assert nowcast(inputs, made.as_of) == made


def test_the_warning_is_stored_with_the_forecast():
    made = nowcast(_inputs(OLD, FRESH), AS_OF)
    assert made is not None
    record = to_record("OUTLOOK#GASOLINE#BR", made, "mark")
    assert record.attrs["stale"] == f"brent={OLD.isoformat()}"
    assert record.attrs["drivers_dropped"] == 1
    back = from_record(record).forecast
    assert back.stale == made.stale and back.drivers_dropped
    fresh = nowcast(_inputs(FRESH, FRESH), AS_OF)
    assert fresh is not None
    back = from_record(to_record("OUTLOOK#GASOLINE#BR", fresh)).forecast
    assert back.stale == () and not back.drivers_dropped
    old_record = to_record("OUTLOOK#GASOLINE#BR", fresh)  # stored before the check existed
    attrs = {k: v for k, v in old_record.attrs.items() if k not in ("stale", "drivers_dropped")}
    back = from_record(old_record.with_(attrs=attrs)).forecast
    assert back.stale == () and not back.drivers_dropped


# --- on the real history: its FRED Brent runs to 2026-05-01; stopped where the demo's did --------

NOW = datetime(2025, 6, 18, 12, 0, tzinfo=SP)
STOPPED = date(2024, 12, 31)
"""The demo's FRED Brent's last day before its snapshot took the longer file (as the history's
before it read datasets/brent/kianezimmermann94__DCOILBRENTEU_2015-01-02_2026-05-01.csv)."""


def _brent_stopped(history: History) -> History:
    """The real history with FRED's Brent ending on ``STOPPED``: a store whose Brent stopped."""
    brent = [(d, v) for d, v in history.series[BRENT_KEY] if d <= STOPPED]
    return History({**history.series, BRENT_KEY: brent})


def test_on_the_real_history_no_driver_is_stale_at_brazils_forecasts(history):
    """Brent spot runs past Brazil's last week (2026-03-08), PTAX and BZ=F further: every
    forecast, during the history and after it (made from its last week), reads them current."""
    inputs = inputs_for(
        history.series, LPG, usd_key=USD_KEY, brent_key=BRENT_KEY, futures_key=BRENT_FUTURES_KEY
    )
    spot_only = Inputs(inputs.fuel, inputs.brent, inputs.usd, Series.empty())
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    for now in (NOW, datetime(2026, 6, 18, 12, 0, tzinfo=SP)):
        for known in (inputs, spot_only):
            made = nowcast(known, now, lags)
            assert made is not None
            assert made.stale == () and not made.drivers_dropped, now


def test_on_the_real_history_a_brent_stopped_is_named_and_kept_while_futures_carry_it(history):
    stopped = _brent_stopped(history)
    inputs = inputs_for(
        stopped.series, LPG, usd_key=USD_KEY, brent_key=BRENT_KEY, futures_key=BRENT_FUTURES_KEY
    )
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    made = nowcast(inputs, NOW, lags)
    assert made is not None
    assert made.stale == (StaleDriver("brent", STOPPED),)
    assert not made.drivers_dropped
    spot_only = Inputs(inputs.fuel, inputs.brent, inputs.usd, Series.empty())  # the demo's
    made = nowcast(spot_only, NOW, lags)
    assert made is not None
    assert made.stale == (StaleDriver("brent", STOPPED),) and made.drivers_dropped
    before = nowcast(spot_only, datetime(2024, 12, 20, 12, 0, tzinfo=SP), lags)
    assert before is not None and before.stale == () and not before.drivers_dropped


def _stopped_client(folder: Path, history: History, keys: tuple[str, ...]) -> Iterator[TestClient]:
    """The API on a store of ``keys`` known at NOW, FRED's Brent stopped on ``STOPPED``, LPG's
    outlook refreshed: Brent is named stale."""
    store = SqliteStore(folder / "store.sqlite")
    store_known(store, _brent_stopped(history), keys, NOW)
    report = refresh_outlook(store, DEFAULT_CATALOG, NOW, keys=[LPG])
    assert report.made == 1 and report.stale_drivers == {"brent": STOPPED}
    with TestClient(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0)) as c:
        yield c
    store.close()


@pytest.fixture(scope="module")
def spot_only_client(tmp_path_factory, history):
    """LPG in Brazil with PTAX and FRED's Brent only (no BZ=F), as the demo stores them."""
    yield from _stopped_client(tmp_path_factory.mktemp("stale"), history, (LPG, USD_KEY, BRENT_KEY))


@pytest.fixture(scope="module")
def carried_client(tmp_path_factory, history):
    """LPG in Brazil with PTAX, FRED's Brent and BZ=F to carry it."""
    keys = (LPG, USD_KEY, BRENT_KEY, BRENT_FUTURES_KEY)
    yield from _stopped_client(tmp_path_factory.mktemp("carried"), history, keys)


@pytest.mark.parametrize(
    ("client", "dropped"), [("spot_only_client", True), ("carried_client", False)]
)
def test_the_api_names_the_stale_driver_and_says_whether_it_was_dropped(request, client, dropped):
    body = request.getfixturevalue(client).get("/api/outlook", params={"fuel": "LPG", "area": "BR"})
    body = body.json()
    assert body["available"]
    assert body["stale_drivers"] == [
        {"driver": "brent", "key": BRENT_KEY, "last_day": STOPPED.isoformat()}
    ]
    assert body["drivers_dropped"] is dropped
    if dropped:
        assert (body["driver_move"], body["driver_day"]) == (None, None)  # not the dollar's move
    else:
        assert body["driver_day"] > STOPPED.isoformat()  # BZ=F's move carries spot past its end


def test_the_api_says_how_many_weeks_an_area_without_an_outlook_has_and_needs(spot_only_client):
    body = spot_only_client.get("/api/outlook", params={"fuel": "CNG", "area": "SP"}).json()
    assert body["available"] is False
    assert (body["min_weeks"], body["published_weeks"]) == (83, 0)
    assert body["stale_drivers"] == [] and body["drivers_dropped"] is False
