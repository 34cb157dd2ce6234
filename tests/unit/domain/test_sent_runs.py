"""The orchestrator's notes of the gaps it sent (domain/planning.py): their text, and how long
a run of dates sent is held from being sent again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fuelpipe.domain.planning import parse_sent_runs, sent_held, sent_runs_text

SENT = datetime(2022, 5, 6, 15, 2, tzinfo=UTC)
HOLD = timedelta(minutes=90)  # the AWS download queue's visibility timeout
RETENTION = timedelta(days=4)


def test_the_text_reads_back_as_written_in_date_order() -> None:
    runs = [
        (date(2022, 5, 6), date(2022, 5, 6), SENT + timedelta(hours=1)),
        (date(2019, 1, 2), date(2020, 12, 31), SENT),
    ]
    text = sent_runs_text(runs)
    assert text.startswith("2019-01-02/2020-12-31=")
    assert parse_sent_runs(text) == sorted(runs)
    assert parse_sent_runs(None) == parse_sent_runs("") == []


class _Queue:
    """A queue count that says whether it was read."""

    def __init__(self, busy: bool) -> None:
        self.busy = busy
        self.reads = 0

    def __call__(self) -> bool:
        self.reads += 1
        return self.busy


@pytest.mark.parametrize("busy", [True, False])
def test_inside_the_hold_it_is_held_without_reading_the_queue(busy: bool) -> None:
    queue = _Queue(busy)
    assert sent_held(SENT, SENT + HOLD - timedelta(seconds=1), HOLD, RETENTION, queue)
    assert queue.reads == 0


@pytest.mark.parametrize("busy", [True, False])
def test_past_the_hold_it_is_held_while_the_queue_holds_a_message(busy: bool) -> None:
    queue = _Queue(busy)
    assert sent_held(SENT, SENT + HOLD, HOLD, RETENTION, queue) is busy
    assert queue.reads == 1


def test_past_the_retention_a_busy_queue_holds_it_no_longer() -> None:
    queue = _Queue(busy=True)
    assert sent_held(SENT, SENT + RETENTION - timedelta(seconds=1), HOLD, RETENTION, queue)
    assert not sent_held(SENT, SENT + RETENTION, HOLD, RETENTION, queue)
    assert sent_held(SENT, SENT + 10 * RETENTION, HOLD, None, queue)  # a queue that keeps all


def test_a_note_a_clock_ahead_stamped_holds_nothing() -> None:
    """`--now` in the future wrote it: waiting for real time to reach it would hide the
    gaps for as long; a second orchestrator a little behind the first still holds them."""
    queue = _Queue(busy=True)
    assert not sent_held(SENT, SENT - HOLD - timedelta(seconds=1), HOLD, RETENTION, queue)
    assert sent_held(SENT, SENT - timedelta(seconds=2), HOLD, RETENTION, queue)
