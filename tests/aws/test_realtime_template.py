"""The template's real-time parts: 5-minute polls inside publication windows, a backstop
outside them, the alert topic with its e-mail parameter, and the TTL for intraday items."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.aws.test_aws_template import (  # noqa: F401 - the fixture
    as_list,
    invoked,
    longest_gap_s,
    resources,
    runs_of,
    statements,
    template,
    weekly_runs,
)

from fuelpipe.adapters.sources._http import longest_fetch_s
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.intraday import (
    INTRADAY_SERIES,
    collection_days,
    collection_window,
)
from fuelpipe.domain.keys import INTRADAY, intraday_key
from fuelpipe.homes.aws import schedule_options
from fuelpipe.homes.settings import Settings

SP = ZoneInfo("America/Sao_Paulo")


def _orchestrator_schedules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:  # noqa: F811
    out = {}
    for name, res in resources(template, "AWS::Scheduler::Schedule").items():
        props = res["Properties"]
        event = json.loads(props["Target"]["Input"])
        if invoked(template, props["Target"]["Arn"]) != "DataClusteringFunction":
            continue
        if event["detail"].get("mode") != "revise":  # the daily revision re-read is not a poll
            out[name] = props
    return out


def test_polls_every_five_minutes_inside_windows_and_rarely_outside(
    template: dict[str, Any],  # noqa: F811
) -> None:
    schedules = _orchestrator_schedules(template)
    windows = {
        n: p for n, p in schedules.items() if re.match(r"cron\(\d/5 ", p["ScheduleExpression"])
    }
    backstops = {n: p for n, p in schedules.items() if n not in windows}
    assert len(windows) >= 3 and len(backstops) == 1
    for props in windows.values():
        event = json.loads(props["Target"]["Input"])
        assert event["detail"]["due_only"] is True  # a poll with nothing due costs a few reads
        hours = re.search(r"cron\(\d/5 (\S+) ", props["ScheduleExpression"])
        assert hours is not None
        lo, _, hi = hours.group(1).partition("-")
        assert int(hi or lo) - int(lo) <= 5  # a window of hours, not the whole day
        # A window names its cron's last run of the day (São Paulo): a poll holds a resting
        # source's due series only for a later poll (stages/due.py hold_resting).
        last = max((h, m) for _, h, m in weekly_runs(props["ScheduleExpression"]))
        assert schedule_options(event, DEFAULT_CATALOG).last_poll == time(*last)
        assert props["ScheduleExpressionTimezone"] == "America/Sao_Paulo"
    (backstop,) = backstops.values()
    # Minute 2: never on a window's 5-minute tick (one reserved execution would throttle one).
    assert backstop["ScheduleExpression"] == "cron(2 0/6 * * ? *)"
    event = json.loads(backstop["Target"]["Input"])
    assert "due_only" not in event["detail"]
    # no series: the whole catalog, which also deletes the notes of keys a release dropped
    assert schedule_options(event, DEFAULT_CATALOG).series is None


def test_the_orchestrator_may_not_read_the_pending_index(
    template: dict[str, Any],  # noqa: F811
) -> None:
    """The backstop reads the PENDING dates its open windows can hold from the table (the
    watermarks, then one Query per series: poll_pending_in_window), not the pending index, and
    nothing else data_clustering runs queries an index (tests/aws/test_handler_permissions.py
    records the indexes each handler queries): its role grants no Query on any index."""
    granted = [
        resource
        for role, s in statements(template)
        if role == "DataClusteringRole"
        for resource in as_list(s["Resource"])
        if "/index/" in str(resource)
    ]
    assert granted == []


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


# --- intraday collection (lambdas/intraday) ---------------------------------------------------

INTRADAY_CRON = re.compile(r"^cron\(0/15 (\d+)-(\d+) \? \* MON-FRI \*\)$")


def _intraday_schedules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:  # noqa: F811
    return {
        name: res["Properties"]
        for name, res in resources(template, "AWS::Scheduler::Schedule").items()
        if res["Properties"]["Target"]["Arn"] == {"Ref": "IntradayLiveAlias"}
    }


def _intraday_schedule(template: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """The day's schedule (the evening's are the others)."""
    return dict(_intraday_schedules(template)["IntradaySchedule"])


def test_intraday_runs_every_15_minutes_through_the_hours_its_series_publish(
    template: dict[str, Any],  # noqa: F811
) -> None:
    """From PTAX's first bulletin to the latest close of an intraday series (BZ=F in New York's
    winter), derived from the publication schedules over today's zone rules, on weekdays."""
    props = _intraday_schedule(template)
    assert props["ScheduleExpressionTimezone"] == "America/Sao_Paulo"
    days = [date(2025, 1, 1) + timedelta(days=n) for n in range(3 * 366)]
    first, last = collection_window(DEFAULT_CATALOG, days)
    assert (first, last) == (time(10, 10), time(19, 30))  # the figures the template comments
    hours = INTRADAY_CRON.match(props["ScheduleExpression"])
    assert hours is not None, props["ScheduleExpression"]
    lo, hi = int(hours.group(1)), int(hours.group(2))
    runs = [time(h, m) for h in range(lo, hi + 1) for m in (0, 15, 30, 45)]
    assert [r for r in runs if r <= first] == [time(lo, 0)]  # one run before the first bulletin
    assert [r for r in runs if r > last] == [time(hi, 45)]  # and one after the last close
    target = props["Target"]
    assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    event = json.loads(target["Input"])
    assert event["detail"] == {}  # every intraday series
    assert schedule_options(event, DEFAULT_CATALOG).series is None
    invoke = template["Resources"]["SchedulerRole"]["Properties"]["Policies"][0]
    statements = {s["Sid"]: s for s in invoke["PolicyDocument"]["Statement"]}
    resources = statements["InvokeScheduled"]["Resource"]  # beside its dead letters' queue
    assert {"Ref": "IntradayLiveAlias"} in resources


