"""Applying a plan against moto_server: exactly the planned functions get the new code."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from fuelpipe.deploy.apply import MAX_INLINE_ZIP_BYTES, DeployError, Release, apply_plan
from fuelpipe.deploy.package import build_all, code_sha256
from fuelpipe.deploy.plan import DeployPlan, deploy_order, make_plan
from fuelpipe.deploy.state import UNKNOWN, read_deployed_commit, record_deployed_commit

pytestmark = pytest.mark.aws

FUNCTIONS = ("dashboard_api", "data_clustering", "retry_recheck", "scraper")
REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def healthy(client, function, function_name, version) -> None:
    """A check every version passes: moto_server cannot run the handlers to ping them."""
    return None


def client(endpoint: str, service: str):
    return boto3.session.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    ).client(service, endpoint_url=endpoint)


class Stack:
    """Functions created in moto from a first packaging, under a prefix unique to one test
    (``prefix=""``: the real names, as the deploy command updates them; once a session)."""

    def __init__(self, endpoint: str, root: Path, out: Path, prefix: str | None = None) -> None:
        self.lam = client(endpoint, "lambda")
        unique = f"t{uuid.uuid4().hex[:8]}-"
        self.prefix = unique if prefix is None else prefix
        role = client(endpoint, "iam").create_role(
            RoleName=f"{unique}exec", AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]["Arn"]
        for pkg in build_all(root, out, FUNCTIONS, with_deps=False):
            if prefix == "":  # the real names: an earlier test's functions go first
                existing = {f["FunctionName"] for f in self.lam.list_functions()["Functions"]}
                if pkg.function in existing:
                    self.lam.delete_function(FunctionName=pkg.function)
            self.lam.create_function(
                FunctionName=self.name(pkg.function),
                Runtime="python3.12",
                Role=role,
                Handler="handler.handler",
                Code={"ZipFile": pkg.path.read_bytes()},
            )
            # As the template does: version 1 published at creation, live on it.
            self.lam.publish_version(FunctionName=self.name(pkg.function))
            self.lam.create_alias(
                FunctionName=self.name(pkg.function), Name="live", FunctionVersion="1"
            )

    def name(self, function: str) -> str:
        return f"{self.prefix}{function}"

    def code_hashes(self) -> dict[str, str]:
        return {
            f: self.lam.get_function(FunctionName=self.name(f))["Configuration"]["CodeSha256"]
            for f in FUNCTIONS
        }

    def live(self) -> dict[str, str]:
        """The version each function's live alias names."""
        return {
            f: self.lam.get_alias(FunctionName=self.name(f), Name="live")["FunctionVersion"]
            for f in FUNCTIONS
        }


@pytest.fixture
def deployed(project, moto_endpoint, tmp_path):
    """The fake project, deployed once: (repo, base commit, stack)."""
    repo, base = project
    return repo, base, Stack(moto_endpoint, repo.root, tmp_path / "first")


def test_apply_updates_exactly_the_planned_function(deployed, tmp_path) -> None:
    repo, base, stack = deployed
    before = stack.code_hashes()
    repo.write("lambdas/scraper/handler.py", "def handler(event, context):\n    return 'v2'\n")
    repo.commit("scraper v2")
    plan = make_plan(repo.root, base)
    zips = tmp_path / "second"
    built = {p.function: p for p in build_all(repo.root, zips, FUNCTIONS, with_deps=False)}

    result = apply_plan(
        stack.lam, plan, zips, check=healthy, function_prefix=stack.prefix, poll_delay_s=1
    )

    after = stack.code_hashes()
    assert plan.functions == ("scraper",)
    assert result == {"scraper": Release("scraper", built["scraper"].code_sha256, "2", "1")}
    assert stack.live() == {f: "2" if f == "scraper" else "1" for f in FUNCTIONS}
    assert after["scraper"] == built["scraper"].code_sha256 != before["scraper"]
    assert after["scraper"] == code_sha256((zips / "scraper.zip").read_bytes())
    assert {f: h for f, h in after.items() if f != "scraper"} == {
        f: h for f, h in before.items() if f != "scraper"
    }


