"""The AWS store: one DynamoDB table, written in batches, with a sharded sparse retry index.

Key design
----------
The table is keyed by ``info_type`` (partition, e.g. ``CURRENCY#USD``) and ``date`` (sort,
ISO ``YYYY-MM-DD``). Every read the pipeline makes is a Query on one partition: the
orchestrator's gap scan reads one key's dates and statuses (projected to three attributes), the
dashboard reads one key between two dates. The ~250 series spread the data over as many
partition keys, and writes for one request land on one or a few keys, in batches of 25.

Records that need attention (PENDING or QUARANTINED) are also in a *sparse* global secondary
index, ``pending-index``. Only those items carry its partition attribute ``gsi1pk``; an OK item
has none (a PutRequest replaces the whole item, so it drops out when its value arrives), so the
index holds only the few records recheck must look at, never the millions of OK ones, and
recheck never scans the table.

``gsi1pk`` is ``<STATUS>#<shard>`` with ``shard = crc32(info_type#date) % pending_shards``.
A single constant partition (``PENDING``) would put every write of a failing source into one
hot index partition: when a source goes down, one scraper batch marks thousands of dates PENDING
at once, and an index partition takes about 1,000 writes/s; a throttled GSI throttles writes to
the table itself. Hashing the record's own key spreads those writes evenly over
``pending_shards`` partitions, and the hash is stable, so a record's later updates land on the
same shard. Reads pay a small fan-out: ``due_pending`` queries every PENDING shard in parallel.
``gsi1sk`` is ``<next_attempt_at ISO UTC>#info_type#date``, so "due now" is one range condition
per shard (``gsi1sk < <now>$``) and results come back oldest-due first; recheck's paged read
merges the shards on that key, so its pages are oldest-due first over the whole index. Changing
``pending_shards`` on a live table needs the existing PENDING/QUARANTINED items rewritten.

A second sparse index, ``status-index``, holds the same items keyed by ``gsi1pk`` and their
last write (``updated_at``), projecting only key, date, status, retry count, next attempt and
reason: what is read of a backlog whatever its size (the newest records, the newest stamp, the
counts: ``status_stamp``, ``latest_status``, ``count_status``) or summed up per series
(``status_summaries``) reads these slim entries, never the whole items. A failed backfill
leaves ~100,000 PENDING or QUARANTINED items; read whole, they outran a 29 s Lambda. The
meta settings written with a rank (``replace_meta``'s ``ranked``: the values set aside, by
when first seen) are in it too, under ``gsi1pk`` ``META#<family>`` (``META#set_aside#``) with
the rank as ``updated_at``, so ``latest_meta`` reads the newest few of a family in one
backwards Query, however many there are; no status shard reads that partition.

Every state change of a retry (create, claim, quarantine, release) is a conditional write, so
two overlapping recheck runs cannot both claim the same retry.
"""

from __future__ import annotations

import heapq
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from itertools import chain
from typing import Any, TypeVar

from boto3.dynamodb.conditions import ConditionBase, Key
from botocore.exceptions import ClientError

# Projected reads take i["date"]["S"] off the wire: TypeDeserializer is ~18x slower (timeit).
from fuelpipe.adapters import _dynamo_items as items
from fuelpipe.adapters._batch_retry import batch_attempts
from fuelpipe.adapters._dynamo_items import (
    GSI_PK,
    GSI_SK,
    PENDING_INDEX,
    STATUS_INDEX,
    STATUS_INDEX_ATTRS,
    Item,
)
from fuelpipe.adapters.clock import SystemClock
from fuelpipe.domain.instants import iso_utc
from fuelpipe.domain.keys import LATEST_RUNS, WATERMARKS, date_key, run_key, shard_of
from fuelpipe.domain.models import (
    NO_VALUE_SEEN_ATTR,
    AttrValue,
    PresentDate,
    Record,
    Revision,
    Status,
    no_value_seen_at,
)
from fuelpipe.domain.numbers import TooManyDigits
from fuelpipe.domain.retry import accepted_reason, released_reason
from fuelpipe.ports import store as port
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.store import (
    BATCH_LIMIT,
    RUNS_THROUGH_MARK,
    AnsweredBefore,
    Journal,
    RunLog,
    Settled,
    SettleVerb,
    Slot,
    Store,
    Watermark,
    run_sort_key,
)

META = "META"
"""Partition holding the store's named settings (sort key = name), e.g. a demo's clock."""

_ALWAYS_READ = ("key", "date", "status")
WRITE_THREADS = 4
"""BatchWriteItem calls put_records keeps in flight at once (a backfill writes thousands)."""
RUN_HISTORY_KEPT = timedelta(days=30)
"""How long a ``RUN#<stage>`` history item is kept after its run finished (DynamoDB's TTL on
``expires_at``): ``RUN#LATEST`` is what the health view reads; ``stage_runs`` reads a stage's
history (the daily revise's), and the scraper alone writes one a message.
The SQLite store keeps the latest RUNS_KEPT_PER_STAGE runs of each stage instead."""
ADD_THREADS = 16
"""Conditional PutItem calls add_records keeps in flight at once: one call per record, each
mostly a wait on the service (the client's connection pool is sized to match)."""


logger = logging.getLogger(__name__)


def _meta_rank_pk(family: str) -> str:
    """The status-index partition of a family's ranked meta settings: ``META#set_aside#``
    (no status shard is named so: ``PENDING#3``)."""
    return f"{META}#{family}"


_AddJob = tuple[tuple[str, date], Item]
_T = TypeVar("_T")
_R = TypeVar("_R")


def _in_threads(work: Callable[[_T], _R], items: Sequence[_T], threads: int) -> list[_R]:
    """``work`` on each item, ``threads`` calls at a time, results in order. Leaving the pool
    waits for every call, so none lands after an error is raised."""
    if min(threads, len(items)) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(min(threads, len(items)), thread_name_prefix="write") as pool:
        futures = [pool.submit(work, item) for item in items]
    return [future.result() for future in futures]


GET_LIMIT = 100
"""At most this many keys go in one BatchGetItem."""
TRANSACT_LIMIT = 100
"""At most this many items go in one TransactWriteItems."""
SETTLE_IF = "#status = :quarantined"
"""The condition of a release's or accept's change: nothing but a QUARANTINED record is
ever settled (:meth:`DynamoDbStore.settle_many`)."""
JOURNAL_ATTEMPTS = 5
"""Conditional writes of one journal entry tried before giving up (another person settling
the same date at the same moment is the only writer that can race)."""

CLAIM_ATTR = "claim_id"
"""The id of the last conditional state change of a retry record (a claim, a give-back, a
quarantine, a release, put_pending's move to QUARANTINED or ABSENT) or of an OK record's
revision: see :meth:`DynamoDbStore._own_update`. The name is the first such change's, kept
for the items that carry it."""


class TransactionRetry(RuntimeError):
    """A conditional write transaction was cancelled for another reason than a refused item
    (a conflicting transaction, throttling): sent again, a bounded number of times."""


class UnprocessedItemsError(RuntimeError):
    """DynamoDB kept returning UnprocessedItems after every bounded retry."""


REFUSING_CANCELLATIONS = frozenset(["ValidationError", "ItemCollectionSizeLimitExceeded"])
"""Cancellation reasons of a transaction's items that no resend gets past (an item over 400 KB,
a value DynamoDB cannot keep): unlike a conflict, throttling or a refused condition."""


def _refuse_invalid(batch: list[_AddJob], reasons: list[dict[str, Any]], exc: ClientError) -> None:
    """Raise, naming each record and why, when DynamoDB cancelled the transaction for items it
    will never take: re-sent with backoff, it was refused the same way every time, and the
    error said only "ValidationError"."""
    invalid = [
        f"{key} {date_key(day)}: " + ": ".join(filter(None, (code, reason.get("Message"))))
        for ((key, day), _), reason in zip(batch, reasons, strict=False)
        if (code := reason.get("Code", "None")) in REFUSING_CANCELLATIONS
    ]
    if invalid:
        error = {"Code": "TransactionCanceledException", "Message": "; ".join(invalid)}
        raise ClientError({"Error": error}, "TransactWriteItems") from exc


def _condition_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def _sent_again(exc: ClientError) -> bool:
    """Whether botocore sent the failed request more than once (its own retries after a 500,
    a reset or a read timeout): only then can its condition have met its own earlier write."""
    return bool(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0))


def ok_put_item(record: Record, at: datetime) -> Item:
    """The item :meth:`DynamoDbStore.put_records` writes for an OK ``record`` stored at ``at``
    (its ``updated_at`` and ``written_at`` both), for one PutItem of it outside the store
    (bench/bench_aws.py's one-item-a-call baseline)."""
    stamp = iso_utc(at)
    return items.ok_item(record, stamp, stamp)


