"""The gap-scan watermark never hides a gap: random histories, releases, concurrent scans, audits.

Each example replays a random history on a real SQLite store (values arriving, dates going
PENDING, quarantined, released, and orchestrator runs in between), then checks after every run:

- every expected date up to the stored watermark is OK, ABSENT or QUARANTINED;
- the incremental scan found exactly the gaps a full scan of every date finds.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.calendars import expected_between, get_calendar, last_available_date
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Series
from fuelpipe.domain.gaps import COMPLETE, missing_dates
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.settings import Settings, policy_from
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.orchestrate import orchestrate

SP = ZoneInfo("America/Sao_Paulo")
START = date(2024, 1, 2)
FIRST_NOW = datetime(2024, 2, 15, 20, 0, tzinfo=SP)
SERIES = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=START)
CAL = get_calendar(SERIES.calendar)
# Every date a history may touch: up to a few weeks past the first run.
DAYS = list(expected_between(CAL, START, date(2024, 3, 20)))


def build_app(folder: Path, clock: ManualClock, *, audit_every_s: float = 86400.0) -> StageContext:
    settings = Settings(db=folder / "store.sqlite", gap_audit_interval_s=audit_every_s)
    return StageContext(
        catalog=DEFAULT_CATALOG,
        store=SqliteStore(settings.db, clock),
        queue=SqliteQueue(folder / "queue.sqlite", clock, visibility_timeout=timedelta(30)),
        sources={},
        clock=clock,
        policy=policy_from(settings),
        gap_audit_interval_s=settings.gap_audit_interval_s,
    )


def ok(day: date) -> Record:
    return Record(SERIES.key, day, Decimal("5.1"), Status.OK)


def pending(day: date, now: datetime) -> Record:
    return Record(SERIES.key, day, None, Status.PENDING, next_attempt_at=now, reason="not yet")


def assert_watermark_hides_nothing(store: Store, series: Series = SERIES) -> None:
    mark = store.watermarks().get(series.key)
    if mark is None or mark.through is None:
        return
    statuses = {p.date: p.status for p in store.present(series.key)}
    for day in expected_between(CAL, series.default_start, mark.through):
        assert statuses.get(day) in COMPLETE, (day, statuses.get(day), mark)


def full_scan_gaps(store: Store, now: datetime) -> list[date]:
    end = last_available_date(now, SERIES.available_after)
    have = [p.date for p in store.present(SERIES.key)]
    return missing_dates(CAL, SERIES.default_start, end, have)


Op = tuple[str, int]
ops = st.lists(
    st.tuples(
        st.sampled_from(["ok", "pending", "quarantine", "release", "run", "audit", "tick"]),
        st.integers(min_value=0, max_value=len(DAYS) - 1),
    ),
    min_size=1,
    max_size=40,
)


def apply(app: StageContext, clock: ManualClock, op: Op) -> None:
    """One step of a history; orchestrator runs check both properties."""
    name, i = op
    day = DAYS[i]
    store = app.store
    if name == "ok":
        store.put_records([ok(day)])
    elif name == "pending":
        store.put_pending(pending(day, clock.now()))
    elif name == "quarantine":
        got = store.query(SERIES.key, day, day)
        if got and got[0].status is Status.PENDING:
            store.quarantine(SERIES.key, day, got[0].retry_count, "spent")
    elif name == "release":
        store.release(SERIES.key, day, clock.now())
    elif name == "tick":
        clock.advance(timedelta(hours=1 + i))
    else:
        report = orchestrate(app, series=[SERIES], audit=name == "audit")
        assert report.gaps_found == len(full_scan_gaps(store, clock.now()))
    assert_watermark_hides_nothing(store)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=ops, audit_every_h=st.sampled_from([1, 24, 24 * 365]))
def test_random_histories_never_hide_a_gap(history: list[Op], audit_every_h: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(FIRST_NOW)
        app = build_app(Path(folder), clock, audit_every_s=audit_every_h * 3600.0)
        try:
            for op in [*history, ("run", 0)]:
                apply(app, clock, op)
        finally:
            app.close()


def complete_history(store: Store, now: datetime) -> list[date]:
    days = list(expected_between(CAL, START, last_available_date(now, SERIES.available_after)))
    store.put_records([ok(d) for d in days])
    return days


def test_steady_state_reads_only_after_the_watermark(tmp_path: Path) -> None:
    clock = ManualClock(FIRST_NOW)
    app = build_app(tmp_path, clock)
    days = complete_history(app.store, clock.now())
    first = orchestrate(app, series=[SERIES])
    assert (first.keys_audited, first.gaps_found) == (1, 0)
    assert app.store.watermarks()[SERIES.key].through == days[-1]
    # A day later (before the audit is due again) one new date arrived: it is read, and the
    # watermark moves over it; the history before the watermark is not read again.
    clock.advance(timedelta(hours=23))
    new = list(expected_between(CAL, days[-1] + timedelta(days=1), clock.now().date()))
    app.store.put_records([ok(d) for d in new])
    steady = orchestrate(app, series=[SERIES])
    assert (steady.keys_audited, steady.gaps_found, steady.watermarks_moved) == (0, 0, 1)
    assert new
    assert app.store.watermarks()[SERIES.key].through == new[-1]
    app.close()


def test_the_audit_repairs_a_wrong_watermark(tmp_path: Path) -> None:
    clock = ManualClock(FIRST_NOW)
    app = build_app(tmp_path, clock)
    days = complete_history(app.store, clock.now())
    orchestrate(app, series=[SERIES])
    mark = app.store.watermarks()[SERIES.key]
    # Corrupt it: a restored backup lost a stretch of history the watermark claims complete.
    lost = days[5]
    app.store.connection.execute(
        "DELETE FROM items WHERE info_type = ? AND date = ?", (SERIES.key, lost.isoformat())
    )
    steady = orchestrate(app, series=[SERIES])
    assert steady.gaps_found == 0  # the steady scan trusts the watermark ...
    clock.advance(timedelta(days=1))  # ... until the daily audit is due
    published = last_available_date(clock.now(), SERIES.available_after)
    app.store.put_records([ok(d) for d in expected_between(CAL, days[-1], published)])
    audit = orchestrate(app, series=[SERIES])
    assert (audit.keys_audited, audit.watermarks_repaired, audit.gaps_found) == (1, 1, 1)
    repaired = app.store.watermarks()[SERIES.key]
    assert repaired.through == days[4]
    assert repaired.version > mark.version
    assert repaired.audited_at == clock.now()
    assert [m.body for m in app.queue.receive(10)]  # the lost date was enqueued again
    assert_watermark_hides_nothing(app.store)
    app.close()


def test_an_audit_a_clock_ahead_stamped_is_due_at_once(tmp_path: Path) -> None:
    """One run with its clock a year ahead (``fuelpipe run --now`` typed for the wrong year)
    stamped the audit a year ahead: real-clock runs computed a negative age and skipped the
    daily audit for a year, so a watermark past a lost date was never repaired. Now an audit
    stamped later than now is due, and the real-clock audit stamps the real time."""
    clock = ManualClock(FIRST_NOW)
    app = build_app(tmp_path, clock)
    days = complete_history(app.store, clock.now())
    ahead = build_app(tmp_path, ManualClock(FIRST_NOW + timedelta(days=365)))
    assert orchestrate(ahead, series=[SERIES], audit=True).keys_audited == 1
    stamped = app.store.watermarks()[SERIES.key].audited_at
    assert stamped is not None and stamped > clock.now()
    lost = days[5]  # a restored backup lost it, as in test_the_audit_repairs_a_wrong_watermark
    app.store.connection.execute(
        "DELETE FROM items WHERE info_type = ? AND date = ?", (SERIES.key, lost.isoformat())
    )
    audit = orchestrate(app, series=[SERIES])  # the next run, not a day later
    assert (audit.keys_audited, audit.watermarks_repaired, audit.gaps_found) == (1, 1, 1)
    repaired = app.store.watermarks()[SERIES.key]
    assert (repaired.through, repaired.audited_at) == (days[4], clock.now())
    assert orchestrate(app, series=[SERIES]).keys_audited == 0  # daily again, from real time
    assert_watermark_hides_nothing(app.store)
    ahead.close()
    app.close()


def test_a_date_a_new_calendar_expects_behind_the_watermark_is_found_on_the_next_run(
    tmp_path: Path,
) -> None:
    """A release whose calendar expects a date it skipped before (here Carnival Tuesday
    2024-02-13, behind the watermark): the watermark keeps the fingerprint of the calendar it
    was computed with, so the next run (an hour on, the daily audit not due) audits the key
    and finds the date, instead of hiding it until the next daily audit."""
    clock = ManualClock(FIRST_NOW)
    app = build_app(tmp_path, clock)
    complete_history(app.store, clock.now())
    assert orchestrate(app, series=[SERIES]).gaps_found == 0
    carnival = date(2024, 2, 13)
    assert not CAL.is_expected(carnival)
    new = replace(CAL, holiday_set=CAL.holiday_set - {carnival})
    assert app.store.watermarks()[SERIES.key].through > carnival
    clock.advance(timedelta(hours=1))
    run = orchestrate(app, series=[SERIES], calendars=lambda name: new)
    assert (run.keys_audited, run.watermarks_repaired, run.gaps_found) == (1, 1, 1)
    assert app.store.watermarks()[SERIES.key].through == date(2024, 2, 9)  # the Friday before
    sent = [DownloadRequest.from_body(m.body) for m in app.queue.receive(10)]
    assert [(r.partition_key, r.dates_to_download) for r in sent] == [(SERIES.key, [carnival])]
    # the same calendar again: the steady scan, from the repaired watermark
    clock.advance(timedelta(hours=1))
    again = orchestrate(app, series=[SERIES], calendars=lambda name: new)
    assert (again.keys_audited, again.gaps_found) == (0, 1)
    # back to the released calendar (a rollback): audited again, nothing missing
    clock.advance(timedelta(hours=1))
    back = orchestrate(app, series=[SERIES])
    assert (back.keys_audited, back.gaps_found) == (1, 0)
    app.close()


def test_two_orchestrators_at_once_with_releases_never_hide_a_gap(tmp_path: Path) -> None:
    clock = ManualClock(FIRST_NOW)
    apps = [build_app(tmp_path, clock) for _ in range(2)]
    store = apps[0].store
    end = last_available_date(clock.now(), SERIES.available_after)
    days = list(expected_between(CAL, START, end))
    # Every fourth date is quarantined: the watermark may pass them, until they are released.
    quarantined = days[::4]
    store.put_records([ok(d) for d in days if d not in quarantined])
    for day in quarantined:
        store.put_pending(pending(day, clock.now()))
        assert store.quarantine(SERIES.key, day, 0, "spent")
    errors: list[BaseException] = []
    stop = threading.Event()
    runs = threading.Semaphore(0)

    def scans(app: StageContext) -> None:
        try:
            while not stop.is_set():
                orchestrate(app, series=[SERIES], audit=False)
                runs.release()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scans, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    released = build_app(tmp_path, clock)
    try:
        for day in reversed(quarantined):
            # Each release lands while the two scans are running (after one more run ended).
            assert runs.acquire(timeout=60)
            assert released.store.release(SERIES.key, day, clock.now())
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    # One more run of each after the releases: the watermark is below the first released date.
    for app in apps:
        orchestrate(app, series=[SERIES])
        assert_watermark_hides_nothing(app.store)
    mark = store.watermarks()[SERIES.key]
    assert mark.through is None or mark.through < quarantined[0]
    for app in [*apps, released]:
        app.close()
