"""The station lake's two managed policies (infra/template.yaml) and the stations workflow's
role (infra/bootstrap.yaml) against the calls the code makes: every S3 and Athena call of an
ingest, a re-ingest and a migration is allowed by StationLakeWritePolicy and by the stations
role (with its status too), and every call of the dashboard's station views (and `stations
query --athena`) by StationLakeQueryPolicy, action, resource ARN and ``s3:prefix`` condition
alike; and each grants no action the code never calls (Athena's own reads and writes through
the caller's credentials aside: QUERY_BY_ATHENA).

The calls are recorded on the clients (botocore's ``provide-client-params``, with the call's
parameters) while the real code runs against moto_server, which enforces no IAM itself.
"""

from __future__ import annotations

import lzma
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import httpx
import pytest
from cfnlint.decode import decode
from devtools.aws.servers import LocalServer

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.athena import AthenaQueries, AthenaQueryFailed, AthenaStations
from fuelpipe.adapters.lake.storage import S3LakeStorage
from fuelpipe.domain.stations import query_params
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

duckdb = pytest.importorskip("duckdb")

from fuelpipe.adapters.lake.engine import StationLake  # noqa: E402

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)
REGION, ACCOUNT = "us-east-1", "123456789012"

S3_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "DeleteObject": "s3:DeleteObject",
}
QUERY_BY_ATHENA = {
    # Athena reads the table's definition and the lake, and writes each result, with the
    # caller's credentials: calls no fuelpipe code makes, so none is recorded here.
    "glue:GetDatabase", "glue:GetTable", "s3:GetBucketLocation",  # (no GetPartitions: projected)
    "s3:PutObject", "s3:AbortMultipartUpload",  # (the results, under athena-results/)
}  # fmt: skip


@dataclass(frozen=True)
class Call:
    """One API call as IAM authorises it."""

    action: str
    resource: str
    prefix: str | None = None  # ListBucket's s3:prefix