class DynamoDbStore(Store):
    """The Store port on a DynamoDB table; the low-level client is injected."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        pending_shards: int = 8,
        max_unprocessed_attempts: int = 8,
        *,
        clock: Clock | None = None,
        backoff_base_s: float = 0.05,
        backoff_cap_s: float = 5.0,
        page_size: int | None = None,
        write_threads: int = WRITE_THREADS,
        add_threads: int = ADD_THREADS,
        run_history_kept: timedelta = RUN_HISTORY_KEPT,
        wall: Clock | None = None,
    ) -> None:
        if pending_shards < 1:
            raise ValueError("pending_shards must be at least 1")
        if write_threads < 1 or add_threads < 1:
            raise ValueError("write_threads and add_threads must be at least 1")
        self._run_history_kept = run_history_kept
        self._write_threads = write_threads
        self._add_threads = add_threads
        self._transactions = True  # until the server says it has none (dynalite)
        self.client = client
        self.table = table_name
        self.shards = pending_shards
        self._max_attempts = max_unprocessed_attempts
        self.clock: Clock = clock or SystemClock()
        """The business clock that stamps ``updated_at``: the stages' clock. A home sets it
        once it has read the clock the store itself keeps (the one a demo filled it at)."""
        self.wall: Clock = wall or SystemClock()
        """The real clock that stamps ``written_at`` (``ports.store.WRITTEN_AT``), however
        the business clock is set."""
        self._base = backoff_base_s
        self._cap = backoff_cap_s
        # None: DynamoDB's own 1 MB pages. A small page size exercises pagination in tests.
        self._page: dict[str, Any] = {} if page_size is None else {"PageSize": page_size}

    # --- plumbing ------------------------------------------------------------------------

    def _now(self) -> str:
        return iso_utc(self.clock.now())

    def wall_now(self) -> datetime:
        """Now on the wall clock that stamps ``written_at``."""
        return self.wall.now()

    def _shard(self, key: str, day: str) -> int:
        return shard_of(key, day, self.shards)

    def _update(self, key: str, day: date, expression: str, condition: str, **values: Any) -> bool:
        """One conditional UpdateItem; False when the condition does not hold."""
        return self._refusal(key, day, expression, condition, **values) is None

    def _refusal(
        self, key: str, day: date, expression: str, condition: str, **values: Any
    ) -> ClientError | None:
        """One conditional UpdateItem; the error when the condition does not hold, else None.

        Update expressions stay written out: boto3's condition builder covers conditions, not
        SET/REMOVE, and these few are easier to review as text.
        """
        try:
            self.client.update_item(**self._update_args(key, day, expression, condition, values))
        except ClientError as exc:
            if _condition_failed(exc):
                return exc
            raise
        return None

    def _update_args(
        self, key: str, day: date, expression: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        """A conditional UpdateItem's arguments (also a TransactWriteItems' ``Update``)."""
        names = {
            f"#{a}": a
            for a in (
                *items.FIELD_ATTRS.values(),
                GSI_PK,
                GSI_SK,
                CLAIM_ATTR,
                port.WRITTEN_AT,
                port.PENDING_SINCE,
            )
        }
        return {
            "TableName": self.table,
            "Key": items.primary_key(key, day),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {
                n: a for n, a in names.items() if n in expression or n in condition
            },
            "ExpressionAttributeValues": {f":{k}": items.encode(v) for k, v in values.items()},
        }

    def _own_update(
        self, key: str, day: date, expression: str, condition: str, **values: Any
    ) -> bool:
        """:meth:`_update` of a retry record's state change, which also writes its own id
        (``claim_id``); True as well when the condition fails because this very change was
        applied already.

        When DynamoDB applied the update but its answer was lost (a 500, a reset, a read
        timeout), botocore sends the same request again, and that one fails its condition
        (the record has moved): only the id, read back consistently, tells this change from
        another writer's, however alike (the same status and reason)."""
        if not expression.startswith("SET "):
            raise ValueError(f"a state change sets attributes: {expression!r}")
        op = uuid.uuid4().hex
        expression = "SET #claim_id = :op, " + expression.removeprefix("SET ")
        return self._update(key, day, expression, condition, op=op, **values) or self._holds(
            key, day, op
        )

    def _holds(self, key: str, day: date, op: str) -> bool:
        """Whether the record's last state change is the one with id ``op`` (a consistent
        read of the id alone)."""
        found = self.client.get_item(
            TableName=self.table,
            Key=items.primary_key(key, day),
            ConsistentRead=True,
            ProjectionExpression="#claim_id",
            ExpressionAttributeNames={"#claim_id": CLAIM_ATTR},
        ).get("Item", {})
        return bool(found.get(CLAIM_ATTR) == {"S": op})

    def _pages(self, **kwargs: Any) -> Iterator[list[Item]]:
        """Every page of one Query (boto3's paginator follows LastEvaluatedKey)."""
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(TableName=self.table, PaginationConfig=self._page, **kwargs):
            yield page.get("Items", [])

    def _first_items(self, limit: int, **query: Any) -> list[Item]:
        """The first ``limit`` items one Query matches: a page can come back short (1 MB), then
        the next call asks only for the rest."""
        # Not boto3's paginator: it sends PageSize as every call's Limit (MaxItems only cuts
        # what was read), so after a short page it would read a whole page more than needed.
        found: list[Item] = []
        while len(found) < limit:
            got = self.client.query(Limit=limit - len(found), **query)
            found += got.get("Items", [])
            if "LastEvaluatedKey" not in got:
                break
            query["ExclusiveStartKey"] = got["LastEvaluatedKey"]
        return found

    # --- writes --------------------------------------------------------------------------

    def put_records(self, records: Sequence[Record]) -> int:
        """Upsert OK records with BatchWriteItem, 25 distinct keys a call, each whole (a Put
        replaces an item: no history is kept over it); last duplicate wins."""
        if not records:
            return 0
        port.refuse_histories(records)
        stamp, written = self._now(), iso_utc(self.wall.now())
        # DynamoDB rejects a batch naming one key twice, so duplicates are dropped up front.
        unique: dict[tuple[str, date], Item] = {}
        for r in records:
            unique[(r.key, r.date)] = items.ok_item(r, stamp, written)
        requests = [{"PutRequest": {"Item": item}} for item in unique.values()]
        batches = [requests[i : i + BATCH_LIMIT] for i in range(0, len(requests), BATCH_LIMIT)]
        threads = min(self._write_threads, len(batches))
        if threads == 1:
            for batch in batches:
                self._write_batch(batch)
            return len(unique)
        # Several BatchWriteItem calls in flight at once (boto3 clients are thread-safe): a
        # call spends most of its time waiting on the service, and the next one's items are
        # serialised meanwhile. Leaving the pool waits for every call before an error is
        # raised, so no write of this call lands after put_records has returned or failed.
        with ThreadPoolExecutor(threads, thread_name_prefix="batch-write") as pool:
            futures = [pool.submit(self._write_batch, batch) for batch in batches]
        for future in futures:
            future.result()  # the first failure, if any (each upsert is idempotent: redo it)
        return len(unique)

    def add_records(self, records: Sequence[Record]) -> list[tuple[str, date]]:
        """Conditional writes in batches of at most 25 (BatchWriteItem takes no condition):
        one TransactWriteItems of conditional Puts per batch, ``write_threads`` in flight. An
        item is written unless its date is OK already; a batch one of whose conditions fails
        is cancelled whole, and sent again without the refused items.

        A DynamoDB-compatible server without transactions (dynalite) gets one conditional
        PutItem per record instead, on ``add_threads``: the same outcome, more requests.
        """
        if not records:
            return []
        stamp, written = self._now(), iso_utc(self.wall.now())
        unique: dict[tuple[str, date], Item] = {}
        for r in records:
            unique[(r.key, r.date)] = items.ok_item(r, stamp, written)
        jobs = list(unique.items())
        if self._transactions:
            batches = [jobs[i : i + BATCH_LIMIT] for i in range(0, len(jobs), BATCH_LIMIT)]
            try:
                refused = _in_threads(self._add_batch, batches, self._write_threads)
                return list(chain.from_iterable(refused))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "UnknownOperationException":
                    raise
                self._transactions = False  # conditional writes are idempotent: redo them
                logger.info("%s: no transactions on this server; one PutItem per record", exc)
        refused = _in_threads(self._add_one, [[job] for job in jobs], self._add_threads)
        return list(chain.from_iterable(refused))

    def _add_batch(self, batch: list[_AddJob]) -> list[tuple[str, date]]:
        """One conditional TransactWriteItems; cancelled for a refused item, it is sent again
        without it (a conflicting transaction or throttling is retried with jittered backoff;
        an item DynamoDB will never take raises at once: :func:`_refuse_invalid`). The slots
        refused because they were OK already."""
        refused: list[tuple[str, date]] = []
        for attempt in batch_attempts(TransactionRetry, self._max_attempts, self._base, self._cap):
            with attempt:
                while batch:
                    try:
                        self.client.transact_write_items(
                            TransactItems=[{"Put": self._conditional_put(i)} for _, i in batch]
                        )
                        return refused
                    except ClientError as exc:
                        error = exc.response.get("Error", {}).get("Code")
                        if error != "TransactionCanceledException":
                            raise
                        cancelled = exc.response["CancellationReasons"]
                        _refuse_invalid(batch, cancelled, exc)
                        reasons = [r.get("Code", "None") for r in cancelled]
                    failed = {
                        i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"
                    }
                    if not failed:  # a conflicting transaction, throttling: the batch again, later
                        raise TransactionRetry(f"transaction cancelled: {', '.join(set(reasons))}")
                    refused += [slot for i, (slot, _) in enumerate(batch) if i in failed]
                    batch = [job for i, job in enumerate(batch) if i not in failed]
        return refused  # every item was refused (or stamina re-raised the last retry's error)

    def _add_one(self, job: list[_AddJob]) -> list[tuple[str, date]]:
        """Put one OK item unless the date is OK already; its slot when it was."""
        [(slot, item)] = job
        try:
            self.client.put_item(**self._conditional_put(item))
        except ClientError as exc:
            if _condition_failed(exc):
                return [slot]
            raise
        return []

    def _conditional_put(self, item: Item) -> dict[str, Any]:
        """A Put of an OK item that succeeds unless the date holds an OK record already."""
        return {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(info_type) OR #status <> :ok",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":ok": items.encode(Status.OK.value)},
        }

    def _write_batch(self, requests: list[dict[str, Any]]) -> None:
        """One BatchWriteItem, re-sending UnprocessedItems with jittered backoff (stamina)."""
        for attempt in batch_attempts(
            UnprocessedItemsError, self._max_attempts, self._base, self._cap
        ):
            with attempt:
                response = self.client.batch_write_item(RequestItems={self.table: requests})
                requests = response.get("UnprocessedItems", {}).get(self.table, [])
                if requests:
                    raise UnprocessedItemsError(
                        f"{len(requests)} item(s) still unprocessed by {self.table} after "
                        f"{attempt.num} BatchWriteItem attempts (throttled?); nothing was "
                        "dropped silently: the caller must retry"
                    )

    def revise(
        self,
        key: str,
        day: date,
        revision: Revision,
        attrs: dict[str, AttrValue],
        *,
        history: int | None = None,
        answered_at: datetime | None = None,
    ) -> bool:
        """One conditional UpdateItem: the new value, the attrs, and the revision appended;
        ``history`` is checked as the length of the stored revision list, ``answered_at``
        against ``written_at`` (``written_since``: fixed-width UTC text compares as instants).
        Refused with ``answered_at`` given, a consistent read of ``written_at`` tells an
        answer older than the last write (AnsweredBefore) from another change.

        It writes its own id (``claim_id``, as :meth:`_own_update`): one DynamoDB applied but
        whose answer was lost fails its condition when botocore sends it again (the value and
        history moved), and only the id, read back, tells it is this revision's. Taken for
        another writer's, it was not counted, and its own write, later than the answer, sent
        the scraper to fetch again and find the value equal: no revision counted, the data
        version not moved. Only a request sent more than once is read back."""
        wall = self.wall.now()
        op = uuid.uuid4().hex
        sets = [
            "#claim_id = :op",
            "#value = :new",
            "#updated_at = :stamp",
            f"#{port.WRITTEN_AT} = :wall",
            "#revisions = list_append(if_not_exists(#revisions, :empty), :rev)",
        ]
        values: dict[str, Any] = {
            "op": op,
            "new": revision.new,
            "stamp": self._now(),
            "wall": iso_utc(wall),
            "empty": [],
            "rev": [items.revision_values(revision)],
            "ok": Status.OK.value,
            "previous": revision.previous,
        }
        expression = "SET " + ", ".join(sets)
        if attrs:
            expression += ", #attrs = :attrs"
            values["attrs"] = items.attrs_values(attrs)
        else:
            expression += " REMOVE #attrs"
        # Numbers compare numerically: 78.25 equals a stored 78.250.
        condition = "#status = :ok AND #value = :previous"
        if history:
            condition += " AND size(#revisions) = :seen"
            values["seen"] = history
        elif history == 0:
            condition += " AND attribute_not_exists(#revisions)"
        if answered_at is not None:  # not written after the answer, or by a clock ahead
            written = f"#{port.WRITTEN_AT}"
            condition += (
                f" AND (attribute_not_exists({written}) OR {written} <= :answered"
                f" OR {written} > :wall)"
            )
            values["answered"] = iso_utc(answered_at)
        try:
            refused = self._refusal(key, day, expression, condition, **values)
        except TooManyDigits as exc:
            raise exc.at(key, day) from None
        if refused is None or (_sent_again(refused) and self._holds(key, day, op)):
            return True
        if answered_at is not None and self._written_since(key, day, answered_at, wall):
            raise AnsweredBefore(f"{key} {day} was written after {answered_at}")
        return False

    def _written_since(self, key: str, day: date, answered_at: datetime, wall: datetime) -> bool:
        """Whether the OK record was written after ``answered_at`` (a consistent read of its
        status and ``written_at``): why a revision was refused."""
        found = self.client.get_item(
            TableName=self.table,
            Key=items.primary_key(key, day),
            ConsistentRead=True,
            ProjectionExpression="#status, #written",
            ExpressionAttributeNames={"#status": "status", "#written": port.WRITTEN_AT},
        ).get("Item", {})
        if found.get("status") != {"S": Status.OK.value} or port.WRITTEN_AT not in found:
            return False
        stamp = datetime.fromisoformat(found[port.WRITTEN_AT]["S"])
        return port.written_since(stamp, answered_at, wall)

    def revised(self, key: str) -> list[Record]:
        """One Query on the key, filtered to records carrying a history; those whose history
        holds adjustments only are left out here."""
        condition = items.key_condition(Key("info_type").eq(key))
        condition["ExpressionAttributeNames"]["#r"] = "revisions"
        return [
            items.decode(i)
            for page in self._pages(FilterExpression="attribute_exists(#r)", **condition)
            for i in page
            if items.revised_raw(i)
        ]

    def put_pendings(self, records: Sequence[Record]) -> list[bool]:
        """``put_pending`` of each record, ADD_THREADS calls in flight (each is conditional,
        so none can go into a BatchWriteItem); in order."""
        return _in_threads(self.put_pending, records, self._add_threads)

    def create_pendings(self, records: Sequence[Record]) -> list[bool]:
        """A conditional PutItem (``attribute_not_exists``) of each PENDING record,
        ADD_THREADS in flight; in order."""
        if any(r.status is not Status.PENDING for r in records):
            raise ValueError("create_pendings takes PENDING records only")
        return _in_threads(self._create_pending, records, self._add_threads)

    def _create_pending(self, record: Record) -> bool:
        try:
            fields = self._not_ok_fields(record, self.clock.now())
            item: Item = {**items.primary_key(record.key, record.date), **items.to_item(fields)}
        except TooManyDigits as exc:
            raise exc.at(record.key, record.date) from None
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(info_type)",
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            return False
        return True

    def put_pending(self, record: Record) -> bool:
        """Create or refresh a PENDING record, or make a PENDING one QUARANTINED or ABSENT.

        Never touches OK. An ABSENT record carries no pending-index attributes: the index
        holds only what recheck or a person must look at.

        A QUARANTINED or ABSENT record is written with its own id (as :meth:`_own_update`
        writes it): one DynamoDB applied but whose answer was lost fails its condition when
        botocore resends it, and the id, read back, says it is this write's. Only a request
        sent more than once is read back: a refusal is routine here (the same "no value"
        again for an ABSENT date).
        """
        if record.status not in (Status.PENDING, Status.QUARANTINED, Status.ABSENT):
            raise ValueError(
                f"put_pending takes PENDING, QUARANTINED or ABSENT records, not {record.status}"
            )
        now = self.clock.now()
        stamp = iso_utc(now)
        try:
            fields = self._not_ok_fields(record, now)
            item: Item = {**items.primary_key(record.key, record.date), **items.to_item(fields)}
        except TooManyDigits as exc:
            raise exc.at(record.key, record.date) from None
        op = None if record.status is Status.PENDING else uuid.uuid4().hex
        if op is not None:
            item[CLAIM_ATTR] = {"S": op}
        try:
            # A new record is created whole; an existing one is refreshed below.
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(info_type)",
            )
            return True
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            resent = _sent_again(exc)
        # An existing PENDING record keeps its retry state: only recheck's claims move it.
        sets = ["#updated_at = :stamp"]
        removes: list[str] = []
        values: dict[str, Any] = {"stamp": stamp, "pending": Status.PENDING.value}
        for attr in ("reason", "attrs"):
            if fields[attr] is not None:
                sets.append(f"#{attr} = :{attr}")
                values[attr] = fields[attr]
            else:
                removes.append(f"#{attr}")
        # A refreshed PENDING record keeps when it first became PENDING; a move drops it.
        if record.status is Status.QUARANTINED:
            sets += ["#status = :status", "#gsi1pk = :gpk", "#gsi1sk = :gsk"]
            removes += ["#next_attempt_at", f"#{port.PENDING_SINCE}"]
            values.update(status=record.status.value, gpk=fields[GSI_PK], gsk=fields[GSI_SK])
        elif record.status is Status.ABSENT:
            sets.append("#status = :status")
            removes += ["#next_attempt_at", "#gsi1pk", "#gsi1sk", f"#{port.PENDING_SINCE}"]
            values.update(status=record.status.value)
        if op is not None:
            sets.append("#claim_id = :op")
            values["op"] = op
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        refused = self._refusal(record.key, record.date, expression, "#status = :pending", **values)
        if refused is None:
            return True
        # A PENDING refresh sent again holds its condition still: only a move can be ours here.
        resent = resent or _sent_again(refused)
        return op is not None and resent and self._holds(record.key, record.date, op)

    def _not_ok_fields(self, record: Record, now: datetime) -> dict[str, Any]:
        """The attributes of a PENDING, QUARANTINED (both indexed) or ABSENT record; a new
        PENDING one is PENDING from ``now`` (``ports.store.PENDING_SINCE``)."""
        day = date_key(record.date)
        pending = record.status is Status.PENDING
        when = record.next_attempt_at if pending else None
        fields: dict[str, Any] = {
            "status": record.status.value,
            "retry_count": record.retry_count,
            "updated_at": iso_utc(now),
            port.PENDING_SINCE: iso_utc(now) if pending else None,
            GSI_PK: None,
            GSI_SK: None,
            "value": record.value,
            "next_attempt_at": None if when is None else iso_utc(when),
            "reason": record.reason,
            "attrs": items.attrs_values(record.attrs) or None,
        }
        if record.status is not Status.ABSENT:
            gsk_time = when if record.status is Status.PENDING else now
            fields[GSI_PK] = items.gsi_pk(record.status, self._shard(record.key, day))
            fields[GSI_SK] = items.gsi_sk(gsk_time, record.key, day)
        return fields

    def claim_retry(
        self, key: str, day: date, expected_count: int, new_count: int, next_attempt_at: datetime
    ) -> bool:
        """Move a PENDING record's retry count from expected to new; False if someone else did.

        The claim writes its own id beside the count (:meth:`_own_update`): a claim DynamoDB
        applied whose answer was lost, resent by botocore, is still this claim's."""
        return self._own_update(
            key,
            day,
            "SET #retry_count = :new, #next_attempt_at = :next, #gsi1sk = :gsk, "
            "#updated_at = :stamp",
            "#status = :pending AND #retry_count = :expected",
            new=new_count,
            next=iso_utc(next_attempt_at),
            gsk=items.gsi_sk(next_attempt_at, key, date_key(day)),
            stamp=self._now(),
            pending=Status.PENDING.value,
            expected=expected_count,
        )

    def give_back_retry(
        self,
        key: str,
        day: date,
        claimed_count: int,
        claimed_next: datetime,
        count: int,
        next_attempt_at: datetime | None,
    ) -> bool:
        """Undo a claim whose re-download was never sent, only while the record holds what the
        claim wrote; False if it changed meanwhile. The pending index's sort key goes back
        with the next attempt, so the record is due again there. One applied but resent after
        a lost answer is still this one's (:meth:`_own_update`)."""
        values: dict[str, Any] = {}
        if next_attempt_at is None:  # never scheduled: no attribute, as put_pending leaves it
            expression = "SET #retry_count = :count, #gsi1sk = :gsk, #updated_at = :stamp "
            expression += "REMOVE #next_attempt_at"
        else:
            expression = (
                "SET #retry_count = :count, #next_attempt_at = :previous, #gsi1sk = :gsk, "
                "#updated_at = :stamp"
            )
            values["previous"] = iso_utc(next_attempt_at)
        return self._own_update(
            key,
            day,
            expression,
            "#status = :pending AND #retry_count = :claimed AND #next_attempt_at = :claimed_next",
            count=count,
            gsk=items.gsi_sk(next_attempt_at, key, date_key(day)),
            stamp=self._now(),
            pending=Status.PENDING.value,
            claimed=claimed_count,
            claimed_next=iso_utc(claimed_next),
            **values,
        )

    def quarantine(self, key: str, day: date, expected_count: int, reason: str) -> bool:
        """Quarantine a PENDING record whose retries are spent; False if it changed meanwhile.
        One applied but resent after a lost answer is still this one's (:meth:`_own_update`),
        so it is counted."""
        now = self.clock.now()
        text = date_key(day)
        return self._own_update(
            key,
            day,
            "SET #status = :quarantined, #reason = :reason, #updated_at = :stamp, "
            f"#gsi1pk = :gpk, #gsi1sk = :gsk REMOVE #next_attempt_at, #{port.PENDING_SINCE}",
            "#status = :pending AND #retry_count = :expected",
            quarantined=Status.QUARANTINED.value,
            reason=reason,
            stamp=iso_utc(now),
            gpk=items.gsi_pk(Status.QUARANTINED, self._shard(key, text)),
            gsk=items.gsi_sk(now, key, text),
            pending=Status.PENDING.value,
            expected=expected_count,
        )

    def release(self, key: str, day: date, now: datetime) -> bool:
        """Put a QUARANTINED record back to PENDING with a fresh retry budget, due now.

        The record changes first, then the watermark moves below it: a gap scan in between
        either sees the PENDING record or has its watermark move refused by the version bump.
        A release applied but resent after a lost answer is still this one's (a transaction's
        ClientRequestToken, or the change's own id read back where a server keeps no token;
        :meth:`_own_update` without transactions): the watermark moves all the same
        (:meth:`settle_many`).
        """
        return bool(self.settle_many("release", [(key, day)], now))

    def accept(self, key: str, day: date, now: datetime) -> bool:
        """Make a QUARANTINED record ABSENT, its retry count kept, its reason saying it was
        accepted by hand and why it was quarantined; False unless it is QUARANTINED. It leaves
        the pending index (an ABSENT record carries no index attributes, as put_pending writes
        one). One applied but resent after a lost answer is still this one's (as a
        release's: :meth:`settle_many`)."""
        return bool(self.settle_many("accept", [(key, day)], now))

    def settle_many(
        self, verb: SettleVerb, slots: Sequence[Slot], now: datetime, journal: Journal | None = None
    ) -> list[Settled]:
        """Per 100 slots: a consistent BatchGetItem of the records (and one of their journal
        entries), then TransactWriteItems of the QUARANTINED ones' conditional changes, each
        with its entry's conditional Put (:meth:`_settle_batch`); the released keys'
        watermarks moved once each, after every record changed (as :meth:`release`)."""
        unique = list(dict.fromkeys(slots))
        settled: list[Settled] = []
        for i in range(0, len(unique), GET_LIMIT):
            found = self._quarantined_of(unique[i : i + GET_LIMIT])
            kept: dict[str, str] = {}
            if journal is not None and found:
                names = [journal.name(w.key, w.date) for w in found]
                kept = {
                    str(i["date"]["S"]): str(i["value"]["S"])
                    for i in self._batch_get([items.primary_key(META, n) for n in names])
                }
            op = uuid.uuid4().hex  # written with each change: its own, read back if need be
            jobs = [self._settle_job(verb, was, now, journal, kept, op) for was in found]
            per = TRANSACT_LIMIT // len(jobs[0][1]) if jobs else 1
            for j in range(0, len(jobs), per):
                settled += self._settle_batch(verb, jobs[j : j + per], now, journal, op)
        if verb == "release":
            for key, day in port.earliest_by_key(settled).items():
                self.lower_watermark(key, day)
        return settled

    def _batch_get(self, keys: list[Item], projection: Sequence[str] = ()) -> list[Item]:
        """The items of ``keys`` (at most 100: one BatchGetItem) that exist, read
        consistently; UnprocessedKeys read again with jittered backoff (stamina)."""
        request: dict[str, Any] = {"Keys": keys, "ConsistentRead": True}
        if projection:
            request["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(projection)))
            request["ExpressionAttributeNames"] = {f"#p{i}": a for i, a in enumerate(projection)}
        found: list[Item] = []
        for attempt in batch_attempts(
            UnprocessedItemsError, self._max_attempts, self._base, self._cap
        ):
            with attempt:
                while request["Keys"]:
                    got = self.client.batch_get_item(RequestItems={self.table: request})
                    found += got.get("Responses", {}).get(self.table, [])
                    left = got.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                    if left:
                        request = {**request, "Keys": left}
                        raise UnprocessedItemsError(
                            f"{len(left)} key(s) still unprocessed by {self.table} after "
                            f"{attempt.num} BatchGetItem attempts (throttled?)"
                        )
                    request = {**request, "Keys": []}
        return found

    def _quarantined_of(self, slots: Sequence[tuple[str, date]]) -> list[Settled]:
        """The QUARANTINED records of ``slots`` (at most 100), in their order, as they are
        now: one consistent BatchGetItem of what a change needs."""
        wanted = ("info_type", "date", "status", "reason", "retry_count")
        found = {
            (str(i["info_type"]["S"]), str(i["date"]["S"])): i
            for i in self._batch_get([items.primary_key(k, d) for k, d in slots], wanted)
            if i["status"]["S"] == Status.QUARANTINED.value
        }
        out = []
        for key, day in slots:
            item = found.get((key, date_key(day)))
            if item is not None:
                reason = item["reason"]["S"] if "S" in item.get("reason", {}) else None
                count = int(item.get("retry_count", {"N": "0"})["N"])
                out.append(Settled(key, day, count, reason))
        return out

    def _change(self, verb: SettleVerb, was: Settled, now: datetime) -> tuple[str, dict[str, Any]]:
        """The UpdateExpression (and its values) that releases or accepts ``was``, under the
        condition ``#status = :quarantined``."""
        text = date_key(was.date)
        if verb == "release":
            return (
                "SET #status = :pending, #retry_count = :zero, #next_attempt_at = :next, "
                f"#updated_at = :next, #{port.PENDING_SINCE} = :next, #gsi1pk = :gpk, "
                "#gsi1sk = :gsk, #reason = :reason",
                {
                    "reason": released_reason(was.reason, now),
                    "pending": Status.PENDING.value,
                    "zero": 0,
                    "next": iso_utc(now),
                    "gpk": items.gsi_pk(Status.PENDING, self._shard(was.key, text)),
                    "gsk": items.gsi_sk(now, was.key, text),
                    "quarantined": Status.QUARANTINED.value,
                },
            )
        return (
            "SET #status = :absent, #updated_at = :stamp, #reason = :reason "
            f"REMOVE #gsi1pk, #gsi1sk, #next_attempt_at, #{port.PENDING_SINCE}",
            {
                "absent": Status.ABSENT.value,
                "stamp": iso_utc(now),
                "reason": accepted_reason(was.reason, now),
                "quarantined": Status.QUARANTINED.value,
            },
        )

    def _settle_job(
        self,
        verb: SettleVerb,
        was: Settled,
        now: datetime,
        journal: Journal | None,
        kept: dict[str, str],
        op: str,
    ) -> tuple[Settled, list[dict[str, Any]]]:
        """``was`` and the transaction items that settle it: its conditional change (which
        writes ``op`` as its id, as :meth:`_own_update` does), and its journal entry's Put
        conditional on the entry as read (``kept``)."""
        expression, values = self._change(verb, was, now)
        expression = "SET #claim_id = :op, " + expression.removeprefix("SET ")
        update = self._update_args(was.key, was.date, expression, SETTLE_IF, values | {"op": op})
        writes: list[dict[str, Any]] = [{"Update": update}]
        if journal is not None:
            name = journal.name(was.key, was.date)
            before = kept.get(name)
            writes.append({"Put": self._meta_put(name, before, journal.add(before, was))})
        return was, writes

    def _settle_batch(
        self,
        verb: SettleVerb,
        jobs: list[tuple[Settled, list[dict[str, Any]]]],
        now: datetime,
        journal: Journal | None,
        op: str,
    ) -> list[Settled]:
        """One TransactWriteItems of ``jobs`` (a conflict or throttling: sent again with
        jittered backoff; an item DynamoDB never takes raises, :func:`_refuse_invalid`). A
        transaction cancelled because a record or entry changed since it was read, and a
        server without transactions (dynalite), settle each date alone
        (:meth:`_settle_alone`); one no longer QUARANTINED whose change is this one's (its
        id is ``op``: the transaction was applied, its answer lost, and the resend refused
        where the server keeps no ClientRequestToken) is settled too. Those settled."""
        if self._transactions:
            for attempt in batch_attempts(
                TransactionRetry, self._max_attempts, self._base, self._cap
            ):
                with attempt:
                    try:
                        self.client.transact_write_items(
                            TransactItems=[w for _, writes in jobs for w in writes],
                            ClientRequestToken=uuid.uuid4().hex,  # a resend is applied once
                        )
                        return [was for was, _ in jobs]
                    except ClientError as exc:
                        error = exc.response.get("Error", {}).get("Code")
                        if error == "UnknownOperationException":
                            self._transactions = False
                            logger.info("%s: no transactions on this server", exc)
                            break
                        if error != "TransactionCanceledException":
                            raise
                        cancelled = exc.response["CancellationReasons"]
                        flat = [((was.key, was.date), w) for was, writes in jobs for w in writes]
                        _refuse_invalid(flat, cancelled, exc)
                        codes = {r.get("Code", "None") for r in cancelled}
                        if "ConditionalCheckFailed" in codes:
                            break  # changed since it was read: each date alone, read again
                        raise TransactionRetry(
                            f"transaction cancelled: {', '.join(codes)}"
                        ) from exc
        return [
            was
            for was, _ in jobs
            if self._settle_alone(verb, was.key, was.date, now, journal) is not None
            or self._holds(was.key, was.date, op)
        ]

    def _settle_alone(
        self,
        verb: SettleVerb,
        key: str,
        day: date,
        now: datetime,
        journal: Journal | None,
    ) -> Settled | None:
        """Settle one date with single requests: a consistent read, the conditional change
        (:meth:`_own_update`: one applied but resent after a lost answer is still this one's),
        then its journal entry (conditional on the entry as read, tried again if another
        writer changed it). None when the record is not QUARANTINED."""
        found = self._quarantined_of([(key, day)])
        if not found:
            return None
        was = found[0]
        expression, values = self._change(verb, was, now)
        if not self._own_update(key, day, expression, SETTLE_IF, **values):
            return None
        if journal is not None:
            name = journal.name(key, day)
            for _ in range(JOURNAL_ATTEMPTS):
                before = self.get_meta(name)
                if self.replace_meta(name, before, journal.add(before, was)):
                    break
            else:
                raise RuntimeError(f"{name}: not written, changed {JOURNAL_ATTEMPTS} times over")
        return was

    # --- watermarks ----------------------------------------------------------------------

    def present_after(self, key: str, after: date | None) -> list[PresentDate]:
        """Stored dates of one key later than ``after``: one Query, projected as present()."""
        if after is None:
            return self.present(key)
        return self._present(Key("info_type").eq(key) & Key("date").gt(date_key(after)))

    def watermarks(self) -> dict[str, Watermark]:
        """Every key's watermark: one Query of the ``WATERMARK`` partition."""
        out: dict[str, Watermark] = {}
        for page in self._pages(**items.key_condition(Key("info_type").eq(WATERMARKS))):
            for i in page:
                key = i["date"]["S"]
                through = i.get("through", {}).get("S")
                audited = i.get("audited_at", {}).get("S")
                out[key] = Watermark(
                    key,
                    None if through is None else date.fromisoformat(through),
                    int(i["version"]["N"]),
                    None if audited is None else datetime.fromisoformat(audited),
                    i.get("calendar", {}).get("S"),
                )
        return out

    def set_watermark(
        self,
        key: str,
        through: date | None,
        expected_version: int,
        audited_at: datetime | None,
        calendar: str | None = None,
    ) -> bool:
        """Compare-and-set on the version; the version grows by one."""
        sets = ["#v = :new"]
        removes: list[str] = []
        values: dict[str, Any] = {":new": items.encode(expected_version + 1)}
        for attr, value in (
            ("through", None if through is None else through.isoformat()),
            ("audited_at", None if audited_at is None else iso_utc(audited_at)),
            ("calendar", calendar),
        ):
            if value is None:
                removes.append(attr)
            else:
                sets.append(f"{attr} = :{attr}")
                values[f":{attr}"] = {"S": value}
        if expected_version == 0:
            condition = "attribute_not_exists(#v)"
        else:
            condition = "#v = :expected"
            values[":expected"] = items.encode(expected_version)
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self.client.update_item(
                TableName=self.table,
                Key=items.primary_key(WATERMARKS, key),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def lower_watermark(self, key: str, day: date) -> None:
        """Move the watermark below ``day``, bumping its version by one (creating it if absent).

        One conditional write, whichever holds: the version alone when the watermark is not
        above ``day - 1`` (none, or lower already), or the version and the watermark together
        when it is. Each checks what it relies on in the same write, so a scan that read the
        watermark before is refused either way; when a scan moved it in between (the first
        condition failed, then the second), the pair is tried again.
        """
        key_item = items.primary_key(WATERMARKS, key)
        names = {"#v": "version"}
        below = {"S": (day - timedelta(days=1)).isoformat()}
        one = items.encode(1)
        writes = (
            ("ADD #v :one", "attribute_not_exists(through) OR through <= :below"),
            ("SET through = :below ADD #v :one", "through > :below"),
        )
        while True:
            for expression, condition in writes:
                try:
                    self.client.update_item(
                        TableName=self.table,
                        Key=key_item,
                        UpdateExpression=expression,
                        ConditionExpression=condition,
                        ExpressionAttributeNames=names,
                        ExpressionAttributeValues={":below": below, ":one": one},
                    )
                    return
                except ClientError as exc:
                    if not _condition_failed(exc):
                        raise

    def put_run(self, run: RunLog) -> None:
        """Keep the run under ``RUN#<stage>`` (until DynamoDB's TTL deletes it, ``run_history_kept``
        after it finished), its sort key its start then its id (:func:`run_sort_key`: runs that
        start at the same instant are each an item), and, if it is the newest, as the stage's
        latest (never expires)."""
        started = iso_utc(run.started_at)
        finished = iso_utc(run.finished_at)
        body = items.to_item(
            {
                "started_at": started,
                "finished_at": finished,
                "counts": {k: int(v) for k, v in run.counts.items()},
                "stage": run.stage,
                "run_id": run.run_id or None,  # "" (an entry read from before ids): none
            }
        )
        expires = int((run.finished_at + self._run_history_kept).timestamp())
        history = {
            **items.primary_key(run_key(run.stage), run_sort_key(run)),
            **body,
            TTL_ATTRIBUTE: {"N": str(expires)},
        }
        self.client.put_item(TableName=self.table, Item=history)
        # Overlapping runs finish in any order: only a newer start replaces the latest (of two
        # starting together, the later to finish, or the entry itself rewritten)
        same = "finished_at <= :f" + (" OR run_id = :i" if run.run_id else "")
        values = {":s": started, ":f": finished} | ({":i": run.run_id} if run.run_id else {})
        try:
            self.client.put_item(
                TableName=self.table,
                Item={**items.primary_key(LATEST_RUNS, run.stage), **body},
                ConditionExpression="attribute_not_exists(started_at) OR started_at < :s OR "
                f"(started_at = :s AND ({same}))",
                ExpressionAttributeValues={k: items.encode(v) for k, v in values.items()},
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def delete_not_ok(self, key: str, day: date) -> bool:
        """Delete a PENDING or QUARANTINED record (conditional: an OK one is never touched)."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=items.primary_key(key, day),
                ConditionExpression="#s IN (:p, :q)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":p": {"S": Status.PENDING.value},
                    ":q": {"S": Status.QUARANTINED.value},
                },
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def put_meta(self, name: str, value: str) -> None:
        """Remember one named setting under the ``META`` partition."""
        self.client.put_item(
            TableName=self.table,
            Item={**items.primary_key(META, name), "value": {"S": value}},
        )

    def replace_meta(
        self, name: str, expected: str | None, value: str, ranked: datetime | None = None
    ) -> bool:
        """A conditional PutItem: written only while the setting holds ``expected`` (None:
        no such item). With ``ranked``, the item is in the status index too (``gsi1pk``
        ``META#<family>``, ``updated_at`` the rank): the index keeps it there in the same
        write, and a write without one (or a delete) takes it out."""
        try:
            self.client.put_item(**self._meta_put(name, expected, value, ranked))
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def _meta_put(
        self, name: str, expected: str | None, value: str, ranked: datetime | None = None
    ) -> dict[str, Any]:
        """:meth:`replace_meta`'s conditional PutItem arguments (also a transaction's Put)."""
        if expected is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(info_type)"}
        else:
            condition = {
                "ConditionExpression": "#v = :e",
                "ExpressionAttributeNames": {"#v": "value"},
                "ExpressionAttributeValues": {":e": {"S": expected}},
            }
        item: Item = {**items.primary_key(META, name), "value": {"S": value}}
        if ranked is not None:
            item[GSI_PK] = {"S": _meta_rank_pk(port.meta_family(name))}
            item["updated_at"] = {"S": iso_utc(ranked)}
        return {"TableName": self.table, "Item": item, **condition}

    def get_meta(self, name: str) -> str | None:
        """A remembered setting, or None (a strongly consistent read)."""
        item = self.client.get_item(
            TableName=self.table, Key=items.primary_key(META, name), ConsistentRead=True
        ).get("Item")
        return None if item is None else str(item["value"]["S"])

    def meta_entries(self, prefix: str) -> list[tuple[str, str]]:
        """The settings named ``prefix``...: one Query of the ``META`` partition (strongly
        consistent, as :meth:`get_meta`), every page."""
        if not prefix:
            raise ValueError("a meta prefix must not be empty")
        condition = Key("info_type").eq(META) & Key("date").begins_with(prefix)
        return [
            (str(i["date"]["S"]), str(i["value"]["S"]))
            for page in self._pages(ConsistentRead=True, **items.key_condition(condition))
            for i in page
        ]

    def meta_names(self, prefix: str) -> list[str]:
        """The names of the settings named ``prefix``...: one Query of the ``META`` partition
        projecting the sort key (strongly consistent, every page). It reads as much capacity
        as :meth:`count_meta` (a Query is charged for the items it reads, whatever it
        returns), and returns only the names."""
        if not prefix:
            raise ValueError("a meta prefix must not be empty")
        condition = items.key_condition(Key("info_type").eq(META) & Key("date").begins_with(prefix))
        condition["ExpressionAttributeNames"]["#name"] = "date"
        return [
            str(i["date"]["S"])
            for page in self._pages(ConsistentRead=True, ProjectionExpression="#name", **condition)
            for i in page
        ]

    def count_meta(self, prefix: str) -> int:
        """A COUNT Query of the ``META`` partition's ``prefix`` range (paginated: a Query
        counts at most 1 MB of items a call): no item is returned or decoded."""
        if not prefix:
            raise ValueError("a meta prefix must not be empty")
        condition = Key("info_type").eq(META) & Key("date").begins_with(prefix)
        return self._count(
            TableName=self.table, ConsistentRead=True, **items.key_condition(condition)
        )

    def latest_meta(self, family: str, limit: int) -> list[tuple[str, str]]:
        """The family's newest ``limit`` entries of the status index (``gsi1pk``
        ``META#<family>``, read backwards with ``Limit``): their names; then each value, a
        consistent GetItem (the index holds no value). A name whose item is gone meanwhile
        is skipped."""
        port.ranked_family(family)
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": STATUS_INDEX,
            "ScanIndexForward": False,
            **items.key_condition(Key(GSI_PK).eq(_meta_rank_pk(family))),
        }
        names = [str(i["date"]["S"]) for i in self._first_items(limit, **kwargs)]
        values = _in_threads(self.get_meta, names, self._add_threads)
        return [
            (name, value) for name, value in zip(names, values, strict=True) if value is not None
        ]

    def delete_meta(self, name: str, expected_start: str, *, whole: bool = False) -> bool:
        """A conditional DeleteItem: only while the value begins with ``expected_start``
        (``whole``: is it)."""
        if not expected_start and not whole:
            raise ValueError("delete_meta needs the start of the value it deletes")
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=items.primary_key(META, name),
                ConditionExpression="#v = :e" if whole else "begins_with(#v, :e)",
                ExpressionAttributeNames={"#v": "value"},
                ExpressionAttributeValues={":e": {"S": expected_start}},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    # --- reads ---------------------------------------------------------------------------

    def present(self, key: str) -> list[PresentDate]:
        """Every stored date of one key with its status: one Query reading four attributes.

        ``revisions`` is projected to say whether a record was revised; it exists on the few
        revised or adjusted records only (an adjustment alone is not a revision).
        """
        return self._present(Key("info_type").eq(key))

    def _present(self, key_condition: ConditionBase) -> list[PresentDate]:
        """The dates, statuses and revised flags one keys-only Query reads."""
        out: list[PresentDate] = []
        fromiso = date.fromisoformat
        status = items.STATUS_BY_NAME
        revised = items.revised_raw
        condition = items.key_condition(key_condition)
        names = {"#k": "info_type", "#d": "date", "#s": "status", "#r": "revisions"}
        condition["ExpressionAttributeNames"].update(names)
        for page in self._pages(ProjectionExpression="#k, #d, #s, #r", **condition):
            # Read as raw text on purpose: the gap scan's hot path, two string attributes.
            out.extend(
                PresentDate(fromiso(i["date"]["S"]), status[i["status"]["S"]], revised(i))
                for i in page
            )
        return out

    def pending_marks(
        self, slots: Sequence[tuple[str, date]]
    ) -> dict[tuple[str, date], port.PendingMarks]:
        """One GetItem a slot (its key, date, status, first-failure instant and no-value mark
        only), ``add_threads`` in flight. Not BatchGetItem: the functions that build the
        health view (dashboard_api, outlook) and their permissions boundary allow GetItem and
        Query only, and a GetItem of an item costs the read units its share of a
        BatchGetItem would."""
        wanted = list(dict.fromkeys((key, date_key(day)) for key, day in slots))
        names = {
            "#k": "info_type",
            "#d": "date",
            "#s": "status",
            "#p": port.PENDING_SINCE,
            "#a": "attrs",
            "#n": NO_VALUE_SEEN_ATTR,
        }
        pending = Status.PENDING.value

        def one(slot: tuple[str, str]) -> Item:
            return dict(
                self.client.get_item(
                    TableName=self.table,
                    Key=items.primary_key(*slot),
                    ProjectionExpression="#k, #d, #s, #p, #a.#n",
                    ExpressionAttributeNames=names,
                ).get("Item", {})
            )

        def marks(item: Item) -> port.PendingMarks:
            since = item.get(port.PENDING_SINCE)
            seen = item.get("attrs", {}).get("M", {}).get(NO_VALUE_SEEN_ATTR)
            return port.PendingMarks(
                datetime.fromisoformat(since["S"]) if since else None,
                no_value_seen_at({NO_VALUE_SEEN_ATTR: seen["S"]}) if seen else None,
            )

        return {
            (i["info_type"]["S"], date.fromisoformat(i["date"]["S"])): marks(i)
            for i in _in_threads(one, wanted, self._add_threads)
            if i and i["status"]["S"] == pending
        }

    def stored_keys(self, keys: Sequence[str]) -> set[str]:
        """One keys-only Query of at most one item per key (``Limit=1``: the least a Query
        reads), ``add_threads`` in flight: DynamoDB cannot list a table's partition keys
        without a Scan of every item."""

        def holds(key: str) -> bool:
            condition = items.key_condition(Key("info_type").eq(key))
            condition["ExpressionAttributeNames"]["#k"] = "info_type"
            got = self.client.query(
                TableName=self.table, Limit=1, ProjectionExpression="#k", **condition
            )
            return bool(got.get("Items"))

        asked = sorted(set(keys))
        return {
            k
            for k, held in zip(asked, _in_threads(holds, asked, self._add_threads), strict=True)
            if held
        }

    def query(
        self,
        key: str,
        start: date | None = None,
        end: date | None = None,
        fields: Sequence[str] | None = None,
        *,
        consistent: bool = False,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Record]:
        """Records of one key in ``[start, end]`` in date order (``newest_first``: reversed,
        ScanIndexForward false), at most ``limit`` (the Query's Limit: no page past it is
        read); key, date, status always read."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        if start is not None and end is not None and start > end:
            return []  # DynamoDB rejects a BETWEEN whose bounds are reversed
        condition = Key("info_type").eq(key)
        when = Key("date")
        if start is not None and end is not None:
            condition &= when.between(date_key(start), date_key(end))
        elif start is not None:
            condition &= when.gte(date_key(start))
        elif end is not None:
            condition &= when.lte(date_key(end))
        kwargs = items.key_condition(condition)
        names: dict[str, str] = kwargs["ExpressionAttributeNames"]
        if fields is not None:
            unknown = set(fields) - set(items.FIELD_ATTRS)
            if unknown:
                raise ValueError(f"unknown record fields {sorted(unknown)}")
            wanted = [f for f in items.FIELD_ATTRS if f in _ALWAYS_READ or f in fields]
            names.update({f"#{f}": items.FIELD_ATTRS[f] for f in wanted})
            kwargs["ProjectionExpression"] = ", ".join(f"#{f}" for f in wanted)
        if consistent:
            kwargs["ConsistentRead"] = True
        if newest_first:
            kwargs["ScanIndexForward"] = False
        if limit is None:
            return [items.decode(i) for page in self._pages(**kwargs) for i in page]
        # No filter expression here, so a page of Limit items holds that many records.
        return [items.decode(i) for i in self._first_items(limit, TableName=self.table, **kwargs)]

    def _index(self, status: Status, bound: str | None, above: str | None = None) -> list[Record]:
        """Every shard of one status in the pending index, queried in parallel: below
        ``bound`` (all if None), and with ``above`` also above it (a second Query a shard,
        so the range between them is never read)."""

        def one_shard(shard: int) -> list[Record]:
            found: list[Record] = []
            for condition in self._shard_ranges(status, shard, bound, above):
                pages = self._pages(IndexName=PENDING_INDEX, **items.key_condition(condition))
                found += [items.decode(i) for page in pages for i in page]
            return found

        with ThreadPoolExecutor(max_workers=min(self.shards, 16)) as pool:
            found = [r for part in pool.map(one_shard, range(self.shards)) for r in part]
        return _settled(found, status)

    @staticmethod
    def _shard_ranges(
        status: Status, shard: int, bound: str | None, above: str | None
    ) -> list[ConditionBase]:
        """The key conditions of one shard's Queries: below ``bound`` (all if None), and with
        ``above`` also above it."""
        ranges: list[ConditionBase | None] = [None if bound is None else Key(GSI_SK).lt(bound)]
        if above is not None:
            ranges.append(Key(GSI_SK).gt(above))
        out = []
        for sort_range in ranges:
            condition = Key(GSI_PK).eq(items.gsi_pk(status, shard))
            out.append(condition if sort_range is None else condition & sort_range)
        return out

    def due_pending(self, now: datetime, set_after: datetime | None = None) -> list[Record]:
        """PENDING records due at ``now`` (none set means due), and with ``set_after`` those
        whose next attempt is later than it (set by a clock ahead), from every shard of the
        index: two sort-key ranges of it, never a Scan."""
        above = items.due_bound(max(set_after, now)) if set_after is not None else None
        return self._index(Status.PENDING, items.due_bound(now), above)

    def due_pending_pages(
        self, now: datetime, set_after: datetime | None = None, page_size: int = 1000
    ) -> Iterator[list[Record]]:
        """:meth:`due_pending` a page at a time, oldest next attempt first over every shard
        (a next attempt set by a clock ahead, the second sort-key range, before every other):
        the shards' Queries merged on the index's sort key, each asking for about its share of
        a page (``Limit``) and sent again only when the merge has used what it gave (it
        resumes from its ``LastEvaluatedKey``), so a page reads little more than itself and
        the next page is read only when the caller asks for it. A page can hold fewer than
        ``page_size``: the index's copy of a record that just left PENDING is dropped from it."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        above = items.due_bound(max(set_after, now)) if set_after is not None else None
        share = -(-page_size // self.shards)
        by_shard = [
            self._shard_ranges(Status.PENDING, shard, items.due_bound(now), above)
            for shard in range(self.shards)
        ]
        page: list[Record] = []
        for sort_range in reversed(range(len(by_shard[0]))):  # the range above the bound first
            shards = [self._index_items(ranges[sort_range], share) for ranges in by_shard]
            for item in heapq.merge(*shards, key=lambda i: str(i[GSI_SK]["S"])):
                page.append(items.decode(item))
                if len(page) == page_size:
                    yield _settled(page, Status.PENDING)
                    page = []
        if page:
            yield _settled(page, Status.PENDING)

    def _index_items(self, condition: ConditionBase, limit: int) -> Iterator[dict[str, Any]]:
        """The pending index's raw items under one key condition in sort-key order, read
        ``limit`` at a time, each Query sent only when the items of the one before are used
        (boto3's paginator is lazy: it sends the next call when its next page is asked for)."""
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            IndexName=PENDING_INDEX,
            PaginationConfig={"PageSize": limit},
            **items.key_condition(condition),
        )
        for page in pages:
            yield from page.get("Items", [])

    def count_status(self, status: Status) -> int:
        """A COUNT Query of each shard of the status index in parallel (paginated: a Query
        counts at most 1 MB of index entries a call): no item is returned or decoded, and
        the slim entries cost a fraction of the whole items' read units."""
        port.indexed_only(status)
        return sum(self._each_shard(lambda shard: self._count_shard(status, shard)))

    def _each_shard(self, work: Callable[[int], _R]) -> list[_R]:
        """``work`` on every shard of the indexes, in parallel; results by shard."""
        with ThreadPoolExecutor(max_workers=min(self.shards, 16)) as pool:
            return list(pool.map(work, range(self.shards)))

    def _status_query(self, status: Status, shard: int) -> dict[str, Any]:
        """Query arguments for one shard of one status in the status index."""
        return {
            "TableName": self.table,
            "IndexName": STATUS_INDEX,
            **items.key_condition(Key(GSI_PK).eq(items.gsi_pk(status, shard))),
        }

    def _count_shard(self, status: Status, shard: int) -> int:
        return self._count(**self._status_query(status, shard))

    def _count(self, **query: Any) -> int:
        """The items one Query matches, counted page by page (a Query counts at most 1 MB of
        items a call), none returned."""
        pages = self.client.get_paginator("query").paginate(
            Select="COUNT", PaginationConfig=self._page, **query
        )
        return sum(int(page.get("Count", 0)) for page in pages)

    def status_stamp(self, status: Status) -> port.StatusStamp:
        """Per shard of the status index, in parallel: a COUNT Query and a one-entry Query
        of its newest stamp (the index's sort key, read backwards)."""
        port.indexed_only(status)

        def one_shard(shard: int) -> tuple[int, str | None]:
            got = self.client.query(
                Limit=1,
                ScanIndexForward=False,
                **self._status_query(status, shard),
            ).get("Items", [])
            return self._count_shard(status, shard), got[0]["updated_at"]["S"] if got else None

        found = self._each_shard(one_shard)
        stamps = [stamp for _, stamp in found if stamp is not None]
        latest = max(stamps, default=None)  # fixed-width UTC ISO text: sorts as the instants
        return port.StatusStamp(
            sum(n for n, _ in found), None if latest is None else datetime.fromisoformat(latest)
        )

    def latest_status(self, status: Status, limit: int) -> list[Record]:
        """The newest ``limit`` entries of each shard of the status index (Queries read
        backwards, with ``Limit``), in parallel; the newest ``limit`` of them all, sorted as
        raw text and only those decoded."""
        port.indexed_only(status)
        if limit < 1:
            raise ValueError("limit must be at least 1")

        def one_shard(shard: int) -> list[Item]:
            return self._first_items(
                limit, ScanIndexForward=False, **self._status_query(status, shard)
            )

        wanted = status.value  # the index is eventually consistent: its copy's status
        found = [
            i for part in self._each_shard(one_shard) for i in part if i["status"]["S"] == wanted
        ]
        found.sort(key=lambda i: (i["info_type"]["S"], i["date"]["S"]))
        found.sort(key=lambda i: str(i["updated_at"]["S"]), reverse=True)  # stable: ties by key
        return [items.decode(i) for i in found[:limit]]

    def status_summaries(self, status: Status) -> list[port.StatusSummary]:
        """Every entry of the status in the status index (each shard paged in parallel),
        read as raw text: key, date, status, reason, retry count and stamp, never the
        item's value, attributes or history."""
        port.indexed_only(status)
        wanted = ("info_type", "date", "status", "reason", "retry_count", "updated_at")
        projection = ", ".join(f"#p{i}" for i in range(len(wanted)))

        def one_shard(shard: int) -> list[Item]:
            kwargs = self._status_query(status, shard)
            kwargs["ExpressionAttributeNames"].update({f"#p{i}": a for i, a in enumerate(wanted)})
            paginator = self.client.get_paginator("query")
            pages = paginator.paginate(
                ProjectionExpression=projection, PaginationConfig=self._page, **kwargs
            )
            return [i for page in pages for i in page.get("Items", [])]

        by_key: dict[str, list[Item]] = {}
        for part in self._each_shard(one_shard):
            for i in part:
                if i["status"]["S"] == status.value:  # the index is eventually consistent
                    by_key.setdefault(i["info_type"]["S"], []).append(i)
        return [_summary(key, entries) for key, entries in sorted(by_key.items())]

    def quarantined(self) -> list[Record]:
        """Every QUARANTINED record, by key and date."""
        return self._index(Status.QUARANTINED, None)

    def pending(self) -> list[Record]:
        """Every PENDING record, due or not, by key and date."""
        return self._index(Status.PENDING, None)

    def stage_runs(self, stage: str, through: datetime, limit: int) -> list[RunLog]:
        """The stage's ``RUN#<stage>`` history items started by ``through``, newest first
        (its sort key, the start, read backwards, with ``Limit``): one Query."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        through_key = iso_utc(through) + RUNS_THROUGH_MARK  # each id at that start too
        condition = Key("info_type").eq(run_key(stage)) & Key("date").lte(through_key)
        found = self._first_items(
            limit,
            TableName=self.table,
            ScanIndexForward=False,
            **items.key_condition(condition),
        )
        return [_run_log(items.to_plain(i)) for i in found]

    def last_runs(self) -> list[RunLog]:
        """The latest run of each stage, by stage name (one Query)."""
        runs = [
            _run_log(i)
            for page in self._pages(**items.key_condition(Key("info_type").eq(LATEST_RUNS)))
            for i in map(items.to_plain, page)
        ]
        return sorted(runs, key=lambda r: r.stage)


def _run_log(item: dict[str, Any]) -> RunLog:
    """A run-log item (``RUN#<stage>`` or ``RUN#LATEST``), decoded to plain values."""
    return RunLog(
        stage=str(item["stage"]),
        started_at=datetime.fromisoformat(item["started_at"]),
        finished_at=datetime.fromisoformat(item["finished_at"]),
        counts={k: int(v) for k, v in item.get("counts", {}).items()},
        run_id=str(item.get("run_id", "")),  # none: an entry written before entries had one
    )


def _summary(key: str, entries: list[Item]) -> port.StatusSummary:
    """One key's status-index entries (raw) summed up; reasons in order of earliest date."""
    entries.sort(key=lambda i: str(i["date"]["S"]))
    reasons: dict[str | None, int] = {}
    for i in entries:
        reason = i["reason"]["S"] if "reason" in i else None
        reasons[reason] = reasons.get(reason, 0) + 1
    stamps = [str(i["updated_at"]["S"]) for i in entries if "updated_at" in i]
    latest, earliest = max(stamps, default=None), min(stamps, default=None)
    return port.StatusSummary(
        key=key,
        count=len(entries),
        first=date.fromisoformat(entries[0]["date"]["S"]),
        last=date.fromisoformat(entries[-1]["date"]["S"]),
        latest=None if latest is None else datetime.fromisoformat(latest),
        earliest=None if earliest is None else datetime.fromisoformat(earliest),
        max_retry_count=max(int(i.get("retry_count", {"N": "0"})["N"]) for i in entries),
        reasons=reasons,
    )


def _settled(found: list[Record], status: Status) -> list[Record]:
    """The index's records still of ``status``, by key and date: the index is eventually
    consistent, so the status its copy carries is re-checked."""
    return sorted((r for r in found if r.status is status), key=lambda r: (r.key, r.date))


def create_table(
    client: Any, table_name: str, *, wait: bool = True, delay_s: float = 1, max_attempts: int = 60
) -> bool:
    """Create the table and its sparse pending index; False if it already exists."""
    attributes = [
        ("info_type", "S"),
        ("date", "S"),
        (GSI_PK, "S"),
        (GSI_SK, "S"),
        ("updated_at", "S"),
    ]
    try:
        client.create_table(
            TableName=table_name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attributes],
            KeySchema=[
                {"AttributeName": "info_type", "KeyType": "HASH"},
                {"AttributeName": "date", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": PENDING_INDEX,
                    "KeySchema": [
                        {"AttributeName": GSI_PK, "KeyType": "HASH"},
                        {"AttributeName": GSI_SK, "KeyType": "RANGE"},
                    ],
                    # Whole items: recheck needs retry_count, next_attempt_at and reason, and
                    # the index only ever holds the few records that are not OK.
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": STATUS_INDEX,
                    "KeySchema": [
                        {"AttributeName": GSI_PK, "KeyType": "HASH"},
                        {"AttributeName": "updated_at", "KeyType": "RANGE"},
                    ],
                    # Slim entries: the newest ones, the newest stamp, counts and summaries
                    # read these, not the items whole.
                    "Projection": {
                        "ProjectionType": "INCLUDE",
                        "NonKeyAttributes": list(STATUS_INDEX_ATTRS),
                    },
                },
            ],
            SSESpecification={"Enabled": True},
        )
        created = True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
        created = False
    if wait:
        # boto3's waiter polls every 20 s by default; local servers are ready in milliseconds.
        client.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": delay_s, "MaxAttempts": max_attempts}
        )
        enable_ttl(client, table_name)
    return created


TTL_ATTRIBUTE = "expires_at"
"""Epoch seconds after which DynamoDB deletes an item: set on intraday points, the run history
(not ``RUN#LATEST``) and the alert state's delivery marks."""


def enable_ttl(client: Any, table_name: str) -> bool:
    """Turn on the table's TTL on ``expires_at`` (as the template does); False where the
    server has no TTL (dynalite), which then keeps expired intraday items until purged."""
    try:
        current = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            return True
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "UnknownOperationException",
            "ValidationException",
        ):
            raise
        return False
    return True
