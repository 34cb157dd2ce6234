"""`fuelpipe run --workers N`: N - 1 scraper processes drain the queue beside the run's own
(homes/embedded.py ProcessHelpers) on one SQLite store and queue, against the replay. The store
ends equal to a one-process run's, every record once; the helpers' requests are counted."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from devtools.chaos.harness import START, export_rows, pipeline_settings
from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sources._http import BREAKER_THRESHOLD, HttpSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes.embedded import ProcessHelpers, build_context, merge_stats
from fuelpipe.homes.settings import Settings
from fuelpipe.homes.sources import SOURCE_NAMES, build_sources
from fuelpipe.ports.source import (
    FetchRequest,
    FetchResult,
    RateLimited,
    Source,
    SourceUnreachable,
)
from fuelpipe.replay import FaultPlan, ReplayServer
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.orchestrate import orchestrate

SERIES = DEFAULT_CATALOG.select(["CURRENCY#USD", "STOCK", "COMMODITY", "FUEL#GASOLINE#"])
"""The snapshot window's series of every source: 14 messages, each fetch unit's own."""
KEYS = [s.key for s in SERIES]


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(quiet=True) as server:
        yield server


@pytest.fixture(scope="module")
def alone(replay: ReplayServer, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The same cycle in one process: what every run with helpers must store."""
    return _cycle(replay, tmp_path_factory.mktemp("alone") / "one.sqlite", 0)


def _rows(found: dict) -> dict:
    return {slot: (r.value, r.status, r.retry_count, r.attrs) for slot, r in found.items()}


def _cycle(replay: ReplayServer, db: Path, helpers: int) -> tuple:
    settings = pipeline_settings(replay, db, http_timeout_s=30)  # no timeouts on a busy machine
    clock = FixedClock(START)
    app = build_context(settings, clock=clock)
    beside = ProcessHelpers(settings, helpers, clock) if helpers else None
    try:
        report = run_cycle(app, series=SERIES, outlook=False, helpers=beside)
        records, repeated = export_rows(app, KEYS)
        stats = {n: st for n, s in app.sources.items() if (st := s.stats()) is not None}
        runs = [r for r in app.store.last_runs() if r.stage == "scraper"]
    finally:
        app.close()
    if beside is not None:
        for name, theirs in beside.stats.items():
            stats[name] = merge_stats(stats.get(name), theirs)
    return report, records, repeated, stats, runs, beside


def test_two_helper_processes_store_what_one_process_stores(
    replay: ReplayServer, alone: tuple, tmp_path: Path
) -> None:
    first, alone_records, _, alone_stats, _, _ = alone
    report, records, repeated, stats, runs, helpers = _cycle(replay, tmp_path / "3.sqlite", 2)
    assert first.scrape.records_written > 2_000  # every source over the snapshot window
    assert _rows(records) == _rows(alone_records)
    assert repeated == 0
    assert report.scrape.as_dict() == first.scrape.as_dict()
    # the run's and its helpers' answered requests together: as many as one process makes
    assert {n: s.requests - s.failures for n, s in stats.items() if s.requests} == {
        n: s.requests - s.failures for n, s in alone_stats.items() if s.requests
    }
    assert helpers is not None and len(helpers.peaks_kib) == 2 and min(helpers.peaks_kib) > 0
    # one run log for the drain, with everyone's counts
    assert runs and runs[0].counts["records_written"] == report.scrape.records_written


def test_workers_is_refused_on_the_aws_home(tmp_path: Path) -> None:
    env = {"FUELPIPE_BACKEND": "aws", "FUELPIPE_DB": str(tmp_path / "unused.sqlite")}
    done = fuelpipe("run", "--workers", "2", env=env, check=False)
    assert done.returncode == 2
    assert "--workers is for the embedded home" in done.stderr


HANG_GUARD_S = 120
"""How long the run's own process waits for a helper to ask a source before it asks anyway
(and the test then fails): far past a helper's start on a loaded host."""


