"""Each Lambda handler, run as Lambda runs it, needs only its lock file's packages and its role.

Every function in lambdas/ runs in a fresh interpreter (tests/support/lambda_sandbox.py) with
the environment infra/template.yaml gives it, against dynalite and moto_server (and, for the
scraper, the replay server's real data over HTTP), and two things are checked:

- packages: only the standard library, ``fuelpipe`` and the top-level modules of the
  distributions pinned in ``requirements/lambda-<name>.txt`` can be imported, as in the zip
  `make package` builds; any other import fails with ModuleNotFoundError;
- IAM: every AWS API call the handler made, as botocore's client-side monitoring reports it (one
  UDP datagram per call, to a port this test listens on), is an action the function's role in
  the template allows (inline policies and the template's managed policies; resources are not
  checked);
- partitions: every DynamoDB write the handler made (recorded in the sandbox before it is sent,
  since client-side monitoring does not carry parameters) names only partition keys an Allow
  statement of its role admits (its ``dynamodb:LeadingKeys`` condition), and the role's write
  statements admit exactly the partitions WRITTEN_PARTITIONS gives the function, each of them
  written in the run: a role may neither lack a partition its handler writes nor grant one more.

When a handler fails only because its lock file lacks a module, it runs once more with every
installed package importable, so its role is still checked against what it calls.
"""

from __future__ import annotations

import json
import lzma
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fnmatch import fnmatchcase
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from cfnlint.decode import decode
from devtools.aws.lambda_events import (
    FakeLambdaContext,
    function_url_event,
    scheduled_event,
    sqs_event,
)
from devtools.aws.servers import REGION, LocalServer
from tests.support.aws_backends import unique_name

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.dynamodb_store import DynamoDbStore, create_table
from fuelpipe.adapters.history_files import load_history
from fuelpipe.adapters.sqs_queue import SqsQueue, create_queues
from fuelpipe.dashboard.precomputed import encode, entry_name, precomputer
from fuelpipe.dashboard.repository import SeriesReader
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.domain.planning import sent_runs_text
from fuelpipe.homes.aws import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.replay import FaultPlan, ReplayServer
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.orchestrate import first_planned_name, gap_sent_name
from fuelpipe.stages.set_aside import keep_set_aside, set_aside_entries

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
SANDBOX = ROOT / "tests" / "support" / "lambda_sandbox.py"
FUNCTIONS = ("data_clustering", "scraper", "retry_recheck", "outlook", "intraday", "dashboard_api")

SP = ZoneInfo("America/Sao_Paulo")
SEED_NOW = datetime(2022, 4, 29, 21, 0, tzinfo=SP)
"""The store holds the replay's real data up to this Friday evening before any handler runs."""
NOW = datetime(2022, 5, 7, 12, 0, tzinfo=SP)
"""FUELPIPE_NOW of every handler: the week after SEED_NOW is what is new to them."""
SEED_SINCE = date(2021, 6, 1)
SEED_KEYS = (
    "FUEL#GASOLINE#BR",
    "FUEL#ETHANOL#BR",
    "FUEL#DIESEL_S10#BR",
    "CURRENCY#USD",
    "COMMODITY#BRENT",
    "COMMODITY#BRENT_FUTURES",
    "STOCK#PETR4",
)
HISTORY_KEYS = ("FUEL#GASOLINE#BR", "CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
HISTORY_SINCE = date(2019, 6, 1)
"""The outlook needs 83 weeks (MIN_WEEKS): datasets/ gives these keys' real history before
SEED_SINCE."""
USD = "CURRENCY#USD"
NEW_USD_DAYS = [date(2022, 5, 2), date(2022, 5, 3), date(2022, 5, 4), date(2022, 5, 5)]
RECHECK_KEY = "CURRENCY#GBP"
"""Not Yahoo's: the scraper scenario's 429 leaves Yahoo resting in the shared table for 10
minutes (stages/source_rest.py: SharedRests), and the recheck claims no retry of a resting
source."""
BACKSTOP_KEY, BACKSTOP_DAY = "COMMODITY#BRENT", date(2022, 4, 29)
"""FRED's Brent for a Friday: still inside its publication window at NOW."""
OUTLOOK_ALERT_KEY = "CURRENCY#EUR"
CHILD_TIMEOUT_S = 120

IAM_PREFIX = {
    "DynamoDB": "dynamodb",
    "SQS": "sqs",
    "SNS": "sns",
    "S3": "s3",
    "Athena": "athena",
    "Glue": "glue",
    "CloudWatch": "cloudwatch",
}
"""botocore's service id (the datagram's ``Service``) -> the IAM action prefix."""
IAM_ACTION_OF = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
    "s3:CreateMultipartUpload": "s3:PutObject",
    "s3:UploadPart": "s3:PutObject",
    "s3:CompleteMultipartUpload": "s3:PutObject",
    # IAM authorizes a transaction's items by their own actions; the store's hold only Puts
    "dynamodb:TransactWriteItems": "dynamodb:PutItem",
}
"""API calls authorized by an action of another name (SQS batches, S3 listings and uploads,
DynamoDB transactions)."""
TABLE_WRITES = frozenset(
    f"dynamodb:{a}".lower() for a in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
)
"""The item-writing actions on the table (a transaction's items are authorized by these)."""
PARTITION_KEY = "info_type"
"""The table's partition key: what ``dynamodb:LeadingKeys`` is matched against."""
ANY_PARTITION = None
WRITTEN_PARTITIONS: dict[str, frozenset[str] | None] = {
    # set_watermark, put_run, the PENDING dates' poll marks (put_meta)
    "data_clustering": frozenset({"WATERMARK", "RUN#*", "META"}),
    # forecasts, data and outlook versions; the alert state and its delivery claims
    "outlook": frozenset({"OUTLOOK#*", "META", "ALERTS", "ALERTS#CLAIM"}),
    "intraday": frozenset({"INTRADAY#*"}),  # put_points
    "dashboard_api": frozenset({"META"}),  # precomputed views
    # every series' records and revisions; split marks and the data version; its run log
    "scraper": ANY_PARTITION,
    "retry_recheck": ANY_PARTITION,  # claims and quarantines any series' retries
}
"""The partition-key patterns each role's DynamoDB writes are limited to (IAM StringLike);
ANY_PARTITION for the functions that write every series' partitions."""
PUT_PARTITIONS: dict[str, frozenset[str]] = {
    # its UpdateItems claim and quarantine any series' retries; it never puts a record
    "retry_recheck": frozenset({"RUN#*", "META", "ALERTS", "ALERTS#CLAIM"}),
}
"""For a function whose updates may touch every series: the partitions its PutItem (which
replaces a whole item) is limited to."""


