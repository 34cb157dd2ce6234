"""`make wheel-check`: the wheel works as users install it.

1. Build the wheel with ``python -m build --wheel`` from a copy of the checkout's files (tracked
   and new, as in the working tree), so stale ``build/`` output cannot leak in. The build runs
   isolated, as pip builds it for users: the lock files hold no setuptools (pip-tools and uv
   leave it out), and the venv's own (from ensurepip) is older than pyproject's
   ``setuptools>=69``, so pip fetches that one into the build environment (cached after once).
2. Check it carries the package data: the replay snapshot, the dashboard's static files,
   ``py.typed``.
3. Install it into a fresh virtualenv with its core dependencies only (resolved by pip, held to
   the versions locked in requirements/dev.txt), then run ``fuelpipe --help``,
   ``fuelpipe demo --no-serve`` (offline, on the bundled snapshot), ``fuelpipe demo`` (runs the
   pipeline and says how to get the panel) and ``fuelpipe dashboard`` (one line, exit 2).
4. Install ``[dashboard]`` and check ``fuelpipe dashboard --help``.

Every command runs outside the checkout, so only the installed package can answer.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


class CheckFailed(Exception):
    """One check of the installed wheel failed."""


def step(message: str) -> None:
    """Say what is being checked."""
    print(f"== wheel-check: {message}", flush=True)


def run(
    args: list[str | Path], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run a command; its output is kept for the checks and shown when one fails."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def expect(done: subprocess.CompletedProcess[str], code: int, what: str) -> None:
    """Fail with the command's output unless it exited with ``code``."""
    if done.returncode != code:
        raise CheckFailed(
            f"{what}: exit {done.returncode}, expected {code}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )


def source_copy(into: Path) -> Path:
    """The checkout's files (tracked, and new ones not ignored) copied into ``into``."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():  # a tracked file deleted in the working tree is left out
            dest = into / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    return into


def build_wheel(work: Path) -> Path:
    """``python -m build --wheel``, isolated, as pip builds it for users."""
    src = source_copy(work / "src")
    dist = work / "dist"
    done = run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, src], cwd=src)
    expect(done, 0, "python -m build --wheel")
    [wheel] = dist.glob("fuelpipe-*.whl")
    return wheel


def check_contents(wheel: Path) -> None:
    """The wheel holds every snapshot and static file of the checkout, and no test code."""
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    package = ROOT / "src" / "fuelpipe"
    needed = {"fuelpipe/py.typed", "fuelpipe/replay/snapshot/coverage.json"}
    for folder in (package / "replay" / "snapshot", package / "dashboard" / "static"):
        needed |= {
            f"fuelpipe/{p.relative_to(package).as_posix()}"
            for p in folder.rglob("*")
            if p.is_file()
        }
    missing = sorted(needed - names)
    if missing:
        raise CheckFailed(f"the wheel lacks package data: {missing[:10]}")
    stray = sorted(n for n in names if not n.startswith(("fuelpipe/", "fuelpipe-")))
    if stray:
        raise CheckFailed(f"the wheel holds files outside the package: {stray[:10]}")


def locked_versions(out: Path) -> Path:
    """requirements/dev.txt's pins as a constraints file (no hashes, no extras)."""
    pins = []
    for line in (ROOT / "requirements" / "dev.txt").read_text().splitlines():
        if match := PIN.match(line):
            pins.append(f"{match['name']}=={match['version']}")
    out.write_text("\n".join(pins) + "\n")
    return out


def install(venv: Path, requirement: str, constraints: Path, work: Path) -> None:
    """pip install into the fresh venv (dependencies resolved, held to the lock's versions)."""
    done = run(
        [venv / "bin" / "python", "-m", "pip", "install", "-q", "-c", constraints, requirement],
        cwd=work,
    )
    expect(done, 0, f"pip install {requirement}")


def install_hint(venv: Path, wheel: Path, work: Path, env: dict[str, str]) -> str:
    """The command the installed wheel's hints give for the dashboard extra: this wheel by its
    path (pip's direct_url.json), never PyPI's "fuelpipe", which is not this package."""
    hint = f"pip install {shlex.quote(f'{wheel}[dashboard]')}"
    said = "from fuelpipe.install_hint import install_hint; print(install_hint('dashboard'))"
    done = run([venv / "bin" / "python", "-c", said], cwd=work, env=env)
    expect(done, 0, "install_hint('dashboard')")
    if done.stdout.strip() != hint:
        raise CheckFailed(f"the install hint should be {hint!r}: {done.stdout!r}")
    return hint


def main() -> int:
    """Build, install bare, run the CLI, install the dashboard extra, run it again."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuelpipe-wheel-") as tmp:
        work = Path(tmp)
        try:
            step("building the wheel")
            wheel = build_wheel(work)
            check_contents(wheel)
            step(f"{wheel.name}: snapshot and static files present")

            venv = work / "venv"
            expect(run([sys.executable, "-m", "venv", venv], cwd=work), 0, "python -m venv")
            constraints = locked_versions(work / "constraints.txt")
            step("installing it with its core dependencies only (no extras)")
            install(venv, str(wheel), constraints, work)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("FUELPIPE_", "PYTHON"))}
            env |= {"FUELPIPE_DB": str(work / "demo.sqlite"), "NO_COLOR": "1"}
            fuelpipe = venv / "bin" / "fuelpipe"
            hint = install_hint(venv, wheel, work, env)

            done = run([fuelpipe, "--help"], cwd=work, env=env)
            expect(done, 0, "fuelpipe --help")
            if "demo" not in done.stdout or "dashboard" not in done.stdout:
                raise CheckFailed(f"fuelpipe --help does not list the commands:\n{done.stdout}")
            step("fuelpipe --help: ok")

            done = run([fuelpipe, "demo", "--no-serve"], cwd=work, env=env)
            expect(done, 0, "fuelpipe demo --no-serve")
            if " 0 missing" not in done.stdout:
                raise CheckFailed(f"fuelpipe demo --no-serve left gaps:\n{done.stdout[-3000:]}")
            step("fuelpipe demo --no-serve: the pipeline ran on the bundled snapshot, 0 missing")

            done = run([fuelpipe, "demo"], cwd=work, env=env)
            expect(done, 0, "fuelpipe demo (no dashboard extra)")
            if hint not in done.stdout:
                raise CheckFailed(
                    f"fuelpipe demo does not say how to get the panel:\n{done.stdout}"
                )
            step("fuelpipe demo without the extra: pipeline run, then the install hint")

            done = run([fuelpipe, "dashboard"], cwd=work, env=env)
            expect(done, 2, "fuelpipe dashboard (no dashboard extra)")
            lines = done.stderr.strip().splitlines()
            if len(lines) != 1 or hint not in lines[0] or "Traceback" in done.stderr:
                raise CheckFailed(f"fuelpipe dashboard should print one hint line:\n{done.stderr}")
            step(f"fuelpipe dashboard without the extra: {lines[0]!r}, exit 2")

            step(f"installing the [dashboard] extra as the hint says: {hint}")
            install(venv, shlex.split(hint)[2], constraints, work)
            done = run([fuelpipe, "dashboard", "--help"], cwd=work, env=env)
            expect(done, 0, "fuelpipe dashboard --help")
            probe = "import fuelpipe.dashboard.server, fuelpipe.dashboard.app"
            expect(run([venv / "bin" / "python", "-c", probe], cwd=work, env=env), 0, probe)
            step("fuelpipe dashboard --help and the dashboard modules import: ok")
        except CheckFailed as exc:
            print(f"wheel-check FAILED: {exc}", file=sys.stderr)
            return 1
    print(f"wheel-check passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
