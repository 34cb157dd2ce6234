"""infra/template.yaml: what the AWS home relies on is declared, least privilege, lint clean."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode
from devtools.aws.lambda_events import load_handler

from fuelpipe.adapters._dynamo_items import (
    GSI_PK,
    GSI_SK,
    PENDING_INDEX,
    STATUS_INDEX,
    STATUS_INDEX_ATTRS,
)
from fuelpipe.adapters.sources._http import longest_fetch_s
from fuelpipe.adapters.sqs_queue import RETENTION_S
from fuelpipe.deploy.plan import discover_functions
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes.aws import schedule_options
from fuelpipe.homes.settings import DEFAULT_REVISE_AT, Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, problems
    assert parsed is not None
    return dict(parsed)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(template, "AWS::Serverless::Function")


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, role in resources(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement


def invoked(template: dict[str, Any], arn: Any) -> str:
    """The function an invoker's ARN reaches: it must name the function's ``live`` alias
    (``!Ref <Name>LiveAlias``), never the function itself; the function's logical id."""
    assert set(arn) == {"Ref"}, arn
    alias = template["Resources"][arn["Ref"]]
    assert alias["Type"] == "AWS::Lambda::Alias", arn
    assert alias["Properties"]["Name"] == "live"
    return str(alias["Properties"]["FunctionName"]["Ref"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_each_function_is_named_after_its_lambdas_folder(template: dict[str, Any]) -> None:
    names = set()
    for logical, fn in functions(template).items():
        props = fn["Properties"]
        name = props["FunctionName"]
        names.add(name)
        assert (ROOT / "lambdas" / name / "handler.py").is_file(), logical
        assert (ROOT / "lambdas" / name / "requirements.txt").is_file(), logical
        assert Path(props["CodeUri"]).parts[-1] == name
        assert (TEMPLATE.parent / props["CodeUri"]).resolve() == ROOT / "lambdas" / name
    assert {"data_clustering", "scraper", "retry_recheck"} <= names


def test_every_lambdas_folder_has_its_function_in_the_template(template: dict[str, Any]) -> None:
    """The deploy updates the Lambda named after each lambdas/<name>/ folder (``apply``); one
    the template does not declare does not exist, and the deploy would fail at that function."""
    names = {fn["Properties"]["FunctionName"] for fn in functions(template).values()}
    assert set(discover_functions(ROOT)) == names


def test_the_operators_settings_in_deploy_md_name_what_the_functions_use(
    template: dict[str, Any],
) -> None:
    """docs/DEPLOY.md sets the CLI's FUELPIPE_* from stack outputs (``out <Output>``): each
    output exists, and one assigned to a setting holds what the template gives the functions
    for it, so ``fuelpipe dlq list`` reads the DLQ the scraper writes."""
    text = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    outputs = template["Outputs"]
    named = set(re.findall(r"\$\(out (\w+)\)", text))
    assert named, "DEPLOY.md reads the stack's outputs"
    assert not named - set(outputs), sorted(named - set(outputs))
    given = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    for fn in functions(template).values():  # e.g. dashboard_api's FUELPIPE_LAKE_BUCKET
        given |= fn["Properties"].get("Environment", {}).get("Variables", {})
    assigned = re.findall(r"\b(FUELPIPE_[A-Z0-9_]+)=\"?\$\(out (\w+)\)", text)
    assert {s for s, _ in assigned} >= {
        "FUELPIPE_TABLE_NAME",
        "FUELPIPE_QUEUE_NAME",
        "FUELPIPE_DLQ_NAME",
        "FUELPIPE_VISIBILITY_TIMEOUT_S",
    }
    for setting, output in assigned:
        assert outputs[output]["Value"] == given[setting], (setting, output)


def test_the_lake_policies_an_operator_attaches_are_stack_outputs_deploy_md_uses(
    template: dict[str, Any],
) -> None:
    """No function ingests the station survey: a person or role does, with the stack's ingest
    policy attached (and the query policy for `stations query --athena`). Their names are
    generated (``<stack>-StationLakeWritePolicy-<suffix>``), so the stack outputs their ARNs
    and DEPLOY.md's first-deploy steps attach one from the output."""
    outputs = template["Outputs"]
    arns = {name: o["Value"] for name, o in outputs.items() if "Ref" in o["Value"]}
    by_policy = {v["Ref"]: k for k, v in arns.items()}
    assert {"StationLakeWritePolicy", "StationLakeQueryPolicy"} <= by_policy.keys()
    text = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    write = by_policy["StationLakeWritePolicy"]
    assert re.search(rf'--policy-arn "\$\(out {write}\)"', text), write
    assert 'FUELPIPE_LAKE_BUCKET="$(out StationLakeBucketName)"' in text


def test_the_first_backfill_invoke_in_deploy_md_is_a_full_gap_scan(
    template: dict[str, Any],
) -> None:
    """DEPLOY.md's `aws lambda invoke` that starts the first backfill sends data_clustering's
    live alias an event its handler takes as the backstop's: every series, from each catalog
    start, not the due-only poll or the revise."""
    text = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    [call] = re.findall(r"aws lambda invoke (.*?)/dev/null", text, re.S)
    assert "--function-name data_clustering --qualifier live" in call
    assert "--invocation-type Event" in call  # a run outlasts the CLI's read timeout
    [payload] = re.findall(r"--payload '([^']*)'", call)
    options = schedule_options(json.loads(payload), DEFAULT_CATALOG)
    assert (options.series, options.since, options.mode) == (None, None, None)
    assert not options.due_only
    backstop = json.loads(
        template["Resources"]["OrchestrateBackstop"]["Properties"]["Target"]["Input"]
    )
    # the whole catalog (no ``series``): only such a scan deletes the ``gap_sent#`` notes of
    # keys a release dropped; a selection of every prefix scanned the same keys and kept them
    backstop_options = schedule_options(backstop, DEFAULT_CATALOG)
    assert (backstop_options.series, backstop_options.since, backstop_options.mode) == (
        None,
        None,
        None,
    )
    assert not backstop_options.due_only
    assert re.search(
        r"`OrchestrateBackstop` \(`"
        + re.escape(
            template["Resources"]["OrchestrateBackstop"]["Properties"]["ScheduleExpression"]
        ),
        text,
    )


def test_every_function_logs_to_its_own_group_with_the_retention(template: dict[str, Any]) -> None:
    """Without its own group (the template's, with RetentionInDays), Lambda creates
    /aws/lambda/<name> itself, and keeps its logs for ever."""
    groups = resources(template, "AWS::Logs::LogGroup")
    for logical, fn in functions(template).items():
        group = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        props = groups[group]["Properties"]
        assert props["LogGroupName"] == f"/aws/lambda/{fn['Properties']['FunctionName']}", logical
        assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical


def test_no_statement_grants_a_wildcard_action_or_resource(template: dict[str, Any]) -> None:
    found = list(statements(template))
    assert len(found) >= 10
    for role, statement in found:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, (role, action)
        for resource in as_list(statement["Resource"]):
            assert "*" not in json.dumps(resource), (role, resource)


def test_each_function_has_its_own_role(template: dict[str, Any]) -> None:
    roles = [fn["Properties"]["Role"]["Fn::GetAtt"][0] for fn in functions(template).values()]
    assert len(roles) == len(set(roles))


def test_every_role_carries_the_bootstraps_permissions_boundary(
    template: dict[str, Any],
) -> None:
    """infra/bootstrap.yaml's CloudFormation role creates and changes a role only with this
    boundary on it (tests/unit/test_trust_policy.py): a role without it fails the deploy."""
    roles = resources(template, "AWS::IAM::Role")
    assert len(roles) >= 7
    expected = {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/"
        "${AWS::StackName}-permissions-boundary"
    }
    for name, role in roles.items():
        assert role["Properties"].get("PermissionsBoundary") == expected, name


def test_deploy_md_names_each_function_that_deletes_items_and_where(
    template: dict[str, Any],
) -> None:
    """DEPLOY.md's note on the boundary's DeleteItem says which functions delete items, in the
    META partition only, and what each loses without it: every function whose role grants
    dynamodb:DeleteItem is named there (it said the outlook's prune was the only delete, while
    the scraper deletes the values it set aside), each such grant limited to META."""
    role_of = {
        fn["Properties"]["Role"]["Fn::GetAtt"][0]: fn["Properties"]["FunctionName"]
        for fn in functions(template).values()
    }
    deleting = set()
    for role, statement in statements(template):
        if "dynamodb:DeleteItem" in as_list(statement["Action"]):
            deleting.add(role_of[role])
            keys = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
            assert keys == ["META"], (role, keys)
    assert deleting >= {"outlook"}
    text = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    start = text.index("**`DeleteItem` came with a bootstrap change too**")
    note = text[start : text.index("\n- **", start)]
    named = set(re.findall(r"`([a-z_]+)`", note)) & set(role_of.values())
    assert named == deleting, f"DEPLOY.md names {sorted(named)}; deleting: {sorted(deleting)}"
    assert "`META`" in note


def test_the_lake_bucket_leaves_no_upload_parts_or_delete_markers_behind(
    template: dict[str, Any],
) -> None:
    """The lake bucket is versioned and expires its Athena results: each expired result keeps
    a delete marker once its last version is gone, and an upload stopped part-way (an ingest's
    partition file, an Athena result) keeps its parts, stored and billed, for ever; the
    ingest's policy grants no s3:AbortMultipartUpload to clean them up. A rule over the whole
    bucket removes both, as the bootstrap's artifact bucket aborts its unfinished uploads."""
    bucket = template["Resources"]["StationLakeBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    whole = [
        rule
        for rule in bucket["LifecycleConfiguration"]["Rules"]
        if rule["Status"] == "Enabled" and not {"Prefix", "Filter", "TagFilters"} & set(rule)
    ]
    aborts = [r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] for r in whole
              if "AbortIncompleteMultipartUpload" in r]  # fmt: skip
    assert aborts and 1 <= min(aborts) <= 7, whole
    assert any(rule.get("ExpiredObjectDeleteMarker") is True for rule in whole), whole


def test_the_alert_topic_key_carries_the_stack_tag(template: dict[str, Any]) -> None:
    """The CloudFormation role changes, and the roles' boundary uses, only a key with it."""
    [key] = resources(template, "AWS::KMS::Key").values()
    tags = {tag["Key"]: tag["Value"] for tag in key["Properties"]["Tags"]}
    assert tags["fuelpipe:stack"] == {"Ref": "AWS::StackName"}


def test_the_alert_topic_keys_description_names_every_function_that_publishes(
    template: dict[str, Any],
) -> None:
    """The key's description says who publishes through it: each function whose role may
    encrypt with it (SNS encrypts as the caller), and no other, besides CloudWatch's alarms.
    It named retry_recheck alone while outlook evaluates and publishes alerts too."""
    key_arn = {"Fn::GetAtt": ["AlertTopicKey", "Arn"]}
    roles = {
        role
        for role, statement in statements(template)
        if "kms:GenerateDataKey" in as_list(statement["Action"])
        and key_arn in as_list(statement["Resource"])
    }
    publishing = {
        fn["Properties"]["FunctionName"]
        for fn in functions(template).values()
        if fn["Properties"]["Role"]["Fn::GetAtt"][0] in roles
    }
    assert publishing == {"retry_recheck", "outlook"}
    described = template["Resources"]["AlertTopicKey"]["Properties"]["Description"]
    named = {
        fn["Properties"]["FunctionName"]
        for fn in functions(template).values()
        if re.search(rf"\b{fn['Properties']['FunctionName']}\b", described)
    }
    assert named == publishing, described
    assert "CloudWatch alarms" in described


def test_the_table_matches_the_store(template: dict[str, Any]) -> None:
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
    assert keys == {"HASH": "info_type", "RANGE": "date"}
    gsi, slim = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == PENDING_INDEX
    assert {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]} == {
        "HASH": GSI_PK,
        "RANGE": GSI_SK,
    }
    assert slim["IndexName"] == STATUS_INDEX
    assert {k["KeyType"]: k["AttributeName"] for k in slim["KeySchema"]} == {
        "HASH": GSI_PK,
        "RANGE": "updated_at",
    }
    assert slim["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": list(STATUS_INDEX_ATTRS),
    }
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True


