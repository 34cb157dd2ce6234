"""recheck under a time budget, and in batches: a claim spends a re-download, so none is left
claimed without being sent when the run stops (a Lambda timeout sends no signal)."""

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal

import pytest
from tests.stages.conftest import NOW, POLICY, START, usd_values
from tests.support.budget import budget
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.domain.retry import gave_up_reason
from fuelpipe.failpoints import Failpoints
from fuelpipe.ports.queue import Queue
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.data_version import data_version
from fuelpipe.stages.orchestrate import orchestrate
from fuelpipe.stages.recheck import RecheckReport, recheck
from fuelpipe.stages.watch import tick

SEND_EVERY = 7
"""A small batch for the test (the default, 5,000, is more dates than DAYS holds)."""

DAYS = list(expected_between(get_calendar("ANBIMA"), date(2019, 1, 2), NOW.date()))


class _CountingQueue:
    """The real queue, remembering the bodies of each send call."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue
        self.sends: list[list[str]] = []

    def send(self, bodies: Sequence[str]) -> int:
        self.sends.append(list(bodies))
        return self._queue.send(bodies)

    def __getattr__(self, name: str) -> object:
        return getattr(self._queue, name)


def _seed_due(app: StageContext, keys: Sequence[str], count: int) -> set[tuple[str, date]]:
    """``count`` due PENDING dates of each key, never retried."""
    seeded = set()
    for key in keys:
        for day in DAYS[:count]:
            pending = Record(key, day, None, Status.PENDING, 0, NOW - timedelta(hours=1), "x")
            assert app.store.put_pending(pending)
            seeded.add((key, day))
    return seeded


def _asked(app: StageContext) -> list[tuple[str, date]]:
    """Every (key, date) the queued messages ask for."""
    bodies = [json.loads(m.body) for m in app.queue.receive(100)]
    return [
        (b["partition_key"], date.fromisoformat(d)) for b in bodies for d in b["dates_to_download"]
    ]


def test_a_run_out_of_time_sends_its_claims_and_defers_the_rest(make_app, table_source):
    app = make_app(table_source())
    seeded = _seed_due(app, ["CURRENCY#USD", "CURRENCY#EUR"], 6)

    report = recheck(app, remaining_s=budget(4))

    assert (report.due, report.retried, report.deferred) == (12, 4, 8)
    asked = _asked(app)
    assert len(asked) == len(set(asked)) == 4
    retry_counts = {(r.key, r.date): r.retry_count for r in app.store.pending()}
    assert {k for k, n in retry_counts.items() if n == 1} == set(asked)
    deferred = seeded - set(asked)
    assert {(r.key, r.date) for r in app.store.due_pending(NOW)} == deferred
    assert all(retry_counts[k] == 0 for k in deferred)  # no re-download spent on them
    (run,) = [r for r in app.store.last_runs() if r.stage == "retry_recheck"]
    assert run.counts["deferred"] == 8

    again = recheck(app)  # the next run, with time: the deferred ones are claimed now

    assert (again.due, again.retried, again.deferred) == (8, 8, 0)
    assert set(_asked(app)) == deferred


class _PagesRead:
    """The real store, counting the due records each run's page reads gave."""

    def __init__(self, store: object) -> None:
        self._store = store
        self.read = 0

    def due_pending_pages(self, *args: object, **kwargs: object) -> Iterator[list[Record]]:
        for page in self._store.due_pending_pages(*args, **kwargs):  # type: ignore[attr-defined]
            self.read += len(page)
            yield page

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def test_a_backlog_larger_than_a_page_is_read_page_by_page_and_worked_across_runs(
    make_app, table_source
):
    """A run reads the due records a page at a time and stops reading where its time budget
    ends: the next runs read on from what is still due, and every due date is claimed and
    asked for exactly once over the runs, none lost, none twice."""
    app = make_app(table_source())
    seeded = _seed_due(app, ["CURRENCY#USD", "CURRENCY#EUR"], 9)  # 18 due, pages of 5
    store = _PagesRead(app.store)
    app = dataclasses.replace(app, store=store)
    asked: list[tuple[str, date]] = []

    # A budget for 7 calls: the 5 claims of page 1, the check before page 2, 1 claim of it.
    first = recheck(app, remaining_s=budget(7), page_size=5)

    assert (first.due, first.retried, first.deferred, first.left_unread) == (10, 6, 4, 1)
    assert store.read == 10  # pages 3 and 4 never read
    asked += _asked(app)
    assert len(asked) == 6

    store.read = 0
    second = recheck(app, remaining_s=budget(7), page_size=5)  # the 12 left: 6 claimed again

    assert (second.due, second.retried, second.left_unread) == (10, 6, 1)
    assert store.read == 10
    asked += _asked(app)

    store.read = 0
    third = recheck(app, remaining_s=budget(100), page_size=5)  # time for the last 6

    assert (third.due, third.retried, third.deferred, third.left_unread) == (6, 6, 0, 0)
    assert store.read == 6
    asked += _asked(app)
    assert sorted(asked) == sorted(seeded)  # each once: none lost, none claimed twice
    assert {r.retry_count for r in app.store.pending()} == {1}
    assert app.store.due_pending(NOW) == []


