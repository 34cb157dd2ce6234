"""The Lambdas' real-time parts on dynalite and moto_server: the window schedules' due-only
scan, and retry_recheck publishing alerts to SNS once per condition."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from devtools.aws.lambda_events import (
    FakeLambdaContext,
    emf_blobs,
    emf_metric,
    load_handler,
    scheduled_event,
)
from tests.aws.conftest import AwsHome
from tests.support.aws_backends import drain_sns_inbox, sns_topic_with_inbox
from tests.support.window_polls import (
    FAILED_AT,
    USD,
    assert_polls_wait_for_the_one_in_flight,
    seed_a_failed_friday,
)

from fuelpipe.adapters.alerts import DynamoAlertState, SnsSink
from fuelpipe.adapters.clock import FixedClock, ManualClock
from fuelpipe.domain.alerts import Alert, AlertKind, Condition, Severity
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws_alerts import ALERT_MIN_S
from fuelpipe.ports.alerts import AlertSink
from fuelpipe.ports.store import StatusSummary, Store
from fuelpipe.stages.recheck import TIME_MARGIN_S

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
def test_window_poll_waits_for_the_message_still_in_flight_for_a_pending_date(
    aws_home: AwsHome,
) -> None:
    """The AWS home's store (dynalite) through the data_clustering handler: a date BCB keeps
    failing is asked again only once the scraper answered the last message, or after the
    queue's visibility timeout (FUELPIPE_VISIBILITY_TIMEOUT_S) if it never did."""
    clock = ManualClock(FAILED_AT)
    app = aws_home.app(clock)
    seed_a_failed_friday(app.store, clock)
    event = scheduled_event(
        {"series": [USD], "due_only": True, "since": "2022-05-02"}, scheduler=True
    )
    handler = load_handler("data_clustering").make_handler(lambda: app)

    def poll() -> int:
        result = handler(event, FakeLambdaContext("data_clustering"))
        assert result["gaps_found"] == 0
        return int(result["pending_polled"])

    in_flight = timedelta(seconds=aws_home.settings.visibility_timeout_s)
    assert app.poll_in_flight_s == aws_home.settings.visibility_timeout_s
    assert_polls_wait_for_the_one_in_flight(app.store, clock, poll, in_flight)
    assert app.queue.depth().visible == 3


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


