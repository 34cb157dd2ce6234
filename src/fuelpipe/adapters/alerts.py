"""Alert adapters: where the active set is kept (SQLite, DynamoDB) and where alerts go (console,
SNS). The webhook sink is in :mod:`fuelpipe.adapters.webhook`, so Lambdas never import httpx."""

from __future__ import annotations

import abc
import enum
import json
import sqlite3
import threading
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition, Severity
from fuelpipe.ports.alerts import AlertSink, AlertState, AlertStateChanged, DeliveryReport
from fuelpipe.ports.clock import Clock

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


class _Claim(enum.Enum):
    """What a deliverer's claim on an outbox entry found."""

    TAKEN = "taken"
    """This deliverer holds the lease: it sends."""
    HELD = "held"
    """Another deliverer's lease holds, or the entry is gone: skip it."""
    SENT = "sent"
    """Another deliverer sent it: only take it off the outbox."""


class _Entry(NamedTuple):
    """One alert queued for one sink."""

    entry: str
    sink: str
    body: str
    queued_at: datetime | None
    """None when queued before the outbox noted it: the alert's own instant stands in."""


DEFAULT_LEASE = timedelta(minutes=5)
"""How long a claim keeps other deliverers off an entry: longer than one send (the webhook's
bounded retries end within a minute), short enough that a crashed deliverer's alert goes out
soon after."""

DEFAULT_RETENTION = timedelta(days=7)
"""How long alerts queued for a sink that is no longer configured are kept (and reported)."""


