"""Load: a backfill of the FULL catalog over twenty years on the embedded home.

The sources are the replay server in synthetic mode (devtools.synthetic: generated,
plausible values for every series on every date its calendar expects; responses are marked
``X-Fuelpipe-Synthetic: 1``), since the bundled real snapshot holds one year. The pipeline runs
in a child process so its peak memory (maxrss) is its own, not the replay server's.

The measured cycle is the backfill itself (orchestrate, fetch, parse, store, recheck); the
outlook refresh that ``fuelpipe run`` does once after it is timed apart, on its own rows.

Reported: wall time, records stored, peak memory, and source requests against the minimum
(per fetch unit: the fewest windows of ``max_range_days`` calendar days, of at most
MAX_DATES_PER_MESSAGE dates each, covering the expected dates; one per ANP workbook). The API
under 50 concurrent clients is measured by bench/bench_dashboard.py (``load 50 clients``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench._common import BenchRow
from fuelpipe.domain.calendars import SAO_PAULO, expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.gaps import clamp_start
from fuelpipe.domain.messages import MAX_DATES_PER_MESSAGE
from fuelpipe.homes.embedded import peak_kib

AREA = "load"
NOW = datetime(2025, 12, 31, 23, 0, tzinfo=SAO_PAULO)
SINCE = date(2006, 1, 1)  # twenty years before NOW
HISTORIES = (date(2021, 1, 1), SINCE)
"""Five and twenty years: how the backfill's cost grows with the history."""
PEAK_GOAL_MIB = 200
RATIO_GOAL = 0.25
"""Backfill records/s against the store's own put_records rate, measured in the same run."""
ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 1800


def fewest_requests(days: list[date], max_range_days: int) -> int:
    """The fewest windows of ``max_range_days`` calendar days, each holding at most
    MAX_DATES_PER_MESSAGE dates, that cover ``days`` (sorted): greedy, which is optimal."""
    count, window_end, in_window = 0, date.min, 0
    for day in days:
        if day > window_end or in_window == MAX_DATES_PER_MESSAGE:
            count, in_window = count + 1, 0
            window_end = day + timedelta(days=max_range_days - 1)
        in_window += 1
    return count


def minimum_source_requests(since: date = SINCE, now: datetime = NOW) -> dict[str, int]:
    """The fewest requests a backfill of every series can make, per source."""
    out: dict[str, int] = {}
    seen: set[str] = set()
    for series in DEFAULT_CATALOG:
        if series.fetch_unit in seen:
            continue  # keys of one fetch unit come back from the same requests
        seen.add(series.fetch_unit)
        start = clamp_start(series.default_start, since)
        end = series.published_through(now)  # by the schedule: FRED's Brent by its weekly batch
        if end < start:
            continue
        days = list(expected_between(get_calendar(series.calendar), start, end))
        n = 1 if series.whole_history else fewest_requests(days, series.max_range_days)
        out[series.source] = out.get(series.source, 0) + n
    return out


def child(since: date, workers: int = 1) -> None:
    """In the child process: one full cycle of the whole catalog, then print what it cost.
    ``workers`` > 1: as ``fuelpipe run --workers``, with that many scraper processes."""
    from fuelpipe.homes.embedded import ProcessHelpers, build_context
    from fuelpipe.homes.settings import Settings
    from fuelpipe.stages.cycle import run_cycle
    from fuelpipe.stages.outlook import after_cycle

    settings = Settings()
    app = build_context(settings)
    helpers = ProcessHelpers(settings, workers - 1, app.clock) if workers > 1 else None
    try:
        started = time.perf_counter()
        report = run_cycle(app, since=since, outlook=False, helpers=helpers)
        wall = time.perf_counter() - started
        backfill_peak = peak_kib()
        pending = len(app.store.pending())
        # What `fuelpipe run` does next: the outlook, once, after the queue is drained.
        started = time.perf_counter()
        outlook = after_cycle(app.store, app.catalog, app.clock.now())
        outlook_s = time.perf_counter() - started
    finally:
        app.close()
    print(
        json.dumps(
            {
                "wall_s": wall,
                "peak_kib": backfill_peak,
                "helper_peaks_kib": [] if helpers is None else helpers.peaks_kib,
                "peak_with_outlook_kib": peak_kib(),
                "outlook_s": outlook_s,
                "outlook_made": 0 if outlook is None else outlook.made,
                "pending": pending,
                **report.as_dict(),
            }
        )
    )


def own_records_child(db: str) -> None:
    """In a child process: read the backfill's records back key by key and time put_records
    writing them, STORE_BATCH at a time as the scraper does, to a fresh store; print the rate.
    The write of exactly what the pipeline stores (the yardstick's records carry no
    attributes; an ANP record carries ~190 bytes of them)."""
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.domain.models import Status
    from fuelpipe.homes.settings import Settings

    batch = Settings().store_batch
    written, spent = 0, 0.0
    with (
        SqliteStore(db, clock=FixedClock(NOW)) as source,
        TemporaryDirectory() as tmp,
        SqliteStore(Path(tmp) / "own.sqlite", clock=FixedClock(NOW)) as target,
    ):
        for series in DEFAULT_CATALOG:
            records = [
                r for r in source.query(series.key) if r.status is Status.OK and r.value is not None
            ]
            for start in range(0, len(records), batch):
                chunk = records[start : start + batch]
                started = time.perf_counter()
                written += target.put_records(chunk)
                spent += time.perf_counter() - started
    print(json.dumps({"records": written, "s": spent}))