# --- lock files ------------------------------------------------------------------------------


def normalize(name: str) -> str:
    """A distribution name in PEP 503 form: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==")


def lock_file(name: str) -> Path:
    """The hashed lock file `make package` installs the function's zip from."""
    return ROOT / "requirements" / f"lambda-{name}.txt"


def locked_modules(name: str) -> set[str]:
    """The top-level modules of the distributions pinned in the function's lock file."""
    pinned = {
        normalize(found.group(1))
        for line in lock_file(name).read_text().splitlines()
        if (found := PINNED.match(line))
    }
    assert pinned, f"no pinned distribution in {lock_file(name)}"
    return {
        module
        for module, distributions in packages_distributions().items()
        if any(normalize(d) in pinned for d in distributions)
    }


# --- the template: roles and environments ---------------------------------------------------


def load_template() -> dict[str, Any]:
    """infra/template.yaml with its short-form tags as intrinsic functions (as cfn-lint reads)."""
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, problems
    assert parsed is not None
    return dict(parsed)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_of(template: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The AWS::Serverless::Function resource whose FunctionName is ``name``."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and props.get("FunctionName") == name:
            return dict(props)
    raise AssertionError(f"infra/template.yaml has no function named {name}")


def get_att(value: Any) -> tuple[str, str]:
    """(logical id, attribute) of a ``Fn::GetAtt`` in either of its forms."""
    target = value["Fn::GetAtt"]
    logical, attribute = target.split(".", 1) if isinstance(target, str) else target
    return str(logical), str(attribute)


@dataclass(frozen=True)
class Allow:
    """One Allow statement: its action patterns (lower case) and the partition keys its
    condition admits (IAM StringLike patterns; None: no condition, any partition)."""

    actions: frozenset[str]
    leading_keys: frozenset[str] | None
    indexes: frozenset[str] = frozenset()
    """The table indexes its resources name (``${Table.Arn}/index/<name>``; ``*`` for all)."""

    def grants(self, action: str) -> bool:
        return any(fnmatchcase(action.lower(), pattern) for pattern in self.actions)

    def admits(self, keys: list[str]) -> bool:
        """ForAllValues: every key matches one pattern (IAM's ``*`` and ``?`` as fnmatch's)."""
        patterns = self.leading_keys
        return patterns is None or all(any(fnmatchcase(k, p) for p in patterns) for k in keys)


def leading_keys(statement: Mapping[str, Any]) -> frozenset[str] | None:
    """The ``dynamodb:LeadingKeys`` patterns a statement's condition admits; None without one.
    Any other condition fails: this test would not know what it admits."""
    condition = statement.get("Condition")
    if condition is None:
        return None
    ((operator, tests),) = condition.items()
    assert operator in {"ForAllValues:StringLike", "ForAllValues:StringEquals"}, condition
    assert set(tests) == {"dynamodb:LeadingKeys"}, condition
    values = [str(v) for v in as_list(tests["dynamodb:LeadingKeys"])]
    if operator.endswith("StringEquals"):
        assert not any(c in v for v in values for c in "*?["), f"not literal: {condition}"
    return frozenset(values)


@dataclass(frozen=True)
class Grant:
    """The actions one role's Allow statements grant (patterns, lower case)."""

    role: str
    patterns: frozenset[str]
    unread: tuple[str, ...] = ()
    """Managed policies attached by ARN that the template does not define (not read)."""
    statements: tuple[Allow, ...] = ()
    """The role's DynamoDB Allow statements, with their partition conditions."""

    def allows(self, action: str) -> bool:
        """True when an Allow statement's action (``service:*``, ``Get*``, ...) matches."""
        return any(fnmatchcase(action.lower(), pattern) for pattern in self.patterns)

    def allows_on(self, action: str, keys: list[str]) -> bool:
        """True when one Allow statement grants ``action`` on every one of ``keys`` (a write,
        or a read by key: IAM matches both against ``dynamodb:LeadingKeys``)."""
        return any(st.grants(action) and st.admits(keys) for st in self.statements)

    def indexes(self, action: str) -> frozenset[str]:
        """The indexes the role may call ``action`` on (IAM authorizes a Query of an index by
        the index's ARN, not the table's)."""
        return frozenset(i for st in self.statements if st.grants(action) for i in st.indexes)

    def write_partitions(self) -> frozenset[str] | None:
        """The partition patterns the role may write under (ANY_PARTITION: unconditioned)."""
        writing = [st for st in self.statements if any(st.grants(a) for a in TABLE_WRITES)]
        if any(st.leading_keys is None for st in writing):
            return ANY_PARTITION
        return frozenset(p for st in writing for p in st.leading_keys or ())


def allow_statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [st for st in as_list(document.get("Statement", [])) if st.get("Effect") == "Allow"]


def allowed_actions(document: Mapping[str, Any]) -> set[str]:
    """The actions of a policy document's Allow statements, lower case."""
    return {
        str(action).lower()
        for statement in allow_statements(document)
        for action in as_list(statement.get("Action", []))
    }


def dynamodb_statements(document: Mapping[str, Any]) -> list[Allow]:
    """A policy document's Allow statements that grant DynamoDB actions."""
    found = []
    for statement in allow_statements(document):
        actions = frozenset(str(a).lower() for a in as_list(statement.get("Action", [])))
        if any(a.startswith(("dynamodb:", "*")) for a in actions):
            found.append(Allow(actions, leading_keys(statement), indexes_of(statement)))
    return found


INDEX_ARN = re.compile(r"/index/([^/\"'}]+)")


def indexes_of(statement: Mapping[str, Any]) -> frozenset[str]:
    """The index names a statement's resources end in (``.../index/<name>``)."""
    return frozenset(
        m.group(1)
        for r in as_list(statement.get("Resource", []))
        for m in INDEX_ARN.finditer(str(r))
    )


def role_grant(template: Mapping[str, Any], name: str) -> Grant:
    """What the role of function ``name`` is allowed: its inline policies, the template's
    managed policies it lists in ManagedPolicyArns, and policies that name it in ``Roles``."""
    role_ref = function_of(template, name).get("Role")
    assert isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref, (
        f"{name}: Properties.Role is not !GetAtt <Role>.Arn: {role_ref!r}"
    )
    role, _ = get_att(role_ref)
    resources = template["Resources"]
    props = resources[role]["Properties"]
    documents = [policy["PolicyDocument"] for policy in props.get("Policies", [])]
    unread = []
    for arn in props.get("ManagedPolicyArns", []):
        logical = arn.get("Ref") if isinstance(arn, dict) else None
        if logical in resources and resources[logical]["Type"] == "AWS::IAM::ManagedPolicy":
            documents.append(resources[logical]["Properties"]["PolicyDocument"])
        else:
            unread.append(json.dumps(arn))
    for resource in resources.values():  # policies that attach themselves to the role
        attached = {"Ref": role} in resource.get("Properties", {}).get("Roles", [])
        if resource["Type"] in {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"} and attached:
            documents.append(resource["Properties"]["PolicyDocument"])
    patterns = {action for document in documents for action in allowed_actions(document)}
    statements = tuple(st for document in documents for st in dynamodb_statements(document))
    return Grant(role, frozenset(patterns), tuple(unread), statements)


def find_in_map(template: Mapping[str, Any], value: Any) -> Any:
    """``value``, or what its ``Fn::FindInMap`` names in the template's Mappings."""
    if isinstance(value, dict) and "Fn::FindInMap" in value:
        name, top, second = value["Fn::FindInMap"]
        return template["Mappings"][name][top][second]
    return value


def resolve(value: Any, stand_ins: Mapping[str, str]) -> str:
    """A template value with ``Ref X`` / ``GetAtt X.Attr`` replaced by its local stand-in."""
    if not isinstance(value, dict):
        return str(value)
    if "Ref" in value:
        key = str(value["Ref"])
    elif "Fn::GetAtt" in value:
        key = ".".join(get_att(value))
    else:
        raise AssertionError(f"no local stand-in for {value!r}")
    assert key in stand_ins, f"no local stand-in for {key} (an environment variable's value)"
    return stand_ins[key]


def template_environment(
    template: Mapping[str, Any], name: str, stand_ins: Mapping[str, str]
) -> dict[str, str]:
    """The function's environment variables: the Globals' and its own, resolved locally."""
    variables = {
        **template["Globals"]["Function"].get("Environment", {}).get("Variables", {}),
        **function_of(template, name).get("Environment", {}).get("Variables", {}),
    }
    return {k: resolve(find_in_map(template, v), stand_ins) for k, v in variables.items()}


def lambda_context(template: Mapping[str, Any], name: str) -> FakeLambdaContext:
    """A context with the function's memory and timeout from the template."""
    props = function_of(template, name)
    defaults = template["Globals"]["Function"]
    return FakeLambdaContext(
        name,
        memory_limit_in_mb=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
        timeout_ms=int(props.get("Timeout", defaults.get("Timeout", 3))) * 1000,
    )


def context_fields(context: FakeLambdaContext) -> dict[str, Any]:
    """What the sandbox rebuilds its context object from."""
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": f"/aws/lambda/{context.function_name}",
        "log_stream_name": f"2022/05/07/[$LATEST]{uuid.uuid4().hex}",
        "timeout_ms": context.timeout_ms,
    }


# --- recording the API calls -----------------------------------------------------------------


class ApiCallListener:
    """botocore's client-side monitoring datagrams, received on a loopback UDP port.

    With ``AWS_CSM_ENABLED`` botocore sends one ``"Type": "ApiCall"`` JSON datagram per API call
    (and one ``ApiCallAttempt`` per attempt) to ``AWS_CSM_HOST:AWS_CSM_PORT``.
    """

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.datagrams: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)

    def _receive(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                if self._stopping.is_set():
                    return  # stopped and drained
                continue
            self.datagrams.append(json.loads(data))

    def __enter__(self) -> ApiCallListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        self.sock.close()

    def actions(self, client_id: str) -> list[str]:
        """The IAM action of each API call ``client_id`` (AWS_CSM_CLIENT_ID) made, in order."""
        out = []
        for datagram in self.datagrams:
            if datagram.get("Type") == "ApiCall" and datagram.get("ClientId") == client_id:
                service = str(datagram["Service"])
                action = f"{IAM_PREFIX.get(service, service.lower().replace(' ', ''))}:"
                action += str(datagram["Api"])
                out.append(IAM_ACTION_OF.get(action, action))
        return out


# --- running a handler -----------------------------------------------------------------------


@dataclass
class Run:
    """One sandboxed run of a handler: its outcomes, output and the API calls it made."""

    name: str
    blocked: bool
    returncode: int
    stdout: str
    stderr: str
    actions: list[str]
    invocations: int
    problem: str | None = None
    """Why the run failed (init, an invocation, or the scenario's checks), or None."""

    @property
    def outcomes(self) -> list[dict[str, Any]]:
        prefix = "LAMBDA-RESULT "
        lines = self.stdout.splitlines()
        return [json.loads(line[len(prefix) :]) for line in lines if line.startswith(prefix)]

    @property
    def blocked_modules(self) -> list[str]:
        prefix = "LAMBDA-BLOCKED "
        lines = self.stderr.splitlines()
        return sorted({line[len(prefix) :] for line in lines if line.startswith(prefix)})

    def _keyed(self, prefix: str) -> list[tuple[str, list[str]]]:
        """(IAM action, partition keys) of the sandbox's ``prefix`` lines."""
        lines = [json.loads(line[len(prefix) :]) for line in self.stderr.splitlines()
                 if line.startswith(prefix)]  # fmt: skip
        return [(str(w["action"]), [str(k) for k in w["keys"]]) for w in lines]

    @property
    def writes(self) -> list[tuple[str, list[str]]]:
        """(IAM action, partition keys) of each DynamoDB write, as the sandbox recorded it."""
        return self._keyed("LAMBDA-WRITE ")

    @property
    def key_reads(self) -> list[tuple[str, list[str]]]:
        """(IAM action, partition keys) of each DynamoDB read by key, as the sandbox recorded it."""
        return self._keyed("LAMBDA-READ ")

    @property
    def index_reads(self) -> set[tuple[str, str]]:
        """(IAM action, index name) of each Query or Scan of an index, as the sandbox saw it."""
        prefix = "LAMBDA-INDEX "
        lines = [json.loads(line[len(prefix) :]) for line in self.stderr.splitlines()
                 if line.startswith(prefix)]  # fmt: skip
        return {(str(r["action"]), str(r["index"])) for r in lines}

    @property
    def results(self) -> list[Any]:
        return [o["result"] for o in self.outcomes if o["phase"] == "invoke" and o["ok"]]

    def failure(self) -> str | None:
        """What went wrong, for a failure message; None when init and invocations succeeded."""
        failed = [o for o in self.outcomes if not o["ok"]]
        if self.returncode == 0 and not failed and len(self.results) == self.invocations:
            return None
        where: dict[str, list[str]] = {}  # one line per distinct error
        for outcome in failed:
            error = f"{outcome['error']}\n    raised at {raised_at(outcome['traceback'])}"
            phase = "init" if outcome["phase"] == "init" else f"invocation {outcome['index']}"
            where.setdefault(error, []).append(phase)
        lines = [f"exit status {self.returncode}"]
        lines += [f"{', '.join(phases)}: {error}" for error, phases in where.items()]
        if not self.outcomes:
            lines.append("stderr: " + self.stderr[-2000:])
        return "\n  ".join(lines)


def raised_at(traceback: str) -> str:
    """The innermost frame of a traceback outside the sandbox and importlib, with its code."""
    lines = traceback.splitlines()
    frames = [
        i
        for i, line in enumerate(lines)
        if line.startswith("  File ") and "lambda_sandbox.py" not in line and "<frozen " not in line
    ]
    if not frames:
        return "?"
    i = frames[-1]
    code = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return f"{lines[i].strip()}: {code}"


@dataclass
class Scenario:
    """What one function is invoked with, and what its results must show."""

    events: list[dict[str, Any]]
    queue: str
    dlq: str
    check: Callable[[list[Any]], None]
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Lab:
    """The module's AWS stand-ins: one table with the seeded data, a topic, the replay server,
    and the station lake (a bucket with the real LPG sample, a workgroup)."""

    dynalite: LocalServer
    moto: LocalServer
    replay: ReplayServer
    template: dict[str, Any]
    table: str
    topic_arn: str
    lake_bucket: str = ""
    workgroup: str = ""

    def store(self) -> DynamoDbStore:
        """The table as the handlers see it, from the test process."""
        return DynamoDbStore(self.dynalite.client("dynamodb"), self.table, clock=FixedClock(NOW))

    def queues(self, name: str) -> tuple[str, str, SqsQueue]:
        """A fresh download queue and DLQ for one function's run, configured as the template's."""
        queue = unique_name(f"{name.replace('_', '-')}-downloads")
        dlq = queue + "-dlq"
        props = self.template["Resources"]["DownloadQueue"]["Properties"]
        seconds = int(find_in_map(self.template, props["VisibilityTimeout"]))
        receives = int(find_in_map(self.template, props["RedrivePolicy"]["maxReceiveCount"]))
        url, dlq_url = create_queues(self.moto.client("sqs"), queue, dlq, seconds, receives)
        return queue, dlq, SqsQueue(self.moto.client("sqs"), url, dlq_url, seconds, receives)

    def environment(
        self, name: str, scenario: Scenario, csm_port: int, home: Path
    ) -> dict[str, str]:
        """What the Lambda runtime and the template set, pointed at the local servers."""
        stand_ins = {
            "Table": self.table,
            "DownloadQueue.QueueName": scenario.queue,
            "DownloadDeadLetterQueue.QueueName": scenario.dlq,
            "AlertTopic": self.topic_arn,
            "StationLakeBucket": self.lake_bucket,
            "StationsWorkGroup": self.workgroup,
            "StationsDatabase": "fuelpipe",
            "AlertLanguage": "en",  # the template parameter's default
        }
        context = lambda_context(self.template, name)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "HOME": str(home),  # no ~/.aws of the machine's
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(context.memory_limit_in_mb),
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynalite.url,
            "AWS_ENDPOINT_URL_SQS": self.moto.url,
            "AWS_ENDPOINT_URL_SNS": self.moto.url,
            "AWS_ENDPOINT_URL_S3": self.moto.url,
            "AWS_ENDPOINT_URL_ATHENA": self.moto.url,
            "AWS_CSM_ENABLED": "true",
            "AWS_CSM_HOST": "127.0.0.1",
            "AWS_CSM_PORT": str(csm_port),
            "AWS_CSM_CLIENT_ID": name,
            **template_environment(self.template, name, stand_ins),
            "FUELPIPE_NOW": NOW.isoformat(),
            **scenario.extra_env,
        }

    def run(self, name: str, scenario: Scenario, *, block: bool, workdir: Path) -> Run:
        """Run the handler in the sandbox; ``block``: only its lock file's packages import."""
        context = lambda_context(self.template, name)
        job = {
            "handler": str(ROOT / "lambdas" / name / "handler.py"),
            "src": str(ROOT / "src"),
            "block": block,
            "allowed": sorted(locked_modules(name)),
            "lock_file": str(lock_file(name).relative_to(ROOT)),
            "partition_key": PARTITION_KEY,
            "invocations": [
                {"event": event, "context": context_fields(context)} for event in scenario.events
            ],
        }
        job_file = workdir / f"{name}-{'locked' if block else 'unlocked'}.json"
        job_file.write_text(json.dumps(job, default=str))
        with ApiCallListener() as listener:
            try:
                done = subprocess.run(
                    [sys.executable, "-I", str(SANDBOX), str(job_file)],
                    env=self.environment(name, scenario, listener.port, workdir),
                    cwd=workdir,
                    capture_output=True,
                    text=True,
                    timeout=CHILD_TIMEOUT_S,
                    check=False,
                )
            finally:  # a scenario's faults (the scraper's) last for its own run only
                self.replay.faults = FaultPlan.none()
        run = Run(
            name, block, done.returncode, done.stdout, done.stderr, listener.actions(name),
            len(scenario.events),
        )  # fmt: skip
        run.problem = run.failure()
        if run.problem is None:
            try:
                scenario.check(run.results)
            except AssertionError as exc:
                run.problem = f"the handler ran, but its results are wrong: {exc}"
        return run


