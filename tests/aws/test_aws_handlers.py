"""The three Lambda handlers, called with real event shapes on dynalite + moto_server."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError
from devtools.aws.lambda_events import (
    FakeLambdaContext,
    deliver_until_gone,
    emf_metric,
    failed_ids,
    load_handler,
    scheduled_event,
    sqs_event,
)
from devtools.aws.servers import REGION, LocalServer
from devtools.chaos.aws_faults import LostAnswers, RawBody
from tests.aws.conftest import AwsHome, LambdaLogs
from tests.support.aws_backends import refuse_what_sqs_refuses
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws import lazy_context
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.ports.queue import Message, Queue, QueueDepth, too_many_receives
from fuelpipe.ports.source import FetchRequest, FetchResult
from fuelpipe.stages.alerting import DeadLettered
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import data_version
from fuelpipe.stages.recheck import TIME_MARGIN_S
from fuelpipe.stages.scrape import stopped_reason

pytestmark = pytest.mark.aws

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2025, 3, 31, 20, 0, tzinfo=SP)
MARCH = list(expected_between(get_calendar("ANBIMA"), date(2025, 3, 1), date(2025, 3, 31)))


def drain(queue: Queue, limit: int = 1000) -> list[Message]:
    """Receive until the queue returns nothing (what the event source mapping polls)."""
    got: list[Message] = []
    while len(got) < limit:
        batch = queue.receive(10)
        if not batch:
            return got
        got.extend(batch)
    return got


def asked_dates(queue: Queue) -> list[date]:
    """Every date the messages on the queue ask to download."""
    return [d for m in drain(queue) for d in DownloadRequest.from_body(m.body).dates_to_download]


def request(key: str, days: list[date]) -> str:
    """The body of one download message for a PTAX key."""
    return DownloadRequest(
        partition_key=key, dates_to_download=days, fetch_unit=DEFAULT_CATALOG[key].fetch_unit
    ).to_body()


def ptax_values(*keys: str) -> dict[tuple[str, date], Decimal]:
    """Synthetic rates for every March 2025 banking day (shape tests, not real data)."""
    return {(k, d): Decimal("5.7") + Decimal(i) / 1000 for k in keys for i, d in enumerate(MARCH)}


# --- data_clustering -----------------------------------------------------------------------


def test_data_clustering_scheduled_event_enqueues_each_gap_once(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str], lambda_logs: LambdaLogs
) -> None:
    logs = lambda_logs("data_clustering")
    app = aws_home.app(FixedClock(NOW))
    handler = load_handler("data_clustering").make_handler(lambda: app)
    event = scheduled_event({"series": ["CURRENCY#USD"], "since": "2025-03-01"})

    result = handler(event, FakeLambdaContext("data_clustering"))

    assert result == {
        "keys_scanned": 1,
        "keys_audited": 1,  # no watermark yet: read in full
        "watermarks_moved": 0,  # nothing complete from the series' start
        "watermarks_repaired": 0,
        "watermark_conflicts": 0,
        "gaps_found": len(MARCH),
        "gaps_held": 0,  # gaps an earlier run sent whose message may still wait: none
        "messages_sent": 1,
        "rest_held": 0,  # due series held for a later poll while their source rests: none
        "pending_polled": 0,  # re-asks for dates left PENDING inside their window: none here
    }
    (message,) = drain(app.queue)
    sent = DownloadRequest.from_body(message.body)
    assert (sent.partition_key, sent.dates_to_download) == ("CURRENCY#USD", MARCH)
    out = capsys.readouterr().out
    assert emf_metric(out, "GapsFound") == len(MARCH)
    assert emf_metric(out, "MessagesSent") == 1
    assert f'"correlation_id":"{event["id"]}"' in logs.getvalue().replace(" ", "")
    assert [r.stage for r in app.store.last_runs()] == ["data_clustering"]


def test_data_clustering_scheduler_event_scans_the_whole_catalog(aws_home: AwsHome) -> None:
    app = aws_home.app(FixedClock(NOW))
    handler = load_handler("data_clustering").make_handler(lambda: app)
    event = scheduled_event({"since": "2025-03-24"}, scheduler=True)

    result = handler(event, FakeLambdaContext("data_clustering"))

    assert result["keys_scanned"] == len(DEFAULT_CATALOG)
    assert result["gaps_found"] > 0
    assert app.queue.depth().visible == result["messages_sent"] > 0


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_data_clustering_rejects_an_unknown_series(aws_home: AwsHome) -> None:
    app = aws_home.app(FixedClock(NOW))
    handler = load_handler("data_clustering").make_handler(lambda: app)
    with pytest.raises(KeyError, match="NOPE"):
        handler(scheduled_event({"series": ["NOPE"]}), FakeLambdaContext("data_clustering"))
    assert app.queue.depth() == QueueDepth(0, 0, 0)


@pytest.mark.filterwarnings("ignore:No application metrics")
@pytest.mark.parametrize("name", ["data_clustering", "retry_recheck"])
def test_an_empty_series_list_is_refused_not_read_as_the_whole_catalog(
    aws_home: AwsHome, name: str
) -> None:
    """``{"detail": {"series": []}}`` names no series: it scanned all 440 keys."""
    app = aws_home.app(FixedClock(NOW))
    pending = Record("CURRENCY#USD", MARCH[0], None, Status.PENDING, 0, NOW, "HTTP 503")
    assert app.store.put_pending(pending)
    handler = load_handler(name).make_handler(lambda: app)
    event = scheduled_event({"since": "2025-03-24"})
    event["detail"]["series"] = []
    with pytest.raises(ValueError, match="not a scheduled event fuelpipe understands: detail"):
        handler(event, FakeLambdaContext(name))
    assert app.queue.depth() == QueueDepth(0, 0, 0)
    assert [r.retry_count for r in app.store.pending()] == [0]


@pytest.mark.filterwarnings("ignore:No application metrics")
@pytest.mark.parametrize("since", ["2025/03/01", "2025-02-30"])
def test_a_bad_since_is_refused_naming_detail_since_the_form_and_the_value(
    aws_home: AwsHome, since: str
) -> None:
    """A ``detail.since`` that is no ISO date was refused as a bad "sort key", a word of the
    table's key design that names neither the event's field nor the form it wants."""
    app = aws_home.app(FixedClock(NOW))
    handler = load_handler("data_clustering").make_handler(lambda: app)
    event = scheduled_event({"series": ["CURRENCY#USD"], "since": since})

    with pytest.raises(ValueError) as refused:
        handler(event, FakeLambdaContext("data_clustering"))

    assert str(refused.value) == (
        f"not a scheduled event fuelpipe understands: detail.since {since!r}"
        " is not a date in the ISO form YYYY-MM-DD"
    )
    assert app.queue.depth() == QueueDepth(0, 0, 0)
    assert app.store.last_runs() == []


# --- scraper -------------------------------------------------------------------------------


def scraper_for(app: StageContext) -> Any:
    return scraper_handler(lambda: app)


def scraper_handler(provider: Any) -> Any:
    return load_handler("scraper").make_handler(provider)


def test_scraper_dead_letters_the_one_poison_message_and_stores_the_rest(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = ("CURRENCY#USD", "CURRENCY#EUR", "CURRENCY#GBP")
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", ptax_values(*keys))})
    poison = '{"schema_version": 1, "partition_key": "CURRENCY#USD"}'
    app.queue.send([request(keys[0], MARCH), request(keys[1], MARCH), poison,
                    request(keys[2], MARCH)])  # fmt: skip
    messages = drain(app.queue)
    assert len(messages) == 4

    response = scraper_for(app)(sqs_event(messages), FakeLambdaContext("scraper"))

    assert failed_ids(response) == []  # the poison counts as handled: it left the main queue
    app.queue.delete([m.receipt for m in messages])  # what the event source mapping does
    (dead,) = app.queue.dead_letters()
    assert dead.body == poison
    assert dead.reason.startswith("malformed message (schema v1): dates_to_download")
    assert app.queue.depth() == QueueDepth(visible=0, in_flight=0, dead=1)
    for key in keys:
        assert [p.date for p in app.store.present(key)] == MARCH
    out = capsys.readouterr().out
    assert emf_metric(out, "RecordsWritten") == 3 * len(MARCH)
    assert emf_metric(out, "DeadLettered") == 1


def test_scraper_dead_letters_at_once_a_malformed_message_whose_reason_quotes_a_control_character(
    aws_home: AwsHome,
) -> None:
    """The reason names the body's unknown field, ``\\u0001`` decoded: SQS refused it as the
    dead letter's text, so the message failed (7.5 hours of redeliveries in the template)
    and reached the DLQ by its RedrivePolicy, its reason lost."""
    refuse_what_sqs_refuses(aws_home.sqs)
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", ptax_values("CURRENCY#USD"))})
    odd = request("CURRENCY#USD", MARCH)[:-1] + ', "\\u0001": 1}'
    app.queue.send([request("CURRENCY#USD", MARCH), odd])
    messages = drain(app.queue)

    response = scraper_for(app)(sqs_event(messages), FakeLambdaContext("scraper"))

    assert failed_ids(response) == []
    app.queue.delete([m.receipt for m in messages])  # what the event source mapping does
    (dead,) = app.queue.dead_letters()
    assert (dead.body, dead.reason) == (
        odd,
        "malformed message (schema v1): \\x01: Extra inputs are not permitted",
    )
    assert [p.date for p in app.store.present("CURRENCY#USD")] == MARCH


@pytest.mark.parametrize("setting", ["queue_name", "dlq_name"])
def test_a_queue_name_setting_naming_no_queue_says_which_setting(
    aws_home: AwsHome, setting: str
) -> None:
    """A Lambda whose FUELPIPE_QUEUE_NAME or FUELPIPE_DLQ_NAME names no queue failed every
    invocation with SQS's own words, "The specified queue does not exist.", naming neither the
    queue nor the variable (nor which of the two queues)."""
    wrong = aws_home.settings.model_copy(update={setting: "no-such-queue"})
    provider = lazy_context(
        wrong, clock=FixedClock(NOW), sources={}, dynamodb_client=aws_home.dynamodb,
        sqs_client=aws_home.sqs,
    )  # fmt: skip
    message = Message("m-1", "r-1", request("CURRENCY#USD", MARCH[:1]), 1)

    with pytest.raises(ValueError) as refused:
        scraper_handler(provider)(sqs_event([message]), FakeLambdaContext("scraper"))

    assert f"FUELPIPE_{setting.upper()} 'no-such-queue': no such SQS queue" in str(refused.value)


@pytest.mark.filterwarnings("ignore:No application metrics")
@pytest.mark.parametrize("server", ["dynalite_server", "moto_server"])
def test_a_table_name_setting_naming_no_table_says_which_table_region_and_setting(
    aws_home: AwsHome, server: str, request: pytest.FixtureRequest
) -> None:
    """A Lambda whose FUELPIPE_TABLE_NAME names no table failed every invocation with
    DynamoDB's own words, "Requested resource not found", naming neither the table nor the
    variable, nor the region or endpoint it was looked for in."""
    dynamodb = request.getfixturevalue(server).client("dynamodb")
    wrong = aws_home.settings.model_copy(update={"table_name": "no-such-table"})
    provider = lazy_context(
        wrong, clock=FixedClock(NOW), sources={}, dynamodb_client=dynamodb,
        sqs_client=aws_home.sqs,
    )  # fmt: skip
    handler = load_handler("data_clustering").make_handler(provider)

    with pytest.raises(ClientError) as refused:
        handler(scheduled_event({"series": ["CURRENCY#USD"]}), FakeLambdaContext("x"))

    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    said = str(refused.value)
    assert "FUELPIPE_TABLE_NAME 'no-such-table': no such DynamoDB table" in said, said
    assert f"in region {REGION} at {dynamodb.meta.endpoint_url}" in said, said


def _throttled(operation: str) -> ClientError:
    error = {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}
    return ClientError({"Error": error}, operation)


def test_scraper_reports_only_the_message_that_hit_a_transient_error(aws_home: AwsHome) -> None:
    keys = ("CURRENCY#USD", "CURRENCY#EUR", "CURRENCY#GBP")
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", ptax_values(*keys))})

    def throttle_eur(params: dict[str, Any], **_: Any) -> None:
        # The scraper stores each value with a conditional PutItem.
        if params["Item"]["info_type"]["S"] == "CURRENCY#EUR":
            raise _throttled("PutItem")

    aws_home.dynamodb.meta.events.register("before-parameter-build.dynamodb.PutItem", throttle_eur)
    app.queue.send([request(k, MARCH) for k in keys])
    messages = drain(app.queue)
    eur = next(m for m in messages if "CURRENCY#EUR" in m.body)

    response = scraper_for(app)(sqs_event(messages), FakeLambdaContext("scraper"))

    assert failed_ids(response) == [eur.message_id]
    assert app.store.present("CURRENCY#EUR") == []
    assert len(app.store.present("CURRENCY#USD")) == len(MARCH)
    assert len(app.store.present("CURRENCY#GBP")) == len(MARCH)
    assert app.queue.dead_letters() == []


def test_scraper_raises_when_every_message_failed_so_the_whole_batch_is_retried(
    aws_home: AwsHome,
) -> None:
    keys = ("CURRENCY#USD", "CURRENCY#EUR")
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", ptax_values(*keys))})

    def throttle(params: dict[str, Any], **_: Any) -> None:
        raise _throttled("PutItem")

    aws_home.dynamodb.meta.events.register("before-parameter-build.dynamodb.PutItem", throttle)
    app.queue.send([request(k, MARCH) for k in keys])
    messages = drain(app.queue)
    scraper = load_handler("scraper")

    with pytest.raises(scraper.BatchFailed, match="all 2 messages of the batch failed"):
        scraper.make_handler(lambda: app)(sqs_event(messages), FakeLambdaContext("scraper"))

    assert all(app.store.present(key) == [] for key in keys)
    assert app.queue.dead_letters() == []


def throttle_eur(params: dict[str, Any], **_: Any) -> None:
    """Refuses every stored value of CURRENCY#EUR, as DynamoDB throttling it for good would."""
    if params["Item"].get("info_type", {}).get("S") == "CURRENCY#EUR":
        raise _throttled("PutItem")


