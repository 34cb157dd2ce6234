"""An ANP week published without some keys' rows, the workbook carrying the week for every
other key, and completed later: the left-out rows are asked for again while the window is
open, each wait as long as the row had been out (5 minutes to 6 hours), one workbook request
per ask for all of them, and stored at the first ask after ANP republishes the workbook, not
at the window's end (recheck, five days on) or the daily revise.

A key that had a value the week before normally has a row, so a week without it may be a
workbook ANP has not finished; a key with no value the week before either (CNG in Acre in the
real files: no row, week after week) keeps the old rule, its "no value" standing until the
series publishes again (tests/realtime/test_watch_no_value.py), and so does a row of the
key's own with '-' in its price cell, after a week with a price too: the row is there, so it
is ANP's answer for the week, not a row still to come. Real SQLite store and queue,
the real stages, a source double injected through the context, a manual clock advanced by the
watch's injected sleep.
"""

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
from fuelpipe.domain.models import Record, Status, no_value_seen_at
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import drain
from fuelpipe.stages.due import LEFT_OUT_WAIT_MAX, poll_pending_in_window
from fuelpipe.stages.watch import Tick, tick, watch

SP = ZoneInfo("America/Sao_Paulo")
START = date(2025, 6, 1)
# three keys of the one state workbook (one fetch unit)
GASOLINE_AC, CNG_AC, CNG_AP = (
    replace(DEFAULT_CATALOG[key], default_start=START)
    for key in ("FUEL#GASOLINE#AC", "FUEL#CNG#AC", "FUEL#CNG#AP")
)
SERIES = [GASOLINE_AC, CNG_AC, CNG_AP]
LEFT_OUT = [CNG_AC, CNG_AP]
WEEKS = [START + timedelta(weeks=n) for n in range(4)]  # Sundays, to 2025-06-22
LATEST = WEEKS[-1]
PUBLISHED = datetime(2025, 6, 27, 18, 0, tzinfo=SP)  # Friday of the survey week
REPUBLISHED = datetime(2025, 6, 27, 19, 2, tzinfo=SP)  # the workbook again, with the rows
STALE = datetime(2025, 7, 2, 18, 0, tzinfo=SP)  # the next Wednesday evening
POLL = CNG_AC.schedule.poll_every


def _context(tmp_path: Path, no_row: bool):
    """The three keys on real SQLite files, every earlier week stored with a value; ANP's
    workbook has the latest week for gasoline in Acre and, for either CNG key, no row
    (``no_row``) or a row with '-' in its price cell."""
    clock = ManualClock(PUBLISHED)
    values = {(s.key, d): Decimal("5.1") for s in SERIES for d in WEEKS}
    left_out = {(s.key, LATEST) for s in LEFT_OUT}
    source = SaysNoValue("anp", values, never=left_out, no_value=set(left_out), no_row=no_row)
    app = StageContext(
        catalog=Catalog(SERIES),
        store=SqliteStore(tmp_path / "w.sqlite", clock),
        queue=SqliteQueue(tmp_path / "q.sqlite", clock, timedelta(seconds=300)),
        sources={"anp": source},
        clock=clock,
        policy=RetryPolicy(),
    )
    app.store.put_records(
        [Record(s.key, d, Decimal("5.1"), Status.OK) for s in SERIES for d in WEEKS[:-1]]
    )
    return app, source, clock


@pytest.fixture
def watched(tmp_path: Path):
    """No row for either CNG key in the latest week."""
    app, source, clock = _context(tmp_path, no_row=True)
    yield app, source, clock
    app.close()


@pytest.fixture
def dashed(tmp_path: Path):
    """A row with '-' for either CNG key in the latest week."""
    app, source, clock = _context(tmp_path, no_row=False)
    yield app, source, clock
    app.close()


def _republish(source: SaysNoValue) -> None:
    """ANP's workbook again, now with the rows it left out."""
    source.never.clear()
    source.no_value.clear()