# --- scenarios: one per function -------------------------------------------------------------


def data_clustering_scenario(lab: Lab) -> Scenario:
    """A scheduled gap scan of two seeded series: the week after the seed is missing; and a
    PENDING date still inside its publication window, which the backstop asks for again.
    PETR4's gaps were noted as sent a day ago (``gap_sent#``), past the hold: the scan reads
    the download queue's count (GetQueueAttributes), finds it empty and sends them again."""
    queue, dlq, sqs = lab.queues("data_clustering")
    pending = Record(BACKSTOP_KEY, BACKSTOP_DAY, None, Status.PENDING, 0, NOW, "read timeout")
    assert lab.store().put_pending(pending)
    noted = [(date(2022, 4, 1), NOW.date(), NOW - timedelta(days=1))]
    lab.store().put_meta(gap_sent_name("STOCK#PETR4"), sent_runs_text(noted))
    event = scheduled_event({"series": ["STOCK#PETR4", BACKSTOP_KEY], "since": "2022-04-01"})

    def check(results: list[Any]) -> None:
        (report,) = results
        assert report["keys_scanned"] == 2, report
        assert report["gaps_found"] > 0 and report["messages_sent"] > 0, report
        assert report["gaps_held"] == 0, report
        assert report["pending_polled"] == 1, report
        assert sqs.depth().visible == report["messages_sent"] + report["pending_polled"]

    return Scenario([event], queue, dlq, check)