def find_in_map(template: dict[str, Any], value: Any) -> Any:
    """``value``, or what its ``Fn::FindInMap`` names in the template's Mappings."""
    if isinstance(value, dict) and "Fn::FindInMap" in value:
        name, top, second = value["Fn::FindInMap"]
        return template["Mappings"][name][top][second]
    return value


def test_the_queue_has_a_dlq_and_outlasts_the_scraper(template: dict[str, Any]) -> None:
    queue = template["Resources"]["DownloadQueue"]["Properties"]
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DownloadDeadLetterQueue", "Arn"]}
    assert find_in_map(template, redrive["maxReceiveCount"]) == "5"
    scraper = template["Resources"]["ScraperFunction"]["Properties"]
    visibility = int(find_in_map(template, queue["VisibilityTimeout"]))
    assert visibility >= 6 * scraper["Timeout"]
    assert visibility <= 43_200  # SQS's limit
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    # One Mappings value for both, so they cannot drift apart.
    assert env["FUELPIPE_VISIBILITY_TIMEOUT_S"] == queue["VisibilityTimeout"]
    assert "Fn::FindInMap" in queue["VisibilityTimeout"]
    # The scraper dead-letters a message failing on the delivery the RedrivePolicy's
    # maxReceiveCount makes its last (with its error): it must know which one that is.
    assert env["FUELPIPE_MAX_RECEIVES"] == redrive["maxReceiveCount"]
    assert "Fn::FindInMap" in redrive["maxReceiveCount"]
    # The orchestrator holds a gap it sent from being sent again while the queue is busy, at
    # most as long as the queue keeps a message (stages/orchestrate.py): the queue's own.
    assert int(queue["MessageRetentionPeriod"]) == RETENTION_S
    event = template["Resources"]["ScraperDownloads"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["BatchSize"] <= 10
    assert 2 <= event["ScalingConfig"]["MaximumConcurrency"] <= 5


def test_the_scrapers_batch_and_concurrency_in_the_aws_doc_are_the_templates(
    template: dict[str, Any],
) -> None:
    """The event source mapping hands one message per invocation and runs at most N at once;
    the scraper has no reserved concurrency (it would throttle messages towards the DLQ)."""
    mapping = template["Resources"]["ScraperDownloads"]["Properties"]
    doc = " ".join((ROOT / "docs" / "AWS.md").read_text(encoding="utf-8").split())
    assert mapping["BatchSize"] == 1
    assert "scraper takes one queue message per invocation" in doc
    cap = mapping["ScalingConfig"]["MaximumConcurrency"]
    assert f"at most {cap} invocations at a time (the event source mapping's" in doc
    assert (
        "ReservedConcurrentExecutions" not in template["Resources"]["ScraperFunction"]["Properties"]
    )


def test_the_scraper_outlasts_its_batch_when_every_fetch_times_out(
    template: dict[str, Any],
) -> None:
    """Each message is one source request, and an answer showing a stock split is followed by
    one re-read of the stored history (stages/scrape.py follow_splits); when both requests of
    every message of a batch run into every timeout and wait, the invocation must still end
    inside its time limit (else the batch times out, is redelivered, and drifts to the DLQ),
    with a minute left for the writes."""
    settings = Settings()
    longest = longest_fetch_s(
        settings.http_timeout_s,
        settings.http_attempts,
        settings.http_backoff_s,
        deadline_s=settings.http_attempt_deadline_s,
    )
    scraper = template["Resources"]["ScraperFunction"]["Properties"]
    batch = template["Resources"]["ScraperDownloads"]["Properties"]["BatchSize"]
    requests = 2  # the answer's, then the split re-read
    assert scraper["Timeout"] >= batch * requests * (longest + settings.yahoo_min_interval_s) + 60
    assert scraper["Timeout"] <= 900  # Lambda's limit


def test_schedules_run_the_scheduled_functions_in_sao_paulo_time(
    template: dict[str, Any],
) -> None:
    schedules = resources(template, "AWS::Scheduler::Schedule")
    targets: dict[str, list[dict[str, Any]]] = {}
    for schedule in schedules.values():
        props = schedule["Properties"]
        assert props["ScheduleExpressionTimezone"] == "America/Sao_Paulo"
        target = props["Target"]
        fn = invoked(template, target["Arn"])
        targets.setdefault(fn, []).append(json.loads(target["Input"]))
    assert set(targets) == {
        "DataClusteringFunction",
        "RetryRecheckFunction",
        "OutlookFunction",
        "IntradayFunction",
    }
    forced = [e["detail"].get("force", False) for e in targets["OutlookFunction"]]
    assert sorted(forced) == [False, True]  # every 10 minutes if changed, daily in any case
    covered: set[str] = set()
    modes = [e["detail"].get("mode") for e in targets["DataClusteringFunction"]]
    assert modes.count("revise") == 1  # the daily revision re-read, whole catalog
    for event in targets["DataClusteringFunction"]:
        assert event["id"] == "<aws.scheduler.execution-id>"  # the run's correlation id
        if event["detail"].get("mode") == "revise":
            continue
        options = schedule_options(event, DEFAULT_CATALOG)
        # no series: the whole catalog (the backstop)
        covered |= {s.key for s in (DEFAULT_CATALOG if options.series is None else options.series)}
    assert covered == set(DEFAULT_CATALOG.keys())  # every series has a schedule


def shortest_period_s(expression: str) -> int:
    """The shortest time between two runs of a ``cron(min hour dom month dow year)``
    schedule of this template (minute or hour steps, else daily)."""
    assert expression.startswith("cron(") and expression.endswith(")"), expression
    minute, hour, *_ = expression[len("cron(") : -1].split()
    if "/" in minute:
        return int(minute.split("/")[1]) * 60
    assert minute.isdigit(), expression
    if hour == "*":
        return 3600
    if "/" in hour:
        return int(hour.split("/")[1]) * 3600
    assert hour.isdigit(), expression
    return 86400


DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def cron_field(field: str, top: int) -> set[int]:
    """The values of one minute or hour field of this template's crons: ``*``, ``N``,
    ``a-b`` or ``a/step``."""
    if field == "*":
        return set(range(top))
    if "/" in field:
        start, step = field.split("/")
        return set(range(int(start), top, int(step)))
    lo, _, hi = field.partition("-")
    return set(range(int(lo), int(hi or lo) + 1))


def weekly_runs(expression: str) -> set[tuple[str, int, int]]:
    """(day, hour, minute) of each run in a week of a ``cron(min hour dom month dow year)``
    schedule of this template (every day of the month, days of the week as ``*``, ``?``,
    ``DAY`` or ``DAY-DAY``, which may run over the week's end: ``SUN-THU``)."""
    minute, hour, dom, month, dow, _ = expression[len("cron(") : -1].split()
    assert dom in "*?" and month == "*", expression
    if dow in "*?":
        days = set(DAYS)
    else:
        lo, _, hi = dow.partition("-")
        first, last = DAYS.index(lo), DAYS.index(hi or lo)
        days = {DAYS[(first + n) % 7] for n in range((last - first) % 7 + 1)}
    return {(d, h, m) for d in days for h in cron_field(hour, 24) for m in cron_field(minute, 60)}


def test_the_cost_counts_in_deploy_md_are_the_templates(template: dict[str, Any]) -> None:
    """DEPLOY.md's cost note counts the schedules' weekly invocations per function and the
    alarms with their metrics (alarms are billed per metric): a template change moves them."""
    text = " ".join((ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8").split())
    weekly: dict[str, int] = {}
    for schedule in resources(template, "AWS::Scheduler::Schedule").values():
        props = schedule["Properties"]
        name = functions(template)[invoked(template, props["Target"]["Arn"])]["Properties"]
        runs = len(weekly_runs(props["ScheduleExpression"]))
        weekly[name["FunctionName"]] = weekly.get(name["FunctionName"], 0) + runs
    listed = ", ".join(f"`{n}` {c:,}" for n, c in sorted(weekly.items(), key=lambda i: -i[1]))
    assert f"about {round(sum(weekly.values()), -1):,} times a week ({listed})" in text
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    metrics = sum(
        sum("MetricStat" in m for m in a["Properties"].get("Metrics", [])) or 1 for a in alarms
    )
    assert f"{len(alarms)} CloudWatch alarms watching {metrics} metrics" in text


def test_no_two_schedules_of_a_function_fire_at_the_same_minute(
    template: dict[str, Any],
) -> None:
    """The scheduled functions have one reserved execution: two schedules of one function
    firing together throttle one of them (and its event may expire and be dropped)."""
    runs: dict[str, dict[tuple[str, int, int], str]] = {}
    for name, schedule in resources(template, "AWS::Scheduler::Schedule").items():
        props = schedule["Properties"]
        fn = invoked(template, props["Target"]["Arn"])
        seen = runs.setdefault(fn, {})
        for run in weekly_runs(props["ScheduleExpression"]):
            assert run not in seen, (name, seen.get(run), run)
            seen[run] = name
    assert ("FRI", 18, 0) in runs["DataClusteringFunction"]  # the windows are expanded


def test_scheduled_functions_are_not_retried_by_lambda_and_drop_a_stale_event(
    template: dict[str, Any],
) -> None:
    """The Scheduler invokes asynchronously, and Lambda's own async defaults (2 retries, events
    kept up to 6 hours) would rerun a failed run twice and let throttled events pile up behind
    reserved concurrency 1. The next scheduled run redoes a failed one, so no retries; a
    throttled event waits behind one whole run of the function, never past its next run."""
    periods: dict[str, int] = {}
    for schedule in resources(template, "AWS::Scheduler::Schedule").values():
        props = schedule["Properties"]
        fn = invoked(template, props["Target"]["Arn"])
        period = shortest_period_s(props["ScheduleExpression"])
        periods[fn] = min(period, periods.get(fn, period))
    assert set(periods) >= {"DataClusteringFunction", "IntradayFunction"}
    # On the live alias the schedules invoke: a $LATEST config would not apply to them.
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["Qualifier"] == "live"
    }
    for logical, fn in functions(template).items():
        assert "EventInvokeConfig" not in fn["Properties"], logical  # that one is $LATEST's
        config = configs.get(logical)
        if logical not in periods:
            assert config is None, logical  # invoked synchronously or by an event source
            continue
        assert config is not None, logical
        assert config["MaximumRetryAttempts"] == 0, logical
        age = config["MaximumEventAgeInSeconds"]
        assert 60 <= age <= 21600, logical  # Lambda's bounds
        assert fn["Properties"]["Timeout"] <= age <= periods[logical], logical


def test_alarms_watch_the_dlq_quarantine_and_errors(template: dict[str, Any]) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    text = json.dumps([a["Properties"] for a in alarms])
    assert "ApproximateNumberOfMessagesVisible" in text
    assert '"MetricName": "Quarantined"' in text
    errors = {
        a["Properties"]["Dimensions"][0]["Value"]["Ref"]
        for a in alarms
        if a["Properties"].get("MetricName") == "Errors"
    }
    assert errors == set(functions(template))


def metric_math(expression: str, values: dict[str, float | None]) -> float:
    """One datapoint of a CloudWatch metric math ``expression`` of this template: metric ids,
    numbers, comparisons, ``AND``/``OR`` and the functions ``IF`` and ``FILL`` (None: no
    datapoint, as CloudWatch has none for a metric nothing emitted). Anything else is refused,
    so an expression using more fails here rather than pass untested."""
    tree = ast.parse(re.sub(r"\b(AND|OR)\b", lambda m: m[1].lower(), expression), mode="eval")

    compare = {ast.Gt: float.__gt__, ast.GtE: float.__ge__, ast.Lt: float.__lt__}
    compare |= {ast.LtE: float.__le__, ast.Eq: float.__eq__}

    def value(node: ast.expr) -> Any:
        match node:
            case ast.Constant(value=int() | float() as number):
                result: Any = number
            case ast.Name(id=name) if name in values:
                result = values[name]
            case ast.BoolOp(op=ast.And() | ast.Or() as op, values=operands):
                result = (all if isinstance(op, ast.And) else any)(value(o) for o in operands)
            case ast.Compare(left=left, ops=[op], comparators=[right]) if type(op) in compare:
                result = compare[type(op)](float(value(left)), float(value(right)))
            case ast.Call(func=ast.Name(id="IF"), args=[test, then, otherwise]):
                result = value(then) if value(test) else value(otherwise)
            case ast.Call(func=ast.Name(id="FILL"), args=[series, ast.Constant(value=fill)]):
                found = value(series)
                result = fill if found is None else found
            case _:
                raise AssertionError(f"not metric math this test knows: {ast.dump(node)}")
        return result

    return float(value(tree.body))


def test_an_alarm_tells_when_the_download_queue_is_not_consumed(
    template: dict[str, Any],
) -> None:
    """A stuck event source mapping shows neither as errors nor as dead letters; the queue's
    oldest message ages instead, past what two failed receives legitimately take, long before
    the queue's retention drops it. A fresh deploy's first backfill ages it as well (hundreds
    of messages at once, two fetched at a time, for hours), but its messages are consumed:
    the alarm fires only on an old message with none deleted in the same hour."""
    alarm = template["Resources"]["DownloadQueueAgeAlarm"]["Properties"]
    queue = template["Resources"]["DownloadQueue"]["Properties"]
    stats = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    watched = {i: (s["Metric"]["Namespace"], s["Metric"]["MetricName"]) for i, s in stats.items()}
    assert sorted(watched.values()) == [
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/SQS", "NumberOfMessagesDeleted"),
    ]
    for stat in stats.values():
        assert stat["Metric"]["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DownloadQueue", "QueueName"]}}
        ]
        assert stat["Period"] == 3600  # an hour: a consumed message takes 900 s at most
    assert {watched[i][1]: stats[i]["Stat"] for i in stats} == {
        "ApproximateAgeOfOldestMessage": "Maximum",
        "NumberOfMessagesDeleted": "Sum",
    }
    age = next(i for i in stats if watched[i][1] == "ApproximateAgeOfOldestMessage")
    deleted = next(i for i in stats if i != age)
    (returned,) = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")

    def fires(oldest_s: float | None, deleted_in_hour: float | None) -> bool:
        point = metric_math(returned["Expression"], {age: oldest_s, deleted: deleted_in_hour})
        return point >= alarm["Threshold"]

    visibility = int(find_in_map(template, queue["VisibilityTimeout"]))
    retention = queue["MessageRetentionPeriod"]
    assert not fires(2 * visibility + 60, 0)  # a message failing twice, waiting its third go
    assert fires(retention / 4, 0)  # stuck: nothing consumed, a day before messages drop
    assert fires(retention / 4, None)  # stuck, and SQS emitted no deletions at all
    assert not fires(retention / 4, 12)  # a first backfill worked through, however old
    assert not fires(None, None)  # an idle queue
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]