def record(client: Any, calls: list[Call], bucket: str) -> None:
    """Append each call ``client`` makes to ``calls``, as an IAM action on its resource."""
    service = client.meta.service_model.service_name

    def seen(params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        if service == "s3":
            key = params.get("Key")
            resource = f"arn:aws:s3:::{bucket}" + ("" if key is None else f"/{key}")
            calls.append(Call(S3_ACTIONS[name], resource, params.get("Prefix")))
        else:  # athena: every call is on the query's workgroup
            workgroup = params.get("WorkGroup", "fuelpipe-stations")
            arn = f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{workgroup}"
            calls.append(Call(f"athena:{name}", arn))

    client.meta.events.register(f"provide-client-params.{service}", seen)


def resolved_grants(
    document: list[dict[str, Any]], stand_ins: dict[str, str]
) -> list[dict[str, Any]]:
    """A policy's statements, resources resolved with ``stand_ins``."""

    def resolved(value: Any) -> str:
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return stand_ins[target if isinstance(target, str) else ".".join(target)]
        if isinstance(value, dict) and "Fn::Sub" in value:
            return re.sub(r"\$\{([^}]+)\}", lambda m: stand_ins[m.group(1)], value["Fn::Sub"])
        return str(value)

    out = []
    for statement in document:
        resources = statement["Resource"]
        actions = statement["Action"]
        prefixes = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        out.append({
            "Sid": statement.get("Sid"),
            "Effect": statement["Effect"],
            "Action": actions if isinstance(actions, list) else [actions],
            "Resource": [resolved(r) for r in (resources if isinstance(resources, list)
                                               else [resources])],
            "Prefix": None if prefixes is None else list(prefixes),
        })  # fmt: skip
    return out


def parsed_template(name: str) -> dict[str, Any]:
    parsed, problems = decode(str(ROOT / "infra" / name))
    assert not problems and parsed is not None
    return parsed


def statements(policy: str, bucket: str) -> list[dict[str, Any]]:
    """The Allow statements of one of the template's managed policies, resources resolved."""
    stand_ins = {
        "StationLakeBucket.Arn": f"arn:aws:s3:::{bucket}",
        "StationLakeBucket": bucket,
        "StationsWorkGroup": "fuelpipe-stations",
        "StationsDatabase": "fuelpipe",
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
    }
    document = parsed_template("template.yaml")["Resources"][policy]["Properties"]
    grants = resolved_grants(document["PolicyDocument"]["Statement"], stand_ins)
    assert {g["Effect"] for g in grants} == {"Allow"}
    return grants


def stations_role_grants(stack: str) -> list[dict[str, Any]]:
    """The bootstrap's stations role's statements for app stack ``stack`` (its lake bucket
    found by name; the calls here are all in this account, its ``s3:ResourceAccount``)."""
    role = parsed_template("bootstrap.yaml")["Resources"]["StationsRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    [policy] = role["Policies"]
    stand_ins = {"StackName": stack, "AWS::Partition": "aws"}
    return resolved_grants(policy["PolicyDocument"]["Statement"], stand_ins)


def allowed(call: Call, grants: list[dict[str, Any]]) -> bool:
    """IAM's verdict: some Allow statement matches the call and no Deny statement does."""
    matching = [
        grant
        for grant in grants
        if call.action in grant["Action"]
        and any(fnmatchcase(call.resource, r) for r in grant["Resource"])
        and (
            grant["Prefix"] is None
            or any(fnmatchcase(call.prefix or "", p) for p in grant["Prefix"])
        )
    ]
    return any(g["Effect"] == "Allow" for g in matching) and not any(
        g["Effect"] == "Deny" for g in matching
    )


def ingest_calls(s3: Any, bucket: str, lake_file: Path, *, status: bool = False) -> list[Call]:
    """The calls of an ingest into a new lake, a forced re-ingest and a migration (then the
    lake's status, or a DuckDB query over the bucket's copy as `stations query` runs it)."""
    calls: list[Call] = []
    record(s3, calls, bucket)
    lake = StationLake(S3LakeStorage(s3, bucket), FixedClock(NOW))
    lake.ingest_path(lake_file)  # a new lake: no manifest, no partitions yet
    lake.ingest_path(lake_file, "the-same-file-again.csv", force=True)
    lake.migrate()
    if status:
        assert lake.status()["partitions"]
    else:
        lake.query("coverage", {})
    lake.close()
    return calls


@pytest.fixture
def lake_file(tmp_path: Path) -> Path:
    path = tmp_path / "ultimas-4-semanas-glp.csv"
    xz = SNAPSHOT_DIR / "shpc" / "qus" / f"{path.name}.xz"
    path.write_bytes(lzma.decompress(xz.read_bytes()))
    return path


@pytest.fixture
def bucket(moto_server: LocalServer) -> str:
    name = f"fuelpipe-lake-{uuid.uuid4().hex[:8]}"
    moto_server.client("s3").create_bucket(Bucket=name)
    return name


def test_the_write_policy_allows_every_call_of_an_ingest_and_no_other(
    moto_server: LocalServer, bucket: str, lake_file: Path
) -> None:
    calls = ingest_calls(moto_server.client("s3"), bucket, lake_file)

    grants = statements("StationLakeWritePolicy", bucket)
    refused = sorted({c for c in calls if not allowed(c, grants)}, key=str)
    assert refused == []
    used = {c.action for c in calls}
    granted = {a for g in grants for a in g["Action"]}
    assert granted == used  # s3:DeleteObject: the lock's release


def test_the_stations_role_allows_every_call_of_the_workflows_ingest_and_status_and_no_other(
    moto_server: LocalServer, lake_file: Path
) -> None:
    """.github/workflows/stations.yml's `stations ingest` and `stations status`, in the
    bucket CloudFormation names for the app stack's StationLakeBucket: the role has from its
    creation what it needs and no more, and another stack's role reaches none of it."""
    s3 = moto_server.client("s3")
    bucket = f"fuelpipe-stationlakebucket-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    calls = ingest_calls(s3, bucket, lake_file, status=True)

    grants = stations_role_grants("fuelpipe")
    refused = sorted({c for c in calls if not allowed(c, grants)}, key=str)
    assert refused == []
    used = {c.action for c in calls}
    granted = {a for g in grants if g["Effect"] == "Allow" for a in g["Action"]}
    assert granted == used
    assert not [c for c in calls if allowed(c, stations_role_grants("fuelpipe-stg"))]
    elsewhere = [
        Call("s3:PutObject", f"arn:aws:s3:::{bucket}/athena-results/stations/x.csv"),
        Call("s3:GetObject", f"arn:aws:s3:::{bucket}/_manifest.json"),
        Call("s3:DeleteObject", f"arn:aws:s3:::{bucket}/stations/_manifest.json"),
        Call("s3:ListBucket", f"arn:aws:s3:::{bucket}", "athena-results/"),
    ]
    assert not [c for c in elsewhere if allowed(c, grants)]


def test_the_query_policy_allows_every_call_of_the_station_views_and_no_other(
    moto_server: LocalServer, bucket: str, lake_file: Path
) -> None:
    s3 = moto_server.client("s3")
    StationLake(S3LakeStorage(s3, bucket), FixedClock(NOW)).ingest_path(lake_file)
    athena = moto_server.client("athena", region_name=REGION)
    athena.create_work_group(
        Name="fuelpipe-stations",
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{bucket}/athena-results/"}},
    )
    calls: list[Call] = []
    record(s3, calls, bucket)
    record(athena, calls, bucket)
    stations = AthenaStations(
        AthenaQueries(athena, "fuelpipe-stations", "fuelpipe", poll_s=0.01),
        S3LakeStorage(s3, bucket),
        clock=FixedClock(NOW),
        reuse_limit=60,
    )
    stations.window()
    stations.old_layout()
    stations.old_layout()  # (the 304 of an unchanged manifest)
    params = query_params("LPG", date(2025, 3, 24), date(2025, 4, 19), "SP", "SAO PAULO", "")
    stations.query("municipality_ranking", params)
    with QueuedQueries(moto_server):  # a query still queued at its deadline
        clock = [0.0]  # moved only by the runner's sleeps: one poll, then past the deadline
        slow = AthenaQueries(
            athena, "fuelpipe-stations", "fuelpipe", timeout_s=1.0, poll_s=0.6,
            sleep=lambda s: clock.__setitem__(0, clock[0] + s), monotonic=lambda: clock[0],
        )  # fmt: skip
        with pytest.raises(AthenaQueryFailed, match=r", stopped$"):
            slow.query("coverage", {})

    grants = statements("StationLakeQueryPolicy", bucket)
    refused = sorted({c for c in calls if not allowed(c, grants)}, key=str)
    assert refused == []
    used = {c.action for c in calls}
    granted = {a for g in grants for a in g["Action"]}
    assert granted - used == QUERY_BY_ATHENA
    assert used <= granted


class QueuedQueries:
    """moto's Athena keeps queries QUEUED while this holds (its state manager)."""

    def __init__(self, moto: LocalServer) -> None:
        self.url = f"{moto.url}/moto-api/state-manager"
        self.model = {"model_name": "athena::execution"}

    def __enter__(self) -> None:
        manual = {**self.model, "transition": {"progression": "manual", "times": 1000}}
        assert httpx.post(f"{self.url}/set-transition", json=manual, timeout=10).is_success

    def __exit__(self, *exc: object) -> None:
        assert httpx.post(f"{self.url}/unset-transition", json=self.model, timeout=10).is_success
