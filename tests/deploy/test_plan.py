"""Change detection: which functions and whether the stack a commit range deploys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuelpipe.deploy.plan import (
    DeployPlan,
    PlanError,
    deploy_order,
    discover_functions,
    make_plan,
    plan_from_paths,
)

FUNCTIONS = ("dashboard_api", "data_clustering", "retry_recheck", "scraper")
# The queue's consumer first, then by name.
IN_ORDER = ("scraper", "dashboard_api", "data_clustering", "retry_recheck")
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_change_in_one_function_folder_deploys_that_function_only(project) -> None:
    repo, base = project
    repo.write("lambdas/scraper/handler.py", "def handler(event, context):\n    return 2\n")
    head = repo.commit("scraper only")

    plan = make_plan(repo.root, base)

    assert plan.functions == ("scraper",)
    assert not plan.deploy_stack
    assert plan.base == base
    assert plan.head == head
    assert plan.reasons == {"scraper": "lambdas/scraper/handler.py"}


def test_a_change_in_the_core_package_deploys_every_function(project) -> None:
    repo, base = project
    repo.write("src/fuelpipe/domain/keys.py", "PARTITION = 'info_type'  # changed\n")
    repo.commit("core")

    plan = make_plan(repo.root, base)

    assert plan.functions == IN_ORDER
    assert not plan.deploy_stack


@pytest.mark.parametrize("path", ["pyproject.toml", "requirements/lambda-core.txt"])
def test_a_change_in_the_locked_dependencies_deploys_every_function(project, path) -> None:
    repo, base = project
    repo.write(path, "# bumped\n")
    repo.commit("deps")

    assert make_plan(repo.root, base).functions == IN_ORDER


def test_docs_tests_and_readme_deploy_nothing(project) -> None:
    repo, base = project
    repo.write("docs/DEPLOY.md", "# deploy, reworded\n")
    repo.write("README.md", "# fake, reworded\n")
    repo.write("tests/test_keys.py", "def test_more():\n    assert 1 + 1 == 2\n")
    repo.commit("docs and tests")

    plan = make_plan(repo.root, base)

    assert plan.functions == ()
    assert not plan.deploy_stack
    assert plan.is_empty


def test_an_infra_change_deploys_the_stack_and_no_function(project) -> None:
    repo, base = project
    repo.write("infra/template.yaml", "Resources: {Table: {}}\n")
    repo.commit("infra")

    plan = make_plan(repo.root, base)

    assert plan.deploy_stack
    assert plan.functions == ()
    assert plan.reasons == {"stack": "infra/template.yaml"}


def test_changes_accumulate_over_several_commits(project) -> None:
    repo, base = project
    repo.write("lambdas/scraper/util.py", "X = 1\n")
    repo.commit("scraper")
    repo.write("lambdas/retry_recheck/handler.py", "def handler(e, c):\n    return 0\n")
    repo.commit("recheck")
    repo.write("infra/template.yaml", "Resources: {Queue: {}}\n")
    repo.commit("infra")

    plan = make_plan(repo.root, base)

    assert plan.functions == ("scraper", "retry_recheck")
    assert plan.deploy_stack


def test_moving_a_file_out_of_a_function_counts_for_that_function(project) -> None:
    repo, base = project
    repo.write("lambdas/scraper/parse.py", "def parse():\n    return 1\n")
    base = repo.commit("parse helper")
    repo.git("mv", "lambdas/scraper/parse.py", "docs/parse_example.py")
    repo.commit("move it out")

    assert make_plan(repo.root, base).functions == ("scraper",)


def test_a_new_function_folder_is_discovered_and_deployed(project) -> None:
    repo, base = project
    repo.write("lambdas/notifier/handler.py", "def handler(e, c):\n    return None\n")
    repo.commit("new function")

    plan = make_plan(repo.root, base)

    assert plan.functions == ("notifier",)
    assert "notifier" in discover_functions(repo.root)


@pytest.mark.parametrize("base", [None, "", "0" * 40, "no-such-tag"])
def test_an_unknown_base_deploys_everything(project, base) -> None:
    repo, _ = project

    plan = make_plan(repo.root, base)

    assert plan.functions == IN_ORDER
    assert plan.deploy_stack


def test_the_base_can_be_a_tag(project) -> None:
    repo, _ = project
    repo.git("tag", "deployed-staging")
    repo.write("lambdas/dashboard_api/handler.py", "def handler(e, c):\n    return 'v2'\n")
    repo.commit("dashboard")

    assert make_plan(repo.root, "deployed-staging").functions == ("dashboard_api",)


def test_no_change_since_the_base_deploys_nothing(project) -> None:
    repo, base = project

    assert make_plan(repo.root, base).is_empty


def test_the_queue_consumer_is_updated_before_its_producers() -> None:
    """A message-shape change must reach the scraper before data_clustering and retry_recheck
    send the new shape, else messages sent mid-deploy fail in the old scraper."""
    assert deploy_order(["retry_recheck", "scraper", "outlook", "data_clustering"]) == (
        "scraper",
        "data_clustering",
        "outlook",
        "retry_recheck",
    )
    assert deploy_order(["outlook", "data_clustering"]) == ("data_clustering", "outlook")
    assert deploy_order([]) == ()
    every = plan_from_paths(["src/fuelpipe/x.py"], FUNCTIONS, base="b", head="h")
    assert every.functions == IN_ORDER
    unknown = plan_from_paths(None, FUNCTIONS, base=None, head="h")
    assert unknown.functions == IN_ORDER
    real = discover_functions(REPO_ROOT)
    assert deploy_order(real)[0] == "scraper"


def test_only_folders_with_python_code_are_functions(tmp_path: Path) -> None:
    (tmp_path / "lambdas" / "scraper").mkdir(parents=True)
    (tmp_path / "lambdas" / "scraper" / "handler.py").write_text("")
    (tmp_path / "lambdas" / "__pycache__").mkdir()
    (tmp_path / "lambdas" / "__pycache__" / "x.py").write_text("")
    (tmp_path / "lambdas" / "empty").mkdir()
    (tmp_path / "lambdas" / "notes.md").write_text("")

    assert discover_functions(tmp_path) == ("scraper",)
    assert discover_functions(tmp_path / "nowhere") == ()


def test_a_folder_that_is_not_a_function_does_not_select_one() -> None:
    plan = plan_from_paths(
        ["lambdas/README.md", "lambdas/gone/handler.py", ".github/workflows/ci.yml"],
        FUNCTIONS,
        base="b",
        head="h",
    )

    assert plan.is_empty


def test_a_plan_survives_its_json_form() -> None:
    plan = plan_from_paths(
        ["lambdas/scraper/a.py", "infra/x.yaml"], FUNCTIONS, base="b" * 40, head="c" * 40
    )

    again = DeployPlan.from_json(plan.to_json())

    assert again == plan
    assert again.reasons == plan.reasons


def test_the_plan_command_writes_json_and_github_outputs(project, tmp_path: Path) -> None:
    repo, base = project
    repo.write("lambdas/scraper/handler.py", "def handler(e, c):\n    return 3\n")
    head = repo.commit("scraper")
    out, outputs = tmp_path / "plan.json", tmp_path / "github_output"

    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "deploy.py"), "plan",
         "--repo", str(repo.root), "--base", base, "--out", str(out),
         "--github-output", str(outputs)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip

    written = json.loads(out.read_text())
    assert written["functions"] == ["scraper"]
    assert written["head"] == head
    assert outputs.read_text().splitlines() == [
        "functions=scraper",
        "deploy_stack=false",
        f"head={head}",
    ]


NO_PLAN = [
    ("not json", "not JSON"),
    ("[]", "not a JSON object"),
    ('{"base": null, "functions": ["scraper"], "deploy_stack": false}', "head: missing"),
    # read loosely, the string was the functions s, c, r, a, p, e and r
    ('{"base": null, "head": "abc", "functions": "scraper", "deploy_stack": false}',
     "functions: 'scraper', wanted a list of function names"),
    # read loosely, "false" deployed the stack and released every function
    ('{"base": null, "head": "abc", "functions": [], "deploy_stack": "false"}',
     "deploy_stack: 'false', wanted true or false"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "named"), NO_PLAN)
def test_a_file_that_holds_no_plan_is_refused_naming_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(PlanError) as refused:
        DeployPlan.from_json(text)

    assert named in str(refused.value)


@pytest.mark.parametrize("command", ["apply", "record"])
@pytest.mark.parametrize(("text", "named"), [(None, "no such plan file"), *NO_PLAN])
def test_the_commands_refuse_a_plan_file_they_cannot_read_in_one_line(
    tmp_path: Path, command: str, text: str | None, named: str
) -> None:
    """``apply`` and ``record`` read the plan before any AWS call: a missing file or one that
    holds no plan ends them with exit 2 and one line naming the file and what is wrong (a
    traceback before, or for a loose field a deploy of what the plan never said)."""
    plan = tmp_path / "plan.json"
    if text is not None:
        plan.write_text(text, encoding="utf-8")
    extra = {
        "apply": ["--zip-dir", str(tmp_path), "--releases", str(tmp_path / "releases.json")],
        "record": ["--ssm-parameter", "/fuelpipe/test/deployed-commit"],
    }[command]

    # Should a command reach AWS after all, only a closed port on 127.0.0.1 answers.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "FUELPIPE_AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }

    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "deploy.py"), command,
         "--plan", str(plan), *extra],
        check=False, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip

    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"deploy.py {command}: error: {plan}: "), line
    assert named in line
    assert not (tmp_path / "releases.json").exists()
