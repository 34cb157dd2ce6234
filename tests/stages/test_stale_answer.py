"""An answer fetched before a source's correction, written after another reader stored that
correction, must not put the old value back (two scrapers, one store, one business clock and
one wall clock: the store orders writes on the wall clock, so a fixed business clock, a
``--now`` run's, orders them too)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.contract.conftest import STORE_FACTORIES, StoreOpener
from tests.stages.conftest import NOW

from fuelpipe.adapters.clock import FixedClock, ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Observation, Record, Split, Status
from fuelpipe.homes.settings import Settings, policy_from
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.source import FetchRequest, FetchResult, Source
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.scrape import StaleAnswer, scrape, split_applied_name

BRENT = DEFAULT_CATALOG["COMMODITY#BRENT"]
DAY = date(2022, 3, 28)  # a Monday Brent is published for
OLD, CORRECTED = Decimal("104.5"), Decimal("199.5")


Meanwhile = Callable[[], None]


class TickingClock(ManualClock):
    """A manual clock that moves a millisecond each time it is read, as real time does."""

    def now(self) -> datetime:
        return self.advance(timedelta(milliseconds=1))


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


@dataclass(frozen=True)
class Home:
    """One store of a home (its clients opened by ``open``) and a folder for the queues."""

    open: StoreOpener
    path: Path


@pytest.fixture(params=["sqlite", "dynamodb-dynalite"])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Home]:
    """A real store of each home (one table, one SQLite file), every reader a client of its
    own; each client is closed after the test."""
    open_store = STORE_FACTORIES[request.param](request, tmp_path)
    opened: list[Store] = []

    def opener(clock: Clock | None = None, wall: Clock | None = None) -> Store:
        opened.append(open_store(clock, wall))
        return opened[-1]

    yield Home(opener, tmp_path)
    for store in opened:
        closer = getattr(store, "close", None)
        if callable(closer):
            closer()


def _reader(
    home: Home,
    clocks: tuple[Clock, Clock],
    source: Source,
    name: str,
    store_batch: int = 0,
) -> StageContext:
    """One scraper process: its own store client, the shared clocks (the business clock, and
    the wall clock its store orders writes on)."""
    clock, wall = clocks
    settings = Settings()
    return StageContext(
        catalog=DEFAULT_CATALOG,
        store=home.open(clock, wall),
        queue=SqliteQueue(home.path / f"queue-{name}.sqlite", wall, timedelta(seconds=30)),
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
    home: Home,
    *a_answers: Decimal,
    stored_again: Decimal | None = None,
    business: Clock | None = None,
) -> tuple[StageContext, Answers]:
    """The value stored at NOW; then reader A sends its request, reader B fetches the
    corrected value and stores it, and A's answer (``a_answers[0]``, then the next for each
    request A sends again) comes back: A's scrape is left to the caller. ``stored_again``:
    a third reader stores that value while A's second request is out. ``business``: the
    readers' business clock (a manual one, moved as the wall clock is, unless given)."""
    wall = ManualClock(NOW)
    clocks = (business or wall, wall)
    first = _reader(home, clocks, Answers(OLD), "fill")
    assert scrape(first, _revise_request()).records_written == 1
    first.close()

    def reads(value: Decimal, name: str) -> Meanwhile:
        def other_reader() -> None:
            wall.advance(timedelta(seconds=5))
            other = _reader(home, clocks, Answers(value), name)
            assert scrape(other, _revise_request()).revised == 1
            other.close()
            wall.advance(timedelta(seconds=5))

        return other_reader

    wall.advance(timedelta(minutes=10))
    meanwhile = [reads(CORRECTED, "b")]
    if stored_again is not None:
        meanwhile.append(reads(stored_again, "c"))
    source = Answers(*a_answers, meanwhile=tuple(meanwhile))
    return _reader(home, clocks, source, "a"), source


def test_an_answer_older_than_the_stored_correction_is_fetched_again_not_written(
    home: Home,
) -> None:
    a, source = _race(home, OLD, CORRECTED)

    report = scrape(a, _revise_request())

    rec = _stored(a)
    assert rec.value == CORRECTED
    assert [(r.previous, r.new) for r in rec.revisions] == [(OLD, CORRECTED)]  # no flip-flop
    assert (report.revised, report.refetched, report.source_requests) == (0, 1, 2)
    assert source.requests == 2
    a.close()


