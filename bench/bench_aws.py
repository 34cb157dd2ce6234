"""The AWS home on dynalite: batch vs single writes, read cost of a gap scan, handler cold imports.

Everything runs against dynalite (and moto_server for the queue) on 127.0.0.1, sequentially, with
one client: absolute numbers say little about DynamoDB itself, the ratios and request counts do.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from devtools.aws.servers import LocalServer, start_dynalite, start_moto

from bench._common import BenchRow
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.dynamodb_store import META, DynamoDbStore, ok_put_item
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import WATERMARKS
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws import build_context, create_resources
from fuelpipe.homes.settings import Settings
from fuelpipe.stages.orchestrate import orchestrate

AREA = "aws"
ROOT = Path(__file__).resolve().parent.parent
SCAN_KEYS = ("CURRENCY#USD", "CURRENCY#EUR")
"""Seeded with their whole history (2000 to 2025), about 6,300 records each."""
SINGLE_WRITES = 2000
NOW = datetime(2025, 6, 30, 23, 0, tzinfo=UTC)


@contextmanager
def servers() -> Iterator[tuple[LocalServer, LocalServer]]:
    """dynalite and moto_server for the length of the benchmark."""
    dynalite = start_dynalite()
    moto = start_moto()
    try:
        yield dynalite, moto
    finally:
        dynalite.stop()
        moto.stop()


def count_calls(client: Any) -> Counter[str]:
    """Count every API call this client makes, by operation name."""
    counts: Counter[str] = Counter()
    lock = threading.Lock()  # put_records keeps several calls in flight, from threads

    def count(model: Any, **_: Any) -> None:
        with lock:
            counts[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    return counts


def history(key: str) -> list[Record]:
    """A record for every weekday from 2000 to mid-2025 (shape, not real values)."""
    day, end, out = date(2000, 1, 3), date(2025, 6, 27), []
    while day <= end:
        if day.weekday() < 5:
            out.append(
                Record(key, day, Decimal("5.1234"), Status.OK, attrs={"buy": Decimal("5.1")})
            )
        day += timedelta(days=1)
    return out


def write_throughput(client: Any, table: str, rounds: int = 5) -> list[BenchRow]:
    """BatchWriteItem through the store vs one PutItem per item, in the same run: ``rounds``
    interleaved rounds (order alternating, each on fresh keys of a table that grows for both
    alike), the median of each side's per-round rate."""
    store = DynamoDbStore(client, table)
    calls = count_calls(client)
    records = [r for key in SCAN_KEYS for r in history(key)]
    singles = [r.with_(key="CURRENCY#GBP") for r in records[:SINGLE_WRITES]]
    batch_rates: list[float] = []
    single_rates: list[float] = []

    def batch(part: list[Record]) -> None:
        started = time.perf_counter()
        store.put_records(part)
        batch_rates.append(len(part) / (time.perf_counter() - started))

    def single(part: list[Record]) -> None:
        started = time.perf_counter()
        for r in part:
            client.put_item(TableName=table, Item=ok_put_item(r, NOW))
        single_rates.append(len(part) / (time.perf_counter() - started))

    for n in range(rounds):
        mine = records[n::rounds]
        theirs = singles[n::rounds]
        if n % 2:
            single(theirs)
            batch(mine)
        else:
            batch(mine)
            single(theirs)
    batch_requests = calls["BatchWriteItem"]
    # Each round's put_records call sends full batches of 25 and one short last batch.
    fewest = sum(-(-len(records[n::rounds]) // 25) for n in range(rounds))
    batch_rate = statistics.median(batch_rates)
    single_rate = statistics.median(single_rates)
    ratio = batch_rate / single_rate
    return [
        BenchRow(AREA, f"BatchWriteItem via store ({len(records):,} items)", batch_rate, "items/s"),
        BenchRow(AREA, f"PutItem one by one ({len(singles):,} items)", single_rate, "items/s"),
        BenchRow(AREA, "batch vs single write throughput", ratio, "x", ">= 5x", ratio >= 5),
        BenchRow(
            AREA,
            "write requests per item stored",
            batch_requests / len(records),
            "requests/item",
            f"<= 0.04 (25 per batch; {fewest} requests for {rounds} calls)",
            batch_requests <= fewest,
        ),
    ]


def gap_scan_cost(dynalite: LocalServer, moto: LocalServer, settings: Settings) -> list[BenchRow]:
    """Queries, pages and read units of the orchestrator's scan of fully stored keys."""
    client = dynalite.client("dynamodb")
    calls = count_calls(client)
    consumed: list[float] = []
    # A run's own reads, not a key's pages: the watermark partition's Query and, when a key
    # has gaps, the META partition's read of the runs' gap_sent# notes (one each a run).
    run_partitions = ({"S": WATERMARKS}, {"S": META})
    run_queries: list[int] = []

    def ask_capacity(params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"
        values = params.get("ExpressionAttributeValues", {}).values()
        run_queries.append(int(any(v in run_partitions for v in values)))

    def read_capacity(parsed: dict[str, Any], **_: Any) -> None:
        consumed.append(float(parsed.get("ConsumedCapacity", {}).get("CapacityUnits", 0)))

    client.meta.events.register("provide-client-params.dynamodb.Query", ask_capacity)
    client.meta.events.register("after-call.dynamodb.Query", read_capacity)
    app = build_context(
        settings,
        clock=FixedClock(NOW),
        sources={},
        dynamodb_client=client,
        sqs_client=moto.client("sqs"),
    )
    series = [DEFAULT_CATALOG[k] for k in SCAN_KEYS]
    orchestrate(app, series=series)  # warm: the calendars load once per Lambda environment
    calls.clear()
    consumed.clear()
    run_queries.clear()
    started = time.perf_counter()
    # The full audit (every date of every key): what every run cost before watermarks;
    # bench_gapscan.py measures the steady state beside it.
    orchestrate(app, series=series, audit=True)
    elapsed = time.perf_counter() - started
    pages = (calls["Query"] - sum(run_queries)) / len(series)  # the keys' own pages
    rows = [
        BenchRow(AREA, "gap scan, full audit: Query pages per key (~6,300 dates)", pages,
                 "pages/key", "1 (keys-only projection)", pages <= 1.0),
        BenchRow(AREA, "gap scan, full audit: time per key (warm)",
                 elapsed / len(series) * 1000, "ms/key"),
    ]  # fmt: skip
    if any(consumed):
        rows.append(
            BenchRow(AREA, "gap scan, full audit: read capacity per key (eventual)",
                     sum(consumed) / len(series), "RCU/key")
        )  # fmt: skip
    return rows


IMPORT_RATIO_GOAL = 1.5
"""A handler's cold import against a bare ``import boto3``, both in fresh interpreters."""


def _fresh_import_s(code: str, *args: str, env: dict[str, str] | None = None) -> float:
    argv = [sys.executable, "-c", code, *args]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    return float(done.stdout)


def _bytecode_env(cache: Path) -> dict[str, str]:
    """The children's environment: bytecode read from and written to ``cache``, whatever the
    caller's PYTHONDONTWRITEBYTECODE says. Without it every fresh interpreter would compile
    fuelpipe from source while ``boto3`` loads the bytecode pip wrote at install, and the ratio
    would measure the compiler (1.6-1.7 on a machine that sets the variable, 1.3-1.45 without).
    A Lambda zip's code is compared as it would run with its bytecode shipped."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(cache)}


def cold_imports(repeats: int = 5) -> list[BenchRow]:
    """Seconds to import each handler module in a fresh interpreter (median of a few), and its
    ratio to a bare ``import boto3`` measured the same way, interleaved, in the same run."""
    # The handler file is loaded as the Lambda runtime loads it (importlib, by path), so the
    # bench's own harness (devtools) is not timed with it.
    handler = (
        "import sys,time,importlib.util as u;"
        "s=u.spec_from_file_location('handler',f'{sys.argv[2]}/lambdas/{sys.argv[1]}/handler.py');"
        "t=time.perf_counter();s.loader.exec_module(u.module_from_spec(s));"
        "print(time.perf_counter()-t)"
    )
    bare = "import time;t=time.perf_counter();import boto3;print(time.perf_counter()-t)"
    names = ("data_clustering", "retry_recheck", "scraper", "intraday")
    times: dict[str, list[float]] = {name: [] for name in (*names, "boto3")}
    with tempfile.TemporaryDirectory(prefix="fuelpipe-pyc-") as cache:
        env = _bytecode_env(Path(cache))
        for round_ in range(repeats + 1):  # round 0 writes the bytecode and is not counted
            seconds = _fresh_import_s(bare, env=env)
            each = {name: _fresh_import_s(handler, name, str(ROOT), env=env) for name in names}
            if round_:
                times["boto3"].append(seconds)
                for name in names:
                    times[name].append(each[name])
    baseline = statistics.median(times["boto3"])
    rows = [BenchRow(AREA, "cold import of a bare `import boto3`", baseline, "s")]
    for name in names:
        value = statistics.median(times[name])
        ratio = value / baseline
        rows += [
            BenchRow(AREA, f"cold import of the {name} handler", value, "s"),
            BenchRow(AREA, f"cold import of the {name} handler / bare boto3", ratio, "ratio",
                     f"<= {IMPORT_RATIO_GOAL}", ratio <= IMPORT_RATIO_GOAL),
        ]  # fmt: skip
    return rows


def run() -> list[BenchRow]:
    """Every AWS-home measurement, against local servers started and stopped here."""
    rows: list[BenchRow] = []
    with servers() as (dynalite, moto):
        settings = Settings(
            backend="aws", table_name="bench", queue_name="bench", dlq_name="bench-dlq"
        )
        client = dynalite.client("dynamodb")
        create_resources(settings, dynamodb_client=client, sqs_client=moto.client("sqs"),
                         poll_s=0.05)  # fmt: skip
        rows += write_throughput(client, settings.table_name)
        rows += gap_scan_cost(dynalite, moto, settings)
    rows += cold_imports()
    return rows
