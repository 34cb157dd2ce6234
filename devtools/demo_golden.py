"""The demo's observable output, as digests: its store's status table and every export.

``python -m devtools.demo_golden --write tests/e2e/golden/demo.json`` records them from a real
``fuelpipe demo --no-serve`` run (the table: `fuelpipe status --wide` on its store); ``--check
tests/e2e/golden/demo.json`` runs the demo again and fails on any byte that differs
(``tests/e2e/test_demo_golden.py`` does the same inside the test session). The committed
golden file was recorded from main at fcca0fe (issues 12, 14c, 15 and 17 merged), without
issue 13's changes, with ``PYTHONPATH=<that commit's src>:.``; the merged branch records the
same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

DEMO_NOW = "2022-05-07T23:59"


def _fuelpipe(env: dict[str, str], *args: str, timeout: int) -> str:
    """``fuelpipe *args`` in a subprocess with ``env`` over this one's, as a user runs it, on
    the store's demo clock (no FUELPIPE_NOW); its stdout."""
    env = {**os.environ, **env}
    env.pop("FUELPIPE_NOW", None)
    return subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    ).stdout


def run_demo(db: Path) -> str:
    """``fuelpipe demo --no-serve`` into ``db``; its stdout."""
    # the station sample goes to a lake of its own beside the store, never ./data/lake
    lake = str(db.parent / "lake")
    return _fuelpipe({"FUELPIPE_DB": str(db), "FUELPIPE_LAKE": lake}, "demo", "--no-serve",
                     timeout=900)  # fmt: skip


def run_status(db: Path) -> str:
    """``fuelpipe status --wide`` on the demo's store ``db`` (every count in its own column:
    the table `status` printed by default before session 38); its stdout."""
    return _fuelpipe({"FUELPIPE_DB": str(db)}, "status", "--wide", timeout=300)


def status_table(stdout: str) -> str:
    """The status table of `fuelpipe status` (the demo ends with a summary of it): from its
    title line to its bottom edge."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"\s*\d+ series\s*", line))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("└"))
    return "\n".join(lines[start : end + 1]).rstrip() + "\n"


def _cli() -> Any:
    from fuelpipe.cli import main

    return getattr(main, "cli", None) or main.app  # the Typer object was `app` before


def exports(db: Path) -> dict[str, dict[str, str]]:
    """sha256 of ``fuelpipe export KEY`` in CSV and JSON for every key in the catalog."""
    from fuelpipe.domain.catalog import DEFAULT_CATALOG

    runner, cli = CliRunner(), _cli()
    env = {"FUELPIPE_DB": str(db), "FUELPIPE_NOW": DEMO_NOW}
    digests: dict[str, dict[str, str]] = {}
    for series in DEFAULT_CATALOG:
        digests[series.key] = {}
        for fmt in ("csv", "json"):
            result = runner.invoke(cli, ["export", series.key, "--format", fmt], env=env)
            if result.exit_code != 0:
                raise RuntimeError(f"export {series.key} {fmt}: {result.output}")
            digests[series.key][fmt] = hashlib.sha256(result.stdout.encode()).hexdigest()
    return digests


def record(db: Path) -> dict[str, Any]:
    """Everything the golden file holds, from a finished demo's store."""
    return {"status_table": status_table(run_status(db)), "exports": exports(db)}


def differences(golden: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between a recorded golden and a fresh recording, one line each."""
    out = []
    if golden["status_table"] != now["status_table"]:
        out.append("the status table differs:\n" + now["status_table"])
    for key in sorted(golden["exports"].keys() | now["exports"].keys()):
        for fmt in ("csv", "json"):
            was = golden["exports"].get(key, {}).get(fmt)
            if was != now["exports"].get(key, {}).get(fmt):
                out.append(f"export {key} --format {fmt} differs")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="record the golden JSON here")
    mode.add_argument("--check", type=Path, help="compare a fresh demo with this golden JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "fuelpipe.sqlite"
        run_demo(db)
        fresh = record(db)
    if args.check:
        problems = differences(json.loads(args.check.read_text()), fresh)
        for line in problems:
            print(line)
        print(f"{len(fresh['exports'])} keys: " + (f"{len(problems)} differences" if problems
              else "status table and every export byte-identical"))  # fmt: skip
        return 1 if problems else 0
    args.write.parent.mkdir(parents=True, exist_ok=True)
    args.write.write_text(json.dumps(fresh, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.write}: {len(fresh['exports'])} keys")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
