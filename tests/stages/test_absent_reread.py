"""A value a source publishes for a date it once answered with "no value" is not dropped.

ABSENT (ANP's '-', FRED's empty cell, answered after the date's publication window) is
complete for the gap scan, so only `revise` asks for it again: a value published since is
stored as a new OK value; a date still without one, left out of the answer, or in a failed
request stays ABSENT, writes nothing and never turns PENDING (no retries, no quarantine).
Real SQLite store and queue, the real stages, source doubles (tests/support/fakes.py).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from tests.stages.conftest import NOW
from tests.support.fakes import SaysNoValue

from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Status
from fuelpipe.ports.source import ServerError
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.data_version import data_version
from fuelpipe.stages.revise import DEFAULT_WINDOWS, revise, window
from fuelpipe.stages.status import key_status

SINCE = date(2022, 1, 1)
# (source, key, the date first answered with "no value", the value published for it later;
# the other dates get synthetic values near it, so no neighbour check sets it aside)
CASES = {
    # ANP's '-' for CNG in Acre, turned into a price by a later workbook (synthetic values)
    # (the newest week of the revision window: a request for the window's other weeks alone,
    # one workbook for them all, would not reach it)
    "anp": ("anp", "FUEL#CNG#AC", date(2022, 3, 20), Decimal("5.499")),
    # FRED's "." for a Brent day, filled later (synthetic values)
    # (inside the window: the streams around it would not reach it either)
    "fred": ("fred", "COMMODITY#BRENT", date(2022, 3, 15), Decimal("99.76")),
}


def _collected(make_app, case: str):
    """A store collected up to NOW in which the case's date is ABSENT, and its source."""
    name, key, day, _ = CASES[case]
    series = DEFAULT_CATALOG[key]
    days = expected_between(get_calendar(series.calendar), SINCE, series.published_through(NOW))
    base = CASES[case][3]
    values = {(key, d): base + Decimal(i) / 100 for i, d in enumerate(days)}
    assert (key, day) in values
    source = SaysNoValue(name, values, never={(key, day)}, no_value={(key, day)})
    app = make_app(source)
    first = run_cycle(app, series=[series], since=SINCE)
    assert first.scrape.absent_written == 1
    assert _record(app, key, day).status is Status.ABSENT
    return app, source, series


def _reread(app, series, day: date) -> None:
    """Run revise; it asks for the whole window, the ABSENT date included."""
    asked = revise(app, series=[series])
    whole = window(series, series.published_through(NOW), DEFAULT_WINDOWS)
    assert day in whole
    assert (asked.messages_sent, asked.dates) == (1, len(whole))


def _covered(source, day: date) -> bool:
    """The source's last request covered ``day``."""
    return source.calls[-1].start <= day <= source.calls[-1].end


def _record(app, key: str, day: date):
    (rec,) = app.store.query(key, day, day)
    return rec


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_value_published_for_an_absent_date_is_stored_by_revise(make_app, case):
    _, key, day, value = CASES[case]
    app, source, series = _collected(make_app, case)
    before = data_version(app.store)
    source.never.discard((key, day))
    source.no_value.discard((key, day))
    source.values[(key, day)] = value

    _reread(app, series, day)
    got = drain(app)

    assert _covered(source, day)
    assert (got.records_written, got.revised, got.pending_written) == (1, 0, 0)
    rec = _record(app, key, day)
    assert (rec.status, rec.value, rec.reason) == (Status.OK, value, None)
    assert rec.revisions == ()  # a new value: no stored value was replaced
    assert data_version(app.store) != before
    st = key_status(app, series, SINCE)
    assert (st.absent, st.pending, st.revised) == (0, 0, 0)

    settled = data_version(app.store)
    revise(app, series=[series])
    again = drain(app)
    assert (again.records_written, again.revised, again.absent_written) == (0, 0, 0)
    assert data_version(app.store) == settled


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_absent_date_still_without_a_value_writes_nothing(make_app, case):
    _, key, day, _ = CASES[case]
    app, source, series = _collected(make_app, case)
    kept = _record(app, key, day)
    before = data_version(app.store)

    _reread(app, series, day)
    got = drain(app)

    assert _covered(source, day)
    assert (got.records_written, got.absent_written, got.pending_written) == (0, 0, 0)
    assert _record(app, key, day) == kept
    assert data_version(app.store) == before


@pytest.mark.parametrize("how", ["left out of the answer", "the request failed"])
def test_an_absent_date_the_answer_does_not_cover_stays_absent_never_pending(make_app, how):
    """The source has said the date has no value: an answer without it, or no answer at all,
    must not start retries (and, after five, a quarantine) for it."""
    _, key, day, _ = CASES["anp"]
    app, source, series = _collected(make_app, "anp")
    kept = _record(app, key, day)
    if how == "left out of the answer":
        source.no_value.discard((key, day))  # still never returned, no "no value" either
    else:
        source.failures.append(ServerError("503 from test double"))

    _reread(app, series, day)
    got = drain(app)

    assert (got.pending_written, got.absent_written, got.quarantined) == (0, 0, 0)
    assert _record(app, key, day) == kept
    assert app.store.pending() == []
