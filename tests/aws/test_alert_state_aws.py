"""DynamoAlertState on dynalite and moto_server: the active set and its outbox in one item,
large enough for a bad week's quarantines, never over DynamoDB's item limit however long a sink
is down, and never resurrecting a delivered alert."""

from __future__ import annotations

import json
import logging
import random
import re
import uuid
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fuelpipe.adapters.alerts import ITEM_BUDGET, DynamoAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.alerts import (
    ActiveAlert,
    Alert,
    AlertKind,
    Condition,
    Severity,
    transition,
)
from fuelpipe.ports.alerts import AlertSink

pytestmark = pytest.mark.aws
NOW = datetime(2025, 6, 6, 18, 0, tzinfo=UTC)


class Down(AlertSink):
    name = "sns"

    def send(self, alert: Alert) -> None:
        raise ConnectionError("sns: throttled (synthetic)")


class Collect(AlertSink):
    name = "sns"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert.condition.subject)


def _condition(i: int) -> Condition:
    return Condition(
        rule="quarantined",
        subject=f"FUEL#DIESEL_S10#SP@2025-{1 + i // 28:02d}-{1 + i % 28:02d}#{i}",
        summary=f"FUEL#DIESEL_S10#SP quarantined: anp: HTTP 503 from the survey ({i})",
        evidence={"series": "FUEL#DIESEL_S10#SP", "retry_count": 5, "reason": "HTTP 503 " * 8},
        severity=Severity.WARNING,
    )


def _fire(state: DynamoAlertState, conditions: list[Condition]) -> None:
    """What evaluate does: load, queue a FIRING alert per new condition, save."""
    active = state.load()
    outbox = state.outbox(["sns"])
    for c in conditions:
        outbox.send(Alert(AlertKind.FIRING, c, NOW, NOW))
        active[c.id] = ActiveAlert(c, NOW)
    state.save(active)


def test_a_bad_weeks_quarantines_fit_with_their_outbox(client: Any, table: str) -> None:
    state = DynamoAlertState(client, table, clock=ManualClock(NOW))
    conditions = [_condition(i) for i in range(1_000)]  # ~25 keys x 40 weeks of a failed workbook
    _fire(state, conditions)
    assert len(state.load()) == 1_000
    sink = Collect()
    assert state.deliver([sink]).failed == []
    assert len(sink.sent) == 1_000 and len(set(sink.sent)) == 1_000
    assert state.deliver([sink]).sent == 0 and len(sink.sent) == 1_000  # taken off once sent


def _flap(state: DynamoAlertState, clock: ManualClock, first: int, n: int, rng: Any) -> None:
    """One evaluation's worth of dead letters that fired and cleared (the active set stays
    empty), each with a body that does not compress (what a malformed message carries)."""
    state.load()
    outbox = state.outbox(["sns"])
    for i in range(first, first + n):
        c = Condition(
            "dead_lettered", f"msg-{i}", f"message {i}", {"body": rng.randbytes(150).hex()}
        )
        outbox.send(Alert(AlertKind.FIRING, c, clock.now(), clock.now()))
        outbox.send(Alert(AlertKind.CLEARED, c, clock.now(), clock.now()))
    state.save({})


def _item_bytes(client: Any, table: str) -> int:
    item = client.get_item(TableName=table, Key=DynamoAlertState.KEY)["Item"]
    return sum(len(k) + len(next(iter(v.values()))) for k, v in item.items())


