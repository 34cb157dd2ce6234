"""`watch` runs the daily revise, as the AWS home's ReviseSchedule does (23:00 São Paulo time).

A value ANP adds to a week already published (its '-' for CNG in Acre turned into a price, a
date the store holds as ABSENT) is asked for again only by `revise`: a watch crossing 23:00 runs
it once and stores the value; a restarted watch does not repeat it; one started after 23:00
with no revise recorded since runs it at once. Real SQLite store and queue, the real stages, a
source double injected through the context, a manual clock advanced by the injected sleep.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.support.fakes import SaysNoValue

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Status
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.homes.settings import DEFAULT_REVISE_AT, Settings
from fuelpipe.ports.source import (
    SourceError,
    SourceStats,
    SourceUnreachable,
    TransientSourceError,
)
from fuelpipe.ports.store import RunLog, Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.daily_revise import (
    REVISE_RETRY,
    latest_slot,
    next_revise,
    next_slot,
    revise_due,
    settle,
    todays_revise,
    unreached,
)
from fuelpipe.stages.revise import SELECTION, revise, selection
from fuelpipe.stages.watch import Tick, watch

SP = ZoneInfo("America/Sao_Paulo")
KEY = "FUEL#CNG#AC"
DAY = date(2022, 3, 20)  # a survey week ANP published with '-' for CNG in Acre
VALUE = Decimal("5.499")  # the price a later workbook gives it (synthetic values)
SINCE = date(2022, 1, 1)
WEDNESDAY_23H = datetime(2022, 3, 30, 23, 0, tzinfo=SP)
THURSDAY_20H = datetime(2022, 3, 31, 20, 0, tzinfo=SP)
THURSDAY_23H = datetime(2022, 3, 31, 23, 0, tzinfo=SP)
POLICY = RetryPolicy(max_retries=5, base_delay=timedelta(hours=1), factor=2.0)
SERIES = DEFAULT_CATALOG[KEY]


def owed_sources(
    store: Store,
    now: datetime,
    at: time,
    selection: int | None = None,
    sources: Collection[str] | None = None,
) -> set[str] | None:
    """What of the revise of ``selection`` is owed at ``now`` as `watch` reads it: None, all of
    it; else the sources the day's revise left unreached (of ``sources`` when given)."""
    day = todays_revise(store, now, at, selection)
    if day is None:
        return None
    return unreached(day) if sources is None else unreached(day) & set(sources)


def _source() -> SaysNoValue:
    """ANP's answers: a value every survey week up to late April, '-' for ``DAY``."""
    days = expected_between(get_calendar(SERIES.calendar), SINCE, date(2022, 4, 30))
    values = {(KEY, d): VALUE + Decimal(i) / 100 for i, d in enumerate(days)}
    return SaysNoValue("anp", values, never={(KEY, DAY)}, no_value={(KEY, DAY)})


def _app(tmp_path: Path, source: SaysNoValue, clock: ManualClock) -> StageContext:
    """A context on the store's files (a second one on the same files: a restarted watch)."""
    return StageContext(
        catalog=DEFAULT_CATALOG,
        store=SqliteStore(tmp_path / "store.sqlite"),
        queue=SqliteQueue(
            tmp_path / "store.sqlite.queue", clock=clock, visibility_timeout=timedelta(seconds=30)
        ),
        sources={source.name: source},
        clock=clock,
        policy=POLICY,
    )


def _close(app: StageContext) -> None:
    app.store.close()
    app.queue.close()


def _publish_late_value(source: SaysNoValue) -> None:
    """ANP's later workbook gives the week's price where it had '-'."""
    source.never.discard((KEY, DAY))
    source.no_value.discard((KEY, DAY))
    source.values[(KEY, DAY)] = VALUE


def _collected(tmp_path: Path, *, revised: bool = True):
    """A store collected by Wednesday 23:00 with ``DAY`` ABSENT, and Wednesday's daily revise
    run then (``revised``; else no revise ever ran); then ANP publishes the value."""
    source = _source()
    clock = ManualClock(WEDNESDAY_23H)
    app = _app(tmp_path, source, clock)
    run_cycle(app, series=[SERIES], since=SINCE)
    (rec,) = app.store.query(KEY, DAY, DAY)
    assert rec.status is Status.ABSENT
    if revised:
        revise(app, series=[SERIES])
        drain(app)
    _publish_late_value(source)
    return app, source, clock


