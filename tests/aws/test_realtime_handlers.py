"""The Lambdas' real-time parts on dynalite and moto_server: the window schedules' due-only
scan, and retry_recheck publishing alerts to SNS once per condition."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, load_handler, scheduled_event
from tests.aws.conftest import AwsHome

from fuelpipe.adapters.alerts import DynamoAlertState, SnsSink
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.alerts import Alert, AlertKind, Condition, Severity
from fuelpipe.domain.models import Record, Status

pytestmark = pytest.mark.aws
SP = ZoneInfo("America/Sao_Paulo")
FRIDAY_1300 = datetime(2022, 5, 6, 13, 0, tzinfo=SP)
FRIDAY_1315 = datetime(2022, 5, 6, 13, 15, tzinfo=SP)


def _usd(day: date) -> Record:
    return Record("CURRENCY#USD", day, Decimal("5.0"), Status.OK)


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_window_poll_scans_only_series_with_a_publication_due(aws_home: AwsHome) -> None:
    event = scheduled_event({"series": ["CURRENCY#USD"], "due_only": True}, scheduler=True)
    context = FakeLambdaContext("data_clustering")
    before = aws_home.app(FixedClock(FRIDAY_1300))
    before.store.put_records([_usd(date(2022, 5, d)) for d in (2, 3, 4, 5)])
    handler = load_handler("data_clustering").make_handler(lambda: before)
    assert handler(event, context) == {"keys_scanned": 0, "gaps_found": 0, "messages_sent": 0}
    assert before.queue.depth().visible == 0

    after = aws_home.app(FixedClock(FRIDAY_1315))  # the close of 13:10 is out, not stored
    handler = load_handler("data_clustering").make_handler(lambda: after)
    event["detail"]["since"] = "2022-05-02"
    result = handler(event, context)
    assert (result["keys_scanned"], result["gaps_found"], result["messages_sent"]) == (1, 1, 1)


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_window_poll_asks_again_for_a_date_still_pending_in_its_window(aws_home: AwsHome) -> None:
    """13:15: an earlier poll found Friday's PTAX not out yet and left it PENDING. A PENDING
    date is not a gap, so the window's next poll must ask for it again, as `watch` does,
    instead of leaving it to recheck's backoff after the window (stored at 14:15 before)."""
    app = aws_home.app(FixedClock(FRIDAY_1315))
    app.store.put_records([_usd(date(2022, 5, d)) for d in (2, 3, 4, 5)])
    pending = Record(
        "CURRENCY#USD",
        date(2022, 5, 6),
        None,
        Status.PENDING,
        next_attempt_at=FRIDAY_1315 + timedelta(hours=1),
        reason="not out yet",
    )
    assert app.store.put_pending(pending)
    event = scheduled_event(
        {"series": ["CURRENCY#USD"], "due_only": True, "since": "2022-05-02"}, scheduler=True
    )
    handler = load_handler("data_clustering").make_handler(lambda: app)
    result = handler(event, FakeLambdaContext("data_clustering"))
    assert result["gaps_found"] == 0 and result["pending_polled"] == 1
    (message,) = app.queue.receive(10)
    assert json.loads(message.body)["dates_to_download"] == ["2022-05-06"]


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_backstop_asks_again_for_pending_dates_inside_their_window_only(aws_home: AwsHome) -> None:
    """Monday 12:00, the 6-hourly backstop: ANP did not publish the week of 2022-04-24 on
    Friday (a holiday week), so the Friday window's polls left it PENDING until its window
    ends on Wednesday 18:00. The backstop must ask for it again, as `watch` would every 5
    minutes; before, nothing asked until recheck on Wednesday. The week of 2022-04-17 is past
    its window: recheck's backoff owns it, the backstop does not ask."""
    monday = datetime(2022, 5, 2, 12, 0, tzinfo=SP)
    app = aws_home.app(FixedClock(monday))
    key = "FUEL#GASOLINE#BR"
    app.store.put_records(
        [Record(key, date(2022, 4, d), Decimal("7.2"), Status.OK) for d in (3, 10)]
    )
    for day in (date(2022, 4, 17), date(2022, 4, 24)):
        late = app.catalog[key].schedule.stale_at(day)
        record = Record(key, day, None, Status.PENDING, next_attempt_at=late, reason="not out")
        assert app.store.put_pending(record)
    event = scheduled_event({"series": [key], "since": "2022-04-01"}, scheduler=True)
    handler = load_handler("data_clustering").make_handler(lambda: app)
    result = handler(event, FakeLambdaContext("data_clustering"))
    assert result["gaps_found"] == 0 and result["pending_polled"] == 1
    (message,) = app.queue.receive(10)
    assert json.loads(message.body)["dates_to_download"] == ["2022-04-24"]


def _topic_with_inbox(moto_server: Any, name: str) -> tuple[Any, Any, str, str]:
    """An SNS topic on moto_server with an SQS queue subscribed, to read what was published."""
    sns, sqs = moto_server.client("sns"), moto_server.client("sqs")
    topic = sns.create_topic(Name=name)["TopicArn"]
    inbox = sqs.create_queue(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=attributes["Attributes"]["QueueArn"])
    return sns, sqs, topic, inbox


