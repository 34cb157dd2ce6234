"""Deploy the Lambda functions a commit range changed.

    python scripts/deploy.py plan  [--base SHA | --base-from-ssm NAME] [--out build/plan.json]
    python scripts/deploy.py apply --plan build/plan.json [--zip-dir build/lambdas]
                                   [--releases build/releases.json]
    python scripts/deploy.py rollback [--releases build/releases.json]
    python scripts/deploy.py forget --ssm-parameter NAME
    python scripts/deploy.py record --plan build/plan.json --ssm-parameter NAME
    python scripts/deploy.py stack-template [--out build/template.yaml]
    python scripts/deploy.py verify-zips [--zip-dir build/lambdas] [--list-sha256 HEX]

``plan`` writes which functions changed and whether the stack did; ``apply`` uploads each
planned function's zip (built by ``make package``), publishes it as a version, pings that
version (:mod:`fuelpipe.ping`) and only then moves the function's ``live`` alias to it (after
a stack deploy, every function's $LATEST is published so); each alias move is written to the
releases file as it happens, and ``rollback`` moves those aliases back; ``forget``,
run before the stack or any function changes, marks the deployed commit unknown, so a deploy
that fails part way makes the next plan deploy everything; ``record`` stores the deployed
commit so the next plan starts from it; ``stack-template`` writes the
app template with each function's CodeUri pointed at its zip, for ``aws cloudformation
package``; ``verify-zips`` checks that every function's zip is the one ``make package`` listed
in ``code-sha256.json`` (its CodeSha256), and that list the one the build reported (its
SHA-256), so each environment deploys the very zips that were built once. AWS clients come
from boto3's usual configuration (the deploy workflow assumes its role through OIDC first),
with ``AWS_REGION`` as the region when botocore finds none (:mod:`fuelpipe.aws_region`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from fuelpipe.aws_region import session_region
from fuelpipe.deploy.apply import Release, apply_plan, rollback
from fuelpipe.deploy.package import check_zips
from fuelpipe.deploy.plan import DeployPlan, PlanError, discover_functions, make_plan
from fuelpipe.deploy.stack import point_code_at_zips
from fuelpipe.deploy.state import (
    UNKNOWN,
    forget_deployed_commit,
    read_deployed_commit,
    read_releases,
    record_deployed_commit,
    write_releases,
)

ROOT = Path(__file__).resolve().parent.parent
RELEASES = ROOT / "build" / "releases.json"


def _client(service: str, endpoint_url: str | None) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    # Standard retries back off on throttling: a scheduled function's one reserved execution
    # may be busy with a run when the deploy pings its new version.
    return session.client(
        service,
        endpoint_url=endpoint_url or None,
        region_name=session_region(session),
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )


def _write_github_output(path: Path, plan: DeployPlan) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(f"functions={' '.join(plan.functions)}\n")
        out.write(f"deploy_stack={'true' if plan.deploy_stack else 'false'}\n")
        out.write(f"head={plan.head}\n")


def cmd_plan(args: argparse.Namespace) -> int:
    """Compute the plan and write it where asked."""
    base = args.base
    if args.base_from_ssm:
        base = read_deployed_commit(_client("ssm", args.endpoint_url), args.base_from_ssm)
    plan = make_plan(args.repo, base, args.head)
    text = plan.to_json()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    if args.github_output:
        _write_github_output(args.github_output, plan)
    print(text)
    return 0


def read_plan(path: Path) -> DeployPlan:
    """The plan ``plan --out`` wrote at ``path``; a PlanError naming the file when there is
    none there or it holds no plan."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(
            f"{path}: no such plan file (scripts/deploy.py plan --out writes one)"
        ) from None
    return DeployPlan.from_json(text, source=str(path))


def cmd_apply(args: argparse.Namespace) -> int:
    """Upload the planned functions' zips and print the CodeSha256 Lambda stored."""
    plan = read_plan(args.plan)
    write_releases(args.releases, [])  # this deploy's, never an earlier one's
    if not plan.functions and not plan.deploy_stack:
        print("no function changed: nothing to update")
        return 0
    moved: list[Release] = []

    def remember(release: Release) -> None:
        moved.append(release)
        write_releases(args.releases, moved)

    # The Lambda of each folder's name: the template fixes every FunctionName, and the deploy
    # role may update those names only.
    releases = apply_plan(
        _client("lambda", args.endpoint_url),
        plan,
        args.zip_dir,
        every_function=discover_functions(args.repo),
        on_release=remember,
    )
    for name, release in releases.items():
        updated = "updated" if name in plan.functions else "published"
        print(
            f"{updated} {name}  CodeSha256={release.code_sha256}  "
            f"live: version {release.previous} -> {release.version}"
        )
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    """Move every alias this deploy moved back to the version it had before."""
    releases = read_releases(args.releases)
    if not releases:
        print(f"{args.releases}: no alias was moved, nothing to roll back")
        return 0
    for line in rollback(_client("lambda", args.endpoint_url), releases):
        print(line)
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    """Store the plan's head commit as deployed."""
    plan = read_plan(args.plan)
    record_deployed_commit(_client("ssm", args.endpoint_url), args.ssm_parameter, plan.head)
    print(f"{args.ssm_parameter} = {plan.head}")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    """Mark the deployed commit unknown until this deploy records its own."""
    forget_deployed_commit(_client("ssm", args.endpoint_url), args.ssm_parameter)
    print(f"{args.ssm_parameter} = {UNKNOWN}")
    return 0


