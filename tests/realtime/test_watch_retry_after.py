"""A source's Retry-After holds `watch` off that source: not one request before it ends (its
other series' requests in the same drain included), one at the first look after it, and a
Retry-After of days is cut to an hour."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Status
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.ports.source import FetchRequest, FetchResult, RateLimited, ServerError, SourceError
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.watch import Tick, watch

SP = ZoneInfo("America/Sao_Paulo")
START = date(2022, 5, 2)
USD = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=START)
EUR = replace(DEFAULT_CATALOG["CURRENCY#EUR"], default_start=START)
WEEK = [date(2022, 5, d) for d in (2, 3, 4)]  # Monday to Wednesday, all PTAX days
NOON = datetime(2022, 5, 4, 14, 0, tzinfo=SP)  # Wednesday, after the day's PTAX is out


class TimedSource(TableSource):
    """A BCB double that notes the clock's instant of each request."""

    def __init__(self, clock: ManualClock, failures: list[SourceError]) -> None:
        values = {(s.key, d): Decimal("5.0") for s in (USD, EUR) for d in WEEK}
        super().__init__("bcb", values, failures=failures)
        self.clock = clock
        self.at: list[datetime] = []

    def fetch(self, request: FetchRequest) -> FetchResult:
        self.at.append(self.clock.now())
        return super().fetch(request)


@pytest.fixture
def make_app(tmp_path: Path):
    apps: list[StageContext] = []

    def build(failures: list[SourceError]) -> tuple[StageContext, TimedSource, ManualClock]:
        clock = ManualClock(NOON)
        source = TimedSource(clock, failures)
        app = StageContext(
            catalog=Catalog([USD, EUR]),
            store=SqliteStore(tmp_path / "w.sqlite"),
            queue=SqliteQueue(tmp_path / "q.sqlite", clock, timedelta(seconds=300)),
            sources={"bcb": source},
            clock=clock,
            policy=RetryPolicy(base_delay=timedelta(minutes=10)),  # retries before the wait ends
        )
        apps.append(app)
        return app, source, clock

    yield build
    for app in apps:
        app.close()


def _watch(app: StageContext, clock: ManualClock, ticks: int) -> list[Tick]:
    beats: list[Tick] = []
    watch(app, sleep=lambda s: clock.advance(timedelta(seconds=s)),
          heartbeat=beats.append, max_ticks=ticks)  # fmt: skip
    return beats


def _ok(app: StageContext) -> bool:
    return all(
        r.status is Status.OK for s in (USD, EUR) for r in app.store.query(s.key, START, WEEK[-1])
    ) and all(len(app.store.query(s.key, START, WEEK[-1])) == len(WEEK) for s in (USD, EUR))


@pytest.mark.parametrize("error", [RateLimited, ServerError])
def test_no_request_to_a_source_before_its_retry_after_and_one_after(make_app, error) -> None:
    """The first request of the first look is answered 429 (or 503) with Retry-After 40
    minutes: EUR's request in the same drain is not sent, nor any while the 40 minutes run
    (the failed dates' retries come due after 10), and the watch wakes when they end and
    fetches both series then. The heartbeat says why the source is not asked."""
    wait = timedelta(minutes=40)
    app, source, clock = make_app([error("HTTP 429", retry_after=wait.total_seconds())])

    beats = _watch(app, clock, 8)

    assert source.at[0] == NOON
    later = source.at[1:]
    assert later, "the source was never asked again"
    assert min(later) >= NOON + wait
    assert min(later) == NOON + wait  # the watch woke for the end of the wait
    assert _ok(app)
    assert any("bcb" in b.heartbeat() and "Retry-After" in b.heartbeat() for b in beats)


def test_a_retry_after_of_days_is_cut_to_the_cap(make_app) -> None:
    """A Retry-After of two days holds the source off for MAX_REST (an hour), not two days."""
    from fuelpipe.stages.source_rest import MAX_REST

    app, source, clock = make_app([RateLimited("HTTP 429", retry_after=2 * 86_400.0)])

    _watch(app, clock, 12)

    assert source.at[0] == NOON
    assert min(source.at[1:]) == NOON + MAX_REST
    assert _ok(app)


