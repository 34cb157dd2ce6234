"""Safe deploys against moto_server: publish a version, check it, move ``live``; a failed
check leaves ``live`` where it was; rollback puts back what a deploy moved."""

from __future__ import annotations

import io
import json

import pytest
from tests.deploy.test_apply import FUNCTIONS, Stack, deploy_command, healthy

from fuelpipe.deploy.apply import DeployError, Release, apply_plan, ping_check, rollback
from fuelpipe.deploy.package import build_all, code_sha256
from fuelpipe.deploy.plan import DeployPlan, make_plan
from fuelpipe.deploy.state import read_releases, write_releases
from fuelpipe.ping import PING_EVENT, pong

pytestmark = pytest.mark.aws


def fails_for(broken: str):
    """A check that fails the version of ``broken`` only."""

    def check(client, function, function_name, version):
        return "the ping raised (Unhandled): boom" if function == broken else None

    return check


def change_and_build(repo, path: str, text: str, zips):
    """Commit one changed file and build every zip of the result into ``zips``."""
    repo.write(path, text)
    repo.commit(f"change {path}")
    build_all(repo.root, zips, FUNCTIONS, with_deps=False)
    return zips


def test_a_deploy_publishes_a_version_and_moves_live_to_it(
    project, moto_endpoint, tmp_path
) -> None:
    repo, base = project
    stack = Stack(moto_endpoint, repo.root, tmp_path / "first")
    scraper_v2 = "def handler(event, context):\n    return 'v2'\n"
    zips = change_and_build(repo, "lambdas/scraper/handler.py", scraper_v2, tmp_path / "zips")
    moved: list[Release] = []

    result = apply_plan(
        stack.lam,
        make_plan(repo.root, base),
        zips,
        check=healthy,
        on_release=moved.append,
        function_prefix=stack.prefix,
    )

    sha = code_sha256((zips / "scraper.zip").read_bytes())
    assert moved == [Release("scraper", sha, "2", "1")] == list(result.values())
    assert stack.live() == {"dashboard_api": "1", "data_clustering": "1",
                            "retry_recheck": "1", "scraper": "2"}  # fmt: skip
    live = stack.lam.get_function_configuration(
        FunctionName=stack.name("scraper"), Qualifier="live"
    )
    assert live["CodeSha256"] == sha


def test_a_failing_check_leaves_live_on_the_previous_version(
    project, moto_endpoint, tmp_path
) -> None:
    """Every function changes; the third in deploy order fails its check: it stays on
    version 1, the deploy stops there (retry_recheck is never touched) and says why."""
    repo, base = project
    stack = Stack(moto_endpoint, repo.root, tmp_path / "first")
    core_v2 = "PARTITION = 'info_type'  # v2\n"
    zips = change_and_build(repo, "src/fuelpipe/domain/keys.py", core_v2, tmp_path / "zips")
    moved: list[Release] = []

    with pytest.raises(DeployError) as failed:
        apply_plan(
            stack.lam,
            make_plan(repo.root, base),
            zips,
            check=fails_for("data_clustering"),
            on_release=moved.append,
            function_prefix=stack.prefix,
        )

    assert str(failed.value) == (
        f"{stack.prefix}data_clustering: version 2 failed its check "
        "(the ping raised (Unhandled): boom); live stays on version 1"
    )
    assert [(r.function, r.version, r.previous) for r in moved] == [
        ("scraper", "2", "1"),
        ("dashboard_api", "2", "1"),
    ]
    assert stack.live() == {"scraper": "2", "dashboard_api": "2",
                            "data_clustering": "1", "retry_recheck": "1"}  # fmt: skip


