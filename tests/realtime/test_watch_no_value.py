"""A date the source answered with "no value" inside its publication window (ANP's '-' for CNG
in Acre, every week) is not polled again every few minutes: the answer stands until the
series publishes again, and recheck asks once more when the window is over (ABSENT then, or
the value if the source has published one since). A workbook key that had a value the week
before is polled at the window's interval instead (its row may have been left out of a
workbook ANP completes later): tests/realtime/test_watch_left_out_row.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.support.fakes import SaysNoValue, TableSource

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog, Series
from fuelpipe.domain.models import Record, Status, no_value_seen_at
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.ports.source import Source
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.watch import tick

SP = ZoneInfo("America/Sao_Paulo")
CNG_AC = replace(DEFAULT_CATALOG["FUEL#CNG#AC"], default_start=date(2025, 6, 1))
WEEKS = [date(2025, 6, 1) + timedelta(weeks=n) for n in range(4)]  # Sundays, to 2025-06-22
LATEST = WEEKS[-1]
PUBLISHED = datetime(2025, 6, 27, 18, 0, tzinfo=SP)  # Friday of the survey week
STALE = datetime(2025, 7, 2, 18, 0, tzinfo=SP)  # the next Wednesday evening
NEXT_WEEK = datetime(2025, 7, 4, 18, 0, tzinfo=SP)  # the next week's publication


def _app(tmp_path: Path, clock: ManualClock, series: Series, source: Source) -> StageContext:
    """``series`` alone, watched on real SQLite files, ``source`` answering for ANP."""
    return StageContext(
        catalog=Catalog([series]),
        store=SqliteStore(tmp_path / "w.sqlite", clock),
        queue=SqliteQueue(tmp_path / "q.sqlite", clock, timedelta(seconds=300)),
        sources={"anp": source},
        clock=clock,
        policy=RetryPolicy(),
    )


@pytest.fixture
def watched(tmp_path: Path):
    """CNG in Acre on real SQLite files, the earlier weeks ABSENT (ANP has had no price for
    it week after week); ANP's workbook has the latest week with '-' for it."""
    clock = ManualClock(PUBLISHED)
    values = {(CNG_AC.key, d): Decimal("5.1") for d in WEEKS}
    source = SaysNoValue(
        "anp", values, never={(CNG_AC.key, LATEST)}, no_value={(CNG_AC.key, LATEST)}
    )
    app = _app(tmp_path, clock, CNG_AC, source)
    earlier = [
        Record(CNG_AC.key, d, None, Status.ABSENT, reason="the source says: no value")
        for d in WEEKS[:-1]
    ]
    assert all(app.store.put_pendings(earlier))
    yield app, source, clock
    app.close()


def _record(app: StageContext) -> Record:
    (rec,) = app.store.query(CNG_AC.key, LATEST, LATEST)
    return rec


def test_a_no_value_answer_in_the_window_is_not_polled_again_until_the_next_publication(
    watched,
) -> None:
    app, source, clock = watched

    first = tick(app)  # Friday 18:00: the week is out, asked once
    assert first.due == [CNG_AC.key] and len(source.calls) == 1
    assert _record(app).status is Status.PENDING  # inside the window: not ABSENT yet
    assert first.wake_at == NEXT_WEEK  # not 18:05

    for at in (datetime(2025, 6, 28, 3, 0, tzinfo=SP), datetime(2025, 7, 1, 12, 0, tzinfo=SP)):
        clock.set(at)
        later = tick(app)
        assert later.due == [] and "nothing due" in later.heartbeat()
        assert later.wake_at is not None and later.wake_at > at + timedelta(hours=5)
        assert len(source.calls) == 1  # not asked again
    # within 6 hours of the window's end, watch wakes for recheck's retry
    clock.set(STALE - timedelta(hours=1))
    assert tick(app).wake_at == STALE

    clock.set(STALE + timedelta(minutes=1))  # the window is over: recheck asks once more
    tick(app)
    assert len(source.calls) == 2
    rec = _record(app)
    assert rec.status is Status.ABSENT and rec.reason == "the source says: no value"


def test_a_value_published_after_a_no_value_answer_is_still_stored(watched) -> None:
    """ANP turning the '-' into a price inside the window: recheck's request at the window's
    end stores it (the week was never ABSENT)."""
    app, source, clock = watched
    tick(app)
    assert _record(app).status is Status.PENDING
    source.never.clear()
    source.no_value.clear()

    clock.set(STALE + timedelta(minutes=1))
    tick(app)

    rec = _record(app)
    assert rec.status is Status.OK and rec.value == Decimal("5.1")


def test_a_failed_answer_in_the_window_is_polled_again(watched) -> None:
    """Only the source's own "no value" stands: a request that failed says nothing about the
    week, so it is asked again at the next poll."""
    from fuelpipe.ports.source import SourceError

    app, source, clock = watched
    source.failures.append(SourceError("HTTP 503"))
    first = tick(app)
    assert _record(app).status is Status.PENDING
    assert first.wake_at == PUBLISHED + CNG_AC.schedule.poll_every