def _latest(app: StageContext, key: str) -> Record:
    (rec,) = app.store.query(key, LATEST, LATEST)
    return rec


def test_a_row_left_out_of_the_week_is_polled_until_the_workbook_has_it(watched) -> None:
    app, source, clock = watched

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        if clock.now() >= REPUBLISHED:
            _republish(source)

    seen: list[tuple[Tick, int]] = []
    ticks = watch(
        app,
        sleep=sleep,
        heartbeat=lambda t: seen.append((t, len(source.calls))),
        max_ticks=7,
    )
    assert ticks == 7

    first, asked = seen[0]
    assert sorted(first.due) == sorted(s.key for s in SERIES) and asked == 1
    # asked again 5, 10, 20, 40 and 80 minutes after 18:00 (each wait as long as the row had
    # been out), each one workbook request for both left-out keys
    polls = seen[:6]
    assert [t.at for t, _ in polls] == [PUBLISHED + n * POLL for n in (0, 1, 2, 4, 8, 16)]
    assert [n for _, n in polls] == list(range(1, 7))
    for t, _ in polls[1:]:
        assert sorted(t.due) == [CNG_AC.key, CNG_AP.key] and t.polled == 1
    # the week is out (gasoline's row is stored): the line does not say "not out yet"
    for t, _ in polls[1:-1]:
        assert t.left_out == {CNG_AC.key: "week", CNG_AP.key: "week"}
        assert "(asked again: the week is out, these rows are not)" in t.heartbeat(), t.heartbeat()
    assert all(
        sorted(s.key for s in call.series) == [CNG_AC.key, CNG_AP.key] for call in source.calls[1:]
    )
    # stored at 19:20, the first ask after ANP put the rows in (19:02)
    stored = polls[-1][0]
    assert stored.report is not None and stored.report.scrape.records_written == 2
    for s in LEFT_OUT:
        rec = _latest(app, s.key)
        assert (rec.status, rec.value, rec.retry_count) == (Status.OK, Decimal("5.1"), 0)
    # nothing missing any more: no request, and the next look is hours away
    last, asked = seen[-1]
    assert last.due == [] and asked == 6
    assert stored.wake_at is not None and stored.wake_at - stored.at > timedelta(hours=5)


def test_a_row_still_left_out_is_polled_to_the_windows_end_then_absent(watched) -> None:
    """ANP never adds the rows: asked again while the window is open, retries not
    counting; the window's recheck makes the week ABSENT with the source's reason, never
    quarantined, and the key is not asked again."""
    app, source, clock = watched
    tick(app)  # Friday 18:00
    for at in (PUBLISHED + POLL, STALE - POLL):
        clock.set(at)
        asked = len(source.calls)
        polled = tick(app)
        assert sorted(polled.due) == [CNG_AC.key, CNG_AP.key]
        assert len(source.calls) == asked + 1  # one request for both keys
        assert polled.wake_at == at + POLL
        for s in LEFT_OUT:
            rec = _latest(app, s.key)
            assert rec.status is Status.PENDING and rec.retry_count == 0
            assert no_value_seen_at(rec.attrs) == at

    clock.set(STALE + timedelta(hours=1))  # recheck's retry of the last poll's answer
    after = tick(app)
    assert after.due == []
    for s in LEFT_OUT:
        rec = _latest(app, s.key)
        assert rec.status is Status.ABSENT and rec.reason == "the source says: no value"
    asked = len(source.calls)
    clock.set(STALE + timedelta(hours=2))
    assert tick(app).due == [] and len(source.calls) == asked


