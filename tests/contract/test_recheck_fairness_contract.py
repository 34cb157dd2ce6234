"""recheck's reach over a backlog, on every store backend: each run reads and works one page
(a small page size and a time budget injected), and every due record is claimed within a
bounded number of runs, however big a backlog sorts before it.

The pages came in a fixed order (key and date in SQLite, shard then next attempt in DynamoDB):
a backlog whose claims fall due again before the next run (a failed backfill, retried) filled
the first page of every run, and a small unit after it in that order was never rechecked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.support.budget import budget

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.recheck import recheck

if TYPE_CHECKING:
    from contract.conftest import StoreOpener

BACKLOG = "CURRENCY#EUR"  # first in key order
SMALL = "CURRENCY#USD"
OTHER = "STOCK#PETR4"
FAILED_AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
RUN_EVERY = timedelta(hours=1)
POLICY = RetryPolicy(max_retries=1_000, base_delay=timedelta(minutes=30), factor=1.0)
"""Every claim falls due again before the next run: the worst case for a backlog."""

Slot = tuple[str, date]


def _days(key: str, count: int) -> list[date]:
    """The first ``count`` dates of 2024 the series' calendar expects."""
    cal = get_calendar(DEFAULT_CATALOG[key].calendar)
    return list(expected_between(cal, date(2024, 1, 2), date(2024, 12, 31)))[:count]


def _seed(store: Store, key: str, count: int, next_attempt_at: datetime | None) -> list[Slot]:
    slots = []
    for day in _days(key, count):
        record = Record(key, day, None, Status.PENDING, 0, next_attempt_at, "no value")
        assert store.put_pending(record)
        slots.append((key, day))
    return slots


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[[Store, ManualClock], StageContext]]:
    queues: list[SqliteQueue] = []

    def build(store: Store, clock: ManualClock) -> StageContext:
        queue = SqliteQueue(tmp_path / f"queue{len(queues)}.sqlite", clock, timedelta(seconds=30))
        queues.append(queue)
        return StageContext(DEFAULT_CATALOG, store, queue, {}, clock, POLICY)

    yield build
    for queue in queues:
        queue.close()


def _runs_until_claimed(
    app: StageContext, clock: ManualClock, slots: list[Slot], page_size: int, runs: int
) -> dict[Slot, int]:
    """Run recheck hourly, with time for one page a run, ``runs`` times (fewer once every slot was
    claimed): the run (1, 2, ...) in which each slot was first claimed."""
    first: dict[Slot, int] = {}
    for run in range(1, runs + 1):
        clock.advance(RUN_EVERY)
        recheck(app, remaining_s=budget(page_size), page_size=page_size)
        for key in {k for k, _ in slots}:
            for r in app.store.query(key, fields=("retry_count",)):
                if (key, r.date) in slots and r.retry_count > 0:
                    first.setdefault((key, r.date), run)
        if len(first) == len(slots):
            break
    return first


def test_a_backlog_due_again_every_run_does_not_starve_a_unit_after_it(
    store_opener: StoreOpener, make_app: Callable[[Store, ManualClock], StageContext]
) -> None:
    """15 dates of one unit, failed first, each due again 30 minutes after its claim; one
    date of another unit, failed 30 minutes later. A page of 5 a run: the small unit's date is
    claimed in the fourth run (after the three pages that were due before it), not never."""
    store = store_opener()
    clock = ManualClock(FAILED_AT)
    backlog = _seed(store, BACKLOG, 15, FAILED_AT)
    small = _seed(store, SMALL, 1, FAILED_AT + timedelta(minutes=30))
    app = make_app(store, clock)

    first = _runs_until_claimed(app, clock, backlog + small, page_size=5, runs=8)

    assert first == {
        **dict.fromkeys(backlog[:5], 1),
        **dict.fromkeys(backlog[5:10], 2),
        **dict.fromkeys(backlog[10:], 3),
        small[0]: 4,
    }
    assert [r.retry_count for r in store.query(SMALL)] == [1]


def test_with_any_page_size_every_due_record_is_claimed_within_ceil_total_over_page_runs(
    store_opener: StoreOpener, make_app: Callable[[Store, ManualClock], StageContext]
) -> None:
    """Every page size from 1 to the whole set, over due records of three units (never
    scheduled, due for hours, and one set by a clock ahead), each claim due again by the next
    run: each record is claimed within ceil(total / page) runs (the bound is that, +1 for a
    page cut short by the end of the set)."""
    store = store_opener()
    for page_size in range(1, 11):
        clock = ManualClock(FAILED_AT + timedelta(days=page_size))
        now = clock.now()
        slots = (
            _seed(store, BACKLOG, 5, now - timedelta(hours=3))
            + _seed(store, OTHER, 3, None)
            + _seed(store, SMALL, 1, now)
        )
        ahead = Record(SMALL, _days(SMALL, 2)[1], None, Status.PENDING, 0, now + timedelta(30))
        assert store.put_pending(ahead)
        slots.append((SMALL, ahead.date))
        total = len(slots)
        app = make_app(store, clock)

        first = _runs_until_claimed(app, clock, slots, page_size, runs=total + 1)

        assert set(first) == set(slots), page_size
        assert max(first.values()) == math.ceil(total / page_size), page_size
        assert sorted(first.values()) == [1 + i // page_size for i in range(total)], page_size
        for key, day in slots:  # the next page size starts from an empty store
            assert store.delete_not_ok(key, day)
