"""Faults on the AWS side, injected through botocore's event hooks on the injected clients.

- :class:`DynamoFaults`: BatchWriteItem answers with some items in ``UnprocessedItems`` (they are
  really not written), and calls are throttled (``ProvisionedThroughputExceededException`` /
  ``ThrottlingException``) before they reach the server, so botocore's own retries see them.
- :class:`LostAnswers`: a DynamoDB write applied by the server whose answer is lost (a 500
  instead), so botocore sends the same request again.
- :class:`SqsDuplicates`: every sent batch is sent a second time (new message ids), and a
  received batch sometimes carries one message twice (same id, another receipt): SQS's
  at-least-once delivery, both ways.
- :class:`SqsOutage`: SQS unreachable for one send call, every one of botocore's attempts.

:class:`LambdaCycle` drives the pipeline the way AWS does: scheduled orchestrator and recheck
invocations (retried when they fail, as EventBridge does), and the SQS event source mapping
feeding batches to the real scraper handler, deleting only what it did not report as failed.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from botocore.awsrequest import AWSResponse
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from devtools.aws.lambda_events import FakeLambdaContext, failed_ids, load_handler, sqs_event
from devtools.chaos.harness import fetches
from fuelpipe.adapters.dynamodb_store import ADD_THREADS
from fuelpipe.domain.catalog import Series
from fuelpipe.ports.queue import Message
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import CycleReport, drain, run_cycle
from fuelpipe.stages.orchestrate import orchestrate
from fuelpipe.stages.recheck import recheck
from fuelpipe.stages.scrape import handle_message

T = TypeVar("T")
THROTTLE_CODES = ("ProvisionedThroughputExceededException", "ThrottlingException")
DYNAMO_OPERATIONS = ("BatchWriteItem", "PutItem", "UpdateItem", "Query")


class RawBody:
    """The raw body of a fake HTTP response, as botocore streams it."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


WRITE_STORM = (3, 5 * ADD_THREADS)
"""A storm of throttled PutItem sends (the scraper stores each value with a conditional
PutItem) that outlasts botocore's own retries: add_records keeps up to ADD_THREADS calls in
flight, and a call leaves the storm only by failing (five throttled sends), so this many sends
fail at least one call and the error reaches the stage, which must then lose nothing."""


META_PARTITION = "META"
"""The single table's partition of settings and logs (adapters/dynamodb_store.py's META)."""


def _partition(request: Any) -> str | None:
    """The partition key a PutItem/UpdateItem/DeleteItem send names (None: another shape)."""
    try:
        body = json.loads(request.body or b"{}")
    except (TypeError, ValueError):
        return None
    item = body.get("Item") or body.get("Key") or {}
    found = item.get("info_type", {}).get("S") if isinstance(item, dict) else None
    return found if isinstance(found, str) else None


