"""Alert adapters: where the active set is kept (SQLite, DynamoDB) and where alerts go (console,
SNS). The webhook sink is in :mod:`fuelpipe.adapters.webhook`, so Lambdas never import httpx."""

from __future__ import annotations

import abc
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition, Severity
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


def _dump_alert(alert: Alert) -> str:
    body = json.loads(_dump(ActiveAlert(alert.condition, alert.since)))
    return json.dumps({**body, "kind": alert.kind.value, "at": alert.at.isoformat()})


def _load_alert(text: str) -> Alert:
    active = _load(text)
    raw = json.loads(text)
    return Alert(
        AlertKind(raw["kind"]), active.condition, datetime.fromisoformat(raw["at"]), active.since
    )


class _Outbox(AlertSink):
    """Collects one evaluation's alerts for the state's ``save`` to keep with the active set."""

    name = "outbox"

    def __init__(
        self, pending: list[tuple[Alert, tuple[str, ...]]], sinks: tuple[str, ...]
    ) -> None:
        self._pending = pending
        self.sinks = sinks

    def send(self, alert: Alert) -> None:
        self._pending.append((alert, self.sinks))


class _OutboxState(AlertState):
    """An alert state that keeps the alerts still to send beside the active set.

    With :meth:`outbox` as the evaluation's only sink, the alerts to send are saved with the
    new active set, all or nothing, and :meth:`deliver` sends them afterwards, each to each
    sink once (removed once that sink took it). A crash after the save loses nothing, a sink
    that is down neither blocks nor repeats the others, and an alert resent after a crash is
    the same alert (same instants, so the same webhook ``delivery_id``).
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Alert, tuple[str, ...]]] = []

    def outbox(self, sinks: Iterable[str]) -> AlertSink:
        """A sink that queues alerts for the named sinks; they are stored by ``save``."""
        return _Outbox(self._pending, tuple(sinks))

    def _queued(self) -> list[tuple[str, str]]:
        """(sink, alert text) of what this evaluation queued; forgotten once taken."""
        out = [(sink, _dump_alert(a)) for a, sinks in self._pending for sink in sinks]
        self._pending.clear()
        return out

    def deliver(self, sinks: Sequence[AlertSink]) -> list[str]:
        """Send what the outbox holds to each sink in order, removing each alert once its sink
        took it; a sink that fails keeps the rest of its alerts for the next call. Returns one
        line per failed sink (the error's own words: sinks keep secrets out of them)."""
        problems = []
        for sink in sinks:
            for entry, body in self._entries(sink.name):
                try:
                    sink.send(_load_alert(body))
                except Exception as exc:  # the next call tries again, in the same order
                    problems.append(f"{sink.name}: {exc}")
                    break
                self._sent(entry)
        return problems

    @abc.abstractmethod
    def _entries(self, sink: str) -> list[tuple[str, str]]:
        """(entry id, alert text) of what the outbox holds for ``sink``, oldest first."""

    @abc.abstractmethod
    def _sent(self, entry: str) -> None:
        """Remove one delivered entry from the outbox."""


class SqliteAlertState(_OutboxState):
    """The active alerts in a table beside the embedded store (same file), and an outbox."""

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self._conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._conn:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS alert_state (id TEXT PRIMARY KEY, body TEXT NOT NULL)"
            )
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS alert_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "sink TEXT NOT NULL, body TEXT NOT NULL)"
            )

    def load(self) -> dict[str, ActiveAlert]:
        self._pending.clear()  # a new evaluation: what an unsaved one queued is recomputed
        with self._lock:
            rows = self._conn.execute("SELECT id, body FROM alert_state").fetchall()
        return {cid: _load(body) for cid, body in rows}

    def save(self, active: Mapping[str, ActiveAlert]) -> None:
        queued = self._queued()
        with self._lock, self._conn:  # one transaction: the set is replaced whole or not at all
            self._conn.execute("DELETE FROM alert_state")
            self._conn.executemany(
                "INSERT INTO alert_state (id, body) VALUES (?, ?)",
                [(cid, _dump(a)) for cid, a in active.items()],
            )
            self._conn.executemany("INSERT INTO alert_outbox (sink, body) VALUES (?, ?)", queued)

    def _entries(self, sink: str) -> list[tuple[str, str]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, body FROM alert_outbox WHERE sink = ? ORDER BY seq", (sink,)
            ).fetchall()
        return [(str(seq), body) for seq, body in rows]

    def _sent(self, entry: str) -> None:
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM alert_outbox WHERE seq = ?", (int(entry),))

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class DynamoAlertState(_OutboxState):
    """The active alerts as one item of the single table (``info_type = ALERTS``), with the
    outbox in the same item: one PutItem saves both, all or nothing."""

    KEY: ClassVar[dict[str, dict[str, str]]] = {
        "info_type": {"S": "ALERTS"},
        "date": {"S": "ACTIVE"},
    }

    def __init__(self, client: Any, table_name: str) -> None:
        super().__init__()
        self._client = client
        self._table = table_name

    def _item(self) -> tuple[dict[str, Any], list[list[str]]]:
        """The stored active set (raw) and the outbox: [[entry id, sink, alert text], ...]."""
        item = self._client.get_item(TableName=self._table, Key=self.KEY, ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return {}, []
        outbox = json.loads(item["outbox"]["S"]) if "outbox" in item else []
        return json.loads(item["active"]["S"]), outbox

    def load(self) -> dict[str, ActiveAlert]:
        self._pending.clear()  # a new evaluation: what an unsaved one queued is recomputed
        raw, _ = self._item()
        return {cid: _load(body) for cid, body in raw.items()}

    def save(self, active: Mapping[str, ActiveAlert]) -> None:
        queued = [[uuid.uuid4().hex, sink, body] for sink, body in self._queued()]
        _, outbox = self._item()  # what earlier evaluations have not delivered yet stays
        body = json.dumps({cid: _dump(a) for cid, a in active.items()}, sort_keys=True)
        self._client.put_item(
            TableName=self._table,
            Item={
                **self.KEY,
                "active": {"S": body},
                "outbox": {"S": json.dumps(outbox + queued)},
                "status": {"S": "ALERTS"},
            },
        )

    def _entries(self, sink: str) -> list[tuple[str, str]]:
        _, outbox = self._item()
        return [(entry, body) for entry, name, body in outbox if name == sink]

    def _sent(self, entry: str) -> None:
        """Rewrite the outbox without ``entry``, conditionally on it being the one read (a
        concurrent save or delivery in between: read it again)."""
        for _ in range(_OUTBOX_ATTEMPTS):
            _, outbox = self._item()
            rest = [e for e in outbox if e[0] != entry]
            if len(rest) == len(outbox):
                return
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=self.KEY,
                    UpdateExpression="SET #o = :rest",
                    ConditionExpression="#o = :read",
                    ExpressionAttributeNames={"#o": "outbox"},
                    ExpressionAttributeValues={
                        ":rest": {"S": json.dumps(rest)},
                        ":read": {"S": json.dumps(outbox)},
                    },
                )
                return
            except self._client.exceptions.ConditionalCheckFailedException:
                continue
        raise RuntimeError(f"alert outbox: could not remove delivered entry {entry}")


_OUTBOX_ATTEMPTS = 5
"""Reads and conditional rewrites of the DynamoDB outbox to remove one delivered alert."""


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