def test_rollback_moves_the_aliases_back(project, moto_endpoint, tmp_path) -> None:
    """A deploy moved two aliases, then a later step failed: ``scripts/deploy.py rollback``
    reads what apply recorded and moves both back; an alias moved since is left alone."""
    repo, _ = project
    stack = Stack(moto_endpoint, repo.root, tmp_path / "first", prefix="")
    zips = tmp_path / "zips"
    repo.write("src/fuelpipe/domain/keys.py", "PARTITION = 'info_type'  # v3\n")
    repo.commit("core v3")
    build_all(repo.root, zips, FUNCTIONS, with_deps=False)
    plan = DeployPlan(
        base=None, head="h", functions=("scraper", "retry_recheck"), deploy_stack=False
    )
    releases_file = tmp_path / "releases.json"
    moved: list[Release] = []

    def remember(release: Release) -> None:
        moved.append(release)
        write_releases(releases_file, moved)

    before = stack.live()
    apply_plan(stack.lam, plan, zips, check=healthy, on_release=remember)
    after = stack.live()
    run = deploy_command(stack_endpoint(stack), tmp_path)
    printed = run("rollback", "--releases", str(releases_file))

    assert [r.function for r in read_releases(releases_file)] == ["scraper", "retry_recheck"]
    assert after == {**before, "scraper": str(int(before["scraper"]) + 1),
                     "retry_recheck": str(int(before["retry_recheck"]) + 1)}  # fmt: skip
    assert stack.live() == before
    assert printed.splitlines() == [
        f"retry_recheck: live back from version {after['retry_recheck']} to "
        f"{before['retry_recheck']}",
        f"scraper: live back from version {after['scraper']} to {before['scraper']}",
    ]
    # Run again: nothing is on the released versions any more, so nothing moves.
    assert rollback(stack.lam, read_releases(releases_file)) == [
        f"retry_recheck: live is on version {before['retry_recheck']}, not "
        f"{after['retry_recheck']}: left",
        f"scraper: live is on version {before['scraper']}, not {after['scraper']}: left",
    ]


def stack_endpoint(stack: Stack) -> str:
    return str(stack.lam.meta.endpoint_url)


def test_the_deploy_command_fails_naming_the_function_whose_ping_fails(
    project, moto_endpoint, tmp_path
) -> None:
    """moto_server cannot run a handler, so the real ping of the published version gets no
    pong: ``apply`` exits non-zero naming the function, and live stays where it was."""
    repo, base = project
    stack = Stack(moto_endpoint, repo.root, tmp_path / "first", prefix="")
    repo.write("lambdas/dashboard_api/handler.py", "def handler(e, c):\n    return 'v9'\n")
    repo.commit("dashboard v9")
    zips = tmp_path / "zips"
    build_all(repo.root, zips, FUNCTIONS, with_deps=False)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(make_plan(repo.root, base).to_json())
    before = stack.live()
    run = deploy_command(moto_endpoint, tmp_path)

    with pytest.raises(Exception) as failed:
        run("apply", "--plan", str(plan_file), "--zip-dir", str(zips),
            "--releases", str(tmp_path / "releases.json"))  # fmt: skip

    stderr = failed.value.stderr  # type: ignore[attr-defined]
    assert f"dashboard_api: version {int(before['dashboard_api']) + 1} failed its check" in stderr
    assert f"live stays on version {before['dashboard_api']}" in stderr
    assert stack.live() == before
    assert read_releases(tmp_path / "releases.json") == []


class PingAnswer:
    """An invoke that answers what a handler returned (or raised)."""

    def __init__(self, answer: object, error: str | None = None) -> None:
        self.answer, self.error, self.calls = answer, error, []

    def invoke(self, **kwargs):
        self.calls.append(kwargs)
        reply = {"Payload": io.BytesIO(json.dumps(self.answer).encode())}
        return reply | ({"FunctionError": self.error} if self.error else {})


def test_the_ping_check_invokes_the_version_and_wants_the_pong() -> None:
    good = PingAnswer(pong("scraper"))
    assert ping_check(good, "scraper", "t1-scraper", "7") is None
    assert good.calls == [{"FunctionName": "t1-scraper", "Qualifier": "7",
                           "InvocationType": "RequestResponse",
                           "Payload": json.dumps(PING_EVENT).encode()}]  # fmt: skip
    assert ping_check(PingAnswer(pong("outlook")), "scraper", "scraper", "7") == (
        'the ping answered \'{"fuelpipe": "pong", "function": "outlook"}\', '
        'not {"fuelpipe": "pong", "function": "scraper"}'
    )
    raised = PingAnswer({"errorMessage": "No module named 'numpy'"}, error="Unhandled")
    assert ping_check(raised, "scraper", "scraper", "7") == (
        'the ping raised (Unhandled): {"errorMessage": "No module named \'numpy\'"}'
    )
