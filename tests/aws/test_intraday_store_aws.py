"""What the DynamoDB intraday store promises beyond the shared contract: batches of at most 25
and points DynamoDB leaves unprocessed re-sent, never dropped (a bounded number of times)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.dynamodb_store import UnprocessedItemsError
from fuelpipe.adapters.intraday_store import DynamoIntradayStore
from fuelpipe.domain.intraday import IntradayPoint

pytestmark = pytest.mark.aws

SP = ZoneInfo("America/Sao_Paulo")
KEY = "STOCK#PETR4"
DAY = date(2025, 3, 10)
NOW = datetime(2025, 3, 10, 18, 0, tzinfo=SP)
OPEN = datetime(2025, 3, 10, 10, 0, tzinfo=SP)


def bars(n: int, value: str = "30.5") -> list[IntradayPoint]:
    """``n`` five-minute bars of one day from the open."""
    return [
        IntradayPoint(KEY, OPEN + timedelta(minutes=5 * i), "15m", Decimal(value), {"volume": i})
        for i in range(n)
    ]


def store_on(client: Any, table: str) -> DynamoIntradayStore:
    return DynamoIntradayStore(
        client, table, max_unprocessed_attempts=4, backoff_base_s=0.001, backoff_cap_s=0.01
    )


def sort_keys(requests: list[dict[str, Any]]) -> list[str]:
    return [r["PutRequest"]["Item"]["date"]["S"] for r in requests]


def leave_unprocessed(
    client: Any, table: str, choose: Callable[[int, list[dict[str, Any]]], list[dict[str, Any]]]
) -> list[list[str]]:
    """Make DynamoDB leave unprocessed what ``choose(call_number, requests)`` picks: those put
    requests are taken out of the call before it is sent (so the server does not store them,
    unless they are all it carries: a call may not be empty) and handed back as its
    ``UnprocessedItems``. Returns the sort keys each call carried."""
    calls: list[list[str]] = []
    withheld: list[dict[str, Any]] = []

    def withhold(params: dict[str, Any], **_: Any) -> None:
        requests = params["RequestItems"][table]
        calls.append(sort_keys(requests))
        withheld[:] = choose(len(calls), requests)
        params["RequestItems"][table] = [r for r in requests if r not in withheld] or requests

    def report(parsed: dict[str, Any], **_: Any) -> None:
        if withheld:
            parsed["UnprocessedItems"] = {table: list(withheld)}

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", withhold)
    client.meta.events.register("after-call.dynamodb.BatchWriteItem", report)
    return calls


def test_points_left_unprocessed_every_time_raise_after_the_bounded_attempts(
    client: Any, table: str
) -> None:
    store = store_on(client, table)
    calls = leave_unprocessed(client, table, lambda _, requests: requests[-1:])
    with pytest.raises(
        UnprocessedItemsError, match=r"1 intraday point\(s\) .* after 4 BatchWriteItem attempts"
    ):
        store.put_points(bars(3))
    first, last = ["10:00:00", "10:05:00", "10:10:00"], ["10:10:00"]
    assert calls == [first, last, last, last]  # four attempts, each re-sending what was left


def test_points_left_unprocessed_once_are_re_sent_and_all_stored(client: Any, table: str) -> None:
    store = store_on(client, table)
    calls = leave_unprocessed(client, table, lambda n, requests: requests[1:] if n == 1 else [])
    assert store.put_points(bars(4)).written == 4
    assert [len(c) for c in calls] == [4, 3]  # the second call carries only the three left
    got = store.day(KEY, DAY, NOW)
    assert [(p.at, p.value, p.attrs) for p in got] == [(p.at, p.value, p.attrs) for p in bars(4)]


def test_a_call_of_more_than_25_points_goes_in_batches_of_at_most_25(
    client: Any, table: str
) -> None:
    store = store_on(client, table)
    calls = leave_unprocessed(client, table, lambda _, requests: [])
    points = bars(60)
    points += bars(60, value="31.5")[20:30]  # repeated points: the last one wins
    assert store.put_points(points).written == 60
    assert [len(c) for c in calls] == [25, 25, 10]
    assert all(len(set(c)) == len(c) for c in calls)  # no batch holds a key twice
    got = store.day(KEY, DAY, NOW)
    assert [p.at for p in got] == [p.at for p in bars(60)]
    assert [p.value for p in got[18:32]] == [Decimal("30.5")] * 2 + [Decimal("31.5")] * 10 + [
        Decimal("30.5")
    ] * 2


def test_points_are_encoded_as_records_are_numbers_canonical(client: Any, table: str) -> None:
    """One encoder for the table's items (boto3's TypeSerializer through _dynamo_items): a
    value goes as its canonical number, as a record's does, and the TTL as a whole number."""
    store = store_on(client, table)
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-parameter-build.dynamodb.BatchWriteItem",
        lambda params, **_: sent.extend(
            r["PutRequest"]["Item"] for r in params["RequestItems"][table]
        ),
    )
    point = bars(1, value="30.50")[0]
    store.put_points([point])
    assert sent[0]["value"] == {"N": "30.5"}
    assert sent[0]["expires_at"] == {"N": str(int(point.expires_at().timestamp()))}
    assert sent[0]["at"] == {"S": "2025-03-10T10:00:00-03:00"}
    assert [p.value for p in store.day(KEY, DAY, NOW)] == [Decimal("30.5")]