class DynamoFaults:
    """Seeded DynamoDB faults on one client; ``counts`` says what was injected."""

    def __init__(
        self,
        client: Any,
        seed: int,
        *,
        unprocessed: float = 0.0,
        throttle: float = 0.0,
        storm: tuple[int, int] | None = None,
        operations: Sequence[str] = DYNAMO_OPERATIONS,
    ) -> None:
        self.rng = random.Random(seed)
        self.unprocessed = unprocessed
        self.throttle = throttle
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()  # the store queries index shards from several threads
        self._storms: dict[str, list[int]] = {}
        if storm is not None:
            self.arm("PutItem", skip=storm[0] - 1, length=storm[1])
        self._lock = threading.Lock()  # the store queries index shards from several threads
        self.active = True
        events = client.meta.events
        events.register("before-call.dynamodb.BatchWriteItem", self._withhold)
        events.register("after-call.dynamodb.BatchWriteItem", self._report_unprocessed)
        for operation in operations:
            events.register(f"before-send.dynamodb.{operation}", self._throttle)

    def _draw(self, rate: float) -> bool:
        with self._lock:
            return self.active and self.rng.random() < rate

    def _withhold(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """Take some items out of the request; they come back as UnprocessedItems."""
        if not self._draw(self.unprocessed):
            return
        body = json.loads(params["body"])
        ((table, requests),) = body["RequestItems"].items()
        if len(requests) < 2:
            return
        with self._lock:
            keep = self.rng.randint(1, len(requests) - 1)
        body["RequestItems"][table] = requests[:keep]
        context["withheld"] = (table, requests[keep:])
        params["body"] = json.dumps(body).encode()
        self.counts["unprocessed_items"] += len(requests) - keep
        self.counts["unprocessed_calls"] += 1

    @staticmethod
    def _report_unprocessed(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        withheld = context.pop("withheld", None)
        if withheld is not None and "Error" not in parsed:
            table, requests = withheld
            parsed.setdefault("UnprocessedItems", {}).setdefault(table, []).extend(requests)

    def arm(self, operation: str, *, skip: int, length: int) -> None:
        """Let ``skip`` sends of ``operation`` through, then throttle the next ``length``.

        A storm longer than botocore's own retries makes the error reach the stage.
        """
        with self._lock:
            self._storms[operation] = [skip, length]

    def _in_storm(self, event_name: str, request: Any) -> bool:
        """Whether this send is one the armed storm throttles: it counts the sends of a
        series' records only, not the META partition's bookkeeping (the run log, the
        orchestrator's notes), so where it lands does not move when a stage adds such a write."""
        operation = event_name.rsplit(".", 1)[-1]
        if operation not in self._storms or _partition(request) == META_PARTITION:
            return False
        with self._lock:
            storm = self._storms[operation]
            if not self.active or storm[1] <= 0:
                return False
            if storm[0] > 0:
                storm[0] -= 1
                return False
            storm[1] -= 1
            return True

    def _throttle(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        """Answer 400 with a throttling error instead of sending the request."""
        if not (self._in_storm(event_name, request) or self._draw(self.throttle)):
            return None
        with self._lock:
            code = self.rng.choice(THROTTLE_CODES)
        self.counts[code] += 1
        body = json.dumps(
            {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}
        ).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
        return AWSResponse(request.url, 400, headers, RawBody(body))


class LostAnswers:
    """DynamoDB writes that the server applies but whose answer never comes back: armed, the
    next matching send reaches the server and the caller's botocore sees a 500 instead, so it
    sends the same request again (standard retries), as after a lost answer, a connection
    reset or a read timeout (or, armed so, a send lost before it reached the server).
    ``lost`` counts the answers lost."""

    _Armed = tuple[Callable[[dict[str, Any]], bool], bool, Callable[[], object] | None]

    def __init__(self, client: Any, operations: Sequence[str] = ("UpdateItem", "PutItem")) -> None:
        self.lost = 0
        self._armed: list[LostAnswers._Armed] = []
        self._lock = threading.Lock()
        # The applied send goes straight to the (local) server, never through a proxy.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for operation in operations:
            client.meta.events.register(f"before-send.dynamodb.{operation}", self._apply_then_lose)

    def arm(
        self,
        matches: Callable[[dict[str, Any]], bool],
        *,
        applied: bool = True,
        meanwhile: Callable[[], object] | None = None,
    ) -> None:
        """Lose the answer of the next send whose JSON body ``matches`` (once). ``applied``:
        False when the send itself is lost on its way, never reaching the server;
        ``meanwhile``: another writer's work done before the 500 comes back (so before the
        resend)."""
        with self._lock:
            self._armed.append((matches, applied, meanwhile))

    def _apply_then_lose(self, request: Any, **_: Any) -> AWSResponse | None:
        body = json.loads(request.body)
        with self._lock:
            hit = next((armed for armed in self._armed if armed[0](body)), None)
            if hit is None:
                return None
            self._armed.remove(hit)
            self.lost += 1
        _, applied, meanwhile = hit
        if applied:
            headers = dict(request.headers.items())
            sent = urllib.request.Request(request.url, data=request.body, headers=headers)
            with self._opener.open(sent) as answer:
                answer.read()
        if meanwhile is not None:
            meanwhile()
        lost = json.dumps(  # the answer: a 500, which botocore retries
            {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "lost"}
        ).encode()
        return AWSResponse(request.url, 500, {"x-amzn-RequestId": "lost"}, RawBody(lost))


class SqsDuplicates:
    """Seeded duplicate sends (via a second, unhooked client) and duplicate deliveries."""

    def __init__(
        self, client: Any, twin: Any, seed: int, *, resend: float = 1.0, redeliver: float = 0.0
    ) -> None:
        self.rng = random.Random(seed)
        self.twin = twin
        self.resend = resend
        self.redeliver = redeliver
        self.counts: Counter[str] = Counter()
        events = client.meta.events
        events.register("before-parameter-build.sqs.SendMessageBatch", self._remember)
        events.register("after-call.sqs.SendMessageBatch", self._send_again)
        events.register("after-call.sqs.ReceiveMessage", self._deliver_twice)

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["batch"] = (params["QueueUrl"], [dict(e) for e in params["Entries"]])

    def _send_again(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        url, entries = context.pop("batch", (None, []))
        if url is None or "Error" in parsed or self.rng.random() >= self.resend:
            return
        sent = {s["Id"] for s in parsed.get("Successful", [])}
        again = [e for e in entries if e["Id"] in sent]
        if again:
            self.twin.send_message_batch(QueueUrl=url, Entries=again)
            self.counts["sent_twice"] += len(again)

    def _deliver_twice(self, parsed: dict[str, Any], **_: Any) -> None:
        messages = parsed.get("Messages") or []
        if messages and self.rng.random() < self.redeliver:
            # A second delivery of a message has the same id and body but its own receipt.
            copy = dict(self.rng.choice(messages))
            copy["ReceiptHandle"] += "-second-delivery"
            parsed["Messages"] = [*messages, copy]
            self.counts["delivered_twice"] += 1


class SqsOutage:
    """SQS unreachable on one client when armed: each SendMessageBatch attempt fails to
    connect before it leaves, so botocore retries it and then raises, as while SQS is down."""

    def __init__(self, client: Any) -> None:
        self.attempts = int(client.meta.config.retries["total_max_attempts"])
        self.refused = 0
        self._left = 0
        client.meta.events.register("before-send.sqs.SendMessageBatch", self._refuse)

    def fail_next_call(self) -> None:
        """The next SendMessageBatch call fails: every one of botocore's attempts of it."""
        self._left = self.attempts

    def _refuse(self, request: Any, **_: Any) -> None:
        if self._left > 0:
            self._left -= 1
            self.refused += 1
            raise EndpointConnectionError(endpoint_url=request.url)


class LambdaCycle:
    """A cycle as AWS runs it: scheduled stages, and the scraper handler fed by SQS batches."""

    def __init__(
        self,
        batch_size: int = 10,
        max_polls: int = 2000,
        before_recheck: Callable[[int], None] | None = None,
    ) -> None:
        self.handler_module = load_handler("scraper")
        self.batch_size = batch_size
        self.max_polls = max_polls
        self.before_recheck = before_recheck
        self.cycles = 0
        self.invocations = 0
        self.failed_items = 0
        self.failed_schedules = 0

    def scheduled(self, call: Callable[[], T], attempts: int = 3) -> T:
        """Run a scheduled invocation, retried on failure as EventBridge retries a failed one."""
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except (ClientError, BotoCoreError):  # AWS refused, or could not be reached
                self.failed_schedules += 1
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def feed(self, app: StageContext) -> None:
        """Poll and invoke until the queue is empty, in-flight messages included."""
        handler = self.handler_module.make_handler(lambda: app)
        for _ in range(self.max_polls):
            messages = app.queue.receive(self.batch_size)
            if not messages:
                if app.queue.depth().in_flight == 0:
                    return
                time.sleep(0.2)  # a failed message comes back after the visibility timeout
                continue
            self.invocations += 1
            try:
                response = handler(sqs_event(messages), FakeLambdaContext("scraper"))
                failed = set(failed_ids(response))
            except self.handler_module.BatchFailed:  # every record failed: the batch comes back
                failed = {m.message_id for m in messages}
            self.failed_items += len(failed)
            app.queue.delete([m.receipt for m in messages if m.message_id not in failed])
        raise AssertionError("the queue did not drain: a message keeps coming back")

    def __call__(self, app: StageContext, series: Sequence[Series], since: date) -> CycleReport:
        """orchestrate → feed the scraper → recheck → feed again."""
        before = fetches(app)
        report = CycleReport()
        report.orchestrate = self.scheduled(lambda: orchestrate(app, series=series, since=since))
        self.feed(app)
        if self.before_recheck is not None:
            self.before_recheck(self.cycles)
        report.recheck = self.scheduled(lambda: recheck(app, {s.key for s in series}))
        self.feed(app)
        report.scrape.source_requests = fetches(app) - before
        self.cycles += 1
        return report


def stop_mid_batch(app: StageContext, batch_size: int = 10) -> dict[str, int]:
    """A worker receives a batch, finishes half, handles one more but dies before deleting it.

    Nothing is deleted for the rest: they come back after the visibility timeout.
    """
    messages: list[Message] = app.queue.receive(batch_size)
    half = len(messages) // 2
    for message in messages[:half]:
        handle_message(app, message)
        app.queue.delete([message.receipt])
    for message in messages[half : half + 1]:
        handle_message(app, message)  # the worker dies here, before the delete
    return {"received": len(messages), "deleted": half, "abandoned": len(messages) - half}


class StopFirstBatch:
    """The first cycle's worker dies mid-batch; later cycles are ordinary."""

    def __init__(self) -> None:
        self.stopped: dict[str, int] | None = None

    def __call__(self, app: StageContext, series: Sequence[Series], since: date) -> CycleReport:
        if self.stopped is not None:
            return run_cycle(app, series=series, since=since)
        before = fetches(app)
        report = CycleReport()
        report.orchestrate = orchestrate(app, series=series, since=since)
        self.stopped = stop_mid_batch(app)
        drain(app)  # another worker: waits for the abandoned messages to become visible again
        report.recheck = recheck(app, {s.key for s in series})
        drain(app)
        report.scrape.source_requests = fetches(app) - before
        return report