def test_a_message_failing_on_its_last_delivery_is_dead_lettered_with_its_error(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str]
) -> None:
    """The embedded drain dead-letters a message failing on its last delivery with its error;
    the scraper Lambda does the same, so `fuelpipe dlq list` and the dead-letter alert name
    the error on the AWS home too, not only that it was received 5 times (the RedrivePolicy's
    move, which sets no reason)."""
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", ptax_values("CURRENCY#EUR"))})

    aws_home.dynamodb.meta.events.register("before-parameter-build.dynamodb.PutItem", throttle_eur)
    app.queue.send([request("CURRENCY#EUR", MARCH)])

    deliveries = deliver_until_gone(app.queue, load_handler("scraper").make_handler(lambda: app))

    assert deliveries == aws_home.settings.max_receives == 5
    (dead,) = app.queue.dead_letters()
    assert dead.reason.startswith("received 5 times without being processed; the last time: ")
    assert "ClientError" in dead.reason and "ProvisionedThroughputExceeded" in dead.reason
    assert dead.receive_count == 5
    assert app.queue.depth() == QueueDepth(visible=0, in_flight=0, dead=1)
    assert emf_metric(capsys.readouterr().out, "DeadLettered") == 1
    (alert,) = DeadLettered().evaluate(AlertContext(NOW, app.store, app.queue, DEFAULT_CATALOG))
    assert "ProvisionedThroughputExceeded" in alert.summary


