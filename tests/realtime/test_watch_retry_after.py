"""A source's Retry-After holds `watch` off that source: not one request before it ends (its
other series' requests in the same drain included), one at the first look after it, and a
Retry-After of days is cut to an hour. A rest is real time, not the business clock's: the tests
that move a manual clock give the rests a monotonic clock that follows it (``follows``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import FixedClock, ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.homes import build_home, open_home
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.source import FetchRequest, FetchResult, RateLimited, ServerError, SourceError
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.source_rest import MAX_REST, SourceRests
from fuelpipe.stages.watch import Tick, watch

SP = ZoneInfo("America/Sao_Paulo")
START = date(2022, 5, 2)
USD = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=START)
EUR = replace(DEFAULT_CATALOG["CURRENCY#EUR"], default_start=START)
WEEK = [date(2022, 5, d) for d in (2, 3, 4)]  # Monday to Wednesday, all PTAX days
NOON = datetime(2022, 5, 4, 14, 0, tzinfo=SP)  # Wednesday, after the day's PTAX is out


class TimedSource(TableSource):
    """A BCB double that notes the clock's instant of each request."""

    def __init__(self, clock: Clock, failures: list[SourceError]) -> None:
        values = {(s.key, d): Decimal("5.0") for s in (USD, EUR) for d in WEEK}
        super().__init__("bcb", values, failures=failures)
        self.clock = clock
        self.at: list[datetime] = []

    def fetch(self, request: FetchRequest) -> FetchResult:
        self.at.append(self.clock.now())
        return super().fetch(request)


def follows(clock: ManualClock) -> Callable[[], float]:
    """A monotonic clock in seconds that runs as ``clock`` is moved (the tests' real time)."""

    def seconds() -> float:
        return (clock.now() - NOON).total_seconds()

    return seconds


def context(folder: Path, clock: Clock, source: TimedSource, rests: SourceRests) -> StageContext:
    """USD and EUR from ``source`` on SQLite in ``folder``, retries due 10 minutes apart."""
    return StageContext(
        catalog=Catalog([USD, EUR]),
        store=SqliteStore(folder / "w.sqlite"),
        queue=SqliteQueue(folder / "q.sqlite", clock, timedelta(seconds=300)),
        sources={"bcb": source},
        clock=clock,
        policy=RetryPolicy(base_delay=timedelta(minutes=10)),  # retries before the wait ends
        rests=rests,
    )


@pytest.fixture
def make_app(tmp_path: Path):
    apps: list[StageContext] = []

    def build(failures: list[SourceError]) -> tuple[StageContext, TimedSource, ManualClock]:
        clock = ManualClock(NOON)
        source = TimedSource(clock, failures)
        app = context(tmp_path, clock, source, SourceRests(monotonic=follows(clock)))
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

    app, source, clock = make_app([RateLimited("HTTP 429", retry_after=2 * 86_400.0)])

    _watch(app, clock, 12)

    assert source.at[0] == NOON
    assert min(source.at[1:]) == NOON + MAX_REST
    assert _ok(app)


def test_a_rest_ends_while_the_business_clock_stands_still(tmp_path: Path) -> None:
    """``FUELPIPE_NOW`` fixes the business clock (the demo, tests): a rest is real time at the
    source, so it ends all the same (the rests the embedded home supplies, on the monotonic
    clock), and the source is asked again at the first look after it. Before, a rest timed on
    the fixed clock never ended: the watch woke at its end tick after tick and never asked the
    source again."""
    clock = FixedClock(NOON)
    source = TimedSource(clock, [RateLimited("HTTP 429", retry_after=1.0)])
    settings = Settings(db=tmp_path / "w.sqlite", retry_base_delay_s=600.0)
    app = build_home(
        settings, keeps_rests=True, clock=clock, sources={"bcb": source},
        catalog=Catalog([USD, EUR]),
    )  # fmt: skip
    assert app.rests is not None
    beats: list[Tick] = []
    started = time.monotonic()
    try:
        # two ticks: the next look after the second is the policy's 10 minutes, in real time
        watch(app, sleep=time.sleep, heartbeat=beats.append, max_ticks=2)
        assert len(source.at) == 3, [b.heartbeat() for b in beats]  # the 429, then USD, EUR
        assert time.monotonic() - started >= 1.0  # the second request waited out the second
        # the due publication of each; the earlier dates wait out the policy's backoff
        for s in (USD, EUR):
            assert [r.status for r in app.store.query(s.key, WEEK[-1], WEEK[-1])] == [Status.OK]
    finally:
        app.close()


def test_watch_uses_the_rests_its_home_supplies(tmp_path: Path) -> None:
    """The rests are the composition root's: those given to the embedded home are the ones
    the watch keeps the 429's Retry-After in and holds the source off by (the watch builds
    none of its own)."""
    clock = ManualClock(NOON)
    source = TimedSource(clock, [RateLimited("HTTP 429", retry_after=2400.0)])
    rests = SourceRests(monotonic=follows(clock))
    app = build_home(
        Settings(db=tmp_path / "w.sqlite", retry_base_delay_s=600.0), rests=rests, clock=clock,
        sources={"bcb": source}, catalog=Catalog([USD, EUR]),
    )  # fmt: skip
    try:
        _watch(app, clock, 1)
        assert app.rests is rests
        assert rests.until("bcb", NOON) == NOON + timedelta(minutes=40)
        _watch(app, clock, 2)
    finally:
        app.close()
    assert source.at[0] == NOON
    assert min(source.at[1:]) == NOON + timedelta(minutes=40)


