"""The health view's "since" of a failing source is when it first failed, not when its oldest
failing date was published; a late card never names a date after the clock; and the catalog
series a store holds nothing of cost no read of their own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.health import health_view
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import PresentDate, Record, Status
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.stages.alerting import StaleSource
from fuelpipe.stages.scrape import NO_VALUE

SP = ZoneInfo("America/Sao_Paulo")
USD = DEFAULT_CATALOG["CURRENCY#USD"]
EUR = DEFAULT_CATALOG["CURRENCY#EUR"]
PETR4 = DEFAULT_CATALOG["STOCK#PETR4"]
MONDAY, TUESDAY, WEDNESDAY = date(2022, 5, 2), date(2022, 5, 3), date(2022, 5, 4)
TODAY = datetime(2022, 5, 3, 9, 0, tzinfo=SP)
BACKFILL = [date(2006, 1, 2) + timedelta(days=i) for i in range(5)]  # Monday to Friday


def failure(key: str, day: date, reason: str = "SourceUnavailable: HTTP 503") -> Record:
    return Record(key, day, None, Status.PENDING, next_attempt_at=TODAY, reason=reason)


@pytest.fixture
def today(tmp_path: Path) -> Iterator[tuple[SqliteStore, ManualClock]]:
    """USD and PETR4 stored OK on Monday; a backfill of USD's first week of 2006 fails today."""
    clock = ManualClock(TODAY)
    store = SqliteStore(tmp_path / "s.sqlite", clock=clock)
    store.put_records([Record(USD.key, MONDAY, Decimal("5"), Status.OK)])
    store.put_records([Record(PETR4.key, MONDAY, Decimal("30"), Status.OK)])
    assert store.put_pendings([failure(USD.key, d) for d in BACKFILL]) == [True] * 5
    yield store, clock
    store.close()


def _failing(store: SqliteStore, clock: ManualClock, source: str = "bcb"):
    problems = health_view(store, DEFAULT_CATALOG, None, clock).problems
    (failing,) = [p for p in problems if p.state == "failing" and p.source == source]
    return failing


def test_a_backfill_failing_today_is_failing_since_today_not_since_2006(today) -> None:
    store, clock = today
    failing = _failing(store, clock)
    assert failing.date == BACKFILL[0]
    assert failing.due_at == USD.schedule.published_at(BACKFILL[0])  # still the date's due
    assert failing.since == TODAY
    assert failing.since.utcoffset() == timedelta(hours=-3)


def test_since_stays_the_first_failure_across_retries_and_later_failures(today) -> None:
    store, clock = today
    clock.advance(timedelta(hours=3))
    for day in BACKFILL:  # recheck claims each retry; the re-download fails again
        assert store.claim_retry(USD.key, day, 0, 1, clock.now() + timedelta(hours=1))
        assert store.put_pending(failure(USD.key, day, "SourceUnavailable: HTTP 500"))
    clock.advance(timedelta(hours=1))
    assert store.put_pending(failure(EUR.key, BACKFILL[0]))  # another series fails later
    failing = _failing(store, clock)
    assert failing.since == TODAY  # not the last claim, nor the later series' failure
    assert failing.last_attempt_at == clock.now()
    assert failing.reason == "SourceUnavailable: HTTP 503"  # EUR's, the newest write


def test_a_date_released_by_hand_fails_since_its_release(today) -> None:
    store, clock = today
    for day in BACKFILL:
        assert store.quarantine(USD.key, day, 0, "spent")
    clock.advance(timedelta(days=2))
    assert store.release(USD.key, BACKFILL[2], clock.now())
    assert store.put_pending(failure(USD.key, BACKFILL[2]))  # its retry fails again
    failing = _failing(store, clock)
    assert (failing.date, failing.since) == (BACKFILL[2], TODAY + timedelta(days=2))


def test_a_date_not_out_yet_is_not_failing_and_does_not_date_the_failure(today) -> None:
    store, clock = today
    clock.advance(timedelta(hours=1))
    assert store.put_pending(failure(PETR4.key, TUESDAY, NO_VALUE))
    assert [p.source for p in health_view(store, DEFAULT_CATALOG, None, clock).problems] == ["bcb"]


def test_a_record_pending_from_before_first_failures_were_kept_falls_back_on_its_date(
    tmp_path: Path,
) -> None:
    """A store written by an older fuelpipe: the column is added on opening, its PENDING
    records have no instant, and "since" is their date's publication as before; a record
    failing first after the upgrade has its own, and the earliest of both is the row's."""
    path = tmp_path / "old.sqlite"
    clock = ManualClock(TODAY)
    with SqliteStore(path, clock=clock) as store:
        store.put_records([Record(USD.key, MONDAY, Decimal("5"), Status.OK)])
        assert store.put_pending(failure(USD.key, TUESDAY - timedelta(days=7)))
    old = sqlite3.connect(path)
    old.execute("ALTER TABLE items DROP COLUMN pending_since")
    old.commit()
    old.close()
    with SqliteStore(path, clock=clock) as store:
        clock.advance(timedelta(hours=1))
        assert store.put_pending(failure(USD.key, TUESDAY - timedelta(days=7)))  # kept: none
        failing = _failing(store, clock)
        published = USD.schedule.published_at(TUESDAY - timedelta(days=7))
        assert failing.since == published
        assert store.put_pending(failure(USD.key, BACKFILL[0]))  # failing from now on
        assert _failing(store, clock).since == published  # the older of the two
        assert _failing(store, clock).date == BACKFILL[0]