def test_an_alarm_tells_when_a_scheduled_run_is_dropped(template: dict[str, Any]) -> None:
    """One reserved execution and no retries: a throttled scheduled event that expires is
    dropped without an error, seen only in Lambda's AsyncEventsDropped."""
    alarm = template["Resources"]["ScheduledEventsDroppedAlarm"]["Properties"]
    watched = {
        m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
        for m in alarm["Metrics"]
        if "MetricStat" in m
    }
    assert all(
        m["MetricStat"]["Metric"]["MetricName"] == "AsyncEventsDropped"
        for m in alarm["Metrics"]
        if "MetricStat" in m
    )
    scheduled = {
        invoked(template, s["Properties"]["Target"]["Arn"])
        for s in resources(template, "AWS::Scheduler::Schedule").values()
    }
    assert watched == scheduled
    (total,) = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert all(m["Id"] in total["Expression"] for m in alarm["Metrics"] if m is not total)
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]


def assert_sums_each_evaluators_metric(alarm: dict[str, Any], name: str) -> None:
    """``alarm`` sums the EMF metric ``name`` of both alert evaluators (retry_recheck, outlook)
    over the recheck's hour, on each handler's own namespace and ``service`` dimension (what
    Powertools puts on the EMF line), and fires on one."""
    watched = {
        (
            m["MetricStat"]["Metric"]["Namespace"],
            m["MetricStat"]["Metric"]["MetricName"],
            m["MetricStat"]["Metric"]["Dimensions"][0]["Name"],
            m["MetricStat"]["Metric"]["Dimensions"][0]["Value"],
        ): (m["MetricStat"]["Stat"], m["MetricStat"]["Period"])
        for m in alarm["Metrics"]
        if "MetricStat" in m
    }
    for handler in ("retry_recheck", "outlook"):
        metrics = load_handler(handler).metrics
        assert metrics.service == handler
        key = (metrics.namespace, name, "service", metrics.service)
        assert watched.get(key) == ("Sum", 3600), (handler, watched)
    assert len(watched) == 2
    (total,) = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert all(m["Id"] in total["Expression"] for m in alarm["Metrics"] if m is not total)
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (1, 1)


