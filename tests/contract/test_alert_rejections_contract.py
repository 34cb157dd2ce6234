"""Every AlertState adapter's outbox sets aside an alert its sink rejects for good (a webhook's
422 for that one body on a real receiver on 127.0.0.1): dropped at once with a line naming it,
while the alerts queued behind it are delivered, not held up for the retention."""

from __future__ import annotations

from datetime import timedelta

from pytest_httpserver import HTTPServer
from tests.contract.conftest import START, AlertStateOpener
from werkzeug import Request, Response

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.webhook import WebhookSink
from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition, Severity


def test_a_rejected_alert_does_not_hold_up_the_rest(
    alert_states: AlertStateOpener, httpserver: HTTPServer
) -> None:
    subjects: list[str] = []

    def receiver(request: Request) -> Response:
        subjects.append(request.get_json()["subject"])
        if subjects[-1] == "POISON":
            return Response("payload too long", status=422)
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    clock = ManualClock(START)
    state = alert_states(clock)
    active = state.load()
    outbox = state.outbox(["webhook"])
    for rule, subject in (("quarantined", "POISON"), ("stale_source", "bcb")):
        c = Condition(rule, subject, f"{rule} {subject}", {}, Severity.CRITICAL)
        outbox.send(Alert(AlertKind.FIRING, c, clock.now(), clock.now()))
        active[c.id] = ActiveAlert(c, clock.now())
    state.save(active)
    sink = WebhookSink(httpserver.url_for("/hook"), backoff_s=0.0)
    try:
        report = state.deliver([sink])
        clock.advance(timedelta(days=8))  # past the retention: nothing left to drop
        later = alert_states(clock).deliver([sink])
    finally:
        sink.close()
    assert subjects == ["POISON", "bcb"]
    assert (report.sent, report.failed, report.dropped) == (1, [], {"webhook": 1})
    assert "quarantined POISON" in report.notices[0] and "HTTP 422" in report.notices[0]
    assert (later.sent, later.dropped, later.notices) == (0, {}, [])
