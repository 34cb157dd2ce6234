"""Each alert rule fires once, stays quiet while its condition holds, clears, and fires again:
to the console, to a webhook on a local receiver, and to SNS on moto_server."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from tests.support.aws_backends import drain_sns_notifications
from tests.support.fakes import Collect
from werkzeug import Request, Response

from fuelpipe.adapters.alerts import ConsoleSink, SnsSink, SqliteAlertState, sns_subject
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.adapters.webhook import WebhookSink
from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition, Severity
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.stages.alerting import (
    STALE_WINDOW,
    DeadLettered,
    Quarantined,
    StaleSource,
    evaluate,
    late_series,
    never_collected,
)
from fuelpipe.stages.scrape import NO_VALUE

SP = ZoneInfo("America/Sao_Paulo")
USD = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))


def _ok(day: date) -> Record:
    return Record(USD.key, day, Decimal("5.0"), Status.OK, updated_at=datetime.now(SP))


def _run(clock, store, queue, state, rule, sinks):
    ctx = AlertContext(clock.now(), store, queue, Catalog([USD]))
    return evaluate(ctx, [rule], state, sinks)


def test_stale_source_fires_once_clears_and_fires_again(home) -> None:
    clock, store, queue, state = home
    sink = Collect()
    store.put_records([_ok(date(2022, 5, 2)), _ok(date(2022, 5, 3))])
    assert _run(clock, store, queue, state, StaleSource(), [sink]).firing == 0  # 13:30: in window
    clock.set(datetime(2022, 5, 4, 14, 5, tzinfo=SP))  # past 13:10 + 50 min, still missing
    assert _run(clock, store, queue, state, StaleSource(), [sink]).firing == 1
    assert _run(clock, store, queue, state, StaleSource(), [sink]).firing == 0  # once only
    first = sink.alerts[-1]
    assert first.kind.value == "FIRING" and first.condition.subject == "bcb"
    assert first.condition.evidence["date"] == "2022-05-04"
    assert first.condition.evidence["latest_stored"] == "2022-05-03"
    assert first.condition.evidence["published_at"] == "2022-05-04T13:10:00-03:00"
    store.put_records([_ok(date(2022, 5, 4))])
    report = _run(clock, store, queue, state, StaleSource(), [sink])
    assert (report.firing, report.cleared) == (0, 1)
    clock.set(datetime(2022, 5, 5, 14, 5, tzinfo=SP))  # the next day is late too
    assert _run(clock, store, queue, state, StaleSource(), [sink]).firing == 1
    assert [a.kind.value for a in sink.alerts] == ["FIRING", "CLEARED", "FIRING"]


def test_an_alert_found_late_says_since_when_the_source_is_late_as_the_health_view(
    home,
) -> None:
    """`watch` started (or the hourly recheck ran) 90 minutes after PTAX's window ended: the
    alert's ``since`` was that evaluation's instant while the health view's late row said
    14:00, the window's end. Both say 14:00 now: in the alert's summary and evidence, its
    webhook/SNS body's ``since``, the stored active alert the health view lists, and the
    cleared alert's "after holding since"."""
    from fuelpipe.dashboard.health import health_view

    clock, store, queue, state = home
    store.put_records([_ok(date(2022, 5, 2)), _ok(date(2022, 5, 3))])
    clock.set(datetime(2022, 5, 4, 15, 30, tzinfo=SP))  # found 90 minutes after 14:00
    sink = Collect()
    assert _run(clock, store, queue, state, StaleSource(), [sink]).firing == 1
    (alert,) = sink.alerts
    (late,) = health_view(store, Catalog([USD]), None, clock).problems
    window_end = datetime(2022, 5, 4, 14, 0, tzinfo=SP)
    assert late.since == alert.since == window_end
    assert alert.at == clock.now()
    assert alert.condition.summary.startswith("bcb is late since 2022-05-04T14:00-03:00: ")
    assert alert.condition.evidence["late_since"] == "2022-05-04T14:00:00-03:00"
    assert alert.as_dict()["since"] == "2022-05-04T14:00:00-03:00"
    (active,) = state.load().values()
    assert active.since == window_end  # what the health view's active alerts show
    clock.set(datetime(2022, 5, 4, 16, 0, tzinfo=SP))
    assert _run(clock, store, queue, state, StaleSource(), [sink]).firing == 0  # once only
    store.put_records([_ok(date(2022, 5, 4))])
    assert _run(clock, store, queue, state, StaleSource(), [sink]).cleared == 1
    assert "after holding since 2022-05-04T14:00-03:00" in sink.alerts[-1].headline()


def test_an_alert_stored_with_its_first_evaluation_as_since_takes_the_real_start() -> None:
    """An active alert stored before its rule told when the condition began (``since``: the
    evaluation that found it) takes the earlier real start at the next evaluation, quietly;
    a later one never moves it forward."""
    from fuelpipe.domain.alerts import transition

    found = datetime(2022, 5, 4, 15, 30, tzinfo=SP)
    start = datetime(2022, 5, 4, 14, 0, tzinfo=SP)
    stored = ActiveAlert(Condition("stale_source", "bcb", "bcb is late"), found)
    cond = Condition("stale_source", "bcb", "bcb is late", started=start)
    change = transition({cond.id: stored}, [cond], found + timedelta(hours=1))
    assert change.alerts == [] and change.active[cond.id].since == start
    later = replace(cond, started=found + timedelta(minutes=5))
    again = transition(change.active, [later], found + timedelta(hours=2))
    assert again.alerts == [] and again.active[cond.id].since == start


def test_a_quarantine_and_a_dead_letter_found_late_say_since_when_they_happened(
    tmp_path,
) -> None:
    """A quarantine and a dead letter at 13:30, the next evaluation at 19:30: both alerts'
    ``since`` was 19:30, six hours late (the rules told no start). Now it is 13:30, from the
    quarantined record's own stamp and the dead letter's: in the summaries (English and
    pt-BR), the body's ``since``, the stored active alerts and the cleared alerts' "since"."""
    clock = ManualClock(datetime(2022, 5, 4, 13, 30, tzinfo=SP))
    happened = clock.now()
    store = SqliteStore(tmp_path / "a.sqlite", clock=clock)
    queue = SqliteQueue(tmp_path / "q.sqlite", clock=clock, visibility_timeout=timedelta(1))
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=clock)
    try:
        day = date(2022, 5, 3)
        assert store.put_pending(Record(USD.key, day, None, Status.PENDING, 5, happened, "x"))
        assert store.quarantine(USD.key, day, 5, "no value after 5 re-downloads")
        queue.send(['{"not": "a request"}'])
        queue.dead_letter(queue.receive(1)[0], "malformed message")
        clock.advance(timedelta(hours=6))
        sink = Collect()
        rules = [Quarantined(), DeadLettered()]
        ctx = AlertContext(clock.now(), store, queue, Catalog([USD]))
        assert evaluate(ctx, rules, state, [sink]).firing == 2
        quarantined, dead = sink.alerts
        assert quarantined.since == dead.since == happened
        assert quarantined.at == dead.at == happened + timedelta(hours=6)
        assert quarantined.headline() == (
            "CURRENCY#USD: 1 date quarantined since 2022-05-04T13:30-03:00 (2022-05-03): "
            "no value after 5 re-downloads"
        )
        assert quarantined.headline("pt-BR") == (
            "CURRENCY#USD: 1 data em quarentena desde 2022-05-04T13:30-03:00 (2022-05-03): "
            "no value after 5 re-downloads"
        )
        mid = dead.condition.subject[:12]
        assert dead.headline() == (
            f"message {mid} dead-lettered at 2022-05-04T13:30-03:00: malformed message"
        )
        assert dead.headline("pt-BR") == (
            f"mensagem {mid} foi para a fila de mortas (DLQ) em 2022-05-04T13:30-03:00: "
            "malformed message"
        )
        assert (
            quarantined.as_dict()["since"]
            == dead.as_dict()["since"]
            == ("2022-05-04T13:30:00-03:00")
        )
        assert quarantined.condition.evidence["quarantined_since"] == "2022-05-04T13:30:00-03:00"
        assert {a.since for a in state.load().values()} == {happened}
        assert store.release(USD.key, day, clock.now())
        assert queue.purge_dead_letters() == 1
        clock.advance(timedelta(hours=1))
        ctx = AlertContext(clock.now(), store, queue, Catalog([USD]))
        assert evaluate(ctx, rules, state, [sink]).cleared == 2
        for cleared in sink.alerts[2:]:
            assert "after holding since 2022-05-04T13:30-03:00" in cleared.headline()
            assert "após valer desde 2022-05-04T13:30-03:00" in cleared.headline("pt-BR")
    finally:
        state.close()
        store.close()
        queue.close()


