"""A date the source answered with "no value" inside its publication window (ANP's '-' for CNG
in Acre, every week) is not polled again every few minutes: the answer stands until the
series publishes again, and recheck asks once more when the window is over (ABSENT then, or
the value if the source has published one since)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.support.fakes import SaysNoValue

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.watch import tick

SP = ZoneInfo("America/Sao_Paulo")
CNG_AC = replace(DEFAULT_CATALOG["FUEL#CNG#AC"], default_start=date(2025, 6, 1))
WEEKS = [date(2025, 6, 1) + timedelta(weeks=n) for n in range(4)]  # Sundays, to 2025-06-22
LATEST = WEEKS[-1]
PUBLISHED = datetime(2025, 6, 27, 18, 0, tzinfo=SP)  # Friday of the survey week
STALE = datetime(2025, 7, 2, 18, 0, tzinfo=SP)  # the next Wednesday evening
NEXT_WEEK = datetime(2025, 7, 4, 18, 0, tzinfo=SP)  # the next week's publication


@pytest.fixture
def watched(tmp_path: Path):
    """CNG in Acre on real SQLite files, the earlier weeks stored; ANP's workbook has the
    latest week with '-' for it."""
    clock = ManualClock(PUBLISHED)
    values = {(CNG_AC.key, d): Decimal("5.1") for d in WEEKS}
    source = SaysNoValue(
        "anp", values, never={(CNG_AC.key, LATEST)}, no_value={(CNG_AC.key, LATEST)}
    )
    app = StageContext(
        catalog=Catalog([CNG_AC]),
        store=SqliteStore(tmp_path / "w.sqlite", clock),
        queue=SqliteQueue(tmp_path / "q.sqlite", clock, timedelta(seconds=300)),
        sources={"anp": source},
        clock=clock,
        policy=RetryPolicy(),
    )
    app.store.put_records([Record(CNG_AC.key, d, Decimal("5.1"), Status.OK) for d in WEEKS[:-1]])
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