def cmd_stack_template(args: argparse.Namespace) -> int:
    """Write the template whose CodeUris name the built zips."""
    text = point_code_at_zips(args.template.read_text(encoding="utf-8"), args.zip_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def cmd_verify_zips(args: argparse.Namespace) -> int:
    """Check every function's zip against the build's list; print the list's SHA-256."""
    digest, found = check_zips(args.zip_dir, discover_functions(args.repo), args.list_sha256)
    for name, sha in found.items():
        print(f"{name}.zip  CodeSha256={sha}  as built")
    print(f"zip list SHA-256 {digest}")
    if args.github_output:
        with args.github_output.open("a", encoding="utf-8") as out:
            out.write(f"zip_list_sha256={digest}\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line: plan, forget, apply, rollback, record, stack-template, verify-zips."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", default=os.environ.get("FUELPIPE_AWS_ENDPOINT_URL"))
    sub = parser.add_subparsers(dest="command", required=True)

    plan = sub.add_parser("plan", help="which functions and whether the stack changed")
    plan.add_argument("--repo", type=Path, default=ROOT)
    plan.add_argument(
        "--base",
        default=os.environ.get("FUELPIPE_DEPLOY_BASE"),
        help="last deployed commit (empty: deploy everything)",
    )
    plan.add_argument("--base-from-ssm", metavar="NAME", help="read the base from this parameter")
    plan.add_argument("--head", default="HEAD")
    plan.add_argument("--out", type=Path, help="write the plan JSON here")
    plan.add_argument("--github-output", type=Path, help="append step outputs to this file")
    plan.set_defaults(func=cmd_plan)

    apply = sub.add_parser("apply", help="update the planned functions' code")
    apply.add_argument("--plan", type=Path, required=True)
    apply.add_argument("--zip-dir", type=Path, default=ROOT / "build" / "lambdas")
    apply.add_argument("--repo", type=Path, default=ROOT, help="its lambdas/<name>/ folders")
    apply.add_argument("--releases", type=Path, default=RELEASES, help="record alias moves here")
    apply.set_defaults(func=cmd_apply)

    back = sub.add_parser("rollback", help="move the aliases apply moved back (a later failure)")
    back.add_argument("--releases", type=Path, default=RELEASES, help="what apply recorded")
    back.set_defaults(func=cmd_rollback)

    forget = sub.add_parser("forget", help="mark the deployed commit unknown (before changes)")
    forget.add_argument("--ssm-parameter", required=True)
    forget.set_defaults(func=cmd_forget)

    record = sub.add_parser("record", help="remember the plan's head as deployed")
    record.add_argument("--plan", type=Path, required=True)
    record.add_argument("--ssm-parameter", required=True)
    record.set_defaults(func=cmd_record)

    stack = sub.add_parser("stack-template", help="the app template pointed at the built zips")
    stack.add_argument("--template", type=Path, default=ROOT / "infra" / "template.yaml")
    stack.add_argument("--zip-dir", type=Path, default=ROOT / "build" / "lambdas")
    # build/ sits beside infra/, so the template's other relative paths still resolve.
    stack.add_argument("--out", type=Path, default=ROOT / "build" / "template.yaml")
    stack.set_defaults(func=cmd_stack_template)

    verify = sub.add_parser("verify-zips", help="the zips are the ones built (CodeSha256)")
    verify.add_argument("--repo", type=Path, default=ROOT, help="its lambdas/<name>/ folders")
    verify.add_argument("--zip-dir", type=Path, default=ROOT / "build" / "lambdas")
    verify.add_argument("--list-sha256", help="the SHA-256 (hex) the build reported")
    verify.add_argument("--github-output", type=Path, help="append the list's SHA-256 here")
    verify.set_defaults(func=cmd_verify_zips)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PlanError as exc:  # a plan file missing or not a plan, a base git cannot read
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