def _watch(app: StageContext, clock: ManualClock, ticks: int, **kw) -> list[tuple[Tick, int]]:
    """Run ``ticks`` ticks of the watch on ``SERIES``; each tick with the source requests the
    source had answered by its end."""
    source = app.sources["anp"]
    assert isinstance(source, SaysNoValue)
    seen: list[tuple[Tick, int]] = []
    watch(
        app,
        sleep=lambda s: clock.advance(timedelta(seconds=s)),
        series=[SERIES],
        heartbeat=lambda t: seen.append((t, len(source.calls))),
        max_ticks=ticks,
        **kw,
    )
    return seen


def _revise_ticks(seen: list[tuple[Tick, int]]) -> list[datetime]:
    return [t.at.astimezone(SP) for t, _ in seen if t.revise is not None]


def _stored(app: StageContext):
    (rec,) = app.store.query(KEY, DAY, DAY)
    return rec.status, rec.value


def _last_revise(app: StageContext) -> datetime:
    [run] = [r for r in app.store.last_runs() if r.stage == "revise"]
    return run.started_at.astimezone(SP)


def test_a_watch_crossing_23h_runs_the_revise_once_and_stores_the_added_value(tmp_path):
    app, source, clock = _collected(tmp_path)
    clock.set(THURSDAY_20H)
    asked_before = len(source.calls)
    try:
        seen = _watch(app, clock, 4, revise_at=DEFAULT_REVISE_AT)
        stored = _stored(app)
        last = _last_revise(app)
    finally:
        _close(app)

    first = seen[0][0]
    assert first.revise is None  # Wednesday's 23:00 revise is the latest due: nothing to do
    assert first.wake_at == THURSDAY_23H  # the revise is a thing the watch wakes for
    assert _revise_ticks(seen) == [THURSDAY_23H]  # once, at 23:00 on the clock
    assert seen[-1][0].at > THURSDAY_23H  # the ticks after it did not repeat it
    counts = [n for _, n in seen]
    assert counts[0] == asked_before and counts[-1] == asked_before + 1  # one re-read
    assert stored == (Status.OK, VALUE)  # the value ANP added to a published week
    assert last == THURSDAY_23H
    beat = seen[1][0].heartbeat()
    assert "nothing due; daily revise: 1 series re-read in 1 request(s), 0 value(s) revised" in (
        beat
    )
    assert "the revise stored 1 value(s)" in beat


def test_a_restarted_watch_does_not_repeat_the_days_revise(tmp_path):
    app, source, clock = _collected(tmp_path)
    clock.set(THURSDAY_20H)
    try:
        _watch(app, clock, 2, revise_at=DEFAULT_REVISE_AT)  # 20:00, then 23:00: the revise
    finally:
        _close(app)
    asked = len(source.calls)

    clock.set(THURSDAY_23H + timedelta(minutes=30))  # restarted: new connections, same files
    again = _app(tmp_path, source, clock)
    try:
        seen = _watch(again, clock, 2, revise_at=DEFAULT_REVISE_AT)
    finally:
        _close(again)

    assert _revise_ticks(seen) == []
    assert len(source.calls) == asked
    assert seen[0][0].wake_at is not None
    assert seen[0][0].wake_at <= THURSDAY_23H + timedelta(days=1)  # Friday's comes


