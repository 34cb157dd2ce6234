"""The scraper reads a source's observations as a stream and stores them in bounded batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.stages.conftest import NOW, START

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Series
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import AttrValue, Observation, Record, Revision, Status
from fuelpipe.homes.settings import Settings, policy_from
from fuelpipe.ports.source import FetchRequest, FetchResult, InvalidPayload, ServerError, Source
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.scrape import freshness_attrs, scrape

USD = DEFAULT_CATALOG["CURRENCY#USD"]
BRENT = DEFAULT_CATALOG["COMMODITY#BRENT"]  # one request may cover any range
LONG_START = date(2000, 1, 3)  # ~6,500 Brent days in one message: several store batches
BATCH = 1_000


class RecordingStore(SqliteStore):
    """A real SQLite store that remembers the size of every add_values call (the scraper's
    write of its new values)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[int] = []

    def add_values(
        self,
        keys: Sequence[str],
        days: Sequence[date],
        values: Sequence[Decimal],
        attrs: Sequence[dict[str, AttrValue]],
    ) -> list[tuple[str, date]]:
        self.before_add()
        self.batches.append(len(keys))
        return super().add_values(keys, days, values, attrs)

    def before_add(self) -> None:
        """What happens just before each add_values call (subclasses: a failure, a rival)."""


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


class ListSource(Source):
    """Yields the observations it was given, in that order."""

    def __init__(self, name: str, observations: list[Observation]) -> None:
        self.name = name
        self.observations = observations

    def fetch(self, request: FetchRequest) -> FetchResult:
        return FetchResult(iter(self.observations))


class BrokenStore(RecordingStore):
    """Fails its ``fail_on``-th add_values call (1-based), as a lost connection would."""

    def __init__(self, path: Path, fail_on: int) -> None:
        super().__init__(path)
        self.fail_on = fail_on

    def before_add(self) -> None:
        if len(self.batches) + 1 == self.fail_on:
            self.batches.append(0)
            raise OSError("disk I/O error (synthetic)")


def _brent_request(days: list[date]) -> DownloadRequest:
    return DownloadRequest(
        partition_key=BRENT.key, dates_to_download=days, fetch_unit=BRENT.fetch_unit, origin="gap"
    )


def _brent_days(n: int) -> list[date]:
    return list(expected_between(get_calendar(BRENT.calendar), LONG_START, NOW.date()))[:n]


def test_a_date_seen_again_in_a_later_batch_is_revised_not_written_twice(tmp_path: Path) -> None:
    # A later batch sees what the earlier ones stored (the same date again, changed, is a
    # revision).
    days = _brent_days(3 * BATCH)
    first = [Observation(BRENT.key, d, Decimal("70") + i % 7) for i, d in enumerate(days)]
    again = Observation(BRENT.key, days[10], first[10].value + Decimal("0.5"))
    app, store = build(tmp_path, ListSource(BRENT.source, [*first, again]))
    report = scrape(app, _brent_request(days))
    assert sum(store.batches) == 3 * BATCH  # the date again is no new record
    assert report.records_written == 3 * BATCH
    assert report.revised == 1
    [revised] = store.revised(BRENT.key)
    assert (revised.date, revised.value) == (days[10], again.value)
    assert [r.previous for r in revised.revisions] == [first[10].value]
    app.close()


def test_a_date_given_twice_in_one_batch_with_two_values_is_logged(tmp_path: Path, caplog) -> None:
    # An adapter gives each date once (FRED's repeated dates are its bad rows); one that did
    # not would have its earlier value replaced in the batch, never silently.
    days = _brent_days(5)
    first = [Observation(BRENT.key, d, Decimal("70") + i) for i, d in enumerate(days)]
    again = Observation(BRENT.key, days[2], Decimal("72.5"))
    same = Observation(BRENT.key, days[3], Decimal("73.00"))  # the same value: no word
    app, store = build(tmp_path, ListSource(BRENT.source, [*first, again, same]))
    with caplog.at_level("WARNING", logger="fuelpipe.stages.scrape"):
        report = scrape(app, _brent_request(days))
    assert (report.records_written, report.revised) == (5, 0)
    assert store.query(BRENT.key, days[2], days[2])[0].value == Decimal("72.5")
    [logged] = [r.getMessage() for r in caplog.records if "twice" in r.getMessage()]
    assert logged.endswith(
        f"COMMODITY#BRENT {days[2].isoformat()} is in the answer twice, 72 then 72.5: "
        "the later one is taken"
    )
    app.close()


