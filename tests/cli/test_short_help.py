"""`fuelpipe status -h` said "No such option: -h": only `--help` was taken. `-h` is `--help` now
for fuelpipe and every group and command under it (none has an option -h of its own). Nothing
is run, so no store is made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from fuelpipe.cli.main import cli


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        yield from _commands(sub, (*path, name))


def test_every_command_takes_h_for_help(tmp_path: Path) -> None:
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    runner = CliRunner()
    commands = list(_commands(typer.main.get_command(cli)))
    assert len(commands) > 20  # the whole tree, groups too
    for path, command in commands:
        opts = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        assert "-h" not in opts, path  # no option of its own would be shadowed
        long = runner.invoke(cli, [*path, "--help"], env=env, prog_name="fuelpipe")
        short = runner.invoke(cli, [*path, "-h"], env=env, prog_name="fuelpipe")
        assert long.exit_code == 0, (path, long.output)
        assert (short.exit_code, short.output) == (0, long.output), path
        assert "Usage: fuelpipe" in short.output, path
    assert list(tmp_path.iterdir()) == []
