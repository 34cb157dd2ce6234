"""The embedded home's store (SQLite): a PENDING date's poll waits for the one in flight."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.support.window_polls import (
    FAILED_AT,
    FRIDAY,
    USD,
    assert_polls_wait_for_the_one_in_flight,
    seed_a_failed_friday,
)

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.due import due_status, poll_pending, poll_pending_in_window

IN_FLIGHT = timedelta(minutes=20)


def test_a_window_poll_skips_a_pending_date_while_its_last_message_is_in_flight(
    tmp_path: Path,
) -> None:
    clock = ManualClock(FAILED_AT)
    app = StageContext(
        catalog=DEFAULT_CATALOG.select([USD]),
        store=SqliteStore(tmp_path / "s.sqlite", clock),
        queue=SqliteQueue(tmp_path / "q.sqlite", clock, IN_FLIGHT),
        sources={},
        clock=clock,
        policy=RetryPolicy(),
        poll_in_flight_s=IN_FLIGHT.total_seconds(),
    )
    seed_a_failed_friday(app.store, clock)

    def poll() -> int:
        due = [d for d in due_status(app.store, list(app.catalog), clock.now()) if d.is_due]
        return poll_pending(app, due)

    try:
        assert_polls_wait_for_the_one_in_flight(app.store, clock, poll, IN_FLIGHT)
        # the backstop's poll of the dates inside their window reads the same marks
        assert poll_pending_in_window(app, list(app.catalog), clock.now()) == 0
        sent = [DownloadRequest.from_body(m.body) for m in app.queue.receive(10)]
        assert [(r.partition_key, r.dates_to_download) for r in sent] == [(USD, [FRIDAY])] * 3
    finally:
        app.close()