def test_a_batch_write_that_fails_fails_the_message_and_a_redelivery_completes_it(
    tmp_path: Path,
) -> None:
    days = _brent_days(3 * BATCH + 17)
    observations = [Observation(BRENT.key, d, Decimal("70.25")) for d in days]
    source = ListSource(BRENT.source, observations)
    app, _ = build(tmp_path, source)
    broken = BrokenStore(tmp_path / "store.sqlite", fail_on=2)  # the second batch
    app.store = broken
    with pytest.raises(OSError, match="synthetic"):
        scrape(app, _brent_request(days))
    # Only the batch before the failure is stored, and no date was marked PENDING for it.
    assert [p.status for p in broken.present(BRENT.key)] == [Status.OK] * BATCH
    broken.fail_on = 0
    report = scrape(app, _brent_request(days))  # the queue redelivers the message
    assert report.records_written == len(days) - BATCH
    assert [p.date for p in broken.present(BRENT.key)] == days
    assert broken.pending() == []
    broken.close()
    app.close()


class RacedStore(RecordingStore):
    """Another scraper stores ``rival`` values just before this one's first add_values, after
    this one read what was stored: the race that used to overwrite a value unrecorded."""

    def __init__(self, path: Path, rival: list[Record]) -> None:
        super().__init__(path)
        self.rival = rival

    def before_add(self) -> None:
        if self.rival:
            SqliteStore.put_records(self, self.rival)  # the other writer, on the same file
            self.rival = []


def test_a_date_another_scraper_stored_meanwhile_is_revised_with_its_history(
    tmp_path: Path,
) -> None:
    days = _brent_days(5)
    ours = [Observation(BRENT.key, d, Decimal("80.5")) for d in days]
    app, _ = build(tmp_path, ListSource(BRENT.source, ours))
    rival = [
        Record(BRENT.key, days[1], Decimal("79.9"), Status.OK),  # the source said otherwise
        # the same value and attributes: nothing to do
        Record(
            BRENT.key, days[3], Decimal("80.5"), Status.OK, attrs=freshness_attrs(BRENT, days[3])
        ),
    ]
    store = RacedStore(tmp_path / "store.sqlite", rival)
    app.store = store
    report = scrape(app, _brent_request(days))
    assert report.records_written == 3
    assert report.revised == 1
    assert [(r.date, r.value) for r in store.query(BRENT.key)] == [
        (d, Decimal("80.5")) for d in days
    ]
    [revised] = store.revised(BRENT.key)
    assert revised.date == days[1]
    assert [(r.previous, r.new) for r in revised.revisions] == [(Decimal("79.9"), Decimal("80.5"))]
    store.close()
    app.close()


def test_a_date_another_scraper_stored_whole_keeps_the_figure_this_answer_lacks(
    tmp_path: Path,
) -> None:
    """The rival stored the date with its volume after this scraper read; this answer has the
    same value without the volume: refused, compared, and left as the rival stored it (no
    revision, nothing noted lacking, not fetched again as an answer older than the rival's)."""
    days = _brent_days(3)
    lacked: dict[str, AttrValue] = {"volume": None, "lacking": "volume"}
    ours = [Observation(BRENT.key, d, Decimal("80.5"), lacked) for d in days]
    app, _ = build(tmp_path, ListSource(BRENT.source, ours))
    whole = {**freshness_attrs(BRENT, days[1]), "volume": 10}
    store = RacedStore(
        tmp_path / "store.sqlite", [Record(BRENT.key, days[1], Decimal("80.5"), Status.OK, 0,
                                           attrs=whole)]
    )  # fmt: skip
    app.store = store
    report = scrape(app, _brent_request(days))
    assert (report.records_written, report.revised, report.lacking_noted) == (2, 0, 2)
    assert report.refetched == 0  # nothing to revise, so no stale answer to fetch again
    [kept] = store.query(BRENT.key, days[1], days[1])
    assert kept.attrs == whole and not kept.revisions
    store.close()
    app.close()


