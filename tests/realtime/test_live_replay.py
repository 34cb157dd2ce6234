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