@pytest.mark.parametrize(
    ("now", "late"),
    [
        (datetime(2022, 5, 4, 13, 59, 59, tzinfo=SP), False),  # inside the window
        (datetime(2022, 5, 4, 14, 0, tzinfo=SP), True),  # 13:10 + 50 min: late at 14:00
    ],
)
def test_stale_source_fires_from_the_end_of_the_window_on(home, now: datetime, late: bool) -> None:
    """The window's edge (domain/publication.py: PTAX "late at 14:00"), with the day's date
    stored PENDING, its value not out yet (synthetic: the edge is the point)."""
    clock, store, queue, state = home
    store.put_records([_ok(date(2022, 5, 2)), _ok(date(2022, 5, 3))])
    pending = Record(USD.key, date(2022, 5, 4), None, Status.PENDING, 0, now, None, {}, now)
    assert store.put_pending(pending)
    clock.set(now)
    sink = Collect()
    assert _run(clock, store, queue, state, StaleSource(), [sink]).firing == int(late)
    assert [a.condition.evidence["stale_at"] for a in sink.alerts] == (
        ["2022-05-04T14:00:00-03:00"] if late else []
    )


def _late_xom_close(home, now: datetime) -> Alert:
    """The one alert for XOM's close of Wednesday 2022-05-04, evaluated at ``now``."""
    clock, store, queue, state = home
    xom = replace(DEFAULT_CATALOG["STOCK#XOM"], default_start=date(2022, 5, 2))
    store.put_records(
        [Record(xom.key, d, Decimal("90"), Status.OK) for d in (date(2022, 5, 2), date(2022, 5, 3))]
    )
    clock.set(now)
    sink = Collect()
    evaluate(
        AlertContext(clock.now(), store, queue, Catalog([xom])), [StaleSource()], state, [sink]
    )
    (alert,) = sink.alerts
    return alert


def test_a_late_nyse_close_is_told_in_sao_paulo_time_like_every_other_instant(home) -> None:
    """XOM's Wednesday close (16:30 New York) is late at 20:00 São Paulo: the summary and every
    time in the evidence are São Paulo's, as the heartbeat and the alert's own ``at`` are."""
    alert = _late_xom_close(home, datetime(2022, 5, 4, 20, 0, tzinfo=SP))
    assert alert.condition.summary == (
        "yahoo is late since 2022-05-04T19:30-03:00: 1 series still lack 2022-05-04, "
        "due 2022-05-04T17:30-03:00"
    )
    evidence = alert.condition.evidence
    assert evidence["published_at"] == "2022-05-04T17:30:00-03:00"
    assert evidence["stale_at"] == "2022-05-04T19:30:00-03:00"
    assert evidence["now"] == "2022-05-04T20:00:00-03:00"
    assert alert.as_dict()["at"] == "2022-05-04T20:00:00-03:00"


def test_an_alert_told_by_a_utc_clock_still_gives_sao_paulo_instants(home) -> None:
    """``watch`` runs on the system clock, which reads UTC: the webhook's and SNS's ``at`` and
    ``since`` said ``+00:00`` (the same instant, not the zone every other time is told in).
    ``since`` is when the close became late (its window's end), not when it was found."""
    told = _late_xom_close(home, datetime(2022, 5, 4, 23, 0, tzinfo=UTC)).as_dict()
    assert (told["at"], told["since"]) == ("2022-05-04T20:00:00-03:00", "2022-05-04T19:30:00-03:00")


def test_series_of_one_source_late_on_different_dates_are_each_named(home) -> None:
    """On Memorial Day B3 trades and NYSE does not: PETR4 lacks Monday, XOM Friday. The summary
    named the first key's date for both ("2 series still lack 2022-05-27")."""
    clock, store, queue, state = home
    start = date(2022, 5, 23)
    xom = replace(DEFAULT_CATALOG["STOCK#XOM"], default_start=start)
    petr4 = replace(DEFAULT_CATALOG["STOCK#PETR4"], default_start=start)
    store.put_records(
        [Record(s.key, d, Decimal("90"), Status.OK) for s in (xom, petr4)
         for d in (date(2022, 5, 25), date(2022, 5, 26))]
    )  # fmt: skip
    clock.set(datetime(2022, 5, 30, 21, 0, tzinfo=SP))
    sink = Collect()
    catalog = Catalog([xom, petr4])
    evaluate(AlertContext(clock.now(), store, queue, catalog), [StaleSource()], state, [sink])
    (alert,) = sink.alerts
    summary = alert.condition.summary
    assert summary.startswith("yahoo is late since 2022-05-27T19:30-03:00: 1 series still lack ")
    assert "1 series still lack 2022-05-27, due 2022-05-27T" in summary
    assert "; 1 series still lack 2022-05-30, due 2022-05-30T" in summary
    assert alert.condition.evidence["date"] == "2022-05-27"  # the oldest
    assert alert.condition.evidence["series"] == f"{xom.key}, {petr4.key}"


def test_ptax_is_not_late_on_ash_wednesday_before_its_afternoon_closing() -> None:
    """On Ash Wednesday PTAX closes after the 15:30 window: not late at 14:05 (it was, from
    14:00, for every currency), late from 16:30."""
    present = {date(2025, 2, 28): Status.OK}  # the Friday before Carnival

    def at(hh: int, mm: int) -> datetime:
        return datetime(2025, 3, 5, hh, mm, tzinfo=SP)

    assert late_series(USD, present, at(14, 5)) is None
    assert late_series(USD, present, at(16, 0)) is None
    late = late_series(USD, present, at(16, 31))
    assert late is not None
    assert (late.day, late.since) == (date(2025, 3, 5), at(16, 30))


def test_a_series_whose_values_all_lie_after_the_clock_is_not_late(home) -> None:
    # `--now` before a series' data (the demo's state prices, 2024-2026, at a 2022 clock):
    # status counts from its first stored date, so it expects nothing yet; nor is it late
    later = {date(2024, 6, 3): Status.OK, date(2024, 6, 4): Status.OK}
    now = datetime(2022, 5, 18, 17, 59, tzinfo=SP)
    assert late_series(USD, later, now) is None
    clock, store, queue, state = home
    store.put_records([_ok(d) for d in later])
    clock.set(now)
    assert _run(clock, store, queue, state, StaleSource(), [Collect()]).firing == 0
    # one stored date on or before the due day: late again, from the date after it
    before = later | {date(2022, 5, 13): Status.OK}
    found = late_series(USD, before, now)
    assert found is not None
    assert found.day == date(2022, 5, 18)


def test_a_record_before_the_catalog_start_does_not_date_lateness() -> None:
    # A value dated before the series' catalog start (kept, never asked for: an older release
    # or a person wrote it) and nothing answered since: late from the catalog start's first
    # due date, as completeness counts from it, not from the day after that old value.
    present = {date(2022, 4, 20): Status.OK, date(2022, 5, 3): Status.PENDING}
    now = datetime(2022, 5, 4, 14, 5, tzinfo=SP)
    late = late_series(USD, present, now)
    assert late is not None
    assert late.since == USD.schedule.stale_at(USD.default_start)
    assert late.latest_stored == date(2022, 4, 20)  # still the newest value stored


def test_a_date_the_source_has_no_value_for_is_not_late(home) -> None:
    # ANP publishes "-" for CNG in Acre every week and FRED "." on some days: the source
    # answered, the date is ABSENT, and nothing is late.
    clock, store, queue, state = home
    store.put_records([_ok(date(2022, 5, 2)), _ok(date(2022, 5, 3))])
    absent = Record(USD.key, date(2022, 5, 4), None, Status.ABSENT, reason="no value")
    assert store.put_pending(absent)
    clock.set(datetime(2022, 5, 4, 14, 5, tzinfo=SP))  # past the window
    assert _run(clock, store, queue, state, StaleSource(), [Collect()]).firing == 0