@pytest.mark.parametrize(
    "last",
    ["yesterday", "never", "days ago", "of another series", "of another series after the clock"],
)
def test_a_watch_started_after_23h_without_the_days_revise_runs_it_at_once(tmp_path, last):
    """Started at 23:30 (the latest revise yesterday's, days old, none, or today's by hand of
    another series only): the revise missed is run at the first tick, once; the next is the
    next day's at 23:00. Before, a `fuelpipe revise -s CURRENCY#USD` at 23:10 counted for
    every series: the watch skipped CNG in Acre's re-read until the next 23:00. And one by
    hand dated after the watch's clock (a store used at real time, watched with --now in the
    past) stayed the store's latest revise, never the watch's own: before, the watch re-read
    ANP at every tick, its next look always now (a tight loop)."""
    another = last.startswith("of another series")
    app, source, clock = _collected(tmp_path, revised=last == "yesterday" or another)
    if last == "days ago":
        days_ago = WEDNESDAY_23H - timedelta(days=2)
        app.store.put_run(RunLog("revise", days_ago, days_ago))
    if another:
        later = timedelta(hours=2) if last.endswith("after the clock") else timedelta(minutes=10)
        clock.set(THURSDAY_23H + later)
        revise(app, series=[DEFAULT_CATALOG["CURRENCY#USD"]])  # by hand, USD only
    start = THURSDAY_23H + timedelta(minutes=30)
    clock.set(start)
    asked = len(source.calls)
    try:
        seen = _watch(app, clock, 3, revise_at=DEFAULT_REVISE_AT)
        stored = _stored(app)
    finally:
        _close(app)

    assert _revise_ticks(seen) == [start]
    assert len(source.calls) == asked + 1  # one re-read, not one a tick
    assert stored == (Status.OK, VALUE)
    assert all(t.wake_at is not None and t.at < t.wake_at for t, _ in seen)
    assert all(
        t.wake_at is not None and t.wake_at <= THURSDAY_23H + timedelta(days=1) for t, _ in seen
    )


def test_a_revise_counts_from_its_start_on_the_clock(tmp_path):
    """A revise of the watched series recorded after the clock (or one the store keeps past
    another selection's) counts only once the clock has reached its start; the latest of the
    watch's own series counts whatever other series' revises came after it."""
    at, now = time(23, 0), THURSDAY_23H + timedelta(minutes=30)
    cng, usd = SERIES, DEFAULT_CATALOG["CURRENCY#USD"]
    watched = selection([cng], None, DEFAULT_CATALOG)
    other = selection([usd], None, DEFAULT_CATALOG)
    assert watched is not None and other is not None
    store = SqliteStore(tmp_path / "s.sqlite")
    try:
        later = now + timedelta(hours=1)
        store.put_run(RunLog("revise", later, later, {SELECTION: watched}))
        assert revise_due(store, now, at, watched)  # not yet started on this clock
        assert not revise_due(store, later, at, watched)
        store.put_run(RunLog("revise", THURSDAY_23H, THURSDAY_23H, {SELECTION: watched}))
        for minutes in (10, 20):  # by hand, USD only, after the watch's
            by_hand = THURSDAY_23H + timedelta(minutes=minutes)
            store.put_run(RunLog("revise", by_hand, by_hand, {SELECTION: other}))
        assert not revise_due(store, now, at, watched)
        assert not revise_due(store, now, at, other)
        assert revise_due(store, now, at)  # no revise of every series
    finally:
        store.close()


def test_a_revise_with_nothing_to_re_read_says_why(tmp_path):
    """CNG in Acre collected up to March 2022, watched in July: its revise window holds no
    date ANP answered. Before, the heartbeat said "daily revise: 0 series re-read in 0
    request(s), 0 value(s) revised", which read like a revise that failed; now it says there
    was nothing to re-read and why."""
    app, source, clock = _collected(tmp_path, revised=False)
    start = datetime(2022, 7, 6, 23, 30, tzinfo=SP)
    clock.set(start)
    source.values.clear()  # nothing since: the weeks after April stay missing
    try:
        seen = _watch(app, clock, 1, revise_at=DEFAULT_REVISE_AT)
    finally:
        _close(app)

    ((tick, _),) = seen
    assert tick.revise is not None and tick.revise.keys == 0
    beat = tick.heartbeat()
    assert "0 series re-read" not in beat
    assert (
        "; daily revise: nothing to re-read, none of the 1 series has a date answered (a stored "
        "value, ABSENT or QUARANTINED) in its revise window" in beat
    )


