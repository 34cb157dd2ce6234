"""scraper Lambda: an SQS batch in; one source request per message, partial batch failures out.

A malformed message is dead-lettered with its reason and counts as processed, so it leaves the
main queue at once; a transient failure raises, lands in ``batchItemFailures`` and only that
message is redelivered. On its last delivery (its ApproximateReceiveCount at the queue's
``max_receives``, FUELPIPE_MAX_RECEIVES: the RedrivePolicy's ``maxReceiveCount``) a message that
fails is dead-lettered now with the error as its reason, as the embedded drain does
(stages/last_delivery.py), so ``fuelpipe dlq list`` and the dead-letter alert name the error,
not only the receive count; should SQS refuse that, it is reported as any failed message and
SQS's redrive moves it after this delivery. Before a gap message's last delivery is handled,
its dates holding no record are made PENDING (stages/scrape.py: ``hold_last_delivery``), so
one that stops the function every time (its timeout, a crash) leaves them for recheck, not
gaps the orchestrator sends again. A source that answered 429 or 503 with a
Retry-After rests (stages/source_rest.py, shared by every environment through the table:
homes/aws.py's ``share_rests``): its later messages are not fetched but given back in
``batchItemFailures``, hidden until the rest ends (stages/scrape.py: ``defer_if_resting``,
which says why one on its last delivery is handled instead). When every message of the batch
failed (a rested one is no failure) the handler raises, as Powertools' ``BatchProcessor``
does, so the function's Errors alarm sees it. The bookkeeping after the batch (its data
version, its run log) dead-letters no message whose work is stored: see ``write_version`` and
``write_run_log``.

The partial batch response is built here, not with Powertools' batch utility: importing that
utility costs ~28 ms of every cold start (asyncio and every stream event class), a sixth of
``import boto3``, for a loop of a few lines (bench: "cold import of the scraper handler").
Its records are read as dicts, not through Powertools' parser (``SqsModel``), for the same
reason: those models import about 100 more modules (``python -X importtime``); each body is
validated anyway, by the download message's own pydantic model (domain/messages.py).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, TypedDict

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from fuelpipe.homes.aws import ContextProvider, json_kind, lazy_scraper_context
from fuelpipe.homes.settings import Settings
from fuelpipe.ping import answers_ping
from fuelpipe.ports.queue import Message
from fuelpipe.ports.store import RunLog
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import (
    RUN_VERSION_OWED,
    UNMARKED,
    Debt,
    mark_changed,
    mark_owed,
    scrape_changed,
)
from fuelpipe.stages.last_delivery import asked_for, dead_letter_last_delivery
from fuelpipe.stages.scrape import ScrapeReport, defer_if_resting, handle_message

SETTINGS = Settings()  # validated at cold start: a bad variable fails the init, loudly
logger = Logger(service="scraper")
metrics = Metrics(namespace="fuelpipe", service="scraper")

VERSION_OWED = "VersionOwed"
"""The metric a batch whose data version write failed emits (``write_version``)."""
RUN_LOG_FAILED = "RunLogFailed"
"""The metric a batch whose run log write failed emits (``write_run_log``)."""
ALARMED = (VERSION_OWED, RUN_LOG_FAILED)
"""The bookkeeping metrics infra/template.yaml alarms on: each fails nothing, so only its
alarm tells a person (tests/aws/test_aws_template.py reads them here)."""


class ItemFailure(TypedDict):
    """One message the event source mapping must deliver again."""

    itemIdentifier: str


class PartialItemFailureResponse(TypedDict):
    """SQS's ``ReportBatchItemFailures`` response."""

    batchItemFailures: list[ItemFailure]


class BatchFailed(RuntimeError):
    """Every message of the batch failed: the whole batch is retried."""


Handler = Callable[[dict[str, Any], Any], PartialItemFailureResponse]


def receive_count(record: dict[str, Any]) -> int:
    """How many times SQS has delivered the message of an event record (1: the first time)."""
    attributes = record.get("attributes") or {}
    return int(attributes.get("ApproximateReceiveCount") or 1)