def test_a_series_never_collected_is_not_late(home) -> None:
    """A series none of whose dates the source ever answered, whose requests did not fail
    either (the answers had no value for any date: `watch` of every series on the demo's
    store, asking the replay for the ~150 series the demo bundles nothing of), was never
    collected: no stale_source alert. Before, such a series fired stale_source with
    ``latest_stored=None``. Its dates are retried, and the quarantine rule alerts once their
    re-downloads are spent. A series whose requests failed (the source down at the store's
    first collection) is late as before, and so is one with a date answered once."""
    clock, store, queue, state = home
    days = (date(2022, 5, 2), date(2022, 5, 3), date(2022, 5, 4))
    store.put_pendings([Record(USD.key, d, None, Status.PENDING, reason=NO_VALUE) for d in days])
    clock.set(datetime(2022, 5, 4, 14, 5, tzinfo=SP))  # past the window of the 4th
    only_pending = dict.fromkeys(days, Status.PENDING)
    assert late_series(USD, only_pending, clock.now()) is not None  # by its dates alone
    assert never_collected(store, USD, only_pending)
    assert _run(clock, store, queue, state, StaleSource(), [Collect()]).firing == 0
    # the source down: its last request failed, so it is late (the source is)
    failed = Record(USD.key, days[-1], None, Status.PENDING, 1, reason="ConnectionError: refused")
    store.put_pendings([failed])
    assert not never_collected(store, USD, only_pending)
    assert _run(clock, store, queue, state, StaleSource(), [Collect()]).firing == 1
    # one date answered once (a value, or the source's "no value"): collected
    assert not never_collected(store, USD, {**only_pending, days[0]: Status.ABSENT})


def test_quarantine_alerts_to_a_webhook_once_until_released(home, httpserver: HTTPServer) -> None:
    clock, store, queue, state = home
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    sink = WebhookSink(httpserver.url_for("/hook"))
    day = date(2022, 5, 3)
    pending = Record(
        USD.key, day, None, Status.PENDING, 5, clock.now(), "HTTP 404", {}, clock.now()
    )
    assert store.put_pending(pending)
    assert store.quarantine(USD.key, day, 5, "no value after 5 re-downloads")
    try:
        assert _run(clock, store, queue, state, Quarantined(), [sink]).firing == 1
        assert _run(clock, store, queue, state, Quarantined(), [sink]).firing == 0
        assert store.release(USD.key, day, clock.now())
        assert _run(clock, store, queue, state, Quarantined(), [sink]).cleared == 1
        assert store.quarantine(USD.key, day, 0, "still no value after 5 re-downloads")
        assert _run(clock, store, queue, state, Quarantined(), [sink]).firing == 1
    finally:
        sink.close()
    bodies = [json.loads(req.get_data()) for req, _ in httpserver.log]
    assert [b["kind"] for b in bodies] == ["FIRING", "CLEARED", "FIRING"]
    fired, cleared = bodies[0], bodies[1]
    assert cleared["summary"].startswith(f"{USD.key} cleared at ")
    assert ", after holding since " in cleared["summary"]
    assert cleared["summary"].endswith(f"(was: {fired['summary']})")
    assert cleared["was_evidence"] == fired["evidence"] and fired["was_evidence"] is None
    assert cleared["evidence"] == {  # what cleared it: the date released, none left
        "cleared_at": cleared["at"],
        "series": USD.key,
        "quarantined": 0,
        "first": "2022-05-03",
        "first_status": "PENDING",
        "first_reason": "released by hand at 2022-05-04T13:30:00-03:00; quarantined for: "
        "no value after 5 re-downloads",
        "last": "2022-05-03",
        "last_status": "PENDING",
        "last_reason": "released by hand at 2022-05-04T13:30:00-03:00; quarantined for: "
        "no value after 5 re-downloads",
    }
    assert cleared["condition_summary"] == fired["summary"] == fired["condition_summary"]
    assert bodies[0]["evidence"]["series"] == USD.key
    assert bodies[0]["evidence"]["first"] == bodies[0]["evidence"]["last"] == "2022-05-03"
    assert bodies[0]["evidence"]["dates"] == 1
    assert "re-downloads" in bodies[0]["evidence"]["reason"]


def test_a_condition_firing_again_at_the_same_instant_has_a_new_idempotency_key(
    home, httpserver: HTTPServer
) -> None:
    """`watch` on a pinned clock (--now, a demo store's) evaluates at one instant: a
    quarantine that fires, clears and fires again gave its second FIRING the first one's
    ``delivery_id`` (a hash of the condition, kind and instants), so a receiver deduping on
    ``Idempotency-Key`` dropped it as a repeat. Each alert queued has its own key; a send tried
    again after a failure keeps the key it was queued with."""
    clock, store, queue, state = home
    answers = iter([503])  # the first delivery's send fails (one attempt), then all are taken

    def answer(request: Request) -> Response:
        return Response("busy" if (code := next(answers, 200)) != 200 else "ok", status=code)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(answer)
    webhook = WebhookSink(httpserver.url_for("/hook"), attempts=1)
    outbox = [state.outbox(["webhook"])]
    day = date(2022, 5, 3)
    pending = Record(
        USD.key, day, None, Status.PENDING, 5, clock.now(), "HTTP 404", {}, clock.now()
    )
    assert store.put_pending(pending)
    try:
        assert store.quarantine(USD.key, day, 5, "no value after 5 re-downloads")
        assert _run(clock, store, queue, state, Quarantined(), outbox).firing == 1
        assert state.deliver([webhook]).sent == 0  # the 503: kept queued
        assert state.deliver([webhook]).sent == 1
        assert store.release(USD.key, day, clock.now())
        assert _run(clock, store, queue, state, Quarantined(), outbox).cleared == 1
        assert store.quarantine(USD.key, day, 0, "still no value after 5 re-downloads")
        assert _run(clock, store, queue, state, Quarantined(), outbox).firing == 1
        assert state.deliver([webhook]).sent == 2
    finally:
        webhook.close()
    asked = [req for req, _ in httpserver.log]
    assert [r.get_json()["kind"] for r in asked] == ["FIRING", "FIRING", "CLEARED", "FIRING"]
    keys = [r.headers["Idempotency-Key"] for r in asked]
    assert keys == [r.get_json()["delivery_id"] for r in asked]
    assert keys[0] == keys[1]  # the same alert tried again
    assert len({keys[1], keys[2], keys[3]}) == 3  # three alerts