def test_intraday_role_may_only_batch_write_intraday_partitions(
    template: dict[str, Any],  # noqa: F811
) -> None:
    role = template["Resources"]["IntradayRole"]["Properties"]
    (policy,) = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {"Logs", "WriteIntradayPoints"}
    assert statements["Logs"]["Resource"] == {"Fn::GetAtt": ["IntradayLogGroup", "Arn"]}
    write = statements["WriteIntradayPoints"]
    # DynamoIntradayStore.put_points is the only call the function makes (BatchWriteItem).
    assert write["Action"] == "dynamodb:BatchWriteItem"
    assert write["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}
    (leading,) = write["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert leading == f"{INTRADAY}#*"
    assert intraday_key("STOCK#PETR4", date(2025, 1, 2)).startswith(leading[:-1])
    assert not any(s.key.startswith(leading[:-1]) for s in DEFAULT_CATALOG)  # no daily key
    assert "ManagedPolicyArns" not in role


def test_intraday_function_ends_before_its_next_run_when_every_fetch_times_out(
    template: dict[str, Any],  # noqa: F811
) -> None:
    """Ten series, one request each, all running into every timeout: the run still ends inside
    its limit, with a minute for the writes, and before the schedule's next run."""
    fn = template["Resources"]["IntradayFunction"]["Properties"]
    env = fn["Environment"]["Variables"]
    settings = Settings(
        http_timeout_s=float(env["FUELPIPE_HTTP_TIMEOUT_S"]),
        http_attempts=int(env["FUELPIPE_HTTP_ATTEMPTS"]),
        http_attempt_deadline_s=float(env["FUELPIPE_HTTP_ATTEMPT_DEADLINE_S"]),
    )
    longest = longest_fetch_s(
        settings.http_timeout_s,
        settings.http_attempts,
        settings.http_backoff_s,
        deadline_s=settings.http_attempt_deadline_s,
    )
    assert fn["Timeout"] >= len(INTRADAY_SERIES) * (longest + settings.yahoo_min_interval_s) + 60
    assert fn["Timeout"] < 15 * 60  # the schedule's interval (and Lambda's limit)
    assert fn["ReservedConcurrentExecutions"]["Fn::If"][1] == 1  # never two runs at once
    log_group = template["Resources"]["IntradayLogGroup"]["Properties"]
    assert log_group == {
        "LogGroupName": "/aws/lambda/intraday",
        "RetentionInDays": {"Ref": "LogRetentionDays"},
    }
    assert fn["LoggingConfig"]["LogGroup"] == {"Ref": "IntradayLogGroup"}
    alarm = template["Resources"]["IntradayErrorsAlarm"]["Properties"]
    assert alarm["Dimensions"] == [  # the live alias's errors, not a deploy's ping
        {"Name": "FunctionName", "Value": {"Ref": "IntradayFunction"}},
        {"Name": "Resource", "Value": {"Fn::Sub": "${IntradayFunction}:live"}},
    ]
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]


def test_intraday_runs_through_brent_futures_evening_and_only_then(
    template: dict[str, Any],  # noqa: F811
) -> None:
    """Every quarter-hour over three years at which a collection asks a series for something
    (:func:`collection_days`: the day window's series, BZ=F's evening from 18:15 to midnight
    New York, Sunday to Thursday, none before a holiday) is a run of exactly one intraday
    schedule, in both zones' daylight saving, New York's midnight (the last bar's final
    close) too, and no quarter-hour is a run of two. Before, Sunday's first evening bars in
    New York's summer (19:15-19:45 here) waited for the 20:00 run. The evening, night and
    Sunday schedules ask BZ=F alone, and nothing at all on few of their runs."""
    schedules = _intraday_schedules(template)
    assert set(schedules) == {
        "IntradaySchedule",
        "IntradaySundaySchedule",
        "IntradayEveningSchedule",
        "IntradayNightSchedule",
    }
    runs = {name: weekly_runs(props["ScheduleExpression"]) for name, props in schedules.items()}
    for props in schedules.values():
        assert props["ScheduleExpressionTimezone"] == "America/Sao_Paulo"
        assert json.loads(props["Target"]["Input"])["detail"] == {}
    brent = DEFAULT_CATALOG["COMMODITY#BRENT_FUTURES"]
    day_names = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
    start = datetime(2025, 1, 1, tzinfo=SP)
    missed, twice, sunday_evenings, evening_runs, idle = [], [], 0, 0, 0
    for n in range(3 * 366 * 96):
        at = start + timedelta(minutes=15 * n)
        run = (day_names[at.weekday()], at.hour, at.minute)
        by = [name for name, weekly in runs.items() if run in weekly]
        asked = collection_days(DEFAULT_CATALOG, at)
        if len(by) > 1:
            twice.append((at, by))
        if asked and not by:
            missed.append((at, asked))
        if len(by) == 1 and by != ["IntradaySchedule"]:
            assert set(asked) <= {brent.key}, (at, asked)
            evening_runs += 1
            idle += not asked
        sunday_evenings += at.weekday() == 6 and at.hour == 19 and bool(asked)
    assert missed == []
    assert twice == []
    assert sunday_evenings > 0  # the walk does meet Sunday's evening before 20:00
    assert idle < evening_runs * 0.25  # New York's summer from 01:15, its winter before 20:15


def test_intraday_heartbeat_waits_out_the_weekend_and_not_much_longer(
    template: dict[str, Any],  # noqa: F811
) -> None:
    """The longest gap between two intraday runs, from the schedules' crons (São Paulo has no
    daylight saving; a holiday stops no run, only what a run asks), is Friday 19:45 to
    Sunday 19:15: 47 whole clock hours without an invocation, plus the hour in progress
    until the first run's datapoint lands. The alarm's hourly periods cover both and one
    more, so it never fires over a weekend yet fires within two days of the last run."""
    alarm = template["Resources"]["IntradayHeartbeatAlarm"]["Properties"]
    assert (alarm["Period"], alarm["TreatMissingData"]) == (3600, "breaching")
    periods = alarm["EvaluationPeriods"]
    assert alarm["DatapointsToAlarm"] == periods
    runs = runs_of(template, "IntradayFunction")
    gap = longest_gap_s(runs)
    assert gap == (47 * 60 + 30) * 60  # Friday 19:45 to Sunday 19:15
    week_hours = {r // 60 for r in runs}
    empty = max(  # the most consecutive clock hours (São Paulo's offset is whole) with no run
        next(n for n in range(168) if (h + n) % 168 in week_hours) for h in range(168)
    )
    assert empty == gap // 3600 == 47
    assert periods == empty + 2  # the hour in progress, and no more
    assert f"{periods} hours" in alarm["AlarmDescription"]


def test_the_ptax_window_polls_through_its_grace_and_no_two_orchestrator_runs_meet(
    template: dict[str, Any],  # noqa: F811
) -> None:
    """A PTAX close later than its window is polled every 15 minutes for its grace
    (domain/publication.py ``Publication.grace``), but the PTAX schedule stopped at 13:55, so
    on AWS a close out at 15:20 waited for a backstop run or recheck's backoff. It now polls
    to the grace's end, on minutes of its own: the orchestrator has one reserved execution, so
    two of its schedules firing together throttle one."""
    ptax = template["Resources"]["OrchestratePtaxWindow"]["Properties"]
    usd = DEFAULT_CATALOG["CURRENCY#USD"].schedule
    day = date(2022, 5, 6)  # a Friday
    grace_end = usd.polled_until(day).astimezone(ZoneInfo("America/Sao_Paulo"))
    runs = sorted((h, m) for d, h, m in weekly_runs(ptax["ScheduleExpression"]) if d == "FRI")
    assert time(*runs[-1]) >= (grace_end - timedelta(minutes=5)).time()
    assert time(*runs[0]) <= usd.published_at(day).astimezone(ZoneInfo("America/Sao_Paulo")).time()
    seen: dict[tuple[str, int, int], str] = {}
    for name, res in resources(template, "AWS::Scheduler::Schedule").items():
        props = res["Properties"]
        if invoked(template, props["Target"]["Arn"]) != "DataClusteringFunction":
            continue
        for run in weekly_runs(props["ScheduleExpression"]):
            assert run not in seen, (run, name, seen.get(run))
            seen[run] = name