def test_a_short_retry_after_does_not_hold_off_the_next_look(make_app) -> None:
    """Without Retry-After the failed dates are retried as before (the policy's backoff): the
    rest is only what the source asked for."""
    app, source, clock = make_app([RateLimited("HTTP 429", retry_after=None)])

    _watch(app, clock, 8)

    assert source.at[0] == NOON
    assert min(source.at[1:]) < NOON + timedelta(minutes=40)
    assert _ok(app)


def test_rests_keep_the_longest_wait_and_end() -> None:
    """A second, shorter Retry-After does not shorten a rest already running; a rest ends at
    its instant; 0 s or none starts none."""
    from fuelpipe.stages.source_rest import SourceRests

    rests = SourceRests()
    rests.note("bcb", RateLimited("x", retry_after=600), NOON)
    rests.note("bcb", RateLimited("x", retry_after=60), NOON + timedelta(seconds=30))
    rests.note("fred", RateLimited("x", retry_after=0), NOON)
    rests.note("yahoo", ServerError("x"), NOON)
    assert rests.until("bcb", NOON + timedelta(seconds=599)) == NOON + timedelta(seconds=600)
    assert rests.until("bcb", NOON + timedelta(seconds=600)) is None
    assert rests.until("fred", NOON) is None
    assert rests.until("yahoo", NOON) is None


class _Limited:
    """An intraday source that answers its first request 429 with Retry-After 10 minutes."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def fetch_intraday(self, series, day):  # type: ignore[no-untyped-def]
        self.asked.append(series.key)
        if len(self.asked) == 1:
            raise RateLimited("HTTP 429", retry_after=600.0)
        return []


def test_the_intraday_refresh_keeps_and_honours_the_retry_after(tmp_path: Path) -> None:
    """`watch --intraday`'s bulletins and bars go to the same sources: a 429 with Retry-After
    on one series keeps the source's other series unasked, on that refresh and the next, and
    the first refresh after the wait asks them again."""
    from fuelpipe.adapters.intraday_store import SqliteIntradayStore
    from fuelpipe.stages.intraday import refresh_today
    from fuelpipe.stages.source_rest import SourceRests

    limited, rests = _Limited(), SourceRests()
    store = SqliteIntradayStore(tmp_path / "i.sqlite")
    keys = ["STOCK#PETR3", "STOCK#PETR4"]  # both Yahoo's 15-minute bars
    try:
        for minutes in (0, 5, 10):
            _, report = refresh_today(
                {"yahoo": limited}, store, DEFAULT_CATALOG, NOON + timedelta(minutes=minutes),
                keys=keys, rests=rests,
            )  # fmt: skip
            if minutes == 5:
                assert report.failed == 2
                assert "Retry-After" in report.errors[0]
    finally:
        store.close()
    assert len(limited.asked) == 3  # one 429 at noon, both series at 12:10


def test_the_daily_revise_waits_for_the_rest_and_the_watch_sleeps_until_then(make_app) -> None:
    """BCB asked to be left alone until 14:40 (a rest given to the watch, as one kept from an
    earlier tick) when the daily revise, due since the store has none, comes up at 14:00: the
    revise re-reads every watched series, so it waits for 14:40 with the due fetches, and the
    watch sleeps until then instead of waking every second for a revise it may not run."""
    from datetime import time

    from fuelpipe.stages.source_rest import SourceRests

    app, source, clock = make_app([])
    app.rests = SourceRests()
    app.rests.note("bcb", RateLimited("HTTP 429", retry_after=2400.0), NOON)

    beats: list[Tick] = []
    watch(app, sleep=lambda s: clock.advance(timedelta(seconds=s)), heartbeat=beats.append,
          max_ticks=2, revise_at=time(14, 0))  # fmt: skip

    end = NOON + timedelta(minutes=40)
    assert [b.at for b in beats] == [NOON, end]
    assert beats[0].revise is None and beats[0].due == [] and beats[0].wake_at == end
    assert beats[1].revise is not None
    assert source.at and min(source.at) == end
    assert _ok(app)
