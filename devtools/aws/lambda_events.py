"""What the Lambda service hands a handler: event shapes, a context, and loading a handler.

Shared by the handler tests, `make demo-aws` and the AWS benchmark.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

from fuelpipe.ports.queue import Message, Queue

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = ROOT / "lambdas"
REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from the Lambda context object."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_ms: int = 120_000
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        """Time left before the (simulated) timeout."""
        return max(0, self.timeout_ms - int((time.monotonic() - self.started) * 1000))


def load_handler(name: str) -> ModuleType:
    """Import ``lambdas/<name>/handler.py`` (once) as the module ``lambda_<name>_handler``."""
    module_name = f"lambda_{name}_handler"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, LAMBDAS / name / "handler.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler for {name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def scheduled_event(
    detail: Mapping[str, Any] | None = None, *, scheduler: bool = False
) -> dict[str, Any]:
    """An EventBridge scheduled event (a rule's, or the Scheduler Input of infra/template.yaml)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if scheduler:
        return {
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "time": now,
            "detail": dict(detail or {}),
        }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": now,
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/fuelpipe-orchestrate"],
        "detail": dict(detail or {}),
    }


def sqs_event(
    messages: Sequence[Message], queue_name: str = "fuelpipe-downloads"
) -> dict[str, Any]:
    """The event the SQS event source mapping builds from received messages."""
    sent = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": m.message_id,
                "receiptHandle": m.receipt,
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": str(m.receive_count),
                    "SentTimestamp": sent,
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m.body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}",
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def deliver_until_gone(queue: Queue, handler: Callable[..., Mapping[str, Any]]) -> int:
    """Feed ``queue``'s messages to a scraper ``handler`` one a batch, as the SQS event source
    mapping does (it deletes those not reported failed; a failed one comes back after its
    visibility timeout, here at once; a batch whose every message failed raises), until none
    comes back; how many deliveries there were."""
    deliveries = 0
    while messages := queue.receive(1):
        deliveries += 1
        try:
            failed = set(failed_ids(handler(sqs_event(messages), FakeLambdaContext("scraper"))))
        except Exception:  # the scraper's BatchFailed: every message of the batch failed
            failed = {m.message_id for m in messages}
        queue.delete([m.receipt for m in messages if m.message_id not in failed])
        queue.release([m.receipt for m in messages if m.message_id in failed])
    return deliveries


def map_event_source(
    queue: Queue,
    invoke: Callable[[list[Message]], Collection[str]],
    batch_size: int,
    *,
    poll_s: float = 0.25,
    limit_s: float | None = None,
    before_delete: Callable[[], None] | None = None,
    after_delete: Callable[[], None] | None = None,
) -> int:
    """The SQS event source mapping: receive up to ``batch_size`` messages, ``invoke`` the
    function with them (it returns the ids of those that failed), delete the others and leave
    the failed ones hidden until their visibility timeout; until nothing is visible or in
    flight. How many messages were deleted. ``limit_s``: a RuntimeError naming the queue's
    depth once the queue has not emptied in that long. ``before_delete`` and
    ``after_delete`` run around each delete (the AWS crash tests' failpoints)."""
    deadline = None if limit_s is None else time.monotonic() + limit_s
    handled = 0
    while True:
        messages = queue.receive(batch_size)
        if not messages:
            depth = queue.depth()
            if depth.visible == 0 and depth.in_flight == 0:
                return handled
            if deadline is not None and time.monotonic() > deadline:
                raise RuntimeError(f"the queue did not empty in {limit_s:g} s: {depth}")
            time.sleep(poll_s)  # failed messages come back after the visibility timeout
            continue
        failed = set(invoke(messages))
        if before_delete is not None:
            before_delete()
        queue.delete([m.receipt for m in messages if m.message_id not in failed])
        if after_delete is not None:
            after_delete()
        handled += len(messages) - len(failed)


def failed_ids(response: Mapping[str, Any]) -> list[str]:
    """The message ids a scraper response reports in batchItemFailures."""
    return [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]


def emf_blobs(stdout: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric-format objects printed to stdout."""
    out = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            out.append(json.loads(line))
    return out


def emf_metric(stdout: str, name: str) -> float:
    """The value of one EMF metric printed by a handler invocation (summed when listed)."""
    for blob in emf_blobs(stdout):
        if name in blob:
            value = blob[name]
            return float(sum(value)) if isinstance(value, list) else float(value)
    raise AssertionError(f"no EMF metric {name} in {stdout!r}")


def function_url_event(
    path: str, query: str = "", headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Lambda Function URL GET request (payload format 2.0), as the dashboard receives it."""
    host = "abc123.lambda-url.us-east-1.on.aws"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": host, "user-agent": "pytest", **(headers or {})},
        **({"queryStringParameters": dict(parse_qsl(query))} if query else {}),
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc123",
            "domainName": host,
            "domainPrefix": "abc123",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jul/2026:12:00:00 +0000",
            "timeEpoch": 1782907200000,
        },
        "isBase64Encoded": False,
    }
