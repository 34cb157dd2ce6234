"""The AlertSink port on every sink that talks to a receiver (a webhook on pytest-httpserver,
SNS on moto_server): :class:`AlertRejected` means this one alert is refused for good, and the
outbox sets it aside once the sink takes another; any other error is an outage that keeps every
alert queued, in order; a sink that rejects every alert it is given keeps them all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tests.contract.conftest import MESSAGE_LIMIT, START, SinkBackend

from fuelpipe.adapters.alerts import SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition, Severity
from fuelpipe.ports.alerts import AlertRejected


def _alert(subject: str, *, huge: bool = False) -> Alert:
    """An alert about ``subject``; ``huge``: its message is past every receiver's limit."""
    evidence = {"body": "x" * (MESSAGE_LIMIT + 1)} if huge else {"body": "{}"}
    c = Condition("dead_lettered", subject, f"dead letter {subject}", evidence, Severity.CRITICAL)
    return Alert(AlertKind.FIRING, c, START, START)


def _queued(
    tmp_path: Path, name: str, alerts: list[Alert], clock: ManualClock | None = None
) -> SqliteAlertState:
    """An alert state whose outbox holds ``alerts`` for the sink ``name``, as an evaluation
    leaves it."""
    state = SqliteAlertState(tmp_path / "alerts.sqlite", clock=clock or ManualClock(START))
    active = state.load()
    outbox = state.outbox([name])
    for alert in alerts:
        outbox.send(alert)
        active[alert.condition.id] = ActiveAlert(alert.condition, START)
    state.save(active)
    return state


def test_an_alert_refused_for_good_raises_alert_rejected_and_the_next_is_taken(
    sink_backend: SinkBackend,
) -> None:
    sink = sink_backend.sink
    sink.send(_alert("first"))
    with pytest.raises(AlertRejected):
        sink.send(_alert("POISON", huge=True))
    sink.send(_alert("second"))
    assert sink_backend.received() == ["first", "second"]


def test_an_outage_is_not_alert_rejected(sink_backend: SinkBackend) -> None:
    with pytest.raises(Exception) as raised:  # any error but a rejection
        sink_backend.down.send(_alert("first"))
    assert not isinstance(raised.value, AlertRejected)
    assert sink_backend.received() == []


def test_a_rejected_alert_is_set_aside_and_the_alerts_behind_it_delivered(
    sink_backend: SinkBackend, tmp_path: Path
) -> None:
    name = sink_backend.sink.name
    alerts = [_alert("a"), _alert("POISON", huge=True), _alert("b"), _alert("c")]
    state = _queued(tmp_path, name, alerts)
    try:
        report = state.deliver([sink_backend.sink])
        again = state.deliver([sink_backend.sink])
        left = state.deliver([]).orphaned
    finally:
        state.close()
    assert (report.sent, report.failed, report.dropped) == (3, [], {name: 1})
    [notice] = report.notices
    assert "dead letter POISON" in notice and "rejected" in notice
    assert sink_backend.received() == ["a", "b", "c"]
    assert (again.sent, again.dropped, again.notices, left) == (0, {}, [], {})


def test_an_outage_keeps_every_alert_queued_in_order(
    sink_backend: SinkBackend, tmp_path: Path
) -> None:
    name = sink_backend.sink.name
    alerts = [_alert("a"), _alert("POISON", huge=True), _alert("b")]
    state = _queued(tmp_path, name, alerts)
    try:
        down = state.deliver([sink_backend.down])
        kept = state.deliver([]).orphaned
        back = state.deliver([sink_backend.sink])  # the receiver is back
    finally:
        state.close()
    assert (down.sent, down.dropped, down.notices, len(down.failed)) == (0, {}, [], 1)
    assert kept == {name: 3}  # the poison one too: the outage is not about it
    assert (back.sent, back.failed, back.dropped) == (2, [], {name: 1})
    assert sink_backend.received() == ["a", "b"]


def test_a_sink_rejecting_every_alert_it_is_given_keeps_them_all(
    sink_backend: SinkBackend, tmp_path: Path
) -> None:
    name = sink_backend.sink.name
    alerts = [_alert("P1", huge=True), _alert("P2", huge=True), _alert("a")]
    clock = ManualClock(START)
    state = _queued(tmp_path, name, alerts, clock)
    try:
        report = state.deliver([sink_backend.sink])
        clock.advance(timedelta(minutes=5))
        again = state.deliver([sink_backend.sink])
        kept = state.deliver([]).orphaned
    finally:
        state.close()
    for r in (report, again):
        assert (r.sent, r.dropped, r.notices) == (0, {}, [])
        [line] = r.failed
        assert "refuses every alert tried (2, none taken)" in line
        assert "3 alert(s) kept queued" in line
    assert kept == {name: 3}
    assert sink_backend.received() == []
