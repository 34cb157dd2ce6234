"""Every watch tick rechecks the retries of every watched series (and only those), whether or
not some series is due; a tick with nothing due wakes for the next retry, not only for the
next publication."""

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
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog, Series
from fuelpipe.domain.models import Record, Status
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.watch import tick

SP = ZoneInfo("America/Sao_Paulo")
START = date(2022, 5, 2)
USD = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=START)
EUR = replace(DEFAULT_CATALOG["CURRENCY#EUR"], default_start=START)
WEEK = [date(2022, 5, d) for d in (2, 3, 4, 5, 6)]  # Monday to Friday, all PTAX days


@pytest.fixture
def make_app(tmp_path: Path):
    """USD and EUR over a BCB double that has every value of the week, on real SQLite files."""
    apps: list[StageContext] = []

    def build(clock: ManualClock) -> tuple[StageContext, TableSource]:
        values = {(s.key, d): Decimal("5.0") for s in (USD, EUR) for d in WEEK}
        source = TableSource("bcb", values)
        app = StageContext(
            catalog=Catalog([USD, EUR]),
            store=SqliteStore(tmp_path / "w.sqlite"),
            queue=SqliteQueue(tmp_path / "q.sqlite", clock, timedelta(seconds=300)),
            sources={"bcb": source},
            clock=clock,
            policy=RetryPolicy(),
        )
        apps.append(app)
        return app, source

    yield build
    for app in apps:
        app.close()


def _stored(app: StageContext, series: Series, days: list[date]) -> None:
    app.store.put_records([Record(series.key, d, Decimal("5.0"), Status.OK) for d in days])


def _pending(app: StageContext, series: Series, day: date, next_at: datetime) -> None:
    assert app.store.put_pending(
        Record(series.key, day, None, Status.PENDING, 0, next_at, "HTTP 503")
    )


def _status(app: StageContext, series: Series, day: date) -> tuple[Status, int]:
    (rec,) = app.store.query(series.key, day, day)
    return rec.status, rec.retry_count


def test_a_due_series_does_not_hold_back_another_series_retry(make_app) -> None:
    """USD is due (Tuesday's close out, not stored); EUR is up to date but for Monday, whose
    retry is due: the tick that fetches USD re-downloads EUR's Monday too. It rechecked only
    the due series, so while one stayed due (ANP's monthly, for weeks) no other retry ran."""
    clock = ManualClock(datetime(2022, 5, 4, 12, 0, tzinfo=SP))  # before Wednesday's close
    app, source = make_app(clock)
    _stored(app, USD, WEEK[:1])
    _stored(app, EUR, WEEK[1:2])
    _pending(app, EUR, WEEK[0], clock.now() - timedelta(minutes=5))

    done = tick(app)

    assert done.due == [USD.key]
    assert done.report is not None and done.report.recheck.retried == 1
    assert source.asked[(EUR.key, WEEK[0])] == 1
    assert _status(app, EUR, WEEK[0]) == (Status.OK, 0)


def test_a_quiet_tick_rechecks_only_the_watched_series(make_app) -> None:
    """`watch --series CURRENCY#USD` on a Saturday (nothing due): USD's due retry is fetched,
    EUR's is left alone; a full recheck re-downloaded (and could quarantine) every series."""
    clock = ManualClock(datetime(2022, 5, 7, 12, 0, tzinfo=SP))
    app, source = make_app(clock)
    for series in (USD, EUR):
        _stored(app, series, WEEK[:4])
        _pending(app, series, WEEK[4], clock.now() - timedelta(minutes=5))

    done = tick(app, [USD])

    assert done.due == []
    assert source.asked[(USD.key, WEEK[4])] == 1
    assert source.asked[(EUR.key, WEEK[4])] == 0
    assert _status(app, USD, WEEK[4]) == (Status.OK, 0)
    assert _status(app, EUR, WEEK[4]) == (Status.PENDING, 0)


def test_a_quiet_tick_wakes_for_the_next_retry_of_a_watched_series(make_app) -> None:
    """Saturday noon, nothing due until Monday's close: USD's Friday waits for its retry at
    13:30, so watch looks again then and re-downloads it (it slept until the next publication,
    6 hours at most). EUR's earlier retry is not watched and wakes nothing."""
    from fuelpipe.stages.watch import Tick, watch

    clock = ManualClock(datetime(2022, 5, 7, 12, 0, tzinfo=SP))
    app, source = make_app(clock)
    for series in (USD, EUR):
        _stored(app, series, WEEK[:4])
    _pending(app, USD, WEEK[4], clock.now() + timedelta(minutes=90))
    _pending(app, EUR, WEEK[4], clock.now() + timedelta(minutes=30))
    beats: list[Tick] = []
    watch(app, series=[USD], sleep=lambda s: clock.advance(timedelta(seconds=s)),
          heartbeat=beats.append, max_ticks=2)  # fmt: skip

    retry_at = datetime(2022, 5, 7, 13, 30, tzinfo=SP)
    assert [b.at for b in beats] == [datetime(2022, 5, 7, 12, 0, tzinfo=SP), retry_at]
    assert beats[0].wake_at == retry_at
    assert source.asked[(USD.key, WEEK[4])] == 1
    assert _status(app, USD, WEEK[4]) == (Status.OK, 0)
    assert source.asked[(EUR.key, WEEK[4])] == 0


def test_next_retry_reads_the_watched_retries_due_before_the_planned_wake(make_app) -> None:
    """Only retries due by ``until`` count (read from the bounded pending index): a later one
    could not shorten the sleep; one already due wakes at once; other series' wake nothing."""
    from fuelpipe.stages.due import next_retry

    clock = ManualClock(datetime(2022, 5, 9, 12, 0, tzinfo=SP))  # Monday, before the close
    app, _source = make_app(clock)
    now, until = clock.now(), datetime(2022, 5, 9, 13, 10, tzinfo=SP)
    _pending(app, USD, WEEK[0], now + timedelta(hours=3))
    _pending(app, EUR, WEEK[0], now + timedelta(minutes=10))
    assert next_retry(app.store, {USD.key}, now, until) is None
    _pending(app, USD, WEEK[1], now + timedelta(minutes=40))
    assert next_retry(app.store, {USD.key}, now, until) == now + timedelta(minutes=40)
    _pending(app, USD, WEEK[2], now - timedelta(minutes=5))
    assert next_retry(app.store, {USD.key}, now, until) == now
