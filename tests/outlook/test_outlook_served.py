"""What is served is what was scored: a forecast refreshed mid-week reads its drivers at the
cutoffs of the rows the model is trained and backtested on (the last survey week's
publication), so the backtest's accuracy is the accuracy of the forecast on the page."""

import math
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fuelpipe.adapters.history_files import BRENT_FUTURES_KEY, BRENT_KEY, USD_KEY
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.backtest import walk_forward
from fuelpipe.outlook.model import nowcast
from fuelpipe.outlook.records import from_record
from fuelpipe.outlook.series import (
    Cutoffs,
    Lags,
    brent_brl,
    day_number,
    inputs_for,
    known_at,
    served_cutoffs,
)

from .conftest import store_known

SP = ZoneInfo("America/Sao_Paulo")
GASOLINE = "FUEL#GASOLINE#BR"
LAST_WEEK = date(2022, 3, 6)  # published Friday 2022-03-11 18:00; a big Petrobras hike followed
TUESDAY = datetime(2022, 3, 15, 15, 0, tzinfo=SP)  # Monday's PTAX is known, no new survey week


def _inputs(history):
    return inputs_for(
        history.series,
        GASOLINE,
        usd_key=USD_KEY,
        brent_key=BRENT_KEY,
        futures_key=BRENT_FUTURES_KEY,
    )


def test_served_cutoffs_are_those_at_the_last_survey_weeks_publication(history):
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    inputs = _inputs(history)
    published = known_at(LAST_WEEK, lags.fuel)
    assert served_cutoffs(inputs.fuel, TUESDAY, lags) == Cutoffs.at(published, lags)
    assert served_cutoffs(inputs.fuel, published, lags) == Cutoffs.at(published, lags)
    just_before = published - timedelta(seconds=1)  # the week before is the last one known
    earlier = known_at(LAST_WEEK - timedelta(weeks=1), lags.fuel)
    assert served_cutoffs(inputs.fuel, just_before, lags) == Cutoffs.at(earlier, lags)


def test_a_mid_week_nowcast_is_the_backtests_forecast_of_its_last_week(history):
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    inputs = _inputs(history)
    forecasts, _ = walk_forward(inputs, LAST_WEEK, LAST_WEEK + timedelta(weeks=1), lags)
    scored = next(f for f in forecasts if f.last_week == LAST_WEEK)
    for as_of in (TUESDAY, TUESDAY + timedelta(days=2), known_at(LAST_WEEK, lags.fuel)):
        served = nowcast(inputs, as_of, lags)
        assert served is not None and served.last_week == LAST_WEEK
        assert served == replace(scored, as_of=as_of)  # only the stamp differs


def test_a_mid_week_ptax_does_not_change_the_stored_forecast(tmp_path, history):
    """The stage redoes a forecast when a new survey week lands, not when a driver day does:
    a later driver day would move the forecast off the rows it was scored on."""
    store = SqliteStore(tmp_path / "store.sqlite")
    keys = (GASOLINE, USD_KEY, BRENT_KEY, BRENT_FUTURES_KEY)
    store_known(store, history, keys, TUESDAY, hold_back=date(2022, 3, 14))
    first = refresh_outlook_at(store, TUESDAY)
    assert first.made == 1
    monday = dict(history.series[USD_KEY])[date(2022, 3, 14)]
    store.put_records([Record(USD_KEY, date(2022, 3, 14), Decimal(str(monday)), Status.OK)])
    again = refresh_outlook_at(store, TUESDAY + timedelta(hours=1))
    assert (again.made, again.unchanged) == (0, 1)
    stored = from_record(store.query(outlook_key("GASOLINE", "BR"))[-1]).forecast
    assert stored.driver_day is not None and stored.driver_day < date(2022, 3, 14)
    store.close()


def test_the_driver_move_shown_is_brent_in_brl_over_the_7_days_to_its_last_day(history):
    """The card's move is Brent in BRL over the 7 days to its last day known at the
    publication: the last day both Brent (here BZ=F carrying FRED's spot) and PTAX are known.
    At Friday 18:00 that is Thursday: Friday's PTAX is out, BZ=F's Friday settlement is not
    (20 h), so a move to Friday would end in the dollar's day alone (and read -8.7%, BZ=F held
    at Thursday's 109.33 against the 118.11 of the Friday before, where the raw files say
    -5.7%). It read 0.0% for every forecast when it was measured from the end of a survey
    week not yet over at the publication. From 3 to 10 March 2022 the raw BZ=F x PTAX files
    say about -1%."""
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    inputs = _inputs(history)
    served = nowcast(inputs, TUESDAY, lags)
    assert served is not None and served.driver_day == date(2022, 3, 10)
    cut = served_cutoffs(inputs.fuel, TUESDAY, lags)
    end = served.driver_day
    level = brent_brl(inputs, cut, np.array([day_number(end - timedelta(days=7)), day_number(end)]))
    assert served.driver_move == pytest.approx(math.log(level[1] / level[0]), rel=1e-12)
    usd, futures = dict(history.series[USD_KEY]), dict(history.series[BRENT_FUTURES_KEY])
    week_ago = end - timedelta(days=7)
    raw = math.log(usd[end] * futures[end] / (usd[week_ago] * futures[week_ago]))
    assert raw < 0 and served.driver_move < 0
    assert served.driver_move == pytest.approx(raw, abs=0.01)


def test_a_forecast_stored_by_an_older_model_is_redone_on_the_next_refresh(tmp_path, history):
    """Same inputs, older model (its mark has no ``model=``): the refresh redoes it instead of
    keeping it, with its 0.0 driver move, until the next survey week."""
    store = SqliteStore(tmp_path / "store.sqlite")
    keys = (GASOLINE, USD_KEY, BRENT_KEY, BRENT_FUTURES_KEY)
    store_known(store, history, keys, TUESDAY, hold_back=date(2022, 3, 14))
    assert refresh_outlook_at(store, TUESDAY).made == 1
    key = outlook_key("GASOLINE", "BR")
    stored = store.query(key)[-1]
    older = stored.attrs["inputs"].split(";model=")[0]
    store.put_records([stored.with_(attrs={**stored.attrs, "inputs": older})])
    assert refresh_outlook_at(store, TUESDAY + timedelta(hours=1)).made == 1
    again = refresh_outlook_at(store, TUESDAY + timedelta(hours=2))
    assert (again.made, again.unchanged) == (0, 1)
    assert ";model=" in store.query(key)[-1].attrs["inputs"]
    store.close()


def refresh_outlook_at(store, as_of):
    from fuelpipe.stages.outlook import refresh_outlook

    return refresh_outlook(store, DEFAULT_CATALOG, as_of, keys=[GASOLINE])
