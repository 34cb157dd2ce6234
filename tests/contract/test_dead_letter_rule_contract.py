"""The dead-letter alert rule on every queue backend: the same alerts as a whole read, and no
read of the dead letters while their count has not changed.

Before, the rule read every dead letter at every evaluation (on SQS a receive and a visibility
reset per 10: 200 dead letters were 40 calls and ~30 s on moto, every hour in retry_recheck).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.contract.test_queue_contract import drain
from tests.support.fakes import Collect

from fuelpipe.adapters.alerts import SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.ports.queue import DeadLetter, Queue
from fuelpipe.stages.alerting import DeadLettered, evaluate

NOW = datetime(2022, 5, 4, 16, 30, tzinfo=UTC)


class CountingReads:
    """The queue under test, noting how many dead letters each read of them returned."""

    def __init__(self, inner: Queue) -> None:
        self.inner = inner
        self.reads: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        found = self.inner.dead_letters(limit)
        self.reads.append(len(found))
        return found


def _dead_letter(queue: Queue, n: int) -> None:
    """``n`` malformed messages dead-lettered, ten at a time: each is received and moved well
    inside the ``queue`` fixture's minute-long hold, so none comes back to be moved twice."""
    before = queue.depth().dead
    for start in range(0, n, 10):
        queue.send([f"not a request {i}" for i in range(start, min(n, start + 10))])
        for message in drain(queue, limit=10):
            queue.dead_letter(message, "malformed message")
    assert queue.depth().dead == before + n


@pytest.mark.parametrize("n", [0, 3, 200])
def test_dead_letters_alert_once_and_are_not_read_again_while_their_count_holds(
    queue: Queue, tmp_path: Path, n: int
) -> None:
    _dead_letter(queue, n)
    clock = ManualClock(NOW)
    counting = CountingReads(queue)
    store = SqliteStore(tmp_path / "a.sqlite")
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=clock)
    try:

        def run() -> tuple[int, int, int, tuple[str, ...]]:
            ctx = AlertContext(clock.now(), store, counting, DEFAULT_CATALOG)
            report = evaluate(ctx, [DeadLettered()], state, [])
            return report.firing, report.cleared, report.active, report.failed_rules

        assert run() == (n, 0, n, ())
        subjects = {a.condition.subject for a in state.load().values()}
        assert subjects == {d.message_id for d in queue.dead_letters()}
        assert counting.reads == ([n] if n else [])
        clock.advance(timedelta(hours=1))
        assert run() == (0, 0, n, ())  # the count holds: nothing read, nothing cleared
        assert counting.reads == ([n] if n else [])
    finally:
        state.close()
        store.close()


def test_past_its_read_cap_the_rule_says_how_many_it_did_not_read(
    queue: Queue, tmp_path: Path
) -> None:
    """25 dead letters, 10 read a run: 10 alerts and one saying 15 more were not read; not
    read again until the count changes (or a day passes), then the new count is said."""
    _dead_letter(queue, 25)
    clock = ManualClock(NOW)
    counting = CountingReads(queue)
    store = SqliteStore(tmp_path / "a.sqlite")
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=clock)
    rule = DeadLettered(read=10)
    try:

        def run() -> tuple[int, int, int]:
            ctx = AlertContext(clock.now(), store, counting, DEFAULT_CATALOG)
            report = evaluate(ctx, [rule], state, [])
            assert report.failed_rules == ()
            return report.firing, report.cleared, report.active

        def unread() -> str:
            return state.load()["dead_lettered:+unread"].condition.summary

        assert run() == (11, 0, 11)
        assert unread().startswith("15 more dead letter(s) not read: the DLQ counts 25, 10 read")
        clock.advance(timedelta(hours=1))
        assert run() == (0, 0, 11) and counting.reads == [10]
        _dead_letter(queue, 1)
        clock.advance(timedelta(hours=1))
        assert run()[1] == 0  # the ten alerting are kept, read again or not
        assert unread().startswith("16 more dead letter(s) not read: the DLQ counts 26, 10 read")
        assert counting.reads == [10, 10]
        clock.advance(timedelta(hours=25))
        run()  # a day since the last read: read again, count unchanged
        assert counting.reads == [10, 10, 10]
    finally:
        state.close()
        store.close()


def test_the_daily_read_again_of_the_same_dead_letters_alerts_nothing_more(
    queue: Queue, tmp_path: Path
) -> None:
    """A day after its last read the rule reads the DLQ again though its count held: the same
    dead letters are the same conditions (their message ids), so nothing fires again and
    nothing clears; one dead-lettered later fires alone."""
    _dead_letter(queue, 3)
    clock = ManualClock(NOW)
    counting = CountingReads(queue)
    store = SqliteStore(tmp_path / "a.sqlite")
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=clock)
    try:

        def run() -> tuple[int, int, int]:
            ctx = AlertContext(clock.now(), store, counting, DEFAULT_CATALOG)
            report = evaluate(ctx, [DeadLettered()], state, [])
            assert report.failed_rules == ()
            return report.firing, report.cleared, report.active

        assert run() == (3, 0, 3)
        clock.advance(timedelta(hours=25))
        assert run() == (0, 0, 3)  # read again: the same three, quiet
        assert counting.reads == [3, 3]
        _dead_letter(queue, 1)
        clock.advance(timedelta(hours=1))
        assert run() == (1, 0, 4)  # the count changed: read, the new one fires alone
        assert counting.reads == [3, 3, 4]
    finally:
        state.close()
        store.close()


def test_a_dead_letter_found_hours_later_alerts_as_of_when_it_was_dead_lettered(
    queue: Queue, tmp_path: Path
) -> None:
    """The alert's ``since`` is the dead letter's own time (the embedded queue's move, SQS's
    SentTimestamp of the message sent to the DLQ with its reason), not the evaluation that
    read it six hours later, and its texts say it in English and pt-BR."""
    _dead_letter(queue, 1)
    (letter,) = queue.dead_letters()
    assert letter.dead_at is not None
    clock = ManualClock(letter.dead_at + timedelta(hours=6))
    store = SqliteStore(tmp_path / "a.sqlite")
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=clock)
    sink = Collect()
    try:
        ctx = AlertContext(clock.now(), store, queue, DEFAULT_CATALOG)
        assert evaluate(ctx, [DeadLettered()], state, [sink]).firing == 1
        (stored,) = state.load().values()
    finally:
        state.close()
        store.close()
    (alert,) = sink.alerts
    assert alert.since == stored.since == letter.dead_at
    assert alert.at == letter.dead_at + timedelta(hours=6)
    at = sao_paulo_iso(letter.dead_at, "minutes")
    assert f" dead-lettered at {at}: malformed message" in alert.headline()
    assert f" (DLQ) em {at}: malformed message" in alert.headline("pt-BR")
