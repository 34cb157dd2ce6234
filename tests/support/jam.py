"""Writes of one alert-state client that fail on purpose, injected into that client only: a
SQLite connection made by the adapter's ``connect`` (as if the file stayed locked past the busy
timeout) or handlers on one boto3 client (as if the table throttled). Never patched in."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from fuelpipe.adapters.alerts import DynamoAlertState


@dataclass
class Jam:
    """Which writes fail now; a test switches them on and off."""

    remove: bool = False
    """Taking entries off the outbox (SQLite's DELETE; the outbox item's UpdateItem)."""
    mark: bool = False
    """Noting an entry as sent (SQLite's UPDATE of sent_at; DynamoDB's sent claim)."""


def jammed_sqlite(jam: Jam) -> Callable[[str], sqlite3.Connection]:
    """A ``connect`` for SqliteAlertState whose connection refuses the jammed writes."""

    class Jammed(sqlite3.Connection):
        def _refuse(self, sql: str) -> None:
            if (jam.remove and sql.startswith("DELETE FROM alert_outbox")) or (
                jam.mark and "SET sent_at" in sql
            ):
                raise sqlite3.OperationalError("database is locked")

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            self._refuse(sql)
            return super().execute(sql, *args)

        def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
            self._refuse(sql)
            return super().executemany(sql, *args)

    return lambda path: sqlite3.connect(path, timeout=30.0, check_same_thread=False, factory=Jammed)


def _throttled(operation: str) -> ClientError:
    error = {"Code": "ProvisionedThroughputExceededException", "Message": "throttled (jam)"}
    return ClientError({"Error": error}, operation)


def jam_dynamodb(client: Any, jam: Jam) -> Any:
    """``client`` (one state's own) with the jammed writes refused; returned for chaining."""

    def on_update(params: dict[str, Any], **_: Any) -> None:
        names = params.get("ExpressionAttributeNames", {}).values()
        if jam.remove and params.get("Key") == DynamoAlertState.KEY and "outbox_z" in names:
            raise _throttled("UpdateItem")

    def on_put(params: dict[str, Any], **_: Any) -> None:
        if jam.mark and "sent_at" in params.get("Item", {}):
            raise _throttled("PutItem")

    client.meta.events.register("before-parameter-build.dynamodb.UpdateItem", on_update)
    client.meta.events.register("before-parameter-build.dynamodb.PutItem", on_put)
    return client
