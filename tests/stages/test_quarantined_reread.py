"""A value a source publishes for a date quarantined after its five re-downloads is not dropped.

A source down for longer than the backoff (1 + 2 + 4 + 8 + 16 hours) quarantines the dates it
failed. QUARANTINED is complete for the gap scan, and the daily ``revise`` re-read only OK
and ABSENT dates, so nothing asked for such a date again: once the source was back, its value
stayed unfetched and `fuelpipe quarantine list` kept showing the date until a person released
it. ``revise`` re-reads a QUARANTINED date of its window now, as it does an ABSENT one: a
value published since is stored as OK (the quarantine resolved); a date still without one
stays QUARANTINED and nothing is written (never PENDING again: no new retries).
Real SQLite store and queue, the real stages, a source double (tests/support/fakes.py).
"""

from __future__ import annotations

from datetime import date

from tests.stages.conftest import START, usd_values
from tests.support.fakes import TableSource

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Status
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.data_version import data_version
from fuelpipe.stages.recheck import recheck
from fuelpipe.stages.revise import revise

USD = DEFAULT_CATALOG["CURRENCY#USD"]
HOLE = date(2022, 3, 10)  # inside the revision window (35 days of BCB) of NOW, 2022-03-31


def _quarantined(make_app) -> tuple[StageContext, TableSource]:
    """A store in which HOLE, never returned, is quarantined after its five re-downloads."""
    source = TableSource("bcb", usd_values(), never=[(USD.key, HOLE)])
    app = make_app(source)
    run_cycle(app, series=[USD], since=START)
    for _ in range(6):
        (rec,) = app.store.query(USD.key, HOLE, HOLE)
        if rec.status is not Status.PENDING:
            break
        app.clock.set(rec.next_attempt_at)
        recheck(app)
        drain(app)
    assert [(r.key, r.date) for r in app.store.quarantined()] == [(USD.key, HOLE)]
    assert source.asked[(USD.key, HOLE)] == 6  # the first download and five re-downloads
    return app, source


def test_a_value_published_for_a_quarantined_date_is_stored_by_revise(make_app):
    app, source = _quarantined(make_app)
    before = data_version(app.store)
    source.never.clear()  # the source is back

    revise(app, series=[USD])
    got = drain(app)

    assert source.asked[(USD.key, HOLE)] == 7
    assert (got.records_written, got.revised, got.pending_written) == (1, 0, 0)
    (rec,) = app.store.query(USD.key, HOLE, HOLE)
    assert (rec.status, rec.value, rec.reason) == (Status.OK, usd_values()[(USD.key, HOLE)], None)
    assert app.store.quarantined() == []
    assert data_version(app.store) != before


def test_a_quarantined_date_still_without_a_value_stays_quarantined_writing_nothing(make_app):
    app, source = _quarantined(make_app)
    (kept,) = app.store.quarantined()
    before = data_version(app.store)

    revise(app, series=[USD])
    got = drain(app)

    assert source.asked[(USD.key, HOLE)] == 7  # asked for, still not returned
    assert (got.records_written, got.pending_written, got.quarantined) == (0, 0, 0)
    assert app.store.quarantined() == [kept]
    assert app.store.pending() == []  # no new retries
    assert data_version(app.store) == before