def scraper_scenario(lab: Lab) -> Scenario:
    """One real DownloadRequest for new PTAX days, received from SQS, fetched from the replay;
    a value set aside earlier for its first day is kept (a ``set_aside`` meta entry), and the
    answer, storing that day, deletes it (a DeleteItem the role must allow). Yahoo answers
    429 with a Retry-After meanwhile: the second of its two messages is given back hidden
    until the rest ends (a ChangeMessageVisibility the role must allow)."""
    queue, dlq, sqs = lab.queues("scraper")
    kept = {(USD, NEW_USD_DAYS[0]): (Decimal("55"), "implausible value 55")}
    assert keep_set_aside(lab.store(), kept, "revise", NOW) == (1, 0)
    keys = (USD, "STOCK#PETR4", "STOCK#PETR3")
    bodies = {
        DownloadRequest(
            partition_key=key,
            dates_to_download=NEW_USD_DAYS,
            fetch_unit=DEFAULT_CATALOG[key].fetch_unit,
        ).to_body(): key
        for key in keys
    }
    assert sqs.send(list(bodies)) == len(keys)
    messages = sqs.receive(10)
    assert len(messages) == len(keys)
    messages.sort(key=lambda m: keys.index(bodies[m.body]))
    lab.replay.faults = FaultPlan.parse("yahoo:429=1,retry_after=600")

    def check(results: list[Any]) -> None:
        (response,) = results
        assert response == {"batchItemFailures": [{"itemIdentifier": messages[2].message_id}]}
        stored = {r.date: r.status for r in lab.store().query(USD, NEW_USD_DAYS[0], NOW.date())}
        assert stored == dict.fromkeys(NEW_USD_DAYS, Status.OK), stored
        assert set_aside_entries(lab.store()) == []

    # The sources' URLs on the replay server: real data over HTTP on 127.0.0.1 (yahoo's
    # Retry-After of 10 minutes, past the adapter's 20 s cap, ends its fetch at one request).
    env = lab.replay.env()
    return Scenario([sqs_event(messages, queue)], queue, dlq, check, env)