def _sns_inbox(moto_server, name: str):
    """An SNS topic on moto_server with an SQS queue subscribed: its sink, the SQS client and
    the queue's URL."""
    sns, sqs = moto_server.client("sns"), moto_server.client("sqs")
    topic = sns.create_topic(Name=f"fuelpipe-alerts-{name}")["TopicArn"]
    inbox = sqs.create_queue(QueueName=f"alert-inbox-{name}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    return SnsSink(sns, topic), sqs, inbox


def test_dead_letters_alert_through_sns_on_moto_server(home, moto_server) -> None:
    clock, store, queue, state = home
    sink, sqs, inbox = _sns_inbox(moto_server, "test")
    lines: list[str] = []
    console = ConsoleSink(lines.append)

    queue.send(['{"not": "a request"}'])
    message = queue.receive(1)[0]
    queue.dead_letter(message, "malformed message: missing partition_key")
    assert _run(clock, store, queue, state, DeadLettered(), [sink, console]).firing == 1
    assert _run(clock, store, queue, state, DeadLettered(), [sink, console]).firing == 0
    assert queue.redrive() == 1
    assert _run(clock, store, queue, state, DeadLettered(), [sink, console]).cleared == 1
    again = queue.receive(1)[0]
    queue.dead_letter(again, "malformed message: missing partition_key")
    assert _run(clock, store, queue, state, DeadLettered(), [sink, console]).firing == 1

    got = []
    while batch := sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages"):
        got += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=inbox,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    messages = [json.loads(n["Message"]) for n in got]
    kinds = [m["kind"] for m in messages]
    assert sorted(kinds) == ["CLEARED", "FIRING", "FIRING"]
    (cleared,) = [m for m in messages if m["kind"] == "CLEARED"]  # the webhook's body
    assert cleared["summary"].startswith(f"{cleared['subject']} cleared at ")
    assert cleared["summary"].endswith(f"(was: {cleared['condition_summary']})")
    assert all(n["Subject"].startswith("[fuelpipe ") for n in got)
    evidence = json.loads(got[0]["Message"])["evidence"]
    assert evidence["reason"] == "malformed message: missing partition_key"
    assert len(lines) == 3 and "dead_lettered" in lines[0]


def test_an_sns_subject_keeps_symbols_and_accents_readable_on_moto_server(moto_server) -> None:
    """SNS subjects are ASCII: "→", "±", "…" and "São Paulo" reached the e-mail as "?"."""
    sink, sqs, inbox = _sns_inbox(moto_server, "subject")
    now = datetime(2022, 5, 7, 23, 59, tzinfo=UTC)
    conditions = [  # the summary OutlookMove writes, and one with a city and a line break
        Condition(
            "outlook_move",
            "FUEL#GASOLINE#SP:rise",
            "FUEL#GASOLINE#SP expected to rise 3.4% within 2 weeks, by the week of 2022-05-15 "
            "(7.280 → 7.528 BRL/l; alert at ±3.0%)",
        ),
        Condition("stale_source", "anp", "São Paulo…\nlate\tagain"),
    ]
    for c in conditions:
        sink.send(Alert(AlertKind.FIRING, c, now, now))
    subjects = sorted(n["Subject"] for n in drain_sns_notifications(sqs, inbox))
    assert subjects == [
        "[fuelpipe FIRING] outlook_move: FUEL#GASOLINE#SP expected to rise 3.4% within 2 weeks, "
        "by the we...",
        "[fuelpipe FIRING] stale_source: Sao Paulo... late again",
    ]
    assert all(len(s) < 100 for s in subjects)


def test_an_sns_message_is_strict_json_when_evidence_holds_a_number_json_has_not(
    moto_server,
) -> None:
    """The message is the webhook's body: a NaN or an infinity in the evidence went out as
    ``NaN``/``Infinity``, which a strict JSON parser (a subscriber's JSON.parse, jq) refuses,
    losing the whole alert there. It is null, as in the webhook's body."""
    sink, sqs, inbox = _sns_inbox(moto_server, "nan")
    now = datetime(2022, 5, 7, 23, 59, tzinfo=UTC)
    odd = Condition(
        "custom", "x", "spread undefined", {"spread": float("nan"), "top": 1e400, "tiny": 1.2e-05}
    )
    sink.send(Alert(AlertKind.FIRING, odd, now, now))
    (note,) = drain_sns_notifications(sqs, inbox)

    def refuse(word: str) -> None:
        raise ValueError(f"not JSON: {word}")

    message = json.loads(note["Message"], parse_constant=refuse)
    assert message["evidence"] == {"spread": None, "top": None, "tiny": 1.2e-05}
    assert '"tiny": 0.000012' in note["Message"]  # positional, as the webhook's (synthetic)


def test_an_sns_subject_is_ascii_without_control_characters_and_under_100_characters() -> None:
    assert sns_subject("7.280 → 7.528 (±3.0%) in São Paulo…") == (
        "7.280 -> 7.528 (+/-3.0%) in Sao Paulo..."
    )
    assert sns_subject("a\x00b\r\nc\x7fd") == "a b c d"
    assert sns_subject("€ 2") == "? 2"  # no ASCII form: still a character
    cut = sns_subject("x" * 98 + "ção")
    assert cut == "x" * 96 + "..." and len(cut) == 99
    assert sns_subject("x" * 99) == "x" * 99


def _stored_before_claims(subject: str, at: datetime) -> str:
    """An outbox row's body as written before claims (the alert's own instant inside)."""
    return json.dumps(
        {
            "rule": "dead_lettered",
            "subject": subject,
            "summary": f"message {subject} dead-lettered: malformed",
            "evidence": {"message_id": subject},
            "severity": "critical",
            "since": at.isoformat(),
            "kind": "FIRING",
            "at": at.isoformat(),
        }
    )


def test_an_outbox_written_before_claims_is_migrated_and_delivered(tmp_path) -> None:
    """An alert_outbox table without the claim columns gains them on open; its rows are sent
    once, and rows for a removed sink age from the alert's own instant."""
    db = tmp_path / "old.sqlite"
    queued = datetime(2022, 5, 4, 13, 30, tzinfo=SP)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE alert_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "sink TEXT NOT NULL, body TEXT NOT NULL)"
        )
        conn.executemany(
            "INSERT INTO alert_outbox (sink, body) VALUES (?, ?)",
            [("collect", _stored_before_claims("m1", queued)),
             ("webhook", _stored_before_claims("m2", queued))],
        )  # fmt: skip
    conn.close()
    clock = ManualClock(queued + timedelta(days=6))
    state = SqliteAlertState(db, clock=clock)
    try:
        sink = Collect()
        report = state.deliver([sink])
        assert [a.condition.subject for a in sink.alerts] == ["m1"]
        assert report.orphaned == {"webhook": 1}
        clock.advance(timedelta(days=1))  # seven days after the alert's instant
        assert state.deliver([sink]).dropped == {"webhook": 1}
        assert state.deliver([sink]).sent == 0 and len(sink.alerts) == 1
    finally:
        state.close()


def test_a_cleared_alert_says_what_cleared_and_since_when_not_the_firing_summary() -> None:
    from fuelpipe.domain.alerts import Alert, AlertKind, Condition

    cond = Condition("stale_source", "bcb", "bcb is late: 1 series still lack 2022-05-04")
    since = datetime(2022, 5, 4, 16, 30, tzinfo=UTC)
    firing = Alert(AlertKind.FIRING, cond, since, since)
    cleared = Alert(AlertKind.CLEARED, cond, since + timedelta(hours=2), since)
    assert firing.subject_line() == (
        "[fuelpipe FIRING] stale_source: bcb is late: 1 series still lack 2022-05-04"
    )
    assert cleared.subject_line() == (
        "[fuelpipe CLEARED] stale_source: bcb cleared at 2022-05-04T15:30-03:00, after holding "
        "since 2022-05-04T13:30-03:00 (was: bcb is late: 1 series still lack 2022-05-04)"
    )
    # the webhook's and SNS's body: a receiver showing kind and summary read "CLEARED bcb is
    # late: ..." before; the condition's own text stays in condition_summary
    assert firing.as_dict()["summary"] == firing.as_dict()["condition_summary"] == cond.summary
    body = cleared.as_dict()
    assert body["summary"] == (
        "bcb cleared at 2022-05-04T15:30-03:00, after holding since 2022-05-04T13:30-03:00 "
        "(was: bcb is late: 1 series still lack 2022-05-04)"
    )
    assert body["condition_summary"] == cond.summary


class FailsOnMore(Quarantined):
    """The quarantine rule, broken on any catalog wider than USD alone."""

    def evaluate(self, context: AlertContext):
        if len(context.catalog) > 1:
            raise RuntimeError("broken on the whole catalog")
        return super().evaluate(context)


def test_an_alert_outside_the_watched_part_is_kept_when_its_rule_fails_on_the_whole(
    home,
) -> None:
    """`watch -s` clears an alert about a series it no longer watches only when the rule,
    run on the whole catalog, no longer finds it; a rule that raises there clears nothing."""
    clock, store, queue, state = home
    sink = Collect()
    prio = DEFAULT_CATALOG["STOCK#PRIO3"]
    whole = Catalog([USD, prio])
    store.put_pendings([Record(prio.key, date(2022, 5, 2), None, Status.QUARANTINED, 5)])
    everything = AlertContext(clock.now(), store, queue, whole)
    assert evaluate(everything, [Quarantined()], state, [sink]).firing == 1
    part = AlertContext(clock.now(), store, queue, Catalog([USD]))
    report = evaluate(part, [FailsOnMore()], state, [sink], whole=whole)
    assert (report.firing, report.cleared, report.active) == (0, 0, 1)
    assert report.failed_rules == (
        "quarantined (whole catalog): RuntimeError: broken on the whole catalog",
    )
    store.release(prio.key, date(2022, 5, 2), clock.now())
    report = evaluate(part, [Quarantined()], state, [sink], whole=whole)
    assert (report.firing, report.cleared, report.active) == (0, 1, 0)
    assert [a.kind.value for a in sink.alerts] == ["FIRING", "CLEARED"]


class _ReadLog(SqliteStore):
    """A real SQLite store that notes each read of a key's dates and how many it returned."""

    def __init__(self, path) -> None:
        super().__init__(path)
        self.reads: list[tuple[str, date | None, int]] = []

    def present(self, key: str):
        found = super().present(key)
        self.reads.append((key, None, len(found)))
        return found

    def present_after(self, key: str, after: date | None):
        found = super().present_after(key, after)
        self.reads.append((key, after, len(found)))
        return found


class _WholeHistory(SqliteStore):
    """The same file read whole whatever the bound: what StaleSource read before."""

    def present_after(self, key: str, after: date | None):
        return super().present(key)