def test_a_value_republished_with_other_attributes_keeps_both(tmp_path: Path) -> None:
    days = _brent_days(3)
    first = [Observation(BRENT.key, d, Decimal("80.5"), {"volume": 10}) for d in days]
    app, store = build(tmp_path, ListSource(BRENT.source, first))
    assert scrape(app, _brent_request(days)).records_written == 3
    before = store.query(BRENT.key, days[1], days[1])[0].attrs
    app.sources[BRENT.source] = ListSource(
        BRENT.source, [*first[:1], Observation(BRENT.key, days[1], Decimal("80.5"), {"volume": 12})]
    )
    report = scrape(app, _brent_request(days[:2]))
    assert (report.records_written, report.revised) == (0, 1)
    (rec,) = store.query(BRENT.key, days[1], days[1])
    assert rec.value == Decimal("80.5")
    assert rec.attrs == {**before, "volume": 12}
    [revision] = rec.revisions
    assert (revision.previous, revision.new, revision.previous_attrs) == (
        Decimal("80.5"),
        Decimal("80.5"),
        before,
    )
    # The same again changes nothing.
    assert scrape(app, _brent_request(days[:2])).revised == 0
    app.close()


class FailingSource(Source):
    """Every request fails, as a source outage does."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fetch(self, request: FetchRequest) -> FetchResult:
        raise ServerError(f"{self.name}: HTTP 503 (synthetic)")


class CountingStore(RecordingStore):
    """Counts PENDING writes: one by one, and together."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.one_by_one = 0
        self.together: list[int] = []

    def put_pending(self, record: Record) -> bool:
        self.one_by_one += 1
        return super().put_pending(record)

    def put_pendings(self, records: Sequence[Record]) -> list[bool]:
        self.together.append(len(records))
        return SqliteStore.put_pendings(self, records)


def test_a_failed_request_marks_its_dates_pending_in_one_write(tmp_path: Path) -> None:
    days = _brent_days(3 * BATCH)
    app, _ = build(tmp_path, FailingSource(BRENT.source))
    store = CountingStore(tmp_path / "counting.sqlite")
    app.store = store
    report = scrape(app, _brent_request(days))
    assert report.pending_written == len(days)
    assert (store.together, store.one_by_one) == ([len(days)], 0)
    assert [r.date for r in store.pending()] == days
    assert all("HTTP 503" in (r.reason or "") for r in store.pending())
    store.close()
    app.close()


class RevisedMeanwhile(RecordingStore):
    """Another writer revises a date just before this scraper's first revise of it."""

    def __init__(self, path: Path, rival: Revision) -> None:
        super().__init__(path)
        self.rival: Revision | None = rival

    def revise(
        self,
        key: str,
        day: date,
        revision: Revision,
        attrs: dict[str, Any],
        *,
        history: int | None = None,
        answered_at: datetime | None = None,
    ) -> bool:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            assert SqliteStore.revise(self, key, day, rival, attrs)
        return super().revise(key, day, revision, attrs, history=history, answered_at=answered_at)


def test_a_revision_that_races_another_is_read_again_and_both_are_kept(tmp_path: Path) -> None:
    days = _brent_days(3)
    first = [Observation(BRENT.key, d, Decimal("80.5")) for d in days]
    app, store = build(tmp_path, ListSource(BRENT.source, first))
    assert scrape(app, _brent_request(days)).records_written == 3
    store.close()
    rival = Revision(Decimal("80.5"), Decimal("81"), NOW, "another scraper")
    raced = RevisedMeanwhile(tmp_path / "store.sqlite", rival)
    app.store = raced
    app.sources[BRENT.source] = ListSource(
        BRENT.source, [Observation(BRENT.key, days[1], Decimal("82"))]
    )
    report = scrape(app, _brent_request(days[1:2]))
    assert report.revised == 1
    (rec,) = raced.query(BRENT.key, days[1], days[1])
    assert rec.value == Decimal("82")
    assert [(r.previous, r.new) for r in rec.revisions] == [
        (Decimal("80.5"), Decimal("81")),  # the other writer's, then ours over it
        (Decimal("81"), Decimal("82")),
    ]
    raced.close()
    app.close()
