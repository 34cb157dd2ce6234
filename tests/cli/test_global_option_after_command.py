"""An option of fuelpipe itself typed after the command, as a user adds it to the line they
ran (`fuelpipe run -s CURRENCY#USD --now 2022-05-07T23:59`, the way docs/CLI.md shows the
demo's clock beside a `run`), said only "run: No such option: --now", as if fuelpipe had no
such option, and `status --version` offered unrelated ones ("Possible options: --json,
--since"). Now the one `error:` line says the option is fuelpipe's own and gives the command
line with it before the command. Nothing is run, so no store is made."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuelpipe.cli.main import cli


def _refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.MonkeyPatch.context() as env:  # the environment only, as a shell sets it
        env.setenv("FUELPIPE_DB", str(tmp_path / "s.sqlite"))
        with pytest.raises(SystemExit) as exited:
            cli(args=list(args), prog_name="fuelpipe")
    assert exited.value.code == 2
    assert not (tmp_path / "s.sqlite").exists()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["run", "-s", "FUEL#*#SP", "--now", "2022-05-07T23:59", "--since", "2022-01-01"],
            "error: --now is an option of fuelpipe itself, not of `run`: give it before the "
            "command, `fuelpipe --now 2022-05-07T23:59 run -s 'FUEL#*#SP' --since 2022-01-01`",
        ),
        (
            ["outlook", "show", "--now=2022-05-07"],
            "error: --now is an option of fuelpipe itself, not of `outlook show`: give it "
            "before the command, `fuelpipe --now=2022-05-07 outlook show`",
        ),
        (
            ["status", "--simulate-future"],
            "error: --simulate-future is an option of fuelpipe itself, not of `status`: give "
            "it before the command, `fuelpipe --simulate-future status`",
        ),
        (
            ["status", "--version"],
            "error: --version is an option of fuelpipe itself, not of `status`: give it "
            "before the command, `fuelpipe --version`",
        ),
    ],
)
def test_a_global_option_after_the_command_says_where_it_goes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    assert _refusal(tmp_path, capsys, *args) == said


def test_an_option_no_command_has_is_still_click_s_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _refusal(tmp_path, capsys, "status", "--bogus") == (
        "error: status: No such option: --bogus. Try 'fuelpipe status --help' for help."
    )