class _TimedOut(BaseException):
    """The Lambda's timeout (or a kill): the process stops, nothing of the handler runs on."""


class _StopsTheWorker(TableSource):
    """A source whose every fetch stops the worker: a poison message."""

    def fetch(self, request: FetchRequest) -> FetchResult:
        self.calls.append(request)
        raise _TimedOut


def _delivered(message: Message, receive_count: int) -> Message:
    """``message`` as SQS delivers it the ``receive_count``-th time."""
    return Message(message.message_id, message.receipt, message.body, receive_count)


def test_a_last_delivery_makes_its_dates_with_no_record_pending_before_it_is_handled(
    aws_home: AwsHome,
) -> None:
    """A message that stops the scraper at every delivery stores nothing; SQS moves it to the
    DLQ after maxReceiveCount receives. Its last delivery (ApproximateReceiveCount at
    FUELPIPE_MAX_RECEIVES) makes each of its dates holding no record PENDING first, with a
    conditional PutItem: an OK record, and a PENDING one's retry state, stay as they were.
    Before, its dates stayed gaps the orchestrator sent again (each re-send costing
    maxReceiveCount scraper runs and a new dead letter); now recheck retries them, bounded."""
    source = _StopsTheWorker("bcb", ptax_values("CURRENCY#EUR"))
    app = aws_home.app(FixedClock(NOW), {"bcb": source})
    key, last = "CURRENCY#EUR", aws_home.settings.max_receives
    ok = Record(key, MARCH[0], Decimal("5.1"), Status.OK)
    app.store.put_records([ok])
    retried = Record(key, MARCH[1], None, Status.PENDING, 2, NOW, "HTTP 503")
    assert app.store.put_pending(retried)
    before = {r.date: r for r in app.store.query(key, consistent=True)}
    app.queue.send([request(key, MARCH)])
    (message,) = drain(app.queue)
    scraper = load_handler("scraper").make_handler(lambda: app)

    with pytest.raises(_TimedOut):  # an earlier delivery writes nothing
        scraper(sqs_event([_delivered(message, last - 1)]), FakeLambdaContext("scraper"))
    assert {r.date: r for r in app.store.query(key, consistent=True)} == before

    for _ in range(2):  # its last delivery; again, as SQS may deliver it twice
        with pytest.raises(_TimedOut):
            scraper(sqs_event([_delivered(message, last)]), FakeLambdaContext("scraper"))
        after = {r.date: r for r in app.store.query(key, consistent=True)}
        assert after[MARCH[0]] == before[MARCH[0]]  # OK, untouched
        assert after[MARCH[1]] == before[MARCH[1]]  # its retry count and reason kept
        assert [after[d] for d in MARCH[2:]] == [
            Record(key, d, None, Status.PENDING, 0, after[d].next_attempt_at,
                   stopped_reason(last), {}, after[d].updated_at)
            for d in MARCH[2:]
        ]  # fmt: skip
    assert all(after[d].next_attempt_at >= NOW + timedelta(hours=1) for d in MARCH[2:])
    (summary,) = app.store.status_summaries(Status.PENDING)
    assert (summary.key, summary.count) == (key, len(MARCH) - 1)  # in recheck's index
    assert len(source.calls) == 3