def anp_parse_s(snapshot: Any) -> float:
    """The ANP workbooks of ``snapshot`` parsed to observations alone (no store), seconds."""
    from fuelpipe.adapters.sources.anp import FETCH_UNIT_PATHS, stream_workbook

    spent = 0.0
    for unit, path in FETCH_UNIT_PATHS.items():
        route = path.lstrip("/")
        if route not in snapshot.workbooks:
            continue
        content = snapshot.workbook_bytes(route)
        started = time.perf_counter()
        for _ in stream_workbook(content, unit, route.rsplit("/", 1)[-1], missing={}, problems=[]):
            pass
        spent += time.perf_counter() - started
    return spent


def backfill(
    since: date, workers: tuple[int, ...] = (1,)
) -> tuple[list[tuple[dict[str, Any], dict[str, int]]], float, dict[str, float]]:
    """Serve synthetic data, run the child against it once per scraper-process count, each on
    a fresh store; their reports and requests, the data's build time, and the two parts of the
    one-process cycle measured alone (``own_records_child``, ``anp_parse_s``)."""
    from devtools.synthetic import SyntheticSnapshot

    from fuelpipe.replay import ReplayServer

    built = time.perf_counter()
    snapshot = SyntheticSnapshot(since, NOW.date())
    for route in snapshot.workbooks:  # generate the workbooks before the clock starts
        snapshot.workbook_bytes(route)
    build_s = time.perf_counter() - built
    runs = []
    parts: dict[str, float] = {}
    with ReplayServer(snapshot=snapshot, quiet=True) as replay, TemporaryDirectory() as tmp:
        for count in workers:
            env = {k: v for k, v in os.environ.items() if not k.startswith("FUELPIPE_")}
            env.update(replay.env())
            env.update(
                FUELPIPE_DB=str(Path(tmp) / f"load-{count}.sqlite"),
                FUELPIPE_NOW=NOW.isoformat(),
                FUELPIPE_YAHOO_MIN_INTERVAL_S="0",
                FUELPIPE_HTTP_TIMEOUT_S="300",
            )
            before = dict(replay.request_counts)
            result = _child_json("the backfill process", ["--child", str(since), str(count)], env)
            spent = {k: n - before.get(k, 0) for k, n in replay.request_counts.items()}
            runs.append((result, spent))
            if count == 1 and not parts:
                parts = _own_write(env["FUELPIPE_DB"])
    parts["anp_parse_s"] = anp_parse_s(snapshot)
    return runs, build_s, parts


def _own_write(db: str) -> dict[str, float]:
    got = _child_json("the own-records write", ["--own-records", db], None)
    return {"own_records": float(got["records"]), "own_s": float(got["s"])}


