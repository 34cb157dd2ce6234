"""Alert adapters: where the active set is kept (SQLite, DynamoDB) and where alerts go (console,
SNS). The webhook sink is in :mod:`fuelpipe.adapters.webhook`, so Lambdas never import httpx."""

from __future__ import annotations

import abc
import enum
import json
import logging
import sqlite3
import threading
import unicodedata
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from fuelpipe.adapters.sqlite_store import connect as open_sqlite
from fuelpipe.domain.alerts import (
    ActiveAlert,
    Alert,
    AlertKind,
    AlertLanguage,
    Condition,
    Severity,
    severity_rank,
    strict_json,
)
from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.domain.text import clip
from fuelpipe.ports.alerts import (
    DROPS_KEPT,
    AlertDelivery,
    AlertRejected,
    AlertSink,
    AlertState,
    AlertStateChanged,
    DeliveryReport,
    DroppedAlerts,
    SinkBacklog,
)
from fuelpipe.ports.clock import Clock

logger = logging.getLogger(__name__)

SNS_SUBJECT_MAX = 99
"""SNS takes a subject of "less than 100 characters", ASCII, with no line break or control
character: longer ones are cut (see :func:`sns_subject`)."""

_ASCII_FOR = str.maketrans(
    {
        "→": "->",
        "←": "<-",
        "±": "+/-",
        "…": "...",
        "–": "-",
        "—": "-",
        "×": "x",
        "≥": ">=",
        "≤": "<=",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
    }
)
"""The symbols alert summaries use, as ASCII (NFKD does not decompose them)."""


def sns_subject(text: str) -> str:
    """``text`` as an SNS subject a person can read: ASCII (``São Paulo`` as ``Sao Paulo``,
    ``→`` as ``->``, ``±`` as ``+/-``; anything else without an ASCII form as ``?``), control
    characters and line breaks as one space, and cut with ``...`` to
    :data:`SNS_SUBJECT_MAX` characters."""
    plain = unicodedata.normalize("NFKD", text.translate(_ASCII_FOR))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    ascii_ = plain.encode("ascii", "replace").decode()
    line = " ".join("".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in ascii_).split())
    if len(line) > SNS_SUBJECT_MAX:
        line = line[: SNS_SUBJECT_MAX - 3].rstrip() + "..."
    return line


def _dump(active: ActiveAlert) -> str:
    """An active alert's stored text; ``announced`` only when it differs from the severity
    (a fall since: texts stored before it existed read the same)."""
    c = active.condition
    body: dict[str, object] = {
        "rule": c.rule,
        "subject": c.subject,
        "summary": c.summary,
        "evidence": dict(c.evidence),
        "severity": c.severity.value,
        "since": active.since.isoformat(),
    }
    if active.announced is not None:
        body["announced"] = active.announced.value
    if c.summary_pt_br is not None:  # only when the rule wrote one: older texts read the same
        body["summary_pt_br"] = c.summary_pt_br
    return json.dumps(body, sort_keys=True)


def _load(text: str) -> ActiveAlert:
    raw = json.loads(text)
    cond = Condition(
        rule=raw["rule"],
        subject=raw["subject"],
        summary=raw["summary"],
        evidence=raw["evidence"],
        severity=Severity(raw["severity"]),
        summary_pt_br=raw.get("summary_pt_br"),  # None: stored before it, or no rule's text
    )
    announced = Severity(raw["announced"]) if raw.get("announced") else None
    return ActiveAlert(cond, datetime.fromisoformat(raw["since"]), announced)


def _dump_alert(alert: Alert) -> str:
    body = json.loads(_dump(ActiveAlert(alert.condition, alert.since)))
    if alert.previous is not None:
        body["previous"] = alert.previous.value
    if alert.key is not None:
        body["key"] = alert.key
    if alert.cleared_evidence:  # only when a rule told it: older texts read the same
        body["cleared_evidence"] = dict(alert.cleared_evidence)
    return json.dumps({**body, "kind": alert.kind.value, "at": alert.at.isoformat()})