class _AfterAHelper(Source):
    """A real source whose first fetch waits until a helper process asked a source (it then
    writes and dies at its failpoint): the run's own process cannot work every message before
    a helper starts, however slowly spawned processes start on a loaded host. A fixed wait
    before each fetch (0.6 s) raced their start: every message against a spawn and imports,
    which take seconds at load ~15."""

    def __init__(self, inner: Source, helper_asked: Callable[[], bool]) -> None:
        self.inner, self.helper_asked, self.name = inner, helper_asked, inner.name
        self.waited = False

    def fetch(self, request: FetchRequest) -> FetchResult:
        deadline = time.monotonic() + HANG_GUARD_S
        while not (self.waited or self.helper_asked()) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a state, not waiting out a time
        self.waited = True
        return self.inner.fetch(request)

    def close(self) -> None:
        self.inner.close()


def test_a_helper_killed_mid_message_loses_nothing(
    replay: ReplayServer, alone: tuple, tmp_path: Path
) -> None:
    """A helper killed (SIGKILL) after its first write: the pool stops the others, their
    messages come back (the killed one's at once: its process is gone; the others' given
    back), the run's own process stores them, and
    the run then says a scraper process failed. The store equals a one-process run's."""
    settings = pipeline_settings(
        replay, tmp_path / "killed.sqlite", http_timeout_s=30, visibility_timeout_s=2
    )
    clock = FixedClock(START)
    asked_before = sum(replay.request_counts.values())

    def helper_asked() -> bool:  # the replay's requests: this process makes none before
        return sum(replay.request_counts.values()) > asked_before

    sources = {n: _AfterAHelper(s, helper_asked) for n, s in build_sources(settings).items()}
    app = build_context(settings, clock=clock, sources=sources)
    dying = settings.model_copy(update={"failpoints": "scrape.after_write:1"})
    try:
        with pytest.raises(RuntimeError, match="a scraper process failed"):
            run_cycle(app, series=SERIES, outlook=False, helpers=ProcessHelpers(dying, 2, clock))
        assert app.queue.depth().visible == app.queue.depth().in_flight == 0
        records, repeated = export_rows(app, KEYS)
    finally:
        app.close()
    assert _rows(records) == _rows(alone[1])
    assert repeated == 0


def test_run_with_workers_counts_every_process_requests(replay: ReplayServer, tmp_path: Path):
    """`fuelpipe run --workers 3 --json`: the summary's per-source requests are the run's and
    its helpers' together, as many answered requests as one process makes."""
    out = {}
    for workers in ("1", "3"):
        env = {
            **replay.env(),
            "FUELPIPE_DB": str(tmp_path / f"{workers}.sqlite"),
            "FUELPIPE_YAHOO_MIN_INTERVAL_S": "0",
        }
        args = ["--now", "2022-05-07T23:59", "run", "--since", "2021-05-19"]
        for key in ("CURRENCY#USD", "STOCK", "COMMODITY"):
            args += ["--series", key]
        done = fuelpipe(*args, "--workers", workers, "--json", env=env)
        out[workers] = json.loads(done.stdout)
    assert out["3"]["scrape"] == out["1"]["scrape"]
    assert out["1"]["scrape"]["records_written"] > 2_000

    def answered(summary: dict) -> dict:
        return {n: s["requests"] - s["failures"] for n, s in summary["sources"].items()}

    assert answered(out["3"]) == answered(out["1"]) == {"bcb": 1, "yahoo": 9, "fred": 1}


