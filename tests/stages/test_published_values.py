"""Every value a source publishes for a requested key and range is kept; nothing is dropped.

A value on a day the calendar skips is stored and marked; a value that differs from a stored
one is a revision with its history; a date the source says has no value is ABSENT, not retried.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.stages.conftest import START, usd_values
from tests.support.fakes import SaysNoValue, TableSource

from fuelpipe.domain.calendars import get_calendar
from fuelpipe.domain.models import CALENDAR_ATTR, UNEXPECTED, Status
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.recheck import recheck
from fuelpipe.stages.revise import revise
from fuelpipe.stages.status import key_status

KEY = "CURRENCY#USD"
CARNIVAL = date(2022, 2, 28)  # an ANBIMA holiday inside Q1 2022


def test_a_value_on_a_day_the_calendar_skips_is_stored_marked_and_counted(make_app, usd):
    assert not get_calendar("ANBIMA").is_expected(CARNIVAL)
    values = {**usd_values(), (KEY, CARNIVAL): Decimal("5.1234")}
    # a row after the requested range is not the request's to write
    values[(KEY, date(2022, 4, 1))] = Decimal("5.0")
    app = make_app(TableSource("bcb", values))
    report = run_cycle(app, series=[usd], since=START)
    assert report.scrape.unexpected == 1
    (rec,) = app.store.query(KEY, CARNIVAL, CARNIVAL)
    assert rec.status is Status.OK and rec.value == Decimal("5.1234")
    assert rec.attrs[CALENDAR_ATTR] == UNEXPECTED
    assert app.store.query(KEY, date(2022, 4, 1), date(2022, 4, 1)) == []
    assert key_status(app, usd, START).unexpected == 1


def test_a_changed_value_is_a_revision_and_an_equal_one_writes_nothing(make_app, usd):
    values = usd_values()
    source = TableSource("bcb", values)
    app = make_app(source)
    run_cycle(app, series=[usd], since=START)
    day = max(d for _, d in values)
    old = values[(KEY, day)]
    values[(KEY, day)] = old + Decimal("0.01")
    asked = revise(app, series=[usd])
    first = drain(app)
    assert asked.messages_sent == 1 and len(source.calls) == 2  # one request per fetch unit
    assert first.revised == 1 and first.records_written == 0
    (rec,) = app.store.query(KEY, day, day)
    assert rec.value == old + Decimal("0.01")
    assert [(r.previous, r.new) for r in rec.revisions] == [(old, old + Decimal("0.01"))]
    assert rec.revisions[0].request.startswith("revise bcb:USD ")
    revise(app, series=[usd])
    second = drain(app)
    assert second.revised == 0 and second.records_written == 0
    assert key_status(app, usd, START).revised == 1


def test_the_revision_window_is_per_source_and_ends_at_the_last_published_day(make_app, usd):
    app = make_app(TableSource("bcb", usd_values()))
    run_cycle(app, series=[usd], since=START)  # a revision re-reads stored values only
    app.revision_window_days = {"bcb": 7}
    revise(app, series=[usd])
    (message,) = app.queue.receive(10)
    body = message.body
    assert '"origin":"revise"' in body
    days = [date.fromisoformat(d) for d in __import__("json").loads(body)["dates_to_download"]]
    assert days[-1] == date(2022, 3, 31) and days[0] >= date(2022, 3, 25)


def test_a_date_the_source_says_has_no_value_is_absent_and_never_retried(make_app, usd):
    day = date(2022, 2, 15)
    source = SaysNoValue("bcb", usd_values(), never={(KEY, day)}, no_value={(KEY, day)})
    app = make_app(source)
    report = run_cycle(app, series=[usd], since=START)
    assert report.scrape.absent_written == 1 and report.scrape.pending_written == 0
    (rec,) = app.store.query(KEY, day, day)
    assert rec.status is Status.ABSENT and rec.reason == "the source says: no value"
    again = run_cycle(app, series=[usd], since=START)
    assert again.orchestrate.gaps_found == 0
    st = key_status(app, usd, START)
    assert (st.missing, st.pending, st.quarantined, st.absent) == (0, 0, 0, 1)
    app.clock.advance(timedelta(days=30))
    assert recheck(app).due == 0


def test_a_revision_asks_only_for_stored_values(make_app, usd):
    """A key never collected, or a date still missing, is the gap scan's work: a revise run
    on an empty store sends nothing and leaves nothing PENDING."""
    app = make_app(TableSource("bcb", usd_values()))
    report = revise(app, series=[usd])
    assert (report.keys, report.messages_sent) == (0, 0)
    assert app.queue.receive(10) == []