def test_a_retry_messages_last_delivery_writes_nothing_first(aws_home: AwsHome) -> None:
    """A retry message's dates are PENDING, claimed by recheck, which bounds them."""
    source = _StopsTheWorker("bcb", ptax_values("CURRENCY#EUR"))
    app = aws_home.app(FixedClock(NOW), {"bcb": source})
    body = DownloadRequest(
        partition_key="CURRENCY#EUR",
        dates_to_download=MARCH,
        fetch_unit=DEFAULT_CATALOG["CURRENCY#EUR"].fetch_unit,
        origin="retry",
    ).to_body()
    app.queue.send([body])
    (message,) = drain(app.queue)
    last = _delivered(message, aws_home.settings.max_receives)
    with pytest.raises(_TimedOut):
        load_handler("scraper").make_handler(lambda: app)(
            sqs_event([last]), FakeLambdaContext("scraper")
        )
    assert app.store.query("CURRENCY#EUR", consistent=True) == []


def test_a_message_whose_dead_lettering_fails_is_still_moved_by_the_redrive(
    aws_home: AwsHome,
) -> None:
    """Never lost: when SQS will not take the dead letter the handler sends on the last
    delivery, the message is reported failed and the RedrivePolicy moves it (naming no error:
    the error is in the logs)."""
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", ptax_values("CURRENCY#EUR"))})

    dlq_url = aws_home.sqs.get_queue_url(QueueName=aws_home.settings.dlq_name)["QueueUrl"]

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if params["QueueUrl"] == dlq_url:
            raise EndpointConnectionError(endpoint_url=dlq_url)

    aws_home.dynamodb.meta.events.register("before-parameter-build.dynamodb.PutItem", throttle_eur)
    aws_home.sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", refuse)
    app.queue.send([request("CURRENCY#EUR", MARCH)])

    deliver_until_gone(app.queue, load_handler("scraper").make_handler(lambda: app))

    (dead,) = app.queue.dead_letters()
    assert dead.body == request("CURRENCY#EUR", MARCH)
    assert dead.reason == too_many_receives(5)  # the queue's move: where to look for the error
    assert "no error was recorded with it" in dead.reason and "message id" in dead.reason


