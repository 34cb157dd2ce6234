"""`fuelpipe outlook backtest --history PATH` with a PATH that does not exist said "no bundled
history found in PATH: need ... (run from a fuelpipe checkout or pass --history DIR)": it did not
say the path is not there, and told the user to pass the option they had just passed. Now a
missing path is named as no such folder, and a folder given that lacks the files is told to pass
the folder holding them, not --history DIR."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fuelpipe.cli.main import cli


def _error(*args: str) -> str:
    done = CliRunner().invoke(cli, ["outlook", "backtest", *args, "--json"])
    assert done.exit_code == 2, done.output
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    return " ".join(done.stderr.split())  # (the console wraps its lines)


def test_a_history_path_that_does_not_exist_is_named_as_no_such_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-history"
    message = _error("--history", str(missing))
    assert f"error: --history {missing}: no such folder" in message
    assert "pass --history" not in message
    assert not missing.exists()


def test_a_history_folder_without_the_files_does_not_ask_for_history_again(
    tmp_path: Path,
) -> None:
    message = _error("--history", str(tmp_path))
    assert f"no bundled history found in {tmp_path}: need anp/" in message
    assert "pass the folder holding them" in message
    assert "pass --history" not in message
