"""What the DynamoDB store promises beyond the shared contract: batching, sharding, sparsity."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import pytest
from botocore.exceptions import ClientError
from devtools.aws.servers import LocalServer, make_client
from devtools.chaos.aws_faults import LostAnswers
from tests.support.aws_backends import unique_name

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.dynamodb_store import (
    RUN_HISTORY_KEPT,
    DynamoDbStore,
    UnprocessedItemsError,
    create_table,
    ok_put_item,
)
from fuelpipe.domain.models import Record, Revision, Status
from fuelpipe.ports.store import RunLog

pytestmark = pytest.mark.aws

KEY = "CURRENCY#USD"
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
D0 = date(2025, 1, 1)


def days(n: int) -> list[date]:
    return [D0 + timedelta(days=i) for i in range(n)]


def calls_of(client: Any, operation: str) -> list[dict[str, Any]]:
    """Record the parameters of every call of one operation on this client."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    client.meta.events.register(f"provide-client-params.dynamodb.{operation}", record)
    return seen


def index_items(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item in the pending index (a Scan is fine in a test, never in the store)."""
    return client.scan(TableName=table, IndexName="pending-index")["Items"]


def test_batches_hold_at_most_25_distinct_keys(client: Any, table: str) -> None:
    store = DynamoDbStore(client, table)
    batches = calls_of(client, "BatchWriteItem")
    records = [Record(KEY, d, Decimal("1.5"), Status.OK) for d in days(60)]
    records += [r.with_(value=Decimal("2.5")) for r in records[20:30]]  # repeats across batches
    assert store.put_records(records) == 60
    sizes = [len(b["RequestItems"][table]) for b in batches]
    assert sorted(sizes, reverse=True) == [25, 25, 10]  # sent side by side: in any order
    for batch in batches:
        keys = [r["PutRequest"]["Item"]["date"]["S"] for r in batch["RequestItems"][table]]
        assert len(keys) == len(set(keys))
    assert {r.date: r.value for r in store.query(KEY)}[D0 + timedelta(days=25)] == Decimal("2.5")


def test_values_are_stored_as_exact_numbers(client: Any, table: str) -> None:
    store = DynamoDbStore(client, table)
    store.put_records([Record(KEY, D0, Decimal("5.4321"), Status.OK, attrs={"vol": 7})])
    item = client.get_item(
        TableName=table, Key={"info_type": {"S": KEY}, "date": {"S": "2025-01-01"}}
    )
    assert item["Item"]["value"] == {"N": "5.4321"}
    assert item["Item"]["attrs"] == {"M": {"vol": {"N": "7"}}}
    assert "gsi1pk" not in item["Item"]


def test_persistent_unprocessed_items_raise_after_bounded_backoff(client: Any, table: str) -> None:
    store = DynamoDbStore(
        client, table, max_unprocessed_attempts=4, backoff_base_s=0.001, backoff_cap_s=0.01
    )

    held: list[Any] = []
    calls: list[int] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        held[:] = params["RequestItems"][table]
        calls.append(len(held))

    def report(parsed: dict[str, Any], **_: Any) -> None:
        parsed["UnprocessedItems"] = {table: held}  # the one item "failed" every time

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", keep)
    client.meta.events.register("after-call.dynamodb.BatchWriteItem", report)
    with pytest.raises(UnprocessedItemsError, match=r"1 item.* after 4 BatchWriteItem attempts"):
        store.put_records([Record(KEY, D0, Decimal("1"), Status.OK)])
    assert calls == [1, 1, 1, 1]  # bounded: four attempts, each re-sending only what was left


def test_a_failed_batch_among_many_raises_after_every_other_batch_is_written(
    client: Any, table: str
) -> None:
    """Batches go out side by side (write_threads); one that keeps coming back unprocessed
    fails the call, but only once the others are done: nothing lands after the call ends."""
    store = DynamoDbStore(
        client, table, max_unprocessed_attempts=3, backoff_base_s=0.001, backoff_cap_s=0.01
    )
    poisoned = D0 + timedelta(days=60)  # in the third of eight batches
    sent: dict[int, list[Any]] = {}

    def keep(params: dict[str, Any], **_: Any) -> None:
        sent[threading.get_ident()] = params["RequestItems"][table]

    def report(parsed: dict[str, Any], **_: Any) -> None:
        mine = sent[threading.get_ident()]
        dates = {r["PutRequest"]["Item"]["date"]["S"] for r in mine}
        if poisoned.isoformat() in dates:
            parsed["UnprocessedItems"] = {table: mine}  # this batch "failed" every time

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", keep)
    client.meta.events.register("after-call.dynamodb.BatchWriteItem", report)
    records = [Record(KEY, d, Decimal("1"), Status.OK) for d in days(200)]
    with pytest.raises(UnprocessedItemsError, match="after 3 BatchWriteItem attempts"):
        store.put_records(records)
    client.meta.events.unregister("after-call.dynamodb.BatchWriteItem", report)
    stored = {r.date for r in store.query(KEY)}
    failed_batch = {r.date for r in records[50:75]}
    assert poisoned in failed_batch
    # (the "unprocessed" batch was written by the server all the same: only the answer lied)
    assert {r.date for r in records} - failed_batch <= stored
    assert len(stored) == 200


def test_the_pending_index_is_sparse_and_sharded(client: Any, table: str) -> None:
    store = DynamoDbStore(client, table, pending_shards=4)
    store.put_records([Record(KEY, d, Decimal("1"), Status.OK) for d in days(30)])
    waiting = days(70)[30:]
    for d in waiting:
        assert store.put_pending(Record(KEY, d, None, Status.PENDING, 0, NOW, "no value"))
    items = index_items(client, table)
    assert len(items) == 40  # OK items never enter the index
    shards = Counter(i["gsi1pk"]["S"] for i in items)
    assert set(shards) <= {f"PENDING#{n}" for n in range(4)}
    assert len(shards) > 1  # a failing source does not write one hot index partition
    assert all(i["gsi1sk"]["S"].startswith(NOW.isoformat(timespec="microseconds")) for i in items)

    # A value arriving for a PENDING date takes it out of the index.
    store.put_records([Record(KEY, d, Decimal("2"), Status.OK) for d in waiting[:10]])
    assert store.quarantine(KEY, waiting[10], 0, "gave up")
    items = index_items(client, table)
    assert len(items) == 30
    assert sum(i["gsi1pk"]["S"].startswith("QUARANTINED#") for i in items) == 1
    assert len(store.pending()) == 29


def test_due_pending_queries_every_shard_once(client: Any, table: str) -> None:
    store = DynamoDbStore(client, table, pending_shards=5)
    for i, d in enumerate(days(12)):
        assert store.put_pending(Record(KEY, d, None, Status.PENDING, 0, NOW + timedelta(hours=i)))
    queries = calls_of(client, "Query")
    due = store.due_pending(NOW + timedelta(hours=3))
    assert [r.date for r in due] == days(4)
    assert len(queries) == 5
    for q in queries:  # one partition of the index and a bound on its sort key, per shard
        assert " AND " in q["KeyConditionExpression"]
        assert " < " in q["KeyConditionExpression"]
        assert sorted(q["ExpressionAttributeNames"].values()) == ["gsi1pk", "gsi1sk"]
    assert {v["S"] for q in queries for v in q["ExpressionAttributeValues"].values()} >= {
        f"PENDING#{n}" for n in range(5)
    }
    assert all(q["IndexName"] == "pending-index" for q in queries)


def test_present_reads_four_attributes_in_one_paginated_query(client: Any, table: str) -> None:
    store = DynamoDbStore(client, table)
    store.put_records([Record(KEY, d, Decimal("1"), Status.OK, attrs={"x": "y" * 200})
                       for d in days(40)])  # fmt: skip
    queries = calls_of(client, "Query")
    present = store.present(KEY)
    assert [p.date for p in present] == days(40)
    (query,) = queries
    # key, date, status, and the revision history that exists only on revised records
    assert query["ProjectionExpression"] == "#k, #d, #s, #r"
    assert "IndexName" not in query


def test_stored_keys_reads_at_most_one_item_of_each_distinct_key(client: Any, table: str) -> None:
    """What the health view's catalog-wide ask costs: one keys-only Query of at most one item
    a distinct key (0.5 read unit each, eventually consistent), however many records a key
    holds; no Scan, no other read. No per-key summary item says exactly whether a key holds
    records (a watermark exists without any, and records without one), so the cost grows
    with the keys asked: 600 Queries for 600 keys (docs/AWS.md)."""
    store = DynamoDbStore(client, table)
    held = [f"K#{i}" for i in range(0, 40, 4)]
    store.put_records([Record(k, d, Decimal("1"), Status.OK) for k in held for d in days(30)])
    asked = [f"K#{i}" for i in range(40)] + held
    queries = calls_of(client, "Query")
    scans, gets = calls_of(client, "Scan"), calls_of(client, "GetItem")
    read: list[int] = []
    client.meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: read.append(parsed["ScannedCount"])
    )

    assert store.stored_keys(asked) == set(held)

    assert sorted(q["ExpressionAttributeValues"][":v0"]["S"] for q in queries) == sorted(set(asked))
    assert all(q["Limit"] == 1 and q["ProjectionExpression"] == "#k" for q in queries)
    assert "ConsistentRead" not in queries[0]
    assert sorted(read) == [0] * 30 + [1] * 10
    assert scans == gets == []


def test_every_read_follows_pagination(client: Any, table: str) -> None:
    store = DynamoDbStore(client, table, pending_shards=2, page_size=7)
    store.put_records([Record(KEY, d, Decimal("1"), Status.OK) for d in days(40)])
    for d in days(60)[40:]:
        store.put_pending(Record(KEY, d, None, Status.PENDING, 0, NOW))
    queries = calls_of(client, "Query")
    assert [p.date for p in store.present(KEY)] == days(60)
    assert len(queries) == 60 // 7 + 1
    assert [r.date for r in store.query(KEY, D0 + timedelta(days=5))] == days(60)[5:]
    assert [r.date for r in store.due_pending(NOW)] == days(60)[40:]
    assert len(store.pending()) == 20
    notes = {f"gap_sent#K#{i:02}": f"note {i}" for i in range(20)}
    for name, value in notes.items():
        store.put_meta(name, value)
    store.put_meta("gap_sentinel", "not a note")
    queries.clear()
    assert store.meta_entries("gap_sent#") == sorted(notes.items())  # the orchestrator's read
    assert len(queries) == 20 // 7 + 1


def test_add_records_writes_conditional_batches_of_at_most_25(moto_server: LocalServer) -> None:
    client = moto_server.client("dynamodb")
    name = unique_name("add")
    create_table(client, name, delay_s=0.05)
    store = DynamoDbStore(client, name, backoff_base_s=0.001, backoff_cap_s=0.01)
    transactions = calls_of(client, "TransactWriteItems")
    store.put_records([Record(KEY, d, Decimal("1"), Status.OK) for d in days(60)[::10]])
    refused = store.add_records([Record(KEY, d, Decimal("2"), Status.OK) for d in days(60)])
    assert refused == [(KEY, d) for d in days(60)[::10]]  # OK already: left as they were
    # 25, 25 and 10 first; each batch holding a refused item is sent again without it
    sizes = sorted((len(t["TransactItems"]) for t in transactions), reverse=True)
    assert sizes == [25, 25, 23, 22, 10, 9]
    assert all(
        "attribute_not_exists" in p["Put"]["ConditionExpression"]
        for t in transactions
        for p in t["TransactItems"]
    )
    got = {r.date: r.value for r in store.query(KEY)}
    assert got == {d: Decimal("1") if d in days(60)[::10] else Decimal("2") for d in days(60)}


def test_add_records_retries_a_transaction_cancelled_by_a_conflict(
    moto_server: LocalServer,
) -> None:
    client = moto_server.client("dynamodb")
    name = unique_name("conflict")
    create_table(client, name, delay_s=0.05)
    store = DynamoDbStore(client, name, backoff_base_s=0.001, backoff_cap_s=0.01)
    sent: list[int] = []

    def conflict_once(params: dict[str, Any], **_: Any) -> None:
        sent.append(len(params["TransactItems"]))
        if len(sent) == 1:  # another transaction held one of the items
            reasons = [{"Code": "None"}] * (len(params["TransactItems"]) - 1)
            response = {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": [{"Code": "TransactionConflict"}, *reasons],
            }
            raise ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]

    client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", conflict_once)
    assert store.add_records([Record(KEY, d, Decimal("3"), Status.OK) for d in days(5)]) == []
    assert sent == [5, 5]  # the same batch again
    assert [r.value for r in store.query(KEY)] == [Decimal("3")] * 5


def test_add_records_names_the_record_a_transaction_refuses_as_invalid_and_sends_it_once(
    moto_server: LocalServer,
) -> None:
    """DynamoDB cancels a transaction one of whose items it cannot take (over 400 KB, an
    invalid value) with a ``ValidationError`` reason for that item (moto answers a plain
    ValidationException instead, so its answer is given here). That is no conflict to wait out:
    it was re-sent eight times with backoff, then raised "transaction cancelled:
    ValidationError, None", naming neither the record nor what was wrong with it."""
    client = moto_server.client("dynamodb")
    name = unique_name("invalid")
    create_table(client, name, delay_s=0.05)
    store = DynamoDbStore(client, name, backoff_base_s=0.001, backoff_cap_s=0.01)
    sent: list[int] = []
    too_big = "Item size has exceeded the maximum allowed size"

    def refuse_the_second(params: dict[str, Any], **_: Any) -> None:
        sent.append(len(params["TransactItems"]))
        reasons: list[dict[str, str]] = [{"Code": "None"}] * len(params["TransactItems"])
        reasons[1] = {"Code": "ValidationError", "Message": too_big}
        response = {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": reasons,
        }
        raise ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]

    client.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems", refuse_the_second
    )
    with pytest.raises(ClientError) as refused:
        store.add_records([Record(KEY, d, Decimal("3"), Status.OK) for d in days(3)])
    assert sent == [3]  # not re-sent: it would be refused the same way
    assert f"{KEY} {days(3)[1].isoformat()}: ValidationError: {too_big}" in str(refused.value)
    assert store.query(KEY) == []


