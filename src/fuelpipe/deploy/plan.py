"""What a commit range asks to deploy: which Lambda functions, and whether the stack.

Rules (docs/DEPLOY.md):
- ``lambdas/<name>/**`` changes the function ``<name>``;
- the shared code and what decides the zips' contents (``src/fuelpipe/**``, ``pyproject.toml``,
  ``requirements/*.txt``, the packaging script) change every function;
- ``infra/**`` changes the stack;
- anything else (docs, tests, README, workflows) deploys nothing;
- an unknown base commit (first deploy, a deploy that did not finish, rewritten history)
  deploys everything.

Order: the queue's consumers first (``scraper``), then the rest by name, so a change in a
message's shape reaches the function that reads it before the functions that send it
(``data_clustering``, ``retry_recheck``); the other way round, messages sent in between would
fail in the old consumer and end in the dead-letter queue.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LAMBDAS_DIR = "lambdas"
INFRA_DIR = "infra"
CORE_PREFIXES = ("src/fuelpipe/",)
CORE_FILES = frozenset({"pyproject.toml", "scripts/package_lambdas.py"})
REQUIREMENTS_DIR = "requirements"
# Functions that consume what others send (the download queue's scraper): updated first.
CONSUMERS_FIRST = ("scraper",)


class PlanError(RuntimeError):
    """git could not answer a question the plan depends on."""


@dataclass(frozen=True)
class DeployPlan:
    """The functions to update and whether to deploy the stack, with the path behind each."""

    base: str | None
    head: str
    functions: tuple[str, ...]
    deploy_stack: bool
    reasons: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_empty(self) -> bool:
        """True when the range deploys nothing."""
        return not self.functions and not self.deploy_stack

    def to_json(self) -> str:
        """The plan as JSON, the form ``scripts/deploy.py`` hands from ``plan`` to ``apply``."""
        return json.dumps(
            {
                "base": self.base,
                "head": self.head,
                "functions": list(self.functions),
                "deploy_stack": self.deploy_stack,
                "reasons": self.reasons,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, source: str = "the plan") -> DeployPlan:
        """Read back what :meth:`to_json` wrote; a PlanError naming ``source`` and each field
        that is missing or of the wrong kind (a plan edited by hand, or not a plan at all):
        read loosely, ``"deploy_stack": "false"`` deployed the stack and a ``functions``
        string was taken letter by letter."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise PlanError(f"{source}: not JSON ({exc}); {_WRITE_PLAN}") from None
        if not isinstance(data, dict):
            raise PlanError(f"{source}: not a JSON object; {_WRITE_PLAN}")
        problems = [
            f"{name}: {'missing' if name not in data else repr(data[name])}, wanted {wanted}"
            for name, wanted, fits in _PLAN_FIELDS
            if not fits(data.get(name, _MISSING))
        ]
        if problems:
            raise PlanError(f"{source}: {'; '.join(problems)}; {_WRITE_PLAN}")
        return cls(
            base=data["base"],
            head=data["head"],
            functions=tuple(data["functions"]),
            deploy_stack=data["deploy_stack"],
            reasons=dict(data.get("reasons", {})),
        )


_MISSING = object()
_WRITE_PLAN = "scripts/deploy.py plan --out <file> writes a plan"
_PLAN_FIELDS: tuple[tuple[str, str, Callable[[object], bool]], ...] = (
    ("base", "a commit or null", lambda v: v is None or isinstance(v, str)),
    ("head", "a commit", lambda v: isinstance(v, str) and bool(v.strip())),
    (
        "functions",
        "a list of function names",
        lambda v: isinstance(v, list) and all(isinstance(f, str) and f for f in v),
    ),
    ("deploy_stack", "true or false", lambda v: isinstance(v, bool)),
    ("reasons", "an object", lambda v: v is _MISSING or isinstance(v, dict)),
)
"""The fields of a plan's JSON form: name, what it must be, and the test of it."""


def deploy_order(functions: Iterable[str]) -> tuple[str, ...]:
    """``functions`` in the order to update them: :data:`CONSUMERS_FIRST` (those present, in
    that order), then the others by name."""
    names = set(functions)
    first = tuple(n for n in CONSUMERS_FIRST if n in names)
    return first + tuple(sorted(names - set(first)))


def discover_functions(root: Path) -> tuple[str, ...]:
    """Folder names under ``lambdas/`` that hold Python code: each is one Lambda function."""
    lambdas = root / LAMBDAS_DIR
    if not lambdas.is_dir():
        return ()
    return tuple(
        sorted(
            child.name
            for child in lambdas.iterdir()
            if child.is_dir()
            and child.name.isidentifier()
            and not child.name.startswith("_")
            and any(child.glob("*.py"))
        )
    )


def _touches_every_function(path: str) -> bool:
    if path in CORE_FILES or path.startswith(CORE_PREFIXES):
        return True
    parts = path.split("/")
    return len(parts) == 2 and parts[0] == REQUIREMENTS_DIR and parts[1].endswith(".txt")


def plan_from_paths(
    paths: Iterable[str] | None, functions: Sequence[str], *, base: str | None, head: str
) -> DeployPlan:
    """Apply the rules to changed paths; ``None`` means the base is unknown, so everything."""
    known = sorted(functions)
    if paths is None:
        why = "no deployed commit known"
        reasons = dict.fromkeys(known, why) | {"stack": why}
        return DeployPlan(base, head, deploy_order(known), deploy_stack=True, reasons=reasons)
    chosen: dict[str, str] = {}
    stack_reason = ""
    for path in sorted(paths):
        parts = path.split("/")
        if parts[0] == LAMBDAS_DIR and len(parts) >= 3 and parts[1] in known:
            chosen.setdefault(parts[1], path)
        elif _touches_every_function(path):
            for name in known:
                chosen.setdefault(name, path)
        elif parts[0] == INFRA_DIR and len(parts) >= 2:
            stack_reason = stack_reason or path
    reasons = dict(sorted(chosen.items()))
    if stack_reason:
        reasons["stack"] = stack_reason
    return DeployPlan(
        base, head, deploy_order(chosen), deploy_stack=bool(stack_reason), reasons=reasons
    )


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=check
        )
    except subprocess.CalledProcessError as exc:
        raise PlanError(f"git {' '.join(args)} failed: {exc.stderr.strip()}") from exc


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The full SHA of ``ref``, or None when the repository has no such commit."""
    done = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def changed_paths(repo: Path, base: str | None, head: str = "HEAD") -> list[str] | None:
    """``git diff --name-only base head``; None when base is empty or not in this history."""
    if not base or resolve_commit(repo, base) is None:
        return None
    # --no-renames lists both sides of a move, so moving a file out of a function counts too.
    done = _git(repo, "diff", "--name-only", "--no-renames", "-z", base, head)
    return [p for p in done.stdout.split("\0") if p]


def make_plan(repo: Path, base: str | None, head: str = "HEAD") -> DeployPlan:
    """The plan for deploying ``head`` where ``base`` was the last deployed commit."""
    head_sha = resolve_commit(repo, head)
    if head_sha is None:
        raise PlanError(f"{head!r} is not a commit in {repo}")
    base = base.strip() if base else None
    paths = changed_paths(repo, base, head_sha)
    return plan_from_paths(paths, discover_functions(repo), base=base, head=head_sha)