def test_claims_are_sent_every_batch_within_a_fetch_unit(make_app, table_source):
    """A hard kill costs at most one unsent batch, not a whole fetch unit's claims."""
    app = make_app(table_source())
    seeded = _seed_due(app, ["CURRENCY#USD"], SEND_EVERY + 1)
    queue = app.queue = _CountingQueue(app.queue)

    report = recheck(app, send_every=SEND_EVERY)

    assert report.retried == SEND_EVERY + 1 and report.deferred == 0
    per_send = [
        sum(len(json.loads(body)["dates_to_download"]) for body in bodies) for bodies in queue.sends
    ]
    assert per_send == [SEND_EVERY, 1]
    assert report.messages_sent == sum(len(bodies) for bodies in queue.sends)
    asked: list[tuple[str, date]] = []
    while batch := _asked(app):
        asked += batch
    assert sorted(asked) == sorted(seeded)


def test_small_fetch_units_go_first_so_a_backlog_defers_only_itself(make_app, table_source):
    """Units went in the store's order: a big backlog first in it used every run's time, and the
    other units' retries were deferred run after run behind it."""
    app = make_app(table_source())
    _seed_due(app, ["CURRENCY#EUR"], 10)  # the backlog, first in key order
    small = _seed_due(app, ["CURRENCY#USD"], 2)

    report = recheck(app, remaining_s=budget(2))

    assert (report.retried, report.deferred) == (2, 10)
    assert set(_asked(app)) == small


def test_a_pending_date_before_its_series_starts_is_quarantined_not_sent(make_app):
    """A PENDING date before its series' first date (left by a catalog that started earlier,
    or put back by hand) went out in a retry message; the scraper refuses a message asking
    for a date before the series starts, so the message was dead-lettered: that date, and
    every other date of its stream with it, never fetched, each claim spent."""
    usd = "CURRENCY#USD"
    before, first, second = date(1999, 12, 31), date(2000, 1, 3), date(2000, 1, 4)
    assert before < DEFAULT_CATALOG[usd].default_start == first
    source = TableSource("bcb", {(usd, d): Decimal("1.8") for d in (before, first, second)})
    app = make_app(source)
    for day in (before, first, second):  # one ANBIMA stream: 1999-12-31, then 2000-01-03
        due = Record(usd, day, None, Status.PENDING, 0, NOW - timedelta(hours=1), "no value")
        assert app.store.put_pending(due)

    report = recheck(app)
    drain(app)

    assert app.queue.dead_letters() == []
    assert (report.retried, report.quarantined) == (2, 1)
    assert [(r.date, r.status) for r in app.store.query(usd)] == [
        (before, Status.QUARANTINED),
        (first, Status.OK),
        (second, Status.OK),
    ]
    (kept,) = app.store.quarantined()
    assert "1999-12-31" in kept.reason and "(2000-01-03)" in kept.reason
    assert "no value" in kept.reason and kept.retry_count == 0  # no re-download spent
    assert source.asked[(usd, before)] == 0


def _refusing(app: StageContext) -> SqliteQueue:
    """Another client on the same queue file that refuses every send, as a queue that is down
    does: the real adapter, opened read-only."""
    queue = app.queue
    assert isinstance(queue, SqliteQueue)
    return SqliteQueue(queue.path, app.clock, queue.visibility_timeout, read_only=True)


def _states(app: StageContext) -> dict[tuple[str, date], tuple[int, object]]:
    return {(r.key, r.date): (r.retry_count, r.next_attempt_at) for r in app.store.pending()}