def test_the_window_poll_asks_again_for_a_left_out_row(watched) -> None:
    """The AWS backstop's poll of the dates inside their window: one message for the
    workbook's left-out keys while the window is open, and none once the rows are stored."""
    app, source, clock = watched
    tick(app)  # Friday 18:00: the week stored for gasoline, no row for CNG
    saturday = datetime(2025, 6, 28, 3, 0, tzinfo=SP)
    clock.set(saturday)
    assert poll_pending_in_window(app, SERIES, saturday) == 1
    _republish(source)
    drain(app)
    assert sorted(s.key for s in source.calls[-1].series) == [CNG_AC.key, CNG_AP.key]
    for s in LEFT_OUT:
        assert _latest(app, s.key).status is Status.OK
    assert poll_pending_in_window(app, SERIES, saturday) == 0


def test_a_row_that_never_comes_is_asked_with_a_growing_wait(watched) -> None:
    """A key truly gone from the week: each ask waits as long as the row had been out (5
    minutes at least, 6 hours at most), so the window's five days cost ~25 workbook requests,
    not one every 5 minutes (1,440)."""
    app, source, clock = watched
    asks: list[datetime] = []
    requests: list[int] = []  # the source's requests by each tick inside the window

    def heartbeat(t: Tick) -> None:
        if t.at < STALE:
            requests.append(len(source.calls))
            if t.polled:
                asks.append(t.at)

    watch(app, sleep=lambda s: clock.advance(timedelta(seconds=s)), heartbeat=heartbeat,
          max_ticks=40)  # fmt: skip
    assert clock.now() > STALE
    waits = [b - a for a, b in zip(asks, asks[1:], strict=False)]
    assert asks[0] == PUBLISHED + POLL  # (18:00 itself: the gap scan's request)
    assert waits[:4] == [POLL, 2 * POLL, 4 * POLL, 8 * POLL]
    assert waits == sorted(waits) and max(waits) == LEFT_OUT_WAIT_MAX
    assert 20 <= len(asks) <= 30
    assert requests[-1] == len(asks) + 1  # and the first tick's, for all three keys


def test_a_dash_row_is_anps_answer_asked_once_then_absent_after_the_window(dashed) -> None:
    """ANP's week with a row for each CNG key but '-' in its price cell, the week before
    priced: asked once, with the week's gasoline; then not again while the window is open
    (before, ~25 asks as a left-out row, each heartbeat saying "the week is out, these rows
    are not"), neither by watch nor by the window poll; the window's recheck makes the week
    ABSENT with ANP's reason, and the key is not asked again."""
    app, source, clock = dashed
    seen: list[tuple[str, int]] = []  # each tick's line inside the window, requests by then

    def heartbeat(t: Tick) -> None:
        if t.at < STALE:
            seen.append((t.heartbeat(), len(source.calls)))

    ticks = watch(
        app, sleep=lambda s: clock.advance(timedelta(seconds=s)), heartbeat=heartbeat, max_ticks=24
    )
    assert ticks == 24 and clock.now() > STALE
    assert len(seen) >= 10 and [n for _, n in seen] == [1] * len(seen)
    assert all("is out" not in line for line, _ in seen), seen
    assert all("nothing due" in line for line, _ in seen[1:]), seen
    assert all(
        sorted(s.key for s in c.series) == [CNG_AC.key, CNG_AP.key] for c in source.calls[1:]
    )
    for s in LEFT_OUT:
        rec = _latest(app, s.key)
        assert rec.status is Status.ABSENT and rec.reason == "the source says: no value"
    asked = len(source.calls)
    assert tick(app).due == [] and len(source.calls) == asked


def test_the_window_poll_leaves_a_dash_row_alone(dashed) -> None:
    """The AWS backstop's poll inside the window: a '-' row's week stands (no message),
    where a left-out row's is asked again (test_the_window_poll_asks_again_for_a_left_out_row)."""
    app, _, clock = dashed
    tick(app)
    saturday = datetime(2025, 6, 28, 3, 0, tzinfo=SP)
    clock.set(saturday)
    assert poll_pending_in_window(app, SERIES, saturday) == 0
    for s in LEFT_OUT:
        rec = _latest(app, s.key)
        assert rec.status is Status.PENDING and no_value_seen_at(rec.attrs) == PUBLISHED
