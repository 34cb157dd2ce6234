"""Contract-suite backends on the local servers: a fresh table or queue pair per test."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from devtools.aws.servers import DUMMY_CREDENTIALS, REGION, LocalServer
from tests.support.jam import Jam, jam_dynamodb

from fuelpipe.adapters.alerts import DynamoAlertState
from fuelpipe.adapters.clock import ManualClock, SystemClock
from fuelpipe.adapters.dynamodb_store import DynamoDbStore, create_table
from fuelpipe.adapters.intraday_store import DynamoIntradayStore
from fuelpipe.adapters.sqs_queue import SqsQueue, create_queues
from fuelpipe.homes.aws import build_context, create_resources
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.intraday import IntradayStore
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext

SQS_VISIBILITY = timedelta(seconds=3)
"""The contract queues' real visibility (whole seconds, as SQS takes it). A test holds a
message, then checks it is still hidden: at 1 s a loaded host's three receives and the check
outlasted it (test_an_undeleted_message_comes_back_after_the_visibility_timeout[sqs-moto]
failed at load ~15). Only the tests that wait it out use it (the ``queue`` fixture holds a
minute), so each such wait costs its length once."""
SQS_MAX_RECEIVES = 3


def unique_name(prefix: str) -> str:
    """A table or queue name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def aws_cli_env(name: str, dynamodb: LocalServer, sqs: LocalServer) -> dict[str, str]:
    """The environment a `fuelpipe` process needs for the AWS home on the local servers: the
    table ``name`` and its queue pair (``name``, ``name-dlq``)."""
    return {
        "FUELPIPE_BACKEND": "aws",
        "FUELPIPE_TABLE_NAME": name,
        "FUELPIPE_QUEUE_NAME": name,
        "FUELPIPE_DLQ_NAME": name + "-dlq",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.url,
        "AWS_ENDPOINT_URL_SQS": sqs.url,
        "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": REGION,
    }


def aws_home(server: LocalServer, prefix: str) -> tuple[str, StageContext]:
    """A fresh table and queue pair on ``server`` (named after ``prefix``: the table and the
    queue ``name``, the DLQ ``name-dlq``) and the AWS home's context on them; close it after."""
    name = unique_name(prefix)
    cfg = Settings(backend="aws", table_name=name, queue_name=name, dlq_name=name + "-dlq")
    dynamodb, sqs = server.client("dynamodb"), server.client("sqs")
    create_resources(cfg, dynamodb_client=dynamodb, sqs_client=sqs, poll_s=0.05)
    context = build_context(
        cfg, clock=SystemClock(), sources={}, dynamodb_client=dynamodb, sqs_client=sqs
    )
    return name, context


def dynamodb_store_factory(
    server_fixture: str,
) -> Callable[[pytest.FixtureRequest, Path], Callable[..., Store]]:
    """A store factory on the named server fixture: one new table, one client per opener call
    (``opener(clock=None, wall=None)``: the clocks that client stamps ``updated_at`` and
    ``written_at`` with)."""

    def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Store]:
        server = request.getfixturevalue(server_fixture)
        table = unique_name("contract")
        create_table(server.client("dynamodb"), table, delay_s=0.05)
        return lambda clock=None, wall=None: DynamoDbStore(
            server.client("dynamodb"), table, clock=clock, wall=wall
        )

    return factory


def dynamodb_intraday_factory(
    server_fixture: str,
) -> Callable[[pytest.FixtureRequest, Path], IntradayStore]:
    """An intraday-store factory on the named server fixture: one new single table."""

    def factory(request: pytest.FixtureRequest, tmp_path: Path) -> IntradayStore:
        server = request.getfixturevalue(server_fixture)
        table = unique_name("intraday")
        create_table(server.client("dynamodb"), table, delay_s=0.05)
        return DynamoIntradayStore(server.client("dynamodb"), table)

    return factory


def dynamodb_alert_state_factory(server_fixture: str) -> Callable[..., Any]:
    """An alert-state factory on the named server fixture: one new table; every opener call
    opens another client on it (``opener(clock, jam=None, **options)``)."""

    def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Any]:
        server = request.getfixturevalue(server_fixture)
        table = unique_name("alerts")
        create_table(server.client("dynamodb"), table, delay_s=0.05)

        def opener(clock: ManualClock, jam: Jam | None = None, **options: Any) -> Any:
            client = server.client("dynamodb")
            if jam is not None:
                jam_dynamodb(client, jam)
            return DynamoAlertState(client, table, clock=clock, **options)

        return opener

    return factory


def sqs_queue_factory(server_fixture: str, backend_type: Callable[..., Any]) -> Callable[..., Any]:
    """A queue factory on the named server fixture: a new queue + DLQ with a short real visibility
    (``SQS_VISIBILITY``).
    Clients get the suite's clock, which SQS itself ignores: only what the adapter computes
    (``held().back_by``) reads it.

    ``backend_type`` is the contract suite's own QueueBackend class.
    """

    def factory(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> Any:
        server = request.getfixturevalue(server_fixture)
        name = unique_name("contract")
        client = server.client("sqs")
        seconds = SQS_VISIBILITY.total_seconds()
        url, dlq = create_queues(client, name, name + "-dlq", seconds, SQS_MAX_RECEIVES)
        return backend_type(
            open=lambda: SqsQueue(
                server.client("sqs"), url, dlq, seconds, SQS_MAX_RECEIVES, clock=clock
            ),
            clock=clock,
            visibility=SQS_VISIBILITY,
            supports_manual_clock=False,
            # SQS: a delete with an old receipt "succeeds, but the message might not be deleted".
            stale_receipt_is_noop=False,
            open_holding=lambda held: SqsQueue(
                server.client("sqs"), url, dlq, held, SQS_MAX_RECEIVES, clock=clock
            ),
        )

    return factory


def sns_topic_with_inbox(server: LocalServer, name: str) -> tuple[Any, Any, str, str]:
    """An SNS topic on ``server`` (moto_server) with an SQS queue subscribed, to read what was
    published: ``(sns client, sqs client, topic ARN, queue URL)``."""
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name=name)["TopicArn"]
    inbox = sqs.create_queue(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=attributes["Attributes"]["QueueArn"])
    return sns, sqs, topic, inbox


def drain_sns_inbox(sqs: Any, inbox: str) -> list[dict[str, Any]]:
    """Every message published to the topic so far (its JSON body), taken off the inbox."""
    return [json.loads(n["Message"]) for n in drain_sns_notifications(sqs, inbox)]


def drain_sns_notifications(sqs: Any, inbox: str) -> list[dict[str, Any]]:
    """Every notification SNS delivered to the inbox so far (``Subject``, ``Message``, ...),
    taken off it."""
    notes = []
    while batch := sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages"):
        notes += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=m["ReceiptHandle"])
    return notes


_NOT_SQS_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""What SQS refuses in a message attribute's text (it has the body's character set, XML's)."""


def refuse_what_sqs_refuses(sqs: Any) -> None:
    """Refuse, as SQS documents, a message attribute text outside its character set (moto
    takes any)."""

    def check(params: dict[str, Any], **_: Any) -> None:
        for entry in params["Entries"]:
            for name, value in entry.get("MessageAttributes", {}).items():
                if _NOT_SQS_TEXT.search(value.get("StringValue", "")):
                    error = {"Code": "InvalidParameterValue", "Message": f"{name}: invalid"}
                    raise ClientError({"Error": error}, "SendMessageBatch")

    sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", check)
