"""Freshness: a simulated week of every source on the publication-aware replay.

`fuelpipe watch`'s loop runs on a manual clock from Sunday 2022-04-24 to Sunday 2022-05-01
(inside the snapshot window) for one series of each source and schedule. The replay releases
each value at its scheduled publication instant plus a seeded offset in a realistic range
(PTAX closes seen 13:04-13:10, docs/SOURCE_FORMATS.md, widened here to 13:03-13:12; ANP on
Friday evening, 18:00-21:00), so a poll can come too early and must poll again. Reported:
p95 data age per source (release to storage; ANP measured from its release; a source none of
whose values released in the week was stored is a failing row, never a missing one), and the
share of polls answered 304 or skipped because nothing was due.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench._common import BenchRow
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.health import percentiles
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Status
from fuelpipe.homes.settings import Settings, policy_from
from fuelpipe.homes.sources import build_sources
from fuelpipe.replay.live import PublishedPlan
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.watch import Tick, watch

SP = ZoneInfo("America/Sao_Paulo")
KEYS = (
    "CURRENCY#USD",
    "STOCK#PETR4",
    "STOCK#XOM",
    "COMMODITY#BRENT_FUTURES",
    "COMMODITY#BRENT",
    "FUEL#GASOLINE#BR",
)
WEEK_START = datetime(2022, 4, 24, 0, 0, tzinfo=SP)
WEEK_END = WEEK_START + timedelta(days=7)
BACKFILL_FROM = date(2022, 4, 1)
JITTER = {
    "bcb": (timedelta(minutes=-7), timedelta(minutes=2)),  # 13:03-13:12 around the 13:10 schedule
    "yahoo": (timedelta(0), timedelta(minutes=20)),
    "fred": (timedelta(0), timedelta(hours=12)),
    "anp": (timedelta(0), timedelta(hours=3)),  # Friday evening
}
GOAL_S = 15 * 60


def run() -> Iterator[BenchRow]:
    catalog = Catalog(replace(DEFAULT_CATALOG[k], default_start=BACKFILL_FROM) for k in KEYS)
    clock = ManualClock(WEEK_START)
    plan = PublishedPlan(clock, catalog=catalog, jitter=JITTER)
    with tempfile.TemporaryDirectory() as tmp, ReplayServer(faults=plan, quiet=True) as replay:
        urls = {f"source_{n}_url": u for n, u in replay.source_urls().items()}
        settings = Settings(db=Path(tmp) / "f.sqlite", yahoo_min_interval_s=0, **urls)
        context = StageContext(
            catalog=catalog,
            store=SqliteStore(settings.db, clock=clock),
            queue=SqliteQueue(
                Path(tmp) / "q.sqlite", clock=clock, visibility_timeout=timedelta(seconds=60)
            ),
            sources=build_sources(settings),
            clock=clock,
            policy=policy_from(settings),
            gap_audit_interval_s=settings.gap_audit_interval_s,
            store_batch=settings.store_batch,
            revision_window_days=settings.revision_window_days,
        )
        try:
            run_cycle(context, since=BACKFILL_FROM)  # the history up to Sunday morning
            before = sum(replay.request_counts.values())
            not_modified_before = replay.not_modified
            ticks: list[Tick] = []
            sources = {s.source for s in catalog}

            def sleep(seconds: float) -> None:
                clock.advance(timedelta(seconds=seconds))
                if clock.now() >= WEEK_END:
                    raise _WeekOver

            with contextlib.suppress(_WeekOver):  # the week is over
                watch(context, sleep=sleep, heartbeat=ticks.append)
            requests = sum(replay.request_counts.values()) - before
            not_modified = replay.not_modified - not_modified_before
            ages: dict[str, list[float]] = defaultdict(list)
            for s in catalog:
                for r in context.store.query(s.key, WEEK_START.date() - timedelta(days=10)):
                    released = plan.released_at(s, r.date)
                    ok = r.status is Status.OK and r.updated_at is not None
                    if ok and r.updated_at is not None and released >= WEEK_START:
                        ages[s.source].append((r.updated_at - released).total_seconds())
        finally:
            context.close()
    skipped = sum(len(sources - {catalog[k].source for k in t.due}) for t in ticks)
    yield from age_rows(sources, ages)
    yield BenchRow(
        "freshness",
        f"polls answered 304 or skipped (nothing due): {not_modified} 304 + {skipped} skipped "
        f"of {requests} requests + {skipped} skipped, {len(ticks)} ticks",
        100 * (not_modified + skipped) / max(1, requests + skipped),
        "%",
    )


def age_rows(sources: Iterable[str], ages: Mapping[str, Sequence[float]]) -> Iterator[BenchRow]:
    """One p95 row per measured source, sorted; a source none of whose values released in the
    week was stored has a failing row saying so (value NaN), never no row: ANP's went missing
    from every run for days while its week was never fetched."""
    for source in sorted(sources):
        got = ages.get(source, ())
        if not got:
            yield BenchRow(
                "freshness",
                f"p95 data age after release, {source}: none of its values released in the "
                "week was stored, nothing to measure",
                math.nan,
                "min",
                "≤ 15 min",
                False,
            )
            continue
        _, p95 = percentiles(list(got))
        assert p95 is not None
        yield BenchRow(
            "freshness",
            f"p95 data age after release, {source} ({len(got)} values in the week)",
            p95 / 60,
            "min",
            "≤ 15 min",
            p95 <= GOAL_S,
        )


class _WeekOver(Exception):
    """The simulated week is over."""
