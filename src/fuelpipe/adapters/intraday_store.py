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
from fuelpipe.domain.catalog import Series
from fuelpipe.domain.instants import iso_utc
from fuelpipe.domain.intraday import RETENTION, IntradayPoint, stored_days
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
            self._conn.execute(  # days the source answered with no point (note_none)
                """CREATE TABLE IF NOT EXISTS intraday_none (
                    series TEXT NOT NULL, day TEXT NOT NULL, at TEXT NOT NULL,
                    expires_at TEXT NOT NULL, PRIMARY KEY (series, day)) WITHOUT ROWID"""
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

    def note_none(self, series_key: str, day: date, at: datetime) -> None:
        if self._read_only:
            return
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO intraday_none VALUES (?, ?, ?, ?)",
                (series_key, day.isoformat(), at.isoformat(), iso_utc(at + RETENTION)),
            )

    def answered_none(self, series: Series, day: date, now: datetime) -> datetime | None:
        days = [d.isoformat() for d in stored_days(series.exchange_tz, day)]
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT max(at) FROM intraday_none WHERE series = ? AND expires_at > ? "
                    "AND day BETWEEN ? AND ?",  # the one or two adjacent days it overlaps
                    (series.key, iso_utc(now), min(days), max(days)),
                ).fetchone()
            except sqlite3.OperationalError as exc:
                if not (self._read_only and "no such table" in str(exc)):
                    raise
                return None  # read-only, and no writer of this version made the table
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def purge_expired(self, now: datetime) -> int:
        if self._read_only:
            return 0  # the writer (`watch --intraday`) purges
        with self._lock, self._conn:
            cur = self._conn.execute("DELETE FROM intraday WHERE expires_at <= ?", (iso_utc(now),))
            self._conn.execute("DELETE FROM intraday_none WHERE expires_at <= ?", (iso_utc(now),))
        return cur.rowcount

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


_NONE_SORT = "NONE"
"""The sort key of a day's "answered with no point" item (:meth:`IntradayStore.note_none`) in
its ``INTRADAY#`` partition: no time of day, so never read as a point."""


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
        self._write(batch)
        # BatchWriteItem returns no old items: every point written may have changed.
        return Upserted(written=len(batch), changed=len(batch))

    def _write(self, batch: list[dict[str, Any]]) -> None:
        """BatchWriteItem, the one write the intraday Lambda's role may make (``INTRADAY#``
        partitions only), in batches, items left unprocessed retried."""
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

    def day(self, series_key: str, day: date, now: datetime) -> list[IntradayPoint]:
        out = []
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="info_type = :pk",
            ExpressionAttributeValues={":pk": encode(intraday_key(series_key, day))},
        ):
            for plain in map(to_plain, page["Items"]):
                if plain[TTL_ATTRIBUTE] <= now.timestamp() or plain["date"] == _NONE_SORT:
                    continue  # TTL deletion lags by up to days: expired means gone
                out.append(
                    _point(
                        plain["series"], plain["at"], plain["kind"], plain["value"], plain["attrs"]
                    )
                )
        return sorted(out, key=lambda p: p.at)

    def note_none(self, series_key: str, day: date, at: datetime) -> None:
        item = {
            "info_type": intraday_key(series_key, day),
            "date": _NONE_SORT,
            "series": series_key,
            "at": at.isoformat(),
            TTL_ATTRIBUTE: int((at + RETENTION).timestamp()),
        }
        self._write([to_item(item)])

    def answered_none(self, series: Series, day: date, now: datetime) -> datetime | None:
        found = []
        for stored in stored_days(series.exchange_tz, day):
            key = {"info_type": intraday_key(series.key, stored), "date": _NONE_SORT}
            item = self._client.get_item(TableName=self._table, Key=to_item(key)).get("Item")
            plain = to_plain(item) if item else None
            if plain and plain[TTL_ATTRIBUTE] > now.timestamp():
                found.append(datetime.fromisoformat(plain["at"]))
        return max(found, default=None)

    def purge_expired(self, now: datetime) -> int:
        return 0
