"""A stopped series costs StaleSource and `newest_ok` a few small reads, however long its history.

Before, a series with nothing stored in the alert's 62-day window (or the live view's 70-day
lookback) was read whole on every evaluation: 152 items at 5 years, 934 at 20 on DynamoDB.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.stages.alerting import StaleSource, late_series
from fuelpipe.stages.due import newest_ok

SP = ZoneInfo("America/Sao_Paulo")
USD = DEFAULT_CATALOG["CURRENCY#USD"]
NOW = datetime(2022, 5, 4, 14, 5, tzinfo=SP)  # past PTAX's window for 2022-05-04
STOPPED = date(2020, 5, 4)
TAIL_END = date(2020, 6, 30)


class CountingStore(SqliteStore):
    """A real SQLite store noting each read of a key's records: (method, records returned)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reads: list[tuple[str, int]] = []

    def present(self, key):
        found = super().present(key)
        self.reads.append(("present", len(found)))
        return found

    def present_after(self, key, after):
        found = super().present_after(key, after)
        self.reads.append(("present_after", len(found)))
        return found

    def query(self, key, *args, **kwargs):
        found = super().query(key, *args, **kwargs)
        self.reads.append(("query", len(found)))
        return found


def _history(path: Path, first_year: int, tail: Status | None) -> None:
    """USD stored OK from ``first_year`` to STOPPED; then ``tail`` (PENDING or ABSENT) dates
    to TAIL_END, or nothing (None); nothing since: a series stopped two years before NOW."""
    days = list(expected_between(get_calendar(USD.calendar), date(first_year, 1, 3), TAIL_END))
    stamp = datetime(2020, 5, 5, tzinfo=UTC)
    with SqliteStore(path) as store:
        store.put_records(
            [
                Record(USD.key, d, Decimal("5"), Status.OK, updated_at=stamp)
                for d in days
                if d <= STOPPED
            ]
        )
        if tail is not None:
            rest = [d for d in days if d > STOPPED]
            store.put_pendings([Record(USD.key, d, None, tail, reason="-") for d in rest])


def _stale_and_reads(path: Path) -> tuple[list[tuple[str, str | None]], list[tuple[str, int]]]:
    clock = ManualClock(NOW)
    queue = SqliteQueue(path.with_suffix(".q"), clock=clock, visibility_timeout=timedelta(1))
    try:
        with CountingStore(path) as store:
            whole = {p.date: p.status for p in store.present(USD.key)}
            store.reads.clear()
            found = StaleSource().evaluate(AlertContext(NOW, store, queue, Catalog([USD])))
            reads = list(store.reads)
    finally:
        queue.close()
    # what the whole history says, as the rule read it before
    expected = late_series(USD, whole, NOW)
    got = [(c.evidence["date"], c.evidence["latest_stored"]) for c in found]
    want = (
        []
        if expected is None
        else [
            (
                expected.day.isoformat(),
                expected.latest_stored.isoformat() if expected.latest_stored else None,
            )
        ]
    )
    assert got == want
    return got, reads


@pytest.mark.parametrize(
    ("tail", "late", "reads"),
    [
        (None, [("2022-05-04", "2020-05-04")], [("present_after", 0), ("query", 16)]),
        # 40 PENDING dates after the last OK one: one page of them, the next reaches an OK
        (
            Status.PENDING,
            [("2022-05-04", "2020-05-04")],
            [("present_after", 0), ("query", 16), ("query", 64)],
        ),
        (
            Status.ABSENT,
            [("2022-05-04", "2020-05-04")],
            [("present_after", 0), ("query", 16), ("query", 64)],
        ),
    ],
)
def test_a_series_stopped_two_years_ago_alerts_as_before_in_reads_its_history_length_does_not_change(
    tmp_path: Path, tail: Status | None, late: list[tuple[str, str]], reads: list[tuple[str, int]]
) -> None:
    found = {}
    for years in (5, 20):
        path = tmp_path / f"{years}.sqlite"
        _history(path, 2022 - years, tail)
        found[years] = _stale_and_reads(path)
    assert found[5] == found[20] == (late, reads)


def test_a_series_never_stored_is_not_late_after_two_empty_reads(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    SqliteStore(path).close()
    assert _stale_and_reads(path) == ([], [("present_after", 0), ("query", 0)])


@pytest.mark.parametrize("tail", [None, Status.PENDING, Status.ABSENT])
def test_newest_ok_of_a_stopped_series_reads_the_same_whatever_its_history_length(
    tmp_path: Path, tail: Status | None
) -> None:
    answers = {}
    for years in (5, 20):
        path = tmp_path / f"{years}.sqlite"
        _history(path, 2022 - years, tail)
        with CountingStore(path) as store:
            answers[years] = (newest_ok(store, USD, NOW), store.reads)
    pages = [("query", 16)] if tail is None else [("query", 16), ("query", 64)]
    assert answers[5] == answers[20] == (STOPPED, [("present_after", 0), *pages])


def test_newest_ok_of_a_series_never_ok_reads_back_to_its_first_record(tmp_path: Path) -> None:
    """No OK date at all: every record is read (16, 64, then none left), and None."""
    path = tmp_path / "pending.sqlite"
    days = list(expected_between(get_calendar(USD.calendar), date(2020, 1, 1), date(2020, 4, 30)))
    days = days[:80]
    with CountingStore(path) as store:
        store.put_pendings([Record(USD.key, d, None, Status.PENDING, reason="-") for d in days])
        assert newest_ok(store, USD, NOW) is None
        assert store.reads == [("present_after", 0), ("query", 16), ("query", 64), ("query", 0)]
