"""An answer fetched before a source's correction, written after another reader stored that
correction, must not put the old value back (two scrapers, one store, one manual clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.stages.conftest import NOW

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Observation, Record
from fuelpipe.homes.settings import Settings, policy_from
from fuelpipe.ports.source import FetchRequest, FetchResult, Source
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.scrape import StaleAnswer, scrape

BRENT = DEFAULT_CATALOG["COMMODITY#BRENT"]
DAY = date(2022, 3, 28)  # a Monday Brent is published for
OLD, CORRECTED = Decimal("104.5"), Decimal("199.5")


Meanwhile = Callable[[], None]


class Answers(Source):
    """Answers each request with the next value it was given for :data:`DAY`; the next of
    ``meanwhile`` runs after the request is sent and before its answer comes back (what
    another reader does meanwhile)."""

    def __init__(self, *values: Decimal, meanwhile: tuple[Meanwhile, ...] = ()) -> None:
        self.name = BRENT.source
        self.values = list(values)
        self.meanwhile = list(meanwhile)
        self.requests = 0

    def fetch(self, request: FetchRequest) -> FetchResult:
        self.requests += 1
        value = self.values.pop(0)
        if self.meanwhile:
            self.meanwhile.pop(0)()
        return FetchResult(iter([Observation(BRENT.key, DAY, value)]))


def _reader(
    tmp_path: Path, clock: ManualClock, source: Source, name: str, store_batch: int = 0
) -> StageContext:
    """One scraper process: its own store client on the shared file, the shared clock."""
    settings = Settings(db=tmp_path / "store.sqlite")
    return StageContext(
        catalog=DEFAULT_CATALOG,
        store=SqliteStore(settings.db, clock),
        queue=SqliteQueue(tmp_path / f"queue-{name}.sqlite", clock, timedelta(seconds=30)),
        sources={source.name: source},
        clock=clock,
        policy=policy_from(settings),
        store_batch=store_batch or settings.store_batch,
    )


def _revise_request() -> DownloadRequest:
    unit = BRENT.fetch_unit
    return DownloadRequest(
        partition_key=BRENT.key, dates_to_download=[DAY], fetch_unit=unit, origin="revise"
    )


def _stored(app: StageContext) -> Record:
    (rec,) = app.store.query(BRENT.key, DAY, DAY)
    return rec


def _race(
    tmp_path: Path, *a_answers: Decimal, stored_again: Decimal | None = None
) -> tuple[StageContext, Answers]:
    """The value stored at NOW; then reader A sends its request, reader B fetches the
    corrected value and stores it, and A's answer (``a_answers[0]``, then the next for each
    request A sends again) comes back: A's scrape is left to the caller. ``stored_again``:
    a third reader stores that value while A's second request is out."""
    clock = ManualClock(NOW)
    first = _reader(tmp_path, clock, Answers(OLD), "fill")
    assert scrape(first, _revise_request()).records_written == 1
    first.close()

    def reads(value: Decimal, name: str) -> Meanwhile:
        def other_reader() -> None:
            clock.advance(timedelta(seconds=5))
            other = _reader(tmp_path, clock, Answers(value), name)
            assert scrape(other, _revise_request()).revised == 1
            other.close()
            clock.advance(timedelta(seconds=5))

        return other_reader

    clock.advance(timedelta(minutes=10))
    meanwhile = [reads(CORRECTED, "b")]
    if stored_again is not None:
        meanwhile.append(reads(stored_again, "c"))
    source = Answers(*a_answers, meanwhile=tuple(meanwhile))
    return _reader(tmp_path, clock, source, "a"), source


def test_an_answer_older_than_the_stored_correction_is_fetched_again_not_written(
    tmp_path: Path,
) -> None:
    a, source = _race(tmp_path, OLD, CORRECTED)

    report = scrape(a, _revise_request())

    rec = _stored(a)
    assert rec.value == CORRECTED
    assert [(r.previous, r.new) for r in rec.revisions] == [(OLD, CORRECTED)]  # no flip-flop
    assert (report.revised, report.refetched, report.source_requests) == (0, 1, 2)
    assert source.requests == 2
    a.close()


def test_a_source_that_really_went_back_is_revised_by_the_answer_fetched_again(
    tmp_path: Path,
) -> None:
    """A value the source publishes is never dropped: asked again after the stored write, it
    still says the old value, and that answer is newer than the stored one."""
    a, _ = _race(tmp_path, OLD, OLD)

    report = scrape(a, _revise_request())

    rec = _stored(a)
    assert rec.value == OLD
    assert [(r.previous, r.new) for r in rec.revisions] == [(OLD, CORRECTED), (CORRECTED, OLD)]
    assert (report.revised, report.refetched) == (1, 1)
    a.close()


def test_answers_older_than_the_store_every_time_fail_the_message(tmp_path: Path) -> None:
    """Still older when fetched again (yet another reader stored meanwhile): the message
    fails, as a raced write does, and its redelivery fetches once more; nothing is written."""
    a, source = _race(tmp_path, OLD, OLD, stored_again=Decimal("200"))

    with pytest.raises(StaleAnswer):
        scrape(a, _revise_request())

    rec = _stored(a)
    assert rec.value == Decimal("200")
    assert [r.new for r in rec.revisions] == [CORRECTED, Decimal("200")]
    assert source.requests == 2
    a.close()


class TickingClock(ManualClock):
    """A manual clock that moves a millisecond each time it is read, as real time does."""

    def now(self) -> datetime:
        return self.advance(timedelta(milliseconds=1))


def test_a_date_an_answer_gives_twice_is_revised_by_its_later_row(tmp_path: Path) -> None:
    """The record a batch of the same answer wrote is no later answer's, though written after
    the request was sent: the date's later row, in a later batch, revises it as before."""
    clock = TickingClock(NOW)
    twice = [Observation(BRENT.key, DAY, OLD), Observation(BRENT.key, DAY, CORRECTED)]

    class Twice(Source):
        name = BRENT.source

        def fetch(self, request: FetchRequest) -> FetchResult:
            return FetchResult(iter(twice))

    # one date a batch: the second row comes in a batch of its own
    app = _reader(tmp_path, clock, Twice(), "a", store_batch=1)

    report = scrape(app, _revise_request())

    assert (report.records_written, report.revised, report.refetched) == (1, 1, 0)
    assert [(r.previous, r.new) for r in _stored(app).revisions] == [(OLD, CORRECTED)]
    app.close()
