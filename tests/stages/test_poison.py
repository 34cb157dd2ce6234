"""A poison message (one that stops the worker on every delivery: kill -9, a Lambda timeout)
stores nothing and is dead-lettered. Its last delivery makes its dates PENDING before it is
handled, so they are no gaps the orchestrator sends again (each time costing ``max_receives``
killed workers and a new dead letter): recheck retries them with its backoff and, after its
fifth attempt, quarantines them for a person. The AWS home's scraper Lambda does the same
(tests/aws/test_aws_handlers.py)."""

from __future__ import annotations

from datetime import date

import pytest
from tests.stages.conftest import POLICY, START

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.failpoints import Failpoints
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import drain
from fuelpipe.stages.orchestrate import orchestrate
from fuelpipe.stages.recheck import recheck
from fuelpipe.stages.scrape import stopped_reason

USD = DEFAULT_CATALOG["CURRENCY#USD"]


class _Killed(BaseException):
    """The worker stopped outright (kill -9), in-process: no handler of the drain's catches
    it as a message's failure, so nothing dead-letters the message with an error."""


def _kill(_signum: object) -> None:
    raise _Killed


def _poisoned(app: StageContext) -> None:
    """Every message serving USD stops the worker once it has fetched."""
    app.failpoints = Failpoints(f"scrape.after_fetch@{USD.key}:*", kill=_kill)


def _killed_every_delivery(app: StageContext) -> None:
    """Deliver the queued message until the queue's receive dead-letters it: each delivery
    stops the worker."""
    for _ in range(app.queue.max_receives):
        with pytest.raises(_Killed):
            drain(app)
    dead = app.queue.depth().dead
    drain(app)  # the receive past max_receives dead-letters it
    assert app.queue.depth().dead == dead + 1
    assert app.queue.depth().visible == app.queue.depth().in_flight == 0


def _usd(app: StageContext) -> list[Record]:
    return app.store.query(USD.key)


def _stored(app: StageContext) -> list[tuple[object, ...]]:
    """USD's records as stored, without when they were written."""
    return [(r.date, r.value, r.status, r.retry_count, r.reason, r.attrs) for r in _usd(app)]


def test_a_poison_gap_is_pending_then_retried_by_recheck_then_quarantined(
    make_app, table_source
) -> None:
    """Before: the dead-lettered gap's dates held no record, so every orchestrator run sent
    them again, and the worker was killed ``max_receives`` times more each time."""
    app = make_app(table_source())
    _poisoned(app)
    assert orchestrate(app, series=[USD], since=START).messages_sent == 1

    _killed_every_delivery(app)
    held = _usd(app)
    assert held  # every date of the gap message, PENDING as a source failure leaves it
    assert {(r.status, r.retry_count, r.value) for r in held} == {(Status.PENDING, 0, None)}
    assert {r.reason for r in held} == {stopped_reason(app.queue.max_receives)}
    first_due = POLICY.first_attempt_due(app.clock.now())
    assert all(r.next_attempt_at is not None and r.next_attempt_at >= first_due for r in held)
    days = [r.date for r in held]

    # the next run's orchestrator sends nothing for them: they are no gaps
    assert orchestrate(app, series=[USD], since=START).messages_sent == 0
    assert app.queue.depth().visible == 0

    for attempt in range(1, POLICY.max_retries + 1):
        assert recheck(app).retried == 0  # none due before its backoff
        due = max(r.next_attempt_at for r in _usd(app) if r.next_attempt_at is not None)
        app.clock.set(due)
        report = recheck(app)
        assert (report.retried, report.quarantined) == (len(days), 0)
        _killed_every_delivery(app)  # the retry message is poison too
        after = _usd(app)
        assert [r.date for r in after] == days
        assert {(r.status, r.retry_count) for r in after} == {(Status.PENDING, attempt)}

    due = max(r.next_attempt_at for r in _usd(app) if r.next_attempt_at is not None)
    app.clock.set(due)
    report = recheck(app)
    assert (report.retried, report.quarantined) == (0, len(days))
    assert {r.status for r in _usd(app)} == {Status.QUARANTINED}
    # a person's now: the orchestrator asks for the days since (the clock moved), not these
    orchestrate(app, series=[USD], since=START)
    asked = [DownloadRequest.from_body(m.body) for m in app.queue.receive(10)]
    assert not {d for r in asked for d in r.dates_to_download} & set(days)


def test_a_last_delivery_that_succeeds_stores_ok_and_leaves_no_pending(
    make_app, table_source
) -> None:
    """The PENDING records made first are replaced by the values as any PENDING record is:
    the store ends as an uninterrupted run's, nothing lost, duplicated or left PENDING."""
    app = make_app(table_source())
    reference = make_app(table_source(), db_name="reference.sqlite")
    assert orchestrate(reference, series=[USD], since=START).messages_sent == 1
    drain(reference)
    assert orchestrate(app, series=[USD], since=START).messages_sent == 1
    for _ in range(app.queue.max_receives - 1):  # failed deliveries, given back unworked
        (message,) = app.queue.receive(1)
        app.queue.release([message.receipt])
    report = drain(app)
    assert report.last_delivery_held > 0
    assert report.records_written == len(_usd(reference))
    assert _stored(app) == _stored(reference)
    assert app.store.pending() == []
    assert app.queue.depth().dead == 0


def test_no_record_is_made_pending_on_an_earlier_delivery(make_app, table_source) -> None:
    app = make_app(table_source())
    _poisoned(app)
    assert orchestrate(app, series=[USD], since=START).messages_sent == 1
    for _ in range(app.queue.max_receives - 1):
        with pytest.raises(_Killed):
            drain(app)
        assert _usd(app) == []
    with pytest.raises(_Killed):
        drain(app)
    assert {r.status for r in _usd(app)} == {Status.PENDING}


def test_a_last_delivery_overwrites_no_record(make_app, table_source) -> None:
    """A date holding a record (OK, or PENDING with its retry state) keeps it whole."""
    app = make_app(table_source())
    _poisoned(app)
    assert orchestrate(app, series=[USD], since=START).messages_sent == 1
    ok_day, pending_day = date(2022, 1, 3), date(2022, 1, 4)
    ok = Record(USD.key, ok_day, table_source().values[(USD.key, ok_day)], Status.OK)
    pending = Record(USD.key, pending_day, None, Status.PENDING, 3, app.clock.now(), "HTTP 503")
    app.store.put_records([ok])
    assert app.store.put_pending(pending)
    kept = {r.date: r for r in _usd(app)}
    _killed_every_delivery(app)
    after = {r.date: r for r in _usd(app)}
    assert after[ok_day] == kept[ok_day]
    assert after[pending_day] == kept[pending_day]
    assert len(after) > 2