def test_retry_recheck_publishes_each_alert_once_to_sns(aws_home: AwsHome, moto_server) -> None:
    sns, sqs, topic, inbox = _topic_with_inbox(
        moto_server, f"alerts-{aws_home.settings.table_name}"
    )
    now = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    app = aws_home.app(FixedClock(now))
    day = date(2022, 5, 3)
    pending = Record("CURRENCY#USD", day, None, Status.PENDING, 5, now + timedelta(days=9), "x")
    assert app.store.put_pending(pending)
    assert app.store.quarantine("CURRENCY#USD", day, 5, "no value after 5 re-downloads")
    state = DynamoAlertState(aws_home.dynamodb, aws_home.settings.table_name, clock=FixedClock(now))
    handler = load_handler("retry_recheck").make_handler(
        lambda: app, lambda: (state, [SnsSink(sns, topic)])
    )

    first = handler(scheduled_event(), FakeLambdaContext("retry_recheck"))
    second = handler(scheduled_event(), FakeLambdaContext("retry_recheck"))

    assert first["alerts_firing"] >= 1 and second["alerts_firing"] == 0
    bodies = []
    while batch := sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(json.loads(m["Body"])["Message"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=m["ReceiptHandle"])
    quarantined = [b for b in bodies if b["rule"] == "quarantined"]
    assert len(quarantined) == 1
    assert quarantined[0]["evidence"]["date"] == "2022-05-03"
    assert "quarantined:CURRENCY#USD@2022-05-03" in state.load()  # the stored alert state


def test_an_sns_error_part_way_publishes_the_rest_next_run_and_nothing_twice(
    aws_home: AwsHome, moto_server
) -> None:
    sns, sqs, topic, inbox = _topic_with_inbox(
        moto_server, f"outbox-{aws_home.settings.table_name}"
    )
    now = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    app = aws_home.app(FixedClock(now))
    for day in (date(2022, 5, 2), date(2022, 5, 3), date(2022, 5, 4)):  # three alerts
        pending = Record("CURRENCY#USD", day, None, Status.PENDING, 5, now, "x")
        assert app.store.put_pending(pending)
        assert app.store.quarantine("CURRENCY#USD", day, 5, "no value after 5 re-downloads")
    publishes: list[str] = []

    def second_publish_fails(params: dict[str, object], **_: object) -> None:
        publishes.append(str(params["Subject"]))
        if len(publishes) == 2:
            raise ConnectionError("SNS unreachable (synthetic)")

    sns.meta.events.register("before-parameter-build.sns.Publish", second_publish_fails)
    state = DynamoAlertState(aws_home.dynamodb, aws_home.settings.table_name, clock=FixedClock(now))
    handler = load_handler("retry_recheck").make_handler(
        lambda: app, lambda: (state, [SnsSink(sns, topic)])
    )

    first = handler(scheduled_event(), FakeLambdaContext("retry_recheck"))
    firing = first["alerts_firing"]
    assert firing >= 3 and first["alert_deliveries_failed"] == 1
    assert len(publishes) == 2  # the rest waits in the outbox behind the failed one
    second = handler(scheduled_event(), FakeLambdaContext("retry_recheck"))
    assert (second["alerts_firing"], second["alert_deliveries_failed"]) == (0, 0)

    bodies = []
    while batch := sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(json.loads(m["Body"])["Message"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=m["ReceiptHandle"])
    assert len(bodies) == firing  # every alert once: none lost, none twice
    quarantined = sorted(b["evidence"]["date"] for b in bodies if b["rule"] == "quarantined")
    assert quarantined == ["2022-05-02", "2022-05-03", "2022-05-04"]
    assert len(publishes) == firing + 1  # the failed send was tried once more


def test_retry_recheck_drops_alerts_left_for_a_removed_sink_after_the_retention(
    aws_home: AwsHome, moto_server
) -> None:
    sns, _, topic, _ = _topic_with_inbox(moto_server, f"drop-{aws_home.settings.table_name}")
    now = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    table = aws_home.settings.table_name
    earlier = DynamoAlertState(aws_home.dynamodb, table, clock=FixedClock(now - timedelta(days=8)))
    earlier.load()
    gone = Condition("dead_lettered", "m1", "message m1 dead-lettered", {}, Severity.CRITICAL)
    earlier.outbox(["email"]).send(Alert(AlertKind.FIRING, gone, now, now))  # a sink since removed
    earlier.save({})
    state = DynamoAlertState(aws_home.dynamodb, table, clock=FixedClock(now))
    handler = load_handler("retry_recheck").make_handler(
        lambda: aws_home.app(FixedClock(now)), lambda: (state, [SnsSink(sns, topic)])
    )
    assert handler(scheduled_event(), FakeLambdaContext("retry_recheck"))["alerts_dropped"] == 1
    assert handler(scheduled_event(), FakeLambdaContext("retry_recheck"))["alerts_dropped"] == 0