def _span(delta: timedelta) -> str:
    """``7 days``, ``36 hours``, ``90 seconds``: a retention in words."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds} seconds"


class _OutboxState(AlertState):
    """An alert state that keeps the alerts still to send beside the active set.

    With :meth:`outbox` as the evaluation's only sink, the alerts to send are saved with the
    new active set, all or nothing, and :meth:`deliver` sends them afterwards, each to each
    sink once (removed once that sink took it). A crash after the save loses nothing, a sink
    that is down neither blocks nor repeats the others, and an alert resent after a crash is
    the same alert (same instants, so the same webhook ``delivery_id``).

    Several deliverers may share the state (two ``watch`` processes on one file, two Lambda
    invocations on one table): each claims an entry with a conditional write (its token and a
    lease from the injected clock) before sending it, and skips entries whose lease holds. A
    deliverer that dies holding a claim leaves a lease that expires; the next one sends it then.
    """

    def __init__(self, clock: Clock, lease: timedelta, retention: timedelta) -> None:
        if lease <= timedelta(0) or retention < timedelta(0):
            raise ValueError(
                f"alert outbox: lease must be positive and retention not negative "
                f"(got lease={lease}, retention={retention})"
            )
        self._pending: list[tuple[Alert, tuple[str, ...]]] = []
        self._clock = clock
        self._lease = lease
        self._retention = retention
        self._loaded: int | None = None  # the active set's version the last ``load`` read

    def outbox(self, sinks: Iterable[str]) -> AlertSink:
        """A sink that queues alerts for the named sinks; they are stored by ``save``."""
        return _Outbox(self._pending, tuple(sinks))

    def _queued(self) -> list[tuple[str, str]]:
        """(sink, alert text) of what this evaluation queued; forgotten once taken."""
        out = [(sink, _dump_alert(a)) for a, sinks in self._pending for sink in sinks]
        self._pending.clear()
        return out

    def deliver(self, sinks: Sequence[AlertSink]) -> DeliveryReport:
        """Send what the outbox holds to each sink in order, claiming each entry first and
        removing it once its sink took it; a sink that fails keeps the rest of its alerts for
        the next call. Alerts for sinks not in ``sinks`` are counted, and dropped once older
        than the retention."""
        report = DeliveryReport()
        token = uuid.uuid4().hex  # this call's claims: any other call is another claimant
        entries = self._entries()
        for sink in sinks:
            self._deliver_to(sink, [e for e in entries if e.sink == sink.name], token, report)
        names = {s.name for s in sinks}
        self._orphans([e for e in entries if e.sink not in names], report)
        return report

    def _deliver_to(
        self, sink: AlertSink, entries: list[_Entry], token: str, report: DeliveryReport
    ) -> None:
        done: list[str] = []
        for e in entries:
            now = self._clock.now()
            try:
                claim = self._claim(e.entry, token, now, now + self._lease)
            except Exception as exc:  # the next call tries again
                report.failed.append(f"{sink.name}: could not claim an alert: {exc}")
                break
            if claim is _Claim.HELD:
                continue
            if claim is _Claim.TAKEN:
                try:
                    sink.send(_load_alert(e.body))
                except Exception as exc:  # the next call tries again, in the same order
                    self._release_quietly(e.entry, token)
                    report.failed.append(f"{sink.name}: {exc}")
                    break
                report.sent += 1
                report.failed += self._noted_sent(sink, e.entry, token)
            done.append(e.entry)
            if len(done) >= self._REMOVE_EVERY:
                report.failed += self._taken_off(sink, done)
                done = []
        report.failed += self._taken_off(sink, done)

    def _release_quietly(self, entry: str, token: str) -> None:
        """Give a claim back after a failed send, so the next call need not wait for the lease;
        if that fails too, the lease runs out."""
        try:
            self._release(entry, token)
        except Exception:  # the lease expires instead: later, never lost
            return

    def _noted_sent(self, sink: AlertSink, entry: str, token: str) -> list[str]:
        try:
            self._mark_sent(entry, token, self._clock.now())
        except Exception as exc:
            return [f"{sink.name}: sent, but not noted as sent (may be sent once more): {exc}"]
        return []

    def _taken_off(self, sink: AlertSink, entries: list[str]) -> list[str]:
        """Take sent entries off the outbox; a problem line if that failed (they may be sent
        once more by the next call, never lost)."""
        if not entries:
            return []
        try:
            self._remove(entries)
        except Exception as exc:
            return [f"{sink.name}: sent, but not taken off the outbox: {exc}"]
        return []

    def _orphans(self, entries: list[_Entry], report: DeliveryReport) -> None:
        """Count the alerts queued for sinks no longer configured; drop those past the
        retention (never silently: one line per sink)."""
        now = self._clock.now()
        by_sink: dict[str, list[_Entry]] = defaultdict(list)
        for e in entries:
            by_sink[e.sink].append(e)
        keep = _span(self._retention)
        for name, waiting in sorted(by_sink.items()):
            old = [e.entry for e in waiting if now - self._queued_at(e) >= self._retention]
            if old:
                try:
                    self._remove(old)
                except Exception as exc:
                    report.notices.append(
                        f"{name}: {len(old)} alert(s) for a sink no longer configured are "
                        f"past the {keep} retention but could not be dropped: {exc}"
                    )
                    old = []
                else:
                    report.dropped[name] = len(old)
                    report.notices.append(
                        f"{name}: dropped {len(old)} alert(s) queued more than {keep} ago "
                        "for a sink no longer configured"
                    )
            if kept := len(waiting) - len(old):
                report.orphaned[name] = kept
                report.notices.append(
                    f"{name}: {kept} alert(s) wait for a sink no longer configured "
                    f"(dropped {keep} after they were queued)"
                )

    @staticmethod
    def _queued_at(entry: _Entry) -> datetime:
        return entry.queued_at or _load_alert(entry.body).at

    _REMOVE_EVERY: ClassVar[int] = 1
    """Sent alerts taken off the outbox together: at most this many go out again after a crash
    between sending and taking off."""

    @abc.abstractmethod
    def _entries(self) -> list[_Entry]:
        """What the outbox holds, oldest first."""

    @abc.abstractmethod
    def _claim(self, entry: str, token: str, now: datetime, until: datetime) -> _Claim:
        """Claim ``entry`` for ``token`` until ``until`` unless another lease holds at ``now``
        (one conditional write)."""

    @abc.abstractmethod
    def _release(self, entry: str, token: str) -> None:
        """Give back ``token``'s claim on ``entry`` (it was not sent)."""

    def _mark_sent(self, entry: str, token: str, now: datetime) -> None:
        """Note that ``entry`` was sent, for a state that takes entries off in batches."""

    @abc.abstractmethod
    def _remove(self, entries: list[str]) -> None:
        """Take entries off the outbox (delivered, or dropped past the retention)."""


