"""work_queue on a queue whose receive may come back empty while messages wait (an SQS short
poll samples only some of its servers): it does not take an empty receive for an empty
queue while the queue reports visible messages, but asks again willing to wait (an SQS long
poll, which asks every server), and it stops when that one is empty too."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import Message
from fuelpipe.stages.cycle import RECHECK_WAIT_S, work_queue
from fuelpipe.stages.orchestrate import orchestrate


class ShortPollQueue(SqliteQueue):
    """The embedded queue, but a receive that does not wait returns nothing whatever waits, as
    an SQS short poll may (so does one that waits, with ``long_empty``); it keeps each
    receive's ``wait_s``."""

    def __init__(
        self, path: Path, clock: Clock, visibility: timedelta, *, long_empty: bool
    ) -> None:
        super().__init__(path, clock=clock, visibility_timeout=visibility)
        self.long_empty, self.waits = long_empty, list[float]()

    def receive(self, max_messages: int = 10, *, wait_s: float = 0) -> list[Message]:
        self.waits.append(wait_s)
        if not wait_s or self.long_empty:
            return []
        return super().receive(max_messages, wait_s=wait_s)


def _short_polled(make_app, tmp_path, table_source, usd, *, long_empty: bool):
    app = make_app(table_source())
    sent = orchestrate(app, series=[usd], since=date(2022, 1, 3)).messages_sent
    assert sent >= 1
    assert app.queue.depth().visible == sent
    path = tmp_path / "store.sqlite.queue"
    queue = ShortPollQueue(path, app.clock, timedelta(seconds=30), long_empty=long_empty)
    return replace(app, queue=queue), queue, sent


def test_an_empty_receive_while_messages_are_visible_is_asked_again_willing_to_wait(
    make_app, tmp_path, table_source, usd
) -> None:
    """Every receive that does not wait comes back empty: the run still takes every message,
    each with one receive that waits after one that did not."""
    app, queue, sent = _short_polled(make_app, tmp_path, table_source, usd, long_empty=False)
    try:
        report = work_queue(app, sleep=lambda _: None)
        assert report.source_requests == sent
        assert queue.depth().visible == queue.depth().in_flight == 0
        assert queue.waits[:2] == [0, RECHECK_WAIT_S]
        assert queue.waits[-1] == 0  # the queue then reports none visible: no wait at the end
    finally:
        queue.close()


def test_a_receive_that_waited_and_came_back_empty_ends_the_run(
    make_app, tmp_path, table_source, usd
) -> None:
    """Empty even when it waits: the queue's count of visible messages was stale, and the run
    ends after that one wait (messages left for the next run)."""
    app, queue, sent = _short_polled(make_app, tmp_path, table_source, usd, long_empty=True)
    try:
        report = work_queue(app, sleep=lambda _: None)
        assert report.source_requests == 0
        assert queue.waits == [0, RECHECK_WAIT_S]
        assert queue.depth().visible == sent  # left for the next run
    finally:
        queue.close()
