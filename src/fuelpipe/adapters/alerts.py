"""Alert adapters: where the active set is kept (SQLite, DynamoDB) and where alerts go (console,
SNS). The webhook sink is in :mod:`fuelpipe.adapters.webhook`, so Lambdas never import httpx."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from fuelpipe.domain.alerts import ActiveAlert, Alert, Condition, Severity
from fuelpipe.ports.alerts import AlertSink, AlertState

SNS_SUBJECT_MAX = 100
"""SNS rejects longer e-mail subjects."""


def _dump(active: ActiveAlert) -> str:
    c = active.condition
    return json.dumps(
        {
            "rule": c.rule,
            "subject": c.subject,
            "summary": c.summary,
            "evidence": dict(c.evidence),
            "severity": c.severity.value,
            "since": active.since.isoformat(),
        },
        sort_keys=True,
    )


def _load(text: str) -> ActiveAlert:
    raw = json.loads(text)
    cond = Condition(
        rule=raw["rule"],
        subject=raw["subject"],
        summary=raw["summary"],
        evidence=raw["evidence"],
        severity=Severity(raw["severity"]),
    )
    return ActiveAlert(cond, datetime.fromisoformat(raw["since"]))


class SqliteAlertState(AlertState):
    """The active alerts in a table beside the embedded store (same file)."""

    def __init__(self, path: Path | str) -> None:
        self._conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._conn:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS alert_state (id TEXT PRIMARY KEY, body TEXT NOT NULL)"
            )

    def load(self) -> dict[str, ActiveAlert]:
        with self._lock:
            rows = self._conn.execute("SELECT id, body FROM alert_state").fetchall()
        return {cid: _load(body) for cid, body in rows}

    def save(self, active: Mapping[str, ActiveAlert]) -> None:
        with self._lock, self._conn:  # one transaction: the set is replaced whole or not at all
            self._conn.execute("DELETE FROM alert_state")
            self._conn.executemany(
                "INSERT INTO alert_state (id, body) VALUES (?, ?)",
                [(cid, _dump(a)) for cid, a in active.items()],
            )

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class DynamoAlertState(AlertState):
    """The active alerts as one item of the single table (``info_type = ALERTS``)."""

    KEY: ClassVar[dict[str, dict[str, str]]] = {
        "info_type": {"S": "ALERTS"},
        "date": {"S": "ACTIVE"},
    }

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load(self) -> dict[str, ActiveAlert]:
        item = self._client.get_item(TableName=self._table, Key=self.KEY, ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return {}
        raw = json.loads(item["active"]["S"])
        return {cid: _load(body) for cid, body in raw.items()}

    def save(self, active: Mapping[str, ActiveAlert]) -> None:
        body = json.dumps({cid: _dump(a) for cid, a in active.items()}, sort_keys=True)
        self._client.put_item(
            TableName=self._table,
            Item={**self.KEY, "active": {"S": body}, "status": {"S": "ALERTS"}},
        )


class ConsoleSink(AlertSink):
    """One line per alert plus its evidence, written by an injected function (print)."""

    name = "console"

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def send(self, alert: Alert) -> None:
        evidence = ", ".join(f"{k}={v}" for k, v in alert.condition.evidence.items())
        self._write(f"{alert.subject_line()} ({evidence})")


class SnsSink(AlertSink):
    """Publishes each alert to an SNS topic (e-mail subscribers get subject and evidence)."""

    name = "sns"

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self.topic_arn = topic_arn

    def send(self, alert: Alert) -> None:
        subject = alert.subject_line()
        if len(subject) > SNS_SUBJECT_MAX:
            subject = subject[: SNS_SUBJECT_MAX - 1] + "…"
        self._client.publish(
            TopicArn=self.topic_arn,
            Subject=subject.encode("ascii", "replace").decode(),
            Message=json.dumps(alert.as_dict(), indent=2, ensure_ascii=False),
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": alert.kind.value},
                "rule": {"DataType": "String", "StringValue": alert.condition.rule},
            },
        )