def _instant(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


class SqliteAlertState(_OutboxState):
    """The active alerts in a table beside the embedded store (same file), and an outbox
    whose rows carry their claim (claimant, lease end)."""

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Clock,
        lease: timedelta = DEFAULT_LEASE,
        retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        super().__init__(clock, lease, retention)
        self._conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            # IMMEDIATE: two processes opening one file at once, only one adds the columns
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS alert_state "
                    "(id TEXT PRIMARY KEY, body TEXT NOT NULL)"
                )
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS alert_outbox (seq INTEGER PRIMARY KEY "
                    "AUTOINCREMENT, sink TEXT NOT NULL, body TEXT NOT NULL)"
                )
                # The active set's version: a save checks and bumps it (two evaluators).
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS alert_meta (name TEXT PRIMARY KEY, "
                    "value INTEGER NOT NULL)"
                )
                self._conn.execute(
                    "INSERT INTO alert_meta (name, value) VALUES ('version', 0) "
                    "ON CONFLICT (name) DO NOTHING"
                )
                have = {r[1] for r in self._conn.execute("PRAGMA table_info(alert_outbox)")}
                for column in ("queued_at REAL", "claimant TEXT", "lease_until REAL"):
                    if column.split()[0] not in have:  # an outbox from before claims
                        self._conn.execute(f"ALTER TABLE alert_outbox ADD COLUMN {column}")
                self._conn.commit()
            except BaseException:
                self._conn.rollback()
                raise

    def load(self) -> dict[str, ActiveAlert]:
        self._pending.clear()  # a new evaluation: what an unsaved one queued is recomputed
        with self._lock, self._conn:  # one read transaction: the rows and their version
            self._conn.execute("BEGIN")
            rows = self._conn.execute("SELECT id, body FROM alert_state").fetchall()
            (self._loaded,) = self._conn.execute(
                "SELECT value FROM alert_meta WHERE name = 'version'"
            ).fetchone()
        return {cid: _load(body) for cid, body in rows}

    def save(self, active: Mapping[str, ActiveAlert]) -> None:
        at = self._clock.now().timestamp()
        queued = [(sink, body, at) for sink, body in self._queued()]
        with self._lock, self._conn:  # one transaction: the set is replaced whole or not at all
            bumped = self._conn.execute(  # takes the write lock: the check holds to the commit
                "UPDATE alert_meta SET value = value + 1 WHERE name = 'version' AND value = ?",
                (self._loaded,),
            ).rowcount
            if bumped != 1:
                raise AlertStateChanged(
                    f"alert state: saved by another evaluation since loaded (version "
                    f"{self._loaded})"
                )
            self._loaded = None  # one save per load
            self._conn.execute("DELETE FROM alert_state")
            self._conn.executemany(
                "INSERT INTO alert_state (id, body) VALUES (?, ?)",
                [(cid, _dump(a)) for cid, a in active.items()],
            )
            self._conn.executemany(
                "INSERT INTO alert_outbox (sink, body, queued_at) VALUES (?, ?, ?)", queued
            )

    def _entries(self) -> list[_Entry]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, sink, body, queued_at FROM alert_outbox ORDER BY seq"
            ).fetchall()
        return [_Entry(str(seq), sink, body, _instant(at)) for seq, sink, body, at in rows]

    def _claim(self, entry: str, token: str, now: datetime, until: datetime) -> _Claim:
        with self._lock, self._conn:
            claimed = self._conn.execute(
                "UPDATE alert_outbox SET claimant = ?, lease_until = ? "
                "WHERE seq = ? AND (lease_until IS NULL OR lease_until <= ?)",
                (token, until.timestamp(), int(entry), now.timestamp()),
            ).rowcount
        # no row: another lease holds, or the entry was sent and deleted since it was read
        return _Claim.TAKEN if claimed == 1 else _Claim.HELD

    def _release(self, entry: str, token: str) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE alert_outbox SET claimant = NULL, lease_until = NULL "
                "WHERE seq = ? AND claimant = ?",
                (int(entry), token),
            )

    def _remove(self, entries: list[str]) -> None:
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

    Claims are small items of their own (``info_type = ALERTS#CLAIM``, ``date`` = entry id),
    so a claim is one small conditional write that never contends with the outbox item. Once
    sent, a claim becomes a "sent" mark kept two days (TTL on ``expires_at``): a deliverer that
    read the outbox before the entry was taken off cannot claim it again.
    """

    KEY: ClassVar[dict[str, dict[str, str]]] = {
        "info_type": {"S": "ALERTS"},
        "date": {"S": "ACTIVE"},
    }
    CLAIMS = "ALERTS#CLAIM"
    SENT_KEPT: ClassVar[timedelta] = timedelta(days=2)
    """Far longer than any delivery works from one outbox read."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        clock: Clock,
        lease: timedelta = DEFAULT_LEASE,
        retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        super().__init__(clock, lease, retention)
        self._client = client
        self._table = table_name

    def _item(self) -> tuple[dict[str, Any], list[list[Any]], dict[str, Any] | None, int]:
        """The stored active set (raw), the outbox ([[entry id, sink, alert text, queued at
        (epoch; absent before claims)], ...]), the outbox attribute as read (None: no item or
        no outbox), for a conditional write, and the active set's version (0 before any)."""
        item = self._client.get_item(TableName=self._table, Key=self.KEY, ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return {}, [], None, 0
        if "active_z" in item:
            active = json.loads(zlib.decompress(item["active_z"]["B"]))
        else:  # written before the outbox (text)
            active = json.loads(item["active"]["S"]) if "active" in item else {}
        read = item.get("outbox_z")
        outbox = json.loads(zlib.decompress(read["B"])) if read else []
        return active, outbox, read, int(item.get("version", {}).get("N", "0"))

    def load(self) -> dict[str, ActiveAlert]:
        self._pending.clear()  # a new evaluation: what an unsaved one queued is recomputed
        raw, _, _, self._loaded = self._item()
        return {cid: _load(body) for cid, body in raw.items()}

    def save(self, active: Mapping[str, ActiveAlert]) -> None:
        at = self._clock.now().timestamp()
        queued = [[uuid.uuid4().hex, sink, body, at] for sink, body in self._queued()]
        body = json.dumps({cid: _dump(a) for cid, a in active.items()}, sort_keys=True)
        loaded, self._loaded = self._loaded, None  # one save per load
        for _ in range(_OUTBOX_ATTEMPTS):
            # what earlier evaluations have not delivered stays
            _, outbox, read, version = self._item()
            if version != loaded:
                raise AlertStateChanged(
                    f"alert state: saved by another evaluation since loaded (version {loaded})"
                )
            item = {
                **self.KEY,
                "active_z": {"B": zlib.compress(body.encode())},
                "outbox_z": {"B": zlib.compress(json.dumps(outbox + queued).encode())},
                "version": {"N": str(version + 1)},
                "status": {"S": "ALERTS"},
            }
            if self._put_if_unchanged(item, read, version):
                return
        raise RuntimeError("alert state: the outbox kept changing while it was saved")

    def _put_if_unchanged(
        self, item: dict[str, Any], read: dict[str, Any] | None, version: int
    ) -> bool:
        """Put ``item`` if the outbox and the active set's version are still the ones read;
        False if either changed meanwhile (the caller reads again)."""
        names = {"#o": "outbox_z", "#v": "version"}
        values: dict[str, Any] = {}
        conditions = []
        if read is None:
            conditions.append("attribute_not_exists(#o)")
        else:
            conditions.append("#o = :read")
            values[":read"] = read
        if version == 0:  # no save yet (or an item from before versions)
            conditions.append("attribute_not_exists(#v)")
        else:
            conditions.append("#v = :v")
            values[":v"] = {"N": str(version)}
        extra: dict[str, Any] = {"ExpressionAttributeValues": values} if values else {}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                **extra,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _entries(self) -> list[_Entry]:
        _, outbox, _, _ = self._item()
        return [_Entry(e[0], e[1], e[2], _instant(e[3]) if len(e) > 3 else None) for e in outbox]

    def _claim_key(self, entry: str) -> dict[str, dict[str, str]]:
        return {"info_type": {"S": self.CLAIMS}, "date": {"S": entry}}

    def _claim(self, entry: str, token: str, now: datetime, until: datetime) -> _Claim:
        key = self._claim_key(entry)
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **key,
                    "claimant": {"S": token},
                    "lease_until": {"N": str(until.timestamp())},
                    # a claim whose entry was dropped meanwhile does not stay forever
                    "expires_at": {"N": str(int((until + self.SENT_KEPT).timestamp()))},
                },
                ConditionExpression=(
                    "attribute_not_exists(#d) OR (#u <= :now AND attribute_not_exists(#s))"
                ),
                ExpressionAttributeNames={"#d": "date", "#u": "lease_until", "#s": "sent_at"},
                ExpressionAttributeValues={":now": {"N": str(now.timestamp())}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            held = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
            return _Claim.SENT if "sent_at" in held.get("Item", {}) else _Claim.HELD
        return _Claim.TAKEN

    def _release(self, entry: str, token: str) -> None:
        try:  # a lease that ended at the epoch (UpdateItem: the Lambda's role has no DeleteItem)
            self._client.update_item(
                TableName=self._table,
                Key=self._claim_key(entry),
                UpdateExpression="SET #u = :zero",
                ConditionExpression="#c = :me AND attribute_not_exists(#s)",
                ExpressionAttributeNames={"#c": "claimant", "#s": "sent_at", "#u": "lease_until"},
                ExpressionAttributeValues={":me": {"S": token}, ":zero": {"N": "0"}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return  # no longer ours: its lease ran out and another took it

    def _mark_sent(self, entry: str, token: str, now: datetime) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                **self._claim_key(entry),
                "claimant": {"S": token},
                "sent_at": {"N": str(now.timestamp())},
                "expires_at": {"N": str(int((now + self.SENT_KEPT).timestamp()))},
            },
        )

    # One rewrite of the (compressed) outbox per 25 alerts sent, not per alert: a bad week's
    # thousand quarantines would otherwise rewrite the item a thousand times.
    _REMOVE_EVERY = 25

    def _remove(self, entries: list[str]) -> None:
        """Rewrite the outbox without ``entries``, conditionally on it being the one read (a
        concurrent save or delivery in between: read it again)."""
        gone = set(entries)
        for _ in range(_OUTBOX_ATTEMPTS):
            _, outbox, read, _ = self._item()
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