def records_of(event: Any) -> list[dict[str, Any]]:
    """The records of an SQS event; a ValueError naming what makes ``event`` none (no object,
    no ``Records`` list, a record that is no object), before any message is handled."""
    if not isinstance(event, dict):
        raise ValueError("not an SQS event: the event is not a JSON object")
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError("not an SQS event: no Records list")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            kind = json_kind(record)
            raise ValueError(f"not an SQS event: Records[{index}] is {kind}, not an object")
    return records


def message_of(record: dict[str, Any]) -> Message:
    """The queue message an SQS event record carries; a ValueError naming a field it lacks."""
    for field in ("messageId", "receiptHandle", "body"):
        if not isinstance(record.get(field), str):
            raise ValueError(f"not an SQS record: no {field!r} string")
    return Message(
        message_id=record["messageId"],
        receipt=record["receiptHandle"],
        body=record["body"],
        receive_count=receive_count(record),
    )


def process_batch(
    records: list[dict[str, Any]], handle: Callable[[Message], bool]
) -> PartialItemFailureResponse:
    """``handle`` each message of an SQS event's records; the ones that raised, and the ones it
    gave back undone (False: deferred while their source rests), as item failures. A given-back
    message is no error: the batch fails whole only when every other message raised."""
    failures: list[ItemFailure] = []
    errors = 0
    for record in records:
        message_id = str(record.get("messageId", "?"))
        logger.set_correlation_id(message_id)
        message: Message | None = None
        try:
            message = message_of(record)
            done = handle(message)
        except Exception:  # any failure leaves only this message for redelivery
            # what it asked for too: the id alone does not say which series and days wait
            asked = {} if message is None else {"request": asked_for(message)}
            logger.exception(
                "message failed; it is delivered again", extra={"id": message_id, **asked}
            )
            errors += 1
            done = False
        if not done:
            failures.append({"itemIdentifier": message_id})
    if errors and errors == len(failures) == len(records):
        raise BatchFailed(f"all {len(records)} messages of the batch failed")
    return {"batchItemFailures": failures}


def handle_or_dead_letter(home: StageContext, report: ScrapeReport, message: Message) -> bool:
    """Handle one message into ``report``; one that fails on its last delivery is dead-lettered
    with its error (counted in ``dead_lettered``, not failed), any other failure raises. False:
    not fetched, its source resting (``defer_if_resting``: hidden until the rest ends, and
    counted in ``rested``), to be given back."""
    if defer_if_resting(home, message) is not None:
        report.rested += 1
        return False
    try:
        report.add(handle_message(home, message))
    except Exception as exc:
        if not dead_letter_last_delivery(home.queue, message, exc):
            raise
        logger.exception(
            "message failed on its last delivery; dead-lettered with its error",
            extra={
                "id": message.message_id,
                "receive_count": message.receive_count,
                "request": asked_for(message),
            },
        )
        report.dead_lettered += 1
    return True


def enter_debt(owe: Debt) -> None:
    """Enter (or stamp anew) the batch's debt in UNMARKED; a store refusing it is logged, not
    raised: raising would dead-letter the batch's last delivery for bookkeeping."""
    try:
        owe()
    except Exception:
        logger.exception("could not enter the batch's data version debt")


