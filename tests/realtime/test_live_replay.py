"""The publication-aware replay serves a value only after its release on the injected clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sources.anp import AnpWorkbookSource
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.ports.source import FetchRequest
from fuelpipe.replay.live import PublishedPlan, SpeedClock
from fuelpipe.replay.server import ReplayServer

SP = ZoneInfo("America/Sao_Paulo")


def test_values_appear_at_their_publication_instant_and_polls_before_are_304() -> None:
    clock = ManualClock(datetime(2022, 5, 6, 13, 0, tzinfo=SP))
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    gas = DEFAULT_CATALOG["FUEL#GASOLINE#BR"]
    with ReplayServer(faults=PublishedPlan(clock), quiet=True) as replay:
        bcb = BcbPtaxSource(replay.source_urls()["bcb"])
        anp = AnpWorkbookSource(replay.source_urls()["anp"])
        ptax = FetchRequest(usd.fetch_unit, (usd,), date(2022, 5, 5), date(2022, 5, 6))
        week = FetchRequest(gas.fetch_unit, (gas,), date(2022, 4, 24), date(2022, 5, 1))
        try:
            assert [o.date for o in bcb.fetch(ptax).observations] == [date(2022, 5, 5)]
            assert [o.date for o in bcb.fetch(ptax).observations] == [date(2022, 5, 5)]
            assert bcb.not_modified == 1  # polled again before 13:10: unchanged, 304
            clock.set(datetime(2022, 5, 6, 13, 10, tzinfo=SP))
            assert [o.date for o in bcb.fetch(ptax).observations] == [
                date(2022, 5, 5),
                date(2022, 5, 6),
            ]
            clock.set(datetime(2022, 5, 6, 17, 59, tzinfo=SP))  # Friday, before the evening
            assert max(o.date for o in anp.fetch(week).observations) == date(2022, 4, 24)
            clock.set(datetime(2022, 5, 6, 18, 0, tzinfo=SP))
            assert max(o.date for o in anp.fetch(week).observations) == date(2022, 5, 1)
        finally:
            bcb.close()
            anp.close()


def test_released_instants_scatter_inside_the_jitter_range() -> None:
    clock = ManualClock(datetime(2022, 5, 6, 13, 0, tzinfo=SP))
    plan = PublishedPlan(clock, jitter={"bcb": (timedelta(minutes=-7), timedelta(minutes=2))})
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    days = [date(2022, 5, 2) + timedelta(days=i) for i in range(5)]
    offsets = {plan.released_at(usd, d) - usd.schedule.published_at(d) for d in days}
    assert all(timedelta(minutes=-7) <= o <= timedelta(minutes=2) for o in offsets)
    assert len(offsets) > 1
    for d in days:
        at = plan.released_at(usd, d)
        assert plan.released_through(usd, at) == d
        assert plan.released_through(usd, at - timedelta(seconds=1)) < d


def test_speed_clock_runs_faster_than_real_time() -> None:
    start = datetime(2022, 4, 24, tzinfo=SP)
    clock = SpeedClock(start, speed=600)
    assert clock.now() >= start


class _RealTime:
    """A monotonic clock a test moves by hand: real seconds, without sleeping."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t

    def pass_(self, seconds: float) -> None:
        self.t += seconds


def test_the_live_clock_passes_while_the_loop_waits_not_while_it_works() -> None:
    """`demo --live --speed 3600` ran its clock while the pipeline worked: two real seconds of a
    tick (a busy machine) were two replayed hours, a Yahoo close's whole allowance, and the
    demo alerted Yahoo late. The clock now stands still
    between the loop's sleeps, and each sleep moves it by the replayed time asked for."""
    from fuelpipe.cli.demo_live import paced_sleep

    start = datetime(2022, 4, 23, tzinfo=SP)
    real = _RealTime()
    clock = SpeedClock(start, speed=3600, monotonic=real)
    real.pass_(1)  # running until held: one real second, one replayed hour
    assert clock.now() == start + timedelta(hours=1)
    clock.hold()
    real.pass_(2)  # a tick's work, two real seconds: no replayed time
    assert clock.now() == start + timedelta(hours=1)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the real wait, its real seconds passing
        slept.append(seconds)
        real.pass_(seconds)

    paced_sleep(clock, sleep)(900)  # a quarter of an hour of replayed time
    assert slept == [0.25]
    assert clock.now() == start + timedelta(hours=1, minutes=15)
    real.pass_(5)  # the next tick's work
    assert clock.now() == start + timedelta(hours=1, minutes=15)
    clock.resume()
    real.pass_(0.5)
    assert clock.now() == start + timedelta(hours=1, minutes=45)
    clock.restart()
    assert clock.now() == start