def _child_json(what: str, args: list[str], env: dict[str, str] | None) -> dict[str, Any]:
    """Run this module with ``args`` in a fresh interpreter; the JSON of its last line."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_load", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def put_records_rate(rounds: int = 5) -> float:
    """SqliteStore.put_records on 100,000 synthetic records, the median of ``rounds`` after a
    warm-up: the store's own bulk write rate, the yardstick for the backfill's throughput."""
    from bench.bench_store import synthetic_records
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.sqlite_store import SqliteStore

    records = synthetic_records()
    rates: list[float] = []
    with TemporaryDirectory() as tmp:
        for i in range(rounds + 1):
            with SqliteStore(Path(tmp) / f"rate-{i}.sqlite", clock=FixedClock(NOW)) as store:
                started = time.perf_counter()
                written = store.put_records(records)
                if i:  # round 0 warms up
                    rates.append(written / (time.perf_counter() - started))
    return statistics.median(rates)


def run() -> list[BenchRow]:
    """Time, peak memory and requests of the full-catalog backfill at 5 and 20 years."""
    rows: list[BenchRow] = []
    for since in HISTORIES:
        rate = put_records_rate()
        rows += one_history(since, rate)
    return rows


SIDE_WORKERS = 2
"""The same backfill again with this many scraper processes (`fuelpipe run --workers`)."""


def one_history(since: date, store_rate: float) -> list[BenchRow]:
    (result, requests), side, build_s, parts = _two_runs(since)
    minimum = minimum_source_requests(since)
    spent, least = sum(requests.values()), sum(minimum.values())
    records = int(result["scrape"]["records_written"])
    wall = float(result["wall_s"])
    pending = int(result["pending"])
    peak = int(result["peak_kib"]) / 1024
    ratio = records / wall / store_rate
    outlook_s = float(result["outlook_s"])
    with_outlook = records / (wall + outlook_s) / store_rate
    peak_after = int(result["peak_with_outlook_kib"]) / 1024
    label = f"full catalog ({len(DEFAULT_CATALOG)} series), {since.year}-{NOW.year} backfill"
    return [
        BenchRow(AREA, f"{label}: wall time", wall, "s"),
        BenchRow(AREA, f"{label}: records stored", records, "records"),
        BenchRow(AREA, f"{label}: throughput", records / wall, "records/s"),
        BenchRow(AREA, f"{label}: put_records alone, same run", store_rate, "records/s"),
        BenchRow(AREA, f"{label}: throughput / put_records", ratio, "ratio",
                 f">= {RATIO_GOAL}", ratio >= RATIO_GOAL),
        BenchRow(AREA, f"{label}: peak memory (pipeline process)", peak, "MiB",
                 f"<= {PEAK_GOAL_MIB} MiB", peak <= PEAK_GOAL_MIB),
        BenchRow(AREA, f"{label}: then the outlook refresh (once, as `run` does)", outlook_s,
                 f"s ({result['outlook_made']} forecasts)"),
        BenchRow(AREA, f"{label}: throughput with the outlook refresh / put_records",
                 with_outlook, "ratio"),
        BenchRow(AREA, f"{label}: peak memory with the outlook refresh", peak_after, "MiB"),
        BenchRow(AREA, f"{label}: source requests / minimum", spent / least,
                 f"ratio ({spent}/{least})", "1.0", spent == least),
        BenchRow(AREA, f"{label}: PENDING after one cycle", pending, "records", "0",
                 pending == 0),
        BenchRow(AREA, f"{label}: synthetic data generation (replay side)", build_s, "s"),
        *_ceiling_rows(label, parts, store_rate, records),
        *_side_rows(label, side, store_rate, records, wall),
    ]  # fmt: skip


def _ceiling_rows(
    label: str, parts: dict[str, float], store_rate: float, records: int
) -> list[BenchRow]:
    """Two parts of the cycle alone, and the ratio the cycle could reach if it did nothing
    else: a ceiling set by today's ANP parser and stored record format."""
    own_rate = parts["own_records"] / parts["own_s"]
    floor_s = parts["own_s"] + parts["anp_parse_s"]
    ceiling = records / floor_s / store_rate
    return [
        BenchRow(AREA, f"{label}: put_records on the backfill's own records (read back, "
                 "written key by key to a fresh store)", own_rate, "records/s"),
        BenchRow(AREA, f"{label}: the ANP workbooks parsed alone (no store)",
                 parts["anp_parse_s"], "s"),
        BenchRow(AREA, f"{label}: ceiling if the cycle did only those two: records / their "
                 "time / put_records", ceiling, "ratio"),
    ]  # fmt: skip


def _two_runs(
    since: date,
) -> tuple[
    tuple[dict[str, Any], dict[str, int]],
    tuple[dict[str, Any], dict[str, int]],
    float,
    dict[str, float],
]:
    runs, build_s, parts = backfill(since, (1, SIDE_WORKERS))
    return runs[0], runs[1], build_s, parts


def _side_rows(
    label: str,
    side: tuple[dict[str, Any], dict[str, int]],
    store_rate: float,
    records_alone: int,
    wall_alone: float,
) -> list[BenchRow]:
    """The backfill with SIDE_WORKERS scraper processes, beside the one-process run above."""
    result, requests = side
    records = int(result["scrape"]["records_written"])
    wall = float(result["wall_s"])
    ratio = records / wall / store_rate
    peaks = [int(result["peak_kib"]), *(int(k) for k in result["helper_peaks_kib"])]
    largest, together = max(peaks) / 1024, sum(peaks) / 1024
    name = f"{label}, {SIDE_WORKERS} scraper processes (`run --workers {SIDE_WORKERS}`)"
    return [
        BenchRow(AREA, f"{name}: wall time", wall, "s"),
        BenchRow(AREA, f"{name}: records stored, as one process stores", records, "records",
                 f"= {records_alone:,}", records == records_alone),
        BenchRow(AREA, f"{name}: throughput / put_records", ratio, "ratio",
                 f">= {RATIO_GOAL}", ratio >= RATIO_GOAL),
        BenchRow(AREA, f"{name}: speed-up over one process", wall_alone / wall, "x"),
        BenchRow(AREA, f"{name}: peak memory, largest process", largest, "MiB",
                 f"<= {PEAK_GOAL_MIB} MiB", largest <= PEAK_GOAL_MIB),
        BenchRow(AREA, f"{name}: peak memory, the {len(peaks)} processes added up", together,
                 "MiB"),
        BenchRow(AREA, f"{name}: PENDING after one cycle", int(result["pending"]), "records",
                 "0", int(result["pending"]) == 0),
        BenchRow(AREA, f"{name}: source requests", sum(requests.values()), "requests"),
    ]  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(date.fromisoformat(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    elif sys.argv[1:2] == ["--own-records"]:
        own_records_child(sys.argv[2])
    else:
        for row in run():
            print(f"{row.metric}: {row.fmt_value()} {row.unit}  (goal {row.goal or '-'})")
