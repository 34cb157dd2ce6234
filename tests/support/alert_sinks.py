"""An alert sink and an outbox filler shared by the tests of alert delivery (synthetic answers)."""

from __future__ import annotations

from fuelpipe.adapters.alerts import SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition
from fuelpipe.ports.alerts import AlertRejected, AlertSink


class RefusingWebhook(AlertSink):
    """A webhook that refuses one subject's body for good (its 400), or is down."""

    name = "webhook"

    def __init__(self, refused: str = "", down: bool = False) -> None:
        self.refused, self.down = refused, down

    def send(self, alert: Alert) -> None:
        if self.down:
            raise ConnectionError("webhook https://hooks.example/…: connection refused")
        if alert.condition.subject == self.refused:
            raise AlertRejected("webhook https://hooks.example/… answered HTTP 400: 'bad'")


def queue_alerts(state: SqliteAlertState, clock: ManualClock, *subjects: str) -> None:
    """Fire a quarantine alert per subject into the webhook's outbox, as `watch` would."""
    active = state.load()
    outbox = state.outbox(["webhook"])
    for subject in subjects:
        cond = Condition("quarantined", subject, f"{subject}: 1 date quarantined")
        outbox.send(Alert(AlertKind.FIRING, cond, clock.now(), clock.now()))
        active[cond.id] = ActiveAlert(cond, clock.now())
    state.save(active)
