"""DynamoAlertState on dynalite and moto_server: the active set and its outbox in one item,
large enough for a bad week's quarantines, never over DynamoDB's item limit however long a sink
is down, and never resurrecting a delivered alert."""

from __future__ import annotations

import json
import random
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fuelpipe.adapters.alerts import ITEM_BUDGET, DynamoAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition, Severity
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
        "300 KB (queued 2025-06-06T18:00:00+00:00 to 2025-06-06T18:25:00+00:00)"
    ]
    assert other.deliver([Down()]).notices == []  # reported once
    assert other.deliver([]).orphaned["sns"] + cut == queued  # nothing gone without a line
    item = client.get_item(TableName=table, Key=DynamoAlertState.KEY)["Item"]
    kept = [json.loads(e[2])["subject"] for e in json.loads(zlib.decompress(item["outbox_z"]["B"]))]
    assert kept[-1] == f"msg-{queued // 2 - 1}"  # the newest stay; the oldest were cut
    assert kept[0] == f"msg-{cut // 2}"


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
