"""recheck under a time budget, and in batches: a claim spends a re-download, so none is left
claimed without being sent when the run stops (a Lambda timeout sends no signal)."""

import json
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from tests.stages.conftest import NOW

from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.queue import Queue
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.recheck import TIME_MARGIN_S, recheck

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


def _budget(calls_with_time: int) -> Callable[[], float]:
    """Seconds left: plenty for the first calls, then under the margin."""
    calls = 0

    def remaining_s() -> float:
        nonlocal calls
        calls += 1
        return TIME_MARGIN_S + 60 if calls <= calls_with_time else TIME_MARGIN_S - 1

    return remaining_s


def _asked(app: StageContext) -> list[tuple[str, date]]:
    """Every (key, date) the queued messages ask for."""
    bodies = [json.loads(m.body) for m in app.queue.receive(100)]
    return [
        (b["partition_key"], date.fromisoformat(d)) for b in bodies for d in b["dates_to_download"]
    ]


def test_a_run_out_of_time_sends_its_claims_and_defers_the_rest(make_app, table_source):
    app = make_app(table_source())
    seeded = _seed_due(app, ["CURRENCY#USD", "CURRENCY#EUR"], 6)

    report = recheck(app, remaining_s=_budget(4))

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

    report = recheck(app, remaining_s=_budget(2))

    assert (report.retried, report.deferred) == (2, 10)
    assert set(_asked(app)) == small
