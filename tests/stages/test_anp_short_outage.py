"""An ANP outage of a few seconds over the first workbook's attempts, in one `fuelpipe run`
cycle: the real SQLite store and queue, the ANP adapter asking the replay server on
127.0.0.1 through a resolver that fails every lookup until the outage ends, on an injected
monotonic clock that moves as the adapter waits (each failed lookup stands for one attempt
and its backoff: 1 s).

ANP's breaker opens after one request that could not connect (threshold 1). Before, it then
refused every other workbook of the run for its 30 s: a 4.5 s outage left them all PENDING
(`run` exits 3). Now the next workbook waits the breaker's 5 s and is sent once: the outage
over, every workbook is asked and stored. ANP down for good, the same run sends one request
more than before (5 connection attempts in all) and asks nothing else."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sources._http import make_client
from fuelpipe.adapters.sources.anp import AnpWorkbookSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Status
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.cycle import run_cycle

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2022, 5, 7, 23, 59, tzinfo=SP)  # the demo's clock, inside the replay snapshot
SINCE = date(2022, 4, 1)
ANP = [s for s in DEFAULT_CATALOG if s.source == "anp"]


class Outage:
    """The resolver of ANP's host and the monotonic clock its adapter runs on: every lookup
    fails (as one offline does) until ``ends_at`` seconds have passed, each taking 1 s."""

    def __init__(self, ends_at: float) -> None:
        self.now = 0.0
        self.ends_at = ends_at
        self.failed = 0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self, host: str, port: int) -> Sequence[str]:
        if self.now < self.ends_at:
            self.failed += 1
            self.now += 1.0
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ["127.0.0.1"]


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(quiet=True) as server:
        yield server


def _run(replay: ReplayServer, db: Path, outage: Outage) -> tuple[AnpWorkbookSource, int, set]:
    """One cycle of every ANP series; the adapter, the workbooks the run asked for (one
    message each) and the fetch units whose dates were left PENDING by an error."""
    url = replay.source_urls()["anp"].replace("127.0.0.1", "anp.invalid")
    anp = AnpWorkbookSource(
        url,
        # a read timeout far above any answer's: at 5 s a loaded host timed out reading the
        # states workbook (380 kB, served by this process) and asked it again
        make_client(timeout_s=60, resolve=outage),
        attempts=4,
        backoff_s=0,  # each failed lookup moves the clock by an attempt and its backoff
        sleep=outage.sleep,
        monotonic=outage.monotonic,
    )
    app = build_context(Settings(db=db), clock=ManualClock(NOW), sources={"anp": anp})
    try:
        report = run_cycle(app, series=ANP, since=SINCE, outlook=False)
        failed = {
            (s.fetch_unit, "not asked" in (r.reason or ""))
            for s in ANP
            for r in app.store.query(s.key, SINCE)
            if r.status is Status.PENDING and "anp:" in (r.reason or "")
        }
    finally:
        app.close()
    return anp, report.orchestrate.messages_sent, failed


def test_a_short_anp_outage_leaves_no_workbook_of_the_run_unasked(
    replay: ReplayServer, tmp_path: Path
) -> None:
    outage = Outage(ends_at=4.5)
    anp, workbooks, failed = _run(replay, tmp_path / "r.sqlite", outage)
    assert workbooks >= 3  # the weekly Brazil, regions and states workbooks (and the monthly)
    assert outage.failed == 4  # the first workbook's attempts
    assert outage.sleeps == [5.0]  # the second waits the breaker's short cool-off, once
    assert replay.request_counts["anp"] == workbooks - 1  # then every other workbook, once
    stats = anp.stats()
    assert (stats.requests, stats.failures, stats.not_sent) == (4 + workbooks - 1, 4, 0)
    # only the first workbook's dates wait for a retry (their lookups failed); none unasked
    assert len(failed) == 1 and not any(unasked for _, unasked in failed)


def test_an_anp_down_for_good_is_tried_once_more_and_nothing_else_asked(
    replay: ReplayServer, tmp_path: Path
) -> None:
    outage = Outage(ends_at=float("inf"))
    anp, workbooks, failed = _run(replay, tmp_path / "r.sqlite", outage)
    assert outage.failed == 5  # the first workbook's 4 attempts, then the one tried
    assert outage.sleeps == [5.0]
    assert replay.request_counts.get("anp", 0) == 0
    stats = anp.stats()
    assert (stats.requests, stats.failures, stats.not_sent) == (5, 5, workbooks - 2)
    assert len({unit for unit, _ in failed}) == workbooks  # every workbook's dates PENDING