def test_the_embedded_home_keeps_rests_only_when_asked(tmp_path: Path) -> None:
    """`watch` asks its home for rests (``keeps_rests``); `run` and the other commands get
    none, so a Retry-After counts there only inside one fetch (waited within the adapter's
    cap, or ending the fetch when longer)."""
    with open_home(Settings(db=tmp_path / "a.sqlite"), keeps_rests=True) as kept:
        assert isinstance(kept.rests, SourceRests)
    with open_home(Settings(db=tmp_path / "b.sqlite")) as plain:
        assert plain.rests is None


def test_without_rests_the_watch_keeps_no_retry_after(make_app) -> None:
    """A context with no rests (a stage test's, `run`'s) keeps none: the watch builds no rests
    of its own, and the failed dates are retried on the policy's backoff (10 minutes), before
    the 40 minutes the source asked for."""
    app, source, clock = make_app([RateLimited("HTTP 429", retry_after=2400.0)])
    app.rests = None

    _watch(app, clock, 8)

    assert app.rests is None
    assert source.at[0] == NOON
    assert min(source.at[1:]) < NOON + timedelta(minutes=40)
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
    clock = ManualClock(NOON)
    rests = SourceRests(monotonic=follows(clock))
    rests.note("bcb", RateLimited("x", retry_after=600))
    clock.advance(timedelta(seconds=30))
    rests.note("bcb", RateLimited("x", retry_after=60))
    rests.note("fred", RateLimited("x", retry_after=0))
    rests.note("yahoo", ServerError("x"))
    assert rests.until("bcb", clock.now()) == NOON + timedelta(seconds=600)
    clock.advance(timedelta(seconds=569))
    assert rests.until("bcb", clock.now()) == NOON + timedelta(seconds=600)
    clock.advance(timedelta(seconds=1))
    assert rests.until("bcb", clock.now()) is None
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

    clock = ManualClock(NOON)
    limited, rests = _Limited(), SourceRests(monotonic=follows(clock))
    store = SqliteIntradayStore(tmp_path / "i.sqlite")
    keys = ["STOCK#PETR3", "STOCK#PETR4"]  # both Yahoo's 15-minute bars
    try:
        for minutes in (0, 5, 10):
            clock.set(NOON + timedelta(minutes=minutes))
            _, report = refresh_today(
                {"yahoo": limited}, store, DEFAULT_CATALOG, clock.now(), keys=keys, rests=rests
            )
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

    app, source, clock = make_app([])
    assert app.rests is not None
    app.rests.note("bcb", RateLimited("HTTP 429", retry_after=2400.0))

    beats: list[Tick] = []
    watch(app, sleep=lambda s: clock.advance(timedelta(seconds=s)), heartbeat=beats.append,
          max_ticks=2, revise_at=time(14, 0))  # fmt: skip

    end = NOON + timedelta(minutes=40)
    assert [b.at for b in beats] == [NOON, end]
    assert beats[0].revise is None and beats[0].due == [] and beats[0].wake_at == end
    assert beats[1].revise is not None
    assert source.at and min(source.at) == end
    assert _ok(app)


def test_a_rest_that_starts_mid_drain_spends_no_retry_of_the_dates_it_holds(make_app) -> None:
    """Both series owe May 2nd, four of their five re-downloads spent: the tick's recheck
    claims the fifth of each (the source was not resting yet) and sends them; the first
    request is answered 429 with Retry-After 40 minutes, so the other message is not sent.
    A rest must not bring a record nearer to quarantine: the date not asked gets its claim
    back (four spent, due when the rest ends) and is fetched then; only the date whose request
    the source did answer (429) spent its fifth and is quarantined. Before, the date not asked
    was quarantined too ("still failing after 5 re-downloads") without a request."""
    wait = timedelta(minutes=40)
    app, source, clock = make_app([RateLimited("HTTP 429", retry_after=wait.total_seconds())])
    later = WEEK[1:]
    app.store.put_records(
        [Record(s.key, d, Decimal("5.0"), Status.OK) for s in (USD, EUR) for d in later]
    )
    owed = [
        Record(s.key, WEEK[0], None, Status.PENDING, retry_count=4,
               next_attempt_at=NOON - timedelta(minutes=1), reason="HTTP 500")
        for s in (USD, EUR)
    ]  # fmt: skip
    app.store.put_pendings(owed)
    for s in (USD, EUR):
        (rec,) = app.store.query(s.key, WEEK[0], WEEK[0])
        assert (rec.status, rec.retry_count) == (Status.PENDING, 4)

    first = _watch(app, clock, 1)[0]

    assert first.report is not None and first.report.recheck.retried == 2
    assert len(source.calls) == 1  # the 429; the other message was not sent
    (asked,) = {s.key for s in source.calls[0].series}
    unasked = EUR.key if asked == USD.key else USD.key
    (spent,) = app.store.query(asked, WEEK[0], WEEK[0])
    assert spent.status is Status.QUARANTINED
    (held,) = app.store.query(unasked, WEEK[0], WEEK[0])
    assert (held.status, held.retry_count) == (Status.PENDING, 4)
    assert held.next_attempt_at == NOON + wait
    assert "not asked before" in (held.reason or "")

    beats = _watch(app, clock, 2)  # a look while it rests, and the next when it ends

    assert [b.at for b in beats] == [NOON, NOON + wait]

    assert len(source.calls) == 2 and clock.now() == NOON + wait
    (fetched,) = app.store.query(unasked, WEEK[0], WEEK[0])
    assert fetched.status is Status.OK
