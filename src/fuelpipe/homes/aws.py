"""The AWS home: DynamoDB store and SQS queue; the only place that builds boto3 clients.

boto3 reads the region and credentials the usual way, and honours ``AWS_ENDPOINT_URL_DYNAMODB``
and ``AWS_ENDPOINT_URL_SQS``, which is how `make demo-aws` points it at local servers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog, Series
from fuelpipe.domain.keys import parse_date_key
from fuelpipe.homes.app import App, policy_from
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.source import Source

AppProvider = Callable[[], App]


def make_client(service: str, settings: Settings) -> Any:
    """A low-level boto3 client with bounded, jittered retries and explicit timeouts."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=5,
        read_timeout=20,
        # The pending index is read one shard per thread.
        max_pool_connections=max(10, settings.pending_shards),
    )
    return boto3.session.Session().client(service, config=config)


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sources: Mapping[str, Source] | None = None,
    dynamodb_client: Any = None,
    sqs_client: Any = None,
    catalog: Catalog | None = None,
) -> App:
    """Wire the AWS home; tests and the demo pass clients for local servers, a clock, sources."""
    from fuelpipe.adapters.clock import FixedClock, SystemClock
    from fuelpipe.adapters.dynamodb_store import DynamoDbStore
    from fuelpipe.adapters.sqs_queue import SqsQueue

    dynamodb = dynamodb_client or make_client("dynamodb", settings)
    sqs = sqs_client or make_client("sqs", settings)
    business_clock: Clock = clock or (FixedClock(settings.now) if settings.now else SystemClock())
    store = DynamoDbStore(dynamodb, settings.table_name, settings.pending_shards)
    queue = SqsQueue(
        sqs,
        sqs.get_queue_url(QueueName=settings.queue_name)["QueueUrl"],
        sqs.get_queue_url(QueueName=settings.dlq_name)["QueueUrl"],
        settings.visibility_timeout_s,
        settings.max_receives,
    )
    if sources is None:
        from fuelpipe.homes.sources import build_sources

        sources = build_sources(settings)
    return App(
        catalog=catalog or DEFAULT_CATALOG,
        store=store,
        queue=queue,
        sources=sources,
        clock=business_clock,
        policy=policy_from(settings),
        settings=settings,
    )


def create_resources(
    settings: Settings,
    *,
    dynamodb_client: Any = None,
    sqs_client: Any = None,
    poll_s: float = 1.0,
) -> dict[str, str]:
    """Create the table with its pending index, and the queue with its DLQ, as the template does."""
    from fuelpipe.adapters.dynamodb_store import create_table
    from fuelpipe.adapters.sqs_queue import create_queues

    dynamodb = dynamodb_client or make_client("dynamodb", settings)
    sqs = sqs_client or make_client("sqs", settings)
    create_table(dynamodb, settings.table_name, delay_s=poll_s)
    queue_url, dlq_url = create_queues(
        sqs,
        settings.queue_name,
        settings.dlq_name,
        settings.visibility_timeout_s,
        settings.max_receives,
    )
    return {"table": settings.table_name, "queue_url": queue_url, "dlq_url": dlq_url}


def lazy_app(settings: Settings, **kwargs: Any) -> AppProvider:
    """Build the App on first use and keep it for the life of the Lambda environment."""
    built: list[App] = []
    lock = threading.Lock()

    def provide() -> App:
        with lock:
            if not built:
                built.append(build_app(settings, **kwargs))
            return built[0]

    return provide


@dataclass(frozen=True)
class ScheduleOptions:
    """What a scheduled event asks the orchestrator for (everything when empty)."""

    series: list[Series] | None = None
    since: date | None = None


def schedule_options(event: Mapping[str, Any], catalog: Catalog) -> ScheduleOptions:
    """Read ``detail.series`` (keys or prefixes) and ``detail.since`` from a scheduled event."""
    detail = event.get("detail") or {}
    if not isinstance(detail, Mapping):
        raise ValueError("the scheduled event's detail must be an object")
    patterns = detail.get("series")
    if patterns is not None and (
        not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns)
    ):
        raise ValueError("detail.series must be a list of series keys or prefixes")
    since = detail.get("since")
    return ScheduleOptions(
        series=catalog.select(patterns) if patterns else None,
        since=parse_date_key(str(since)) if since else None,
    )


def build_alerting(
    settings: Settings, *, dynamodb_client: Any = None, sns_client: Any = None
) -> tuple[Any, list[Any]]:
    """The AWS home's alert state (an item of the table) and sink (the SNS topic), or no sink
    when ``FUELPIPE_ALERT_TOPIC_ARN`` is not set."""
    from fuelpipe.adapters.alerts import DynamoAlertState, SnsSink

    state = DynamoAlertState(
        dynamodb_client or make_client("dynamodb", settings), settings.table_name
    )
    if not settings.alert_topic_arn:
        return state, []
    sns = sns_client or make_client("sns", settings)
    return state, [SnsSink(sns, settings.alert_topic_arn)]
