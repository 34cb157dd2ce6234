"""A rerun after an interrupted `fuelpipe run` asks the sources only for what is still missing.

The interrupted run leaves its unworked messages in the queue; the rerun works them before its
gap scan, so the scan finds their dates stored and sends nothing for them again (before, it
found the same gaps and sent them a second time: about twice the requests of one run). The
real SQLite store and queue, the PTAX adapter asking the replay server on 127.0.0.1, whose
request count is what the sources were asked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.failpoints import Failpoints
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings, queue_file
from fuelpipe.ports.queue import QueueDepth
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.scrape import handle_message

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2022, 5, 7, 23, 59, tzinfo=SP)  # the demo's clock, inside the replay snapshot
SINCE = None  # from the catalog start, 2000: about a dozen streams per currency
SERIES = [DEFAULT_CATALOG[k] for k in ("CURRENCY#USD", "CURRENCY#EUR")]


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(quiet=True) as server:
        yield server


def _app(replay: ReplayServer, db: Path, **settings: float) -> StageContext:
    config = Settings(db=db, source_bcb_url=replay.source_urls()["bcb"], **settings)
    return build_context(config, clock=ManualClock(NOW))


class _HeldUntilWaitedFor(SqliteQueue):
    """The embedded queue with its visibility timeout on a clock of its own, which passes the
    timeout once ``waited_for`` and a drain waits for a held message (none visible, one in
    flight), as real time would: on the system clock a loaded host let the hold lapse while
    the test still handled the message (2 s), before it checked the message was held."""

    def __init__(self, path: Path) -> None:
        self.moved = ManualClock(NOW)
        super().__init__(path, self.moved, timedelta(minutes=1))
        self.waited_for = False

    def depth(self) -> QueueDepth:
        depth = super().depth()
        if self.waited_for and depth.visible == 0 and depth.in_flight:
            self.moved.advance(self.visibility_timeout + timedelta(seconds=1))
        return depth


def _interrupt(_signum: object) -> None:
    raise KeyboardInterrupt  # Ctrl+C, or the SIGTERM the CLI turns into it


def _stored(app: StageContext) -> dict[str, Counter[date]]:
    """Each key's stored dates, with how many records each has (1 when none is duplicated)."""
    return {s.key: Counter(r.date for r in app.store.query(s.key)) for s in SERIES}


def _single_run(replay: ReplayServer, db: Path) -> tuple[int, dict[str, Counter[date]]]:
    app = _app(replay, db)
    try:
        before = replay.request_counts["bcb"]
        report = run_cycle(app, series=SERIES, since=SINCE, outlook=False)
        assert report.orchestrate.messages_sent > 6  # enough streams to stop part-way through
        return replay.request_counts["bcb"] - before, _stored(app)
    finally:
        app.close()


def test_a_rerun_after_an_interrupted_run_asks_only_for_what_is_still_missing(
    replay: ReplayServer, tmp_path: Path
) -> None:
    once, reference = _single_run(replay, tmp_path / "once.sqlite")
    assert all(reference.values())

    app = _app(replay, tmp_path / "x.sqlite")
    try:
        start = replay.request_counts["bcb"]
        app.failpoints = Failpoints("drain.after_delete:3", kill=_interrupt)
        with pytest.raises(KeyboardInterrupt):
            run_cycle(app, series=SERIES, since=SINCE, outlook=False)
        left = app.queue.depth()
        assert left.visible > 3 and left.in_flight == 0  # given back, waiting for the rerun
        app.failpoints = Failpoints()
        shown: list[tuple[str, int, int]] = []
        rerun = run_cycle(
            app,
            series=SERIES,
            since=SINCE,
            outlook=False,
            progress=lambda *p: shown.append(p),
        )
        asked = replay.request_counts["bcb"] - start
        stored = _stored(app)
    finally:
        app.close()

    # the queued streams are a phase of their own, before the scan (which then sends none)
    phases = [phase for phase, _done, _total in shown]
    assert phases == sorted(phases, key=["resume", "orchestrate"].index)
    assert [p for p in shown if p[0] == "resume"][-1] == ("resume", left.visible, left.visible)
    # Before: the rerun's scan sent every queued stream again, asking about twice as much.
    assert asked == once
    assert rerun.orchestrate.messages_sent == 0
    assert stored == reference
    assert all(n == 1 for dates in stored.values() for n in dates.values())


