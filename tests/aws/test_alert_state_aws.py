"""DynamoAlertState on dynalite and moto_server: the active set and its outbox in one item,
large enough for a bad week's quarantines, and never resurrecting a delivered alert."""

from __future__ import annotations

import json
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fuelpipe.adapters.alerts import DynamoAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition, Severity
from fuelpipe.ports.alerts import AlertSink

pytestmark = pytest.mark.aws
NOW = datetime(2025, 6, 6, 18, 0, tzinfo=UTC)


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