def test_scraper_rides_out_throttled_writes_and_stores_everything_once(aws_home: AwsHome) -> None:
    days = list(expected_between(get_calendar("ANBIMA"), date(2025, 1, 2), date(2025, 3, 31)))
    values = {("CURRENCY#USD", d): Decimal("5.9") + Decimal(i) / 100 for i, d in enumerate(days)}
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", values)})
    sends: Counter[str] = Counter()
    lock = threading.Lock()

    def throttle_first_send(request: Any, **_: Any) -> Any:
        # The first send of every fifth date is throttled: botocore's own retry resends it.
        item = json.loads(request.body)["Item"]
        if item["info_type"]["S"] != "CURRENCY#USD":
            return None  # the run log, not a value
        day = item["date"]["S"]
        with lock:
            sends[day] += 1
            first = sends[day] == 1
        if first and date.fromisoformat(day).toordinal() % 5 == 0:
            return AWSResponse(request.url, 400, {"x-amzn-RequestId": "t"}, RawBody(_THROTTLE_BODY))
        return None

    aws_home.dynamodb.meta.events.register("before-send.dynamodb.PutItem", throttle_first_send)
    app.queue.send([request("CURRENCY#USD", days)])
    messages = drain(app.queue)

    response = scraper_for(app)(sqs_event(messages), FakeLambdaContext("scraper"))

    assert failed_ids(response) == []
    assert [p.date for p in app.store.present("CURRENCY#USD")] == days
    assert [r.value for r in app.store.query("CURRENCY#USD")] == [values[("CURRENCY#USD", d)]
                                                                    for d in days]  # fmt: skip
    throttled = [d for d in days if d.toordinal() % 5 == 0]
    assert len(throttled) >= 10
    assert all(sends[d.isoformat()] == 2 for d in throttled)  # sent again once each
    assert all(sends[d.isoformat()] == 1 for d in days if d not in throttled)