def test_a_source_that_really_went_back_is_revised_by_the_answer_fetched_again(
    home: Home,
) -> None:
    """A value the source publishes is never dropped: asked again after the stored write, it
    still says the old value, and that answer is newer than the stored one."""
    a, _ = _race(home, OLD, OLD)

    report = scrape(a, _revise_request())

    rec = _stored(a)
    assert rec.value == OLD
    assert [(r.previous, r.new) for r in rec.revisions] == [(OLD, CORRECTED), (CORRECTED, OLD)]
    assert (report.revised, report.refetched) == (1, 1)
    a.close()


def test_answers_older_than_the_store_every_time_fail_the_message(home: Home) -> None:
    """Still older when fetched again (yet another reader stored meanwhile): the message
    fails, as a raced write does, and its redelivery fetches once more; nothing is written."""
    a, source = _race(home, OLD, OLD, stored_again=Decimal("200"))

    with pytest.raises(StaleAnswer):
        scrape(a, _revise_request())

    rec = _stored(a)
    assert rec.value == Decimal("200")
    assert [r.new for r in rec.revisions] == [CORRECTED, Decimal("200")]
    assert source.requests == 2
    a.close()


def test_a_date_an_answer_gives_twice_is_revised_by_its_later_row(home: Home) -> None:
    """The record a batch of the same answer wrote is no later answer's, though written after
    the request was sent: the date's later row, in a later batch, revises it as before."""
    clock = TickingClock(NOW)
    twice = [Observation(BRENT.key, DAY, OLD), Observation(BRENT.key, DAY, CORRECTED)]

    class Twice(Source):
        name = BRENT.source

        def fetch(self, request: FetchRequest) -> FetchResult:
            return FetchResult(iter(twice))

    # one date a batch: the second row comes in a batch of its own
    app = _reader(home, (clock, clock), Twice(), "a", store_batch=1)

    report = scrape(app, _revise_request())

    assert (report.records_written, report.revised, report.refetched) == (1, 1, 0)
    assert [(r.previous, r.new) for r in _stored(app).revisions] == [(OLD, CORRECTED)]
    app.close()


def test_a_fixed_business_clock_orders_the_answers_on_the_wall_clock(home: Home) -> None:
    """A ``--now`` run: every reader's business clock says NOW, so every ``updated_at`` is
    equal and orders nothing. The store orders its writes on the wall clock, kept apart: A's
    answer, requested before B stored the correction, is fetched again, not written over it."""
    a, source = _race(home, OLD, CORRECTED, business=FixedClock(NOW))

    report = scrape(a, _revise_request())

    rec = _stored(a)
    assert (rec.value, rec.updated_at) == (CORRECTED, NOW)
    assert [(r.previous, r.new) for r in rec.revisions] == [(OLD, CORRECTED)]  # no flip-flop
    assert (report.revised, report.refetched, source.requests) == (0, 1, 2)
    a.close()


class _Stream(Source):
    """Answers each request with the next list of rows it was given; before a row that is a
    callable instead, it runs it (what another reader does while the answer streams in)."""

    name = BRENT.source

    def __init__(self, *answers: list[Observation | Meanwhile]) -> None:
        self.answers = list(answers)
        self.requests = 0

    def fetch(self, request: FetchRequest) -> FetchResult:
        self.requests += 1
        rows = self.answers.pop(0)

        def stream() -> Iterator[Observation]:
            for row in rows:
                if isinstance(row, Observation):
                    yield row
                else:
                    row()

        return FetchResult(stream())