def test_retry_recheck_publishes_each_alert_once_to_sns(aws_home: AwsHome, moto_server) -> None:
    sns, sqs, topic, inbox = sns_topic_with_inbox(
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
    assert quarantined[0]["evidence"]["first"] == "2022-05-03"
    assert "quarantined:CURRENCY#USD" in state.load()  # the stored alert state (per series)


def test_an_sns_error_part_way_publishes_the_rest_next_run_and_nothing_twice(
    aws_home: AwsHome, moto_server
) -> None:
    sns, sqs, topic, inbox = sns_topic_with_inbox(
        moto_server, f"outbox-{aws_home.settings.table_name}"
    )
    now = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    app = aws_home.app(FixedClock(now))
    day = date(2022, 5, 3)
    for key in ("CURRENCY#USD", "CURRENCY#EUR", "CURRENCY#GBP"):  # three alerts (per series)
        pending = Record(key, day, None, Status.PENDING, 5, now, "x")
        assert app.store.put_pending(pending)
        assert app.store.quarantine(key, day, 5, "no value after 5 re-downloads")
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
    quarantined = sorted(b["evidence"]["series"] for b in bodies if b["rule"] == "quarantined")
    assert quarantined == ["CURRENCY#EUR", "CURRENCY#GBP", "CURRENCY#USD"]
    assert len(publishes) == firing + 1  # the failed send was tried once more


def test_retry_recheck_drops_alerts_left_for_a_removed_sink_after_the_retention(
    aws_home: AwsHome, moto_server
) -> None:
    sns, _, topic, _ = sns_topic_with_inbox(moto_server, f"drop-{aws_home.settings.table_name}")
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


def test_a_failed_backfill_alerts_once_per_series_and_a_dead_letter_beside_it_goes_out(
    aws_home: AwsHome, moto_server
) -> None:
    """Quarantined dates alerted one by one grew the alert item with every date: from ~12,000
    (a failed ANP backfill quarantines ~136,000) the outbox had no room, so a dead letter firing
    in the same run was cut yet stored as active (never sent); from ~17,000 the PutItem failed
    every hour. Alerted per series, the item holds one condition per series whatever the dates
    (2,000 here, to keep the test quick: the count no longer matters), and the CRITICAL dead
    letter goes out. (20,000 conditions of one rule: the alert state contract suite.)"""
    sns, sqs, topic, inbox = sns_topic_with_inbox(
        moto_server, f"backfill-{aws_home.settings.table_name}"
    )
    now = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    app = aws_home.app(FixedClock(now))
    keys = [f"FUEL#{fuel}#{area}" for fuel in ("GASOLINE", "ETHANOL") for area in ("SP", "RJ")]
    first = date(2022, 5, 1) - timedelta(weeks=500)
    spent = [
        Record(key, first + timedelta(weeks=i), None, Status.QUARANTINED, 5, reason="HTTP 503")
        for key in keys
        for i in range(500)
    ]
    assert all(app.store.put_pendings(spent))
    app.queue.send(['{"not": "a request"}'])
    (message,) = app.queue.receive(1)
    app.queue.dead_letter(message, "malformed message: missing partition_key")
    table = aws_home.settings.table_name
    state = DynamoAlertState(aws_home.dynamodb, table, clock=FixedClock(now))
    handler = load_handler("retry_recheck").make_handler(
        lambda: app, lambda: (state, [SnsSink(sns, topic)])
    )

    result = handler(scheduled_event(), FakeLambdaContext("retry_recheck"))

    assert result["quarantined_total"] == 2_000
    assert result["alert_deliveries_failed"] == 0 and result["alerts_dropped"] == 0
    bodies = drain_sns_inbox(sqs, inbox)
    assert [b["subject"] for b in bodies if b["severity"] == "critical"] == [message.message_id]
    quarantined = {b["subject"]: b["evidence"] for b in bodies if b["rule"] == "quarantined"}
    assert sorted(quarantined) == sorted(keys)
    assert {e["dates"] for e in quarantined.values()} == {500}
    item = aws_home.dynamodb.get_item(TableName=table, Key=DynamoAlertState.KEY)["Item"]
    assert len(item["active_z"]["B"]) < 5_000  # a few conditions, not 20,000
    again = handler(scheduled_event(), FakeLambdaContext("retry_recheck"))
    assert again["alerts_firing"] == 0 and drain_sns_inbox(sqs, inbox) == []


@dataclass
class _SecondsLeft(FakeLambdaContext):
    """A context whose remaining time stays at ``seconds`` (a run that used its budget)."""

    seconds: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_retry_recheck_skips_alerting_when_too_little_time_is_left(
    aws_home: AwsHome,
    moto_server,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Recheck on a backlog uses its budget up to its margin; alerting after it (every series
    read, the quarantine index) then ran into the timeout and the invocation failed. With too
    little left the handler skips alerting, with a line and a metric, and the next run
    evaluates: nothing was saved or queued meanwhile, so nothing is lost."""
    sns, sqs, topic, inbox = sns_topic_with_inbox(
        moto_server, f"skip-{aws_home.settings.table_name}"
    )
    now = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    app = aws_home.app(FixedClock(now))
    day = date(2022, 5, 3)
    assert app.store.put_pending(Record("CURRENCY#USD", day, None, Status.PENDING, 5, now, "x"))
    assert app.store.quarantine("CURRENCY#USD", day, 5, "no value after 5 re-downloads")
    table = aws_home.settings.table_name
    state = DynamoAlertState(aws_home.dynamodb, table, clock=FixedClock(now))
    handler = load_handler("retry_recheck")
    run = handler.make_handler(lambda: app, lambda: (state, [SnsSink(sns, topic)]))

    late = run(scheduled_event(), _SecondsLeft("retry_recheck", seconds=ALERT_MIN_S - 1))

    assert late["alerts_skipped"] == 1 and "alerts_firing" not in late
    assert "alert evaluation skipped: too little time left" in caplog.text
    assert emf_metric(capsys.readouterr().out, "AlertsSkipped") == 1
    assert "Item" not in aws_home.dynamodb.get_item(TableName=table, Key=DynamoAlertState.KEY)
    assert drain_sns_inbox(sqs, inbox) == []

    enough = _SecondsLeft("retry_recheck", seconds=ALERT_MIN_S + 1)
    on_time = run(scheduled_event(), enough)

    assert (on_time["alerts_skipped"], on_time["alerts_firing"]) == (0, 2)  # quarantine + late
    assert {b["rule"] for b in drain_sns_inbox(sqs, inbox)} == {"quarantined", "stale_source"}


class _TopicDown(AlertSink):
    name = "sns"

    def send(self, alert: Alert) -> None:
        raise ConnectionError("sns: KMS key disabled (synthetic)")


def test_a_failed_alert_delivery_emits_the_metric_its_alarm_watches(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str]
) -> None:
    """The alert stays in the outbox and the run succeeds: AlertDeliveryFailed, in the
    fuelpipe namespace with the handler's service dimension (AlertDeliveryFailedAlarm in
    infra/template.yaml), is all that tells a person the alerts stopped arriving."""
    now = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    app = aws_home.app(FixedClock(now))
    day = date(2022, 5, 3)
    assert app.store.put_pending(Record("CURRENCY#USD", day, None, Status.PENDING, 5, now, "x"))
    assert app.store.quarantine("CURRENCY#USD", day, 5, "no value after 5 re-downloads")
    state = DynamoAlertState(aws_home.dynamodb, aws_home.settings.table_name, clock=FixedClock(now))
    handler = load_handler("retry_recheck")
    run = handler.make_handler(lambda: app, lambda: (state, [_TopicDown()]))

    result = run(scheduled_event(), FakeLambdaContext("retry_recheck"))

    assert result["alert_deliveries_failed"] >= 1
    out = capsys.readouterr().out
    (blob,) = [b for b in emf_blobs(out) if "AlertDeliveryFailed" in b]
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "fuelpipe"
    assert directive["Dimensions"] == [["service"]] and blob["service"] == "retry_recheck"
    assert emf_metric(out, "AlertDeliveryFailed") >= 1


def test_retry_recheck_leaves_the_alerts_their_reserve(aws_home: AwsHome) -> None:
    """Recheck's budget ends ALERT_RESERVE_S earlier than the function's: with that much
    time left (and its own margin) it claims nothing and defers, leaving it to alerting."""
    now = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    app = aws_home.app(FixedClock(now))
    day = date(2022, 5, 3)
    pending = Record("CURRENCY#USD", day, None, Status.PENDING, 0, now - timedelta(hours=1), "x")
    assert app.store.put_pending(pending)
    handler = load_handler("retry_recheck")
    run = handler.make_handler(lambda: app)
    seconds = handler.ALERT_RESERVE_S + TIME_MARGIN_S - 1

    result = run(scheduled_event(), _SecondsLeft("retry_recheck", seconds=seconds))

    assert (result["due"], result["retried"], result["deferred"]) == (1, 0, 1)


class _CountsQuarantinedReads:
    """The real store, counting reads of the quarantined summaries; reading the quarantined
    records whole fails."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.summary_reads = 0

    def status_summaries(self, status: Status) -> list[StatusSummary]:
        self.summary_reads += 1
        return self._store.status_summaries(status)

    def quarantined(self) -> list[Record]:
        raise AssertionError("every quarantined record read whole")

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def test_retry_recheck_reads_the_quarantine_index_once_for_its_metric_and_its_alerts(
    aws_home: AwsHome, moto_server, capsys: pytest.CaptureFixture[str]
) -> None:
    """The QuarantinedTotal metric and the quarantined alert rule each need every quarantined
    record summed up per series (~136,000 after a failed ANP backfill): one read of the slim
    summaries serves both, and no record is read whole."""
    sns, sqs, topic, inbox = sns_topic_with_inbox(
        moto_server, f"once-{aws_home.settings.table_name}"
    )
    now = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    app = aws_home.app(FixedClock(now))
    spent = [
        Record(key, date(2022, 4, d), None, Status.QUARANTINED, 5, reason="HTTP 503")
        for key in ("CURRENCY#USD", "CURRENCY#EUR")
        for d in (4, 5, 6)
    ]
    assert all(app.store.put_pendings(spent))
    store = _CountsQuarantinedReads(app.store)
    counted = replace(app, store=cast(Store, store))
    state = DynamoAlertState(aws_home.dynamodb, aws_home.settings.table_name, clock=FixedClock(now))
    handler = load_handler("retry_recheck").make_handler(
        lambda: counted, lambda: (state, [SnsSink(sns, topic)])
    )

    result = handler(scheduled_event(), FakeLambdaContext("retry_recheck"))

    assert store.summary_reads == 1
    assert result["quarantined_total"] == 6
    assert emf_metric(capsys.readouterr().out, "QuarantinedTotal") == 6
    bodies = drain_sns_inbox(sqs, inbox)
    found = {b["subject"]: b["evidence"]["dates"] for b in bodies if b["rule"] == "quarantined"}
    assert found == {"CURRENCY#USD": 3, "CURRENCY#EUR": 3}


def test_retry_recheck_publishes_the_outlook_alerts_too(aws_home: AwsHome, moto_server) -> None:
    """docs/OUTLOOK.md: outlook_move fires when the latest outlook expects a move of ±3% within two
    weeks. `watch` evaluated the outlook's rules but the AWS home's one evaluation (the
    retry_recheck Lambda) only the pipeline's: the alert never reached the SNS topic."""
    from tests.support.outlook import rising_forecast

    sns, sqs, topic, inbox = sns_topic_with_inbox(
        moto_server, f"outlook-{aws_home.settings.table_name}"
    )
    as_of = datetime(2022, 5, 4, 15, 0, tzinfo=SP)
    app = aws_home.app(FixedClock(as_of))
    app.store.put_records([rising_forecast(as_of)])
    state = DynamoAlertState(
        aws_home.dynamodb, aws_home.settings.table_name, clock=FixedClock(as_of)
    )
    handler = load_handler("retry_recheck").make_handler(
        lambda: app, lambda: (state, [SnsSink(sns, topic)])
    )

    handler(scheduled_event(), FakeLambdaContext("retry_recheck"))
    handler(scheduled_event(), FakeLambdaContext("retry_recheck"))  # still holding: quiet

    outlook = [b for b in drain_sns_inbox(sqs, inbox) if b["rule"] == "outlook_move"]
    assert [(b["kind"], b["subject"]) for b in outlook] == [("FIRING", "FUEL#GASOLINE#BR:rise")]


def test_both_homes_evaluate_the_same_alert_rules() -> None:
    """The embedded home's watch and the AWS home's evaluators (retry_recheck hourly, the
    outlook after a refresh that changed forecasts) build their rules from one function: a
    rule added there alerts in both homes, from every evaluator."""
    import inspect

    from fuelpipe.cli import watch
    from fuelpipe.homes import aws_alerts
    from fuelpipe.stages.alert_rules import alert_rules

    names = [r.name for r in alert_rules()]
    assert {"stale_source", "quarantined", "dead_lettered", "outlook_move"} <= set(names)
    assert "alert_rules(" in inspect.getsource(watch.alerter)
    assert "alert_rules(" in inspect.getsource(aws_alerts.evaluate_alerts)
    for name in ("retry_recheck", "outlook"):
        assert "evaluate_alerts(" in inspect.getsource(load_handler(name).make_handler)
