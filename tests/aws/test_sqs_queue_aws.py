"""What the SQS queue promises beyond the shared contract: batch limits, bounded resends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from devtools.aws.servers import LocalServer
from tests.support.aws_backends import refuse_what_sqs_refuses, unique_name

from fuelpipe.adapters.alerts import SqliteAlertState
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.adapters.sqs_queue import QueueSendError, SqsQueue, create_queues
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.ports.queue import DeadLettersIncomplete, DeadLettersRemain, Message, QueueDepth
from fuelpipe.stages.alerting import DeadLettered, evaluate

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


def test_a_receive_long_polls_as_long_as_the_caller_would_wait(sqs: Any, queue: SqsQueue) -> None:
    """``wait_s`` is ReceiveMessage's WaitTimeSeconds (a long poll asks every SQS server), in
    whole seconds up to SQS's 20, until a message is taken; the calls topping a batch up, and
    a receive that would not wait, short-poll."""
    waits: list[int] = []
    sqs.meta.events.register(
        "provide-client-params.sqs.ReceiveMessage",
        lambda params, **_: waits.append(params["WaitTimeSeconds"]),
    )
    for wait_s, first in ((0, 0), (0.2, 1), (2.5, 3), (60, 20)):
        waits.clear()
        queue.send(["m"])  # never an empty queue: a long poll of one would really wait
        got = queue.receive(10, wait_s=wait_s)
        assert [m.body for m in got] == ["m"]
        assert waits[0] == first and set(waits[1:]) <= {0}, (wait_s, waits)
        queue.delete([m.receipt for m in got])


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


def in_the_dlq_twice(sqs: Any, queue: SqsQueue) -> Message:
    """Message "a", dead-lettered by its last delivery with its error (its delete from the main
    queue failing) and moved to the DLQ again by the RedrivePolicy: the DLQ holds it twice."""
    queue.send(["a"])
    for _ in range(queue.max_receives - 1):
        (message,) = queue.receive(1)
        queue.release([message.receipt])
    (last,) = queue.receive(1)

    def refuse_delete(params: dict[str, Any], **_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=params["QueueUrl"])

    sqs.meta.events.register("before-parameter-build.sqs.DeleteMessageBatch", refuse_delete)
    with pytest.raises(EndpointConnectionError):
        queue.dead_letter(last, "received 5 times without being processed; the last time: boom")
    sqs.meta.events.unregister("before-parameter-build.sqs.DeleteMessageBatch", refuse_delete)
    queue.release([last.receipt])
    assert queue.receive(1) == []  # the RedrivePolicy moved it
    return last


def test_a_message_in_the_dlq_twice_is_one_dead_letter_naming_its_error(
    sqs: Any, queue: SqsQueue, tmp_path: Path
) -> None:
    """At-least-once: the scraper dead-letters a message failing on its last delivery with its
    error, and its delete from the main queue fails; it comes back, and the RedrivePolicy moves
    it to the DLQ again (the same message id, no reason). The dead-letter view shows it once,
    with the error, as the embedded queue (one dead letter per message id) would."""
    last = in_the_dlq_twice(sqs, queue)
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=2)
    (dead,) = queue.dead_letters()
    assert (dead.message_id, dead.body) == (last.message_id, "a")
    assert dead.reason == "received 5 times without being processed; the last time: boom"
    assert dead.copies == 2
    # The dead-letter alert reads both copies: none is said to be left unread. It is dated
    # from the copy given its reason (sent to the DLQ when dead-lettered), not from the read.
    assert dead.dead_at is not None
    now = dead.dead_at + timedelta(hours=6)
    store = SqliteStore(tmp_path / "a.sqlite")
    try:
        (alert,) = DeadLettered().evaluate(AlertContext(now, store, queue, DEFAULT_CATALOG))
    finally:
        store.close()
    assert alert.started == dead.dead_at
    at = sao_paulo_iso(dead.dead_at, "minutes")
    assert alert.summary.endswith(f"dead-lettered at {at}: {dead.reason}")


def test_a_purge_by_id_deletes_every_copy_of_a_dead_letter_held_twice(
    sqs: Any, queue: SqsQueue
) -> None:
    """`dlq list` shows a message the DLQ holds twice once: purging its id deletes both
    copies, and counts it once, as it was asked about."""
    last = in_the_dlq_twice(sqs, queue)
    dead_lettered(queue, ["b"])
    (other,) = (d for d in queue.dead_letters() if d.body == "b")
    assert queue.depth().dead == 3

    assert queue.purge_dead_letters(ids={last.message_id}) == 1
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=1)
    assert queue.dead_letters() == [other]


class ConcurrentReader:
    """The SQS client, with another reader (a person's `dlq list`, a second recheck) receiving
    one DLQ message right after the peek counted them: the peek's receives get one fewer back
    than the count, as a short poll that sampled the wrong servers would."""

    def __init__(self, client: Any, dlq_url: str) -> None:
        self._client = client
        self._dlq_url = dlq_url
        self.took: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_queue_attributes(self, **params: Any) -> Any:
        answer = self._client.get_queue_attributes(**params)
        if params["QueueUrl"] == self._dlq_url and not self.took:
            got = self._client.receive_message(
                QueueUrl=self._dlq_url, MaxNumberOfMessages=1, VisibilityTimeout=60
            )
            self.took += got["Messages"]
        return answer


def dead_lettered(queue: SqsQueue, bodies: list[str]) -> None:
    queue.send(bodies)
    for message in queue.receive(10):
        queue.dead_letter(message, "malformed message")


def behind_a_reader(sqs: Any, queue: SqsQueue) -> tuple[ConcurrentReader, SqsQueue]:
    """Dead letters a, b and c, and the queue on a client beside which another reader takes
    one of them right after the DLQ is counted."""
    dead_lettered(queue, ["a", "b", "c"])
    reader = ConcurrentReader(sqs, queue.dlq_url)
    return reader, SqsQueue(reader, queue.queue_url, queue.dlq_url, 30)


def give_back(sqs: Any, queue: SqsQueue, taken: list[dict[str, Any]]) -> None:
    for m in taken:
        sqs.change_message_visibility(
            QueueUrl=queue.dlq_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )


def test_a_peek_short_of_the_dlqs_count_raises_with_what_it_read(sqs: Any, queue: SqsQueue) -> None:
    reader, peeking = behind_a_reader(sqs, queue)

    with pytest.raises(DeadLettersIncomplete) as short:
        peeking.dead_letters()

    (taken,) = reader.took
    assert short.value.expected == 3
    assert sorted(d.body for d in short.value.found) == sorted({"a", "b", "c"} - {taken["Body"]})
    give_back(sqs, queue, reader.took)
    assert sorted(d.body for d in queue.dead_letters()) == ["a", "b", "c"]  # all there again


def test_the_dead_letter_rule_clears_nothing_when_the_peek_comes_back_short(
    sqs: Any, queue: SqsQueue, tmp_path: Path
) -> None:
    """A third dead letter changes the DLQ's count, and the read that follows gets only two
    of the three back: none of the two alerting is announced as CLEARED, and the one not read
    is said ("1 more not read"), not hidden in an incomplete run."""
    dead_lettered(queue, ["not json 1", "not json 2"])
    now = datetime(2022, 5, 4, 13, 30, tzinfo=UTC)
    store = SqliteStore(tmp_path / "a.sqlite")
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=FixedClock(now))
    try:
        first = evaluate(AlertContext(now, store, queue, DEFAULT_CATALOG), [DeadLettered()],
                         state, [])  # fmt: skip
        assert (first.firing, first.active) == (2, 2)
        before = set(state.load())
        dead_lettered(queue, ["not json 3"])

        peeking = SqsQueue(ConcurrentReader(sqs, queue.dlq_url), queue.queue_url,
                           queue.dlq_url, 30)  # fmt: skip
        later = now + timedelta(hours=1)
        second = evaluate(AlertContext(later, store, peeking, DEFAULT_CATALOG),
                          [DeadLettered()], state, [])  # fmt: skip
        active = state.load()
    finally:
        state.close()
        store.close()

    assert second.cleared == 0 and second.failed_rules == ()  # not announced as CLEARED
    assert before < set(active)
    told = active["dead_lettered:+unread"].condition
    assert told.summary.startswith("1 more dead letter(s) not read: the DLQ counts 3, 2 read")


def test_the_dead_letters_a_short_peek_did_read_still_fire(
    sqs: Any, queue: SqsQueue, tmp_path: Path
) -> None:
    """A short read clears nothing, but it must not silence what it did read either: while
    reads keep coming back short, new dead letters would otherwise never alert. The next
    evaluation reads again though the count is the same (the last read was short)."""
    now = datetime(2022, 5, 4, 13, 30, tzinfo=UTC)
    store = SqliteStore(tmp_path / "a.sqlite")
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=FixedClock(now))
    try:
        reader, peeking = behind_a_reader(sqs, queue)  # dead letters a, b, c; one held
        short = evaluate(AlertContext(now, store, peeking, DEFAULT_CATALOG), [DeadLettered()],
                         state, [])  # fmt: skip
        give_back(sqs, queue, reader.took)
        later = now + timedelta(hours=1)
        whole = evaluate(AlertContext(later, store, queue, DEFAULT_CATALOG), [DeadLettered()],
                         state, [])  # fmt: skip
        active = state.load()
    finally:
        state.close()
        store.close()

    assert (short.firing, short.cleared, short.active, short.failed_rules) == (3, 0, 3, ())
    # the third fires, and "1 more not read" clears
    assert (whole.firing, whole.cleared, whole.active, whole.failed_rules) == (1, 1, 3, ())
    assert sorted(a.condition.evidence["body"] for a in active.values()) == ["a", "b", "c"]


def test_a_redrive_short_of_the_dlqs_count_moves_what_it_got_and_says_what_remains(
    sqs: Any, queue: SqsQueue
) -> None:
    """It short-polled and stopped at the first empty receive: a dead letter SQS did not return
    (another reader held it, a short poll sampled other servers) was left behind, unsaid."""
    reader, redriving = behind_a_reader(sqs, queue)

    with pytest.raises(DeadLettersRemain) as short:
        redriving.redrive()

    (taken,) = reader.took
    assert (short.value.done, short.value.expected, short.value.remaining) == (2, 3, 1)
    assert "moved 2 of the 3 dead letter(s)" in str(short.value)
    assert sorted(drain_bodies(queue)) == sorted({"a", "b", "c"} - {taken["Body"]})
    give_back(sqs, queue, reader.took)
    assert queue.redrive() == 1  # the one left is still a dead letter, and moves now
    assert drain_bodies(queue) == [taken["Body"]]
    assert queue.depth() == QueueDepth(visible=0, in_flight=3, dead=0)


def test_a_purge_short_of_the_dlqs_count_says_what_remains(sqs: Any, queue: SqsQueue) -> None:
    reader, purging = behind_a_reader(sqs, queue)

    with pytest.raises(DeadLettersRemain) as short:
        purging.purge_dead_letters()

    assert (short.value.action, short.value.done, short.value.remaining) == ("purged", 2, 1)
    give_back(sqs, queue, reader.took)
    (left,) = queue.dead_letters()
    assert left.body == reader.took[0]["Body"]
    assert queue.purge_dead_letters() == 1
    assert queue.depth().dead == 0


def test_a_purge_by_id_behind_a_reader_keeps_a_late_dead_letter_and_says_what_it_missed(
    sqs: Any, queue: SqsQueue
) -> None:
    """a, b and c were read and asked about, d arrived after, and another reader holds one
    of the three while the purge runs: it deletes the two it finds, never d in place of the
    third, and says one asked about was not found. Asked again about that one, it deletes it."""
    reader, purging = behind_a_reader(sqs, queue)
    asked = {d.message_id for d in queue.dead_letters()}
    dead_lettered(queue, ["d"])

    with pytest.raises(DeadLettersRemain) as short:
        purging.purge_dead_letters(ids=asked)

    (taken,) = reader.took
    assert (short.value.done, short.value.expected, short.value.remaining) == (2, 3, 1)
    give_back(sqs, queue, reader.took)
    left = {d.body: d.message_id for d in queue.dead_letters()}
    assert sorted(left) == sorted([taken["Body"], "d"])
    assert queue.purge_dead_letters(ids={left[taken["Body"]]}) == 1
    assert [d.body for d in queue.dead_letters()] == ["d"]


def test_a_redrive_deletes_a_dead_letter_only_once_the_queue_took_it(
    moto_server: LocalServer, queue: SqsQueue
) -> None:
    """13 dead letters, two batches; the second batch's send never reaches SQS. The first ten
    are on the queue and gone from the DLQ, the other three are still dead letters, visible
    again at once (not hidden for the redrive's visibility timeout): none lost. The error says
    how many moved and how many remain (it was the raw send error, which said neither),
    chained to that error."""
    bodies = [f"m{i:02}" for i in range(13)]
    queue.send(bodies)
    for message in drain_messages(queue):
        queue.dead_letter(message, "malformed message")
    client = moto_server.client("sqs")
    sends: list[int] = []

    def second_send_fails(params: dict[str, Any], **_: Any) -> None:
        if params["QueueUrl"] == queue.queue_url:
            sends.append(len(params["Entries"]))
            if len(sends) == 2:
                raise EndpointConnectionError(endpoint_url=moto_server.url)

    client.meta.events.register("before-parameter-build.sqs.SendMessageBatch", second_send_fails)
    redriving = SqsQueue(client, queue.queue_url, queue.dlq_url, 30)

    with pytest.raises(DeadLettersRemain) as stopped:
        redriving.redrive()

    assert sends == [10, 3]
    assert (stopped.value.done, stopped.value.expected, stopped.value.remaining) == (10, 13, 3)
    assert isinstance(stopped.value.__cause__, EndpointConnectionError)
    assert str(stopped.value).startswith(
        "moved 10 of the 13 dead letter(s) the queue counts; 3 are still dead-lettered: it "
        "stopped on an error: EndpointConnectionError: Could not connect"
    )
    moved = drain_bodies(queue)
    left = [d.body for d in queue.dead_letters()]
    assert len(moved) == 10 and len(left) == 3
    assert sorted(moved + left) == bodies
    assert queue.redrive() == 3
    assert sorted(moved + drain_bodies(queue)) == bodies


def test_a_redrive_sends_big_dead_letters_in_batches_sqs_takes(sqs: Any, queue: SqsQueue) -> None:
    """Dead letters that came back in one receive went out in one SendMessageBatch whatever
    their size: here 400 KB, over the 256 KiB that send() keeps every batch under (SQS's
    BatchRequestTooLong; moto takes it, so the batches are checked)."""
    big = ["x" * 100_000 + str(i) for i in range(4)]
    dead_lettered(queue, big)
    batches = sent_batches(sqs)
    assert queue.redrive() == 4
    assert [len(b) for b in batches] == [2, 2]
    assert sorted(drain_bodies(queue)) == big
    assert queue.depth().dead == 0


def drain_messages(queue: SqsQueue) -> list[Any]:
    got: list[Any] = []
    while batch := queue.receive(10):
        got += batch
    return got


def test_the_dead_letter_rule_receives_nothing_while_the_dlqs_count_holds(
    sqs: Any, queue: SqsQueue, tmp_path: Path
) -> None:
    """The hourly evaluation peeked the DLQ every time (a receive and a visibility reset per
    10 dead letters); now only when its count changed, or a day after the last peek."""
    calls: list[str] = []
    for op in ("ReceiveMessage", "ChangeMessageVisibilityBatch", "GetQueueAttributes"):
        sqs.meta.events.register(
            f"before-call.sqs.{op}", lambda model, **_: calls.append(model.name)
        )
    dead_lettered(queue, ["not json 1", "not json 2", "not json 3"])
    clock = FixedClock(datetime(2022, 5, 4, 13, 30, tzinfo=UTC))
    store = SqliteStore(tmp_path / "a.sqlite")
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=clock)

    def run(at: datetime) -> tuple[int, int, int, list[str]]:
        calls.clear()
        report = evaluate(AlertContext(at, store, queue, DEFAULT_CATALOG), [DeadLettered()],
                          state, [])  # fmt: skip
        return report.firing, report.cleared, report.active, list(calls)

    now = clock.now()
    try:
        peek = ["GetQueueAttributes", "GetQueueAttributes", "ReceiveMessage",
                "ChangeMessageVisibilityBatch"]  # fmt: skip
        assert run(now) == (3, 0, 3, peek)
        assert run(now + timedelta(hours=1)) == (0, 0, 3, ["GetQueueAttributes"])
        assert run(now + timedelta(hours=2)) == (0, 0, 3, ["GetQueueAttributes"])
        assert run(now + timedelta(hours=26)) == (0, 0, 3, peek)  # a day since: peeked again
        dead_lettered(queue, ["not json 4"])
        assert run(now + timedelta(hours=27)) == (1, 0, 4, peek)  # the count changed
    finally:
        state.close()
        store.close()


def test_a_reason_holding_a_control_character_is_dead_lettered_with_it_escaped(
    sqs: Any, queue: SqsQueue
) -> None:
    """A malformed body's reason quotes the body (pydantic names an unknown field by its name,
    a JSON escape like \\u0001 decoded): SQS refused that text as the dead letter's reason, so
    the message was not dead-lettered at once but failed on every delivery, and reached the
    DLQ only by its RedrivePolicy, hours later, without its reason."""
    refuse_what_sqs_refuses(sqs)
    queue.send(['{"\\u0001": 1}'])
    (message,) = queue.receive(1)

    queue.dead_letter(
        message, "malformed message (schema v1): \x01: Extra inputs are not permitted"
    )

    (dead,) = queue.dead_letters()
    assert dead.reason == "malformed message (schema v1): \\x01: Extra inputs are not permitted"
    assert dead.body == '{"\\u0001": 1}'
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=1)