def test_a_date_an_answer_wrote_that_another_reader_revised_since_is_fetched_again(
    home: Home,
) -> None:
    """A's answer gives the date twice, in two batches. Its first row is written; then B
    (asked after that write) stores the source's correction; then A's second row comes: it
    is older than B's write (its request was sent before), so it may not revise it, though
    A's own batch wrote the date first. Fetched again, the source says the correction."""
    clock = TickingClock(NOW)
    clocks = (clock, clock)
    fill = _reader(home, clocks, Answers(OLD), "fill")
    assert scrape(fill, _revise_request()).records_written == 1
    fill.close()
    first_row, second_row = Decimal("150"), Decimal("151")

    def b_stores_the_correction() -> None:
        b = _reader(home, clocks, Answers(CORRECTED), "b")
        assert scrape(b, _revise_request()).revised == 1
        b.close()

    source = _Stream(
        [
            Observation(BRENT.key, DAY, first_row),
            b_stores_the_correction,
            Observation(BRENT.key, DAY, second_row),
        ],
        [Observation(BRENT.key, DAY, CORRECTED)],
    )
    a = _reader(home, clocks, source, "a", store_batch=1)  # one row a batch

    report = scrape(a, _revise_request())

    rec = _stored(a)
    assert rec.value == CORRECTED
    assert [(r.previous, r.new) for r in rec.revisions] == [
        (OLD, first_row),
        (first_row, CORRECTED),
    ]
    assert (report.revised, report.refetched, source.requests) == (1, 1, 2)
    a.close()


PETR4 = DEFAULT_CATALOG["STOCK#PETR4"]
BEFORE_SPLIT = date(2022, 3, 21)  # a Monday: a close stored before the split
EX_DATE = date(2022, 3, 28)  # the next Monday: the split's ex-date, the message's date


def test_a_split_reread_older_than_a_value_stored_meanwhile_is_fetched_again(
    home: Home,
) -> None:
    """A's answer shows a 2:1 split, so A re-reads PETR4's whole stored history. While that
    re-read is out, B stores a correction of the close before the split (on the new basis);
    the re-read's answer, requested before it, may not revise it: it is fetched again, as
    the message's own answer would be, and the message succeeds."""
    clock = TickingClock(NOW)
    clocks = (clock, clock)
    seeded = home.open(clock, clock)
    assert seeded.add_records([Record(PETR4.key, BEFORE_SPLIT, Decimal("34"), Status.OK)]) == []
    split = Split(PETR4.key, EX_DATE, Decimal(2), Decimal(1))
    halved, corrected, after = Decimal("17"), Decimal("17.1"), Decimal("18")

    def b_stores_a_correction() -> None:
        b_source = _Petr4(FetchResult(iter([Observation(PETR4.key, BEFORE_SPLIT, corrected)])))
        b = _reader(home, clocks, b_source, "b")
        assert scrape(b, _petr4_request(BEFORE_SPLIT)).revised == 1
        b.close()

    source = _Petr4(
        FetchResult(iter([Observation(PETR4.key, EX_DATE, after)]), splits=(split,)),
        (b_stores_a_correction, [(BEFORE_SPLIT, halved), (EX_DATE, after)]),
        [(BEFORE_SPLIT, corrected), (EX_DATE, after)],
    )
    a = _reader(home, clocks, source, "a")

    report = scrape(a, _petr4_request(EX_DATE))

    (before, _) = a.store.query(PETR4.key, BEFORE_SPLIT, EX_DATE)
    assert before.value == corrected
    assert [(r.previous, r.new) for r in before.revisions] == [(Decimal("34"), corrected)]
    assert (report.split_rereads, report.split_rereads_failed, report.refetched) == (1, 0, 1)
    assert source.requests == 3
    assert a.store.get_meta(split_applied_name(split)) == "2:1"
    a.close()


Rows = list[tuple[date, Decimal]]


class _Petr4(Source):
    """PETR4's answers in order: a FetchResult as it is, rows as an answer of those closes,
    or (meanwhile, rows): ``meanwhile`` run once the request is sent, then those rows."""

    name = PETR4.source

    def __init__(self, *answers: FetchResult | Rows | tuple[Meanwhile, Rows]) -> None:
        self.answers = list(answers)
        self.requests = 0

    def fetch(self, request: FetchRequest) -> FetchResult:
        self.requests += 1
        answer = self.answers.pop(0)
        if isinstance(answer, FetchResult):
            return answer
        if isinstance(answer, tuple):
            meanwhile, answer = answer
            meanwhile()
        return FetchResult(iter([Observation(PETR4.key, d, v) for d, v in answer]))


def _petr4_request(day: date) -> DownloadRequest:
    return DownloadRequest(
        partition_key=PETR4.key, dates_to_download=[day], fetch_unit=PETR4.fetch_unit
    )