def test_a_helper_stopped_after_deleting_a_message_it_stored_leaves_the_version_owed(
    replay: ReplayServer, tmp_path: Path
) -> None:
    """A `--workers` helper process killed right after deleting a message whose records it
    stored leaves nothing to redeliver: like the main process's drain, it sets the
    ``data_unmarked`` flag before that delete, so the next run writes the version it owes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from fuelpipe.homes.embedded import _help_drain
    from fuelpipe.stages.data_version import INITIAL, data_version, unmarked
    from fuelpipe.stages.orchestrate import orchestrate

    db = tmp_path / "helper.sqlite"
    settings = pipeline_settings(replay, db, http_timeout_s=30)
    app = build_context(settings, clock=FixedClock(START))
    try:
        orchestrate(app, series=SERIES[:1])
        assert not unmarked(app.store)
    finally:
        app.close()
    stopping = settings.model_copy(update={"failpoints": "drain.after_delete:1:SIGINT"})
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        counts, _, _ = pool.submit(_help_drain, stopping).result(timeout=300)
    app = build_context(settings, clock=FixedClock(START))
    try:
        assert counts["records_written"] == 0  # stopped: an interrupted helper logs no counts
        assert app.store.query(SERIES[0].key)  # yet it stored and deleted its first message
        assert unmarked(app.store) and data_version(app.store) == INITIAL
    finally:
        app.close()


def test_a_helper_whose_parent_died_exits_once_its_drain_gave_back() -> None:
    """A helper's watch on its parent (kill -9 of `run --workers`): once the parent is gone it
    marks the helper gone (so a drain not begun takes nothing), interrupts the drain under way
    and exits only once that drain has given back what it held and ended."""
    import threading

    from fuelpipe.homes.embedded import _ParentWatch

    parent_dies, interrupted = threading.Event(), threading.Event()
    seen_gone: list[bool] = []
    exits: list[int] = []
    draining = threading.Lock()

    def interrupt() -> None:
        seen_gone.append(watch.gone.is_set())
        interrupted.set()

    watch = _ParentWatch(parent_dies.wait, interrupt, exits.append, draining)
    with draining:  # a drain under way
        thread = threading.Thread(target=watch.run, daemon=True)
        thread.start()
        assert not watch.gone.is_set()
        parent_dies.set()
        assert interrupted.wait(60)
        assert seen_gone == [True]
        assert exits == []  # not while the drain is giving its message back
    thread.join(60)
    assert exits == [0]


PTAX = DEFAULT_CATALOG.select(["CURRENCY#USD"])
PTAX_SINCE = date(2021, 5, 19)
"""Two and a half years of PTAX to 2023-12-01 (the replay's from 2021-05-19): three messages
on the clock below, each a PTAX request."""
PTAX_NOW = FixedClock(datetime(2025, 6, 2, 17, tzinfo=UTC))


def _queued_ptax(replay: ReplayServer, db: Path, helpers: int, **kwargs: Any) -> tuple:
    """Settings on the replay, ``helpers`` helper processes, the run's own context keeping
    their rests (as `run --workers` does) and the PTAX gaps queued for the helpers alone to
    drain."""
    settings = pipeline_settings(replay, db, http_timeout_s=30)
    beside = ProcessHelpers(settings, helpers, PTAX_NOW, **kwargs)
    app = build_context(settings, clock=PTAX_NOW, rests=beside.rests)
    sent = orchestrate(app, series=PTAX, since=PTAX_SINCE)
    assert sent.messages_sent == 3
    return app, beside, sent.gaps_found


def test_a_rest_the_run_heard_holds_its_helpers_too(tmp_path: Path) -> None:
    """A Retry-After the run's own process heard (in an earlier drain of the run: a 429 asking
    for ten minutes) rests the source for the helper processes it starts next: they send it no
    request, and hold its dates PENDING, none lost. Before, each helper kept its own rests,
    empty when it started, so each asked the resting source again (one request a process)."""
    with ReplayServer(quiet=True) as replay:
        app, helpers, gaps = _queued_ptax(replay, tmp_path / "r.sqlite", 2)
        try:
            assert app.rests is not None
            app.rests.note("bcb", RateLimited("HTTP 429", retry_after=600))
            helpers.start()  # they alone drain the three messages
            done = helpers.finish()
        finally:
            app.close()
        assert replay.request_counts.get("bcb", 0) == 0
    assert done.rest_held == gaps
    assert done.pending_written == gaps
    assert helpers.stats["bcb"].requests == 0
    assert tuple(helpers.stats) == SOURCE_NAMES  # every source has a place in the shared ends


def test_a_rest_a_helper_heard_is_the_run_s_and_told_only_while_it_lasts(tmp_path: Path) -> None:
    """A 429 asking for ten minutes that a helper heard: the run's own process reads the rest
    (the helpers' ``rests``, which its context keeps), so it would not ask the source either,
    and at the run's end it is told only if it still runs. Before, the helpers' rests were
    the ends each helper reported as it finished, told as current however long the run went
    on after them."""
    faults = FaultPlan.parse("bcb:429=1,retry_after=600")
    later = [0.0]  # seconds the run's own process reads its monotonic clock ahead
    with ReplayServer(quiet=True, faults=faults) as replay:
        app, helpers, _ = _queued_ptax(
            replay, tmp_path / "r.sqlite", 1, monotonic=lambda: time.monotonic() + later[0]
        )
        try:
            helpers.start()
            done = helpers.finish()
            assert replay.request_counts.get("bcb", 0) == 1  # one helper: the one request
            now = PTAX_NOW.now()
            assert app.rests is not None and app.rests.until("bcb", now) is not None
            assert set(app.rests.resting(now)) == {"bcb"}
            later[0] = 601  # the run ends after the rest did
            assert app.rests.resting(now) == {}
        finally:
            app.close()
    assert done.rest_held > 0


def _refusing_bcb(tmp_path: Path, bound: socket.socket) -> Settings:
    """Settings whose bcb is ``bound`` (bound here, never listening: every connection is
    refused). Two attempts a request, no backoff."""
    bound.bind(("127.0.0.1", 0))
    return Settings(
        db=tmp_path / "refused.sqlite",
        source_bcb_url=f"http://127.0.0.1:{bound.getsockname()[1]}",
        http_attempts=2,
        http_backoff_s=0,
    )


def test_a_breaker_the_run_opened_holds_its_helpers_too(tmp_path: Path) -> None:
    """The run's own process (its sources sharing the helpers' breakers, as `run --workers`
    makes them) could not connect to bcb 3 times: the helper processes it starts next send
    bcb nothing, each of their requests refused in the words the run's process heard. Before,
    each helper's breaker started closed and counted its own: the three messages' requests
    were sent."""
    with socket.socket() as bound:
        settings = _refusing_bcb(tmp_path, bound)
        helpers = ProcessHelpers(settings, 2, PTAX_NOW)
        app = build_context(settings, clock=PTAX_NOW, rests=helpers.rests)
        try:
            helpers.share_breakers(app.sources)
            sent = orchestrate(app, series=PTAX, since=PTAX_SINCE)
            bcb = app.sources["bcb"]
            assert isinstance(bcb, HttpSource)
            for _ in range(BREAKER_THRESHOLD):
                with pytest.raises(SourceUnreachable, match="connection refused"):
                    bcb.get(f"{bcb.base_url}/anything")
            helpers.start()  # they alone drain the three messages
            helpers.finish()
        finally:
            app.close()
    theirs = helpers.stats["bcb"]
    assert theirs.requests == 0
    assert theirs.not_sent == sent.messages_sent == 3
    assert theirs.refusal is not None
    assert theirs.refusal.startswith(
        "the last 3 requests could not connect (connection refused); trying again after"
    )


def test_helpers_share_their_sources_breaker(tmp_path: Path) -> None:
    """Two helper processes alone drain twenty years of PTAX (11 messages) from a bcb that
    refuses every connection: their breakers open together, after 3 requests of 2 attempts
    (4 when the other had one under way as it opened, and one half-open attempt should the
    drain outlast the 30 s cool-off), the rest refused unsent. Before, each helper's breaker
    opened on its own 3: 6 requests, 12 attempts."""
    with socket.socket() as bound:
        settings = _refusing_bcb(tmp_path, bound)
        helpers = ProcessHelpers(settings, 2, PTAX_NOW)
        app = build_context(settings, clock=PTAX_NOW, rests=helpers.rests)
        try:
            sent = orchestrate(app, series=PTAX, since=date(2005, 1, 1))
            assert sent.messages_sent > 2 * BREAKER_THRESHOLD  # enough for both to open theirs
            helpers.start()
            helpers.finish()
        finally:
            app.close()
    bcb = helpers.stats["bcb"]
    assert bcb.requests == bcb.failures
    assert 2 * BREAKER_THRESHOLD <= bcb.requests <= 2 * (BREAKER_THRESHOLD + 1) + 1
    assert bcb.not_sent >= sent.messages_sent - BREAKER_THRESHOLD - 1
    assert bcb.refusal is not None
    assert re.match(r"the last [34] requests could not connect \(connection refused\)", bcb.refusal)