_THROTTLE_BODY = json.dumps(
    {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "throttled"}
).encode()


# --- retry_recheck -------------------------------------------------------------------------


def test_retry_recheck_retries_due_records_and_quarantines_spent_ones(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str]
) -> None:
    app = aws_home.app(FixedClock(NOW))
    key = "CURRENCY#USD"
    due, spent, later = MARCH[0], MARCH[1], MARCH[2]
    hour = timedelta(hours=1)
    for day, count, when in ((due, 0, NOW - hour), (spent, 5, NOW - hour), (later, 1, NOW + hour)):
        pending = Record(key, day, None, Status.PENDING, count, when, "no value")
        assert app.store.put_pending(pending)
    handler = load_handler("retry_recheck").make_handler(lambda: app)
    before = data_version(app.store)

    result = handler(scheduled_event(), FakeLambdaContext("retry_recheck"))

    assert (result["retried"], result["quarantined"], result["messages_sent"]) == (1, 1, 1)
    # A quarantine changes the health view: the stored views are recomputed for a new version
    # (as the embedded cycle does); it stayed put, and the dashboard stale, until another write.
    assert data_version(app.store) != before
    assert result["quarantined_total"] == 1
    (message,) = drain(app.queue)
    sent = DownloadRequest.from_body(message.body)
    assert (sent.partition_key, sent.dates_to_download, sent.origin) == (key, [due], "retry")
    assert [r.date for r in app.store.quarantined()] == [spent]
    assert {r.date: r.retry_count for r in app.store.pending()} == {due: 1, later: 1}
    out = capsys.readouterr().out
    assert emf_metric(out, "Retries") == 1
    assert emf_metric(out, "Quarantined") == 1
    assert emf_metric(out, "QuarantinedTotal") == 1