@pytest.mark.parametrize(
    ("last_ok", "after_ok", "late"),
    [
        (date(2022, 5, 4), None, False),  # on time
        (date(2022, 5, 3), None, True),  # late for a day
        (date(2021, 9, 1), None, True),  # late for months: past the first window
        (date(2004, 12, 31), Status.ABSENT, True),  # nothing OK for years, answered since
    ],
)
def test_stale_source_reads_a_recent_window_and_answers_as_the_whole_history(
    tmp_path, last_ok: date, after_ok: Status | None, late: bool
) -> None:
    """StaleSource read every series' whole history every hour after recheck (~305,000 dates
    over 440 sequential queries: ~30 s in the Lambda, past its timeout after a busy recheck).
    It now reads from a window before the latest due date, wider only when that window cannot
    say where lateness began; the conditions are those the whole history gives."""
    now = datetime(2022, 5, 4, 14, 5, tzinfo=SP)  # past PTAX's window for 2022-05-04
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    days = list(expected_between(get_calendar(usd.calendar), date(2000, 1, 3), date(2022, 5, 4)))
    stamp = datetime(2022, 5, 1, tzinfo=UTC)
    path = tmp_path / "history.sqlite"
    with SqliteStore(path) as store:
        store.put_records(
            [
                Record(usd.key, d, Decimal("5"), Status.OK, updated_at=stamp)
                for d in days
                if d <= last_ok
            ]
        )
        if after_ok is not None:  # answered without a value: not late, but no value since
            rest = [d for d in days if last_ok < d < date(2022, 5, 4)]
            store.put_pendings([Record(usd.key, d, None, after_ok, reason="-") for d in rest])
    clock = ManualClock(now)
    catalog = Catalog([usd])
    queue = SqliteQueue(tmp_path / "q.sqlite", clock=clock, visibility_timeout=timedelta(1))
    found = {}
    try:
        for name, opened in (("window", _ReadLog(path)), ("whole", _WholeHistory(path))):
            with opened as store:
                ctx = AlertContext(now, store, queue, catalog)
                found[name] = list(StaleSource().evaluate(ctx))
                if name == "window":
                    reads = store.reads
    finally:
        queue.close()
    assert found["window"] == found["whole"]
    assert len(found["window"]) == int(late)
    if late:
        assert found["window"][0].evidence["latest_stored"] == last_ok.isoformat()
    first_window = date(2022, 5, 4) - STALE_WINDOW
    assert reads[0][:2] == (usd.key, first_window)
    if last_ok >= first_window:  # on time, or late inside the window: one bounded read
        assert len(reads) == 1 and reads[0][2] < 50


class _Found:
    """A rule finding the conditions it is given, as any rule finds what holds now."""

    def __init__(self, name: str, subjects: list[str]) -> None:
        self.name = name
        self.subjects = subjects

    def evaluate(self, context: AlertContext) -> list[Condition]:
        return [Condition(self.name, s, f"{s} holds", {}) for s in self.subjects]


def _kinds(sink: Collect) -> list[tuple[str, str]]:
    out = [(a.kind.value, a.condition.subject) for a in sink.alerts]
    sink.alerts.clear()
    return out


def test_a_capped_rule_never_clears_a_listed_condition_that_still_holds(home) -> None:
    clock, store, queue, state = home
    rule, sink = _Found("flood", ["K001", "K002", "K003", "K004"]), Collect()
    ctx = AlertContext(clock.now(), store, queue, Catalog([USD]))
    evaluate(ctx, [rule], state, [sink], limit=3)
    assert _kinds(sink) == [("FIRING", "K001"), ("FIRING", "K002"), ("FIRING", "+more")]
    rule.subjects.insert(0, "K000")  # sorts first: it must not push K002 out
    report = evaluate(ctx, [rule], state, [sink], limit=3)
    assert _kinds(sink) == [] and report.cleared == 0
    assert state.load()["flood:+more"].condition.evidence["more"] == 3
    rule.subjects.remove("K001")  # truly gone: cleared, and no folded one fires in its place
    evaluate(ctx, [rule], state, [sink], limit=3)
    assert _kinds(sink) == [("CLEARED", "K001")]
    assert set(state.load()) == {"flood:K002", "flood:+more"}


def test_dead_letter_alerts_stored_before_the_cap_do_not_clear_while_they_hold(home) -> None:
    clock, store, queue, state = home
    ids = [f"m{i:04d}" for i in range(350)]
    since = clock.now() - timedelta(days=1)
    state.load()
    state.save(
        {
            f"dead_lettered:{m}": ActiveAlert(Condition("dead_lettered", m, "dead", {}), since)
            for m in ids
        }
    )
    rule, sink = _Found("dead_lettered", ids), Collect()
    ctx = AlertContext(clock.now(), store, queue, Catalog([USD]))
    report = evaluate(ctx, [rule], state, [sink])
    assert sink.alerts == [] and report.active == 350
    assert {a.since for a in state.load().values()} == {since}
    rule.subjects = ids[:-1]  # one went: only it clears
    evaluate(ctx, [rule], state, [sink])
    assert _kinds(sink) == [("CLEARED", "m0349")]


class _FoundInWhole(_Found):
    """Finds its conditions only when run on more than the one watched series."""

    def evaluate(self, context: AlertContext) -> list[Condition]:
        return super().evaluate(context) if len(list(context.catalog)) > 1 else []


def test_an_alert_outside_the_watched_part_folded_in_the_wholes_overflow_still_holds(
    home,
) -> None:
    clock, store, queue, state = home
    since = clock.now() - timedelta(days=1)
    state.load()
    state.save({"flood:K003": ActiveAlert(Condition("flood", "K003", "K003 holds", {}), since)})
    rule, sink = _FoundInWhole("flood", ["K000", "K001", "K002", "K003"]), Collect()
    ctx = AlertContext(clock.now(), store, queue, Catalog([USD]))
    evaluate(ctx, [rule], state, [sink], whole=DEFAULT_CATALOG, limit=3)
    assert sink.alerts == [] and set(state.load()) == {"flood:K003"}


class _Graded:
    """A rule finding one condition at the severity it is given (a harsher threshold crossed)."""

    name = "graded"

    def __init__(self, severity: Severity) -> None:
        self.severity = severity

    def evaluate(self, context: AlertContext) -> list[Condition]:
        summary = f"{USD.key} is {self.severity.value}"
        return [Condition(self.name, USD.key, summary, {"series": USD.key}, self.severity)]


def test_a_severity_rise_is_delivered_once_through_the_outbox_and_a_fall_is_not(
    home, httpserver: HTTPServer
) -> None:
    clock, store, queue, state = home
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    webhook, lines = WebhookSink(httpserver.url_for("/hook")), []
    sinks = [webhook, ConsoleSink(lines.append)]
    rule = _Graded(Severity.WARNING)
    ctx = AlertContext(clock.now(), store, queue, Catalog([USD]))

    def tick(severity: Severity) -> tuple[int, int, int, int]:
        rule.severity = severity
        clock.advance(timedelta(hours=1))
        now = replace(ctx, now=clock.now())
        report = evaluate(now, [rule], state, [state.outbox(s.name for s in sinks)])
        sent = state.deliver(sinks).sent
        return report.firing, report.escalated, report.cleared, sent

    try:
        fired_at = clock.now() + timedelta(hours=1)
        assert tick(Severity.WARNING) == (1, 0, 0, 2)
        assert tick(Severity.CRITICAL) == (0, 1, 0, 2)  # one message to each sink
        assert tick(Severity.CRITICAL) == (0, 0, 0, 0)  # not again on the next evaluation
        assert tick(Severity.WARNING) == (0, 0, 0, 0)  # a fall does not page
        stored = state.load()[f"graded:{USD.key}"]
        assert (stored.condition.severity, stored.announced_severity, stored.since) == (
            Severity.WARNING,
            Severity.CRITICAL,
            fired_at,
        )
        assert tick(Severity.CRITICAL) == (0, 0, 0, 0)  # critical was announced already
    finally:
        webhook.close()
    bodies = [json.loads(req.get_data()) for req, _ in httpserver.log]
    assert [(b["kind"], b["severity"], b["previous_severity"]) for b in bodies] == [
        ("FIRING", "warning", None),
        ("ESCALATED", "critical", "warning"),
    ]
    assert bodies[1]["since"] == fired_at.isoformat() and bodies[1]["id"] == f"graded:{USD.key}"
    assert bodies[1]["delivery_id"] != bodies[0]["delivery_id"]
    assert lines[1].startswith(
        f"[fuelpipe ESCALATED] graded: critical (was warning): {USD.key} is critical ("
    )


def test_an_escalation_reaches_sns_with_its_kind_and_previous_severity(home, moto_server) -> None:
    clock, store, queue, state = home
    sink, sqs, inbox = _sns_inbox(moto_server, "escalated")
    rule = _Graded(Severity.WARNING)
    _run(clock, store, queue, state, rule, [state.outbox(["sns"])])
    assert state.deliver([sink]).sent == 1
    sqs.purge_queue(QueueUrl=inbox)
    rule.severity = Severity.CRITICAL
    assert _run(clock, store, queue, state, rule, [state.outbox(["sns"])]).escalated == 1
    assert state.deliver([sink]).sent == 1
    (note,) = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(note["Body"])
    message = json.loads(body["Message"])
    assert (message["kind"], message["severity"], message["previous_severity"]) == (
        "ESCALATED",
        "critical",
        "warning",
    )
    assert body["MessageAttributes"]["kind"]["Value"] == "ESCALATED"
    assert body["Subject"].startswith("[fuelpipe ESCALATED] graded: critical (was warning)")