def retry_recheck_scenario(lab: Lab) -> Scenario:
    """The hourly recheck (Scheduler's Input shape) with one due retry and one spent record,
    and a dead letter whose date is stored since: its alert rule deletes it from the DLQ."""
    queue, dlq, sqs = lab.queues("retry_recheck")
    store = lab.store()
    an_hour_ago = NOW - timedelta(hours=1)
    due, spent = date(2022, 4, 1), date(2022, 4, 4)
    for day, count in ((due, 0), (spent, 5)):
        assert store.put_pending(
            Record(RECHECK_KEY, day, None, Status.PENDING, count, an_hour_ago, "no value")
        )
    # the orchestrator's note of its first plan of the key, which has records now: the
    # stale-source rule deletes it (DeleteItem in META)
    planned = first_planned_name(RECHECK_KEY)
    assert store.replace_meta(planned, None, (NOW - timedelta(days=30)).isoformat())
    stored = date(2022, 3, 31)
    store.put_records([Record(RECHECK_KEY, stored, Decimal("6.9"), Status.OK, updated_at=NOW)])
    series = DEFAULT_CATALOG[RECHECK_KEY]
    sqs.send([DownloadRequest(
        partition_key=RECHECK_KEY, dates_to_download=[stored], fetch_unit=series.fetch_unit
    ).to_body()])  # fmt: skip
    (letter,) = sqs.receive(1, wait_s=1)
    sqs.dead_letter(letter, "received 5 times without being processed")
    event = scheduled_event({"series": [RECHECK_KEY]}, scheduler=True)

    def check(results: list[Any]) -> None:
        (report,) = results
        assert (report["retried"], report["quarantined"], report["messages_sent"]) == (1, 1, 1)
        assert store.get_meta(planned) is None
        assert sqs.dead_letter_count() == 0, "the settled dead letter was not removed"
        (message,) = sqs.receive(10)
        sent = DownloadRequest.from_body(message.body)
        assert (sent.partition_key, sent.dates_to_download) == (RECHECK_KEY, [due])

    return Scenario([event], queue, dlq, check)


def outlook_scenario(lab: Lab) -> Scenario:
    """The daily forced refresh (OutlookDailySchedule's Input) over the seeded fuel prices;
    it stores forecasts, so it evaluates the alert rules and publishes what started (a series
    quarantined just now: new whatever ran before on the table)."""
    queue, dlq, _ = lab.queues("outlook")
    spent = Record(OUTLOOK_ALERT_KEY, date(2022, 4, 5), None, Status.QUARANTINED, 5, reason="x")
    assert lab.store().put_pendings([spent]) == [True]
    # a view of a version that is not current: the views' refresh prunes it (DeleteItem)
    past = entry_name("/api/overview", (("end", ("2020-01-03",)),))
    lab.store().put_meta(past, encode("past-version", (), b"{}", "older-version"))
    event = scheduled_event({"force": True}, scheduler=True)

    def check(results: list[Any]) -> None:
        (report,) = results
        assert report["refreshed"] == 1, report
        assert report["made"] > 0, report
        assert report["alerts_firing"] >= 1 and report["alert_deliveries_failed"] == 0, report
        assert lab.store().get_meta(past) is None

    return Scenario([event], queue, dlq, check)


