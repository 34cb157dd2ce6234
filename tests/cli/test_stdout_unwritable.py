"""`fuelpipe status --json > /dev/full`: a standard output that cannot be written (a full disk)
said "`fuelpipe status` failed: OSError: [Errno 28] ... (rerun with --debug for the
traceback)", exit 1, as if fuelpipe had a bug. It is one `error:` line naming the output and the
system's reason now, exit 2, as `export -o /dev/full` is, for every command (the root command
catches it), and for help and --version too. (A reader gone, `| head -1`, stays the quiet 141:
tests/e2e/test_broken_pipe.py.) Synthetic store (tests/support/damaged_sqlite.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.damaged_sqlite import sound_store_file

FULL = Path("/dev/full")


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full here")
@pytest.mark.parametrize(
    "args",
    [
        ["--now", "2022-05-09", "status", "--json"],  # print
        ["--now", "2022-05-09", "status"],  # rich
        ["export", "CURRENCY#USD"],  # sys.stdout.write
        ["status", "--help"],  # typer's console, while the command's options are parsed
        ["--version"],  # while the root's options are parsed
    ],
    ids=["json", "table", "csv", "help", "version"],
)
def test_an_output_that_cannot_be_written_is_named_in_one_line(
    args: list[str], tmp_path: Path
) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    sound_store_file(db, days=30)
    with FULL.open("w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "fuelpipe.cli", *args],
            env={**os.environ, "FUELPIPE_DB": str(db)},
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "error: cannot write the standard output: No space left on device"
    ], done.stderr


@pytest.mark.parametrize(
    "args",
    [["--now", "2022-05-09", "status", "--json"], ["status", "--help"]],
    ids=["json", "help"],
)
def test_a_closed_output_is_named_in_one_line(args: list[str], tmp_path: Path) -> None:
    """`fuelpipe status >&-`: Python starts with no sys.stdout (None), and the import of the
    command line itself failed on it (AttributeError: 'NoneType' object has no attribute
    'isatty', a traceback, exit 1)."""
    db = tmp_path / "fuelpipe.sqlite"
    sound_store_file(db, days=30)
    done = subprocess.run(
        ["bash", "-c", 'exec "$0" -m fuelpipe.cli "$@" >&-', sys.executable, *args],
        env={**os.environ, "FUELPIPE_DB": str(db)},
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["error: cannot write the standard output: it is closed"], (
        done.stderr
    )
