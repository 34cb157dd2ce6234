"""The health view's freshness samples (``store_lags``) are those of its earlier formula, which
always read the record of the series' oldest date too: random histories on a real SQLite
store, values written in any order at random instants, published before or after they were
stored, some with no publication instant and some PENDING. And the oldest record is read only
when it can change the answer."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.health import FRESHNESS_SPAN, store_lags
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Series
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Store
from fuelpipe.stages.scrape import PUBLISHED_AT

USD = DEFAULT_CATALOG["CURRENCY#USD"]
T0 = datetime(2022, 5, 2, 12, 0, tzinfo=UTC)
FIRST = date(2022, 3, 1)


def reference(store: Store, series: Series, first: date, last: date) -> list[float]:
    """``store_lags`` before it skipped a read, verbatim."""
    fields = ("attrs", "updated_at")
    window = store.query(series.key, last - FRESHNESS_SPAN, last, fields)
    if not window:
        return []
    oldest = (
        store.query(series.key, first, first, ("updated_at",)) if first < window[0].date else []
    )
    stamps = [r.updated_at for r in [*oldest, *window] if r.updated_at is not None]
    if not stamps:
        return []
    began = min(stamps)
    lags = []
    for r in window:
        published = r.attrs.get("published_at")
        if r.status is not Status.OK or not isinstance(published, str) or r.updated_at is None:
            continue
        at = datetime.fromisoformat(published)
        if at >= began:
            lags.append(max(0.0, (r.updated_at - at).total_seconds()))
    return lags


class CountingStore(SqliteStore):
    """A real SQLite store counting the record reads (``query``) made of it."""

    def __init__(self, path: Path, clock: ManualClock) -> None:
        super().__init__(path, clock=clock)
        self.queries = 0

    def query(self, key, *args, **kwargs):
        self.queries += 1
        return super().query(key, *args, **kwargs)


# One write: (day offset from FIRST, hours after T0 it is stored, minutes from storage to
# publication (negative: published before it was stored) or None (no publication instant),
# PENDING rather than OK).
WRITES = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=80),
        st.integers(min_value=0, max_value=24 * 90),
        st.none() | st.integers(min_value=-60 * 24 * 60, max_value=600),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


def write(store: Store, clock: ManualClock, writes: list[tuple[int, int, int | None, bool]]):
    for offset, hours, published_min, pending in sorted(writes, key=lambda w: w[1]):
        day = FIRST + timedelta(days=offset)
        clock.set(T0 + timedelta(hours=hours))
        if pending:
            store.put_pending(Record(USD.key, day, None, Status.PENDING, 0, clock.now(), "x"))
            continue
        attrs = {}
        if published_min is not None:
            at = clock.now() + timedelta(minutes=published_min)
            attrs = {PUBLISHED_AT: at.isoformat()}
        store.put_records([Record(USD.key, day, Decimal("5"), Status.OK, attrs=attrs)])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=WRITES)
def test_store_lags_match_the_formula_that_always_read_the_oldest_record(
    writes: list[tuple[int, int, int | None, bool]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(T0)
        store = SqliteStore(Path(folder) / "s.sqlite", clock=clock)
        try:
            write(store, clock, writes)
            days = [p.date for p in store.present(USD.key)]
            first, last = min(days), max(days)
            assert store_lags(store, USD, first, last) == reference(store, USD, first, last)
        finally:
            store.close()


def _history(path: Path, first_published: bool) -> CountingStore:
    """USD's oldest date stored at T0, then three dates of its last weeks stored a day apart a
    month later, each 5 minutes after its publication; the first of them with no publication
    instant unless ``first_published``."""
    clock = ManualClock(T0)
    store = CountingStore(path, clock)
    store.put_records([Record(USD.key, FIRST, Decimal("5"), Status.OK)])
    for i in range(3):
        clock.set(T0 + timedelta(days=30 + i))
        published = clock.now() - timedelta(minutes=5)
        attrs = {PUBLISHED_AT: published.isoformat()} if i or first_published else {}
        day = FIRST + timedelta(days=60 + i)
        store.put_records([Record(USD.key, day, Decimal("5"), Status.OK, attrs=attrs)])
    store.queries = 0
    return store


LAST = FIRST + timedelta(days=62)


def test_the_oldest_record_is_not_read_when_it_cannot_count_more_values(tmp_path: Path) -> None:
    """Every value of the window was published after the window's earliest storage: each
    counts whenever the pipeline began, so the record of the oldest date is not read (it was:
    one more query per stored series on every health view)."""
    store = _history(tmp_path / "s.sqlite", first_published=False)
    try:
        assert store_lags(store, USD, FIRST, LAST) == [300.0, 300.0]
        assert store.queries == 1
        assert reference(store, USD, FIRST, LAST) == [300.0, 300.0]
    finally:
        store.close()


def test_the_oldest_record_is_read_when_it_can(tmp_path: Path) -> None:
    """The window's first value was published before any of the window was stored: only the
    oldest record's storage (a month earlier) says the pipeline was running by then."""
    store = _history(tmp_path / "s.sqlite", first_published=True)
    try:
        assert store_lags(store, USD, FIRST, LAST) == [300.0, 300.0, 300.0]
        assert store.queries == 2
    finally:
        store.close()
