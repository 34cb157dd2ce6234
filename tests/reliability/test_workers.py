"""`fuelpipe run --workers N`: N - 1 scraper processes drain the queue beside the run's own
(homes/embedded.py ProcessHelpers) on one SQLite store and queue, against the replay. The store
ends equal to a one-process run's, every record once; the helpers' requests are counted."""

from __future__ import annotations

from pathlib import Path

from devtools.chaos.harness import START, export_rows, pipeline_settings
from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.homes.embedded import ProcessHelpers, build_context, merge_stats
from fuelpipe.replay import ReplayServer
from fuelpipe.stages.cycle import run_cycle


def _cycle(replay: ReplayServer, db: Path, helpers: int) -> tuple:
    settings = pipeline_settings(replay, db, http_timeout_s=30)  # no timeouts on a busy machine
    clock = FixedClock(START)
    app = build_context(settings, clock=clock)
    beside = ProcessHelpers(settings, helpers, clock) if helpers else None
    try:
        report = run_cycle(app, outlook=False, helpers=beside)
        records, repeated = export_rows(app, [s.key for s in app.catalog])
        stats = {n: st for n, s in app.sources.items() if (st := s.stats()) is not None}
        runs = [r for r in app.store.last_runs() if r.stage == "scraper"]
    finally:
        app.close()
    if beside is not None:
        for name, theirs in beside.stats.items():
            stats[name] = merge_stats(stats.get(name), theirs)
    return report, records, repeated, stats, runs, beside


def test_two_helper_processes_store_what_one_process_stores(tmp_path: Path) -> None:
    with ReplayServer(quiet=True) as replay:
        alone, alone_records, _, alone_stats, _, _ = _cycle(replay, tmp_path / "one.sqlite", 0)
        report, records, repeated, stats, runs, helpers = _cycle(
            replay, tmp_path / "three.sqlite", 2
        )

    def rows(found: dict) -> dict:
        return {slot: (r.value, r.status, r.retry_count, r.attrs) for slot, r in found.items()}

    assert alone.scrape.records_written > 5_000  # the whole catalog over the snapshot window
    assert rows(records) == rows(alone_records)
    assert repeated == 0
    assert report.scrape.as_dict() == alone.scrape.as_dict()
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