def test_run_history_items_expire_and_the_latest_run_does_not(client: Any, table: str) -> None:
    """Every run (the scraper's, one a message) wrote a RUN#<stage> item kept forever, and
    only RUN#LATEST is read: the history now carries the table's TTL attribute."""
    store = DynamoDbStore(client, table, run_history_kept=timedelta(days=7))
    runs = [RunLog("scraper", NOW + timedelta(minutes=m), NOW + timedelta(minutes=m + 1), {})
            for m in (0, 10)]  # fmt: skip
    for run in runs:
        store.put_run(run)

    history = client.query(
        TableName=table,
        KeyConditionExpression="info_type = :k",
        ExpressionAttributeValues={":k": {"S": "RUN#scraper"}},
    )["Items"]
    assert [int(i["expires_at"]["N"]) for i in history] == [
        int((r.finished_at + timedelta(days=7)).timestamp()) for r in runs
    ]
    latest = client.get_item(
        TableName=table, Key={"info_type": {"S": "RUN#LATEST"}, "date": {"S": "scraper"}}
    )["Item"]
    assert "expires_at" not in latest
    assert [r.started_at for r in store.last_runs()] == [runs[-1].started_at]
    default = DynamoDbStore(client, table)
    default.put_run(RunLog("orchestrate", NOW, NOW, {}))
    item = client.query(
        TableName=table,
        KeyConditionExpression="info_type = :k",
        ExpressionAttributeValues={":k": {"S": "RUN#orchestrate"}},
    )["Items"][0]
    assert int(item["expires_at"]["N"]) == int((NOW + RUN_HISTORY_KEPT).timestamp())
    assert timedelta(days=30) == RUN_HISTORY_KEPT