def test_retry_recheck_whose_send_sqs_refuses_still_moves_the_data_version(
    aws_home: AwsHome, moto_server: LocalServer
) -> None:
    """The recheck quarantined a spent date, then SQS refused the retry's send: the invocation
    fails (the error goes on), and the quarantine, stored, moves the data version all the same;
    before, the handler never read the report and the health view kept showing it PENDING."""
    app = aws_home.app(FixedClock(NOW))
    key = "CURRENCY#USD"
    due, spent = MARCH[0], MARCH[1]
    for day, count in ((due, 0), (spent, 5)):
        pending = Record(key, day, None, Status.PENDING, count, NOW - timedelta(hours=1), "x")
        assert app.store.put_pending(pending)

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=moto_server.url)

    aws_home.sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", unreachable)
    handler = load_handler("retry_recheck").make_handler(lambda: app)
    before = data_version(app.store)

    with pytest.raises(EndpointConnectionError):
        handler(scheduled_event(), FakeLambdaContext("retry_recheck"))

    assert [r.date for r in app.store.quarantined()] == [spent]
    assert data_version(app.store) != before
    assert {r.date: r.retry_count for r in app.store.pending()} == {due: 0}  # given back


def test_retry_recheck_counts_a_quarantine_whose_answer_was_lost(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str]
) -> None:
    """DynamoDB applied the quarantine and its answer was lost; botocore's resend was refused
    (no longer PENDING): the run reported a lost race, Quarantined 0 (the QuarantinedAlarm
    never saw it) and left the data version where it was."""
    app = aws_home.app(FixedClock(NOW))
    key, spent = "CURRENCY#USD", MARCH[1]
    pending = Record(key, spent, None, Status.PENDING, 5, NOW - timedelta(hours=1), "HTTP 503")
    assert app.store.put_pending(pending)
    lost = LostAnswers(aws_home.dynamodb)
    lost.arm(lambda body: ":quarantined" in body.get("ExpressionAttributeValues", {}))
    handler = load_handler("retry_recheck").make_handler(lambda: app)
    before = data_version(app.store)

    result = handler(scheduled_event(), FakeLambdaContext("retry_recheck"))

    assert lost.lost == 1
    assert (result["quarantined"], result["lost_race"]) == (1, 0)
    assert [r.date for r in app.store.quarantined()] == [spent]
    assert data_version(app.store) != before
    assert emf_metric(capsys.readouterr().out, "Quarantined") == 1


