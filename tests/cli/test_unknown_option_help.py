"""An option a command does not have (`fuelpipe status --bogus`) said only "status: No such
option: --bogus", with nothing on where the command's options are; click's own usage error
ends "Try 'fuelpipe status --help' for help.", and so does fuelpipe's one line now. Nothing is
run, so no store is made."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuelpipe.cli.main import cli


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["status", "--bogus"], "error: status: No such option: --bogus. Try 'fuelpipe status "
         "--help' for help."),
        (["status", "--jso"], "error: status: No such option: --jso (Possible options: --json). "
         "Try 'fuelpipe status --help' for help."),
        (["stations", "ingest", "--bogus"], "error: stations ingest: No such option: --bogus. "
         "Try 'fuelpipe stations ingest --help' for help."),
    ],
    ids=["status", "close to one", "a group's command"],
)  # fmt: skip
def test_an_unknown_option_points_to_the_command_s_help(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.MonkeyPatch.context() as env:  # the environment only, as a shell sets it
        env.setenv("FUELPIPE_DB", str(tmp_path / "s.sqlite"))
        env.setenv("FUELPIPE_LAKE", str(tmp_path / "lake"))
        with pytest.raises(SystemExit) as exited:
            cli(args=args, prog_name="fuelpipe")  # as `fuelpipe` runs it (its usage errors)
    assert exited.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines == [said]
    assert list(tmp_path.iterdir()) == []