def test_a_retry_a_clock_ahead_claimed_is_due_at_once_on_the_real_clock(
    make_app, table_source, usd
):
    """A recheck with its clock a year ahead (``fuelpipe run --simulate-future``) claimed a due
    record: its next attempt a year off. Real-clock rechecks then never found it due, so it was
    neither re-downloaded nor quarantined until real time caught up. Now a next attempt later
    than the policy sets is due at once; a date ahead still waits for its publication window."""
    real = make_app(table_source())
    ahead = make_app(table_source(), clock=ManualClock(NOW + timedelta(days=365)))
    stuck, spent = DAYS[-20], DAYS[-19]
    assert real.store.put_pending(Record(usd.key, stuck, None, Status.PENDING, 0, NOW, "x"))
    assert recheck(ahead).retried == 1
    claimed = real.store.query(usd.key, stuck, stuck)[0]
    assert claimed.next_attempt_at == ahead.clock.now() + POLICY.delay(1)
    far = ahead.clock.now()  # one whose re-downloads are spent, from a clock ahead too
    assert real.store.put_pending(Record(usd.key, spent, None, Status.PENDING, 5, far, "x"))
    window = NOW.date() + timedelta(days=30)  # a date ahead, as the scraper stores one
    late_from = usd.schedule.stale_at(window)
    assert real.store.put_pending(Record(usd.key, window, None, Status.PENDING, 0, late_from))

    report = recheck(real)

    assert (report.due, report.retried, report.quarantined) == (2, 1, 1)
    got = {r.date: r for r in real.store.query(usd.key)}
    assert (got[stuck].retry_count, got[stuck].next_attempt_at) == (2, NOW + POLICY.delay(2))
    assert got[spent].status is Status.QUARANTINED
    assert (got[window].status, got[window].next_attempt_at) == (Status.PENDING, late_from)
    assert recheck(real).due == 0  # the claim above was this clock's own: it waits


def test_a_send_the_queue_refuses_gives_its_claims_back(make_app, table_source):
    """The claims were spent before the send: a queue outage cost each record one of its five
    re-downloads and a full backoff without a download. Now they are due again, untouched."""
    app = make_app(table_source())
    seeded = _seed_due(app, ["CURRENCY#USD", "CURRENCY#EUR"], 3)
    before = _states(app)
    working, app.queue = app.queue, _refusing(app)

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        recheck(app)  # the queue's error still ends the run

    assert _states(app) == before  # retry count and next attempt as they were: due now
    (run,) = [r for r in app.store.last_runs() if r.stage == "retry_recheck"]
    assert (run.counts["given_back"], run.counts["not_given_back"]) == (3, 0)
    assert (run.counts["retried"], run.counts["messages_sent"]) == (0, 0)
    assert run.counts["deferred"] == 3  # the other unit, not reached: untouched too

    app.queue = working  # the queue is back: the next run sends every one of them
    again = recheck(app)
    assert (again.retried, again.given_back) == (6, 0)
    assert set(_asked(app)) == seeded
    assert {n for n, _ in _states(app).values()} == {1}


def test_repeated_queue_outages_never_quarantine_a_date_never_downloaded(make_app, table_source):
    """Five runs against a queue that is down used to spend all five re-downloads: the sixth
    run quarantined a date that was never once re-downloaded."""
    app = make_app(table_source())
    seeded = _seed_due(app, ["CURRENCY#USD"], 2)
    working, app.queue = app.queue, _refusing(app)
    for _ in range(POLICY.max_retries + 1):
        with pytest.raises(sqlite3.OperationalError):
            recheck(app)
        app.clock.advance(POLICY.max_delay)
    app.queue = working

    report = recheck(app)

    assert (report.quarantined, report.retried) == (0, 2)
    assert set(_asked(app)) == seeded


def test_an_interrupted_recheck_whose_send_fails_too_gives_its_claims_back(make_app, table_source):
    """Ctrl+C after a batch was claimed, and the queue refusing the send made for it: the
    claims are given back and the interruption goes on."""
    app = make_app(table_source())
    _seed_due(app, ["CURRENCY#USD"], 3)
    before = _states(app)
    app.queue = _refusing(app)

    def interrupt(_signum: object) -> None:
        raise KeyboardInterrupt

    app.failpoints = Failpoints("recheck.after_claim:1", kill=interrupt)
    with pytest.raises(KeyboardInterrupt):
        recheck(app)

    assert _states(app) == before


