"""The scraper Lambda on an SQS batch mixing good messages with bad ones (dynalite +
moto_server): each bad one is dead-lettered with its reason and logged in one line naming
its message id and the problem, the good ones are stored once, and no message is failed.

The malformed ones were dead-lettered without a line of their own: the run's summary counted
them (``dead_lettered``), and which message it was, and why, was in the DLQ alone.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, failed_ids, load_handler, sqs_event
from tests.aws.conftest import AwsHome, LambdaLogs
from tests.aws.test_aws_handlers import MARCH, drain, ptax_values, request
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.ports.queue import QueueDepth
from fuelpipe.ports.source import FetchRequest, FetchResult

pytestmark = pytest.mark.aws

NOW = datetime(2025, 3, 31, 20, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
USD, EUR = "CURRENCY#USD", "CURRENCY#EUR"
UNIT = DEFAULT_CATALOG[USD].fetch_unit
BAD = {
    "not json": (
        "{not json",
        "malformed message (schema v1): body: Invalid JSON: key must be a string at line 1 column 2",
    ),
    "blank": (
        " ",
        "malformed message (schema v1): body: Invalid JSON: EOF while parsing a value"
        " at line 1 column 1",
    ),
    "an array": ("[]", "malformed message (schema v1): body: Input should be an object"),
    "no such key": (
        json.dumps(
            {
                "partition_key": "CURRENCY#NOPE",
                "dates_to_download": ["2025-03-03"],
                "fetch_unit": UNIT,
            }
        ),
        "malformed message: 'CURRENCY#NOPE' is not in the series catalog",
    ),
}


def test_each_bad_message_is_dead_lettered_and_logged_by_id_and_the_good_stored_once(
    aws_home: AwsHome, caplog: pytest.LogCaptureFixture
) -> None:
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", ptax_values(USD, EUR))})
    good = [request(USD, MARCH), request(EUR, MARCH)]
    app.queue.send([good[0], *(body for body, _ in BAD.values()), good[1], good[0]])  # USD twice
    messages = drain(app.queue)
    assert len(messages) == 7
    handler = load_handler("scraper").make_handler(lambda: app)

    with caplog.at_level(logging.WARNING):
        response = handler(sqs_event(messages), FakeLambdaContext("scraper"))

    assert failed_ids(response) == []  # the bad ones left the main queue for the DLQ
    app.queue.delete([m.receipt for m in messages])  # what the event source mapping does
    dead = {d.body: d.reason for d in app.queue.dead_letters()}
    assert dead == dict(BAD.values())
    assert app.queue.depth() == QueueDepth(visible=0, in_flight=0, dead=len(BAD))
    for key in (USD, EUR):
        assert [p.date for p in app.store.present(key)] == MARCH
        assert app.store.revised(key) == []  # the duplicate revised nothing
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for message in messages:
        if message.body in dead:
            (line,) = [text for text in lines if message.message_id in text]
            assert dead[message.body] in line
    assert len(lines) == len(BAD)


# Events no event source mapping sends, handed to the scraper by a mistaken invoke or target.
# Before: one with no Records ran as an empty batch and wrote an empty run log (the scraper's
# latest run, as the dashboard shows it); a record that is no object stopped the batch with
# "AttributeError: 'str' object has no attribute 'get'"; a record without a body was failed
# with the log line "KeyError: 'body'".
@pytest.mark.parametrize(
    ("event", "named"),
    [
        (None, "not an SQS event: the event is not a JSON object"),
        ({"id": "x", "source": "aws.scheduler", "detail": {}}, "not an SQS event: no Records list"),
        ({"Records": {"body": "{}"}}, "not an SQS event: no Records list"),
    ],
    ids=["null", "scheduled", "records-object"],
)
def test_an_event_that_is_no_sqs_batch_is_refused_and_nothing_is_written(
    aws_home: AwsHome, event: object, named: str
) -> None:
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", ptax_values(USD))})
    handler = load_handler("scraper").make_handler(lambda: app)

    with pytest.raises(ValueError, match=f"^{named}"):
        handler(event, FakeLambdaContext("scraper"))

    assert app.store.last_runs() == []


def test_a_record_that_is_no_object_fails_the_batch_before_any_message_is_handled(
    aws_home: AwsHome,
) -> None:
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", ptax_values(USD))})
    app.queue.send([request(USD, MARCH)])
    event = sqs_event(drain(app.queue))
    event["Records"].append("not a record")
    handler = load_handler("scraper").make_handler(lambda: app)

    with pytest.raises(ValueError, match=r"^not an SQS event: Records\[1\] is a JSON string"):
        handler(event, FakeLambdaContext("scraper"))

    assert app.store.present(USD) == []  # the whole batch comes back: nothing done twice
    assert app.store.last_runs() == []


def test_an_empty_batch_is_logged_and_writes_no_run(
    aws_home: AwsHome, caplog: pytest.LogCaptureFixture
) -> None:
    app = aws_home.app(FixedClock(NOW))
    handler = load_handler("scraper").make_handler(lambda: app)

    with caplog.at_level(logging.WARNING):
        assert handler({"Records": []}, FakeLambdaContext("scraper")) == {"batchItemFailures": []}

    assert [r.getMessage() for r in caplog.records] == [
        "an SQS event with no records: nothing done"
    ]
    assert app.store.last_runs() == []


def test_a_record_without_a_body_is_failed_naming_the_field_and_the_rest_is_stored(
    aws_home: AwsHome, caplog: pytest.LogCaptureFixture
) -> None:
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", ptax_values(USD, EUR))})
    app.queue.send([request(USD, MARCH), request(EUR, MARCH)])
    messages = drain(app.queue)
    event = sqs_event(messages)
    del event["Records"][0]["body"]
    handler = load_handler("scraper").make_handler(lambda: app)

    with caplog.at_level(logging.WARNING):
        response = handler(event, FakeLambdaContext("scraper"))

    assert failed_ids(response) == [messages[0].message_id]  # delivered again, not lost
    assert [p.date for p in app.store.present(EUR)] == MARCH
    (line,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.exc_info is not None
    assert str(line.exc_info[1]) == "not an SQS record: no 'body' string"


class _BrokenFor(TableSource):
    """Serves PTAX; a fetch of ``broken``'s fetch unit raises what no source error covers, as
    a parser bug (or a store refusing a write) would."""

    def __init__(self, broken: str, values: dict) -> None:
        super().__init__("bcb", values)
        self.broken = broken

    def fetch(self, request: FetchRequest) -> FetchResult:
        if request.fetch_unit == self.broken:
            raise ValueError("unexpected token in the payload")
        return super().fetch(request)


def test_a_failed_message_is_logged_with_what_it_asked_for(
    aws_home: AwsHome, lambda_logs: LambdaLogs
) -> None:
    """The scraper Lambda's line for a message that fails (given back to SQS) names the
    request as well as the message id: before, the id alone, so which series and days wait
    for its redelivery was in the queue alone."""
    logs = lambda_logs("scraper")
    source = _BrokenFor(DEFAULT_CATALOG[EUR].fetch_unit, ptax_values(USD, EUR))
    app = aws_home.app(FixedClock(NOW), {"bcb": source})
    app.queue.send([request(USD, MARCH), request(EUR, MARCH)])
    messages = drain(app.queue)
    handler = load_handler("scraper").make_handler(lambda: app)

    response = handler(sqs_event(messages), FakeLambdaContext("scraper"))

    [failed] = [m for m in messages if EUR in m.body]
    assert failed_ids(response) == [failed.message_id]
    assert [p.date for p in app.store.present(USD)] == MARCH  # the rest of the batch stored
    [line] = [
        json.loads(text)
        for text in logs.getvalue().splitlines()
        if "message failed" in json.loads(text)["message"]
    ]
    assert line["id"] == failed.message_id
    assert line["request"] == f"gap {EUR} {MARCH[0]}..{MARCH[-1]}, {len(MARCH)} dates"
    assert "ValueError: unexpected token in the payload" in line["exception"]
