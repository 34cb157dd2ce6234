"""Station lake: ANP-format CSV → partitioned Parquet ingest rate and peak memory, and query
latency on a 20-million-row SYNTHETIC scale-up of the real sample (bench/synthetic_stations.py).

Speeds are also given as ratios measured side by side in the same run: the ingest against a
bare DuckDB CSV → Parquet copy of the same file (no validation, dedupe or partitioning) and
against two floors (the same partitioned Parquet written by Polars with no checks at all, with
its eager API on two threads and with its streaming engine), and each query on the 20M-row
lake against the same query on the real 78,901-row lake.
"""

from __future__ import annotations

import json
import lzma
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bench._common import BenchRow

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "bench" / "stations"
INGEST_ROWS = 1_000_000
COPIES_20M = 254  # 254 × 78,901 = 20,040,854 rows, about 19.5 years of 4-week copies
GOAL_RATE = 1_000_000
GOAL_RSS = 1 << 30
GOAL_MUNI_S = 0.25
GOAL_BRAND_S = 1.0

_INGEST_CHILD = """
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.adapters.lake.storage import LocalLakeStorage
import duckdb, polars  # imported before the clock starts, as the bare copy's duckdb is
lake = StationLake(LocalLakeStorage(sys.argv[2]), FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
t = time.perf_counter()
(report,) = lake.ingest_path(Path(sys.argv[1]))
print(json.dumps({"s": time.perf_counter() - t, "rows": report.rows, "written": report.written,
                  "rejected": report.rejected}))
"""
_RAW_CHILD = """
import json, sys, time
from fuelpipe.adapters.lake.engine import connect
con = connect(2, "768MB")
t = time.perf_counter()
con.execute(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}', delim=';', header=true, "
            f"all_varchar=true)) TO '{sys.argv[2]}' (FORMAT parquet)")
print(json.dumps({"s": time.perf_counter() - t}))
"""
_FLOOR_CHILD = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import polars as pl
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
t = time.perf_counter()
frame = pl.read_csv(sys.argv[1], separator=";", infer_schema=False)
product, day = frame.columns[10], frame.columns[11]
parts = frame.with_columns(month=pl.col(day).str.slice(3, 7)).partition_by([product, "month"])
def write(job):
    i, part = job
    part.write_parquet(out / f"{i}.parquet", compression="zstd", compression_level=1)
with ThreadPoolExecutor(2) as pool:
    list(pool.map(write, enumerate(parts)))
print(json.dumps({"s": time.perf_counter() - t, "parts": len(parts)}))
"""
"""The floor of this pipeline shape on this machine: Polars reads the CSV as text and writes
one zstd-1 Parquet file per (product, month), two threads, with no hashing, validation, typing
or dedupe. What the ingest adds to it is the price of checking every record."""
_SINK_CHILD = """
import json, sys, time
import polars as pl
t = time.perf_counter()
scan = pl.scan_csv(sys.argv[1], separator=";", infer_schema=False)
product, day = scan.collect_schema().names()[10:12]
scan.with_columns(month=pl.col(day).str.slice(3, 7)).sink_parquet(
    pl.PartitionBy(sys.argv[2], key=[product, "month"], include_key=False),
    compression="zstd", compression_level=1, mkdir=True)
