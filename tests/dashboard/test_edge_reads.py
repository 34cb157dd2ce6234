"""The views' edge dates come from bounded reads: ``last_ok_date`` (the overview's cards),
``_latest_week`` (the regional and parity default week) and /api/meta's coverage read a series'
newest or oldest records only, and give the answers a read of the whole history gave, with
PENDING, ABSENT and QUARANTINED dates at either edge (a run of them longer than a first read
too). How many records they read does not grow with the history's length."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.stages.conftest import NOW
from tests.support.read_counting import ReadCounting

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.repository import SeriesReader
from fuelpipe.dashboard.schemas import Coverage
from fuelpipe.dashboard.views import EDGE_READ, _latest_week, last_ok_date, meta_view
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status

LAST = date(2024, 12, 29)  # a Sunday: ANP weeks are keyed by Sunday
SP, RJ, BR = "FUEL#GASOLINE#SP", "FUEL#GASOLINE#RJ", "FUEL#GASOLINE#BR"
ODD = (Status.PENDING, Status.ABSENT, Status.QUARANTINED)


class ReadCountingStore(ReadCounting, SqliteStore):
    """The SQLite store, counting its reads."""


def _weeks(years: int) -> list[date]:
    return [LAST - timedelta(weeks=i) for i in reversed(range(52 * years))]


def _fill(store: SqliteStore, key: str, weeks: Sequence[date], odd: dict[date, Status]) -> None:
    store.put_records(
        [
            Record(key, d, Decimal("6.1") + Decimal(i % 50) / 100, Status.OK)
            for i, d in enumerate(weeks)
            if d not in odd
        ]
    )
    store.put_pendings([Record(key, d, None, status) for d, status in odd.items()])


def _edges(weeks: Sequence[date]) -> dict[str, dict[date, Status]]:
    """SP: one of each odd status at both edges; RJ: a run of them at its end longer than a
    first read (EDGE_READ); BR: only OK dates."""
    return {
        SP: {weeks[i]: s for i, s in enumerate(ODD)}
        | {weeks[-1 - i]: s for i, s in enumerate(ODD)},
        RJ: {weeks[-1 - i]: ODD[i % 3] for i in range(EDGE_READ + 3)} | {weeks[0]: Status.ABSENT},
        BR: {},
    }


@pytest.fixture(params=[5, 20], ids=["5y", "20y"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadCountingStore]:
    weeks = _weeks(request.param)
    with ReadCountingStore(tmp_path / "edges.sqlite", clock=FixedClock(NOW)) as s:
        for key, odd in _edges(weeks).items():
            _fill(s, key, weeks, odd)
        s.reset_counts()
        yield s


def test_last_ok_date_reads_the_newest_records_only(store: ReadCountingStore) -> None:
    reader = SeriesReader(store, DEFAULT_CATALOG)

    assert last_ok_date(reader, SP) == LAST - timedelta(weeks=3)  # past PENDING/ABSENT/QUAR.
    assert last_ok_date(reader, RJ) == LAST - timedelta(weeks=EDGE_READ + 3)  # a second read
    assert last_ok_date(reader, BR) == LAST
    assert last_ok_date(reader, BR, LAST - timedelta(days=1)) == LAST - timedelta(weeks=1)
    assert last_ok_date(reader, SP, LAST - timedelta(weeks=2)) == LAST - timedelta(weeks=3)
    assert last_ok_date(reader, "FUEL#GASOLINE#AM") is None  # nothing stored

    assert (store.presents, store.unlimited) == (0, 0)
    # A first read of EDGE_READ records each; RJ's end a second one, four times larger: the
    # same count whatever the history's length.
    assert store.records_read == 8 + (8 + 32) + 8 + 8 + 8


def test_latest_week_takes_the_latest_ok_week_of_its_keys(store: ReadCountingStore) -> None:
    reader = SeriesReader(store, DEFAULT_CATALOG)

    assert _latest_week(reader, [SP, RJ]) == LAST - timedelta(weeks=3)
    assert _latest_week(reader, [SP, RJ, BR]) == LAST
    assert _latest_week(reader, ["FUEL#GASOLINE#AM"]) is None
    assert (store.presents, store.unlimited) == (0, 0)
    assert store.records_read == (8 + 40) + (8 + 40 + 8)


def test_meta_coverage_reads_each_key_at_both_edges_only(store: ReadCountingStore) -> None:
    weeks = sorted({r.date for r in store.query(BR)})
    store.reset_counts()

    coverage = {
        (c.product, c.level): c for c in meta_view(SeriesReader(store, DEFAULT_CATALOG)).coverage
    }

    assert coverage["GASOLINE", "STATE"] == Coverage(
        product="GASOLINE", level="STATE", first=weeks[1], last=LAST - timedelta(weeks=3)
    )
    assert coverage["GASOLINE", "BR"] == Coverage(
        product="GASOLINE", level="BR", first=weeks[0], last=LAST
    )
    assert coverage["GASOLINE", "REGION"] == Coverage(
        product="GASOLINE", level="REGION", first=None, last=None
    )
    assert coverage["ETHANOL", "BR"] == Coverage(
        product="ETHANOL", level="BR", first=None, last=None
    )
    assert (store.presents, store.unlimited) == (0, 0)
    # SP 8 + 8, RJ 8 + (8 + 32), BR 8 + 8: each edge's first read, RJ's end a second one.
    assert store.records_read == 16 + 48 + 16
