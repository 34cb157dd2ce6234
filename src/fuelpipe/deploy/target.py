"""What the Lambda zips are built for (runtime, architecture) and from (which lock file)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Never in a zip unless the function lists them itself: the DataFrame and lake packages (the
# `frames` and `lake` extras), tens of MB each.
LEAN_FORBIDDEN = ("pandas", "numpy", "polars", "duckdb", "pyarrow")
TEMPLATE = Path("infra/template.yaml")
RUNTIME_RE = re.compile(r"^\s*Runtime:\s*python(\d+\.\d+)\s*$", re.MULTILINE)
PIN_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
ARCH_RE = re.compile(r"^\s*Architectures:\s*\[?\s*(arm64|x86_64)", re.MULTILINE)


class PackagingError(RuntimeError):
    """A zip could not be built as specified."""


@dataclass(frozen=True)
class LambdaTarget:
    """The runtime the zips are built for: Python version and CPU architecture."""

    python_version: str = "3.11"
    architecture: str = "x86_64"

    @property
    def platforms(self) -> list[str]:
        """pip ``--platform`` tags whose wheels load on that runtime's Amazon Linux."""
        machine = "aarch64" if self.architecture == "arm64" else "x86_64"
        tags = [f"manylinux2014_{machine}"]
        # python3.12+ runs on Amazon Linux 2023 (glibc 2.34); python3.11 on Amazon Linux 2 (2.26).
        if tuple(int(p) for p in self.python_version.split(".")) >= (3, 12):
            tags.append(f"manylinux_2_28_{machine}")
        return tags


def read_target(root: Path) -> LambdaTarget:
    """The Runtime and Architectures the SAM template's functions declare (first of each)."""
    template = root / TEMPLATE
    text = template.read_text(encoding="utf-8") if template.is_file() else ""
    runtime, arch = RUNTIME_RE.search(text), ARCH_RE.search(text)
    default = LambdaTarget()
    return LambdaTarget(
        runtime.group(1) if runtime else default.python_version,
        arch.group(1) if arch else default.architecture,
    )


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """``name==version`` lines of a requirements file, names normalised (PEP 503)."""
    pins = {}
    for line in text.splitlines():
        match = PIN_RE.match(line)
        if match:
            pins[normalise(match["name"])] = match["version"]
    return pins


def requirements_for(root: Path, function: str) -> Path:
    """The hashed lock a function installs from.

    ``requirements/lambda-<name>.txt`` (resolved from ``lambdas/<name>/requirements.txt`` by
    ``scripts/lock.sh``) when the function lists its own needs, else the core lock.
    """
    own = root / "requirements" / f"lambda-{function}.txt"
    wanted = root / "lambdas" / function / "requirements.txt"
    if wanted.is_file():
        if not own.is_file():
            raise PackagingError(f"{function}: {wanted} has no lock {own} (run scripts/lock.sh)")
        locked = pins(own.read_text(encoding="utf-8"))
        stale = sorted(
            f"{name}=={version}"
            for name, version in pins(wanted.read_text(encoding="utf-8")).items()
            if locked.get(name) != version
        )
        if stale:
            raise PackagingError(f"{function}: {own.name} lacks {', '.join(stale)} (lock.sh)")
        return own
    return own if own.is_file() else root / "requirements" / "lambda-core.txt"


def forbidden_for(root: Path, function: str) -> set[str]:
    """Heavy packages this function's zip must not hold: those it does not ask for itself."""
    wanted = root / "lambdas" / function / "requirements.txt"
    asked = pins(wanted.read_text(encoding="utf-8")) if wanted.is_file() else {}
    return set(LEAN_FORBIDDEN) - set(asked)
