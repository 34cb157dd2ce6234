"""outlook_move compares the latest stored forecast however old: a survey that stays quiet
(no new ANP week for weeks: a holiday pause, a late release) leaves the served outlook, and the
move it expects, as they were, so the alert holds until the week it expects the move by is
over; a newer week stored (the forecast then behind its series) or a forecast without the move
ends it sooner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.support.outlook import rising_forecast

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.outlook_rules import OutlookMove

SP = ZoneInfo("America/Sao_Paulo")
GASOLINE = "FUEL#GASOLINE#BR"
MADE = datetime(2022, 5, 6, 20, 0, tzinfo=SP)  # the week of 2022-05-01 out on Friday 6th


@dataclass(frozen=True)
class Ctx:
    store: SqliteStore
    now: datetime
    catalog: Catalog = DEFAULT_CATALOG


@pytest.fixture
def store(tmp_path: Path):
    store = SqliteStore(tmp_path / "s.sqlite")
    store.put_records([Record(GASOLINE, date(2022, 5, 1), Decimal("7.20"), Status.OK)])
    store.put_records([rising_forecast(MADE)])  # +5.6% within two weeks
    yield store
    store.close()


@pytest.mark.parametrize("days", [0, 13, 15])
def test_the_move_holds_while_no_newer_week_is_stored(store, days) -> None:
    """13 days after the forecast it fired; 15 days after, with no new week, it found no
    record in its 14-day look-back and the alert cleared, to fire again at the next survey."""
    found = OutlookMove().evaluate(Ctx(store, MADE + timedelta(days=days)))

    assert [c.subject for c in found] == [f"{GASOLINE}:rise"]
    assert found[0].evidence["as_of"] == MADE.isoformat()


def test_a_newer_week_stored_ends_it_however_old_the_forecast(store) -> None:
    store.put_records([Record(GASOLINE, date(2022, 5, 22), Decimal("7.50"), Status.OK)])

    assert OutlookMove().evaluate(Ctx(store, MADE + timedelta(days=20))) == []


@pytest.mark.parametrize("days", [16, 45])
def test_it_ends_once_the_week_it_expected_the_move_by_is_over(store, days) -> None:
    """The move was expected by the week of 2022-05-15 (Sunday to Saturday 21st): from Sunday
    22nd, 16 days after the forecast, that week has gone by without a survey, and a forecast
    made before it says nothing of the weeks after."""
    assert OutlookMove().evaluate(Ctx(store, MADE + timedelta(days=days))) == []


def test_the_forecast_s_instant_is_told_in_sao_paulo_time_whatever_the_clock(tmp_path) -> None:
    """The AWS home's clock is UTC: a forecast made there was told ``23:00:00+00:00`` in the
    alert's evidence, where every other instant of an alert is São Paulo's with its offset."""
    store = SqliteStore(tmp_path / "u.sqlite")
    try:
        store.put_records([Record(GASOLINE, date(2022, 5, 1), Decimal("7.20"), Status.OK)])
        store.put_records([rising_forecast(MADE.astimezone(UTC))])
        (found,) = OutlookMove().evaluate(Ctx(store, MADE + timedelta(days=1)))
    finally:
        store.close()
    assert found.evidence["as_of"] == "2022-05-06T20:00:00-03:00"


@pytest.mark.parametrize("before", [timedelta(days=300), timedelta(minutes=1)])
def test_a_forecast_made_after_the_clock_is_not_the_outlook_yet(store, before) -> None:
    """A store filled ahead of the clock (the demo's: forecasts made in 2026, its clock in
    2022) holds forecasts not made yet at ``now``: the move one expects fired at that clock,
    its weeks still ahead of it."""
    assert OutlookMove().evaluate(Ctx(store, MADE - before)) == []


def test_the_one_made_by_the_clock_is_the_outlook_beside_a_later_one(store) -> None:
    earlier = MADE - timedelta(days=2)
    store.put_records([rising_forecast(earlier)])

    found = OutlookMove().evaluate(Ctx(store, MADE - timedelta(days=1)))

    assert [c.evidence["as_of"] for c in found] == [earlier.isoformat()]