print(json.dumps({"s": time.perf_counter() - t}))
"""
"""The same floor through Polars' own streaming engine: ``scan_csv`` to a partitioned
``sink_parquet``, read and written in one pipelined plan, with no checks at all."""
ROUNDS = 3


def _child(code: str, *args: str) -> tuple[dict[str, float], int]:
    """Run ``code`` in a fresh interpreter; its JSON line and its peak RSS in bytes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, cwd=ROOT, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"bench child failed ({proc.returncode}): {out[-400:]}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss * 1024


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def _real_lake(root: Path):  # type: ignore[no-untyped-def]
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.adapters.lake.storage import LocalLakeStorage
    from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

    lake = StationLake(LocalLakeStorage(root), FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    if not any(root.glob("product=*")):
        for gz in sorted((SNAPSHOT_DIR / "shpc" / "qus").glob("*.csv.xz")):
            path = WORK / gz.stem
            path.write_bytes(lzma.decompress(gz.read_bytes()))
            lake.ingest_path(path)
            path.unlink()
    return lake


def _time_queries(lake, name: str, params: list[dict[str, object]]) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for p in params:
        t = time.perf_counter()
        result = lake.query(name, p)
        out.append(time.perf_counter() - t)
        assert result.rows, (name, p)
    return out


def _ingest_rows(csv_path: Path) -> list[BenchRow]:
    """The ingest, the bare DuckDB copy and the two Polars floors, interleaved ``ROUNDS``
    times."""
    lake_dir, floor_dir, sink_dir = WORK / "ingest-lake", WORK / "floor-lake", WORK / "sink-lake"
    beside = {
        "raw": (_RAW_CHILD, WORK / "raw-copy.parquet"),
        "floor": (_FLOOR_CHILD, floor_dir),
        "sink": (_SINK_CHILD, sink_dir),
    }
    times: dict[str, list[float]] = {"ingest": [], **{name: [] for name in beside}}
    rss = 0
    for _ in range(ROUNDS):  # interleaved, so a busy spell on the machine hits all four
        subprocess.run(["rm", "-rf", str(lake_dir), str(floor_dir), str(sink_dir)], check=True)
        got, peak = _child(_INGEST_CHILD, str(csv_path), str(lake_dir))
        assert got["written"] == INGEST_ROWS, got
        assert got["rejected"] == 0, got
        times["ingest"].append(got["s"])
        rss = max(rss, peak)
        for name, (code, out) in beside.items():
            times[name].append(_child(code, str(csv_path), str(out))[0]["s"])
    subprocess.run(["rm", "-rf", str(floor_dir), str(sink_dir)], check=True)
    ingest_s, raw_s, floor_s, sink_s = (
        statistics.median(times[k]) for k in ("ingest", "raw", "floor", "sink")
    )
    rate, raw_rate, floor_rate, sink_rate = (
        INGEST_ROWS / s for s in (ingest_s, raw_s, floor_s, sink_s)
    )
    mb = csv_path.stat().st_size / 1e6
    return [
        BenchRow("stations", f"ingest {INGEST_ROWS:,} synthetic rows ({mb:.0f} MB ANP CSV) -> "
                 f"Parquet by product/month, 2 threads (median of {ROUNDS})", rate, "rows/s",
                 "≥ 1,000,000 rows/s", rate >= GOAL_RATE),
        BenchRow("stations", "ingest wall time", ingest_s, "s"),
        BenchRow("stations", "bare DuckDB CSV -> one Parquet file, same file (side by side)",
                 raw_rate, "rows/s"),
        BenchRow("stations", "ingest / bare DuckDB copy (validation, dedupe, partitions)",
                 rate / raw_rate, "ratio"),
        BenchRow("stations", "floor: Polars CSV as text -> one Parquet per product/month, no "
                 "hashing, checks or dedupe (side by side)", floor_rate, "rows/s"),
        BenchRow("stations", "ingest / that floor", rate / floor_rate, "ratio"),
        BenchRow("stations", "floor through Polars' streaming engine: scan_csv -> partitioned "
                 "sink_parquet, text, no checks (side by side)", sink_rate, "rows/s"),
        BenchRow("stations", "ingest / the streaming floor", rate / sink_rate, "ratio"),
        BenchRow("stations", "peak memory during ingest (child process RSS, largest of "
                 f"{ROUNDS})", rss / 2**20, "MiB", "< 1,024 MiB", rss < GOAL_RSS),
    ]  # fmt: skip


def run() -> list[BenchRow]:
    from bench.synthetic_stations import write_anp_csv, write_lake
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.adapters.lake.storage import LocalLakeStorage
    from fuelpipe.domain.stations import query_params

    WORK.mkdir(parents=True, exist_ok=True)
    rows: list[BenchRow] = []

    # --- ingest: ANP-format CSV (synthetic, 1M rows) -> partitioned Parquet ----------------
    csv_path = WORK / f"synthetic-anp-{INGEST_ROWS // 1000}k.csv"
    if not csv_path.exists():
        write_anp_csv(csv_path, INGEST_ROWS)
    rows += _ingest_rows(csv_path)

    # --- 20M-row synthetic scale-up ---------------------------------------------------------
    big_dir = WORK / "synthetic-20m-lake"
    marker = big_dir / ".complete"
    if not marker.exists():
        t = time.perf_counter()
        total = write_lake(big_dir, COPIES_20M)
        marker.write_text(f"{total}\n")
        print(f"   generated {total:,} synthetic rows in {time.perf_counter() - t:.0f} s")
    total = int(marker.read_text())
    big = StationLake(LocalLakeStorage(big_dir), FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    real = _real_lake(WORK / "real-lake")

    rng = random.Random(17)
    with real.reader() as con:
        towns = con.execute(
            "SELECT DISTINCT state, municipality FROM stations WHERE product = 'GASOLINE' "
            "ORDER BY ALL"
        ).fetchall()
    picks = rng.sample(towns, 40)
    start, end = date(2025, 3, 24), date(2025, 4, 19)  # the newest 4 weeks in both lakes
    muni = [query_params("GASOLINE", start, end, s, m, "") for s, m in picks]
    brand = [query_params(f, start, end, None, None, "") for f in ("GASOLINE", "ETHANOL") * 5]
    history = [query_params("GASOLINE", date(2004, 1, 1), end, None, None, "")] * 5

    big_muni = _time_queries(big, "municipality_weekly", muni)
    real_muni = _time_queries(real, "municipality_weekly", muni)
    big_brand = _time_queries(big, "brand_premium", brand)
    real_brand = _time_queries(real, "brand_premium", brand)
    big_year = _time_queries(big, "brand_national", history)
    rows += [
        BenchRow("stations", f"p95 municipality/week/fuel query, {total:,} synthetic rows "
                 "(40 towns, 4 weeks)", _p95(big_muni) * 1000, "ms", "< 250 ms",
                 _p95(big_muni) < GOAL_MUNI_S),
        BenchRow("stations", "same query on the real 78,901-row lake (side by side)",
                 _p95(real_muni) * 1000, "ms"),
        BenchRow("stations", "municipality query: 20M lake / real lake", _p95(big_muni) /
                 _p95(real_muni), "ratio"),
        BenchRow("stations", "p95 national brand premium (matched by town and week, 4 weeks)",
                 _p95(big_brand) * 1000, "ms", "< 1,000 ms", _p95(big_brand) < GOAL_BRAND_S),
        BenchRow("stations", "brand premium: 20M lake / real lake", _p95(big_brand) /
                 _p95(real_brand), "ratio"),
        BenchRow("stations", "p95 national brand comparison, whole synthetic history (every "
                 "gasoline row since 2005)", _p95(big_year) * 1000, "ms", "< 1,000 ms",
                 _p95(big_year) < GOAL_BRAND_S),
    ]  # fmt: skip
    return rows
