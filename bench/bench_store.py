"""SqliteStore.put_records throughput next to raw SQLite baselines measured in the same run.

The baselines do the same work as the store, without the adapter: the same file settings
(``connect``: WAL, synchronous NORMAL, the same cache), the store's own schema (same table,
columns and partial index), the store's own upsert statement, the same rows (built before the
clock starts: converting records to rows is the adapter's overhead, and is counted against it),
one transaction. Each figure is the median of REPEATS rounds after a warm-up round, the
variants interleaved and their order reversed every other round, so a burst of load on this
shared machine or the page cache's state favours no side.
"""

from __future__ import annotations

import gc
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench._common import BenchRow
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import _SCHEMA, UPSERT_OK_ONE, SqliteStore, connect
from fuelpipe.domain.models import Record, Status

N_RECORDS = 100_000
SERIES = 20
REPEATS = 7
"""Measured rounds per variant (plus one warm-up round); the median is reported."""
RATIO_GOAL = 0.9
"""put_records against raw one-transaction SQLite in the same run (the machine is noisy)."""
STAMP = "2025-01-01T00:00:00+00:00"

_RAW_UPSERT = UPSERT_OK_ONE
"""The store's own single-row OK upsert (same columns, same ON CONFLICT clause)."""


def synthetic_records(n: int = N_RECORDS) -> list[Record]:
    """Synthetic OK records (not real prices): SERIES keys times consecutive dates."""
    per_series = n // SERIES
    start = date(2000, 1, 3)
    return [
        Record(
            key=f"STOCK#SYN{i // per_series:02d}",
            date=start + timedelta(days=i % per_series),
            value=Decimal(10_000 + i % 9973) / Decimal(10_000),
            status=Status.OK,
        )
        for i in range(n)
    ]


def _median_of(measures: dict[str, Callable[[Path], float]], workdir: Path) -> dict[str, float]:
    """Median items/s of REPEATS rounds after a warm-up, variants interleaved, order reversed
    every other round (the machine is shared and noisy)."""
    got: dict[str, list[float]] = {name: [] for name in measures}
    names = list(measures)
    for i in range(REPEATS + 1):
        for name in names if i % 2 else reversed(names):
            gc.collect()
            rate = measures[name](workdir / f"{name}-{i}.sqlite")
            if i:  # round 0 warms the page cache, the allocator and SQLite's code paths
                got[name].append(rate)
    return {name: statistics.median(rates) for name, rates in got.items()}


HISTORIES_YEARS = (5, 20)
"""History lengths: SERIES daily series over 5 and 20 years (36,525 and 146,100 records)."""


def run() -> list[BenchRow]:
    """put_records against the raw SQLite baselines: 100,000 records, then 5 and 20 years."""
    rows = measure(synthetic_records(), "100k synthetic")
    for years in HISTORIES_YEARS:
        rows += measure(synthetic_records(SERIES * round(years * 365.25)), f"{years} years")
    return rows


def measure(records: list[Record], label: str) -> list[BenchRow]:
    """Measure put_records and the raw SQLite baselines on ``records`` (synthetic): medians."""
    raw_rows = [
        (r.key, r.date.isoformat(), str(r.value), 0, None, None, None, STAMP, STAMP)
        for r in records
    ]
    clock = FixedClock(datetime(2025, 1, 1, tzinfo=UTC))

    def store_fresh(path: Path) -> float:
        with SqliteStore(path, clock=clock) as store:
            started = time.perf_counter()
            written = store.put_records(records)
            return written / (time.perf_counter() - started)

    def store_rewrite(path: Path) -> float:
        with SqliteStore(path, clock=clock) as store:
            store.put_records(records)
            started = time.perf_counter()
            written = store.put_records(records)
            return written / (time.perf_counter() - started)

    def raw_write(conn: sqlite3.Connection) -> float:
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_RAW_UPSERT, raw_rows)
        conn.execute("COMMIT")
        return len(raw_rows) / (time.perf_counter() - started)

    def raw_one_transaction(path: Path) -> float:
        conn = connect(path, _SCHEMA)
        try:
            return raw_write(conn)
        finally:
            conn.close()

    def raw_rewrite(path: Path) -> float:
        conn = connect(path, _SCHEMA)
        try:
            raw_write(conn)
            return raw_write(conn)
        finally:
            conn.close()

    def raw_commit_every_25(path: Path) -> float:
        conn = connect(path, _SCHEMA)
        started = time.perf_counter()
        for i in range(0, len(raw_rows), 25):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_RAW_UPSERT, raw_rows[i : i + 25])
            conn.execute("COMMIT")
        rate = len(raw_rows) / (time.perf_counter() - started)
        conn.close()
        return rate

    measures = {
        "fresh": store_fresh,
        "one_tx": raw_one_transaction,
        "rewrite": store_rewrite,
        "raw_rewrite": raw_rewrite,
        "every_25": raw_commit_every_25,
    }
    with tempfile.TemporaryDirectory(prefix="fuelpipe-bench-") as tmp:
        median = _median_of(measures, Path(tmp))
    fresh, one_tx, rewrite, raw_again, every_25 = (median[name] for name in measures)
    sqlite3_version = sqlite3.sqlite_version
    goal = f">= {RATIO_GOAL} x raw"
    n = f"{len(records):,} records, {label}"
    return [
        BenchRow("store", f"SqliteStore.put_records, {n}: new", fresh, "items/s"),
        BenchRow("store", f"SqliteStore.put_records, {n}: again (idempotent upserts)",
                 rewrite, "items/s"),
        BenchRow("store", f"raw SQLite {sqlite3_version} executemany, one transaction, {n}",
                 one_tx, "items/s"),
        BenchRow("store", f"raw SQLite executemany again (upserts), one transaction, {n}",
                 raw_again, "items/s"),
        BenchRow("store", f"raw SQLite executemany, commit every 25 rows, {n}", every_25,
                 "items/s"),
        BenchRow("store", f"put_records / raw one-transaction baseline, {n}", fresh / one_tx,
                 "ratio", goal, fresh / one_tx >= RATIO_GOAL),
        BenchRow("store", f"put_records again (upserts) / raw upserts again, {n}",
                 rewrite / raw_again, "ratio", goal, rewrite / raw_again >= RATIO_GOAL),
    ]  # fmt: skip