INTRADAY_NOW = datetime(2020, 9, 16, 18, 30, tzinfo=SP)
"""A weekday both real intraday files hold: the PTAX windows and PETR4's 15-minute bars; the
day window's last half hour (past it only BZ=F's evening is asked)."""


def intraday_scenario(lab: Lab) -> Scenario:
    """The 15-minute schedule's run (IntradaySchedule's Input) on a day with real intraday data
    in the replay: bulletins and bars fetched over HTTP, stored under INTRADAY# partitions."""
    queue, dlq, _ = lab.queues("intraday")

    def check(results: list[Any]) -> None:
        (report,) = results
        assert (report["failed"], report["problems"]) == (0, []), report
        assert report["points_written"] == 36, report  # 5 PTAX bulletins, 31 PETR4 bars

    # Its own day (FUELPIPE_NOW), and the sources' URLs on the replay server.
    env = {**lab.replay.env(), "FUELPIPE_NOW": INTRADAY_NOW.isoformat()}
    return Scenario([scheduled_event(scheduler=True)], queue, dlq, check, env)


DASHBOARD_GETS = (
    ("/api/health", ""),
    ("/api/overview", ""),
    ("/api/live", ""),
    ("/api/outlook", "fuel=GASOLINE"),
    ("/api/stations/meta", ""),
    ("/api/stations/ranking", "fuel=LPG"),
)
STALE = "stale-version"
STATION_QUERY_CALLS = {
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
}
"""What the Stations page's queries call (tests/aws/test_dashboard_stations_aws.py: the
named queries and ``window`` through AthenaQueries)."""
STATION_TIMEOUT_CALL = "athena:StopQueryExecution"
"""Called only for a query past its timeout (test_a_query_past_its_timeout_is_stopped)."""


def athena_text_result(columns: list[str], types: list[str], rows: list[list[str]]) -> Any:
    """A result for moto to hand out: the header row first, every value as text."""
    return {
        "rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in [columns, *rows]],
        "column_info": [{"Name": c, "Type": t} for c, t in zip(columns, types, strict=True)],
    }


def dashboard_api_scenario(lab: Lab) -> Scenario:
    """A few GETs through the Function URL after data landed: stale stored views recompute."""
    queue, dlq, sqs = lab.queues("dashboard_api")
    store = lab.store()
    # Views stored at a version the data has moved past: the next request recomputes and
    # stores them (the AWS path of precomputed analysis).
    views = precomputer(SeriesReader(store, DEFAULT_CATALOG), store, DEFAULT_CATALOG, sqs,
                        FixedClock(NOW))  # fmt: skip
    for path in ("/api/health", "/api/overview"):
        views.compute(path, (), STALE)
    events = [
        function_url_event(path, query, {"accept": "application/json"})
        for path, query in DASHBOARD_GETS
    ]
    # The Stations page's two Athena queries (moto runs no SQL): each fuel's window (the lake
    # holds LPG alone here), then the ranking.
    ranking = ["state", "municipality", "stations", "observations", "mean", "median", "p10",
               "p90", "min_price", "max_price"]  # fmt: skip
    results = [
        athena_text_result(["product", "first_day", "last_day"], ["varchar", "date", "date"],
                           [["LPG", "2025-03-24", "2025-04-19"]]),
        athena_text_result(ranking, ["varchar"] * 2 + ["bigint"] * 2 + ["double"] * 6,
                           [["SP", "SAO PAULO", "120", "130", "107.5", "108.0", "100.0", "115.0",
                             "95.0", "125.0"]]),
    ]  # fmt: skip
    seeded = httpx.post(f"{lab.moto.url}/moto-api/static/athena/query-results",
                        json={"region": REGION, "results": results}, timeout=10)  # fmt: skip
    assert seeded.status_code == 201

    def check(results: list[Any]) -> None:
        statuses = [r["statusCode"] for r in results]
        assert statuses == [200] * len(DASHBOARD_GETS), statuses
        overview = json.loads(results[1]["body"])
        assert USD in {item["key"] for item in overview["items"]}
        meta, ranked = (json.loads(r["body"]) for r in results[4:6])
        assert (meta["first"], meta["last"]) == ("2025-03-24", "2025-04-19"), meta
        assert [f["fuel"] for f in meta["fuels"]] == ["LPG"], meta
        assert ranked["rows"] == [["SP", "SAO PAULO", 120, 130, 107.5, 108.0, 100.0, 115.0,
                                   95.0, 125.0]], ranked  # fmt: skip
        for path in ("/api/health", "/api/overview"):
            stored = views.stored(path, ())
            assert stored is not None and stored[0] != STALE, f"{path} was not recomputed"

    return Scenario(events, queue, dlq, check)


SCENARIOS: dict[str, Callable[[Lab], Scenario]] = {
    "data_clustering": data_clustering_scenario,
    "scraper": scraper_scenario,
    "retry_recheck": retry_recheck_scenario,
    "outlook": outlook_scenario,
    "intraday": intraday_scenario,
    "dashboard_api": dashboard_api_scenario,
}


# --- fixtures --------------------------------------------------------------------------------


def station_lake(moto: LocalServer) -> tuple[str, str]:
    """A lake bucket with the real LPG sample's partitions, and a workgroup writing its results
    under athena-results/ (as the template's)."""
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.adapters.lake.storage import S3LakeStorage

    s3 = moto.client("s3")
    bucket = unique_name("lake")
    s3.create_bucket(Bucket=bucket)
    sample = SNAPSHOT_DIR / "shpc" / "qus" / "ultimas-4-semanas-glp.csv.xz"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ultimas-4-semanas-glp.csv"
        path.write_bytes(lzma.decompress(sample.read_bytes()))
        # ingested after the sample's last collection day (2025-04-19): the lake refuses later ones
        clock = FixedClock(datetime(2025, 4, 22, 12, 0, tzinfo=SP))
        (report,) = StationLake(S3LakeStorage(s3, bucket), clock).ingest_path(path)
    assert report.written > 0, report
    workgroup = unique_name("fuelpipe-stations")
    output = {"OutputLocation": f"s3://{bucket}/athena-results/"}
    moto.client("athena").create_work_group(
        Name=workgroup, Configuration={"ResultConfiguration": output}
    )
    return bucket, workgroup


