"""outlook_move fires on a move of its threshold or more (docs/OUTLOOK.md: "±3% or more"): a
move of exactly 3% between two prices of three and four decimals is 3% however the division of
their floats rounds it (5.3457 / 5.19 - 1 is 0.029999999999999805), and one a ten-thousandth
short of it is not. outlook_miss fires on a published week outside its forecast's 95%
interval: one on a bound is inside. Synthetic forecasts: the edges are the point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.support.fakes import Collect

from fuelpipe.adapters.alerts import SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.forecast import Forecast, Step
from fuelpipe.outlook.records import to_record, with_actuals
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.stages.alerting import evaluate
from fuelpipe.stages.outlook import outlook_key_for
from fuelpipe.stages.outlook_rules import OutlookMove, OutsideInterval

SP = ZoneInfo("America/Sao_Paulo")
GASOLINE = "FUEL#GASOLINE#BR"
WEEK = date(2022, 5, 1)
MADE = datetime(2022, 5, 6, 20, 0, tzinfo=SP)


@dataclass(frozen=True)
class Ctx:
    store: SqliteStore
    now: datetime
    catalog: Catalog = DEFAULT_CATALOG


def _forecast(last: float, two_weeks: float, as_of: datetime = MADE) -> Record:
    """A synthetic gasoline outlook made ``as_of`` from ``last`` expecting ``two_weeks`` in two
    weeks."""
    steps = tuple(
        Step(h, WEEK + timedelta(weeks=h), point, point - 0.1, point + 0.1, point - 0.2,
             point + 0.2)
        for h, point in ((1, last), (2, two_weeks))
    )  # fmt: skip
    forecast = Forecast(as_of, WEEK, last, 0.0, date(2022, 5, 3), steps)
    return to_record(outlook_key_for(DEFAULT_CATALOG[GASOLINE]), forecast)


@pytest.mark.parametrize(
    ("last", "two_weeks", "subjects"),
    [
        (5.19, 5.3457, [f"{GASOLINE}:rise"]),  # +3% exactly: 0.029999999999999805 as floats
        (5.01, 4.8597, [f"{GASOLINE}:fall"]),  # -3% exactly: -0.029999999999999916
        (7.20, 7.416, [f"{GASOLINE}:rise"]),  # +3% exactly: 0.030000000000000027
        (5.19, 5.3456, []),  # a ten-thousandth short of +3%
        (5.01, 4.8598, []),  # a ten-thousandth short of -3%
    ],
)
def test_a_move_of_exactly_the_threshold_fires(
    tmp_path: Path, last: float, two_weeks: float, subjects: list[str]
) -> None:
    store = SqliteStore(tmp_path / "s.sqlite")
    try:
        store.put_records([Record(GASOLINE, WEEK, Decimal(str(last)), Status.OK)])
        store.put_records([_forecast(last, two_weeks)])
        found = OutlookMove().evaluate(Ctx(store, MADE + timedelta(days=1)))
    finally:
        store.close()
    assert [c.subject for c in found] == subjects
    for c in found:  # the pt-BR text beside the English one
        way = "subir" if c.subject.endswith(":rise") else "cair"
        assert (c.summary_pt_br or "").startswith(f"{GASOLINE} deve {way} 3,0% em até 2 semanas")
        assert "alerta em ±3,0%" in (c.summary_pt_br or "")


def test_a_move_falling_back_under_the_threshold_clears_and_fires_again_when_back(
    tmp_path: Path,
) -> None:
    """Each refresh's forecast (four a day, the same survey week) through the real evaluation,
    SQLite alert state and outbox: +3.5% fires, +2.9% clears, exactly +3% (5.19 to 5.3457:
    forecasts are stored at four decimals) fires again, the same forecast evaluated again is
    quiet, and a turn to -3% clears the rise and fires the fall."""
    clock = ManualClock(MADE)
    store = SqliteStore(tmp_path / "s.sqlite")
    queue = SqliteQueue(tmp_path / "q.sqlite", clock=clock, visibility_timeout=timedelta(1))
    state = SqliteAlertState(tmp_path / "s.sqlite", clock=clock)
    sink = Collect()
    told: list[list[str]] = []
    try:
        store.put_records([Record(GASOLINE, WEEK, Decimal("5.19"), Status.OK)])
        for two_weeks in (5.3717, 5.3405, 5.3457, 5.3457, 5.0343):
            clock.advance(timedelta(hours=6))
            store.put_records([_forecast(5.19, two_weeks, clock.now())])
            ctx = AlertContext(clock.now(), store, queue, Catalog([DEFAULT_CATALOG[GASOLINE]]))
            evaluate(ctx, [OutlookMove()], state, [state.outbox([sink.name])])
            assert state.deliver([sink]).failed == []
            told.append([f"{a.kind.value} {a.condition.subject}" for a in sink.alerts])
            sink.alerts.clear()
    finally:
        state.close()
        queue.close()
        store.close()
    rise, fall = f"{GASOLINE}:rise", f"{GASOLINE}:fall"
    assert told == [
        [f"FIRING {rise}"],
        [f"CLEARED {rise}"],
        [f"FIRING {rise}"],
        [],
        [f"FIRING {fall}", f"CLEARED {rise}"],
    ]


@pytest.mark.parametrize(
    ("actual", "side"),
    [(7.40, None), (7.4001, "above"), (7.00, None), (6.9999, "below"), (7.25, None)],
)
def test_a_week_on_its_interval_s_bound_is_inside(
    tmp_path: Path, actual: float, side: str | None
) -> None:
    """The week after 2022-05-01 forecast at 7.20 in [7.00, 7.40] (95%), published at
    ``actual``: on a bound it is inside, a ten-thousandth past it outside."""
    store = SqliteStore(tmp_path / "s.sqlite")
    try:
        store.put_records([with_actuals(_forecast(7.20, 7.30), {1: actual})])
        found = OutsideInterval().evaluate(Ctx(store, MADE + timedelta(days=10)))
    finally:
        store.close()
    week = (WEEK + timedelta(weeks=1)).isoformat()
    assert [c.subject for c in found] == ([] if side is None else [f"{GASOLINE}@{week}"])
    assert all(f" {side} its forecast's 95% interval [7.000, 7.400]" in c.summary for c in found)
    lado = {"above": "acima", "below": "abaixo"}.get(side or "")
    assert all(  # the pt-BR text beside it, with decimal commas
        f", {lado} do intervalo de 95% da sua previsão [7,000; 7,400]" in (c.summary_pt_br or "")
        for c in found
    )


def _missed(as_of: datetime) -> Record:
    """An outlook made ``as_of`` whose next week was published at 7.60, above its [7.00, 7.40]."""
    return with_actuals(_forecast(7.20, 7.30, as_of), {1: 7.60})


@pytest.mark.parametrize("ahead", [timedelta(days=300), timedelta(minutes=1)])
def test_outlook_miss_does_not_judge_a_forecast_made_after_the_clock(
    tmp_path: Path, ahead: timedelta
) -> None:
    """The demo's store holds forecasts made in 2026 while its clock reads 2022: a forecast not
    made yet at ``now`` has missed nothing at ``now`` (outlook_move reads only forecasts made by
    the clock too)."""
    store = SqliteStore(tmp_path / "s.sqlite")
    try:
        store.put_records([_missed(MADE)])
        found = OutsideInterval().evaluate(Ctx(store, MADE - ahead))
    finally:
        store.close()
    assert found == []


def test_outlook_miss_judges_the_forecast_made_by_the_clock_beside_a_later_one(
    tmp_path: Path,
) -> None:
    """Of two forecasts of the same week, the later one (made after ``now``) is not the one
    judged: the one made by the clock is, its instant in the evidence."""
    earlier = MADE - timedelta(days=1)
    store = SqliteStore(tmp_path / "s.sqlite")
    try:  # the week after 2022-05-01 is published on Friday 2022-05-13 (ANP's week + 5d18h)
        store.put_records([_missed(earlier), _missed(MADE + timedelta(days=9))])
        found = OutsideInterval().evaluate(Ctx(store, MADE + timedelta(days=8)))
    finally:
        store.close()
    assert [c.evidence["as_of"] for c in found] == [earlier.isoformat()]


@pytest.mark.parametrize(
    ("now", "judged"),
    [
        (datetime(2022, 5, 13, 17, 59, tzinfo=SP), False),  # ANP publishes that Friday 18:00
        (datetime(2022, 5, 13, 18, 0, tzinfo=SP), True),
    ],
)
def test_outlook_miss_does_not_judge_a_week_published_after_the_clock(
    tmp_path: Path, now: datetime, judged: bool
) -> None:
    """A forecast made by ``now`` may hold the actual of a week published after it (a later run
    scored it: the demo's store read at its 2022 clock). That week has missed nothing yet at
    ``now``; it is judged from its publication on."""
    store = SqliteStore(tmp_path / "s.sqlite")
    try:
        store.put_records([_missed(MADE)])
        found = OutsideInterval().evaluate(Ctx(store, now))
    finally:
        store.close()
    week = (WEEK + timedelta(weeks=1)).isoformat()
    assert [c.subject for c in found] == ([f"{GASOLINE}@{week}"] if judged else [])