# --- a late card and the clock --------------------------------------------------------------


@pytest.fixture
def before_the_data(tmp_path: Path) -> Iterator[tuple[SqliteStore, ManualClock]]:
    """USD stored OK on Monday, and on 1 and 2 June; the clock (--now) is Wednesday after
    PTAX's window, so Tuesday and Wednesday are late and June is after the clock."""
    clock = ManualClock(USD.schedule.stale_at(WEDNESDAY) + timedelta(minutes=1))
    store = SqliteStore(tmp_path / "s.sqlite", clock=clock)
    june = [date(2022, 6, 1), date(2022, 6, 2)]
    store.put_records([Record(USD.key, d, Decimal("5"), Status.OK) for d in [MONDAY, *june]])
    yield store, clock
    store.close()


def test_a_late_card_names_the_latest_value_stored_by_the_clock_not_one_after_it(
    before_the_data,
) -> None:
    store, clock = before_the_data
    view = health_view(store, DEFAULT_CATALOG, None, clock)
    (late,) = view.problems
    assert (late.state, late.date, late.latest_stored) == ("late", WEDNESDAY, MONDAY)
    (row,) = view.series
    assert row.last == late.latest_stored  # the series row's last value, the same date


def test_the_stale_source_alert_names_the_same_latest_value(before_the_data, tmp_path) -> None:
    store, clock = before_the_data
    queue = SqliteQueue(tmp_path / "q.sqlite", clock=clock, visibility_timeout=timedelta(1))
    try:
        context = AlertContext(clock.now(), store, queue, Catalog([USD]))
        (found,) = StaleSource().evaluate(context)
    finally:
        queue.close()
    assert (found.evidence["date"], found.evidence["latest_stored"]) == ("2022-05-04", "2022-05-02")


def test_a_late_series_with_nothing_stored_by_the_clock_names_no_latest_value(
    tmp_path: Path,
) -> None:
    clock = ManualClock(USD.schedule.stale_at(WEDNESDAY) + timedelta(minutes=1))
    with SqliteStore(tmp_path / "s.sqlite", clock=clock) as store:
        store.put_records([Record(USD.key, date(2022, 6, 1), Decimal("5"), Status.OK)])
        assert store.put_pending(failure(USD.key, MONDAY))  # stored before the clock: late
        (late,) = [
            p
            for p in health_view(store, DEFAULT_CATALOG, None, clock).problems
            if p.state == "late"
        ]
    assert (late.date, late.latest_stored) == (WEDNESDAY, None)


# --- series with no record ------------------------------------------------------------------


class CountingStore(SqliteStore):
    """A real SQLite store noting the keys ``present`` read."""

    def __init__(self, path: Path, clock: ManualClock) -> None:
        super().__init__(path, clock)
        self.read: list[str] = []

    def present(self, key: str) -> list[PresentDate]:
        self.read.append(key)
        return super().present(key)


class PerSeriesStore(CountingStore):
    """The same store answering the health view as before: every catalog series read."""

    def stored_keys(self, keys: Sequence[str]) -> set[str]:
        return set(keys)


def test_series_with_no_record_are_not_read_and_the_view_is_the_per_series_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite"
    clock = ManualClock(USD.schedule.stale_at(WEDNESDAY) + timedelta(minutes=1))
    anp = next(s for s in DEFAULT_CATALOG if s.source == "anp")
    with SqliteStore(path, clock=clock) as store:
        store.put_records([Record(USD.key, MONDAY, Decimal("5"), Status.OK)])
        store.put_records(
            [Record(PETR4.key, d, Decimal("30"), Status.OK) for d in (MONDAY, TUESDAY)]
        )
        assert store.put_pending(failure(EUR.key, MONDAY))
        assert store.put_pending(
            Record(anp.key, anp.default_start, None, Status.ABSENT, reason="-")
        )
        assert store.put_pending(failure("NOT#IN#CATALOG", MONDAY))
    counting, per_series = CountingStore(path, clock), PerSeriesStore(path, clock)
    try:
        view = health_view(counting, DEFAULT_CATALOG, None, clock)
        before = health_view(per_series, DEFAULT_CATALOG, None, clock)
    finally:
        counting.close()
        per_series.close()
    assert len(per_series.read) == len(DEFAULT_CATALOG) == 440
    assert sorted(counting.read) == sorted([USD.key, EUR.key, PETR4.key, anp.key])
    assert view == before
    assert (view.catalog_series, view.stored_series) == (440, 4)