def test_a_core_change_updates_every_function(deployed, tmp_path) -> None:
    repo, base, stack = deployed
    before = stack.code_hashes()
    repo.write("src/fuelpipe/domain/keys.py", "PARTITION = 'info_type'  # v2\n")
    repo.commit("core v2")
    plan = make_plan(repo.root, base)
    build_all(repo.root, tmp_path / "second", FUNCTIONS, with_deps=False)

    result = apply_plan(
        stack.lam, plan, tmp_path / "second", check=healthy, function_prefix=stack.prefix
    )

    after = stack.code_hashes()
    assert set(result) == set(FUNCTIONS)
    assert all(after[f] == result[f].code_sha256 != before[f] for f in FUNCTIONS)


def test_apply_updates_the_queue_consumer_first(tmp_path) -> None:
    """Whatever order a plan lists them in, the scraper (which reads the download queue) is
    updated before the functions that send to it."""
    updated: list[str] = []

    class Recording:
        def update_function_code(self, **kwargs):
            updated.append(kwargs["FunctionName"])
            return {"CodeSha256": code_sha256(kwargs["ZipFile"])}

        def get_waiter(self, waiter_name):
            class Waiter:
                def wait(self, **kwargs):
                    return None

            return Waiter()

        def get_alias(self, **kwargs):
            return {"FunctionVersion": "1"}

        def publish_version(self, **kwargs):
            return {"Version": "2", "CodeSha256": kwargs["CodeSha256"]}

        def update_alias(self, **kwargs):
            return {}

    for name in FUNCTIONS:
        (tmp_path / f"{name}.zip").write_bytes(name.encode())
    listed = ("retry_recheck", "data_clustering", "scraper", "dashboard_api")
    plan = DeployPlan(base=None, head="h", functions=listed, deploy_stack=False)

    apply_plan(Recording(), plan, tmp_path, check=healthy)

    assert updated == ["scraper", "dashboard_api", "data_clustering", "retry_recheck"]


def test_a_docs_change_updates_nothing(deployed, tmp_path) -> None:
    repo, base, stack = deployed
    before = stack.code_hashes()
    repo.write("docs/DEPLOY.md", "# deploy, again\n")
    repo.commit("docs")
    plan = make_plan(repo.root, base)

    assert apply_plan(stack.lam, plan, tmp_path, function_prefix=stack.prefix) == {}
    assert stack.code_hashes() == before


def test_a_missing_zip_stops_before_any_update(deployed, tmp_path) -> None:
    _, _, stack = deployed
    before = stack.code_hashes()
    plan = DeployPlan(base=None, head="h", functions=FUNCTIONS, deploy_stack=False)

    with pytest.raises(DeployError, match="no zip for"):
        apply_plan(stack.lam, plan, tmp_path / "empty", function_prefix=stack.prefix)
    assert stack.code_hashes() == before


def test_a_zip_over_the_inline_limit_stops_before_any_update(deployed, tmp_path) -> None:
    repo, _, stack = deployed
    before = stack.code_hashes()
    zips = tmp_path / "zips"
    build_all(repo.root, zips, FUNCTIONS, with_deps=False)
    with (zips / "scraper.zip").open("r+b") as big:
        big.truncate(MAX_INLINE_ZIP_BYTES + 1)
    plan = DeployPlan(base=None, head="h", functions=FUNCTIONS, deploy_stack=False)

    with pytest.raises(DeployError, match="scraper"):
        apply_plan(stack.lam, plan, zips, function_prefix=stack.prefix)
    assert stack.code_hashes() == before


def test_the_deployed_commit_round_trips_through_ssm(moto_endpoint) -> None:
    ssm = client(moto_endpoint, "ssm")
    name = f"/fuelpipe/t{uuid.uuid4().hex[:8]}/deployed-commit"

    assert read_deployed_commit(ssm, name) is None
    record_deployed_commit(ssm, name, "a" * 40)
    assert read_deployed_commit(ssm, name) == "a" * 40


def test_an_ssm_error_other_than_not_found_stops_the_plan() -> None:
    class Denied(Exception):
        response = {"Error": {"Code": "AccessDeniedException"}}  # noqa: RUF012

    class DeniedSsm:
        def get_parameter(self, **kwargs):
            raise Denied

        def put_parameter(self, **kwargs):
            raise Denied

    with pytest.raises(Denied):
        read_deployed_commit(DeniedSsm(), "/fuelpipe/staging/deployed-commit")


