"""SnsSink on moto_server's SNS: a message SNS refuses for good (over its 256 KB: "Invalid
parameter: Message too long") is set aside with a line, and the alerts queued behind it go out;
an error that refuses every alert alike (no such topic, a FIFO topic wanting a group id) is an
outage that keeps them all queued, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.support.aws_backends import drain_sns_inbox, sns_topic_with_inbox, unique_name

from fuelpipe.adapters.alerts import SnsSink, SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition, Severity

pytestmark = pytest.mark.aws
NOW = datetime(2025, 6, 6, 18, 0, tzinfo=UTC)


def _queue_three(state: SqliteAlertState, clock: ManualClock, *, huge_first: bool) -> None:
    """A dead letter whose evidence makes the message ~300 KB (past SNS's 256 KB) and two
    ordinary alerts, behind it or before it."""
    active = state.load()
    outbox = state.outbox(["sns"])
    huge = ("dead_lettered", "huge", {"body": "x" * 300_000})
    ordinary = [("dead_lettered", "msg-2", {"body": "{}"}), ("stale_source", "bcb", {})]
    for rule, subject, evidence in [huge, *ordinary] if huge_first else [*ordinary, huge]:
        c = Condition(rule, subject, f"{rule} {subject}", evidence, Severity.CRITICAL)
        outbox.send(Alert(AlertKind.FIRING, c, clock.now(), clock.now()))
        active[c.id] = ActiveAlert(c, clock.now())
    state.save(active)


def test_a_message_sns_refuses_for_good_is_set_aside_and_the_rest_go_out(
    moto_server: Any, tmp_path: Path
) -> None:
    sns, sqs, topic, inbox = sns_topic_with_inbox(moto_server, unique_name("rejects"))
    clock = ManualClock(NOW)
    state = SqliteAlertState(tmp_path / "alerts.sqlite", clock=clock)
    try:
        _queue_three(state, clock, huge_first=True)
        report = state.deliver([SnsSink(sns, topic)])
        clock.advance(timedelta(days=8))  # past the retention: nothing left to drop
        later = state.deliver([SnsSink(sns, topic)])
    finally:
        state.close()
    assert (report.sent, report.failed, report.dropped) == (2, [], {"sns": 1})
    (notice,) = report.notices
    assert "dead_lettered: dead_lettered huge" in notice
    assert "InvalidParameter" in notice and "Message too long" in notice
    assert [b["subject"] for b in drain_sns_inbox(sqs, inbox)] == ["msg-2", "bcb"]
    assert (later.sent, later.dropped, later.notices) == (0, {}, [])


@pytest.mark.parametrize("setup", ["no such topic", "fifo topic"])
def test_an_error_every_alert_would_get_keeps_them_all_queued(
    moto_server: Any, tmp_path: Path, setup: str
) -> None:
    sns, sqs, topic, inbox = sns_topic_with_inbox(moto_server, unique_name("outage"))
    if setup == "no such topic":  # NotFound
        target = f"{topic}-deleted"
    else:  # MissingParameter: MessageGroupId
        target = sns.create_topic(
            Name=f"{unique_name('alerts')}.fifo", Attributes={"FifoTopic": "true"}
        )["TopicArn"]
    clock = ManualClock(NOW)
    state = SqliteAlertState(tmp_path / "alerts.sqlite", clock=clock)
    try:
        _queue_three(state, clock, huge_first=False)
        report = state.deliver([SnsSink(sns, target)])
        fixed = state.deliver([SnsSink(sns, topic)])  # the topic set right: the line goes on
    finally:
        state.close()
    assert (report.sent, report.dropped, len(report.failed)) == (0, {}, 1)  # held, not dropped
    assert (fixed.sent, fixed.dropped) == (2, {"sns": 1})  # then the huge one set aside
    assert [b["subject"] for b in drain_sns_inbox(sqs, inbox)] == ["msg-2", "bcb"]
