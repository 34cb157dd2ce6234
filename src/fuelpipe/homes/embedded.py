"""The embedded home: SQLite store and queue in one file on this machine, no account needed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.failpoints import Failpoints
from fuelpipe.homes.settings import Settings, policy_from
from fuelpipe.homes.sources import build_sources
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.source import Source
from fuelpipe.stages.context import StageContext


def build_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sources: Mapping[str, Source] | None = None,
    catalog: Catalog | None = None,
) -> StageContext:
    """Wire the embedded home from settings; tests pass their own clock or sources."""
    from fuelpipe.adapters.clock import FixedClock, SystemClock
    from fuelpipe.adapters.sqlite_queue import SqliteQueue
    from fuelpipe.adapters.sqlite_store import SqliteStore

    business_clock: Clock = clock or (FixedClock(settings.now) if settings.now else SystemClock())
    # updated_at is stamped by the business clock the stages see, as in the AWS home.
    store = SqliteStore(settings.db, clock=business_clock)
    # The queue's visibility timeout is operational time, so it always runs on the real clock.
    queue = SqliteQueue(
        settings.db.with_name(settings.db.stem + "-queue.sqlite"),
        clock=SystemClock(),
        visibility_timeout=timedelta(seconds=settings.visibility_timeout_s),
        max_receives=settings.max_receives,
    )
    return StageContext(
        catalog=catalog or DEFAULT_CATALOG,
        store=store,
        queue=queue,
        sources=sources if sources is not None else build_sources(settings),
        clock=business_clock,
        policy=policy_from(settings),
        gap_audit_interval_s=settings.gap_audit_interval_s,
        store_batch=settings.store_batch,
        revision_window_days=settings.revision_window_days,
        failpoints=Failpoints(settings.failpoints),
    )
