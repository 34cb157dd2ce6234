"""The template's real-time parts: 5-minute polls inside publication windows, a backstop
outside them, the alert topic with its e-mail parameter, and the TTL for intraday items."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.aws.test_aws_template import resources, template  # noqa: F401 - the fixture

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes.aws import schedule_options


def _orchestrator_schedules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:  # noqa: F811
    out = {}
    for name, res in resources(template, "AWS::Scheduler::Schedule").items():
        props = res["Properties"]
        event = json.loads(props["Target"]["Input"])
        if props["Target"]["Arn"]["Fn::GetAtt"][0] != "DataClusteringFunction":
            continue
        if event["detail"].get("mode") != "revise":  # the daily revision re-read is not a poll
            out[name] = props
    return out


def test_polls_every_five_minutes_inside_windows_and_rarely_outside(
    template: dict[str, Any],  # noqa: F811
) -> None:
    schedules = _orchestrator_schedules(template)
    windows = {n: p for n, p in schedules.items() if "0/5" in p["ScheduleExpression"]}
    backstops = {n: p for n, p in schedules.items() if n not in windows}
    assert len(windows) >= 3 and len(backstops) == 1
    for props in windows.values():
        event = json.loads(props["Target"]["Input"])
        assert event["detail"]["due_only"] is True  # a poll with nothing due costs a few reads
        hours = re.search(r"cron\(0/5 (\S+) ", props["ScheduleExpression"])
        assert hours is not None
        lo, _, hi = hours.group(1).partition("-")
        assert int(hi or lo) - int(lo) <= 5  # a window of hours, not the whole day
    (backstop,) = backstops.values()
    assert backstop["ScheduleExpression"] == "cron(0 0/6 * * ? *)"
    event = json.loads(backstop["Target"]["Input"])
    assert "due_only" not in event["detail"]
    assert {s.key for s in schedule_options(event, DEFAULT_CATALOG).series or []} == set(
        DEFAULT_CATALOG.keys()
    )


def test_alert_topic_with_email_parameter_and_publish_right(
    template: dict[str, Any],  # noqa: F811
) -> None:
    assert template["Parameters"]["AlertEmail"]["Default"] == ""
    (topic,) = resources(template, "AWS::SNS::Topic").values()
    assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertTopicKey"}
    (sub,) = resources(template, "AWS::SNS::Subscription").values()
    assert sub["Condition"] == "HasAlertEmail"
    assert sub["Properties"]["Protocol"] == "email"
    assert sub["Properties"]["Endpoint"] == {"Ref": "AlertEmail"}
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["FUELPIPE_ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}
    role = template["Resources"]["RetryRecheckRole"]["Properties"]["Policies"][0]
    statements = role["PolicyDocument"]["Statement"]
    publish = [s for s in statements if s["Action"] == "sns:Publish"]
    assert publish and publish[0]["Resource"] == {"Ref": "AlertTopic"}
    key_use = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["AlertTopicKey", "Arn"]}]
    assert key_use and set(key_use[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_table_expires_intraday_items_by_ttl(template: dict[str, Any]) -> None:  # noqa: F811
    table = template["Resources"]["Table"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
