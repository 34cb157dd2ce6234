"""The scraper reads a source's observations as a stream and stores them in bounded batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from tests.stages.conftest import NOW, START

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Series
from fuelpipe.domain.models import Observation, Record, Status
from fuelpipe.homes.settings import Settings, policy_from
from fuelpipe.ports.source import FetchRequest, FetchResult, InvalidPayload, Source
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import run_cycle

USD = DEFAULT_CATALOG["CURRENCY#USD"]
BRENT = DEFAULT_CATALOG["COMMODITY#BRENT"]  # one request may cover any range
LONG_START = date(2000, 1, 3)  # ~6,500 Brent days in one message: several store batches
BATCH = 1_000


class RecordingStore(SqliteStore):
    """A real SQLite store that remembers the size of every put_records call."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[int] = []

    def put_records(self, records: Sequence[Record]) -> int:
        self.batches.append(len(records))
        return super().put_records(records)


class StreamingSource(Source):
    """Yields one observation per expected day of its series, lazily; may break part-way."""

    def __init__(self, series: Series, break_after: int | None = None) -> None:
        self.series = series
        self.name = series.source
        self.break_after = break_after
        self.yielded = 0

    def fetch(self, request: FetchRequest) -> FetchResult:
        def stream() -> Iterator[Observation]:
            cal = get_calendar(self.series.calendar)
            for day in expected_between(cal, request.start, request.end):
                if self.break_after is not None and self.yielded >= self.break_after:
                    raise InvalidPayload("bcb: payload cut off part-way (synthetic)")
                self.yielded += 1
                yield Observation(
                    self.series.key, day, Decimal("5.0") + Decimal(self.yielded) / 10**5
                )

        return FetchResult(stream())


def build(tmp_path: Path, source: StreamingSource) -> tuple[StageContext, RecordingStore]:
    settings = Settings(db=tmp_path / "store.sqlite", store_batch=BATCH)
    clock = ManualClock(NOW)
    store = RecordingStore(settings.db)
    app = StageContext(
        catalog=DEFAULT_CATALOG,
        store=store,
        queue=SqliteQueue(tmp_path / "queue.sqlite", clock, visibility_timeout=timedelta(30)),
        sources={source.name: source},
        clock=clock,
        policy=policy_from(settings),
        store_batch=settings.store_batch,
    )
    return app, store


def test_a_long_history_is_stored_in_bounded_batches(tmp_path: Path) -> None:
    app, store = build(tmp_path, StreamingSource(BRENT))
    report = run_cycle(app, series=[BRENT], since=LONG_START)
    assert report.orchestrate.messages_sent == 1
    written = report.scrape.records_written
    assert written > BATCH
    assert len(store.present(BRENT.key)) == written
    assert store.pending() == []
    # Several calls, none above the bound, adding up to the whole message.
    assert max(store.batches) == BATCH
    assert sum(store.batches) == written
    app.close()


def test_a_stream_that_breaks_part_way_keeps_what_it_read(tmp_path: Path) -> None:
    source = StreamingSource(USD, break_after=40)
    app, store = build(tmp_path, source)
    report = run_cycle(app, series=[USD], since=START)
    statuses = [p.status for p in store.present(USD.key)]
    assert statuses[:40] == [Status.OK] * 40
    assert set(statuses[40:]) == {Status.PENDING}
    assert report.scrape.records_written == 40
    rest = store.pending()
    assert rest
    assert all("cut off part-way" in (r.reason or "") for r in rest)
    app.close()