def test_the_window_polls_leave_a_no_value_answer_alone_but_not_a_failure(watched) -> None:
    """The AWS backstop asks for every PENDING date inside its window: for a week whose
    request failed, but not for one ANP answered with '-' (nothing published since)."""
    from fuelpipe.ports.source import SourceError
    from fuelpipe.stages.cycle import drain
    from fuelpipe.stages.due import poll_pending_in_window

    app, source, clock = watched
    source.failures.append(SourceError("HTTP 503"))
    tick(app)
    assert _record(app).status is Status.PENDING
    saturday = datetime(2025, 6, 28, 3, 0, tzinfo=SP)
    clock.set(saturday)
    assert poll_pending_in_window(app, [CNG_AC], saturday) == 1
    drain(app)  # this time ANP answers: '-'
    assert len(source.calls) == 2 and _record(app).status is Status.PENDING
    assert poll_pending_in_window(app, [CNG_AC], saturday) == 0


GASOLINE_BR = replace(DEFAULT_CATALOG["FUEL#GASOLINE#BR"], default_start=date(2022, 4, 3))
SURVEY = date(2022, 4, 24)  # the week ANP publishes on Friday 2022-04-29, after 18:00
DUE = datetime(2022, 4, 29, 18, 0, tzinfo=SP)
RELEASED = datetime(2022, 4, 29, 20, 56, 10, tzinfo=SP)  # "in the evening"


def test_a_week_not_out_yet_is_polled_until_it_is_and_stored_at_the_next_poll(
    tmp_path: Path,
) -> None:
    """A week the answer does not reach yet (ANP's workbook has not got it at 18:00) is not
    the source's "no value": the record stays PENDING without the answered mark, and watch
    asks again at the schedule's poll interval until the week is out; stored at the first
    poll after its release, not at recheck's at the window's end (five days later)."""
    clock = ManualClock(DUE)
    weeks = [SURVEY - timedelta(weeks=n) for n in range(3, -1, -1)]
    source = TableSource(
        "anp",
        {(GASOLINE_BR.key, d): Decimal("7.2") for d in weeks},
        never={(GASOLINE_BR.key, SURVEY)},
    )
    app = _app(tmp_path, clock, GASOLINE_BR, source)
    try:
        app.store.put_records(
            [Record(GASOLINE_BR.key, d, Decimal("7.2"), Status.OK) for d in weeks[:-1]]
        )
        first = tick(app)  # 18:00: the workbook does not have the week yet
        assert first.due == [GASOLINE_BR.key] and len(source.calls) == 1
        (rec,) = app.store.query(GASOLINE_BR.key, SURVEY, SURVEY)
        assert rec.status is Status.PENDING and no_value_seen_at(rec.attrs) is None
        assert first.wake_at == DUE + GASOLINE_BR.schedule.poll_every

        wake = first.wake_at
        while True:
            clock.set(wake)
            if wake >= RELEASED:
                source.never.clear()  # ANP has published the week
            later = tick(app)
            (rec,) = app.store.query(GASOLINE_BR.key, SURVEY, SURVEY)
            if rec.status is Status.OK or wake >= RELEASED:
                break
            assert later.due == [GASOLINE_BR.key] and later.wake_at is not None
            wake = later.wake_at
        assert rec.status is Status.OK and rec.value == Decimal("7.2")
        assert wake == datetime(2022, 4, 29, 21, 0, tzinfo=SP)  # the first poll after 20:56
        assert len(source.calls) == 37  # 18:00 to 21:00, every 5 minutes
    finally:
        app.close()


def test_the_pending_record_keeps_the_sources_own_reason(watched) -> None:
    """ANP's week without a row for the key says why in ``no_value`` alone (not in the
    notes): the PENDING record keeps that reason, not a generic line, so an operator can
    tell the source's gap from an outage; the answered mark stays."""
    app, source, clock = watched
    tick(app)
    rec = _record(app)
    assert rec.status is Status.PENDING and no_value_seen_at(rec.attrs) == PUBLISHED
    assert rec.reason == "the source says: no value"


@pytest.mark.parametrize("noted", [False, True], ids=["no_value only", "noted too"])
def test_a_no_value_answer_in_the_window_is_not_a_failure(watched, noted: bool) -> None:
    """The health view and status agree: a date the source says has no value is not a
    failing one while it waits for its window to end, whatever its reason says (FRED's empty
    cell and ANP's '-' put it in the answer's notes too); a failed request still is."""
    from fuelpipe.dashboard.health import health_view
    from fuelpipe.ports.source import SourceError
    from fuelpipe.stages.status import status

    app, source, clock = watched
    source.noted = noted
    tick(app)
    assert _record(app).reason == "the source says: no value"
    for at in (PUBLISHED, STALE - timedelta(minutes=1)):
        clock.set(at)
        assert health_view(app.store, app.catalog, None, clock).problems == []
    (row,) = status(app, [CNG_AC])
    assert row.pending == 1  # a date waiting, counted as every PENDING one

    source.failures.append(SourceError("HTTP 503"))  # recheck's request fails
    clock.set(STALE + timedelta(minutes=1))
    tick(app)
    rec = _record(app)
    assert rec.status is Status.PENDING and no_value_seen_at(rec.attrs) is None
    problems = health_view(app.store, app.catalog, None, clock).problems
    (failing,) = [p for p in problems if p.state == "failing"]  # late now, too
    assert failing.keys == [CNG_AC.key]
    assert failing.reason == rec.reason == "SourceError: HTTP 503"
