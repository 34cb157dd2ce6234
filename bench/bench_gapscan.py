"""Gap scan cost on dynalite: a steady-state run (watermarks) vs the full audit, at 5 and 20 years.

Every key is complete; each steady-state run finds one new date per key. Read units come from
dynalite's own ``ConsumedCapacity`` (``ReturnConsumedCapacity=TOTAL`` on every Query), which it
computes the way DynamoDB does: item sizes summed per request, rounded up to 4 KB, halved for
eventually consistent reads. The watermark partition is one Query for all keys; its cost is
spread over the keys scanned.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench._common import BenchRow
from bench.bench_aws import count_calls, servers
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Series
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws import build_context, create_resources
from fuelpipe.homes.settings import Settings
from fuelpipe.stages.orchestrate import orchestrate

AREA = "aws"
KEYS = ("CURRENCY#USD", "CURRENCY#EUR", "STOCK#PETR4", "COMMODITY#BRENT")
NOW = datetime(2025, 6, 30, 23, 0, tzinfo=UTC)
YEARS = (5, 20)
STEADY_RUNS = 3


def seed(app: Any, series: list[Series], now: datetime, after: datetime | None = None) -> None:
    """Every expected date of every key published by ``now`` (and not yet by ``after``)."""
    records = []
    for s in series:
        end = s.published_through(now)  # by the schedule: FRED's Brent by its weekly batch
        first = s.default_start
        if after is not None:
            first = s.published_through(after) + timedelta(days=1)
        for day in expected_between(get_calendar(s.calendar), first, end):
            records.append(
                Record(s.key, day, Decimal("5.1234"), Status.OK, attrs={"buy": Decimal("5.1")})
            )
    app.store.put_records(records)


def measure(years: int, dynalite: Any, moto: Any) -> list[BenchRow]:
    settings = Settings(
        backend="aws",
        table_name=f"gapscan{years}",
        queue_name=f"gapscan{years}",
        dlq_name=f"gapscan{years}-dlq",
        # Steady-state runs are a day apart here (a new date each); the audit is run on its own.
        gap_audit_interval_s=30 * 86400.0,
    )
    client = dynalite.client("dynamodb")
    create_resources(settings, dynamodb_client=client, sqs_client=moto.client("sqs"), poll_s=0.05)
    calls: Counter[str] = count_calls(client)
    units: Counter[str] = Counter()

    def ask_capacity(params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"

    def read_capacity(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        got = parsed.get("ConsumedCapacity", {}).get("CapacityUnits")
        if got is None:
            raise RuntimeError("dynalite returned no ConsumedCapacity: the RCU figure is unknown")
        units[model.name] += float(got)

    client.meta.events.register("provide-client-params.dynamodb.Query", ask_capacity)
    client.meta.events.register("after-call.dynamodb.Query", read_capacity)
    clock = ManualClock(NOW)
    app = build_context(
        settings, clock=clock, sources={}, dynamodb_client=client, sqs_client=moto.client("sqs")
    )
    start = date(NOW.year - years, NOW.month, 1)
    series = [replace(DEFAULT_CATALOG[k], default_start=start) for k in KEYS]
    seed(app, series, NOW)
    n = len(series)

    calls.clear()
    units.clear()
    first = orchestrate(app, series=series)  # no watermarks yet: every key is read in full
    audit_queries, audit_rcu = (calls["Query"] - 1) / n, sum(units.values()) / n
    if first.gaps_found:
        raise RuntimeError(f"the seeded history is not complete: {first}")
    steady_queries: list[float] = []
    steady_rcu: list[float] = []
    for _ in range(STEADY_RUNS):
        before = clock.now()
        clock.advance(timedelta(days=1))
        while all(
            s.published_through(clock.now()) == s.published_through(clock.now() - timedelta(days=1))
            for s in series
        ):
            clock.advance(timedelta(days=1))
        seed(app, series, clock.now(), before)  # the new date of each key
        calls.clear()
        units.clear()
        report = orchestrate(app, series=series)
        if report.gaps_found or report.keys_audited:
            raise RuntimeError(f"not a steady-state run: {report}")
        steady_queries.append((calls["Query"] - 1) / n)  # minus the one watermark-partition Query
        steady_rcu.append(sum(units.values()) / n)
    audit = orchestrate(app, series=series, audit=True)
    if audit.keys_audited != n or audit.watermarks_repaired:
        raise RuntimeError(f"the audit disagreed with the watermarks: {audit}")
    q, rcu = max(steady_queries), max(steady_rcu)
    label = f"{years} years, {n} keys"
    return [
        BenchRow(AREA, f"gap scan steady state ({label}): Query per key", q, "Query/key",
                 "1", q <= 1.0),
        BenchRow(AREA, f"gap scan steady state ({label}): read units per key", rcu, "RCU/key",
                 "<= 1 (watermark Query shared)", rcu <= 1.0),
        BenchRow(AREA, f"gap scan full audit (daily) = every run before watermarks ({label}): "
                 "Query per key",
                 audit_queries, "Query/key"),
        BenchRow(AREA, f"gap scan full audit (daily) = every run before watermarks ({label}): "
                 "read units per key", audit_rcu, "RCU/key"),
    ]  # fmt: skip


def run() -> list[BenchRow]:
    rows: list[BenchRow] = []
    with servers() as (dynalite, moto):
        for years in YEARS:
            rows += measure(years, dynalite, moto)
    return rows