def test_the_console_shows_one_line_per_alert_whatever_its_text_holds() -> None:
    """Synthetic edge case: a dead letter's reason or an added rule's subject is text from
    outside (a receiver's answer, a queue message): a line break in it printed a second line
    that read as another alert (``[fuelpipe CLEARED] …``), and an escape sequence reached the
    terminal (clearing the screen). Control characters are shown escaped, the rest as is."""
    lines: list[str] = []
    forged = "bcb\n[fuelpipe CLEARED] stale_source: bcb cleared"
    cond = Condition("custom", forged, f"{forged}\r\x1b[2J São Paulo", {"reason": "a\nb"})
    now = datetime(2022, 5, 4, 17, 5, tzinfo=UTC)
    ConsoleSink(lines.append).send(Alert(AlertKind.FIRING, cond, now, now))
    (line,) = lines
    assert not any(c in line for c in "\n\r\x1b")
    assert "bcb\\n[fuelpipe CLEARED]" in line and "\\x1b[2J São Paulo" in line
    assert line.endswith("(reason=a\\nb)")


def test_a_brazilian_team_reads_every_alert_in_portuguese_through_the_outbox(
    home, moto_server
) -> None:
    """Alerts were English only while the dashboard is bilingual. The JSON body (webhook and
    SNS alike) carries the summary in both languages, whatever the setting (a receiver picks
    one); ``FUELPIPE_ALERT_LANGUAGE=pt-BR`` writes the console line and the SNS (e-mail)
    subject in Portuguese, the kind and rule tokens unchanged. The pt-BR text is kept with the
    queued alert, so one delivered later, and the CLEARED one, are in Portuguese too."""
    clock, store, queue, state = home
    sink, sqs, inbox = _sns_inbox(moto_server, "pt-br")
    portuguese = SnsSink(moto_server.client("sns"), sink.topic_arn, "pt-BR")
    store.put_records([_ok(date(2022, 5, 2)), _ok(date(2022, 5, 3))])
    clock.set(datetime(2022, 5, 4, 14, 5, tzinfo=SP))
    assert _run(
        clock, store, queue, state, StaleSource(), [state.outbox(["sns", "console"])]
    ).firing
    lines: list[str] = []
    console = ConsoleSink(lines.append, "pt-BR")
    assert state.deliver([portuguese, console]).sent == 2
    store.put_records([_ok(date(2022, 5, 4))])
    clock.set(datetime(2022, 5, 4, 14, 30, tzinfo=SP))
    assert _run(
        clock, store, queue, state, StaleSource(), [state.outbox(["sns", "console"])]
    ).cleared
    assert state.deliver([portuguese, console]).sent == 2
    fired = (
        "bcb atrasada desde 2022-05-04T14:00-03:00: 1 série(s) ainda sem 2022-05-04, "
        "prevista(s) para 2022-05-04T13:10-03:00"
    )
    assert lines[0].startswith(f"[fuelpipe FIRING] stale_source: {fired} (")
    assert lines[1].startswith(
        "[fuelpipe CLEARED] stale_source: bcb normalizado em 2022-05-04T14:30-03:00, após "
        f"valer desde 2022-05-04T14:00-03:00 (era: {fired})"
    )
    notes = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    bodies = sorted(
        (json.loads(n["Body"]) for n in notes), key=lambda b: b["Subject"], reverse=True
    )
    assert [b["Subject"][:60] for b in bodies] == [
        "[fuelpipe FIRING] stale_source: bcb atrasada desde 2022-05-0",
        "[fuelpipe CLEARED] stale_source: bcb normalizado em 2022-05-",  # SNS subjects: ASCII
    ]
    firing, cleared = (json.loads(b["Message"]) for b in bodies)
    assert firing["summary"].startswith("bcb is late since 2022-05-04T14:00-03:00: 1 series")
    assert firing["summary_pt_br"] == firing["condition_summary_pt_br"] == fired
    assert cleared["summary"].startswith("bcb cleared at 2022-05-04T14:30-03:00, after holding ")
    assert cleared["summary_pt_br"] == (
        "bcb normalizado em 2022-05-04T14:30-03:00, após valer desde 2022-05-04T14:00-03:00 "
        f"(era: {fired})"
    )
    assert cleared["condition_summary_pt_br"] == fired
    # the default stays English: the console line and the SNS subject as before
    english: list[str] = []
    ConsoleSink(english.append).send(
        Alert(
            AlertKind.FIRING, Condition("r", "s", "x", summary_pt_br="y"), clock.now(), clock.now()
        )
    )
    assert english == ["[fuelpipe FIRING] r: x ()"]


def test_the_alert_language_setting_takes_english_or_brazilian_portuguese_only() -> None:
    from pydantic import ValidationError

    from fuelpipe.homes.settings import Settings

    assert Settings(alert_language="pt-BR").alert_language == "pt-BR"
    assert Settings().alert_language == "en"
    with pytest.raises(ValidationError):
        Settings(alert_language="pt")


def test_a_store_started_while_its_source_is_late_alerts_once_a_date_it_saw_come_is_overdue(
    tmp_path,
) -> None:
    """A store starts collecting PTAX on Wednesday 15:00, the day's window over at 14:00
    without it: every date asked is answered with no value (PENDING, no failure), so the
    series was never collected, and before it never alerted at all (until its retries were
    spent, as a quarantine). Now the dates already overdue when the store started asking for
    it (its oldest PENDING date's first-PENDING instant) say nothing (a brand-new store, or a
    source that lacks the series), but Thursday's, whose window the store saw open, alerts
    once it ends unanswered: stale_source since Thursday 14:00, the health view's late row
    alike, once (not every poll)."""
    from fuelpipe.dashboard.health import health_view
    from fuelpipe.homes.embedded import build_context
    from fuelpipe.homes.settings import Settings

    clock = ManualClock(datetime(2022, 5, 4, 15, 0, tzinfo=SP))
    app = build_context(Settings(db=tmp_path / "n.sqlite"), clock=clock, catalog=Catalog([USD]))
    state = SqliteAlertState(tmp_path / "n.sqlite", clock=clock)
    sink = Collect()

    def evaluate_now() -> int:
        ctx = AlertContext(clock.now(), app.store, app.queue, Catalog([USD]))
        return evaluate(ctx, [StaleSource()], state, [sink]).firing

    def answered_with_no_value(*days: date) -> None:  # the scraper's answer, at the clock
        app.store.put_pendings(
            [Record(USD.key, d, None, Status.PENDING, reason=NO_VALUE) for d in days]
        )

    try:
        answered_with_no_value(date(2022, 5, 2), date(2022, 5, 3), date(2022, 5, 4))
        assert evaluate_now() == 0  # the 4th was overdue before the store started
        assert health_view(app.store, Catalog([USD]), None, clock).problems == []
        clock.set(datetime(2022, 5, 5, 13, 59, tzinfo=SP))  # Thursday, inside its window
        answered_with_no_value(date(2022, 5, 2), date(2022, 5, 3), date(2022, 5, 4))
        answered_with_no_value(date(2022, 5, 5))  # polled again: still no value
        assert evaluate_now() == 0
        clock.set(datetime(2022, 5, 5, 14, 5, tzinfo=SP))  # its window over, unanswered
        assert evaluate_now() == 1
        (alert,) = sink.alerts
        thursday = datetime(2022, 5, 5, 14, 0, tzinfo=SP)
        assert (alert.condition.subject, alert.since) == ("bcb", thursday)
        assert alert.condition.evidence["latest_stored"] is None
        (late,) = health_view(app.store, Catalog([USD]), None, clock).problems
        assert (late.source, late.state, late.since) == ("bcb", "late", thursday)
        clock.set(datetime(2022, 5, 5, 14, 10, tzinfo=SP))
        answered_with_no_value(date(2022, 5, 5))
        assert evaluate_now() == 0  # one alert per event, not per poll
    finally:
        state.close()
        app.close()


