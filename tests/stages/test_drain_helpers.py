"""drain() with helpers (the stage side of `fuelpipe run --workers`): a helper double works
the same SQLite store and queue from a thread, through its own stage context."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from tests.stages.conftest import NOW, START

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.models import Status
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import drain, work_queue
from fuelpipe.stages.orchestrate import orchestrate
from fuelpipe.stages.scrape import ScrapeReport, handle_message


class ThreadHelper:
    """One more scraper on the same files, in a thread: records when it was started."""

    def __init__(self, app: StageContext) -> None:
        self.app, self.started, self.finished = app, 0, 0
        self._report = ScrapeReport()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.started += 1

        def run() -> None:
            self._report = work_queue(self.app, batch_size=1, wait_in_flight=False)

        self._thread = threading.Thread(target=run)
        self._thread.start()

    def finish(self) -> ScrapeReport:
        self.finished += 1
        assert self._thread is not None
        self._thread.join()
        return self._report


def _pair(make_app, tmp_path, source):
    app = make_app(source)
    clock = ManualClock(NOW)
    twin = StageContext(
        catalog=app.catalog,
        store=SqliteStore(tmp_path / "store.sqlite"),
        queue=SqliteQueue(
            tmp_path / "store.sqlite.queue", clock=clock, visibility_timeout=timedelta(seconds=30)
        ),
        sources={source.name: source},
        clock=clock,
        policy=app.policy,
    )
    return app, twin


def test_drain_adds_the_helpers_counts_and_logs_one_run(make_app, tmp_path, table_source, usd):
    app, twin = _pair(make_app, tmp_path, table_source())
    try:
        # values only in 2022's first quarter: the years before are streams the source answers
        # with nothing (PENDING), which is enough to give a helper work
        sent = orchestrate(app, series=[usd], since=date(2019, 1, 2)).messages_sent
        assert sent >= 2
        helper = ThreadHelper(twin)
        report = drain(app, helpers=helper)
        assert (helper.started, helper.finished) == (1, 1)
        stored = app.store.query("CURRENCY#USD")
        assert report.records_written == sum(r.status is Status.OK for r in stored) > 0
        assert report.pending_written == sum(r.status is Status.PENDING for r in stored) > 0
        assert report.source_requests == sent  # theirs and ours: every stream once
        (run,) = [r for r in app.store.last_runs() if r.stage == "scraper"]
        assert run.counts == report.as_dict()
        assert app.queue.depth().visible == app.queue.depth().in_flight == 0
    finally:
        twin.store.close()
        twin.queue.close()


def test_drain_starts_no_helper_for_one_message(make_app, tmp_path, table_source, usd):
    app, twin = _pair(make_app, tmp_path, table_source())
    try:
        assert orchestrate(app, series=[usd], since=START).messages_sent == 1
        helper = ThreadHelper(twin)
        assert drain(app, helpers=helper).records_written > 0
        assert (helper.started, helper.finished) == (0, 0)
    finally:
        twin.store.close()
        twin.queue.close()


class _StartInterrupted(ThreadHelper):
    """SIGTERM reaches the run while its helpers are being started (spawning processes takes
    a while): some are running when the interruption is raised."""

    def __init__(self, app: StageContext) -> None:
        super().__init__(app)
        self.stopped = 0

    def start(self) -> None:
        self.started += 1
        raise KeyboardInterrupt

    def stop(self) -> None:
        self.stopped += 1


def test_a_signal_while_the_helpers_start_stops_them(make_app, tmp_path, table_source, usd):
    """Unstopped, helpers already started would drain the whole queue, and the run's exit
    would wait for them (the pool's processes are joined at exit)."""
    app, twin = _pair(make_app, tmp_path, table_source())
    try:
        assert orchestrate(app, series=[usd], since=date(2019, 1, 2)).messages_sent >= 2
        helper = _StartInterrupted(twin)
        with pytest.raises(KeyboardInterrupt):
            drain(app, helpers=helper)
        assert (helper.started, helper.stopped, helper.finished) == (1, 1, 0)
    finally:
        twin.store.close()
        twin.queue.close()


class _HoldingHelper(ThreadHelper):
    """Takes one message as it starts and finishes it only when let (``release``), after
    this process has worked every other one and waits for it."""

    def start(self) -> None:
        self.started += 1
        [held] = self.app.queue.receive(1)

        def run() -> None:
            self.release.wait()
            self._report = work_queue(self.app, batch_size=1, wait_in_flight=False)
            self._report.add(handle_message(self.app, held))
            self.app.queue.delete([held.receipt])

        self.release = threading.Event()
        self._thread = threading.Thread(target=run)
        self._thread.start()


def test_the_drains_last_progress_counts_the_helpers_last_message(
    make_app, tmp_path, table_source, usd
):
    """With helpers the progress counts messages gone from the queue; its last report came
    after this process's last message, while a helper still held one, so a finished run
    showed one short (``downloading streams: 119/120``)."""
    app, twin = _pair(make_app, tmp_path, table_source())
    try:
        sent = orchestrate(app, series=[usd], since=date(2014, 1, 2)).messages_sent
        assert sent >= 3
        helper = _HoldingHelper(twin)
        shown: list[tuple[str, int, int]] = []

        def waiting(_seconds: float) -> None:  # this process waits for the held message
            helper.release.set()
            assert helper._thread is not None
            helper._thread.join()

        drain(app, helpers=helper, progress=lambda *p: shown.append(p), sleep=waiting)
        assert helper.release.is_set()
        assert shown[-1] == ("scrape", sent, sent)
    finally:
        twin.store.close()
        twin.queue.close()
