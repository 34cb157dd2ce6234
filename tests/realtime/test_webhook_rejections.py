"""An alert a webhook refuses for good (a 400/413/422 for that one body) is set aside with a
line naming it and the answer, and the alerts queued behind it are delivered; an outage (5xx,
a wrong URL) still keeps every alert queued, in order, for the next tick."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fuelpipe.adapters.alerts import SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.webhook import WebhookSink
from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition, Severity
from fuelpipe.ports.alerts import AlertRejected, AlertState, DeliveryReport

SP = ZoneInfo("America/Sao_Paulo")
START = datetime(2022, 5, 4, 13, 30, tzinfo=SP)


class Receiver:
    """A webhook that refuses any body about the POISON subject with ``status`` and takes the
    rest (or answers ``every`` to all when set); records the subjects it was sent."""

    def __init__(self, status: int = 422, every: int | None = None) -> None:
        self.status = status
        self.every = every
        self.subjects: list[str] = []

    def __call__(self, request: Request) -> Response:
        subject = request.get_json()["subject"]
        self.subjects.append(subject)
        if self.every is not None:
            return Response("unavailable", status=self.every)
        if subject == "POISON":
            return Response(
                '{"error": "field evidence.note is too long"}',
                status=self.status,
                content_type="application/json",
            )
        return Response("ok")


def _queue(state: AlertState, clock: ManualClock) -> None:
    """What an evaluation does: a poison alert first, then a late bcb and a dead letter."""
    active = state.load()
    outbox = state.outbox(["webhook"])
    for rule, subject, severity in (
        ("quarantined", "POISON", Severity.WARNING),
        ("stale_source", "bcb", Severity.WARNING),
        ("dead_lettered", "queue", Severity.CRITICAL),
    ):
        c = Condition(rule, subject, f"{rule} {subject}", {"note": "x"}, severity)
        outbox.send(Alert(AlertKind.FIRING, c, clock.now(), clock.now()))
        active[c.id] = ActiveAlert(c, clock.now())
    state.save(active)


def _refused_then_taken(
    clock: ManualClock, state: SqliteAlertState, sink: WebhookSink, receiver: Receiver
) -> tuple[DeliveryReport, DeliveryReport]:
    """Queue the three alerts, deliver while ``receiver`` refuses every body, then again
    5 minutes later once it takes every body (the poison one too)."""
    try:
        _queue(state, clock)
        report = state.deliver([sink])
        receiver.every = None
        receiver.status = 200
        clock.advance(timedelta(minutes=5))
        return report, state.deliver([sink])
    finally:
        sink.close()
        state.close()


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_body_the_webhook_rejects_is_set_aside_and_the_rest_delivered(
    tmp_path, httpserver: HTTPServer, status: int
) -> None:
    clock = ManualClock(START)
    receiver = Receiver(status)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=clock)
    sink = WebhookSink(httpserver.url_for("/hook"), backoff_s=0.0)
    try:
        _queue(state, clock)
        first = state.deliver([sink])
        clock.advance(timedelta(minutes=5))
        second = state.deliver([sink])
    finally:
        sink.close()
        state.close()
    # the poison alert asked once (a rejection is not retried), the others behind it sent
    assert receiver.subjects == ["POISON", "bcb", "queue"]
    assert first.sent == 2 and first.failed == []
    assert first.dropped == {"webhook": 1}
    [notice] = first.notices
    assert notice.startswith(
        "webhook: dropped 1 alert(s) the sink rejected, not retried "
        "([fuelpipe FIRING] quarantined: quarantined POISON): "
    )
    assert f"HTTP {status}" in notice and "evidence.note is too long" in notice
    assert "queued 2022-05-04T13:30:00-03:00" in notice
    assert (second.sent, second.dropped, second.notices) == (0, {}, [])  # nothing left


def test_the_rejection_is_an_alert_rejected_naming_status_and_body(
    httpserver: HTTPServer,
) -> None:
    """The outbox knows a rejection by the port's AlertRejected, not by the webhook's class."""
    httpserver.expect_request("/hook", method="POST").respond_with_handler(Receiver(422))
    sink = WebhookSink(httpserver.url_for("/hook"), backoff_s=0.0)
    c = Condition("quarantined", "POISON", "poison", {}, Severity.WARNING)
    try:
        with pytest.raises(AlertRejected, match=r"HTTP 422: .*evidence\.note is too long"):
            sink.send(Alert(AlertKind.FIRING, c, START, START))
    finally:
        sink.close()
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("status", [503, 404, 401])
def test_an_outage_or_a_wrong_url_keeps_every_alert_in_order(
    tmp_path, httpserver: HTTPServer, status: int
) -> None:
    """A 5xx, or an answer that refuses every body alike (a wrong path, a revoked token), is
    not about one alert: nothing is dropped before the retention, nothing jumps the line."""
    clock = ManualClock(START)
    receiver = Receiver(every=status)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=clock)
    sink = WebhookSink(httpserver.url_for("/hook"), attempts=1, backoff_s=0.0)
    report, later = _refused_then_taken(clock, state, sink, receiver)
    assert report.sent == 0 and report.dropped == {} and len(report.failed) == 1
    assert f"HTTP {status}" in report.failed[0]
    # back up (and taking the poison body too now): all three, in the order queued
    assert receiver.subjects == ["POISON", "POISON", "bcb", "queue"]
    assert later.sent == 3


def _home(
    tmp_path, httpserver: HTTPServer, receiver: Receiver
) -> tuple[ManualClock, SqliteAlertState, WebhookSink]:
    """A clock, an alert state on SQLite and a webhook sink POSTing to ``receiver``."""
    clock = ManualClock(START)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=clock)
    return clock, state, WebhookSink(httpserver.url_for("/hook"), backoff_s=0.0)


def test_a_webhook_that_rejects_every_body_keeps_every_alert_queued(
    tmp_path, httpserver: HTTPServer
) -> None:
    """Slack's incoming webhook answers 400 (invalid_payload) to any body not in its format:
    that is the sink refusing everything, not one poison alert. Nothing is set aside; all wait,
    in order, with a line saying the sink refuses every alert."""
    receiver = Receiver(every=400)
    clock, state, sink = _home(tmp_path, httpserver, receiver)
    report, later = _refused_then_taken(clock, state, sink, receiver)
    assert (report.sent, report.dropped, report.notices) == (0, {}, [])
    [line] = report.failed
    assert line.startswith("webhook: the sink refuses every alert tried (2, none taken)")
    assert "check its URL and the body format" in line and "3 alert(s) kept queued" in line
    assert "HTTP 400" in line
    assert receiver.subjects == ["POISON", "bcb", "POISON", "bcb", "queue"]
    assert (later.sent, later.dropped) == (3, {})


def test_a_lone_rejected_alert_waits_until_the_webhook_takes_another(
    tmp_path, httpserver: HTTPServer
) -> None:
    receiver = Receiver(422)
    clock, state, sink = _home(tmp_path, httpserver, receiver)
    c = Condition("quarantined", "POISON", "poison", {}, Severity.WARNING)
    try:
        state.load()
        state.outbox(["webhook"]).send(Alert(AlertKind.FIRING, c, START, START))
        state.save({c.id: ActiveAlert(c, START)})
        alone = state.deliver([sink])
        good = Condition("stale_source", "bcb", "bcb late", {}, Severity.WARNING)
        active = state.load()
        state.outbox(["webhook"]).send(Alert(AlertKind.FIRING, good, START, START))
        state.save({**active, good.id: ActiveAlert(good, START)})
        clock.advance(timedelta(minutes=5))
        later = state.deliver([sink])  # the webhook takes bcb: POISON was refused for good
    finally:
        sink.close()
        state.close()
    assert (alone.sent, alone.dropped) == (0, {}) and "refuses every alert" in alone.failed[0]
    assert (later.sent, later.dropped, later.failed) == (1, {"webhook": 1}, [])
    assert receiver.subjects == ["POISON", "POISON", "bcb"]
