"""Source requests against the minimum possible, and the demo's end-to-end time."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from bench._common import BenchRow
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.calendars import SAO_PAULO
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.gaps import minimum_requests
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.replay import ReplayServer
from fuelpipe.stages.cycle import run_cycle


def _backfill(replay: ReplayServer, since: date, now: datetime, keys: list[str]) -> dict[str, int]:
    before = dict(replay.request_counts)
    with tempfile.TemporaryDirectory() as tmp:
        urls = {f"source_{k}_url": v for k, v in replay.source_urls().items()}
        cfg = Settings(db=Path(tmp) / "bench.sqlite", **urls)
        app = build_context(cfg, clock=FixedClock(now))
        try:
            run_cycle(app, series=DEFAULT_CATALOG.select(keys), since=since)
        finally:
            app.close()
    after = replay.request_counts
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def run() -> Iterator[BenchRow]:
    """Requests per full backfill vs ceil(range / max range per request); demo wall time."""
    now = datetime(2022, 5, 7, 23, 59, tzinfo=SAO_PAULO)
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    with ReplayServer(quiet=True) as replay:
        # A 20-year USD backfill: the snapshot only has real values for 2021-22, but the number
        # of requests depends on the range alone (the rest come back empty and stay PENDING).
        since = date(2002, 5, 8)
        got = _backfill(replay, since, now, ["CURRENCY#USD"])["bcb"]
        minimum = minimum_requests(since, date(2022, 5, 6), usd.max_range_days)
        yield BenchRow(
            "pipeline",
            "USD 20-year backfill: requests / minimum",
            got / minimum,
            f"ratio ({got}/{minimum})",
            "1.0",
            got == minimum,
        )
        # The whole snapshot window, every source.
        window = date(2021, 5, 19)
        keys = [s.key for s in DEFAULT_CATALOG]
        counts = _backfill(replay, window, now, keys)
    per_source_min = {
        "bcb": len([s for s in DEFAULT_CATALOG if s.source == "bcb"]),
        "yahoo": len([s for s in DEFAULT_CATALOG if s.source == "yahoo"]),
        "fred": 1,
        "anp": len({s.fetch_unit for s in DEFAULT_CATALOG if s.source == "anp"}),
    }
    for source, minimum in per_source_min.items():
        got = counts.get(source, 0)
        yield BenchRow(
            "pipeline",
            f"window backfill, every {source} series: requests / minimum",
            got / minimum,
            f"ratio ({got}/{minimum})",
            "1.0",
            got == minimum,
        )
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "FUELPIPE_DB": str(Path(tmp) / "demo.sqlite")}
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fuelpipe.cli", "demo", "--no-serve"],
            env=env,
            check=True,
            capture_output=True,
        )
        elapsed = time.perf_counter() - started
    yield BenchRow("pipeline", "demo end to end (fuelpipe demo --no-serve)", elapsed, "s")