def test_a_series_planned_that_never_stored_a_record_is_late_after_its_next_window(
    tmp_path,
) -> None:
    """A catalog series the orchestrator plans but that never gets a record, not even a
    PENDING one (its messages lost before any scraper wrote: here taken off the queue unread),
    was never late: "a series with no record at all is a series the home does not keep". Now
    one the orchestrator has planned (it notes when it first did, ``first_planned#<key>``) is
    late once a date whose window was still open then is past it with nothing stored: PTAX
    planned on Wednesday 15:00 is late since Thursday 14:00, in the alert and the health
    view's late row, once. Quiet still: a series never planned (the home does not keep it),
    and one whose catalog start is after the clock (no data yet by design) until the first
    window after its start has ended."""
    from fuelpipe.dashboard.health import health_view
    from fuelpipe.homes.embedded import build_context
    from fuelpipe.homes.settings import Settings
    from fuelpipe.stages.orchestrate import first_planned_name, orchestrate

    eur = replace(DEFAULT_CATALOG["CURRENCY#EUR"], default_start=date(2022, 5, 6))  # Friday
    gbp = replace(DEFAULT_CATALOG["CURRENCY#GBP"], default_start=date(2022, 5, 2))
    catalog = Catalog([USD, eur, gbp])
    clock = ManualClock(datetime(2022, 5, 4, 15, 0, tzinfo=SP))
    app = build_context(Settings(db=tmp_path / "n.sqlite"), clock=clock, catalog=catalog)
    state = SqliteAlertState(tmp_path / "n.sqlite", clock=clock)
    sink = Collect()

    def plan_and_lose() -> None:  # USD and EUR planned (GBP never), every message lost
        orchestrate(app, series=[USD, eur])
        while messages := app.queue.receive(10):
            app.queue.delete([m.receipt for m in messages])

    def evaluate_now() -> int:
        ctx = AlertContext(clock.now(), app.store, app.queue, catalog)
        return evaluate(ctx, [StaleSource()], state, [sink]).firing

    try:
        plan_and_lose()
        assert app.store.present(USD.key) == []  # nothing stored, not even PENDING
        assert evaluate_now() == 0  # Wednesday's window was over before it was planned
        assert health_view(app.store, catalog, None, clock).problems == []
        clock.set(datetime(2022, 5, 5, 13, 59, tzinfo=SP))  # Thursday, inside its window
        plan_and_lose()
        assert evaluate_now() == 0
        clock.set(datetime(2022, 5, 5, 14, 5, tzinfo=SP))  # its window over, nothing stored
        assert evaluate_now() == 1
        (alert,) = sink.alerts
        thursday = datetime(2022, 5, 5, 14, 0, tzinfo=SP)
        assert (alert.condition.subject, alert.since) == ("bcb", thursday)
        evidence = alert.condition.evidence
        assert (evidence["series"], evidence["date"]) == (USD.key, "2022-05-05")
        assert evidence["latest_stored"] is None
        (late,) = health_view(app.store, catalog, None, clock).problems
        assert (late.source, late.state, late.since) == ("bcb", "late", thursday)
        clock.set(datetime(2022, 5, 5, 14, 10, tzinfo=SP))
        plan_and_lose()
        assert evaluate_now() == 0  # one alert, not one per run
        # the first plan's instant stays: later scans of the key do not move it
        assert app.store.get_meta(first_planned_name(USD.key)) == "2022-05-04T15:00:00-03:00"
        assert app.store.get_meta(first_planned_name(gbp.key)) is None
        # EUR, from Friday on in the catalog: late once Friday's window is over, not before
        clock.set(datetime(2022, 5, 6, 14, 5, tzinfo=SP))
        plan_and_lose()
        assert evaluate_now() == 0  # still the one alert: bcb, now two series
        ctx = AlertContext(clock.now(), app.store, app.queue, catalog)
        (condition,) = StaleSource().evaluate(ctx)
        assert condition.evidence["series"] == f"{eur.key}, {USD.key}"  # both lack Friday
        assert condition.evidence["late_since"] == "2022-05-05T14:00:00-03:00"
    finally:
        state.close()
        app.close()


def test_a_series_planned_inside_a_window_is_not_late_by_that_window(tmp_path) -> None:
    """PTAX planned on Thursday 13:55, its close out at 13:10 and the window open to 14:00:
    a new store's backfill may still be queued at 14:00, so Thursday's window says nothing of
    a series with no record yet; Friday's, the first published after the plan, does."""
    from fuelpipe.homes.embedded import build_context
    from fuelpipe.homes.settings import Settings
    from fuelpipe.stages.orchestrate import orchestrate

    clock = ManualClock(datetime(2022, 5, 5, 13, 55, tzinfo=SP))
    app = build_context(Settings(db=tmp_path / "n.sqlite"), clock=clock, catalog=Catalog([USD]))
    try:
        orchestrate(app)  # its messages are never fetched: nothing stored
        clock.set(datetime(2022, 5, 5, 14, 5, tzinfo=SP))
        ctx = AlertContext(clock.now(), app.store, app.queue, Catalog([USD]))
        assert StaleSource().evaluate(ctx) == []
        clock.set(datetime(2022, 5, 6, 14, 5, tzinfo=SP))
        ctx = AlertContext(clock.now(), app.store, app.queue, Catalog([USD]))
        (condition,) = StaleSource().evaluate(ctx)
        assert condition.evidence["late_since"] == "2022-05-06T14:00:00-03:00"
        assert condition.evidence["date"] == "2022-05-06"
    finally:
        app.close()


def test_a_cleared_late_source_tells_what_cleared_it_and_labels_what_it_was(home) -> None:
    """A CLEARED alert's evidence was the firing's (its ``latest_stored`` 2022-05-03, its
    ``now`` 14:05), so a reader of the clear took it for data still stale; only ``at`` gave
    the clearing instant. Its evidence now says what cleared it (when, the series' newest
    stored date now, the late date's status now), through the outbox to the webhook/SNS body
    and the console in both languages, and the firing's evidence is ``was_evidence``."""
    clock, store, queue, state = home
    store.put_records([_ok(date(2022, 5, 2)), _ok(date(2022, 5, 3))])
    clock.set(datetime(2022, 5, 4, 14, 5, tzinfo=SP))
    assert _run(clock, store, queue, state, StaleSource(), [state.outbox(["collect"])]).firing
    store.put_records([_ok(date(2022, 5, 4))])
    clock.set(datetime(2022, 5, 4, 14, 30, tzinfo=SP))
    assert _run(clock, store, queue, state, StaleSource(), [state.outbox(["collect"])]).cleared
    sink = Collect()
    assert state.deliver([sink]).sent == 2  # queued, stored, read back
    fired, cleared = (a.as_dict() for a in sink.alerts)
    assert (fired["evidence"]["latest_stored"], fired["evidence"]["now"]) == (
        "2022-05-03",
        "2022-05-04T14:05:00-03:00",
    )
    assert cleared["evidence"] == {
        "cleared_at": "2022-05-04T14:30:00-03:00",
        "series": USD.key,
        "latest_stored": "2022-05-04",
        "date": "2022-05-04",
        "date_status": "OK",
    }
    assert cleared["was_evidence"] == fired["evidence"] and fired["was_evidence"] is None
    assert cleared["summary"].startswith("bcb cleared at 2022-05-04T14:30-03:00, after holding")
    lines: list[str] = []
    ConsoleSink(lines.append).send(sink.alerts[1])
    ConsoleSink(lines.append, "pt-BR").send(sink.alerts[1])
    en, pt = (line.split(" (cleared_at=", 1)[1] for line in lines)
    now, was = en.split("; was: ")
    assert now == (
        "2022-05-04T14:30:00-03:00, series=CURRENCY#USD, latest_stored=2022-05-04, "
        "date=2022-05-04, date_status=OK"
    )
    assert "latest_stored=2022-05-03, now=2022-05-04T14:05:00-03:00" in was
    assert pt.split("; era: ") == [now, was]


class _BrokenClear(StaleSource):
    def cleared(self, condition, context):
        raise RuntimeError("store away")


def test_a_rule_failing_to_tell_what_cleared_does_not_hold_the_clear_back(home) -> None:
    clock, store, queue, state = home
    sink = Collect()
    store.put_records([_ok(date(2022, 5, 2)), _ok(date(2022, 5, 3))])
    clock.set(datetime(2022, 5, 4, 14, 5, tzinfo=SP))
    assert _run(clock, store, queue, state, _BrokenClear(), [sink]).firing == 1
    store.put_records([_ok(date(2022, 5, 4))])
    report = _run(clock, store, queue, state, _BrokenClear(), [sink])
    assert (report.cleared, report.active) == (1, 0)
    assert sink.alerts[1].as_dict()["evidence"] == {
        "cleared_at": "2022-05-04T14:05:00-03:00",
        "cleared_unknown": "RuntimeError: store away",
    }


