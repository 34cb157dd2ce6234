"""One real demo run per test session, shared by the end-to-end checks."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


EMPTY_RUN = ("--now", "2022-01-03", "run", "-s", "CURRENCY#USD", "--since", "2022-01-03")
"""A `fuelpipe run` that creates the store and fetches nothing (nothing is published yet at
midnight of its one day): an empty store, offline."""


def fuelpipe(
    *args: str,
    env: dict[str, str],
    check: bool = True,
    timeout: float = 300,
    cwd: Path | None = None,
):
    """Run the real CLI in a subprocess, as a user would (in ``cwd``: default this one)."""
    return subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A store :data:`EMPTY_RUN` made (offline, nothing in it); returns its environment."""
    folder = tmp_path_factory.mktemp("empty")
    env = {"FUELPIPE_DB": str(folder / "s.sqlite"), "FUELPIPE_LAKE": str(folder / "lake")}
    fuelpipe(*EMPTY_RUN, env=env)
    return env


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory):
    """`fuelpipe demo --no-serve` into a fresh store; returns (env, status rows, stdout)."""
    db = tmp_path_factory.mktemp("demo") / "fuelpipe.sqlite"
    env = {"FUELPIPE_DB": str(db), "FUELPIPE_LAKE": str(db.parent / "lake")}
    out = fuelpipe("demo", "--no-serve", env=env)
    rows = json.loads(fuelpipe("--now", "2022-05-07T23:59", "status", "--json", env=env).stdout)
    return env, rows, out.stdout


def store_copy(demo_store, tmp_path) -> dict[str, str]:
    """A copy of the demo store (other tests share it) and the environment naming it."""
    env, _, _ = demo_store
    db = tmp_path / "copy.sqlite"
    with sqlite3.connect(env["FUELPIPE_DB"]) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    return {"FUELPIPE_DB": str(db)}
