"""A stock split re-bases every earlier close: the whole stored history is re-read once.

The real replay server serves the bundled real PETR4 bars; after a backfill it serves them
with a synthetic 2:1 split on 2022-04-25 (``fuelpipe replay --split``: every earlier price
halved, the split in ``events.splits``), as Yahoo's split-adjusted chart does. The real Yahoo
adapter and the real stages run on a real store of each home (SQLite file, DynamoDB on
dynalite). The gap fetch that shows the split is followed by one re-read of the ticker's
whole stored history, so every stored close ends on the new basis, each changed one with its
previous value in its history. A redelivered message, a later ``revise`` that sees the split
again, or a delivery that dies before the split is marked applied add no history entry. A
dividend (synthetic, ``--dividend``) re-reads nothing, nor does a backfill whose answer
covers the split and every stored date. A re-read that fails (the replay answering it with a
maintenance page) leaves the ticker owing it (``split_owed``, shown by ``status``); the
ticker's next message, whose answer no longer shows the split, re-reads the history then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from tests.contract.conftest import STORE_FACTORIES
from tests.stages.conftest import POLICY, deliver_one

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sources._http import make_client
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.adapters.sources.yahoo import YahooChartSource, chart_url
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.display import print_status
from fuelpipe.domain.calendars import SAO_PAULO
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import HistoryKind, Record, Split, Status
from fuelpipe.ports.source import FetchRequest, Source
from fuelpipe.ports.store import Store
from fuelpipe.replay.faults import Decision, FaultKind, FaultPlan
from fuelpipe.replay.revisions import parse_dividend, parse_split
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.orchestrate import orchestrate
from fuelpipe.stages.revise import revise
from fuelpipe.stages.scrape import (
    SPLIT_APPLIED,
    Owed,
    handle_message,
    owed_entry,
    owed_splits,
    split_applied_name,
    split_owed_name,
)
from fuelpipe.stages.status import key_status

PETR4 = DEFAULT_CATALOG["STOCK#PETR4"]
SINCE = date(2022, 3, 1)
BACKFILL_AT = datetime(2022, 4, 22, 23, 0, tzinfo=SAO_PAULO)  # history through Friday 04-22
EX_DATE = date(2022, 4, 25)  # the next session: the synthetic split's ex-date
LATER = datetime(2022, 5, 8, 10, 0, tzinfo=SAO_PAULO)  # the bars through 05-06 are out
SYNTHETIC_SPLIT = dict([parse_split(f"{PETR4.key}@{EX_DATE}=2:1")])
SYNTHETIC_DIVIDEND = dict([parse_dividend(f"{PETR4.key}@{EX_DATE}=0.97")])
_SPLIT = Split(PETR4.key, EX_DATE, Decimal(2), Decimal(1))
NEW_DAYS = 10  # 2022-04-25 … 2022-05-06: the sessions the gap fetch adds
MIDDLE = datetime(2022, 5, 3, 10, 0, tzinfo=SAO_PAULO)  # the bars through 05-02 are out
OWED = split_owed_name(PETR4.key)
VISIBILITY = timedelta(seconds=30)


@dataclass
class Home:
    """A store of one home, a SQLite queue beside it and the clock both read."""

    store: Store
    queue: SqliteQueue
    clock: ManualClock

    def context(self, replay: ReplayServer, *, bcb: bool = False) -> StageContext:
        """The stages' context with the real Yahoo adapter (and BCB's when ``bcb``) pointed
        at ``replay``."""
        urls = replay.source_urls()
        sources: dict[str, Source] = {
            "yahoo": YahooChartSource(urls["yahoo"], make_client(timeout_s=5.0))
        }
        if bcb:
            sources["bcb"] = BcbPtaxSource(urls["bcb"], make_client(timeout_s=5.0))
        return StageContext(
            catalog=DEFAULT_CATALOG,
            store=self.store,
            queue=self.queue,
            sources=sources,
            clock=self.clock,
            policy=POLICY,
        )

    def close(self) -> None:
        """Close the queue and the store."""
        self.queue.close()
        closer = getattr(self.store, "close", None)
        if callable(closer):
            closer()


def _home(store: Store, tmp_path: Path) -> Home:
    clock = ManualClock(BACKFILL_AT)
    return Home(store, SqliteQueue(tmp_path / "queue.sqlite", clock, VISIBILITY), clock)


@pytest.fixture(params=["sqlite", "dynamodb-dynalite"])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Home]:
    """A real store of each home."""
    with closing(_home(STORE_FACTORIES[request.param](request, tmp_path)(), tmp_path)) as h:
        yield h


def _backfill(home: Home) -> dict[date, Record]:
    """PETR4 from March to 2022-04-22 from the replay without a split; what was stored."""
    home.clock.set(BACKFILL_AT)
    with ReplayServer(quiet=True) as replay:
        app = home.context(replay)
        run_cycle(app, series=[PETR4], since=SINCE, outlook=False)
        app.sources["yahoo"].close()
    stored = _stored(home.store)
    assert stored and max(stored) == date(2022, 4, 22)
    return stored


def _stored(store: Store) -> dict[date, Record]:
    return {r.date: r for r in store.query(PETR4.key) if r.status is Status.OK}


def _served(replay: ReplayServer) -> dict[date, Decimal]:
    """The closes the replay serves, as the adapter reads them (the JSON number's text)."""
    return {b.day: Decimal(repr(b.close)) for b in replay.snapshot.bars[PETR4.symbol]}


def test_a_split_rereads_the_whole_history_once_and_each_changed_close_keeps_its_old_value(
    home: Home,
) -> None:
    before = _backfill(home)
    first_day = min(before)
    home.clock.set(LATER)
    with ReplayServer(quiet=True, splits=SYNTHETIC_SPLIT) as replay:
        app = home.context(replay)
        orchestrate(app, series=[PETR4], since=SINCE)  # the gap: 04-25 … 05-06
        first = deliver_one(app, delete=False)  # the worker dies before deleting it
        assert replay.request_counts["yahoo"] == 2  # the gap, then the whole history
        home.clock.advance(VISIBILITY + timedelta(seconds=1))
        again = deliver_one(app)  # at least once: the same message again
        assert replay.request_counts["yahoo"] == 3  # the split is marked applied: no re-read
        served = _served(replay)

        revise(app, series=[PETR4])  # its 35-day window shows the split once more
        later = drain(app)
        assert replay.request_counts["yahoo"] == 4
        app.sources["yahoo"].close()

    assert (first.records_written, first.revised, first.split_rereads) == (
        NEW_DAYS,
        len(before),
        1,
    )
    assert first.source_requests == 2
    for report in (again, later):
        assert (report.records_written, report.revised, report.split_rereads) == (0, 0, 0)
        assert report.adjusted == 0

    after = _stored(home.store)
    assert set(after) == set(before) | {d for d in served if EX_DATE <= d <= date(2022, 5, 6)}
    for day, record in after.items():
        assert record.value == served[day]  # every stored close on the new basis
        if day >= EX_DATE:
            assert record.revisions == ()  # stored after the split: never on the old basis
            continue
        old = before[day]
        assert record.value is not None and old.value is not None
        assert abs(record.value * 2 - old.value) <= Decimal("0.000002")
        [entry] = record.revisions  # one entry, though the split was seen three times
        assert entry.kind is HistoryKind.REVISION
        assert (entry.previous, entry.new) == (old.value, record.value)
        assert entry.previous_attrs == old.attrs
        assert entry.seen_at == LATER
        assert entry.request == (
            f"split {PETR4.fetch_unit} {first_day.isoformat()}..{date(2022, 5, 6).isoformat()}"
        )
    assert home.store.get_meta(split_applied_name(_SPLIT)) == "2:1"
    assert len(home.store.revised(PETR4.key)) == len(before)


class _DiesMarkingTheSplit(SqliteStore):
    """A real SQLite store whose worker dies (an exception out of the message) the first time
    it marks a split applied: after the re-read's revisions are stored, before the mark."""

    died = False

    def put_meta(self, name: str, value: str) -> None:
        if name.startswith(SPLIT_APPLIED) and not self.died:
            self.died = True
            raise _WorkerDied(name)
        super().put_meta(name, value)


class _WorkerDied(RuntimeError):
    """Stands for the process being killed at that point."""


def test_a_delivery_that_dies_before_marking_the_split_rereads_again_and_adds_nothing(
    tmp_path: Path,
) -> None:
    store = _DiesMarkingTheSplit(tmp_path / "store.sqlite")
    with closing(_home(store, tmp_path)) as home:
        before = _backfill(home)
        home.clock.set(LATER)
        with ReplayServer(quiet=True, splits=SYNTHETIC_SPLIT) as replay:
            app = home.context(replay)
            orchestrate(app, series=[PETR4], since=SINCE)
            with pytest.raises(_WorkerDied):
                deliver_one(app)
            revised = _stored(store)
            assert all(len(revised[d].revisions) == 1 for d in before)  # stored, not marked
            home.clock.advance(VISIBILITY + timedelta(seconds=1))
            again = deliver_one(app)
            assert replay.request_counts["yahoo"] == 4  # each delivery: the gap, the history
            served = _served(replay)
            app.sources["yahoo"].close()

        assert (again.split_rereads, again.revised, again.records_written) == (1, 0, 0)
        after = _stored(store)
        assert all(after[d].value == served[d] for d in after)
        assert all(len(after[d].revisions) == 1 for d in before)  # no entry twice
        assert store.get_meta(split_applied_name(_SPLIT)) == "2:1"
        assert key_status(app, PETR4, since=SINCE).revised == len(before)


def test_a_dividend_rereads_no_history(tmp_path: Path) -> None:
    """A dividend re-bases adj_close only: the answers carry it in events.dividends, and no
    whole-history re-read follows (one request per message, adjustments only)."""
    with closing(_home(SqliteStore(tmp_path / "store.sqlite"), tmp_path)) as home:
        before = _backfill(home)
        home.clock.set(LATER)
        with ReplayServer(quiet=True, dividends=SYNTHETIC_DIVIDEND) as replay:
            base = replay.source_urls()["yahoo"]
            url = chart_url(base, PETR4.symbol, EX_DATE, date(2022, 5, 6), PETR4.exchange_tz)
            events = httpx.get(url, timeout=10).json()["chart"]["result"][0]["events"]
            assert set(events) == {"dividends"}  # what the gap fetch below is answered
            app = home.context(replay)
            orchestrate(app, series=[PETR4], since=SINCE)
            gap = drain(app)
            revise(app, series=[PETR4])
            window = drain(app)
            assert replay.request_counts["yahoo"] == 3  # the two above and the check
            app.sources["yahoo"].close()

        assert gap.records_written == NEW_DAYS
        for report in (gap, window):
            assert (report.split_rereads, report.revised, report.source_requests) == (0, 0, 1)
        assert window.adjusted > 0  # the window's dates before the ex-date: adj_close re-based
        after = _stored(home.store)
        assert all(after[d].value == before[d].value for d in before)  # the closes stand
        assert home.store.revised(PETR4.key) == []


def test_a_backfill_that_covers_the_split_rereads_nothing(tmp_path: Path) -> None:
    """History first fetched after the split is on the new basis already: the answer that
    shows the split covers every stored date, so nothing is re-read and the split is marked
    applied (a later answer showing it reads no history to decide)."""
    with closing(_home(SqliteStore(tmp_path / "store.sqlite"), tmp_path)) as home:
        home.clock.set(LATER)
        with ReplayServer(quiet=True, splits=SYNTHETIC_SPLIT) as replay:
            app = home.context(replay)
            report = run_cycle(app, series=[PETR4], since=SINCE, outlook=False).scrape
            assert replay.request_counts["yahoo"] == 1
            served = _served(replay)
            app.sources["yahoo"].close()
        assert (report.split_rereads, report.revised) == (0, 0)
        stored = _stored(home.store)
        assert min(stored) < EX_DATE < max(stored)
        assert all(r.value == served[d] and r.revisions == () for d, r in stored.items())
        assert home.store.get_meta(split_applied_name(_SPLIT)) == "2:1"


def test_a_split_reread_asks_no_stored_date_after_the_clock(tmp_path: Path) -> None:
    """A store holding values dated after the clock (one `fuelpipe demo` filled: PETR4 runs to
    2025 there, the store's clock is 2022-05-07; or --now before the data): the re-read asks
    the stored dates up to the clock only. Each later one came back set aside as "in the
    future", never stored, a warning line per date (~850 on the demo's store), for values the
    store holds already, on dates after the ex-date the split does not re-base."""
    with closing(_home(SqliteStore(tmp_path / "store.sqlite"), tmp_path)) as home:
        home.clock.set(LATER)  # PETR4 through 2022-05-06, without the split
        with ReplayServer(quiet=True) as replay:
            app = home.context(replay)
            run_cycle(app, series=[PETR4], since=SINCE, outlook=False)
            app.sources["yahoo"].close()
        before = _stored(home.store)
        home.clock.set(MIDDLE)  # the store's clock before its last values: 05-03
        today = MIDDLE.date()
        assert max(before) > today
        with ReplayServer(quiet=True, splits=SYNTHETIC_SPLIT) as replay:
            app = home.context(replay)
            revise(app, series=[PETR4])  # its window shows the split
            report = drain(app)
            app.sources["yahoo"].close()
        assert (report.split_rereads, report.flagged) == (1, 0)
        after = _stored(home.store)
        assert set(after) == set(before)
        earlier = [d for d in before if d < EX_DATE]
        assert report.revised == len(earlier)
        for day, record in after.items():
            if day > today:  # not asked: as stored, and not set aside
                assert (record.value, record.revisions) == (before[day].value, ())
        last = max(d for d in before if d <= today)
        [entry] = after[min(before)].revisions
        assert entry.request.endswith(f"..{last.isoformat()}")


class _FailsYahoo(FaultPlan):
    """The replay's faults: Yahoo's requests numbered in ``failing`` are answered with a
    maintenance page (a 200 of HTML: InvalidPayload, which the adapter does not retry), the
    others cleanly."""

    def __init__(self, *failing: int) -> None:
        super().__init__()
        self.failing = frozenset(failing)

    def decide(self, source: str, seq: int) -> Decision:
        decision = super().decide(source, seq)
        if source == "yahoo" and seq in self.failing:
            return replace(decision, kind=FaultKind.HTML)
        return decision


def test_a_failed_split_reread_is_owed_until_a_later_message_of_the_ticker_rereads_it(
    home: Home,
) -> None:
    before = _backfill(home)
    home.clock.set(MIDDLE)
    with ReplayServer(quiet=True, splits=SYNTHETIC_SPLIT, faults=_FailsYahoo(2)) as replay:
        app = home.context(replay)
        orchestrate(app, series=[PETR4], since=SINCE)  # the gap 04-25 … 05-02 shows the split
        failed = deliver_one(app)
        assert replay.request_counts["yahoo"] == 2  # the gap, then the history: a failure
        owing = key_status(app, PETR4, since=SINCE)
        app.sources["yahoo"].close()

    assert (failed.split_rereads, failed.split_rereads_failed, failed.revised) == (0, 1, 0)
    assert home.store.get_meta(OWED) == "2022-04-25=2:1"
    assert owed_entry(home.store, PETR4) == Owed((_SPLIT,), MIDDLE)  # what, and since when
    assert failed.split_owed_written == 1
    assert home.store.get_meta(split_applied_name(_SPLIT)) is None
    stale = _stored(home.store)
    assert all(stale[d].value == before[d].value for d in before)  # still on the old basis
    assert owing.split_owed == "2022-04-25=2:1"
    shown = Console(file=StringIO(), width=400)
    print_status(shown, [owing])
    assert "STOCK#PETR4: whole-history re-read after a stock split owed (2022-04-25=2:1)" in (
        shown.file.getvalue()  # type: ignore[attr-defined]
    )

    home.clock.set(LATER)
    with ReplayServer(quiet=True, splits=SYNTHETIC_SPLIT) as plain:
        yahoo = home.context(plain).sources["yahoo"]
        answer = yahoo.fetch(
            FetchRequest(PETR4.fetch_unit, (PETR4,), date(2022, 5, 3), LATER.date())
        )
        yahoo.close()
    assert answer.observations and answer.splits == ()  # the next gap's answer: no split in it

    with ReplayServer(quiet=True, splits=SYNTHETIC_SPLIT, faults=_FailsYahoo(2)) as replay:
        app = home.context(replay)
        orchestrate(app, series=[PETR4], since=SINCE)  # the gap 05-03 … 05-06
        still = deliver_one(app, delete=False)  # the owed re-read fails again; the worker dies
        assert owed_entry(home.store, PETR4) == Owed((_SPLIT,), MIDDLE)  # since the first failure
        home.clock.advance(VISIBILITY + timedelta(seconds=1))
        fixed = deliver_one(app, delete=False)  # re-read; the worker dies before deleting it
        assert replay.request_counts["yahoo"] == 4  # each delivery: the gap, the history
        home.clock.advance(VISIBILITY + timedelta(seconds=1))
        again = deliver_one(app)
        assert replay.request_counts["yahoo"] == 5  # the gap only: nothing is owed any more
        served = _served(replay)
        fixed_at = home.clock.now() - VISIBILITY - timedelta(seconds=1)
        settled = key_status(app, PETR4, since=SINCE)
        app.sources["yahoo"].close()

    assert (still.records_written, still.revised) == (4, 0)
    assert (still.split_rereads, still.split_rereads_failed, still.split_rereads_owed) == (0, 1, 1)
    assert (still.split_owed_written, fixed.split_owed_written, again.split_owed_written) == (
        0,
        1,
        0,
    )
    assert (fixed.records_written, fixed.revised) == (0, len(before))
    assert (fixed.split_rereads, fixed.split_rereads_failed, fixed.split_rereads_owed) == (1, 0, 1)
    assert (again.records_written, again.revised, again.source_requests) == (0, 0, 1)
    assert (again.split_rereads, again.split_rereads_failed, again.split_rereads_owed) == (0, 0, 0)
    assert owed_splits(home.store, PETR4) == ()
    assert home.store.get_meta(split_applied_name(_SPLIT)) == "2:1"
    assert settled.split_owed is None

    after = _stored(home.store)
    assert set(after) == set(before) | {d for d in served if EX_DATE <= d <= date(2022, 5, 6)}
    for day, record in after.items():
        assert record.value == served[day]  # every stored close on the new basis
        if day >= EX_DATE:
            assert record.revisions == ()
            continue
        [entry] = record.revisions  # one entry, though the history was re-read twice
        assert (entry.previous, entry.new) == (before[day].value, record.value)
        assert entry.seen_at == fixed_at
        assert entry.request == (
            f"split {PETR4.fetch_unit} {min(before).isoformat()}..{date(2022, 5, 6).isoformat()}"
        )


class _ListsMetaReads(SqliteStore):
    """A real SQLite store that lists the meta entries it is asked for."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.meta_reads: list[str] = []

    def get_meta(self, name: str) -> str | None:
        self.meta_reads.append(name)
        return super().get_meta(name)


def test_only_a_split_adjusted_ticker_reads_whether_it_owes_a_reread(tmp_path: Path) -> None:
    """One meta read per message of a Yahoo key (a split re-read may be owed), none for a
    source that reports no splits (PTAX)."""
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    store = _ListsMetaReads(tmp_path / "store.sqlite")
    with closing(_home(store, tmp_path)) as home, ReplayServer(quiet=True) as replay:
        app = home.context(replay, bcb=True)
        orchestrate(app, series=[PETR4, usd], since=SINCE)
        reads: dict[tuple[str, ...], list[str]] = {}
        for message in app.queue.receive():
            store.meta_reads.clear()
            report = handle_message(app, message)
            assert report.records_written > 0
            reads[tuple(DownloadRequest.from_body(message.body).keys)] = list(store.meta_reads)
        for source in app.sources.values():
            source.close()
    assert reads == {(PETR4.key,): [OWED], (usd.key,): []}
