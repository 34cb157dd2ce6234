"""work_queue on a queue whose receive may come back empty while messages wait (an SQS short
poll samples only some of its servers): it does not take one empty receive for an empty
queue while the queue reports visible messages, and it still stops, after a few."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import Message
from fuelpipe.stages.cycle import EMPTY_RECEIVES_WHILE_VISIBLE, work_queue
from fuelpipe.stages.orchestrate import orchestrate


class ShortPollQueue(SqliteQueue):
    """The embedded queue, but its first ``empty`` receives return nothing whatever waits (all
    of them, with ``empty=None``), as SQS short polls may; it counts its receives."""

    def __init__(self, path: Path, clock: Clock, visibility: timedelta, empty: int | None) -> None:
        super().__init__(path, clock=clock, visibility_timeout=visibility)
        self.empty, self.receives = empty, 0

    def receive(self, max_messages: int = 10) -> list[Message]:
        self.receives += 1
        if self.empty is None or self.receives <= self.empty:
            return []
        return super().receive(max_messages)


def _short_polled(make_app, tmp_path, table_source, usd, empty: int | None):
    app = make_app(table_source())
    sent = orchestrate(app, series=[usd], since=date(2022, 1, 3)).messages_sent
    assert sent >= 1
    assert app.queue.depth().visible == sent
    queue = ShortPollQueue(tmp_path / "store.sqlite.queue", app.clock, timedelta(seconds=30), empty)
    return replace(app, queue=queue), queue, sent


def test_an_empty_receive_while_messages_are_visible_is_not_the_end(
    make_app, tmp_path, table_source, usd
) -> None:
    app, queue, sent = _short_polled(make_app, tmp_path, table_source, usd, empty=2)
    try:
        report = work_queue(app, sleep=lambda _: None)
        assert report.source_requests == sent
        assert queue.depth().visible == queue.depth().in_flight == 0
    finally:
        queue.close()


def test_receives_that_stay_empty_end_the_run_after_a_few(
    make_app, tmp_path, table_source, usd
) -> None:
    app, queue, sent = _short_polled(make_app, tmp_path, table_source, usd, empty=None)
    try:
        report = work_queue(app, sleep=lambda _: None)
        assert report.source_requests == 0
        assert queue.receives == EMPTY_RECEIVES_WHILE_VISIBLE + 1
        assert queue.depth().visible == sent  # left for the next run
    finally:
        queue.close()