def test_an_alarm_tells_when_an_evaluator_skips_alerting(template: dict[str, Any]) -> None:
    """A skipped alert evaluation fires and clears nothing and publishes nothing, so the
    alerts cannot tell of it themselves: the AlertsSkipped metric each evaluating handler
    (retry_recheck hourly, outlook after a refresh that changed forecasts) emits on a skip has
    its alarm, on the handler's own namespace and service, summed over the recheck's hour."""
    alarm = template["Resources"]["AlertsSkippedAlarm"]["Properties"]
    assert_sums_each_evaluators_metric(alarm, "AlertsSkipped")
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"  # emitted only when a run skips
    schedule = template["Resources"]["RecheckSchedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(15 * * * ? *)"  # hourly: one run a period
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]


def test_every_alarm_notifies_the_alert_topic_through_a_key_cloudwatch_may_use(
    template: dict[str, Any],
) -> None:
    """An alarm without actions notifies nobody; and CloudWatch can publish to an encrypted
    topic only when the key's policy lets cloudwatch.amazonaws.com use it (so not the AWS
    managed alias/aws/sns, whose policy cannot be changed)."""
    for name, alarm in resources(template, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"].get("AlarmActions") == [{"Ref": "AlertTopic"}], name
    topic = template["Resources"]["AlertTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlertTopicKey"}
    key = template["Resources"]["AlertTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    granted = [
        statement["Action"]
        for statement in key["KeyPolicy"]["Statement"]
        if statement["Principal"].get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert granted == [["kms:Decrypt", "kms:GenerateDataKey*"]]


def test_every_checkov_skip_says_why(template: dict[str, Any]) -> None:
    for name, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV_"), name
            assert len(skip.get("comment", "")) > 40, (name, skip["id"])


def test_cfn_lint_passes() -> None:
    done = subprocess.run(
        [str(BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_checkov_passes() -> None:  # checkov is a dev dependency: missing, it fails
    done = subprocess.run(
        [str(BIN / "checkov"), "-f", str(TEMPLATE), "--framework", "cloudformation",
         "--compact", "--quiet", "--skip-download", "--output", "json"],
        capture_output=True, text=True, check=False, timeout=120,
        # No calls home: checkov otherwise fetches its guideline mapping from the internet.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["summary"]["failed"] == 0, done.stdout
    assert report["summary"]["passed"] > 30


def runs_of(template: dict[str, Any], function: str) -> list[int]:
    """The minutes of the week (0: Monday 00:00) at which ``function``'s schedules run."""
    minutes = set()
    for schedule in resources(template, "AWS::Scheduler::Schedule").values():
        props = schedule["Properties"]
        if invoked(template, props["Target"]["Arn"]) != function:
            continue
        for day, hour, minute in weekly_runs(props["ScheduleExpression"]):
            minutes.add(DAYS.index(day) * 1440 + hour * 60 + minute)
    return sorted(minutes)


def longest_gap_s(runs: list[int]) -> int:
    """The longest time between two consecutive runs of a weekly schedule, wrapping around."""
    week = 7 * 1440
    gaps = [b - a for a, b in zip(runs, runs[1:], strict=False)] + [runs[0] + week - runs[-1]]
    return max(gaps) * 60


def test_a_heartbeat_alarm_fires_when_a_scheduled_function_stops_running(
    template: dict[str, Any],
) -> None:
    """Every other alarm watches something a run does (errors, drops, a metric it emits), with
    missing data not breaching: a disabled schedule, a broken Scheduler role or a function
    throttled to zero would fire none, and the stale-source rule runs inside retry_recheck.
    Each scheduled function has an Invocations alarm whose missing data breaches, over more
    hours than the longest gap between its runs plus the hour in progress (so it never fires
    while the schedules run): less than a day for those scheduled every day, and within
    CloudWatch's 7-day evaluation limit for intraday, whose weekend has no run."""
    heartbeats = {
        a["Properties"]["Dimensions"][0]["Value"]["Ref"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "Invocations"
    }
    scheduled = {fn for fn in functions(template) if runs_of(template, fn)}
    daily = {fn for fn in scheduled if {r // 1440 for r in runs_of(template, fn)} == set(range(7))}
    assert {"DataClusteringFunction", "RetryRecheckFunction"} <= daily
    assert scheduled - daily == {"IntradayFunction"}
    assert set(heartbeats) == scheduled
    for fn, alarm in heartbeats.items():
        assert alarm["Namespace"] == "AWS/Lambda", fn
        assert alarm["Dimensions"][0]["Name"] == "FunctionName", fn
        assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1), fn
        assert alarm["ComparisonOperator"] == "LessThanThreshold", fn
        assert alarm["TreatMissingData"] == "breaching", fn  # no run: no datapoint at all
        periods = alarm["EvaluationPeriods"]
        assert alarm.get("DatapointsToAlarm", periods) == periods, fn
        gap = longest_gap_s(runs_of(template, fn))
        assert (periods - 1) * alarm["Period"] > gap, (fn, gap)
        assert periods * alarm["Period"] <= (86_400 if fn in daily else 604_800), fn
        assert alarm["Period"] >= 3600, fn  # under an hour, CloudWatch caps the span at a day
        assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}], fn


def test_the_longest_gap_counts_the_weeks_wrap() -> None:
    assert longest_gap_s([0, 60]) == (7 * 1440 - 60) * 60
    assert longest_gap_s(list(range(0, 7 * 1440, 60))) == 3600


def test_a_scheduled_run_that_never_reaches_its_function_is_dead_lettered_and_alarmed(
    template: dict[str, Any],
) -> None:
    """Scheduler gives up on an event it cannot deliver after its RetryPolicy (its role lost
    lambda:InvokeFunction, the function is gone or throttled past the event's age): without a
    DeadLetterConfig the event is dropped and no function metric shows it."""
    dlq = {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}
    schedules = resources(template, "AWS::Scheduler::Schedule")
    assert len(schedules) >= 9
    for name, schedule in schedules.items():
        target = schedule["Properties"]["Target"]
        assert target.get("DeadLetterConfig") == {"Arn": dlq}, name
    queue = template["Resources"]["ScheduleDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 1_209_600
    # Scheduler sends the dead letter with the schedule's execution role
    granted = [
        s for role, s in statements(template) if role == "SchedulerRole" and s["Resource"] == dlq
    ]
    assert [s["Action"] for s in granted] == ["sqs:SendMessage"]
    alarm = template["Resources"]["ScheduleDeadLetterAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
    dropped = template["Resources"]["SchedulerDroppedAlarm"]["Properties"]
    watched = {
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"])
        for m in dropped["Metrics"]
        if "MetricStat" in m
    }
    assert watched == {
        ("AWS/Scheduler", "InvocationDroppedCount"),
        ("AWS/Scheduler", "InvocationsFailedToBeSentToDeadLetterCount"),
    }
    assert all("GroupName" not in s["Properties"] for s in schedules.values())  # "default"
    (total,) = [m for m in dropped["Metrics"] if m.get("ReturnData")]
    assert all(m["Id"] in total["Expression"] for m in dropped["Metrics"] if m is not total)
    assert dropped["AlarmActions"] == [{"Ref": "AlertTopic"}]


def test_an_alarm_tells_when_an_alert_cannot_be_delivered(template: dict[str, Any]) -> None:
    """A failed SNS publish keeps the alert in the outbox and only the AlertDeliveryFailed
    metric says so: its alarm watches it on each evaluating handler's own namespace and
    service (what Powertools puts on the EMF line), summed over the recheck's hour."""
    alarm = template["Resources"]["AlertDeliveryFailedAlarm"]["Properties"]
    assert_sums_each_evaluators_metric(alarm, "AlertDeliveryFailed")
    assert alarm["TreatMissingData"] == "notBreaching"  # no sink, or a skipped evaluation
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]


@pytest.mark.parametrize(
    ("function", "named"),
    [("scraper", ("VERSION_OWED", "RUN_LOG_FAILED")), ("outlook", ("DEBT_CHECK_FAILED",))],
)
def test_an_alarm_tells_of_each_bookkeeping_failure_a_function_only_counts(
    template: dict[str, Any], function: str, named: tuple[str, ...]
) -> None:
    """A refused data version write (``VersionOwed``) or run log (``RunLogFailed``) is logged
    and counted by the scraper, never raised, and so is the outlook's failed debt payment or
    daily run-log check (``DebtCheckFailed``), so no Errors alarm sees either: each metric the
    handler names for an alarm (``ALARMED``) has one, on the handler's own namespace and
    ``service`` dimension (what Powertools puts on the EMF line), firing on one."""
    handler = load_handler(function)
    metrics = handler.metrics
    assert set(handler.ALARMED) == {getattr(handler, n) for n in named}
    watched = {
        a["Properties"].get("MetricName"): a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == metrics.namespace
        and a["Properties"].get("Dimensions") == [{"Name": "service", "Value": metrics.service}]
    }
    for name in handler.ALARMED:
        alarm = watched[name]
        assert alarm["Dimensions"] == [{"Name": "service", "Value": metrics.service}], name
        assert (alarm["Statistic"], alarm["Threshold"], alarm["EvaluationPeriods"]) == ("Sum", 1, 1)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"  # emitted only on a failure
        assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
        # Named by CloudFormation <stack>-<LogicalId>-<suffix>: the bootstrap's ${StackName}-*.
        assert "AlarmName" not in alarm


def test_every_invoker_names_the_live_alias(template: dict[str, Any]) -> None:
    """Schedules, the SQS event source, the function URL and its permission, the scheduler's
    grant: all on ``live``, so only the deploy's alias move changes what runs."""
    aliases = resources(template, "AWS::Lambda::Alias")
    assert {a["Properties"]["FunctionName"]["Ref"] for a in aliases.values()} == set(
        functions(template)
    )
    for alias in aliases.values():  # created on the first version, then the deploy's
        version = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"]
        assert template["Resources"][version[0]]["Type"] == "AWS::Lambda::Version"
    targets = [
        s["Properties"]["Target"]["Arn"]
        for s in resources(template, "AWS::Scheduler::Schedule").values()
    ]
    mappings = [
        m["Properties"]["FunctionName"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
    ]
    permissions = [
        p["Properties"]["FunctionName"]
        for p in resources(template, "AWS::Lambda::Permission").values()
    ]
    (grant,) = [s for _, s in statements(template) if s.get("Sid") == "InvokeScheduled"]
    assert sorted(invoked(template, arn) for arn in mappings + permissions) == [
        "DashboardApiFunction",  # the URL's InvokeFunctionUrl
        "DashboardApiFunction",  # and, since October 2025, InvokeFunction via the URL only
        "ScraperFunction",
    ]
    public = sorted(
        (p["Properties"]["Action"], p["Properties"].get("FunctionUrlAuthType"),
         p["Properties"].get("InvokedViaFunctionUrl"))
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "*"
    )  # fmt: skip
    assert public == [
        ("lambda:InvokeFunction", None, True),
        ("lambda:InvokeFunctionUrl", "NONE", None),
    ]
    assert {invoked(template, arn) for arn in targets} == {
        invoked(template, arn) for arn in grant["Resource"]
    }
    assert len(targets) == 12
    (url,) = resources(template, "AWS::Lambda::Url").values()
    assert url["Properties"]["Qualifier"] == "live"
    for fn in functions(template).values():  # SAM would wire these to the bare function
        assert not {"Events", "FunctionUrlConfig", "AutoPublishAlias"} & set(fn["Properties"])
    errors = {
        n: a["Properties"]["Dimensions"]
        for n, a in resources(template, "AWS::CloudWatch::Alarm").items()
        if a["Properties"].get("MetricName") == "Errors"
    }
    assert len(errors) == 6
    for dims in errors.values():
        assert dims[1] == {
            "Name": "Resource",
            "Value": {"Fn::Sub": f"${{{dims[0]['Value']['Ref']}}}:live"},
        }


def test_the_reservation_cut_off_named_in_the_docs_is_the_templates(template) -> None:
    """Lambda keeps 100 executions unreserved: an account whose quota is under 100 + the
    template's reservations cannot deploy them, one at that quota can (the description once
    said 110 against README's 109, turning reservations off for nothing)."""
    reserved = sum(
        fn["Properties"]["ReservedConcurrentExecutions"]["Fn::If"][1]
        for fn in functions(template).values()
        if "ReservedConcurrentExecutions" in fn["Properties"]
    )
    cut_off = f"under {100 + reserved}"
    description = " ".join(template["Parameters"]["ReservedConcurrency"]["Description"].split())
    assert cut_off in description
    for doc in (ROOT / "README.md", ROOT / "docs" / "DEPLOY.md"):
        assert cut_off in " ".join(doc.read_text(encoding="utf-8").split()), doc


def test_the_daily_revise_runs_when_watch_runs_it(template: dict[str, Any]) -> None:
    """The AWS home's ReviseSchedule and the embedded `watch`'s daily revise
    (FUELPIPE_REVISE_AT's default) are the same São Paulo time: the two homes re-read alike."""
    props = template["Resources"]["ReviseSchedule"]["Properties"]
    at = DEFAULT_REVISE_AT
    assert props["ScheduleExpression"] == f"cron({at.minute} {at.hour} * * ? *)"
    assert props["ScheduleExpressionTimezone"] == "America/Sao_Paulo"
    assert json.loads(props["Target"]["Input"])["detail"] == {"mode": "revise"}
