"""`fuelpipe status --json | head -1`: the reader is gone before the output is, and the command
stops quietly with the status a process killed by SIGPIPE has (141, as `cat` or `yes` would),
no traceback and no error line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--json"],  # print
        ["status"],  # rich
        ["export", "CURRENCY#USD"],  # write
        ["--help"],  # typer's own rich console, while the root's options are parsed
        ["status", "--help"],
    ],
    ids=["json", "table", "csv", "help", "command help"],
)
def test_a_reader_that_went_away_stops_the_command_quietly(demo_store, args) -> None:
    env, _rows, _out = demo_store
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone: every write to the pipe fails
    try:
        done = subprocess.run(
            [sys.executable, "-m", "fuelpipe.cli", *args],
            env={**os.environ, **env},
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == EXIT_BROKEN_PIPE, done.stderr
    assert [line for line in done.stderr.splitlines() if not line.startswith("note:")] == []
