"""A close published on a day the calendar skips is stored in steady state, not only when a
backfill's range happens to span it.

Yahoo's BZ=F has a close on 4 July 2025 (a Friday) but NYMEX_BRENT expects none on US
holidays. Run by run, one new date a run, the stream asking for Monday 7 July used to start on
7 July, and the stream before it ended on Thursday 3 July: no request covered the Friday.
The values are BZ=F's real closes (datasets/stocks/strongylis__yahoo.csv).
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.stages.conftest import deliver_one
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.calendars import get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import CALENDAR_ATTR, UNEXPECTED, Status
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.status import key_status

SP = ZoneInfo("America/Sao_Paulo")
BZF = DEFAULT_CATALOG["COMMODITY#BRENT_FUTURES"]
YAHOO = Path(__file__).resolve().parents[2] / "datasets" / "stocks" / "strongylis__yahoo.csv"
SINCE = date(2025, 6, 23)
THURSDAY, HOLIDAY, MONDAY = date(2025, 7, 3), date(2025, 7, 4), date(2025, 7, 7)


def bzf_closes(first: date, last: date) -> dict[tuple[str, date], Decimal]:
    with YAHOO.open(newline="") as fh:
        return {
            (BZF.key, day): Decimal(row["close"])
            for row in csv.DictReader(fh)
            if row["ticker"] == "BZ=F" and first <= (day := date.fromisoformat(row["data"])) <= last
        }


def evening(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 22, 0, tzinfo=SP)


def test_a_holiday_close_between_two_runs_is_stored_once(make_app):
    values = bzf_closes(SINCE, MONDAY)
    assert values[(BZF.key, HOLIDAY)] == Decimal("68.29")  # the real close on 4 July 2025
    assert not get_calendar(BZF.calendar).is_expected(HOLIDAY)
    clock = ManualClock(evening(THURSDAY))
    source = TableSource("yahoo", values)
    app = make_app(source, clock=clock)

    run_cycle(app, series=[BZF], since=SINCE, outlook=False)  # up to Thursday, all stored
    assert app.store.query(BZF.key, HOLIDAY, HOLIDAY) == []
    assert BZF.published_through(clock.now()) == THURSDAY

    clock.set(evening(MONDAY))  # the next run: one new expected date, Monday
    report = run_cycle(app, series=[BZF], since=SINCE, outlook=False)

    assert report.orchestrate.gaps_found == 1 and report.scrape.source_requests == 1
    assert (source.calls[-1].start, source.calls[-1].end) == (HOLIDAY, MONDAY)
    assert (report.scrape.records_written, report.scrape.unexpected) == (2, 1)
    assert report.scrape.pending_written == 0
    (holiday,) = app.store.query(BZF.key, HOLIDAY, HOLIDAY)
    assert holiday.status is Status.OK and holiday.value == Decimal("68.29")
    assert holiday.attrs[CALENDAR_ATTR] == UNEXPECTED
    (monday,) = app.store.query(BZF.key, MONDAY, MONDAY)
    assert monday.status is Status.OK and CALENDAR_ATTR not in monday.attrs
    st = key_status(app, BZF, SINCE)
    assert (st.missing, st.pending, st.unexpected) == (0, 0, 1)

    # Running again sends nothing; the same message again (a redelivery, an old release's
    # body) re-reads the holiday and changes nothing: no write, no revision, no recount.
    assert run_cycle(app, series=[BZF], since=SINCE, outlook=False).orchestrate.gaps_found == 0
    before = {r.date: r for r in app.store.query(BZF.key)}
    request = DownloadRequest(
        partition_key=BZF.key, dates_to_download=[MONDAY], fetch_unit=BZF.fetch_unit
    )
    app.queue.send([request.to_body()])
    again = deliver_one(app)
    assert (source.calls[-1].start, source.calls[-1].end) == (HOLIDAY, MONDAY)
    assert (again.records_written, again.unexpected) == (0, 0)
    assert (again.revised, again.adjusted) == (0, 0)
    assert (again.pending_written, again.absent_written, again.flagged) == (0, 0, 0)
    assert {r.date: r for r in app.store.query(BZF.key)} == before
    assert app.store.query(BZF.key, HOLIDAY, HOLIDAY)[0].revisions == ()


def test_a_day_without_a_close_before_the_stream_writes_nothing(make_app):
    """4 July 2024 had no BZ=F close: asking for it leaves no record (not PENDING, not
    ABSENT: no message asked for it), and the gap scan never wants it."""
    thursday, friday = date(2024, 7, 3), date(2024, 7, 5)
    values = bzf_closes(date(2024, 6, 24), friday)
    assert (BZF.key, date(2024, 7, 4)) not in values
    clock = ManualClock(evening(thursday))
    source = TableSource("yahoo", values)
    app = make_app(source, clock=clock)
    run_cycle(app, series=[BZF], since=date(2024, 6, 24), outlook=False)
    clock.set(evening(friday))
    report = run_cycle(app, series=[BZF], since=date(2024, 6, 24), outlook=False)
    assert (source.calls[-1].start, source.calls[-1].end) == (date(2024, 7, 4), friday)
    assert (report.scrape.records_written, report.scrape.unexpected) == (1, 0)
    assert report.scrape.pending_written == report.scrape.absent_written == 0
    assert app.store.query(BZF.key, date(2024, 7, 4), date(2024, 7, 4)) == []
