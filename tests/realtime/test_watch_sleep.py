"""`fuelpipe watch` sleeps on the wall clock: ``time.sleep`` runs on a monotonic clock that
stops while the machine is suspended, so the wait is cut into slices of at most a minute and the
injected clock is read after each; a clock that jumped past the wake time ends the wait at the
end of that slice, not hours later."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.watch import MIN_SLEEP_S, SLEEP_SLICE_S, Tick, sleep_until, watch

SP = ZoneInfo("America/Sao_Paulo")
USD = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))


def _sleep_then_set(
    clock: ManualClock, slept: list[float], after: int, to: datetime
) -> Callable[[float], None]:
    """A sleep that advances ``clock`` by what it slept, and sets it to ``to`` after its
    ``after``-th slice (what the wall clock did meanwhile)."""

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))
        if len(slept) == after:
            clock.set(to)

    return sleep


def test_a_clock_jump_past_the_wake_time_ends_the_wait_at_the_next_slice() -> None:
    clock = ManualClock(datetime(2026, 12, 2, 19, 0, tzinfo=SP))
    wake_at = clock.now() + timedelta(hours=6)
    slept: list[float] = []
    # suspended from 19:05 to 08:00: the monotonic sleep did not count it
    sleep = _sleep_then_set(clock, slept, 5, datetime(2026, 12, 3, 8, 0, tzinfo=SP))
    sleep_until(clock.now, wake_at, sleep)
    assert slept == [SLEEP_SLICE_S] * 5
    assert clock.now() == datetime(2026, 12, 3, 8, 0, tzinfo=SP)


def test_the_wait_without_a_jump_ends_at_the_wake_time_in_slices() -> None:
    clock = ManualClock(datetime(2026, 12, 2, 19, 0, tzinfo=SP))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    sleep_until(clock.now, clock.now() + timedelta(seconds=150), sleep)
    assert slept == [60.0, 60.0, 30.0]
    sleep_until(clock.now, clock.now(), sleep)  # already due: one shortest sleep, as before
    assert slept[-1] == MIN_SLEEP_S


def test_ctrl_c_inside_a_slice_stops_the_wait() -> None:
    clock = ManualClock(datetime(2026, 12, 2, 19, 0, tzinfo=SP))

    def sleep(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sleep_until(clock.now, clock.now() + timedelta(hours=1), sleep)


def _wednesday_evening(tmp_path: Path, clock: ManualClock) -> StageContext:
    """PTAX watched with no source, stored to Wednesday 2022-05-04: nothing is due before
    Thursday's 13:10 close."""
    app = build_context(
        Settings(db=tmp_path / "s.sqlite"), clock=clock, catalog=Catalog([USD]), sources={}
    )
    app.store.put_records(
        [Record(USD.key, date(2022, 5, d), Decimal("5.0"), Status.OK) for d in (2, 3, 4)]
    )
    return app


def test_watch_wakes_after_a_suspend_when_the_wall_clock_says_so(tmp_path) -> None:
    """Wednesday 19:00, nothing due: the next look is 6 hours away (the cap). Suspended from
    19:05 to Thursday 08:00, the watch ticks at 08:00, not at about 13:55."""
    clock = ManualClock(datetime(2022, 5, 4, 19, 0, tzinfo=SP))
    app = _wednesday_evening(tmp_path, clock)
    beats: list[Tick] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))
        if len(slept) == 5:
            clock.set(datetime(2022, 5, 5, 8, 0, tzinfo=SP))

    try:
        watch(app, sleep=sleep, heartbeat=beats.append, max_ticks=2)
    finally:
        app.close()
    assert beats[0].wake_at == datetime(2022, 5, 5, 13, 10, tzinfo=SP)  # slept 6 h at most
    assert beats[1].at == datetime(2022, 5, 5, 8, 0, tzinfo=SP)
    assert max(slept) <= SLEEP_SLICE_S


def test_a_clock_stepped_back_while_asleep_does_not_stretch_the_wait() -> None:
    """NTP stepping the wall clock back an hour (or a wrong RTC corrected by a day) mid-wait:
    the wait still ends once the time it was planned for has been slept, not when the stepped
    clock catches up with the old wake time an hour (or a day) later."""
    clock = ManualClock(datetime(2026, 12, 2, 19, 0, tzinfo=SP))
    wake_at = clock.now() + timedelta(minutes=5)
    slept: list[float] = []
    # at 19:02 the clock is stepped back a day
    sleep = _sleep_then_set(clock, slept, 2, datetime(2026, 12, 1, 19, 2, tzinfo=SP))
    sleep_until(clock.now, wake_at, sleep)
    assert sum(slept) == 300.0
    assert slept == [SLEEP_SLICE_S] * 5


def test_the_heartbeat_says_the_next_look_the_watch_makes_within_its_six_hours(tmp_path) -> None:
    """Wednesday 19:00, nothing due before Thursday's 13:10 close: the line said "next look at
    13:10" and the watch looked again at 01:00 (it sleeps 6 hours at most), a line saying the
    same again. It names the look it makes, and what it waits for."""
    clock = ManualClock(datetime(2022, 5, 4, 19, 0, tzinfo=SP))
    app = _wednesday_evening(tmp_path, clock)
    beats: list[Tick] = []

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    try:
        watch(app, sleep=sleep, heartbeat=beats.append, max_ticks=3)
    finally:
        app.close()
    lines = [b.heartbeat() for b in beats]
    assert lines[0] == (
        "2022-05-04T19:00:00-03:00 nothing due; next look at 2022-05-05T01:00:00-03:00 "
        "(nothing planned before 2022-05-05T13:10:00-03:00)"
    )
    assert beats[1].at == datetime(2022, 5, 5, 1, 0, tzinfo=SP)  # as it said
    assert beats[2].at == datetime(2022, 5, 5, 7, 0, tzinfo=SP)
    assert lines[2].endswith("next look at 2022-05-05T13:00:00-03:00 (nothing planned before "
                             "2022-05-05T13:10:00-03:00)")  # fmt: skip