@pytest.fixture(scope="module")
def lab(dynalite_server: LocalServer, moto_server: LocalServer) -> Iterator[Lab]:
    """A table seeded with the replay's real data up to SEED_NOW, an alert topic, the replay."""
    table = unique_name("handler-iam")
    create_table(dynalite_server.client("dynamodb"), table, delay_s=0.05)
    topic = moto_server.client("sns").create_topic(Name=unique_name("alerts"))["TopicArn"]
    with ReplayServer(quiet=True) as replay:
        the_lab = Lab(dynalite_server, moto_server, replay, load_template(), table, topic,
                      *station_lake(moto_server))  # fmt: skip
        queue, dlq, _ = the_lab.queues("seed")
        urls = {f"source_{n}_url": u for n, u in replay.source_urls().items()}
        settings = Settings(backend="aws", table_name=table, queue_name=queue, dlq_name=dlq,
                            visibility_timeout_s=30, yahoo_min_interval_s=0, **urls)  # fmt: skip
        seed = build_context(
            settings,
            clock=FixedClock(SEED_NOW),
            dynamodb_client=dynalite_server.client("dynamodb"),
            sqs_client=moto_server.client("sqs"),
        )
        history = load_history(ROOT / "datasets", with_areas=False)
        seed.store.put_records(
            [
                Record(key, day, Decimal(str(value)), Status.OK)
                for key in HISTORY_KEYS
                for day, value in history.series[key]
                if HISTORY_SINCE <= day < SEED_SINCE
            ]
        )
        try:
            series = DEFAULT_CATALOG.select(SEED_KEYS)
            report = run_cycle(seed, series=series, since=SEED_SINCE, outlook=False)
        finally:
            seed.close()
        assert report.scrape.records_written > 500, report
        assert not the_lab.store().present_after(USD, SEED_NOW.date()), "seeded past SEED_NOW"
        yield the_lab


@dataclass
class FunctionRuns:
    """A function's run with only its lock file importable, and the one without the blocker
    when that failed on a missing module (so its calls can still be checked)."""

    locked: Run
    unlocked: Run | None

    @property
    def for_iam(self) -> Run:
        return self.unlocked or self.locked

    @property
    def actions(self) -> Counter[str]:
        runs = [self.locked, *([self.unlocked] if self.unlocked else [])]
        return Counter(action for run in runs for action in run.actions)

    @property
    def writes(self) -> list[tuple[str, list[str]]]:
        runs = [self.locked, *([self.unlocked] if self.unlocked else [])]
        return [write for run in runs for write in run.writes]

    @property
    def key_reads(self) -> list[tuple[str, list[str]]]:
        runs = [self.locked, *([self.unlocked] if self.unlocked else [])]
        return [read for run in runs for read in run.key_reads]

    @property
    def index_reads(self) -> set[tuple[str, str]]:
        runs = [self.locked, *([self.unlocked] if self.unlocked else [])]
        return {read for run in runs for read in run.index_reads}


@pytest.fixture(scope="module")
def runs(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], FunctionRuns]:
    """Each function's runs, made once on first use (both tests of a function share them)."""
    done: dict[str, FunctionRuns] = {}
    workdir = tmp_path_factory.mktemp("lambda-sandbox")

    def runs_of(name: str) -> FunctionRuns:
        if name not in done:
            locked = lab.run(name, SCENARIOS[name](lab), block=True, workdir=workdir)
            unlocked = None
            if locked.problem is not None and locked.blocked_modules:
                unlocked = lab.run(name, SCENARIOS[name](lab), block=False, workdir=workdir)
            done[name] = FunctionRuns(locked, unlocked)
        return done[name]

    return runs_of


# --- the checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_handler_runs_with_only_its_lock_file_packages(
    runs: Callable[[str], FunctionRuns], name: str
) -> None:
    run = runs(name).locked
    refused = ", ".join(run.blocked_modules) or "none"
    assert run.problem is None, (
        f"{name}: lambdas/{name}/handler.py fails when only the packages of "
        f"requirements/lambda-{name}.txt are importable:\n  {run.problem}\n"
        f"  (every import refused in the run, libraries' optional probes included: {refused})"
    )


@pytest.mark.parametrize("name", FUNCTIONS)
def test_role_allows_every_aws_call_the_handler_makes(
    lab: Lab, runs: Callable[[str], FunctionRuns], name: str
) -> None:
    got = runs(name)
    run = got.for_iam
    how = "with every installed package importable" if got.unlocked else "as packaged"
    assert run.problem is None, (
        f"{name}: the handler failed {how}, so the calls it makes are not all known:\n  "
        f"{run.problem}"
    )
    calls = got.actions
    assert calls, f"{name}: no AWS API call was recorded: the handler did not really run"
    grant = role_grant(lab.template, name)
    denied = sorted(action for action in calls if not grant.allows(action))
    recorded = ", ".join(f"{a} x{n}" for a, n in sorted(calls.items()))
    unread = f" (managed policies not read: {', '.join(grant.unread)})" if grant.unread else ""
    rerun = " (recorded with every installed package importable)" if got.unlocked else ""
    assert not denied, (
        f"{name}: its role {grant.role} in infra/template.yaml does not allow "
        f"{', '.join(denied)}{unread}; the handler called{rerun}: {recorded}"
    )


def assert_partitions_allowed(name: str, grant: Grant, calls: list[tuple[str, list[str]]]) -> None:
    """Each (IAM action, partition keys) of ``calls`` is allowed on every key by one statement
    of ``grant`` (its ``dynamodb:LeadingKeys`` condition)."""
    refused = sorted(
        {f"{action} on {key}" for action, keys in calls for key in keys
         if not grant.allows_on(action, [key])}
    )  # fmt: skip
    assert not refused, (
        f"{name}: no statement of its role {grant.role} in infra/template.yaml allows "
        f"{', '.join(refused)} (dynamodb:LeadingKeys)"
    )


