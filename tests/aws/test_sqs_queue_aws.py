"""What the SQS queue promises beyond the shared contract: batch limits, bounded resends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from devtools.aws.servers import LocalServer
from tests.support.aws_backends import unique_name

from fuelpipe.adapters.sqs_queue import QueueSendError, SqsQueue, create_queues
from fuelpipe.ports.queue import QueueDepth

pytestmark = pytest.mark.aws


@pytest.fixture
def sqs(moto_server: LocalServer) -> Any:
    return moto_server.client("sqs")


@pytest.fixture
def queue(sqs: Any) -> SqsQueue:
    name = unique_name("q")
    url, dlq = create_queues(sqs, name, name + "-dlq", 30, max_receive_count=5)
    return SqsQueue(sqs, url, dlq, 30, max_send_attempts=3, backoff_base_s=0.001)


def sent_batches(sqs: Any) -> list[list[dict[str, Any]]]:
    seen: list[list[dict[str, Any]]] = []
    sqs.meta.events.register(
        "provide-client-params.sqs.SendMessageBatch",
        lambda params, **_: seen.append(list(params["Entries"])),
    )
    return seen


def drain_bodies(queue: SqsQueue) -> list[str]:
    got: list[str] = []
    while batch := queue.receive(10):
        got += [m.body for m in batch]
    return got


def test_create_queues_sets_the_redrive_policy_and_encryption(sqs: Any, queue: SqsQueue) -> None:
    attrs = sqs.get_queue_attributes(QueueUrl=queue.queue_url, AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=queue.dlq_url, AttributeNames=["QueueArn"])
    policy = json.loads(attrs["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == dlq_arn["Attributes"]["QueueArn"]
    assert int(policy["maxReceiveCount"]) == 5
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["SqsManagedSseEnabled"] == "true"


def test_send_respects_ten_entries_and_256_kib_per_batch(sqs: Any, queue: SqsQueue) -> None:
    batches = sent_batches(sqs)
    big = ["x" * 100_000 + str(i) for i in range(5)]
    small = [f"m{i}" for i in range(13)]
    assert queue.send(big + small) == 18
    assert [len(b) for b in batches] == [2, 2, 10, 4]  # the 5th big body rides with 9 small
    for batch in batches:
        assert sum(len(e["MessageBody"].encode()) for e in batch) <= 256 * 1024
    assert sorted(drain_bodies(queue)) == sorted(big + small)


def test_failed_entries_are_resent_once_each(sqs: Any, queue: SqsQueue) -> None:
    held: list[str] = []

    def drop_second(params: dict[str, Any], **_: Any) -> None:
        if not held and len(params["Entries"]) > 1:
            held.append(params["Entries"][1]["Id"])
            params["Entries"] = [e for e in params["Entries"] if e["Id"] != held[0]]

    def report_failed(parsed: dict[str, Any], **_: Any) -> None:
        if held and not parsed.get("Failed") and len(held) == 1:
            parsed["Failed"] = [
                {"Id": held[0], "SenderFault": False, "Code": "InternalError", "Message": "x"}
            ]
            held.append("reported")

    sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", drop_second)
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", report_failed)
    bodies = [f"m{i}" for i in range(4)]
    assert queue.send(bodies) == 4
    assert sorted(drain_bodies(queue)) == bodies  # each exactly once


def test_entries_that_keep_failing_raise_instead_of_vanishing(sqs: Any, queue: SqsQueue) -> None:
    def always_fail(parsed: dict[str, Any], **_: Any) -> None:
        entry = {"Id": "0", "SenderFault": False, "Code": "InternalError", "Message": "down"}
        parsed["Failed"], parsed["Successful"] = [entry], []

    sqs.meta.events.register("after-call.sqs.SendMessageBatch", always_fail)
    with pytest.raises(QueueSendError, match="after 3 attempt"):
        queue.send(["lost?"])


def test_peeking_dead_letters_leaves_them_in_the_dlq(queue: SqsQueue) -> None:
    queue.send(["a", "b"])
    for message in queue.receive(10):
        queue.dead_letter(message, f"bad {message.body}")
    for _ in range(2):
        assert sorted((d.body, d.reason) for d in queue.dead_letters()) == [
            ("a", "bad a"),
            ("b", "bad b"),
        ]
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=2)
    assert queue.redrive() == 2
    assert sorted(drain_bodies(queue)) == ["a", "b"]