def _load_alert(text: str) -> Alert:
    active = _load(text)
    raw = json.loads(text)
    previous = Severity(raw["previous"]) if raw.get("previous") else None
    return Alert(
        AlertKind(raw["kind"]),
        active.condition,
        datetime.fromisoformat(raw["at"]),
        active.since,
        previous,
        raw.get("key"),  # None: queued before alerts kept a key
        raw.get("cleared_evidence") or {},  # none: queued before it, or no rule told one
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
        # its own key, kept with it: a condition fired, cleared and fired again at one instant
        # (a pinned clock) is two alerts to a receiver deduping on the webhook's key
        self._pending.append((replace(alert, key=alert.key or uuid.uuid4().hex), self.sinks))


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
    sent: bool = False
    """Noted as sent but not taken off yet (SQLite's mark): only to be taken off."""
    failed_at: datetime | None = None
    """When a send of it first failed (None: never, or noted before the outbox kept it)."""


class _Stuck(NamedTuple):
    """What a sink that failed left: the entry it failed and those after it."""

    entries: list[_Entry]
    since: datetime | None
    """When a send of the first of them first failed (None if that could not be noted)."""
    error: str


DEFAULT_LEASE = timedelta(minutes=5)
"""How long a claim keeps other deliverers off an entry: longer than one send (the webhook's
bounded attempts, each with a deadline for its whole answer, end within two minutes:
``fuelpipe.adapters.webhook.longest_send_s``), short enough that a crashed deliverer's alert
goes out soon after."""

DEFAULT_RETENTION = timedelta(days=7)
"""How long an alert waits for a sink that does not take it: one no longer configured (counted
from when it was queued), or one that keeps failing, a webhook down for weeks (counted from the
first failed attempt, so alerts queued while nothing tried to send them, ``watch`` stopped, are
not dropped at the first failure after it). Past it the alert is dropped, with a line."""


def _span(delta: timedelta) -> str:
    """``7 days``, ``36 hours``, ``90 seconds``: a retention in words."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds} seconds"


def _stamp(at: datetime) -> str:
    """São Paulo time with its offset, as the alerts and `watch`'s heartbeat write instants."""
    return sao_paulo_iso(at, "seconds")


def _between(oldest: datetime, newest: datetime) -> str:
    """``queued 2025-03-10T09:00:00-03:00 to 2025-03-11T05:00:00-03:00``: what a drop line
    names, so two drops of equal counts are two lines (watch prints a notice when it changes)."""
    if oldest == newest:
        return f"queued {_stamp(oldest)}"
    return f"queued {_stamp(oldest)} to {_stamp(newest)}"


DROP_LINE_MAX = 500
"""Characters of a drop's line an alert state keeps (the line the report gave is whole)."""


def _backlog(entries: Iterable[_Entry]) -> list[SinkBacklog]:
    """What waits for each sink (sent entries not taken off yet are not waiting)."""
    by_sink: dict[str, list[_Entry]] = defaultdict(list)
    for e in entries:
        if not e.sent:
            by_sink[e.sink].append(e)
    return [
        SinkBacklog(
            sink,
            len(waiting),
            min(_OutboxState._queued_at(e) for e in waiting),
            min((e.failed_at for e in waiting if e.failed_at is not None), default=None),
        )
        for sink, waiting in sorted(by_sink.items())
    ]


def _kept_line(note: DroppedAlerts) -> DroppedAlerts:
    line = clip(note.line, DROP_LINE_MAX)
    return note if line == note.line else replace(note, line=line)


class _OutboxState(AlertState):
    """An alert state that keeps the alerts still to send beside the active set.

    With :meth:`outbox` as the evaluation's only sink, the alerts to send are saved with the
    new active set, all or nothing, and :meth:`deliver` sends them afterwards, each to each
    sink once (removed once that sink took it). A crash after the save loses nothing, a sink
    that is down neither blocks nor repeats the others, and an alert resent after a crash is
    the same alert (the key it was queued with, so the same webhook ``delivery_id``).

    Several deliverers may share the state (two ``watch`` processes on one file, two Lambda
    invocations on one table): each claims an entry with a conditional write (its token and a
    lease from the injected clock) before sending it, and skips entries whose lease holds. A
    deliverer that dies holding a claim leaves a lease that expires; the next one sends it then.

    After a send, the entry is noted as sent (a durable mark) and then taken off. Where each
    step can fail:

    - killed after the send, before the mark: after the lease another deliverer sends it once
      more, the same alert with the same webhook ``Idempotency-Key`` (the receiver can tell);
    - the mark fails (a file locked past the busy timeout, a throttled table): this deliverer
      remembers what it sent and never sends it again, only tries the mark and the taking off
      again on its next calls; another deliverer could send it once more only if this one's
      lease runs out before any of its later calls manages the mark;
    - taking off fails: the mark stands, so every deliverer only takes it off, never resends.

    The outbox is bounded: alerts for a sink no longer configured are dropped once queued
    longer ago than the retention; alerts a configured sink does not take are dropped once its
    first failed attempt at the oldest of them (noted with the entry) is older than the
    retention, those of them queued longer ago than the retention. Each drop is a line naming
    the sink, the count and the queued instants; nothing is dropped without one.
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
        self._unnoted: set[str] = set()
        """Entries this deliverer sent but could not note as sent: never sent again by it."""

    def outbox(self, sinks: Iterable[str]) -> AlertSink:
        """A sink that queues alerts for the named sinks; they are stored by ``save``."""
        return _Outbox(self._pending, tuple(sinks))

    def delivery(self) -> AlertDelivery:
        return AlertDelivery(_backlog(self._entries()), self._drops())

    def _queued(self) -> list[tuple[str, str]]:
        """(sink, alert text) of what this evaluation queued; forgotten once taken."""
        out = [(sink, _dump_alert(a)) for a, sinks in self._pending for sink in sinks]
        self._pending.clear()
        return out

    def deliver(self, sinks: Sequence[AlertSink]) -> DeliveryReport:
        """Send what the outbox holds to each sink in order, claiming each entry first and
        removing it once its sink took it; a sink that fails keeps the rest of its alerts for
        the next call, except, once its first failure at the oldest of them is older than the
        retention, those queued longer ago than that, which are dropped. Alerts for sinks not
        in ``sinks`` are counted, and dropped once queued longer ago than the retention.

        Cuts a save made (DynamoDB) are logged when this call starts and forgotten only when
        it ends: a deliverer killed in between (a Lambda timing out) has logged them, and the
        next call reports them again."""
        report = DeliveryReport()
        token = uuid.uuid4().hex  # this call's claims: any other call is another claimant
        entries = self._entries()
        self._unnoted &= {e.entry for e in entries}  # the rest were taken off meanwhile
        self._report_cut(report)
        for sink in sinks:
            stuck = self._deliver_to(
                sink, [e for e in entries if e.sink == sink.name], token, report
            )
            if stuck is not None:
                self._expire(sink.name, stuck, token, report)
        names = {s.name for s in sinks}
        self._orphans([e for e in entries if e.sink not in names], token, report)
        self._forget_cut()
        return report

    def _was_sent(self, e: _Entry) -> bool:
        return e.sent or e.entry in self._unnoted

    def _deliver_to(
        self, sink: AlertSink, entries: list[_Entry], token: str, report: DeliveryReport
    ) -> _Stuck | None:
        """Deliver ``entries`` in order; what a failed send left (itself and those after it),
        or None when the sink took them all.

        An alert the sink rejects (:class:`AlertRejected`) is set aside only once the sink has
        taken another alert in this call: a receiver that refuses every body alike (Slack's
        incoming webhook answers 400 to any body not in its format) is not refusing that one.
        After a rejection the next alert is tried; if the sink rejects that too before taking
        any, it refuses every alert: all are kept queued, in order, with a line saying so.

        An alert another deliverer's claim holds (one killed mid-send leaves it for the lease)
        is skipped, and so is every later alert about the same condition, so a receiver never
        gets a condition's CLEARED before its FIRING; the others go on."""
        done: list[str] = []
        left: _Stuck | None = None
        accepted = False  # the sink took an alert in this call
        held: set[str] = set()  # conditions with an alert under another deliverer's claim
        rejected: list[tuple[int, _Entry, AlertRejected]] = []  # not set aside yet
        for i, e in enumerate(entries):
            if self._was_sent(e):  # sent before: only take it off (and try the mark again)
                self._note_quietly(e, token)
                done.append(e.entry)
            else:
                claim = self._claim_in_order(sink.name, e, token, held, report)
                if claim is None:  # the next call tries again
                    break
                if claim is _Claim.HELD:
                    continue
                if claim is _Claim.TAKEN:
                    problem = self._send(sink, e, token, report)
                    if isinstance(problem, AlertRejected):
                        if accepted:  # it takes others: this one is refused for good
                            self._set_aside(sink.name, e, token, problem, report)
                            continue
                        rejected.append((i, e, problem))
                        if len(rejected) < 2:  # try the next: does it take any alert?
                            continue
                        left = self._refused_all(sink.name, entries, rejected, token, report)
                        rejected = []
                        break
                    if problem is not None:  # the next call tries again, in the same order
                        tried = [*rejected, (i, e, problem)]
                        left = self._outage(sink.name, entries, tried, token, problem, report)
                        rejected = []
                        break
                    accepted = True
                    for _, r, why in rejected:  # it takes others: those were refused for good
                        self._set_aside(sink.name, r, token, why, report)
                    rejected = []
                done.append(e.entry)
            if len(done) >= self._REMOVE_EVERY:
                report.failed += self._taken_off(sink.name, done)
                done = []
        report.failed += self._taken_off(sink.name, done)
        # only that one was tried: kept until the sink takes another
        return self._refused_all(sink.name, entries, rejected, token, report) or left

    def _claim_in_order(
        self, sink: str, e: _Entry, token: str, held: set[str], report: DeliveryReport
    ) -> _Claim | None:
        """Claim ``e`` for ``token``; HELD (counted in ``report``) when another deliverer's
        claim holds it (its condition's id then joins ``held``) or an earlier alert about the
        same condition, in ``held``: a CLEARED is not sent before its FIRING. None when the
        claim failed (a line in ``report``)."""
        if held and _load_alert(e.body).condition.id in held:
            report.held += 1
            return _Claim.HELD
        now = self._clock.now()
        try:
            claim = self._claim(e.entry, token, now, now + self._lease)
        except Exception as exc:
            report.failed.append(f"{sink}: could not claim an alert: {exc}")
            return None
        if claim is _Claim.HELD:  # being sent, or left by a deliverer that died
            report.held += 1
            until = now + self._lease  # that claim was taken by now: it ends by then
            report.held_until = min(report.held_until or until, until)
            held.add(_load_alert(e.body).condition.id)
        return claim

    def _send(
        self, sink: AlertSink, e: _Entry, token: str, report: DeliveryReport
    ) -> Exception | None:
        """Send a claimed entry and note it as sent; the error if the sink did not take it."""
        try:
            sink.send(_load_alert(e.body))
        except Exception as exc:
            return exc
        report.sent += 1
        report.failed += self._noted_sent(sink, e.entry, token)
        return None

    def _outage(
        self,
        name: str,
        entries: list[_Entry],
        tried: Sequence[tuple[int, _Entry, Exception]],
        token: str,
        exc: Exception,
        report: DeliveryReport,
    ) -> _Stuck:
        """A send failed in a way that may pass: give back the claims of what this call tried
        and did not deliver (a rejected one waiting to be set aside too) and keep them all
        queued from the first, in order."""
        report.failed.append(f"{name}: {exc}")
        return self._kept_queued(entries, tried, token, exc)

    def _refused_all(
        self,
        name: str,
        entries: list[_Entry],
        rejected: list[tuple[int, _Entry, AlertRejected]],
        token: str,
        report: DeliveryReport,
    ) -> _Stuck | None:
        """The sink rejected every alert tried in this call and took none: a sink-wide problem
        (a URL or a body format it does not take), not these alerts'. Keep them all queued,
        in order, and say so; the retention counts from the first one's first failure. None
        when none was rejected."""
        if not rejected:
            return None
        start, _, exc = rejected[0]
        report.failed.append(
            f"{name}: the sink refuses every alert tried ({len(rejected)}, none taken), so "
            f"none is set aside; check its URL and the body format it expects "
            f"({len(entries) - start} alert(s) kept queued): {exc}"
        )
        return self._kept_queued(entries, rejected, token, exc)

    def _kept_queued(
        self,
        entries: list[_Entry],
        tried: Sequence[tuple[int, _Entry, Exception]],
        token: str,
        exc: Exception,
    ) -> _Stuck:
        """Give back the claims of ``tried`` (delivered none) and keep every entry from the
        first of them queued, in order, its retention counted from its first failure."""
        for _, r, _ in tried:
            self._release_quietly(r.entry, token)
        start, first, _ = tried[0]
        since = first.failed_at or self._failed_quietly(first.entry)
        return _Stuck(entries[start:], since, str(exc))

    def _set_aside(
        self, name: str, e: _Entry, token: str, exc: AlertRejected, report: DeliveryReport
    ) -> None:
        """Drop an alert the sink rejected for good, with a line naming it and the sink's
        answer, so it does not hold up the alerts behind it (an outage does, to keep their
        order); if it cannot be dropped now, give the claim back: the next call tries again."""
        why = f"the sink rejected, not retried ({_load_alert(e.body).subject_line()}): {exc}"
        if not self._drop(name, [e], why, token, report):
            self._release_quietly(e.entry, token)

    def _release_quietly(self, entry: str, token: str) -> None:
        """Give a claim back after a failed send, so the next call need not wait for the lease;
        if that fails too, the lease runs out."""
        try:
            self._release(entry, token)
        except Exception:  # the lease expires instead: later, never lost
            return

    def _failed_quietly(self, entry: str, at: datetime | None = None) -> datetime | None:
        """Note a failed send of ``entry`` at ``at`` (now); when one first failed, or None if
        that could not be noted (nothing is dropped then: the retention starts later)."""
        try:
            return self._note_failed(entry, at or self._clock.now())
        except Exception:  # kept longer, never dropped early
            return None

    def _note_quietly(self, e: _Entry, token: str) -> None:
        """Try again to mark what this deliverer sent (unless marked); it stays remembered
        either way."""
        if e.sent:
            return
        try:
            self._mark_sent(e.entry, token, self._clock.now())
        except Exception:  # still remembered: taken off below, or tried again next call
            return

    def _noted_sent(self, sink: AlertSink, entry: str, token: str) -> list[str]:
        try:
            self._mark_sent(entry, token, self._clock.now())
        except Exception as exc:
            self._unnoted.add(entry)
            return [
                f"{sink.name}: sent, but not noted as sent (not sent again by this process; "
                f"another may send it once more after the {_span(self._lease)} lease): {exc}"
            ]
        return []

    def _taken_off(self, sink: str, entries: list[str]) -> list[str]:
        """Take sent entries off the outbox; a problem line if that failed (noted as sent,
        they are only taken off by a later call, never sent again)."""
        if not entries:
            return []
        try:
            self._remove(entries)
        except Exception as exc:
            return [f"{sink}: sent, but not taken off the outbox (tried again later): {exc}"]
        self._unnoted.difference_update(entries)
        return []

    def _expire(self, name: str, stuck: _Stuck, token: str, report: DeliveryReport) -> None:
        """Drop what a sink that just failed has left, once its first failure at the oldest of
        them is older than the retention: those queued longer ago than the retention. The
        outbox of a sink down for weeks does not grow without end, and alerts that waited while
        nothing tried to send them (``watch`` stopped) are not dropped at the first failure."""
        now = self._clock.now()
        if stuck.since is None or now - stuck.since < self._retention:
            return
        old = [
            e
            for e in stuck.entries
            if not self._was_sent(e) and now - self._queued_at(e) >= self._retention
        ]
        if old:
            why = (
                f"queued more than {_span(self._retention)} ago, the sink failing since "
                f"{_stamp(stuck.since)} (last: {stuck.error})"
            )
            if gone := self._drop(name, old, why, token, report):
                rest = [e for e in stuck.entries if e.entry not in gone and not self._was_sent(e)]
                if rest:  # the next in line inherits the outage's start: it is not restarted
                    self._failed_quietly(rest[0].entry, stuck.since)

    def _orphans(self, entries: list[_Entry], token: str, report: DeliveryReport) -> None:
        """Count the alerts queued for sinks no longer configured; drop those past the
        retention (never silently: one line per sink), except those another deliverer (one
        given that sink) holds a live claim on: it is sending them."""
        now = self._clock.now()
        by_sink: dict[str, list[_Entry]] = defaultdict(list)
        sent: dict[str, list[str]] = defaultdict(list)
        for e in entries:
            if self._was_sent(e):  # delivered before the sink was removed: just take it off
                sent[e.sink].append(e.entry)
            else:
                by_sink[e.sink].append(e)
        for name, done in sorted(sent.items()):
            report.failed += self._taken_off(name, done)
        keep = _span(self._retention)
        for name, waiting in sorted(by_sink.items()):
            old = [e for e in waiting if now - self._queued_at(e) >= self._retention]
            why = f"queued more than {keep} ago for a sink no longer configured"
            dropped = len(self._drop(name, old, why, token, report)) if old else 0
            if kept := len(waiting) - dropped:
                report.orphaned[name] = kept
                report.notices.append(
                    f"{name}: {kept} alert(s) wait for a sink no longer configured "
                    f"(dropped {keep} after they were queued)"
                )

    def _drop(
        self, name: str, old: list[_Entry], why: str, token: str, report: DeliveryReport
    ) -> set[str]:
        """Take ``old`` off the outbox with a line saying how many, why and when they were
        queued (or why they could not be); the entries dropped.

        Each is claimed first (``token``'s claim, as for a send): one another deliverer holds
        a live claim on is being sent, or was sent, so it is left alone, never both sent and
        reported dropped; and once claimed here, no other deliverer sends it (a claim only
        holds for an entry still in the outbox)."""
        now = self._clock.now()
        taken = [e for e in old if self._claimed_quietly(e.entry, token, now)]
        if not taken:
            return set()
        instants = [self._queued_at(e) for e in taken]
        when = _between(min(instants), max(instants))
        line = f"{name}: dropped {len(taken)} alert(s) {why} ({when})"
        try:  # the line is kept with the drop, for the health view to show afterwards
            self._remove([e.entry for e in taken], DroppedAlerts(now, name, len(taken), line))
        except Exception as exc:
            for e in taken:
                self._release_quietly(e.entry, token)
            report.notices.append(
                f"{name}: {len(taken)} alert(s) {why} ({when}) could not be dropped: {exc}"
            )
            return set()
        report.dropped[name] = report.dropped.get(name, 0) + len(taken)
        report.notices.append(line)
        return {e.entry for e in taken}

    def _claimed_quietly(self, entry: str, token: str, now: datetime) -> bool:
        """Claim ``entry`` for ``token`` (again, if it holds it already); False when another
        deliverer's claim holds, it was sent, it is gone, or the claim failed."""
        try:
            return self._claim(entry, token, now, now + self._lease) is _Claim.TAKEN
        except Exception:  # not dropped now: the next call tries again
            return False

    def _report_cut(self, report: DeliveryReport) -> None:
        """Report (and log) alerts a save cut to keep the state under a size bound
        (DynamoDB's)."""

    def _forget_cut(self) -> None:
        """At the end of a completed delivery: clear the cuts :meth:`_report_cut` reported."""

    @staticmethod
    def _queued_at(entry: _Entry) -> datetime:
        return entry.queued_at or _load_alert(entry.body).at

    _REMOVE_EVERY: ClassVar[int] = 1
    """Sent alerts taken off the outbox together (each is noted as sent first, so a batch
    that is not taken off is never sent again)."""

    @abc.abstractmethod
    def _entries(self) -> list[_Entry]:
        """What the outbox holds, oldest first."""

    @abc.abstractmethod
    def _claim(self, entry: str, token: str, now: datetime, until: datetime) -> _Claim:
        """Claim ``entry`` for ``token`` until ``until`` unless another token's lease holds at
        ``now`` or it was sent (SENT); HELD too when ``entry`` is no longer in the outbox
        (dropped or cut meanwhile): only an entry still queued is sent."""

    @abc.abstractmethod
    def _release(self, entry: str, token: str) -> None:
        """Give back ``token``'s claim on ``entry`` (it was not sent)."""

    @abc.abstractmethod
    def _mark_sent(self, entry: str, token: str, now: datetime) -> None:
        """Note durably that ``entry`` was sent: no deliverer claims it again, one that finds
        it only takes it off."""

    @abc.abstractmethod
    def _remove(self, entries: list[str], dropped: DroppedAlerts | None = None) -> None:
        """Take entries off the outbox (delivered, or ``dropped``: then its line is kept, with
        the removal, among the latest :data:`DROPS_KEPT`)."""

    @abc.abstractmethod
    def _drops(self) -> list[DroppedAlerts]:
        """The latest :data:`DROPS_KEPT` drops, newest first."""

    @abc.abstractmethod
    def _note_failed(self, entry: str, now: datetime) -> datetime | None:
        """Note durably that a send of ``entry`` failed at ``now`` unless one was noted before;
        when the first failed (None if ``entry`` is gone)."""


def _instant(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=30.0, check_same_thread=False)


class SqliteAlertReader:
    """The active alerts of an embedded store's file, read only (the dashboard): nothing is
    created or written; a file `watch` never alerted from reads as no active alert."""

    def __init__(self, path: Path | str) -> None:
        self._path = Path(path)

    def load(self) -> dict[str, ActiveAlert]:
        if not self._path.exists():
            return {}
        conn = open_sqlite(self._path, "", read_only=True)  # a read-only folder too
        try:
            rows = conn.execute("SELECT id, body FROM alert_state").fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            rows = []
        finally:
            conn.close()
        return {cid: _load(body) for cid, body in rows}

    def delivery(self) -> AlertDelivery:
        if not self._path.exists():
            return AlertDelivery()
        conn = open_sqlite(self._path, "", read_only=True)
        try:
            return AlertDelivery(_backlog(_sqlite_entries(conn)), _sqlite_drops(conn))
        finally:
            conn.close()


def _missing(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` is a table or column a file `watch` wrote before it had them lacks."""
    return "no such table" in str(exc) or "no such column" in str(exc)


def _rows_if_kept(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """``sql``'s rows; none when the file is from before its table or columns (:func:`_missing`)."""
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if not _missing(exc):
            raise
        return []


def _sqlite_entries(conn: sqlite3.Connection) -> list[_Entry]:
    """The outbox rows, oldest first (none in a file without the outbox's table or columns)."""
    rows = _rows_if_kept(
        conn,
        "SELECT seq, sink, body, queued_at, sent_at IS NOT NULL, failed_at "
        "FROM alert_outbox ORDER BY seq",
    )
    return [
        _Entry(str(seq), sink, body, _instant(at), bool(sent), _instant(failed))
        for seq, sink, body, at, sent, failed in rows
    ]


def _sqlite_drops(conn: sqlite3.Connection) -> list[DroppedAlerts]:
    """The latest drops, newest first (none in a file from before they were kept)."""
    rows = _rows_if_kept(
        conn,
        "SELECT at, sink, count, line FROM alert_dropped ORDER BY at DESC, rowid DESC LIMIT ?",
        (DROPS_KEPT,),
    )
    return [
        DroppedAlerts(datetime.fromtimestamp(at, UTC), sink, n, line) for at, sink, n, line in rows
    ]


class SqliteAlertState(_OutboxState):
    """The active alerts in a table beside the embedded store (same file), and an outbox
    whose rows carry their claim (claimant, lease end) and, once sent, ``sent_at``.

    The mark is its own short write right after the send, before the DELETE: a DELETE that
    fails (the file locked past the busy timeout) leaves a row marked sent, which every later
    deliverer only deletes (the claim refuses it), as DynamoDB's "sent" claims do. The
    windows are the base class's: killed between send and mark, the alert goes once more with
    the same ``Idempotency-Key``; a mark that fails is remembered by this deliverer.
    ``connect`` opens the connection (tests inject one whose writes fail).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Clock,
        lease: timedelta = DEFAULT_LEASE,
        retention: timedelta = DEFAULT_RETENTION,
        connect: Callable[[str], sqlite3.Connection] = _connect,
    ) -> None:
        super().__init__(clock, lease, retention)
        self._conn = connect(str(path))
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
                self._conn.execute(  # the latest drops' lines, for the health view
                    "CREATE TABLE IF NOT EXISTS alert_dropped (at REAL NOT NULL, sink TEXT "
                    "NOT NULL, count INTEGER NOT NULL, line TEXT NOT NULL)"
                )
                have = {r[1] for r in self._conn.execute("PRAGMA table_info(alert_outbox)")}
                for column in (
                    "queued_at REAL",
                    "claimant TEXT",
                    "lease_until REAL",
                    "sent_at REAL",
                    "failed_at REAL",
                ):
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
            return _sqlite_entries(self._conn)

    def _claim(self, entry: str, token: str, now: datetime, until: datetime) -> _Claim:
        with self._lock, self._conn:
            claimed = self._conn.execute(
                "UPDATE alert_outbox SET claimant = ?, lease_until = ? WHERE seq = ? "
                "AND sent_at IS NULL AND (lease_until IS NULL OR lease_until <= ? "
                "OR claimant = ?)",
                (token, until.timestamp(), int(entry), now.timestamp(), token),
            ).rowcount
            if claimed == 1:
                return _Claim.TAKEN
            sent = self._conn.execute(
                "SELECT 1 FROM alert_outbox WHERE seq = ? AND sent_at IS NOT NULL", (int(entry),)
            ).fetchone()
        # sent since it was read (not deleted yet); else another lease holds, or it is gone
        return _Claim.SENT if sent else _Claim.HELD

    def _release(self, entry: str, token: str) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE alert_outbox SET claimant = NULL, lease_until = NULL "
                "WHERE seq = ? AND claimant = ?",
                (int(entry), token),
            )

    def _mark_sent(self, entry: str, token: str, now: datetime) -> None:
        with self._lock, self._conn:  # whoever holds the claim now: it was sent
            self._conn.execute(
                "UPDATE alert_outbox SET sent_at = ? WHERE seq = ?", (now.timestamp(), int(entry))
            )

    def _remove(self, entries: list[str], dropped: DroppedAlerts | None = None) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                "DELETE FROM alert_outbox WHERE seq = ?", [(int(e),) for e in entries]
            )
            if dropped is not None:
                kept = _kept_line(dropped)
                self._conn.execute(
                    "INSERT INTO alert_dropped (at, sink, count, line) VALUES (?, ?, ?, ?)",
                    (kept.at.timestamp(), kept.sink, kept.count, kept.line),
                )
                self._conn.execute(
                    "DELETE FROM alert_dropped WHERE rowid NOT IN (SELECT rowid FROM "
                    "alert_dropped ORDER BY at DESC, rowid DESC LIMIT ?)",
                    (DROPS_KEPT,),
                )

    def _drops(self) -> list[DroppedAlerts]:
        with self._lock:
            return _sqlite_drops(self._conn)

    def _note_failed(self, entry: str, now: datetime) -> datetime | None:
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE alert_outbox SET failed_at = COALESCE(failed_at, ?) WHERE seq = ?",
                (now.timestamp(), int(entry)),
            )
            row = self._conn.execute(
                "SELECT failed_at FROM alert_outbox WHERE seq = ?", (int(entry),)
            ).fetchone()
        return None if row is None else _instant(row[0])

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


ITEM_BUDGET = 300_000
"""Bytes the DynamoDB alert item may take (DynamoDB refuses items over 400 KB): a save that
would pass it first drops the outbox's oldest alerts, so saving the active set never fails
because of alerts a sink has not taken. The active set is never cut: it holds only conditions
that hold now, at most a few hundred a rule (the rules are capped, and quarantines alert per
series, not per date), and a save whose own alerts do not fit defers them, undone in the set
(:meth:`DynamoAlertState._admit`), so it only grows by what fits."""

LEGACY_ACTIVE_BUDGET = 100_000
"""Bytes of :data:`ITEM_BUDGET` the active set may also take as plain JSON text, the
``active`` attribute: every release before dea0b23 (2026-12-01, when the set was first
compressed as ``active_z``; f10d4ec among them) reads ``item["active"]["S"]`` unguarded and
fails on an item without it (KeyError), and such a release runs beside this one while a deploy
switches the functions one by one, and again after a rollback to it. Some 75 alerts as text
(~300 filled the 400 KB item so), far more than a healthy pipeline holds: a larger set is saved
without the copy (logged), and such a release cannot read the item until the set is back under
it (docs/DEPLOY.md, "Alert state across releases")."""


class _Read(NamedTuple):
    """The DynamoDB alert item as one consistent read."""

    active: dict[str, Any]
    """The stored active set (raw)."""
    outbox: list[list[Any]]
    """[[entry id, sink, alert text, queued at, first failed at], ...]: epochs; the queued
    instant is absent (or null) before claims, the failed one absent until a send fails."""
    attribute: dict[str, Any] | None
    """The outbox attribute as read (None: no item or no outbox), for a conditional write."""
    version: int
    """The active set's version (0 before any)."""
    cuts: list[list[Any]]
    """[[sink, count, oldest queued, newest queued (epochs), budget in KB], ...]: one per sink,
    what saves cut to keep the item under its budget and no delivery has reported yet."""
    cuts_attribute: dict[str, Any] | None
    drops: list[list[Any]]
    """[[dropped at (epoch), sink, count, line], ...], newest first: the latest drops."""


def _with_drops(drops: list[list[Any]], *notes: DroppedAlerts) -> list[list[Any]]:
    """``drops`` (as stored) with ``notes`` added, newest first, the latest
    :data:`DROPS_KEPT` kept."""
    new = [[n.at.timestamp(), n.sink, n.count, n.line] for n in map(_kept_line, notes)]
    return sorted([*new, *drops], key=lambda d: -d[0])[:DROPS_KEPT]


def _unpack_drop(raw: list[Any]) -> DroppedAlerts:
    return DroppedAlerts(datetime.fromtimestamp(raw[0], UTC), raw[1], int(raw[2]), raw[3])


def _pack(entries: list[list[Any]]) -> bytes:
    return zlib.compress(json.dumps(entries).encode())


def _unpack(raw: list[Any]) -> _Entry:
    """An outbox entry as stored in the DynamoDB item (no queued instant before claims, no
    failed one before a send of it failed)."""
    return _Entry(
        raw[0],
        raw[1],
        raw[2],
        _instant(raw[3]) if len(raw) > 3 else None,
        failed_at=_instant(raw[4]) if len(raw) > 4 else None,
    )


class DynamoAlertState(_OutboxState):
    """The active alerts as one item of the single table (``info_type = ALERTS``), with the
    outbox in the same item: one PutItem saves both, all or nothing.

    Both are zlib-compressed JSON (binary attributes): alert texts repeat their keys and
    reasons, so a few thousand alerts fit DynamoDB's 400 KB item where ~300 did as text. Every
    write is conditional on the outbox it read, so a save and a delivery running side by side
    never bring back a delivered alert or drop a queued one.

    The outbox stays in this one item rather than one item per entry (an ``ALERTS#OUTBOX``
    partition): a save must store the new active set and its alerts all or nothing, and one
    conditional PutItem does that for any number of alerts, where items per entry would need a
    transaction (at most 100 items: a bad week queues a thousand). The price is the item's
    size, so a save keeps it under ``item_budget``: past it, the outbox's oldest alerts (those
    of a sink that has not been taking them: one that takes them empties its share at every
    delivery) are cut, those already sent first and without a line, one under a live claim
    last, each claimed by the save before it writes (see :meth:`_fit`), and the next
    delivery logs and reports each cut with a line (the lines wait in the item until a
    delivery completes, so neither a crash between the save and the delivery nor one during
    the delivery loses them).

    Claims are small items of their own (``info_type = ALERTS#CLAIM``, ``date`` = entry id),
    so a claim is one small conditional write that never contends with the outbox item. Once
    sent, a claim becomes a "sent" mark kept two days (TTL on ``expires_at``): a deliverer that
    read the outbox before the entry was taken off cannot claim it again.

    Older releases read the item too (a deploy runs them beside this one, a rollback brings
    them back): beside ``active_z`` a save keeps the set as the plain text they read
    (``active``) while it fits :data:`LEGACY_ACTIVE_BUDGET` (see :meth:`_legacy_copy`).
    """

    # Wire values by hand: one S, N or B each (float stamps too, which TypeSerializer refuses).
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
        item_budget: int = ITEM_BUDGET,
    ) -> None:
        super().__init__(clock, lease, retention)
        self._client = client
        self._table = table_name
        self._budget = item_budget
        self._cuts_read: tuple[list[list[Any]], dict[str, Any] | None] = ([], None)
        self._stored: dict[str, str] = {}
        """The active set the last ``load`` read, as stored (condition id to its text)."""

    def _item(self) -> _Read:
        item = self._client.get_item(TableName=self._table, Key=self.KEY, ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return _Read({}, [], None, 0, [], None, [])
        if "active_z" in item:
            active = json.loads(zlib.decompress(item["active_z"]["B"]))
        else:  # written before the outbox (text)
            active = json.loads(item["active"]["S"]) if "active" in item else {}
        read = item.get("outbox_z")
        outbox = json.loads(zlib.decompress(read["B"])) if read else []
        cuts = item.get("outbox_cuts")
        drops = item.get("alert_drops")
        return _Read(
            active,
            outbox,
            read,
            int(item.get("version", {}).get("N", "0")),
            json.loads(cuts["S"]) if cuts else [],
            cuts,
            json.loads(drops["S"]) if drops else [],
        )

    def load(self) -> dict[str, ActiveAlert]:
        self._pending.clear()  # a new evaluation: what an unsaved one queued is recomputed
        read = self._item()
        self._loaded = read.version
        self._stored = dict(read.active)
        return {cid: _load(body) for cid, body in read.active.items()}

    def save(self, active: Mapping[str, ActiveAlert]) -> None:
        """Store ``active`` and queue this evaluation's alerts in one conditional PutItem.

        Past the budget, the outbox's older alerts are cut first (:meth:`_fit`); this
        evaluation's own are never cut: those that do not fit even then are deferred
        (:meth:`_admit`), their change of the active set undone, so they are queued by a later
        evaluation, never recorded as fired (or cleared) without being queued."""
        at = self._clock.now().timestamp()
        groups = [
            (alert, [[uuid.uuid4().hex, sink, _dump_alert(alert), at] for sink in sinks])
            for alert, sinks in self._pending
        ]
        self._pending.clear()
        loaded, self._loaded = self._loaded, None  # one save per load
        active_z, queued = self._admit(active, groups)
        legacy = self._legacy_copy(active_z, queued)
        token = uuid.uuid4().hex  # this save's claims on the entries it cuts
        claimed: set[str] = set()
        kept = claimed  # claims to give back at the end: all of them unless a put went through
        try:
            for _ in range(_OUTBOX_ATTEMPTS):
                # what earlier evaluations have not delivered stays
                read = self._item()
                if read.version != loaded:
                    raise AlertStateChanged(
                        f"alert state: saved by another evaluation since loaded (version {loaded})"
                    )
                drops = json.dumps(read.drops)  # kept: each save puts the item whole
                outbox_z, gone, cut = self._fit(
                    self._budget - len(active_z) - len(legacy or "") - len(drops),
                    read.outbox,
                    queued,
                    token,
                    claimed,
                )
                cuts = self._with_cut(read.cuts, cut)
                if cut:
                    drops = json.dumps(_with_drops(read.drops, *self._cut_notes(cut)))
                item = {
                    **self.KEY,
                    "active_z": {"B": active_z},
                    **({"active": {"S": legacy}} if legacy is not None else {}),
                    "outbox_z": {"B": outbox_z},
                    "version": {"N": str(read.version + 1)},
                    "status": {"S": "ALERTS"},
                    **({"outbox_cuts": {"S": json.dumps(cuts)}} if cuts else {}),
                    **({"alert_drops": {"S": drops}} if read.drops or cut else {}),
                }
                if self._put_if_unchanged(item, read.attribute, read.version):
                    kept = claimed - gone  # a claim on a cut entry stays: it keeps others off
                    return
            raise RuntimeError("alert state: the outbox kept changing while it was saved")
        finally:
            for entry in kept:
                self._release_quietly(entry, token)

    _ROOM_KEPT: ClassVar[int] = 4_096
    """Bytes of the budget kept for the item's keys, version and cut lines."""

    def _legacy_copy(self, active_z: bytes, queued: list[list[Any]]) -> str | None:
        """The active set as the plain JSON text releases before dea0b23 read (``active``),
        or None when it takes more than :data:`LEGACY_ACTIVE_BUDGET` or than the budget leaves
        beside the compressed set and this save's own alerts (logged). The copy comes after
        those (:meth:`_admit` never defers an alert for it) and before the outbox's older
        alerts (:meth:`_fit` cuts them to make room): a sink down for days does not take it."""
        # Copy, not a rollback-time format check: also covers mid-deploy and by-hand rollbacks.
        text = zlib.decompress(active_z)  # the very JSON compressed: ASCII, one byte a char
        room = self._budget - self._ROOM_KEPT - len(active_z) - len(_pack(queued))
        if len(text) <= min(LEGACY_ACTIVE_BUDGET, room):
            return text.decode()
        logger.warning(
            "alert state: the active set as text (%d KB) is past the %d KB its plain copy may "
            "take: saved without it, so releases before dea0b23 cannot read the alert item "
            "until the set is smaller (docs/DEPLOY.md)",
            len(text) // 1000,
            min(LEGACY_ACTIVE_BUDGET, max(room, 0)) // 1000,
        )
        return None

    def _admit(
        self,
        active: Mapping[str, ActiveAlert],
        groups: list[tuple[Alert, list[list[Any]]]],
    ) -> tuple[bytes, list[list[Any]]]:
        """The compressed active set to store and the outbox entries to queue, such that both
        fit the budget with every older entry cut: all of ``groups`` (each alert with its
        entries, one per sink) when they do; else without the fewest alerts, deferred (logged):
        CLEARED ones first, then the least severe, the newest first. A deferred alert's change
        is undone (a FIRING one's condition leaves the active set, a CLEARED one's stays, an
        ESCALATED one's keeps the severity announced before), so
        the next evaluation finds it again and queues it; an alert the outbox cannot take is
        never recorded as sent. The active set only grows by admitted alerts, so it never
        outgrows the budget on its own (a stored set over it, from before rules were capped,
        is saved with nothing admitted).

        A condition that still holds is stored with its current evidence (a quarantine alert's
        count of dates grows): when that does not fit with every alert admitted, those still
        holding keep the text stored before (which fitted), before any alert is deferred, so
        refreshing the evidence never grows the item past the budget nor costs an alert."""
        room = self._budget - self._ROOM_KEPT
        stale = self._as_stored(active)
        order = sorted(
            range(len(groups)),
            key=lambda i: (
                groups[i][0].kind is not AlertKind.CLEARED,
                severity_rank(groups[i][0].condition.severity),
                -i,
            ),
        )

        current = True  # store the evidence found now; False: that stored before (``stale``)

        def deferring(k: int) -> tuple[bool, bytes, list[list[Any]]]:
            deferred = set(order[:k])
            kept = dict(active)
            for i in deferred:
                alert = groups[i][0]
                if alert.kind is AlertKind.FIRING:
                    kept.pop(alert.condition.id, None)
                elif alert.kind is AlertKind.ESCALATED:
                    kept[alert.condition.id] = ActiveAlert(
                        alert.condition, alert.since, alert.previous
                    )
                else:
                    kept[alert.condition.id] = ActiveAlert(alert.condition, alert.since)
            texts = {cid: _dump(a) for cid, a in kept.items()}
            if not current:
                texts.update((cid, text) for cid, text in stale.items() if cid in texts)
            active_z = zlib.compress(json.dumps(texts, sort_keys=True).encode())
            entries = [e for i, (_, es) in enumerate(groups) if i not in deferred for e in es]
            return len(active_z) + len(_pack(entries)) <= room, active_z, entries

        fits, active_z, entries = deferring(0)
        if fits:
            return active_z, entries
        if stale:
            logger.warning(
                "alert state: %d alert(s) still holding keep the evidence stored before, not "
                "the current one, the alert item being at its %d KB budget",
                len(stale),
                self._budget // 1000,
            )
            current = False
            fits, active_z, entries = deferring(0)
            if fits:
                return active_z, entries
        # By hand, not bisect over a range with a key: bisect probes other midpoints, and a fit
        # measured in zlib bytes need not grow with each alert deferred, so it could differ.
        low, high = 0, len(groups)  # deferring ``low`` is too few, ``high`` enough (or all)
        while high - low > 1:
            mid = (low + high) // 2
            if deferring(mid)[0]:
                high = mid
            else:
                low = mid
        _, active_z, entries = deferring(high)
        late = [groups[i][0] for i in order[:high]]
        logger.warning(
            "alert state: %d alert(s) deferred to the next evaluation, the alert item being "
            "at its %d KB budget (the most severe kept): %s",
            len(late),
            self._budget // 1000,
            ", ".join(f"{a.kind.value} {a.condition.id}" for a in late[:5])
            + (f" and {len(late) - 5} more" if len(late) > 5 else ""),
        )
        return active_z, entries

    def _as_stored(self, active: Mapping[str, ActiveAlert]) -> dict[str, str]:
        """The stored text of each alert of ``active`` that was stored (same condition and
        ``since``: still holding, and same severity announced: an escalation is never undone
        by it) with other evidence than it has now."""
        out = {}
        for cid, alert in active.items():
            text = self._stored.get(cid)
            if text is None or text == _dump(alert):
                continue
            before = _load(text)
            if (before.since, before.announced_severity) == (alert.since, alert.announced_severity):
                out[cid] = text
        return out

    def _fit(
        self,
        room: int,
        entries: list[list[Any]],
        queued: list[list[Any]],
        token: str,
        claimed: set[str],
    ) -> tuple[bytes, set[str], list[list[Any]]]:
        """The compressed outbox of ``entries`` and ``queued`` (this save's, never cut: see
        :meth:`_admit`) without the fewest of ``entries`` cut to fit in ``room`` bytes, the
        ids cut, and the cut ones to report (none when all fit).

        What is cut first, each group oldest first: entries already sent (a "sent" mark, or
        sent by this process), silently, as they were delivered and only not taken off yet;
        then those no deliverer holds a live claim on, reported as dropped; and only when
        those are not enough (never in practice: a deliverer holds one claim at a time), the
        claimed ones, reported as dropped too. So an alert being sent is not reported as
        dropped, and one whose send then fails is not lost. If the claims cannot be read (a
        throttled query), the save still goes through: the oldest are cut, all reported.

        Each one of the second group is claimed (``token``'s claim, added to ``claimed``)
        before it is cut, as a drop does: the claims read can be out of date by the time the
        item is written, and a deliverer that claimed one in between (and found it still in
        the outbox) would send it. One this save cannot claim is another deliverer's now: it
        moves to the last group, and the cut is chosen again."""
        room -= self._ROOM_KEPT
        packed = _pack(entries + queued)
        if len(packed) <= room:
            return packed, set(), []
        try:
            sent, held = self._claims()
        except Exception:  # never fail the save over it: at worst a sent one is reported
            sent, held = set(), set()
        sent |= self._unnoted
        held -= claimed  # this save's own, from an attempt before
        while True:
            order = (
                [e for e in entries if e[0] in sent]
                + [e for e in entries if e[0] not in sent and e[0] not in held]
                + [e for e in entries if e[0] not in sent and e[0] in held]
            )
            fits = self._fewest_to_cut(room, entries, queued, order)
            lost = []  # another deliverer's since the claims were read
            skip = sent | held | claimed  # sent, another deliverer's, or this save's already
            for entry in (e[0] for e in order[:fits] if e[0] not in skip):
                if self._claimed_for_cut(entry, token):
                    claimed.add(entry)
                else:
                    lost.append(entry)
            if not lost:
                break
            held.update(lost)
        gone = {e[0] for e in order[:fits]}
        outbox = [e for e in entries if e[0] not in gone] + queued
        return _pack(outbox), gone, [e for e in order[:fits] if e[0] not in sent]

    @staticmethod
    def _fewest_to_cut(
        room: int, entries: list[list[Any]], queued: list[list[Any]], order: list[list[Any]]
    ) -> int:
        """How many of ``order``'s first entries must go for the rest and ``queued`` to fit."""

        def without(n: int) -> list[list[Any]]:
            gone = {e[0] for e in order[:n]}
            return [e for e in entries if e[0] not in gone] + queued

        # By hand, not bisect: as in ``_admit``, bisect probes other midpoints of a zlib size.
        fits, cut = len(order), 0  # the fewest to cut: between cut (too few) and fits
        while fits - cut > 1:
            mid = (cut + fits) // 2
            if len(_pack(without(mid))) <= room:
                fits = mid
            else:
                cut = mid
        return fits

    def _claimed_for_cut(self, entry: str, token: str) -> bool:
        """Claim ``entry`` for this save to cut; False when another deliverer holds it or it
        was sent (the claim refused), or the claim failed."""
        now = self._clock.now()
        try:
            return self._put_claim(entry, token, now, now + self._lease)
        except Exception:  # as if held: cut only when nothing else fits, and then reported
            return False

    def _claims(self) -> tuple[set[str], set[str]]:
        """The entries with a "sent" mark, and those under a live claim (not sent yet)."""
        now = self._clock.now().timestamp()
        sent: set[str] = set()
        held: set[str] = set()
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="#k = :claims",
            ProjectionExpression="#d, #u, #s",
            ExpressionAttributeNames={
                "#k": "info_type",
                "#d": "date",
                "#u": "lease_until",
                "#s": "sent_at",
            },
            ExpressionAttributeValues={":claims": {"S": self.CLAIMS}},
            ConsistentRead=True,
        )
        for page in pages:
            for item in page.get("Items", []):
                entry = item["date"]["S"]
                if "sent_at" in item:
                    sent.add(entry)
                elif float(item.get("lease_until", {}).get("N", "0")) > now:
                    held.add(entry)
        return sent, held

    def _with_cut(self, cuts: list[list[Any]], cut: list[list[Any]]) -> list[list[Any]]:
        """The unreported cut records with the entries ``cut`` now added: one per sink (its
        count summed, its queued span widened), so they stay small however many saves cut."""
        merged = {c[0]: c for c in cuts}
        for e in map(_unpack, cut):
            at = self._queued_at(e).timestamp()
            _, count, oldest, newest, _ = merged.get(e.sink, [e.sink, 0, at, at, 0])
            merged[e.sink] = [
                e.sink,
                count + 1,
                min(oldest, at),
                max(newest, at),
                self._budget // 1000,
            ]
        return [merged[sink] for sink in sorted(merged)]

    def _cut_notes(self, cut: list[list[Any]]) -> list[DroppedAlerts]:
        """The drops' lines, one per sink, of the entries a save cuts now."""
        now = self._clock.now()
        return [
            DroppedAlerts(now, sink, int(count), self._cut_line(sink, count, oldest, newest, kb))
            for sink, count, oldest, newest, kb in self._with_cut([], cut)
        ]

    @staticmethod
    def _cut_line(sink: str, count: int, oldest: float, newest: float, kb: int) -> str:
        span = _between(datetime.fromtimestamp(oldest, UTC), datetime.fromtimestamp(newest, UTC))
        return (
            f"{sink}: dropped {count} alert(s), the oldest in the outbox, to keep the alert "
            f"item under {kb} KB ({span})"
        )

    def _report_cut(self, report: DeliveryReport) -> None:
        """Report the cuts saves noted (read with the outbox), each line also logged here at
        once (WARNING), before anything else the delivery does; :meth:`_forget_cut` clears
        them from the item when the delivery ends. At least once: a delivery killed before
        its end (a Lambda timing out on a backlog) has logged them and leaves them for the
        next; a clearing that fails, or a save that read them before the clearing and puts
        them back, has them reported again by a later delivery; never not at all."""
        cuts, _ = self._cuts_read
        for sink, count, oldest, newest, kb in cuts:
            report.dropped[sink] = report.dropped.get(sink, 0) + int(count)
            line = self._cut_line(sink, count, oldest, newest, kb)
            logger.warning("alert outbox: %s", line)
            report.notices.append(line)

    def _forget_cut(self) -> None:
        """Clear the cuts this delivery reported, if no save added to them meanwhile (if one
        did, all are reported again next time)."""
        cuts, attribute = self._cuts_read
        if not cuts:
            return
        try:
            self._update_if_unchanged("REMOVE #a", "outbox_cuts", attribute, {})
        except Exception:  # the write failed: reported again next time
            return

    def _update_if_unchanged(
        self,
        update: str,
        name: str,
        read: dict[str, Any] | None,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> bool:
        """Apply ``update`` (``#a`` names attribute ``name``, ``names`` any other) to the alert
        item if ``name`` is still as read; False if it changed meanwhile."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self.KEY,
                UpdateExpression=update,
                ConditionExpression="#a = :read",
                ExpressionAttributeNames={"#a": name, **(names or {})},
                ExpressionAttributeValues={":read": read, **values},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

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
        read = self._item()
        self._cuts_read = (read.cuts, read.cuts_attribute)
        return [_unpack(e) for e in read.outbox]

    def delivery(self) -> AlertDelivery:
        read = self._item()  # one GetItem: the outbox and the drops
        return AlertDelivery(
            _backlog(map(_unpack, read.outbox)), [_unpack_drop(d) for d in read.drops]
        )

    def _drops(self) -> list[DroppedAlerts]:
        return [_unpack_drop(d) for d in self._item().drops]

    def _claim_key(self, entry: str) -> dict[str, dict[str, str]]:
        return {"info_type": {"S": self.CLAIMS}, "date": {"S": entry}}

    def _claim(self, entry: str, token: str, now: datetime, until: datetime) -> _Claim:
        key = self._claim_key(entry)
        if not self._put_claim(entry, token, now, until):
            held = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
            return _Claim.SENT if "sent_at" in held.get("Item", {}) else _Claim.HELD
        # The claim is its own item: the entry may have been dropped or cut from the outbox
        # since this deliverer read it. Read after the claim is written, so a dropper (which
        # claims before it removes) and this claimer cannot both go ahead.
        if all(e[0] != entry for e in self._item().outbox):
            self._release(entry, token)
            return _Claim.HELD
        return _Claim.TAKEN

    def _put_claim(self, entry: str, token: str, now: datetime, until: datetime) -> bool:
        """Write ``token``'s claim on ``entry`` unless another's live claim or a "sent" mark
        is there (False)."""
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
                    "attribute_not_exists(#d) "
                    "OR ((#u <= :now OR #c = :me) AND attribute_not_exists(#s))"
                ),
                ExpressionAttributeNames={
                    "#d": "date",
                    "#u": "lease_until",
                    "#s": "sent_at",
                    "#c": "claimant",
                },
                ExpressionAttributeValues={
                    ":now": {"N": str(now.timestamp())},
                    ":me": {"S": token},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

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

    def _rewrite_outbox(
        self,
        edit: Callable[[list[list[Any]]], list[list[Any]] | None],
        failure: str,
        dropped: DroppedAlerts | None = None,
    ) -> bool:
        """Write ``edit`` of the outbox read, conditionally on it being the one read (a
        concurrent save or delivery in between: read it again); False when there is no outbox
        or ``edit`` finds nothing to change (None). ``dropped``: a drop's line, kept with the
        rewrite (so a save, conditional on the outbox, never puts the item back without it)."""
        for _ in range(_OUTBOX_ATTEMPTS):
            read = self._item()
            new = None if read.attribute is None else edit(read.outbox)
            if new is None:
                return False
            update = "SET #a = :new"
            values: dict[str, Any] = {":new": {"B": _pack(new)}}
            names: dict[str, str] = {}
            if dropped is not None:
                update += ", #l = :drops"
                values[":drops"] = {"S": json.dumps(_with_drops(read.drops, dropped))}
                names["#l"] = "alert_drops"
            if self._update_if_unchanged(update, "outbox_z", read.attribute, values, names):
                return True
        raise RuntimeError(f"alert outbox: could not {failure}")

    def _remove(self, entries: list[str], dropped: DroppedAlerts | None = None) -> None:
        """Rewrite the outbox without ``entries`` (and with ``dropped``'s line)."""
        gone = set(entries)

        def without(outbox: list[list[Any]]) -> list[list[Any]] | None:
            rest = [e for e in outbox if e[0] not in gone]
            return None if len(rest) == len(outbox) else rest

        self._rewrite_outbox(without, f"remove {len(gone)} delivered entries", dropped)

    def _note_failed(self, entry: str, now: datetime) -> datetime | None:
        """Rewrite the outbox with the failure noted in ``entry`` (its fifth field), once."""
        noted: list[datetime | None] = [None]  # an earlier failure found in the outbox read

        def with_failure(outbox: list[list[Any]]) -> list[list[Any]] | None:
            found = next((i for i, e in enumerate(outbox) if e[0] == entry), None)
            if found is None:
                return None
            raw = outbox[found]
            if len(raw) > 4 and raw[4] is not None:
                noted[0] = _instant(raw[4])
                return None
            new = list(outbox)
            new[found] = [*raw[:3], raw[3] if len(raw) > 3 else None, now.timestamp()]
            return new

        wrote = self._rewrite_outbox(with_failure, "note a failed send")
        return now if wrote else noted[0]


_OUTBOX_ATTEMPTS = 5
"""Reads and conditional writes of the DynamoDB alert item before giving up on one change."""


def one_line(text: str) -> str:
    """``text`` with each control character (a line break, an escape sequence's ESC) written
    as its escape (``\\n``, ``\\x1b``): text from outside (a dead letter's reason, a rule's
    subject) can neither add a line that reads as another alert nor drive the terminal."""
    return "".join(
        c.encode("unicode_escape").decode() if unicodedata.category(c) == "Cc" else c for c in text
    )


class ConsoleSink(AlertSink):
    """One line per alert plus its evidence, written by an injected function (print); its
    text in ``language`` (``FUELPIPE_ALERT_LANGUAGE``)."""

    name = "console"

    def __init__(self, write: Callable[[str], None], language: AlertLanguage = "en") -> None:
        self._write = write
        self._language: AlertLanguage = language

    def send(self, alert: Alert) -> None:
        evidence = _pairs(alert.evidence())
        if (was := alert.was_evidence()) is not None:  # CLEARED: what cleared it, then was:
            evidence += f"; {'era' if self._language == 'pt-BR' else 'was'}: {_pairs(was)}"
        self._write(one_line(f"{alert.subject_line(self._language)} ({evidence})"))


def _pairs(evidence: Mapping[str, object]) -> str:
    """``k=v, k=v``: evidence as the console line shows it."""
    return ", ".join(f"{k}={v}" for k, v in evidence.items())


class SnsRejected(AlertRejected):
    """SNS refused one alert's message for good (too long, an invalid parameter of it): it
    would be refused again, so the outbox sets it aside instead of holding the rest."""


SNS_PERMANENT = frozenset({"InvalidParameter", "ParameterValueInvalid", "ValidationException"})
"""SNS error codes that refuse the request itself (HTTP 400: ``Invalid parameter: Message too
long``). Throttling, authorization, a missing topic or endpoint, KMS and internal errors
refuse every alert alike, or pass: they stay outages that keep the outbox in order."""

_SNS_TOPIC_WIDE = ("TopicArn", "TargetArn", "PhoneNumber", "MessageGroupId", "Deduplication")
"""Parameters an "invalid parameter" can name that are the topic's or the sink's setup, not
the alert's (a malformed topic ARN, a FIFO topic wanting a group id): every alert would be
refused alike, so those hold the line like an outage too."""


def _sns_rejection(exc: Exception) -> SnsRejected | None:
    """The permanent rejection ``exc`` (a botocore ClientError) is, by its code and message,
    or None: an outage."""
    error = getattr(exc, "response", {}).get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    if code not in SNS_PERMANENT or any(p in message for p in _SNS_TOPIC_WIDE):
        return None
    return SnsRejected(f"sns: {code}: {message[:200]}")


class SnsSink(AlertSink):
    """Publishes each alert to an SNS topic (e-mail subscribers get subject and evidence).

    A message SNS refuses for good (:data:`SNS_PERMANENT`: over its 256 KB, an invalid
    parameter of it) raises :class:`SnsRejected`, an :class:`AlertRejected`, so it is set
    aside with a line and the alerts behind it go out; any other error is an outage."""

    name = "sns"

    def __init__(self, client: Any, topic_arn: str, language: AlertLanguage = "en") -> None:
        self._client = client
        self.topic_arn = topic_arn
        self._language: AlertLanguage = language

    def send(self, alert: Alert) -> None:
        try:
            self._client.publish(
                TopicArn=self.topic_arn,
                Subject=sns_subject(alert.subject_line(self._language)),
                Message=strict_json(alert.as_dict(), indent=2, ensure_ascii=False),
                MessageAttributes={
                    "kind": {"DataType": "String", "StringValue": alert.kind.value},
                    "rule": {"DataType": "String", "StringValue": alert.condition.rule},
                },
            )
        except self._client.exceptions.ClientError as exc:  # botocore's, not imported here
            if (rejected := _sns_rejection(exc)) is not None:
                raise rejected from exc
            raise
