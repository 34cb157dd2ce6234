"""The 6-hourly backstop reads only the dates that can be inside a window now.

Before, it read every PENDING record (the whole pending index) to keep the few inside their
windows: a backlog of 3,000 dates past their windows cost 91 read units a run on DynamoDB,
though none of them is ever polled there.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status, no_value_seen
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.due import poll_pending_in_window

SP = ZoneInfo("America/Sao_Paulo")
TUESDAY = datetime(2022, 5, 3, 12, 0, tzinfo=SP)
"""Inside ANP's window for the week of 2022-04-24 (to Wednesday 18:00), the monthly one for
March (to 2022-05-15) and FRED's for 2022-04-24 to 04-26; outside PTAX's (13:10-14:00)."""
GASOLINE, CNG_AC, MONTHLY = "FUEL#GASOLINE#BR", "FUEL#CNG#AC", "FUEL_MONTHLY#GASOLINE#AC"
BRENT, USD, EUR = "COMMODITY#BRENT", "CURRENCY#USD", "CURRENCY#EUR"
NORTH = "FUEL#GASOLINE#REGION_N"
"""Its week of 2022-04-24 is stored and its watermark past it: nothing of it to read."""
KEYS = [GASOLINE, CNG_AC, MONTHLY, BRENT, USD, EUR, NORTH]


class CountingStore(SqliteStore):
    """A real SQLite store noting its reads of records: (method, records returned)."""

    def __init__(self, path: Path, clock: ManualClock) -> None:
        super().__init__(path, clock)
        self.reads: list[tuple[str, int]] = []

    def pending(self):
        found = super().pending()
        self.reads.append(("pending", len(found)))
        return found

    def watermarks(self):
        found = super().watermarks()
        self.reads.append(("watermarks", len(found)))
        return found

    def query(self, key, *args, **kwargs):
        found = super().query(key, *args, **kwargs)
        self.reads.append((f"query {key}", len(found)))
        return found


def _pending(key: str, day: date, **attrs: object) -> Record:
    return Record(key, day, None, Status.PENDING, reason="not out", attrs=dict(attrs))


def _seed(store: SqliteStore, backlog: int, no_row: bool = False) -> None:
    """PENDING dates inside their windows (one answered "no value" since its publication:
    '-', or with ``no_row`` no row for the key), others just past theirs, and ``backlog``
    more of USD and EUR years past theirs (recheck's)."""
    answered = no_value_seen(datetime(2022, 4, 30, 9, 0, tzinfo=SP), no_row=no_row)
    inside = [
        _pending(GASOLINE, date(2022, 4, 24)),
        _pending(CNG_AC, date(2022, 4, 24), **answered),  # not asked again
        _pending(MONTHLY, date(2022, 3, 1)),
    ]
    past = [
        _pending(GASOLINE, date(2022, 4, 17)),  # its window ended on 2022-04-27
        # FRED's weekly batch through Monday 04-25 was out on Friday 04-29 00:00 Chicago and
        # its window ended on Monday 05-02 00:00; the next one, from Tuesday 04-26, is out on
        # Friday 05-06: no Brent window is open on this Tuesday
        _pending(BRENT, date(2022, 4, 22)),
        _pending(BRENT, date(2022, 4, 25)),
        _pending(BRENT, date(2022, 4, 26)),
        _pending(USD, date(2022, 4, 29)),  # PTAX: no window open before 13:10
    ]
    old = [
        _pending(key, d)
        for key in (USD, EUR)
        for d in expected_between(get_calendar("ANBIMA"), date(2008, 1, 1), date(2022, 4, 1))
    ][:backlog]
    assert len(old) == backlog
    assert all(store.put_pendings([*inside, *past, *old]))
    store.put_records([Record(NORTH, date(2022, 4, 24), Decimal("7.1"), Status.OK)])
    assert store.set_watermark(NORTH, date(2022, 4, 24), 0, None)
    assert store.set_watermark(GASOLINE, date(2022, 4, 10), 0, None)


def _backstop(
    tmp_path: Path, backlog: int, no_row: bool = False
) -> tuple[list[tuple[str, list[str]]], list]:
    clock = ManualClock(TUESDAY)
    store = CountingStore(tmp_path / f"s{backlog}{no_row}.sqlite", clock)
    app = StageContext(
        catalog=DEFAULT_CATALOG.select(KEYS),
        store=store,
        queue=SqliteQueue(tmp_path / f"q{backlog}{no_row}.sqlite", clock, timedelta(minutes=20)),
        sources={},
        clock=clock,
        policy=RetryPolicy(),
    )
    try:
        _seed(store, backlog, no_row)
        store.reads.clear()
        sent = poll_pending_in_window(app, list(app.catalog), TUESDAY)
        requests = [DownloadRequest.from_body(m.body) for m in app.queue.receive(10)]
        assert sent == len(requests)
        polls = sorted(
            (",".join(r.keys), [d.isoformat() for d in r.dates_to_download]) for r in requests
        )
        return polls, store.reads
    finally:
        app.close()


@pytest.mark.parametrize("backlog", [0, 3000])
@pytest.mark.parametrize("no_row", [False, True], ids=["dash", "no row"])
def test_the_backstop_polls_the_dates_inside_their_windows_reading_only_those(
    tmp_path: Path, backlog: int, no_row: bool
) -> None:
    polls, reads = _backstop(tmp_path, backlog, no_row)
    assert polls == [
        (GASOLINE, ["2022-04-24"]),
        (MONTHLY, ["2022-03-01"]),
    ]
    # the watermarks, then one Query per series whose window is open past its watermark, of
    # those dates only: none for PTAX nor Brent (no window open) nor for the North (stored, scanned)
    # its week answered with no row for the key: is the record before it OK (a row left out
    # of the workbook, polled again)? One record, newest first; it has none: the answer
    # stands. ANP's '-' is its answer for the week: nothing more to read
    before = [(f"query {CNG_AC}", 0)] if no_row else []
    assert reads == [
        ("watermarks", 2),
        (f"query {CNG_AC}", 1),
        *before,
        (f"query {GASOLINE}", 1),
        (f"query {MONTHLY}", 1),
    ]


def test_the_backstop_polls_a_date_in_its_grace_every_grace_every_and_none_after(
    tmp_path: Path,
) -> None:
    """The AWS backstop asks, as `watch` does, for a PTAX close still missing after its
    window (13:10-14:00) while its grace lasts (to 18:00), once ``grace_every`` (15 minutes)
    has passed since its last answer; Tuesday's, past its grace, is recheck's alone."""
    wed = date(2022, 5, 4)
    clock = ManualClock(datetime(2022, 5, 4, 15, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "g.sqlite", clock)
    app = StageContext(
        catalog=DEFAULT_CATALOG.select([USD, EUR]),
        store=store,
        queue=SqliteQueue(tmp_path / "gq.sqlite", clock, timedelta(minutes=5)),
        sources={},
        clock=clock,
        policy=RetryPolicy(),
    )

    def polled(at: datetime) -> list[tuple[str, list[date]]]:
        clock.set(at)
        poll_pending_in_window(app, list(app.catalog), at)
        messages = app.queue.receive(10)
        app.queue.delete([m.receipt for m in messages])
        requests = [DownloadRequest.from_body(m.body) for m in messages]
        return sorted((",".join(r.keys), list(r.dates_to_download)) for r in requests)

    try:
        assert store.put_pendings([_pending(USD, wed), _pending(USD, date(2022, 5, 3))])
        clock.set(datetime(2022, 5, 4, 15, 20, tzinfo=SP))
        assert store.put_pendings([_pending(EUR, wed)])  # answered at 15:20
        assert polled(datetime(2022, 5, 4, 15, 30, tzinfo=SP)) == [(USD, [wed])]
        store.put_pendings([_pending(USD, wed), _pending(EUR, wed)])  # both answered at 15:30
        assert polled(datetime(2022, 5, 4, 15, 40, tzinfo=SP)) == []
        assert polled(datetime(2022, 5, 4, 15, 45, tzinfo=SP)) == [(EUR, [wed]), (USD, [wed])]
        assert polled(datetime(2022, 5, 4, 18, 5, tzinfo=SP)) == []  # the grace is over
    finally:
        app.close()