def test_a_rerun_after_a_crash_waits_for_the_held_message_and_asks_for_it_once_more(
    replay: ReplayServer, tmp_path: Path
) -> None:
    """A run killed outright (kill -9) after fetching a message, before deleting it, gives
    nothing back: the message comes back after the visibility timeout (as on AWS; here its
    holder is this live process: a killed one's the embedded queue takes back at once,
    tests/reliability/test_queue_reclaim.py) and the rerun asks for it again (at-least-once),
    nothing more."""
    once, reference = _single_run(replay, tmp_path / "once.sqlite")

    app = _app(replay, tmp_path / "x.sqlite")
    app.queue.close()  # the home's, on the system clock
    app.queue = queue = _HeldUntilWaitedFor(queue_file(tmp_path / "x.sqlite"))
    try:
        start = replay.request_counts["bcb"]
        app.failpoints = Failpoints("drain.after_delete:3", kill=_interrupt)
        with pytest.raises(KeyboardInterrupt):
            run_cycle(app, series=SERIES, since=SINCE, outlook=False)
        app.failpoints = Failpoints()
        [held] = app.queue.receive(1)  # the "killed" run's message: never deleted nor given back
        fetched = replay.request_counts["bcb"]
        handle_message(app, held)
        held_asked = replay.request_counts["bcb"] - fetched
        assert app.queue.depth().in_flight == 1
        queue.waited_for = True
        rerun = run_cycle(app, series=SERIES, since=SINCE, outlook=False)
        asked = replay.request_counts["bcb"] - start
        stored = _stored(app)
    finally:
        app.close()

    assert queue.moved.now() > NOW  # its timeout passed while the rerun's drain waited for it
    assert held_asked >= 1
    assert asked == once + held_asked  # the held message alone was asked for twice
    assert rerun.orchestrate.messages_sent == 0
    assert stored == reference


def test_the_run_log_of_a_rerun_counts_the_queued_streams_it_worked(
    replay: ReplayServer, tmp_path: Path
) -> None:
    """A cycle drains up to three times (the queued streams, the scan's, the recheck's), each
    at the same instant on a fixed clock (--now, a demo store's): the run log keeps one scraper
    entry for the cycle with all its drains' counts. Before, each drain's entry had the same
    start and replaced the one before, so the rerun's log said it stored nothing and asked
    no source, after it had worked every stream the interrupted run left. The interrupted
    run's own entry, of the same start, is kept beside it: before entries had their own id,
    the rerun's replaced it."""
    app = _app(replay, tmp_path / "x.sqlite")
    try:
        app.failpoints = Failpoints("drain.after_delete:3", kill=_interrupt)
        with pytest.raises(KeyboardInterrupt):
            run_cycle(app, series=SERIES, since=SINCE, outlook=False)
        [stopped] = app.store.stage_runs("scraper", NOW, 10)
        app.failpoints = Failpoints()
        rerun = run_cycle(app, series=SERIES, since=SINCE, outlook=False)
        logged = [r for r in app.store.stage_runs("scraper", NOW, 10) if r.started_at == NOW]
    finally:
        app.close()

    assert rerun.scrape.records_written > 0 and rerun.orchestrate.messages_sent == 0
    assert stopped.counts["source_requests"] > 0  # what the interrupted run did
    assert len(logged) == 2
    [log] = [r for r in logged if r.run_id != stopped.run_id]
    assert log.counts == rerun.scrape.as_dict()
    assert [r for r in logged if r.run_id == stopped.run_id] == [stopped]
