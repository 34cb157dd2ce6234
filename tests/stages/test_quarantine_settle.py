"""A person's way out of the quarantine, through the real stages (SQLite store and queue, a
source double): a release keeps what the quarantine said apart from the record, and an
accepted date is ABSENT, never retried, still healed by a value published later.

Before, a date released and quarantined again showed ``retries 5`` and the new error only:
its first quarantine, its reason and its five re-downloads were gone (the release reset the
count, and the next failure's error replaced the release's note).
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.stages.conftest import START, usd_values
from tests.support.fakes import TableSource

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Status
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.data_version import data_version
from fuelpipe.stages.quarantine import Release, earlier_releases, settle
from fuelpipe.stages.recheck import recheck
from fuelpipe.stages.revise import revise

USD = DEFAULT_CATALOG["CURRENCY#USD"]
HOLE = date(2022, 3, 10)  # inside BCB's revise window of NOW (2022-03-31)


def _retried_until_quarantined(app: StageContext) -> None:
    """Recheck and drain at each next attempt until HOLE is no longer PENDING."""
    for _ in range(7):
        (rec,) = app.store.query(USD.key, HOLE, HOLE)
        if rec.status is not Status.PENDING:
            return
        app.clock.set(max(rec.next_attempt_at, app.clock.now()))
        recheck(app)
        drain(app)


def _quarantined(make_app) -> tuple[StageContext, TableSource]:
    source = TableSource("bcb", usd_values(), never=[(USD.key, HOLE)])
    app = make_app(source)
    run_cycle(app, series=[USD], since=START)
    _retried_until_quarantined(app)
    assert [(r.key, r.date) for r in app.store.quarantined()] == [(USD.key, HOLE)]
    return app, source


def test_a_date_released_and_quarantined_again_keeps_its_first_quarantine(make_app):
    app, source = _quarantined(make_app)
    (first,) = app.store.quarantined()
    released_at = app.clock.now() + timedelta(days=1)
    app.clock.set(released_at)

    assert settle(app.store, "release", USD.key, HOLE, released_at)
    _retried_until_quarantined(app)

    (again,) = app.store.quarantined()
    assert source.asked[(USD.key, HOLE)] == 1 + 5 + 5  # a fresh budget of exactly five
    assert again.retry_count == 5
    assert "released by hand" not in (again.reason or "")  # the new error replaced the note
    assert earlier_releases(app.store) == {
        (USD.key, HOLE): [Release(released_at, first.retry_count, first.reason)]
    }
    assert first.reason is not None and "5 re-downloads" in first.reason


def test_a_date_not_quarantined_is_neither_released_nor_kept(make_app):
    app, _ = _quarantined(make_app)
    before = data_version(app.store)
    other = date(2022, 3, 11)  # OK

    assert not settle(app.store, "release", USD.key, other, app.clock.now())
    assert not settle(app.store, "accept", USD.key, other, app.clock.now())
    assert earlier_releases(app.store) == {}
    assert data_version(app.store) == before


def test_an_accepted_date_is_never_retried_and_a_value_published_later_heals_it(make_app):
    app, source = _quarantined(make_app)
    asked = source.asked[(USD.key, HOLE)]
    before = data_version(app.store)

    assert settle(app.store, "accept", USD.key, HOLE, app.clock.now())

    assert data_version(app.store) != before
    (rec,) = app.store.query(USD.key, HOLE, HOLE)
    assert (rec.status, rec.retry_count) == (Status.ABSENT, 5)
    assert app.store.due_pending(app.clock.now() + timedelta(days=365)) == []
    assert recheck(app).messages_sent == 0 and app.store.quarantined() == []
    assert earlier_releases(app.store) == {}  # an accept is said by the record itself
    source.never.clear()  # the source publishes the value after all

    revise(app, series=[USD])
    drain(app)

    assert source.asked[(USD.key, HOLE)] == asked + 1
    (rec,) = app.store.query(USD.key, HOLE, HOLE)
    assert (rec.status, rec.value, rec.reason) == (Status.OK, usd_values()[(USD.key, HOLE)], None)
