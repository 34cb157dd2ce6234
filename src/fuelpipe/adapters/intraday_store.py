"""Intraday stores: a SQLite table beside the embedded store, and items of the DynamoDB table
with a TTL attribute (``expires_at``, epoch seconds) that DynamoDB deletes on its own."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fuelpipe.adapters._batch_retry import batch_attempts
from fuelpipe.adapters._dynamo_items import encode, to_item, to_plain
from fuelpipe.adapters.dynamodb_store import TTL_ATTRIBUTE, UnprocessedItemsError
from fuelpipe.adapters.sqlite_store import connect, dump_attrs, load_attrs
from fuelpipe.domain.instants import iso_utc
from fuelpipe.domain.intraday import IntradayPoint
from fuelpipe.domain.keys import intraday_key
from fuelpipe.domain.numbers import canonical_text
from fuelpipe.ports.intraday import IntradayStore, Upserted
from fuelpipe.ports.store import BATCH_LIMIT


def _point(
    series_key: str, at: str, kind: str, value: str | Decimal, attrs: str | None
) -> IntradayPoint:
    loaded = {k: v for k, v in load_attrs(attrs).items() if v is not None}
    return IntradayPoint(series_key, datetime.fromisoformat(at), kind, Decimal(value), loaded)


class SqliteIntradayStore(IntradayStore):
    """Intraday points in the embedded store's file; expired rows are skipped and purged."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        """``read_only``: the dashboard only reads; the table is not created (a day reads as
        empty until `watch --intraday` creates it) and nothing is written."""
        self._lock = threading.Lock()
        self._read_only = read_only
        if read_only:  # as the store reads it: a missing file or a read-only folder too
            self._conn = connect(Path(path), "", read_only=True)
            return
        self._conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False)
        with self._lock, self._conn:
            self._conn.execute(
                """CREATE TABLE IF NOT EXISTS intraday (
                    info_type TEXT NOT NULL, sort TEXT NOT NULL, series TEXT NOT NULL,
                    at TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, attrs TEXT,
                    expires_at TEXT NOT NULL, PRIMARY KEY (info_type, sort)) WITHOUT ROWID"""
            )
            self._conn.execute(
                "CREATE INDEX IF NOT EXISTS intraday_expiry ON intraday (expires_at)"
            )

    def put_points(self, points: Sequence[IntradayPoint]) -> Upserted:
        rows = {
            (p.partition, p.sort_key): (
                p.partition, p.sort_key, p.series_key, p.at.isoformat(), p.kind,
                canonical_text(p.value), dump_attrs(dict(p.attrs)) if p.attrs else None,
                iso_utc(p.expires_at()),
            )
            for p in points
        }  # fmt: skip
        # the last of duplicate keys wins, as in DynamoDB's batch: a point counts once
        with self._lock, self._conn:
            # A point stored as it is now is left alone, so the rows changed (summed over the
            # batch by executemany) are the points new or changed: one statement per batch.
            cur = self._conn.executemany(
                "INSERT INTO intraday VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(info_type, sort) DO UPDATE SET at = excluded.at, kind = excluded.kind, "
                "value = excluded.value, attrs = excluded.attrs, expires_at = excluded.expires_at "
                "WHERE (at, kind, value, attrs, expires_at) IS NOT (excluded.at, excluded.kind, "
                "excluded.value, excluded.attrs, excluded.expires_at)",
                rows.values(),
            )
        return Upserted(written=len(rows), changed=cur.rowcount)

    def day(self, series_key: str, day: date, now: datetime) -> list[IntradayPoint]:
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT series, at, kind, value, attrs FROM intraday "
                    "WHERE info_type = ? AND expires_at > ? ORDER BY at",
                    (intraday_key(series_key, day), iso_utc(now)),
                ).fetchall()
            except sqlite3.OperationalError as exc:
                if not (self._read_only and "no such table" in str(exc)):
                    raise
                rows = []  # read-only, and no intraday point was ever stored in this file
        return [_point(*row) for row in rows]

    def purge_expired(self, now: datetime) -> int:
        if self._read_only:
            return 0  # the writer (`watch --intraday`) purges
        with self._lock, self._conn:
            cur = self._conn.execute("DELETE FROM intraday WHERE expires_at <= ?", (iso_utc(now),))
        return cur.rowcount

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class DynamoIntradayStore(IntradayStore):
    """Intraday points as items of the single table; the table's TTL removes expired ones."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        max_unprocessed_attempts: int = 5,
        backoff_base_s: float = 0.05,
        backoff_cap_s: float = 2.0,
    ) -> None:
        """``max_unprocessed_attempts``: BatchWriteItem calls per batch before points still
        unprocessed raise UnprocessedItemsError; ``backoff_*_s``: the waits between them."""
        self._client = client
        self._table = table_name
        self._attempts = max_unprocessed_attempts
        self._base = backoff_base_s
        self._cap = backoff_cap_s

    def put_points(self, points: Sequence[IntradayPoint]) -> Upserted:
        encoded = {
            (p.partition, p.sort_key): to_item(
                {
                    "info_type": p.partition,
                    "date": p.sort_key,
                    "series": p.series_key,
                    "at": p.at.isoformat(),
                    "kind": p.kind,
                    "value": p.value,
                    "attrs": dump_attrs(dict(p.attrs)),
                    TTL_ATTRIBUTE: int(p.expires_at().timestamp()),
                }
            )
            for p in points
        }  # the last of duplicate keys wins: one batch may not hold a key twice
        batch = list(encoded.values())
        for start in range(0, len(batch), BATCH_LIMIT):
            chunk = batch[start : start + BATCH_LIMIT]
            requests: list[dict[str, Any]] = [{"PutRequest": {"Item": i}} for i in chunk]
            # The adapters' one bounded, jittered schedule for partial batch failures.
            for attempt in batch_attempts(
                UnprocessedItemsError, self._attempts, self._base, self._cap
            ):
                with attempt:
                    answer = self._client.batch_write_item(RequestItems={self._table: requests})
                    requests = answer.get("UnprocessedItems", {}).get(self._table, [])
                    if requests:
                        raise UnprocessedItemsError(
                            f"{len(requests)} intraday point(s) still unprocessed by "
                            f"{self._table} after {attempt.num} BatchWriteItem attempts"
                        )
        # BatchWriteItem returns no old items: every point written may have changed.
        return Upserted(written=len(batch), changed=len(batch))

    def day(self, series_key: str, day: date, now: datetime) -> list[IntradayPoint]:
        out = []
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="info_type = :pk",
            ExpressionAttributeValues={":pk": encode(intraday_key(series_key, day))},
        ):
            for plain in map(to_plain, page["Items"]):
                if plain[TTL_ATTRIBUTE] <= now.timestamp():
                    continue  # TTL deletion lags by up to days: expired means gone
                out.append(
                    _point(
                        plain["series"], plain["at"], plain["kind"], plain["value"], plain["attrs"]
                    )
                )
        return sorted(out, key=lambda p: p.at)

    def purge_expired(self, now: datetime) -> int:
        return 0
