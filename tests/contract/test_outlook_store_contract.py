"""Stored forecasts round-trip, and are scored, the same way in every Store adapter."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fuelpipe.domain.keys import outlook_key
from fuelpipe.outlook.forecast import Forecast, Step
from fuelpipe.outlook.records import from_record, to_record, with_actuals
from fuelpipe.ports.store import Store

SP = ZoneInfo("America/Sao_Paulo")
KEY = outlook_key("DIESEL_S10", "REGION_SE")


def _forecast(loo: tuple[int, ...] | None = ()) -> Forecast:
    """A forecast shaped like the model's (values made up for the round trip)."""
    steps = tuple(
        Step(
            h,
            date(2024, 3, 10) + timedelta(weeks=h - 1),
            6.1 + h / 100,
            6.05 - h / 100,
            6.15 + h / 50,
            6.0 - h / 50,
            6.2 + h / 40,
        )
        for h in range(1, 6)
    )
    return Forecast(
        datetime(2024, 3, 6, 13, 30, tzinfo=SP),
        date(2024, 3, 3),
        6.0912,
        -0.0123,
        date(2024, 3, 5),
        steps,
        loo_horizons=loo,
    )


def test_a_stored_forecast_reads_back_equal_to_four_decimals(store: Store) -> None:
    fc = _forecast()
    store.put_records([to_record(KEY, fc)])
    (record,) = store.query(KEY)
    assert record.date == date(2024, 3, 6)
    back = from_record(record)
    assert back.actuals == {}
    assert back.forecast.as_of == fc.as_of
    assert back.forecast.last_week == fc.last_week
    assert back.forecast.driver_day == fc.driver_day
    assert [s.week for s in back.forecast.steps] == [s.week for s in fc.steps]
    for a, b in zip(back.forecast.steps, fc.steps, strict=True):
        assert (a.point, a.lo80, a.hi80, a.lo95, a.hi95) == tuple(
            round(v, 4) for v in (b.point, b.lo80, b.hi80, b.lo95, b.hi95)
        )


def test_published_prices_attach_to_their_horizons(store: Store) -> None:
    store.put_records([to_record(KEY, _forecast())])
    (record,) = store.query(KEY)
    store.put_records([with_actuals(record, {1: 6.105, 2: 6.2})])
    (scored,) = store.query(KEY)
    back = from_record(scored)
    assert back.actuals == {1: 6.105, 2: 6.2}
    assert [s.horizon for s in back.unscored()] == [3, 4, 5]


def test_the_leave_one_out_horizons_read_back_as_stored(store: Store) -> None:
    """Some, none (an empty attribute, not an absent one) and not known (absent) alike."""
    for day, loo in ((1, (3, 4, 5)), (2, ()), (3, None)):
        fc = _forecast(loo)
        fc = replace(fc, as_of=fc.as_of + timedelta(days=day))
        store.put_records([to_record(KEY, fc)])
    read = [from_record(r).forecast.loo_horizons for r in store.query(KEY)]
    assert read == [(3, 4, 5), (), None]
