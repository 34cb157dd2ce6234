"""Alert adapters: where the active set is kept (SQLite, DynamoDB) and where alerts go (console,
SNS). The webhook sink is in :mod:`fuelpipe.adapters.webhook`, so Lambdas never import httpx."""

from __future__ import annotations

import abc
import json
import sqlite3
import threading
import uuid
import zlib
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
            done: list[str] = []
            for entry, body in self._entries(sink.name):
                try:
                    sink.send(_load_alert(body))
                except Exception as exc:  # the next call tries again, in the same order
                    problems.append(f"{sink.name}: {exc}")
                    break
                done.append(entry)
                if len(done) >= self._REMOVE_EVERY:
                    problems += self._taken_off(sink, done)
                    done = []
            problems += self._taken_off(sink, done)
        return problems

    def _taken_off(self, sink: AlertSink, entries: list[str]) -> list[str]:
        """Take sent entries off the outbox; a problem line if that failed (they may be sent
        once more by the next call, never lost)."""
        if not entries:
            return []
        try:
            self._sent(entries)
        except Exception as exc:
            return [f"{sink.name}: sent, but not taken off the outbox: {exc}"]
        return []

    _REMOVE_EVERY: ClassVar[int] = 1
    """Sent alerts taken off the outbox together: at most this many go out again after a crash
    between sending and taking off."""

    @abc.abstractmethod
    def _entries(self, sink: str) -> list[tuple[str, str]]:
        """(entry id, alert text) of what the outbox holds for ``sink``, oldest first."""

    @abc.abstractmethod
    def _sent(self, entries: list[str]) -> None:
        """Remove delivered entries from the outbox."""


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

    def _sent(self, entries: list[str]) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                "DELETE FROM alert_outbox WHERE seq = ?", [(int(e),) for e in entries]
            )

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class DynamoAlertState(_OutboxState):
    """The active alerts as one item of the single table (``info_type = ALERTS``), with the
    outbox in the same item: one PutItem saves both, all or nothing.

    Both are zlib-compressed JSON (binary attributes): alert texts repeat their keys and
    reasons, so a few thousand alerts fit DynamoDB's 400 KB item where ~300 did as text. Every
    write is conditional on the outbox it read, so a save and a delivery running side by side
    never bring back a delivered alert or drop a queued one.
    """

    KEY: ClassVar[dict[str, dict[str, str]]] = {
        "info_type": {"S": "ALERTS"},
        "date": {"S": "ACTIVE"},
    }

    def __init__(self, client: Any, table_name: str) -> None:
        super().__init__()
        self._client = client
        self._table = table_name

    def _item(self) -> tuple[dict[str, Any], list[list[str]], dict[str, Any] | None]:
        """The stored active set (raw), the outbox ([[entry id, sink, alert text], ...]) and
        the outbox attribute as read (None: no item or no outbox), for a conditional write."""
        item = self._client.get_item(TableName=self._table, Key=self.KEY, ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return {}, [], None
        if "active_z" in item:
            active = json.loads(zlib.decompress(item["active_z"]["B"]))
        else:  # written before the outbox (text)
            active = json.loads(item["active"]["S"]) if "active" in item else {}
        read = item.get("outbox_z")
        outbox = json.loads(zlib.decompress(read["B"])) if read else []
        return active, outbox, read

    def load(self) -> dict[str, ActiveAlert]:
        self._pending.clear()  # a new evaluation: what an unsaved one queued is recomputed
        raw, _, _ = self._item()
        return {cid: _load(body) for cid, body in raw.items()}

    def save(self, active: Mapping[str, ActiveAlert]) -> None:
        queued = [[uuid.uuid4().hex, sink, body] for sink, body in self._queued()]
        body = json.dumps({cid: _dump(a) for cid, a in active.items()}, sort_keys=True)
        for _ in range(_OUTBOX_ATTEMPTS):
            _, outbox, read = self._item()  # what earlier evaluations have not delivered stays
            item = {
                **self.KEY,
                "active_z": {"B": zlib.compress(body.encode())},
                "outbox_z": {"B": zlib.compress(json.dumps(outbox + queued).encode())},
                "status": {"S": "ALERTS"},
            }
            if self._put_if_unchanged(item, read):
                return
        raise RuntimeError("alert state: the outbox kept changing while it was saved")

    def _put_if_unchanged(self, item: dict[str, Any], read: dict[str, Any] | None) -> bool:
        """Put ``item`` if the outbox is still the one read; False if it changed meanwhile."""
        condition = "attribute_not_exists(#o)" if read is None else "#o = :read"
        extra: dict[str, Any] = (
            {} if read is None else {"ExpressionAttributeValues": {":read": read}}
        )
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#o": "outbox_z"},
                **extra,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _entries(self, sink: str) -> list[tuple[str, str]]:
        _, outbox, _ = self._item()
        return [(entry, body) for entry, name, body in outbox if name == sink]

    # One rewrite of the (compressed) outbox per 25 alerts sent, not per alert: a bad week's
    # thousand quarantines would otherwise rewrite the item a thousand times.
    _REMOVE_EVERY = 25

    def _sent(self, entries: list[str]) -> None:
        """Rewrite the outbox without ``entries``, conditionally on it being the one read (a
        concurrent save or delivery in between: read it again)."""
        gone = set(entries)
        for _ in range(_OUTBOX_ATTEMPTS):
            _, outbox, read = self._item()
            rest = [e for e in outbox if e[0] not in gone]
            if read is None or len(rest) == len(outbox):
                return
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=self.KEY,
                    UpdateExpression="SET #o = :rest",
                    ConditionExpression="#o = :read",
                    ExpressionAttributeNames={"#o": "outbox_z"},
                    ExpressionAttributeValues={
                        ":rest": {"B": zlib.compress(json.dumps(rest).encode())},
                        ":read": read,
                    },
                )
                return
            except self._client.exceptions.ConditionalCheckFailedException:
                continue
        raise RuntimeError(f"alert outbox: could not remove {len(gone)} delivered entries")


_OUTBOX_ATTEMPTS = 5
"""Reads and conditional writes of the DynamoDB alert item before giving up on one change."""


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