def test_a_later_batch_refused_gives_back_only_its_own_claims(make_app, table_source):
    """The first batch went out; the queue went down before the second: the first batch's
    claims stay spent (their message is on the queue), the second's are given back."""
    app = make_app(table_source())
    _seed_due(app, ["CURRENCY#USD"], SEND_EVERY + 2)
    refusing = _refusing(app)
    app.queue = _DownAfter(app.queue, refusing, sends=1)

    with pytest.raises(sqlite3.OperationalError):
        recheck(app, send_every=SEND_EVERY)

    counts = sorted(n for n, _ in _states(app).values())
    assert counts == [0, 0] + [1] * SEND_EVERY
    assert len(_asked(app)) == SEND_EVERY
    (run,) = [r for r in app.store.last_runs() if r.stage == "retry_recheck"]
    assert (run.counts["retried"], run.counts["given_back"]) == (SEND_EVERY, 2)


class _DownAfter:
    """The real queue for the first ``sends`` sends, then a client that refuses them."""

    def __init__(self, queue: Queue, refusing: Queue, sends: int) -> None:
        self._queue, self._refusing, self._left = queue, refusing, sends

    def send(self, bodies: Sequence[str]) -> int:
        self._left -= 1
        return (self._queue if self._left >= 0 else self._refusing).send(bodies)

    def __getattr__(self, name: str) -> object:
        return getattr(self._queue, name)


def _spent_and_due(make_app: Callable[..., StageContext]) -> tuple[StageContext, date, date]:
    """A store holding USD's Q1 2022 but two dates, both PENDING and due: one for its
    quarantine (its five re-downloads spent), the other for a retry."""
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    spent, due = date(2022, 3, 2), date(2022, 3, 3)
    app = make_app(TableSource("bcb", usd_values()))
    for day, count in ((spent, POLICY.max_retries), (due, 0)):
        record = Record(usd.key, day, None, Status.PENDING, count, NOW - timedelta(hours=1), "x")
        assert app.store.put_pending(record)
    orchestrate(app, series=[usd], since=START)  # every other date: stored, nothing rechecked
    drain(app)
    assert {r.date for r in app.store.due_pending(NOW)} == {spent, due}
    return app, spent, due


def test_a_cycle_whose_recheck_the_queue_stops_still_moves_the_data_version(make_app):
    """The recheck quarantined a date, then the queue refused the retry's send: the error ended
    the cycle before it read the recheck's report, so the data version stayed and the stored
    views (health) kept showing the quarantined date as PENDING."""
    app, spent, due = _spent_and_due(make_app)
    before = data_version(app.store)
    # receives work; orchestrate's send (nothing to ask for) goes through, the recheck's not
    app.queue = _DownAfter(app.queue, _refusing(app), sends=1)

    computed: list[str] = []  # the cycle's precompute (the CLI's on_change)

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        run_cycle(
            app, series=[DEFAULT_CATALOG["CURRENCY#USD"]], since=START, on_change=computed.append
        )

    assert [r.date for r in app.store.quarantined()] == [spent]
    assert data_version(app.store) != before
    assert computed == [data_version(app.store)]  # the views follow it, not lazily per request
    assert {r.date: r.retry_count for r in app.store.pending()} == {due: 0}  # given back


def test_a_watch_tick_whose_recheck_the_queue_stops_still_moves_the_data_version(make_app):
    app, spent, _ = _spent_and_due(make_app)
    before = data_version(app.store)
    app.queue = _DownAfter(app.queue, _refusing(app), sends=0)

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        tick(app, [DEFAULT_CATALOG["CURRENCY#USD"]])  # nothing due to fetch: only the recheck

    assert [r.date for r in app.store.quarantined()] == [spent]
    assert data_version(app.store) != before


def test_a_recheck_that_raises_leaves_what_it_did_in_the_report_passed_in(make_app):
    app, _, _ = _spent_and_due(make_app)
    app.queue = _refusing(app)
    report = RecheckReport()

    with pytest.raises(sqlite3.OperationalError):
        recheck(app, report=report)

    assert (report.due, report.quarantined, report.given_back, report.retried) == (2, 1, 1, 0)


def test_recheck_and_the_scraper_word_a_spent_date_alike(make_app):
    """A date whose re-downloads are spent was quarantined as "x (gave up after 5
    re-downloads)" by recheck but "x (still failing after 5 re-downloads)" by the scraper (its
    last re-download failed too): one give-up, two wordings. Both write ``gave_up_reason``'s."""
    app, spent, _ = _spent_and_due(make_app)

    recheck(app)

    (kept,) = app.store.quarantined()
    assert (kept.date, kept.reason) == (spent, "x (gave up after 5 re-downloads)")
    assert kept.reason == gave_up_reason("x", POLICY.max_retries)
