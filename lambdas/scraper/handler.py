"""scraper Lambda: an SQS batch in; one source request per message, partial batch failures out.

A malformed message is dead-lettered with its reason and counts as processed, so it leaves the
main queue at once; a transient failure raises, lands in ``batchItemFailures`` and only that
message is redelivered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from fuelpipe.homes.aws import ContextProvider, lazy_context
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.queue import Message
from fuelpipe.ports.store import RunLog
from fuelpipe.stages.data_version import mark_changed, scrape_changed
from fuelpipe.stages.scrape import ScrapeReport, handle_message

SETTINGS = Settings()  # validated at cold start: a bad variable fails the init, loudly
logger = Logger(service="scraper")
metrics = Metrics(namespace="fuelpipe", service="scraper")
processor = BatchProcessor(event_type=EventType.SQS)

Handler = Callable[[dict[str, Any], Any], PartialItemFailureResponse]


def make_handler(get_context: ContextProvider) -> Handler:
    """The Lambda handler around a stage-context provider (tests and the demo pass their own)."""
    totals: list[ScrapeReport] = []

    def record_handler(record: SQSRecord) -> None:
        logger.set_correlation_id(record.message_id)
        message = Message(
            message_id=record.message_id,
            receipt=record.receipt_handle,
            body=record.body,
            receive_count=int(record.attributes.approximate_receive_count or 1),
        )
        totals[0].add(handle_message(get_context(), message))

    @logger.inject_lambda_context(correlation_id_path="Records[0].messageId")
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        home = get_context()
        started = home.clock.now()
        totals[:] = [ScrapeReport()]
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        report = totals[0]
        failed = len(response.get("batchItemFailures", []))
        for name, value in (
            ("RecordsWritten", report.records_written),
            ("Quarantined", report.quarantined),
            ("DeadLettered", report.dead_lettered),
            ("BatchItemFailures", failed),
        ):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        home.store.put_run(RunLog("scraper", started, home.clock.now(), report.as_dict()))
        if scrape_changed(report):  # written after the records: the dashboard recomputes once
            mark_changed(
                home.store, home.clock.now(), getattr(context, "aws_request_id", "scraper")
            )
        logger.info("scraped", extra={**report.as_dict(), "batch_item_failures": failed})
        return response

    return handler


lambda_handler = make_handler(lazy_context(SETTINGS))