def write_version(home: StageContext, owe: Debt, why: str) -> bool:
    """Write a new data version after the batch stored changes (or may have: a redelivery).

    A batch with no message on its last delivery lets a failure raise: every message of it is
    delivered again, and the redelivery writes the version. A batch holding one entered its
    debt in UNMARKED before any message was handled (:class:`Debt`, one GetItem of the data
    version, one of UNMARKED, one conditional PutItem), since a failure now has no redelivery
    to follow it (SQS dead-letters that message, and a redrive from the DLQ is a first
    delivery, which finds its records stored and changes nothing), nor has a timeout there.
    The outlook function pays the debts it finds even while the batch runs, so the batch
    stamps its debt anew after each message it handled (one GetItem, and a PutItem only when
    a version was written since): what that message stored after such a version stays owed
    should the batch be killed later. Here, after the last message, it is stamped anew once
    more and paid with the version (:func:`mark_owed`: one GetItem, one conditional PutItem
    more). A version write (or that clearing) that fails is
    then logged and counted (``VersionOwed``), not raised: the debt stays, and the outlook
    function's next run (every 10 minutes) writes the version. True then: the batch's run
    log carries the debt too (RUN_VERSION_OWED), for the outlook's daily run to pay should
    the ``META`` partition have refused the debt's entry as well."""
    if not owe.set:
        mark_changed(home.store, home.clock.now(), why)
        return False
    enter_debt(owe)
    try:
        mark_owed(home.store, home.clock.now(), why)
    except Exception:
        logger.exception("data version (or its debt's clearing) failed: the debt is left")
        metrics.add_metric(name=VERSION_OWED, unit=MetricUnit.Count, value=1)
        return True
    return False


def write_run_log(home: StageContext, run: RunLog) -> None:
    """Store the batch's run log; a store refusing it is logged and counted (``RunLogFailed``),
    not raised: the batch's work is stored and versioned by then, and raising would only have
    SQS deliver every message of it again (each fetched again for a log) and dead-letter one
    on its last delivery."""
    try:
        home.store.put_run(run)
    except Exception:
        logger.exception("run log not written; the batch is done")
        metrics.add_metric(name=RUN_LOG_FAILED, unit=MetricUnit.Count, value=1)


def make_handler(get_context: ContextProvider) -> Handler:
    """The Lambda handler around a stage-context provider (tests and the demo pass their own)."""

    @logger.inject_lambda_context(correlation_id_path="Records[0].messageId")
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        records = records_of(event)
        if not records:  # no event source mapping sends one: say so, write no empty run
            logger.warning("an SQS event with no records: nothing done")
            return {"batchItemFailures": []}
        home = get_context()
        started = home.clock.now()
        report = ScrapeReport()
        why = getattr(context, "aws_request_id", "scraper")
        owe = Debt(home.store, UNMARKED)
        if any(receive_count(r) >= home.queue.max_receives for r in records):
            enter_debt(owe)  # a last delivery: owed before any message is handled (write_version)

        def handle(message: Message) -> bool:
            """One message, then the debt (if any) stamped anew (see ``write_version``); an
            Exception (partial stores) too, but not a kill, which would run nothing here."""
            try:
                done = handle_or_dead_letter(home, report, message)
            except Exception:
                if owe.set:
                    enter_debt(owe)
                raise
            if owe.set:
                enter_debt(owe)
            return done

        # The shared rests are read once for the batch, not by each message and request.
        with home.rests.batch() if home.rests is not None else nullcontext():
            response = process_batch(records, handle)
        failed = len(response["batchItemFailures"])
        for name, value in (
            ("RecordsWritten", report.records_written),
            ("Quarantined", report.quarantined),
            ("DeadLettered", report.dead_lettered),
            ("BatchItemFailures", failed),
            ("Rested", report.rested),
        ):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        # Written after the records: the dashboard recomputes once. A redelivered message may
        # have stored its records on a delivery that failed before this write (the version
        # throttled): this delivery then finds nothing new, so it writes it anyway.
        redelivered = any(receive_count(r) > 1 for r in records)
        counts = report.as_dict()
        if (scrape_changed(report) or redelivered or owe.set) and write_version(home, owe, why):
            counts[RUN_VERSION_OWED] = 1
        write_run_log(home, RunLog("scraper", started, home.clock.now(), counts))
        logger.info("scraped", extra={**report.as_dict(), "batch_item_failures": failed})
        return response

    return handler


# The deploy's health check (fuelpipe/ping.py) is answered before any of this runs.
lambda_handler = answers_ping("scraper", make_handler(lazy_scraper_context(SETTINGS)))