def test_scraper_counts_a_revision_whose_answer_was_lost(aws_home: AwsHome) -> None:
    """DynamoDB applied the revision and its answer was lost; botocore's resend was refused
    (the value had moved): the store took its own write for a later answer's, the scraper
    asked the source again, found the value equal and counted no revision, and the data
    version stayed where it was, so the dashboard's stored views kept the old value."""
    key, day = "CURRENCY#USD", MARCH[3]
    values = {(key, day): Decimal("5.7031")}  # synthetic rates (a shape test)
    source = TableSource("bcb", values)
    app = aws_home.app(FixedClock(NOW), {"bcb": source})
    handler = scraper_for(app)
    app.queue.send([request(key, [day])])
    first = drain(app.queue)
    assert failed_ids(handler(sqs_event(first), FakeLambdaContext("scraper"))) == []
    app.queue.delete([m.receipt for m in first])
    values[(key, day)] = Decimal("5.7042")  # the source corrects it
    lost = LostAnswers(aws_home.dynamodb)
    lost.arm(lambda body: ":rev" in body.get("ExpressionAttributeValues", {}))
    before = data_version(app.store)
    app.queue.send([request(key, [day])])

    response = handler(sqs_event(drain(app.queue)), FakeLambdaContext("scraper"))

    assert failed_ids(response) == []
    assert lost.lost == 1
    assert len(source.calls) == 2  # one request a message: the answer was not fetched again
    (got,) = app.store.revised(key)
    assert got.value == Decimal("5.7042")
    assert [(r.previous, r.new) for r in got.revisions] == [(Decimal("5.7031"), Decimal("5.7042"))]
    assert data_version(app.store) != before


@dataclass
class _RunningOutContext(FakeLambdaContext):
    """A context whose remaining time drops under recheck's margin after some readings."""

    readings_with_time: int = 0
    readings: int = 0

    def get_remaining_time_in_millis(self) -> int:
        self.readings += 1
        seconds = TIME_MARGIN_S + (60 if self.readings <= self.readings_with_time else -1)
        return int(seconds * 1000)


def test_retry_recheck_near_its_timeout_sends_its_claims_and_defers_the_rest(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Lambda timeout stops the process with no signal: the handler gives recheck its
    remaining time, so it stops claiming before it, and nothing claimed goes unsent."""
    app = aws_home.app(FixedClock(NOW))
    key = "CURRENCY#USD"
    for day in MARCH[:5]:
        pending = Record(key, day, None, Status.PENDING, 0, NOW - timedelta(hours=1), "no value")
        assert app.store.put_pending(pending)
    handler = load_handler("retry_recheck").make_handler(lambda: app)

    context = _RunningOutContext("retry_recheck", readings_with_time=2)
    result = handler(scheduled_event(), context)

    assert (result["due"], result["retried"], result["deferred"]) == (5, 2, 3)
    asked = asked_dates(app.queue)
    assert sorted(asked) == MARCH[:2]
    assert {r.date: r.retry_count for r in app.store.pending()} == {
        d: int(d in asked) for d in MARCH[:5]
    }
    assert sorted(r.date for r in app.store.due_pending(NOW)) == MARCH[2:5]
    assert emf_metric(capsys.readouterr().out, "RetriesDeferred") == 3

    again = handler(scheduled_event(), FakeLambdaContext("retry_recheck"))  # a full 120 s

    assert (again["retried"], again["deferred"]) == (3, 0)
    assert sorted(asked_dates(app.queue)) == MARCH[2:5]