def test_a_watch_with_the_revise_off_leaves_the_date_absent(tmp_path):
    """`--revise-at off` (and the stage's default): the watch never re-reads."""
    app, source, clock = _collected(tmp_path)
    clock.set(THURSDAY_20H)
    asked = len(source.calls)
    try:
        seen = _watch(app, clock, 3)
        stored = _stored(app)
    finally:
        _close(app)
    assert _revise_ticks(seen) == []
    assert len(source.calls) == asked
    assert stored == (Status.ABSENT, None)


def test_a_revise_run_by_hand_counts_as_the_days(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite")
    try:
        assert revise_due(store, THURSDAY_20H, time(23, 0))  # none recorded
        store.put_run(RunLog("revise", WEDNESDAY_23H, WEDNESDAY_23H))
        assert not revise_due(store, THURSDAY_20H, time(23, 0))
        assert revise_due(store, THURSDAY_23H, time(23, 0))
        store.put_run(RunLog("revise", THURSDAY_23H - timedelta(hours=1), THURSDAY_23H))
        assert revise_due(store, THURSDAY_23H, time(23, 0))  # 22:00 is before Thursday's
    finally:
        store.close()


def test_a_revise_counts_for_what_it_covered(tmp_path):
    cng, usd = SERIES, DEFAULT_CATALOG["CURRENCY#USD"]
    everything = selection(None, None, DEFAULT_CATALOG)
    watched = selection([cng], None, DEFAULT_CATALOG)
    assert everything is None  # unrestricted: its entry keeps no selection
    assert selection(list(DEFAULT_CATALOG), None, DEFAULT_CATALOG) is None
    assert watched is not None and watched == selection([cng, cng], None, DEFAULT_CATALOG)
    assert selection([cng, usd], None, DEFAULT_CATALOG) == selection(
        [usd, cng], None, DEFAULT_CATALOG
    )
    assert (
        len(
            {
                watched,
                selection([usd], None, DEFAULT_CATALOG),
                selection([cng], SINCE, DEFAULT_CATALOG),
                selection(None, SINCE, DEFAULT_CATALOG),
            }
        )
        == 4
    )
    at, now = time(23, 0), THURSDAY_23H + timedelta(minutes=30)
    store = SqliteStore(tmp_path / "s.sqlite")
    try:
        clock = ManualClock(THURSDAY_23H)
        app = StageContext(
            catalog=DEFAULT_CATALOG,
            store=store,
            queue=SqliteQueue(tmp_path / "q.sqlite", clock, timedelta(seconds=30)),
            sources={},
            clock=clock,
            policy=POLICY,
        )
        revise(app, series=[usd])  # by hand, USD only
        assert not revise_due(store, now, at, selection([usd], None, DEFAULT_CATALOG))
        assert revise_due(store, now, at, watched)
        assert revise_due(store, now, at)  # a watch of every series
        revise(app, series=[cng])  # a watch of CNG in Acre: its own counts for it
        assert not revise_due(store, now, at, watched)
        assert revise_due(store, now, at)
        revise(app)  # unrestricted (the AWS schedule's, a hand revise of every series)
        assert not revise_due(store, now, at) and not revise_due(store, now, at, watched)
        # an entry written before revises kept their selection: unrestricted, as it meant
        store.put_run(RunLog("revise", THURSDAY_23H, THURSDAY_23H, {"keys": 1}))
        assert not revise_due(store, now, at, watched)
        app.queue.close()
    finally:
        store.close()


def test_slots_are_sao_paulo_times_whatever_the_clocks_zone():
    utc = THURSDAY_20H.astimezone(ZoneInfo("UTC"))  # 23:00 UTC is 20:00 in São Paulo
    assert latest_slot(utc, time(23, 0)) == WEDNESDAY_23H
    assert next_slot(utc, time(23, 0)) == THURSDAY_23H
    assert latest_slot(THURSDAY_23H, time(23, 0)) == THURSDAY_23H
    assert next_slot(THURSDAY_23H, time(23, 0)) == THURSDAY_23H + timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("23:00", time(23, 0)),
        ("06:30", time(6, 30)),
        ("23:00:00", time(23, 0)),  # str(time(23, 0)): a dumped setting reads back
        ("06:30:15", time(6, 30, 15)),
        ("OFF", None),
        (" off ", None),
    ],
)
def test_the_revise_time_setting(text, expected):
    assert Settings(revise_at=text).revise_at == expected