def deploy_command(moto_endpoint: str, home: Path) -> Callable[..., str]:
    """``scripts/deploy.py <args>`` against moto_server, as the workflow runs it; its stdout."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "FUELPIPE_AWS_ENDPOINT_URL": moto_endpoint,
        "PYTHONPATH": str(REPO_ROOT / "src"),  # this checkout's, not an editable install's
    }
    script = [sys.executable, str(REPO_ROOT / "scripts" / "deploy.py")]

    def run(*args: str) -> str:
        return subprocess.run(
            [*script, *args], check=True, capture_output=True, text=True, env=env
        ).stdout

    return run


def test_a_deploy_that_fails_part_way_makes_the_next_deploy_everything(
    project, moto_endpoint, tmp_path
) -> None:
    """A deployed; B changes only src/ and is recorded; C changes only infra/ and its stack
    update fails, so CloudFormation rolls every function back to the code it last packaged
    (A's); the revert of C diffs to nothing from B, yet the functions run A's code: the next
    deploy must plan everything, not the diff from the last record."""
    repo, a = project
    ssm = client(moto_endpoint, "ssm")
    parameter = f"/fuelpipe/t{uuid.uuid4().hex[:8]}/deployed-commit"
    run = deploy_command(moto_endpoint, tmp_path)
    plan_file = tmp_path / "plan.json"

    def deploy(*, fails: bool) -> dict:
        """The workflow's steps: plan, forget, (stack, apply), record unless a step failed."""
        run("plan", "--repo", str(repo.root), "--base-from-ssm", parameter, "--out", str(plan_file))
        run("forget", "--ssm-parameter", parameter)
        if not fails:
            run("record", "--plan", str(plan_file), "--ssm-parameter", parameter)
        return json.loads(plan_file.read_text())

    record_deployed_commit(ssm, parameter, a)
    repo.write("src/fuelpipe/domain/keys.py", "PARTITION = 'info_type'  # B\n")
    b = repo.commit("B: core only")
    assert deploy(fails=False)["functions"] == list(deploy_order(FUNCTIONS))
    assert read_deployed_commit(ssm, parameter) == b
    repo.write("infra/template.yaml", "Resources: {Broken: {}}\n")
    c = repo.commit("C: infra only")
    assert deploy(fails=True)["deploy_stack"]
    assert ssm.get_parameter(Name=parameter)["Parameter"]["Value"] == UNKNOWN
    repo.git("branch", UNKNOWN, b)  # the marker must never reach git as a ref
    repo.git("revert", "--no-edit", c)

    plan = deploy(fails=False)

    assert plan["base"] is None
    assert plan["functions"] == list(deploy_order(FUNCTIONS))
    assert plan["deploy_stack"]


def test_the_deploy_command_plans_applies_and_records(project, moto_endpoint, tmp_path) -> None:
    repo, base = project
    # The command updates the functions by their own names, as the template names them.
    stack = Stack(moto_endpoint, repo.root, tmp_path / "first", prefix="")
    ssm = client(moto_endpoint, "ssm")
    parameter = f"/fuelpipe/t{uuid.uuid4().hex[:8]}/deployed-commit"
    record_deployed_commit(ssm, parameter, base)
    repo.write("lambdas/retry_recheck/handler.py", "def handler(e, c):\n    return 'v2'\n")
    head = repo.commit("recheck v2")
    zips = tmp_path / "zips"
    build_all(repo.root, zips, FUNCTIONS, with_deps=False)
    run = deploy_command(moto_endpoint, tmp_path)
    plan_file = tmp_path / "plan.json"

    run("plan", "--repo", str(repo.root), "--base-from-ssm", parameter, "--out", str(plan_file))
    # apply in-process: moto_server cannot run the handler its ping needs (test_release.py
    # runs the command, and sees it fail for that reason).
    applied = apply_plan(
        stack.lam, DeployPlan.from_json(plan_file.read_text()), zips, check=healthy
    )
    run("record", "--plan", str(plan_file), "--ssm-parameter", parameter)

    expected = code_sha256((zips / "retry_recheck.zip").read_bytes())
    assert json.loads(plan_file.read_text())["functions"] == ["retry_recheck"]
    assert applied == {"retry_recheck": Release("retry_recheck", expected, "2", "1")}
    assert stack.code_hashes()["retry_recheck"] == expected
    assert read_deployed_commit(ssm, parameter) == head