def test_a_sink_down_for_days_never_makes_the_save_fail(client: Any, table: str) -> None:
    """Without a bound, the outbox of a topic that is down grows in the one item until DynamoDB
    refuses the item (400 KB), and then the save of the active set fails: evaluation stops.
    With it, a save cuts the oldest alerts first, and a delivery (any process, later) reports
    each cut with a line naming the sink, the count and when they were queued."""
    clock = ManualClock(NOW)
    state = DynamoAlertState(client, table, clock=clock)
    rng = random.Random(7)
    queued = 0
    for _ in range(10):  # ~60 KB of alerts per evaluation: 600 KB in all
        _flap(state, clock, queued // 2, 250, rng)
        queued += 500
        assert _item_bytes(client, table) <= ITEM_BUDGET
        clock.advance(timedelta(minutes=5))
    # a delivery in another process (the next Lambda run): the lines waited in the item
    other = DynamoAlertState(client, table, clock=clock)
    report = other.deliver([Down()])
    cut = report.dropped.get("sns", 0)
    assert cut > 0 and report.failed == ["sns: sns: throttled (synthetic)"]
    assert report.notices == [  # one line for every save's cuts
        f"sns: dropped {cut} alert(s), the oldest in the outbox, to keep the alert item under "
        "300 KB (queued 2025-06-06T15:00:00-03:00 to 2025-06-06T15:25:00-03:00)"
    ]
    assert other.deliver([Down()]).notices == []  # reported once
    assert other.deliver([]).orphaned["sns"] + cut == queued  # nothing gone without a line
    # and kept for the health view: a line per save that cut, each its count
    drops = DynamoAlertState(client, table, clock=clock).delivery().dropped
    assert {d.sink for d in drops} == {"sns"} and sum(d.count for d in drops) == cut
    assert all("the oldest in the outbox, to keep the alert item under" in d.line for d in drops)
    assert _item_bytes(client, table) <= ITEM_BUDGET
    item = client.get_item(TableName=table, Key=DynamoAlertState.KEY)["Item"]
    kept = [json.loads(e[2])["subject"] for e in json.loads(zlib.decompress(item["outbox_z"]["B"]))]
    assert kept[-1] == f"msg-{queued // 2 - 1}"  # the newest stay; the oldest were cut
    assert kept[0] == f"msg-{cut // 2}"


class SendsThenKilled(AlertSink):
    """Takes ``n`` alerts, then its process (the Lambda, at its timeout) is stopped holding
    the claim on the next."""

    name = "sns"

    def __init__(self, n: int) -> None:
        self._n = n
        self.sent = 0

    def send(self, alert: Alert) -> None:
        if self.sent == self._n:
            raise SystemExit("timed out (synthetic)")
        self.sent += 1


def _item(client: Any, table: str) -> dict[str, Any]:
    item: dict[str, Any] = client.get_item(TableName=table, Key=DynamoAlertState.KEY).get(
        "Item", {}
    )
    return item


def _outbox_ids(client: Any, table: str) -> list[str]:
    return [e[0] for e in json.loads(zlib.decompress(_item(client, table)["outbox_z"]["B"]))]


def _flap_until_cut(
    state: DynamoAlertState, client: Any, table: str, clock: ManualClock, first: int
) -> int:
    """Saves of 100 alerts each until one cuts; the alerts queued."""
    rng = random.Random(11)
    queued = 0
    while "outbox_cuts" not in _item(client, table):
        _flap(state, clock, first + queued // 2, 50, rng)
        queued += 100
    return queued


def test_a_cut_is_logged_before_a_delivery_that_is_killed_and_reported_again_after_it(
    client: Any, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The Lambda's delivery is stopped (its timeout, a backlog) before the handler logs its
    report: the cut was logged when the delivery started, and stays in the item until a
    delivery completes, so the next one reports it too; never lost."""
    clock = ManualClock(NOW)
    _flap_until_cut(
        DynamoAlertState(client, table, clock=clock, item_budget=40_000), client, table, clock, 0
    )
    other = DynamoAlertState(client, table, clock=clock)
    with (
        caplog.at_level(logging.WARNING, logger="fuelpipe.adapters.alerts"),
        pytest.raises(SystemExit),
    ):
        other.deliver([SendsThenKilled(0)])
    (logged,) = [r for r in caplog.records if r.name == "fuelpipe.adapters.alerts"]
    assert logged.levelno == logging.WARNING
    line = logged.getMessage().removeprefix("alert outbox: ")
    cut = re.fullmatch(
        r"sns: dropped (\d+) alert\(s\), the oldest in the outbox, to keep the alert item under "
        r"40 KB \(queued 2025-06-06T15:00:00-03:00\)",
        line,
    )
    assert cut is not None
    report = other.deliver([Down()])  # the next run (its first alert's claim still held)
    assert (report.notices, report.dropped) == ([line], {"sns": int(cut[1])})
    assert other.deliver([Down()]).notices == []  # that delivery completed: cleared


def test_a_cut_takes_sent_alerts_off_silently_and_spares_the_one_being_sent(
    client: Any, table: str
) -> None:
    """Alerts already sent (noted, not taken off yet) are cut first, without a line (they were
    delivered); the one a deliverer holds a live claim on is not cut (it may be being sent, and
    if that fails it is sent later); the oldest of the others are cut and reported."""
    clock = ManualClock(NOW)
    state = DynamoAlertState(client, table, clock=clock, item_budget=40_000)
    _flap(state, clock, 0, 10, random.Random(3))
    ids = _outbox_ids(client, table)  # msg-0 fired, msg-0 cleared, msg-1 fired, msg-1 cleared...
    with pytest.raises(SystemExit):  # three sent and noted, killed holding the fourth's claim
        DynamoAlertState(client, table, clock=clock).deliver([SendsThenKilled(3)])
    queued = 20 + _flap_until_cut(state, client, table, clock, 10)
    kept = _outbox_ids(client, table)
    ((sink, cut, *_),) = json.loads(_item(client, table)["outbox_cuts"]["S"])
    assert sink == "sns" and cut > 0
    assert ids[3] in kept and not set(ids[:3]) & set(kept)
    assert len(kept) + cut + 3 == queued  # the three sent are gone without a line

    clock.advance(timedelta(minutes=10))  # the killed deliverer's lease runs out
    sink = Collect()
    report = DynamoAlertState(client, table, clock=clock).deliver([sink])
    assert report.dropped == {"sns": cut} and report.sent == len(kept)
    assert sink.sent[0] == "msg-1" and "msg-0" not in sink.sent  # the claimed one, sent once
    assert sink.sent.count("msg-1") == 1


def test_alerts_a_save_cut_while_a_delivery_was_under_way_are_not_sent(
    client: Any, table: str
) -> None:
    """Two Lambdas on one item: A delivers from its outbox read; meanwhile B saves new alerts
    and, to keep the item under its budget, cuts queued ones and records them as dropped. A
    then claimed and published the cut ones anyway (a claim is its own item): reported
    dropped and delivered both. A claim now holds only for an entry still in the outbox."""
    clock = ManualClock(NOW)
    rng = random.Random(7)

    def heavy(name: str) -> Condition:  # incompressible evidence: a few fill the budget
        body = rng.randbytes(300).hex()
        return Condition("dead_lettered", name, f"{name} dead-lettered", {"body": body})

    a = DynamoAlertState(client, table, clock=clock, item_budget=8_000)
    b = DynamoAlertState(client, table, clock=clock, item_budget=8_000)
    _fire(b, [heavy("m1"), heavy("m2"), heavy("m3")])
    meanwhile: list[int] = []

    class SavesMeanwhile(Collect):
        def send(self, alert: Alert) -> None:
            if not meanwhile:
                _fire(b, [heavy("m4"), heavy("m5")])  # cuts the oldest not being sent
                meanwhile.append(1)
            super().send(alert)

    sink = SavesMeanwhile()
    a.deliver([sink])
    report = b.deliver([Collect()])
    cut = report.dropped["sns"]
    assert cut >= 1
    assert len(sink.sent) == 3 - cut  # what was cut was not sent
    assert sink.sent[0] == "m1"  # the one being sent was spared


def _outbox_subjects(client: Any, table: str) -> list[str]:
    outbox = json.loads(zlib.decompress(_item(client, table)["outbox_z"]["B"]))
    return [json.loads(e[2])["subject"] for e in outbox]


def test_a_save_claims_what_it_cuts_so_no_deliverer_sends_an_alert_reported_dropped(
    client: Any, table: str
) -> None:
    """The window the claims read leaves: B's save read the claims (none) and chose the oldest
    alerts to cut; before its PutItem, A claims the oldest and finds it still in the outbox (B
    has not written), publishes it, and is killed there (its Lambda's timeout), before taking
    it off. B's put then cut an alert that was sent, and a later delivery reported it dropped.
    B now claims what it cuts before it writes, so A's claim on it fails and A sends one B
    keeps; what B cut is reported dropped and sent by no one."""
    clock = ManualClock(NOW)
    rng = random.Random(5)

    def heavy(name: str) -> Condition:  # incompressible evidence: a few fill the budget
        return Condition(
            "dead_lettered", name, f"{name} dead-lettered", {"body": rng.randbytes(300).hex()}
        )

    a = DynamoAlertState(client, table, clock=clock, item_budget=8_000)
    b = DynamoAlertState(client, table, clock=clock, item_budget=8_000)
    old = [f"m{i}" for i in range(1, 4)]
    _fire(b, [heavy(name) for name in old])
    assert _outbox_subjects(client, table) == old
    published: list[str] = []

    class PublishesThenKilled(AlertSink):
        name = "sns"

        def send(self, alert: Alert) -> None:
            published.append(alert.condition.subject)
            raise SystemExit("timed out right after the publish (synthetic)")

    armed = [True]

    def deliver_before_the_save_writes(params: dict[str, Any], **_: Any) -> None:
        if armed[0] and params.get("Item", {}).get("date", {}).get("S") == "ACTIVE":
            armed[0] = False  # after B read the outbox and the claims, before its put
            with pytest.raises(SystemExit):
                a.deliver([PublishesThenKilled()])

    client.meta.events.register(
        "before-parameter-build.dynamodb.PutItem", deliver_before_the_save_writes
    )
    try:
        _fire(b, [heavy("m4"), heavy("m5")])  # cuts the oldest to stay under the budget
    finally:
        client.meta.events.unregister(
            "before-parameter-build.dynamodb.PutItem", deliver_before_the_save_writes
        )
    assert not armed[0] and len(published) == 1
    kept = _outbox_subjects(client, table)
    cut = [name for name in old if name not in kept]
    assert cut, kept  # the save did cut
    assert published[0] in kept, (published, cut)  # not an alert the save reported dropped

    clock.advance(timedelta(minutes=10))  # A's lease (and any of B's) has run out
    sink = Collect()
    report = DynamoAlertState(client, table, clock=clock).deliver([sink])
    assert report.dropped == {"sns": len(cut)}
    assert not set(sink.sent) & set(cut) and sorted(sink.sent) == sorted(kept)


def test_a_save_beside_a_delivery_never_brings_back_a_delivered_alert(
    client: Any, table: str
) -> None:
    first = DynamoAlertState(client, table, clock=ManualClock(NOW))
    second = DynamoAlertState(client, table, clock=ManualClock(NOW))
    _fire(first, [_condition(1)])
    sink = Collect()
    delivered = False

    def deliver_meanwhile(**_: Any) -> None:
        nonlocal delivered
        if not delivered:  # after the second state read the outbox, before it writes
            delivered = True
            assert first.deliver([sink]).sent == 1

    client.meta.events.register("before-parameter-build.dynamodb.PutItem", deliver_meanwhile)
    _fire(second, [_condition(2)])
    client.meta.events.unregister("before-parameter-build.dynamodb.PutItem", deliver_meanwhile)
    assert second.deliver([sink]).sent == 1
    assert sorted(sink.sent) == sorted([_condition(1).subject, _condition(2).subject])
    assert set(second.load()) == {_condition(1).id, _condition(2).id}


def test_an_outbox_written_before_claims_is_delivered_once(client: Any, table: str) -> None:
    """Entries stored as [id, sink, text] (no queued instant) are claimed and sent like new
    ones, and those for a removed sink age from the alert's own instant."""
    old = [
        [uuid.uuid4().hex, sink, json.dumps({**_legacy_body(i), "at": NOW.isoformat()})]
        for i, sink in ((1, "sns"), (2, "sns"), (3, "email"))
    ]
    client.put_item(
        TableName=table,
        Item={
            **DynamoAlertState.KEY,
            "active_z": {"B": zlib.compress(b"{}")},
            "outbox_z": {"B": zlib.compress(json.dumps(old).encode())},
            "status": {"S": "ALERTS"},
        },
    )
    clock = ManualClock(NOW + timedelta(days=6))
    first = DynamoAlertState(client, table, clock=clock)
    second = DynamoAlertState(client, table, clock=clock)
    sink = Collect()
    report = first.deliver([sink])
    assert (report.sent, report.orphaned) == (2, {"email": 1})
    assert second.deliver([sink]).sent == 0
    assert sorted(sink.sent) == [_condition(1).subject, _condition(2).subject]
    clock.advance(timedelta(days=1))
    assert second.deliver([sink]).dropped == {"email": 1}
    assert first.deliver([sink]).dropped == {}


def _legacy_body(i: int) -> dict[str, Any]:
    c = _condition(i)
    return {
        "rule": c.rule,
        "subject": c.subject,
        "summary": c.summary,
        "evidence": dict(c.evidence),
        "severity": c.severity.value,
        "since": NOW.isoformat(),
        "kind": "FIRING",
    }


def test_a_failed_send_of_an_entry_written_before_claims_starts_its_retention(
    client: Any, table: str
) -> None:
    """An entry stored as [id, sink, text] gets its first failure noted beside a null queued
    instant, and is dropped once that failure is older than the retention, not before."""
    entry = [uuid.uuid4().hex, "sns", json.dumps({**_legacy_body(1), "at": NOW.isoformat()})]
    client.put_item(
        TableName=table,
        Item={
            **DynamoAlertState.KEY,
            "active_z": {"B": zlib.compress(b"{}")},
            "outbox_z": {"B": zlib.compress(json.dumps([entry]).encode())},
            "status": {"S": "ALERTS"},
        },
    )
    clock = ManualClock(NOW + timedelta(days=30))
    state = DynamoAlertState(client, table, clock=clock)
    assert state.deliver([Down()]).dropped == {}  # queued a month ago, but never tried before
    stored = json.loads(zlib.decompress(_item(client, table)["outbox_z"]["B"]))
    assert stored == [[*entry, None, clock.now().timestamp()]]
    clock.advance(timedelta(days=7))
    assert state.deliver([Down()]).dropped == {"sns": 1}


def test_a_save_that_cannot_read_the_claims_still_goes_through(client: Any, table: str) -> None:
    """Reading the claims (to spare the alerts being sent) is refused: the save still keeps
    the item under its budget, cutting the oldest, each reported."""

    def refuse(**_: Any) -> None:
        error = {"Code": "ProvisionedThroughputExceededException", "Message": "throttled (jam)"}
        raise ClientError({"Error": error}, "Query")

    client.meta.events.register("before-parameter-build.dynamodb.Query", refuse)
    clock = ManualClock(NOW)
    queued = _flap_until_cut(
        DynamoAlertState(client, table, clock=clock, item_budget=40_000), client, table, clock, 0
    )
    assert _item_bytes(client, table) <= 40_000
    ((_, cut, *_),) = json.loads(_item(client, table)["outbox_cuts"]["S"])
    assert len(_outbox_ids(client, table)) + cut == queued


def test_an_alert_the_full_item_cannot_take_is_deferred_not_stored_as_fired(
    client: Any, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    """When the active set left the outbox no room, a save cut this evaluation's own alerts
    (a CRITICAL dead letter among them) and stored them as active all the same: never sent,
    never fired again. Now the save defers what does not fit, the least severe first, undoing
    its change of the active set, so each is queued by a later save and sent exactly once."""
    clock = ManualClock(NOW)
    state = DynamoAlertState(client, table, clock=clock, item_budget=20_000)
    warnings = [_condition(i) for i in range(600)]
    critical = Condition("dead_lettered", "msg-1", "msg-1 dead-lettered", {}, Severity.CRITICAL)
    sink = Collect()
    rounds = 0
    with caplog.at_level(logging.WARNING, logger="fuelpipe.adapters.alerts"):
        while len(sink.sent) < 601 and rounds < 50:
            rounds += 1
            active = state.load()
            outbox = state.outbox(["sns"])
            for c in [*warnings, critical]:  # what evaluate does: fire what is not active yet
                if c.id not in active:
                    outbox.send(Alert(AlertKind.FIRING, c, clock.now(), clock.now()))
                    active[c.id] = ActiveAlert(c, clock.now())
            state.save(active)
            stored = set(state.load())
            report = state.deliver([sink])
            assert report.dropped == {} and report.failed == []
            assert stored == {f"{r}:{s}" for r, s in _fired(sink)}  # active = queued and sent
            if rounds == 1:
                assert "msg-1" in sink.sent  # the CRITICAL one is never deferred
                assert 0 < len(sink.sent) < 601
            clock.advance(timedelta(hours=1))
    assert rounds > 1 and len(sink.sent) == len(set(sink.sent)) == 601
    assert "deferred to the next evaluation" in caplog.text
    assert _item_bytes(client, table) <= 20_000


def _fired(sink: Collect) -> list[tuple[str, str]]:
    return [("dead_lettered" if s == "msg-1" else "quarantined", s) for s in sink.sent]


def test_current_evidence_that_does_not_fit_keeps_what_was_stored_and_costs_no_alert(
    client: Any, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Alerts still holding are stored with their current evidence, which may be larger than
    what they fired with. When it does not fit the item's budget, they keep the text stored
    before (which fitted) rather than the save deferring this evaluation's new alert or the
    item growing past its budget."""
    clock = ManualClock(NOW)
    state = DynamoAlertState(client, table, clock=clock, item_budget=20_000)
    fired = [_condition(i) for i in range(100)]
    _fire(state, fired)
    assert state.deliver([Collect()]).sent == 100
    rng = random.Random(7)
    grown = [
        Condition(c.rule, c.subject, c.summary, {**c.evidence, "noise": rng.randbytes(200).hex()})
        for c in fired
    ]
    critical = Condition("dead_lettered", "msg-1", "msg-1 dead-lettered", {}, Severity.CRITICAL)
    clock.advance(timedelta(hours=1))
    active = state.load()
    for c in grown:  # what evaluate does with conditions still holding: quiet, current evidence
        active[c.id] = ActiveAlert(c, active[c.id].since)
    state.outbox(["sns"]).send(Alert(AlertKind.FIRING, critical, clock.now(), clock.now()))
    active[critical.id] = ActiveAlert(critical, clock.now())
    with caplog.at_level(logging.WARNING, logger="fuelpipe.adapters.alerts"):
        state.save(active)
    assert "keep the evidence stored before" in caplog.text
    assert "deferred" not in caplog.text
    stored = state.load()
    assert stored[critical.id].condition == critical
    assert all("noise" not in stored[c.id].condition.evidence for c in fired)
    assert all(stored[c.id].since == NOW for c in fired)
    sink = Collect()
    assert state.deliver([sink]).sent == 1 and sink.sent == ["msg-1"]
    assert _item_bytes(client, table) <= 20_000


def test_escalations_the_full_item_cannot_take_are_deferred_and_each_sent_once(
    client: Any, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A deferred ESCALATED alert keeps the severity announced before in the stored set, so a
    later save queues it; one admitted while the item keeps older evidence is stored as
    announced. Either way each rise is sent once, and none twice."""
    clock = ManualClock(NOW)
    state = DynamoAlertState(client, table, clock=clock, item_budget=20_000)
    sink = Collect()
    kinds: list[tuple[AlertKind, str]] = []

    class Record(AlertSink):
        name = "sns"

        def send(self, alert: Alert) -> None:
            kinds.append((alert.kind, alert.condition.subject))
            sink.send(alert)

    def evaluate_at(severity: Severity) -> int:
        """Load, transition, queue, save and deliver, as evaluate does; the alerts queued."""
        conditions = [replace(_condition(i), severity=severity) for i in range(600)]
        change = transition(state.load(), conditions, clock.now())
        outbox = state.outbox(["sns"])
        for alert in change.alerts:
            outbox.send(alert)
        state.save(change.active)
        assert state.deliver([Record()]).dropped == {}
        clock.advance(timedelta(hours=1))
        return len(change.alerts)

    with caplog.at_level(logging.WARNING, logger="fuelpipe.adapters.alerts"):
        for _ in range(50):
            if evaluate_at(Severity.WARNING) == 0:
                break
        fired = len(kinds)
        for _ in range(50):
            if evaluate_at(Severity.CRITICAL) == 0:
                break
    assert "deferred to the next evaluation" in caplog.text
    escalated = [s for k, s in kinds[fired:] if k is AlertKind.ESCALATED]
    assert fired == 600 and len(kinds) == 1200 and len(set(escalated)) == 600
    assert {a.announced_severity for a in state.load().values()} == {Severity.CRITICAL}
    assert evaluate_at(Severity.WARNING) == evaluate_at(Severity.CRITICAL) == 0
    assert _item_bytes(client, table) <= 20_000