class _ResentUpdates:
    """A client whose every UpdateItem reaches DynamoDB twice, as when the first answer is lost
    and botocore's retry sends the same request again: the caller sees the second answer."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **params: Any) -> Any:
        self._client.update_item(**params)
        return self._client.update_item(**params)


def test_a_claim_applied_once_and_resent_is_still_this_claims(client: Any, table: str) -> None:
    # The resent claim fails its condition (the count moved): the recheck counted a lost race
    # and sent no re-download, spending one of the five on nothing.
    store = DynamoDbStore(_ResentUpdates(client), table)
    assert store.put_pending(Record(KEY, D0, None, Status.PENDING, reason="HTTP 503"))
    due = NOW + timedelta(hours=1)
    assert store.claim_retry(KEY, D0, 0, 1, due)
    (got,) = store.query(KEY)
    assert (got.retry_count, got.next_attempt_at) == (1, due)
    # Another claim of the same count, however alike, is not this one's.
    assert not store.claim_retry(KEY, D0, 0, 1, due)
    assert not DynamoDbStore(client, table).claim_retry(KEY, D0, 0, 1, due)


def _values_with(name: str) -> Callable[[dict[str, Any]], bool]:
    """Matches a write whose expression values name ``:name`` (which write of the store),
    or a transaction one of whose writes does."""

    def matches(body: dict[str, Any]) -> bool:
        writes = [w for item in body.get("TransactItems", []) for w in item.values()]
        return any(f":{name}" in w.get("ExpressionAttributeValues", {}) for w in [body, *writes])

    return matches


def _spent_retry(client: Any, table: str) -> tuple[LostAnswers, DynamoDbStore]:
    """Lost answers on ``client`` and a store on it holding one PENDING record whose five
    re-downloads are spent."""
    lost = LostAnswers(client, ("UpdateItem", "PutItem", "TransactWriteItems"))
    store = DynamoDbStore(client, table)
    assert store.put_pending(Record(KEY, D0, None, Status.PENDING, 5, NOW, "HTTP 503"))
    # A first release, answered: the store learns whether the server has transactions
    # (moto: a release is one; dynalite: its conditional UpdateItem), so an answer lost
    # below is one of the writes that server is sent.
    probe = "CURRENCY#EUR"  # another key: the tests read KEY's records and watermark
    assert store.put_pending(Record(probe, D0, None, Status.QUARANTINED, 5, reason="x"))
    assert store.release(probe, D0, NOW)
    return lost, store


def test_a_quarantine_applied_and_resent_after_a_lost_answer_is_this_ones(
    client: Any, table: str
) -> None:
    # The resent quarantine fails its condition (no longer PENDING): the store said False, so
    # recheck and the scraper counted a lost race, and the Quarantined metric missed it.
    lost, store = _spent_retry(client, table)
    lost.arm(_values_with("quarantined"))
    assert store.quarantine(KEY, D0, 5, "gave up")
    assert lost.lost == 1
    (got,) = store.query(KEY)
    assert (got.status, got.reason) == (Status.QUARANTINED, "gave up")


def test_another_writers_identical_quarantine_is_not_this_ones(client: Any, table: str) -> None:
    # This quarantine's first send never arrives; another writer's, the same in every value,
    # lands before botocore sends it again: the resend is refused, and it is not ours.
    other = DynamoDbStore(make_client("dynamodb", client.meta.endpoint_url), table)
    lost, store = _spent_retry(client, table)
    lost.arm(
        _values_with("quarantined"),
        applied=False,
        meanwhile=lambda: other.quarantine(KEY, D0, 5, "gave up"),
    )
    assert not store.quarantine(KEY, D0, 5, "gave up")
    assert lost.lost == 1
    assert [r.status for r in store.query(KEY)] == [Status.QUARANTINED]


def test_a_release_applied_and_resent_after_a_lost_answer_lowers_the_watermark(
    client: Any, table: str
) -> None:
    # The resent release fails its condition (PENDING already): release said False, so
    # `quarantine release` printed "not quarantined" and the watermark stayed above the date.
    lost, store = _spent_retry(client, table)
    assert store.quarantine(KEY, D0, 5, "gave up")
    assert store.set_watermark(KEY, D0 + timedelta(days=20), 0, NOW)
    lost.arm(_values_with("zero"))
    assert store.release(KEY, D0, NOW)
    assert lost.lost == 1
    (got,) = store.query(KEY)
    assert (got.status, got.retry_count) == (Status.PENDING, 0)
    through = store.watermarks()[KEY].through
    assert through is not None and through < D0


def test_a_give_back_applied_and_resent_after_a_lost_answer_is_this_ones(
    client: Any, table: str
) -> None:
    lost = LostAnswers(client)
    store = DynamoDbStore(client, table)
    assert store.put_pending(Record(KEY, D0, None, Status.PENDING, reason="HTTP 503"))
    due = NOW + timedelta(hours=1)
    assert store.claim_retry(KEY, D0, 0, 1, due)
    lost.arm(_values_with("claimed"))
    assert store.give_back_retry(KEY, D0, 1, due, 0, None)
    assert lost.lost == 1
    (got,) = store.query(KEY)
    assert (got.retry_count, got.next_attempt_at) == (0, None)


@pytest.mark.parametrize("status", [Status.QUARANTINED, Status.ABSENT])
@pytest.mark.parametrize("over_pending", [True, False])
def test_a_put_pending_move_applied_and_resent_after_a_lost_answer_is_this_ones(
    client: Any, table: str, status: Status, over_pending: bool
) -> None:
    lost = LostAnswers(client)
    store = DynamoDbStore(client, table)
    if over_pending:  # the move from PENDING (an UpdateItem) is resent
        assert store.put_pending(Record(KEY, D0, None, Status.PENDING, 2, NOW, "HTTP 503"))
        lost.arm(
            lambda body: (
                body.get("ExpressionAttributeValues", {}).get(":status") == {"S": status.value}
            )
        )
    else:  # the new record's PutItem is resent
        lost.arm(lambda body: body.get("Item", {}).get("status") == {"S": status.value})
    assert store.put_pending(Record(KEY, D0, None, status, reason="no value"))
    assert lost.lost == 1
    assert [(r.status, r.reason) for r in store.query(KEY)] == [(status, "no value")]
    # The same write again, sent once, is refused as before, with no read back.
    reads = calls_of(client, "GetItem")
    assert not store.put_pending(Record(KEY, D0, None, status, reason="no value"))
    assert reads == []


def _revision(previous: str, new: str) -> Revision:
    return Revision(Decimal(previous), Decimal(new), NOW, "gap yahoo:BZ=F 2025-01-01..2025-01-01")


@pytest.mark.parametrize("answered", [True, False])
def test_a_revision_applied_and_resent_after_a_lost_answer_is_this_ones(
    client: Any, table: str, answered: bool
) -> None:
    # The resent revision fails its condition (the value and history moved): the store said
    # AnsweredBefore (its own write is "after the answer") or False, so the scraper fetched
    # again, found the value equal and counted no revision: the data version did not move.
    lost = LostAnswers(client)
    store = DynamoDbStore(client, table)
    store.put_records([Record(KEY, D0, Decimal("5.1"), Status.OK)])
    answered_at = store.wall_now() if answered else None
    lost.arm(_values_with("rev"))
    assert store.revise(KEY, D0, _revision("5.1", "5.2"), {}, history=0, answered_at=answered_at)
    assert lost.lost == 1
    (got,) = store.revised(KEY)
    assert got.value == Decimal("5.2")
    assert [(r.previous, r.new) for r in got.revisions] == [(Decimal("5.1"), Decimal("5.2"))]


def test_another_writers_identical_revision_is_not_this_ones(client: Any, table: str) -> None:
    # This revision's first send never arrives; another writer's, the same in every value,
    # lands before botocore sends it again: the resend is refused, and it is not ours.
    other = DynamoDbStore(make_client("dynamodb", client.meta.endpoint_url), table)
    lost = LostAnswers(client)
    store = DynamoDbStore(client, table)
    store.put_records([Record(KEY, D0, Decimal("5.1"), Status.OK)])
    revision = _revision("5.1", "5.2")
    lost.arm(
        _values_with("rev"),
        applied=False,
        meanwhile=lambda: other.revise(KEY, D0, revision, {}, history=0),
    )
    assert not store.revise(KEY, D0, revision, {}, history=0)
    assert lost.lost == 1
    (got,) = store.revised(KEY)
    assert [(r.previous, r.new) for r in got.revisions] == [(Decimal("5.1"), Decimal("5.2"))]


def test_due_pending_pages_read_each_shard_a_share_at_a_time_and_only_when_used(
    client: Any, table: str
) -> None:
    store = DynamoDbStore(client, table, pending_shards=2)
    for i, d in enumerate(days(10)):
        assert store.put_pending(Record(KEY, d, None, Status.PENDING, 0, NOW + timedelta(hours=i)))
    queries = calls_of(client, "Query")
    pages = store.due_pending_pages(NOW + timedelta(days=1), page_size=2)
    assert [r.date for r in next(pages)] == days(2)
    # a Query a shard to start the merge, then one for the shard whose item the page used
    assert len(queries) == 3
    assert [r.date for page in pages for r in page] == days(10)[2:]
    assert {q["Limit"] for q in queries} == {1}  # each shard's share of a page of 2
    # each item read by its own Query, and a last one a shard finds empty where the server
    # gives a LastEvaluatedKey whenever the Limit is reached (DynamoDB and dynalite; moto not)
    assert 10 <= len(queries) <= 10 + 2
    assert all(q["IndexName"] == "pending-index" for q in queries)


def test_a_short_page_of_the_newest_records_is_followed_by_a_query_for_the_rest(
    client: Any, table: str
) -> None:
    store = DynamoDbStore(client, table)
    big = {"x": "y" * 8000}  # ~8 KB an item: a Query's 1 MB holds about 130 of them
    store.put_records([Record(KEY, d, Decimal("1"), Status.OK, attrs=big) for d in days(200)])
    queries = calls_of(client, "Query")
    counts: list[int] = []
    client.meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: counts.append(parsed["Count"])
    )
    newest = store.query(KEY, limit=180, newest_first=True)
    assert [r.date for r in newest] == days(200)[:19:-1]
    assert len(queries) > 1  # the first page came back short
    # each Query asks only for the records the ones before it left (boto3's paginator would
    # send the same Limit every time and read past them)
    assert [q["Limit"] for q in queries] == [180 - sum(counts[:i]) for i in range(len(queries))]


def test_ok_put_item_is_the_item_put_records_writes(client: Any, table: str) -> None:
    """bench/bench_aws.py's one-PutItem-a-record baseline writes the store's own items."""
    store = DynamoDbStore(client, table, clock=FixedClock(NOW), wall=FixedClock(NOW))
    record = Record(KEY, D0, Decimal("5.1234"), Status.OK, attrs={"source": "bcb"})
    store.put_records([record])
    stored = client.get_item(
        TableName=table, Key={"info_type": {"S": KEY}, "date": {"S": "2025-01-01"}}
    )
    client.put_item(TableName=table, Item=ok_put_item(record.with_(key="CURRENCY#EUR"), NOW))
    again = client.get_item(
        TableName=table, Key={"info_type": {"S": "CURRENCY#EUR"}, "date": {"S": "2025-01-01"}}
    )
    assert {**again["Item"], "info_type": {"S": KEY}} == stored["Item"]
    assert store.query("CURRENCY#EUR", D0, D0) == [
        r.with_(key="CURRENCY#EUR") for r in store.query(KEY, D0, D0)
    ]


def _requests_of(client: Any) -> Counter[str]:
    """Count every request this client sends, by operation (botocore's event hooks)."""
    sent: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        sent[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    return sent


def _quarantine(store: DynamoDbStore, key: str, dates: list[date]) -> None:
    for i, day in enumerate(dates):
        record = Record(key, day, None, Status.QUARANTINED, retry_count=5, reason=f"HTTP {i}")
        assert store.put_pending(record)


@pytest.mark.parametrize("verb", ["release", "accept"])
def test_a_bulk_settle_takes_a_few_requests_per_hundred_dates(
    moto_server: LocalServer, verb: Literal["release", "accept"]
) -> None:
    """250 quarantined dates released (or accepted) by `quarantine release --all`: consistent
    BatchGetItem reads (the records; for a release their ``released#`` entries too) and
    TransactWriteItems of 100 conditional items (a release's record and its entry
    together), the watermark moved once a page. Before, each date was a consistent read, a
    second read in ``Store.release`` (or ``accept``), the conditional write, a watermark
    write and the entry's read and write: 1,500 requests for a release, 500 for an accept."""
    from fuelpipe.stages.quarantine import earlier_releases, settle_all

    client = moto_server.client("dynamodb")
    name = unique_name("bulk")
    create_table(client, name, delay_s=0.05)
    store = DynamoDbStore(client, name)
    _quarantine(store, KEY, days(250))
    records = store.quarantined()
    sent = _requests_of(client)

    assert settle_all(store, verb, records, NOW) == 250

    pages = 3  # 100, 100 and 50 dates
    if verb == "release":
        assert sent["BatchGetItem"] == 2 * pages
        assert sent["TransactWriteItems"] == 5  # 50 dates (100 items) each
        assert sent["UpdateItem"] == pages  # the watermark, once a page
        assert len(earlier_releases(store)) == 250
    else:
        assert (sent["BatchGetItem"], sent["TransactWriteItems"], sent["UpdateItem"]) == (3, 3, 0)
    assert sent.total() <= 20  # and the data version's few
    assert store.quarantined() == []


def test_a_bulk_settle_refuses_a_date_settled_meanwhile_and_settles_the_rest(
    moto_server: LocalServer,
) -> None:
    """A record accepted by another person between the read and the transaction cancels it
    (its condition: QUARANTINED): the page's dates are then settled one at a time, read
    again, and the accepted one is left ABSENT with its own reason, never overwritten."""
    from fuelpipe.stages.quarantine import earlier_releases, settle_all

    client = moto_server.client("dynamodb")
    name = unique_name("raced")
    create_table(client, name, delay_s=0.05)
    store = DynamoDbStore(client, name)
    dates = days(4)
    _quarantine(store, KEY, dates)
    records = store.quarantined()
    other = DynamoDbStore(moto_server.client("dynamodb"), name)  # another person's client
    accepted_at = NOW - timedelta(hours=1)
    transactions: list[int] = []

    def accept_one_first(params: dict[str, Any], **_: Any) -> None:
        transactions.append(len(params["TransactItems"]))
        if len(transactions) == 1:
            assert other.accept(KEY, dates[2], accepted_at)

    client.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems", accept_one_first
    )
    assert settle_all(store, "release", records, NOW) == 3

    assert transactions == [8]  # cancelled once, then each date alone
    got = {r.date: r for r in store.query(KEY)}
    assert [d for d in dates if got[d].status is Status.PENDING] == [dates[0], dates[1], dates[3]]
    assert got[dates[2]].status is Status.ABSENT
    assert got[dates[2]].reason is not None and got[dates[2]].reason.startswith("accepted by hand")
    assert set(earlier_releases(store)) == {(KEY, d) for d in (dates[0], dates[1], dates[3])}