def test_a_cleared_quarantine_tells_how_its_dates_left_it(home) -> None:
    """A CLEARED quarantine alert's evidence was only ``cleared_at``: a reader could not
    tell a date released by hand (retried again) from one accepted as no value or one stored
    OK since. It now tells the series' quarantined count now and the status and reason now of
    the first and last dates the firing named, through the outbox to the webhook/SNS body."""
    from fuelpipe.stages.quarantine import settle

    clock, store, queue, state = home
    days = [date(2022, 5, 2), date(2022, 5, 3)]
    for day in days:
        pending = Record(USD.key, day, None, Status.PENDING, 5, clock.now(), "HTTP 404")
        assert store.put_pending(pending)
        assert store.quarantine(USD.key, day, 5, "HTTP 404 after 5 re-downloads")
    outbox = [state.outbox(["collect"])]
    assert _run(clock, store, queue, state, Quarantined(), outbox).firing == 1
    clock.set(datetime(2022, 5, 4, 15, 0, tzinfo=SP))
    assert settle(store, "release", USD.key, days[0], clock.now())
    assert settle(store, "accept", USD.key, days[1], clock.now())
    assert _run(clock, store, queue, state, Quarantined(), outbox).cleared == 1
    sink = Collect()
    assert state.deliver([sink]).sent == 2
    fired, cleared = (a.as_dict() for a in sink.alerts)
    assert (fired["evidence"]["first"], fired["evidence"]["last"]) == ("2022-05-02", "2022-05-03")
    assert cleared["evidence"] == {
        "cleared_at": "2022-05-04T15:00:00-03:00",
        "series": USD.key,
        "quarantined": 0,
        "first": "2022-05-02",
        "first_status": "PENDING",
        "first_reason": "released by hand at 2022-05-04T15:00:00-03:00; quarantined for: "
        "HTTP 404 after 5 re-downloads",
        "last": "2022-05-03",
        "last_status": "ABSENT",
        "last_reason": "accepted by hand as no value at 2022-05-04T15:00:00-03:00; "
        "quarantined for: HTTP 404 after 5 re-downloads",
    }
    assert cleared["was_evidence"] == fired["evidence"]


def test_a_quarantine_clear_read_by_a_rule_that_has_not_evaluated_counts_from_the_index(
    home,
) -> None:
    """``cleared`` asked of a rule instance that has not evaluated (no summaries kept) reads
    the series' quarantined count from the status index rather than saying none."""
    clock, store, queue, state = home
    day = date(2022, 5, 3)
    assert store.put_pending(Record(USD.key, day, None, Status.PENDING, 5, clock.now(), "x"))
    assert store.quarantine(USD.key, day, 5, "HTTP 404 after 5 re-downloads")
    ctx = AlertContext(clock.now(), store, queue, Catalog([USD]))
    (condition,) = Quarantined().evaluate(ctx)
    told = Quarantined().cleared(condition, ctx)
    assert (told["quarantined"], told["first_status"]) == (1, "QUARANTINED")


def test_a_cleared_dead_letter_tells_the_dlq_depth_now(home) -> None:
    """A CLEARED dead-letter alert's evidence was only ``cleared_at``: whether the DLQ was
    emptied or still held others was not said. It now tells the DLQ's depth now."""
    clock, store, queue, state = home
    queue.send(['{"not": "a request"}', '{"nor": "this"}'])
    for message in queue.receive(2):
        queue.dead_letter(message, "malformed message: missing partition_key")
    sink = Collect()
    assert _run(clock, store, queue, state, DeadLettered(), [sink]).firing == 2
    gone = sink.alerts[0].condition.evidence["message_id"]
    assert queue.purge_dead_letters(ids=[str(gone)]) == 1
    clock.set(datetime(2022, 5, 4, 14, 0, tzinfo=SP))
    assert _run(clock, store, queue, state, DeadLettered(), [sink]).cleared == 1
    (cleared,) = [a.as_dict() for a in sink.alerts if a.kind is AlertKind.CLEARED]
    assert cleared["subject"] == gone
    assert cleared["evidence"] == {"cleared_at": "2022-05-04T14:00:00-03:00", "dlq_count": 1}
    assert queue.redrive() == 1
    assert _run(clock, store, queue, state, DeadLettered(), [sink]).cleared == 1
    assert sink.alerts[-1].as_dict()["evidence"]["dlq_count"] == 0


def test_a_refused_first_planned_note_never_stops_the_scan(tmp_path, caplog) -> None:
    """The orchestrator's note of when it first planned a key is the lateness rule's only: a
    store refusing it (a throttled PutItem past botocore's retries) stopped the whole scan, the
    key's messages and every later key's unsent. Now the scan goes on, the refusal is logged,
    and the next scan of the still-empty key writes the note."""
    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.homes.embedded import build_context
    from fuelpipe.homes.settings import Settings
    from fuelpipe.stages.orchestrate import FIRST_PLANNED, first_planned_name, orchestrate

    class RefusingNotes(SqliteStore):
        refuse = True

        def replace_meta(self, name, expected, value, ranked=None):  # type: ignore[no-untyped-def]
            if self.refuse and name.startswith(FIRST_PLANNED):
                raise RuntimeError("ThrottlingException: injected")
            return super().replace_meta(name, expected, value, ranked)

    clock = ManualClock(datetime(2022, 5, 4, 15, 0, tzinfo=SP))
    eur = DEFAULT_CATALOG["CURRENCY#EUR"]
    app = build_context(
        Settings(db=tmp_path / "r.sqlite"), clock=clock, catalog=Catalog([USD, eur])
    )
    store = RefusingNotes(tmp_path / "r.sqlite", clock=clock)
    app = replace(app, store=store)
    try:
        report = orchestrate(app, series=[USD, eur])
        assert report.messages_sent >= 2  # both keys planned and sent
        assert store.get_meta(first_planned_name(USD.key)) is None
        assert f"{USD.key}: when it was first planned not kept" in caplog.text
        store.refuse = False
        while messages := app.queue.receive(10):  # lost, so USD stays without a record
            app.queue.delete([m.receipt for m in messages])
        orchestrate(app, series=[USD])
        assert store.get_meta(first_planned_name(USD.key)) == "2022-05-04T15:00:00-03:00"
    finally:
        store.close()
        app.queue.close()


def test_a_first_planned_note_goes_once_its_key_has_a_record(tmp_path, caplog) -> None:
    """``first_planned#<key>`` is read only for a key with no record at all, but was never
    deleted: every key of a store kept its note for good. The stale-source rule now deletes a
    key's note when it sees the key has a record (conditionally, on the value it read), and
    keeps the note of a key still without one; a store refusing the delete (throttled) costs
    the rule nothing: the refusal is logged, the note stays for the next evaluation."""
    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.homes.embedded import build_context
    from fuelpipe.homes.settings import Settings
    from fuelpipe.stages.orchestrate import FIRST_PLANNED, first_planned_name, orchestrate

    class RefusingDeletes(SqliteStore):
        refuse = True

        def delete_meta(self, name: str, expected_start: str) -> bool:
            if self.refuse and name.startswith(FIRST_PLANNED):
                raise RuntimeError("ThrottlingException: injected")
            return super().delete_meta(name, expected_start)

    clock = ManualClock(datetime(2022, 5, 4, 15, 0, tzinfo=SP))
    eur = replace(DEFAULT_CATALOG["CURRENCY#EUR"], default_start=date(2022, 5, 2))
    catalog = Catalog([USD, eur])
    app = build_context(Settings(db=tmp_path / "f.sqlite"), clock=clock, catalog=catalog)
    store = RefusingDeletes(tmp_path / "f.sqlite", clock=clock)
    app = replace(app, store=store)

    def evaluate_now() -> None:
        StaleSource().evaluate(AlertContext(clock.now(), store, app.queue, catalog))

    try:
        orchestrate(app, series=[USD, eur])  # both planned with nothing stored
        noted = "2022-05-04T15:00:00-03:00"
        assert store.get_meta(first_planned_name(USD.key)) == noted
        assert store.get_meta(first_planned_name(eur.key)) == noted
        store.add_records([_ok(date(2022, 5, 2))])  # USD's backfill answered; EUR's not yet
        evaluate_now()  # the delete refused: logged, the rule goes on
        assert f"{USD.key}: its first_planned note not deleted" in caplog.text
        assert store.get_meta(first_planned_name(USD.key)) == noted
        store.refuse = False
        evaluate_now()
        assert store.get_meta(first_planned_name(USD.key)) is None  # it has a record now
        assert store.get_meta(first_planned_name(eur.key)) == noted  # still none: kept
        orchestrate(app, series=[USD, eur])  # later scans never write USD's note again
        assert store.get_meta(first_planned_name(USD.key)) is None
    finally:
        store.close()
        app.queue.close()
