"""One real demo run per test session, shared by the end-to-end checks."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from tests.e2e.read_only import ReadOnly, cleanup, read_only_here
from tests.support.sqlite_copy import sqlite_copy

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
    runner: Sequence[str] = (),
):
    """Run the real CLI in a subprocess, as a user would (in ``cwd``: default this one;
    through ``runner``, e.g. as another user: :attr:`tests.e2e.read_only.ReadOnly.runner`)."""
    return subprocess.run(
        [*runner, sys.executable, "-m", "fuelpipe.cli", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )


def on_terminal(*args: str, env: dict[str, str], columns: int, timeout: float = 300) -> str:
    """Run the real CLI on a terminal ``columns`` wide (a pseudo-terminal: the CLI sizes its
    tables to it, where through a pipe it prints 150 wide); its output, without colours."""
    primary, secondary = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "fuelpipe.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
        env={**os.environ, **env, "COLUMNS": str(columns), "NO_COLOR": "1"},
    ) as cli:
        os.close(secondary)
        seen = bytearray()
        try:
            while chunk := _read(primary):
                seen += chunk
        finally:
            os.close(primary)
        assert cli.wait(timeout) == 0, seen.decode(errors="replace")
    return re.sub(r"\x1b\[[0-9;]*m", "", seen.decode()).replace("\r\n", "\n")


def _read(fd: int) -> bytes:
    """The terminal's next output; b"" once the CLI closed it (Linux raises EIO then)."""
    try:
        return os.read(fd, 65536)
    except OSError:
        return b""


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
    db = sqlite_copy(Path(env["FUELPIPE_DB"]), tmp_path / "copy.sqlite")
    return {"FUELPIPE_DB": str(db)}


@pytest.fixture(scope="session")
def read_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadOnly]:
    """How this host makes a folder read-only to a reader (see :mod:`tests.e2e.read_only`)."""
    how = read_only_here(tmp_path_factory.mktemp("read-only"))
    try:
        yield how
    finally:
        cleanup(how)