@pytest.mark.parametrize(
    "text",
    ["24:00", "23:60", "23:0", "2300", "11pm", "", "23", "²3:00", "23:00:60", "23:00:0", "1:2:3:4"],
)
def test_a_revise_time_that_is_not_hh_mm_or_off_is_refused(text):
    with pytest.raises(ValueError, match="HH:MM"):
        Settings(revise_at=text)


def test_the_default_is_the_aws_schedules_time():
    assert Settings.model_fields["revise_at"].default == DEFAULT_REVISE_AT == time(23, 0)


class Counted(SaysNoValue):
    """``SaysNoValue`` that counts its requests and failures, as the HTTP adapters do
    (``Source.stats``): how the watch tells a source it reached from one it did not."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.failed = 0

    def fetch(self, request):
        try:
            return super().fetch(request)
        except SourceError:
            self.failed += 1
            raise

    def stats(self) -> SourceStats:
        return SourceStats(len(self.calls), self.failed, "offline" if self.failed else None)


class Refused(Counted):
    """``Counted`` whose breaker is open for its first ``refused`` requests: each is refused
    unsent, counted as not sent, neither a request nor a failure, as ``HttpSource`` does."""

    def __init__(self, *args, refused: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refused, self.not_sent = refused, 0

    def fetch(self, request):
        if self.not_sent < self.refused:
            self.not_sent += 1
            raise SourceUnreachable(f"anp: not asked: {BREAKER_WORDS}")
        return super().fetch(request)

    def stats(self) -> SourceStats:
        refusal = BREAKER_WORDS if self.not_sent else None
        return replace(super().stats(), not_sent=self.not_sent, refusal=refusal)


BREAKER_WORDS = "the last 3 requests could not connect (connection refused); trying again after 9 s"


@pytest.mark.parametrize("offline", ["failed", "refused unsent"])
def test_a_revise_that_reached_no_source_is_not_the_days_and_is_tried_again(tmp_path, offline):
    """Offline at 23:00: the revise's one request fails. Before, its run-log entry counted
    as the day's revise all the same: the value ANP added stayed ABSENT until Friday's 23:00
    (and a restarted watch did not try either). Now the entry names the source not reached,
    the watch wakes ``REVISE_RETRY`` later for it, and that re-read stores the value. The
    same when the request was not sent at all, the source's breaker open after earlier
    requests that could not connect: before, no count moved and ANP counted as reached."""
    app, published, clock = _collected(tmp_path)
    if offline == "failed":
        counted: Counted = Counted(
            "anp",
            published.values,
            never=set(),
            no_value=set(),
            failures=[TransientSourceError("connection refused")],  # the 23:00 request only
        )
    else:
        counted = Refused("anp", published.values, never=set(), no_value=set(), refused=1)
    app.sources["anp"] = counted
    clock.set(THURSDAY_20H)
    try:
        seen = _watch(app, clock, 3, revise_at=DEFAULT_REVISE_AT)
        stored = _stored(app)
        watched = selection([SERIES], None, DEFAULT_CATALOG)
        done = not revise_due(app.store, THURSDAY_23H + REVISE_RETRY, DEFAULT_REVISE_AT, watched)
    finally:
        _close(app)

    retried_at = THURSDAY_23H + REVISE_RETRY
    assert _revise_ticks(seen) == [THURSDAY_23H, retried_at]
    failed = seen[1][0]
    assert failed.wake_at == retried_at
    assert "daily revise: 1 series re-read in 1 request(s), 0 value(s) revised" in (
        failed.heartbeat()
    )
    assert "not reached: anp (tried again at 2022-03-31T23:30:00-03:00)" in failed.heartbeat()
    if offline != "failed":
        assert f"; not sent (breaker open): anp 1 ({BREAKER_WORDS})" in failed.heartbeat()
    assert "not reached" not in seen[2][0].heartbeat()
    assert stored == (Status.OK, VALUE)
    assert done  # reached at 23:30: the day's revise is done (a restarted watch skips it)


def test_a_revise_left_owing_some_sources_retries_those_only(tmp_path):
    """A revise of two sources where only one answered: the other's series are re-read
    ``REVISE_RETRY`` later (not before, and not the reached source's), each retry that
    fails again keeps them owed, and the next day's 23:00 is a whole revise again."""
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    store = SqliteStore(tmp_path / "s.sqlite")
    at, covered = time(23, 0), selection([SERIES, usd], None, DEFAULT_CATALOG)
    try:
        run = RunLog("revise", THURSDAY_23H, THURSDAY_23H, {"keys": 2, SELECTION: covered})
        store.put_run(run)
        assert not revise_due(store, THURSDAY_23H, at, covered)
        settle(store, run, covered, {"bcb"})
        assert owed_sources(store, THURSDAY_23H, at, covered) == {"bcb"}
        assert not revise_due(store, THURSDAY_23H + timedelta(minutes=29), at, covered)
        assert next_revise(store, THURSDAY_23H, at, covered) == THURSDAY_23H + REVISE_RETRY
        assert revise_due(store, THURSDAY_23H + REVISE_RETRY, at, covered)
        assert revise_due(store, THURSDAY_23H, at)  # a watch of every series: not its own
        # the retry re-reads bcb only, fails again: still owed, from its own start
        retry_at = THURSDAY_23H + REVISE_RETRY
        again = RunLog("revise", retry_at, retry_at, {"keys": 1, SELECTION: 7})
        store.put_run(again)
        settle(store, again, covered, {"bcb"})
        assert owed_sources(store, retry_at, at, covered) == {"bcb"}
        assert next_revise(store, retry_at, at, covered) == retry_at + REVISE_RETRY
        # Friday's 23:00: the whole revise is due, whatever was owed
        friday = THURSDAY_23H + timedelta(days=1)
        assert owed_sources(store, friday, at, covered) is None
        assert next_revise(store, friday, at, covered) == friday
        # reached at last: nothing owed, nothing due before Friday
        done_at = retry_at + REVISE_RETRY
        done = RunLog("revise", done_at, done_at, {"keys": 1})
        store.put_run(done)
        settle(store, done, covered, set())
        assert owed_sources(store, done_at, at, covered) == set()
        assert next_revise(store, done_at, at, covered) == friday
    finally:
        store.close()


class DownFor(Counted):
    """``Counted`` that fails every request for the keys of ``down`` and answers the others:
    one of the source's downloads broken while another of its works."""

    def __init__(self, *args, down: set[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.down = down

    def fetch(self, request):
        if {s.key for s in request.series} & self.down:
            self.calls.append(request)
            self.failed += 1
            raise TransientSourceError("connection reset")
        return super().fetch(request)


OTHER = "FUEL#GASOLINE#AC"  # ANP, the same workbook as CNG in Acre


def _left_in_queue(app: StageContext, key: str) -> None:
    """A message an earlier tick (or another command) enqueued and nobody drained yet."""
    series = DEFAULT_CATALOG[key]
    body = DownloadRequest(
        partition_key=key, dates_to_download=[DAY], fetch_unit=series.fetch_unit, origin="retry"
    ).to_body()
    assert app.queue.send([body]) == 1


@pytest.mark.parametrize("failing", ["the revise's request", "the other message"])
def test_the_revise_is_judged_by_its_own_requests_only(tmp_path, failing):
    """A message left in the queue is drained with the revise's re-reads. Before, its request
    was counted with theirs: a revise whose one request to ANP failed counted as reaching
    ANP because the other ANP message was answered (the value stayed ABSENT until Friday),
    and a failed request to BCB, which this watch's revise never asked, named BCB unreached.
    Now only the revise's own messages decide."""
    app, published, clock = _collected(tmp_path)
    revise_fails = failing == "the revise's request"
    app.sources["anp"] = DownFor(
        "anp", published.values, no_value=set(), down={KEY} if revise_fails else {OTHER}
    )
    if not revise_fails:
        app.sources["bcb"] = Counted(
            "bcb", {}, no_value=set(), failures=[TransientSourceError("refused")] * 9
        )
        _left_in_queue(app, "CURRENCY#USD")
    _left_in_queue(app, OTHER)
    watched = selection([SERIES], None, DEFAULT_CATALOG)
    clock.set(THURSDAY_23H)
    try:
        [(revised, _)] = _watch(app, clock, 1, revise_at=DEFAULT_REVISE_AT)
        owed = owed_sources(app.store, THURSDAY_23H, DEFAULT_REVISE_AT, watched)
        stored = _stored(app)
    finally:
        _close(app)

    assert revised.revise is not None
    assert revised.requests["anp"].requests >= 2  # the revise's and the other message's
    if revise_fails:
        assert revised.unreached == ["anp"]
        assert owed == {"anp"}  # re-read at 23:30
        assert stored == (Status.ABSENT, None)
        assert revised.wake_at == THURSDAY_23H + REVISE_RETRY
    else:
        assert revised.requests["bcb"].unreachable  # failed, but no request of the revise
        assert revised.unreached == []
        assert owed == set()
        assert stored == (Status.OK, VALUE)


def test_a_retry_is_recorded_as_what_it_re_read_and_the_day_stays_owed_the_rest(tmp_path):
    """The day's revise of every series left ANP and BCB unreached; a watch of CNG in Acre
    (ANP) retries at 23:30 and reaches ANP. Before, the retry's entry said "a revise of CNG in
    Acre, nothing owed": a watch of every series (or of USD) restarted then re-read the
    whole selection again, though only BCB was owed. Now the retry's entry continues the
    day's revise: it names what it re-read (``retried:anp``), keeps the day's selection, and
    still owes BCB, which it did not read; a watch of CNG alone owes nothing more."""
    app, published, clock = _collected(tmp_path)
    app.sources["anp"] = Counted("anp", published.values, no_value=set())
    everything_at = THURSDAY_23H
    clock.set(everything_at)
    day = RunLog("revise", everything_at, everything_at, {"keys": 80, "messages_sent": 30})
    app.store.put_run(day)
    settle(app.store, day, None, {"anp", "bcb"})  # an unrestricted revise that reached neither
    usd = selection([DEFAULT_CATALOG["CURRENCY#USD"]], None, DEFAULT_CATALOG)
    cng = selection([SERIES], None, DEFAULT_CATALOG)
    at = DEFAULT_REVISE_AT
    retry_at = everything_at + REVISE_RETRY
    clock.set(retry_at)
    try:
        seen = _watch(app, clock, 2, revise_at=at)  # the retry at 23:30, then the next look
        stored = _stored(app)
        [entry] = [r for r in app.store.last_runs() if r.stage == "revise"]
        later = retry_at + timedelta(minutes=10)
        owed = {
            name: owed_sources(app.store, later, at, chosen)
            for name, chosen in (("every", None), ("usd", usd), ("cng", cng))
        }
        owed_cng = owed_sources(app.store, later, at, cng, sources={"anp"})
        cng_next = next_revise(app.store, later, at, cng, sources={"anp"})
        every_next = next_revise(app.store, later, at)
    finally:
        _close(app)

    assert _revise_ticks(seen) == [retry_at]  # once: nothing more is owed to this watch
    assert stored == (Status.OK, VALUE)
    assert entry.started_at == retry_at
    assert entry.counts.get("retried:anp") == 1  # what it re-read
    assert entry.counts.get("keys") == 1
    assert SELECTION not in entry.counts  # the day's (unrestricted) revise, continued
    assert entry.counts.get("unreached:bcb") == 1 and "unreached:anp" not in entry.counts
    assert owed == {"every": {"bcb"}, "usd": {"bcb"}, "cng": {"bcb"}}
    assert owed_cng == set()  # none of the sources CNG in Acre is read from
    assert cng_next == THURSDAY_23H + timedelta(days=1)
    assert every_next == retry_at + REVISE_RETRY  # BCB's series re-read at 00:00
    assert seen[-1][0].wake_at is not None
    assert seen[-1][0].wake_at > retry_at + REVISE_RETRY  # no empty retry for BCB