@pytest.mark.parametrize("name", FUNCTIONS)
def test_role_allows_every_partition_the_handler_writes(
    lab: Lab, runs: Callable[[str], FunctionRuns], name: str
) -> None:
    got = runs(name)
    assert got.for_iam.problem is None, f"{name}: the handler failed: {got.for_iam.problem}"
    grant = role_grant(lab.template, name)
    assert_partitions_allowed(name, grant, got.writes)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_role_allows_every_partition_the_handler_reads_by_key(
    lab: Lab, runs: Callable[[str], FunctionRuns], name: str
) -> None:
    """IAM matches a GetItem's (or BatchGetItem's) key against ``dynamodb:LeadingKeys`` as it
    does a write's: the orchestrator may GetItem in ``META`` only, and a read elsewhere
    (a watermark, a record) would be AccessDenied on AWS while the action check above passes.
    A Query's partition is not recorded, so no role may limit its Query by partition."""
    got = runs(name)
    assert got.for_iam.problem is None, f"{name}: the handler failed: {got.for_iam.problem}"
    grant = role_grant(lab.template, name)
    limited = [st for st in grant.statements
               if st.leading_keys is not None and st.grants("dynamodb:Query")]  # fmt: skip
    assert not limited, f"{name}: a Query limited by dynamodb:LeadingKeys is not checked here"
    if any(
        st.leading_keys is not None and st.grants("dynamodb:GetItem") for st in grant.statements
    ):
        assert got.key_reads, f"{name}: its role limits GetItem by partition, none was recorded"
    assert_partitions_allowed(name, grant, got.key_reads)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_role_writes_only_the_partitions_its_handler_writes(
    lab: Lab, runs: Callable[[str], FunctionRuns], name: str
) -> None:
    granted = role_grant(lab.template, name).write_partitions()
    expected = WRITTEN_PARTITIONS[name]
    assert granted == expected, (
        f"{name}: its role's DynamoDB writes are limited to {granted} (None: any partition), "
        f"but WRITTEN_PARTITIONS gives it {expected}: narrow (or widen) dynamodb:LeadingKeys"
    )
    if expected is ANY_PARTITION:
        return
    got = runs(name)
    assert got.for_iam.problem is None, f"{name}: the handler failed: {got.for_iam.problem}"
    written = {key for _, keys in got.writes for key in keys}
    unused = sorted(p for p in expected if not any(fnmatchcase(k, p) for k in written))
    assert not unused, f"{name}: granted writes under {unused}, but wrote only {sorted(written)}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_role_queries_exactly_the_indexes_its_handler_queries(
    lab: Lab, runs: Callable[[str], FunctionRuns], name: str
) -> None:
    """IAM authorizes a Query of an index by the index's ARN, so the action check above (both
    are dynamodb:Query) sees neither a role that lacks an index its handler queries (every such
    call AccessDenied on AWS) nor one that grants an index its handler no longer queries (the
    orchestrator kept pending-index after its backstop stopped reading it)."""
    got = runs(name)
    assert got.for_iam.problem is None, f"{name}: the handler failed: {got.for_iam.problem}"
    grant = role_grant(lab.template, name)
    for action in ("dynamodb:Query", "dynamodb:Scan"):
        queried = {index for did, index in got.index_reads if did == action}
        granted = grant.indexes(action)
        assert queried == granted, (
            f"{name}: its role {grant.role} grants {action} on the indexes {sorted(granted)}, "
            f"its handler called it on {sorted(queried)}"
        )


@pytest.mark.parametrize("name", sorted(PUT_PARTITIONS))
def test_role_puts_only_the_partitions_its_handler_puts(
    lab: Lab, runs: Callable[[str], FunctionRuns], name: str
) -> None:
    """A role that updates any series' records need not put one: its PutItem is limited to
    the partitions its handler really puts, and each of them is put in the run."""
    grant = role_grant(lab.template, name)
    putting = [st for st in grant.statements if st.grants("dynamodb:PutItem")]
    granted = {p for st in putting for p in st.leading_keys or {"*"}}
    assert granted == PUT_PARTITIONS[name], (name, granted)
    got = runs(name)
    assert got.for_iam.problem is None, f"{name}: the handler failed: {got.for_iam.problem}"
    put = {key for action, keys in got.writes if action == "dynamodb:PutItem" for key in keys}
    unused = sorted(p for p in granted if not any(fnmatchcase(k, p) for k in put))
    assert not unused, f"{name}: granted PutItem under {unused}, but put only {sorted(put)}"


def test_scraper_role_grants_no_unconditional_batch_write(
    lab: Lab, runs: Callable[[str], FunctionRuns]
) -> None:
    """The scraper stores with add_records (conditional Puts: TransactWriteItems, or PutItem
    each) and never calls put_records: BatchWriteItem, which cannot carry a condition and
    would overwrite any series' records, is not granted."""
    actions = runs("scraper").actions
    assert "dynamodb:PutItem" in actions and "dynamodb:BatchWriteItem" not in actions, actions
    assert not role_grant(lab.template, "scraper").allows("dynamodb:BatchWriteItem")


def test_dashboard_role_grants_athena_exactly_what_the_station_queries_call(
    lab: Lab, runs: Callable[[str], FunctionRuns]
) -> None:
    called = {a for a in runs("dashboard_api").actions if a.startswith("athena:")}
    assert called == STATION_QUERY_CALLS, called
    granted = role_grant(lab.template, "dashboard_api").patterns
    athena = {p for p in granted if p.startswith("athena:")}
    assert athena == {a.lower() for a in STATION_QUERY_CALLS | {STATION_TIMEOUT_CALL}}, (
        "the dashboard's role should allow the Athena calls its station queries make, no more"
    )
    # Glue and the lake's S3 objects are read by Athena as the caller: the role reads them
    # (and writes only query results), never writes the lake or changes the table.
    others = {p for p in granted if p.startswith(("glue:", "s3:"))}
    assert others == {
        "glue:getdatabase", "glue:gettable", "s3:getbucketlocation",
        "s3:listbucket", "s3:getobject", "s3:putobject", "s3:abortmultipartupload",
    }  # fmt: skip
    policy = lab.template["Resources"]["StationLakeQueryPolicy"]["Properties"]["PolicyDocument"]
    writes = [st for st in policy["Statement"] if "s3:PutObject" in as_list(st["Action"])]
    assert [st["Resource"] for st in writes] == [
        {"Fn::Sub": "${StationLakeBucket.Arn}/athena-results/*"}
    ]
