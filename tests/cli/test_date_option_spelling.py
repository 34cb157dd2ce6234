"""A refused date names the option as the user typed it: `status --from 2022-13-01` said
"--since '2022-13-01'", an option they never wrote (``--from`` is ``--since``'s alias; the
outlook's ``--to`` is ``--until``'s, the stations' ``--until`` is ``--to``'s). Given through
neither spelling (an environment default), both are named. The dates are synthetic: bad on
purpose."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fuelpipe.cli.main import _since_by_clock, cli
from fuelpipe.domain.instants import SAO_PAULO


def _refusal(tmp_path: Path, *args: str) -> str:
    """The error of ``fuelpipe ARGS`` on a store not made yet (refused before opening it)."""
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    done = CliRunner().invoke(cli, ["--now", "2022-05-07T12:00", *args], env=env)
    assert done.exit_code == 2, done.output
    assert not (tmp_path / "s.sqlite").exists()
    return " ".join(done.output.split())  # (the console wraps its lines)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["status", "--from", "2022-13-01"], "--from '2022-13-01' is not a date"),
        (["status", "--since", "2022-13-01"], "--since '2022-13-01' is not a date"),
        (["status", "--from=2022-02-30"], "--from '2022-02-30' is not a date"),
        (["run", "-s", "CURRENCY#USD", "--from", "31/12/2021"], "--from '31/12/2021' is not"),
        # the last spelling given is the one click takes, and the one named
        (["status", "--since", "2022-01-01", "--from", "x"], "--from 'x' is not a date"),
        (["outlook", "backtest", "--until", " 31/12/2021"], "--until ' 31/12/2021' is not"),
        (["outlook", "backtest", "--since", "2022-1-32"], "--since '2022-1-32' is not"),
        # a window given backwards names its two ends as typed too (it said --from/--to, or
        # --since/--until, whichever spelling was typed)
        (
            ["outlook", "backtest", "--since", "2022-01-01", "--until", "2021-12-31"],
            "--since 2022-01-01 is after --until 2021-12-31",
        ),
        (
            ["outlook", "backtest", "--from", "2022-01-01", "--until", "2021-12-31"],
            "--from 2022-01-01 is after --until 2021-12-31",
        ),
        (
            ["stations", "reconcile", "--from", "2022-01-01", "--to", "2021-12-31"],
            "--from 2022-01-01 is after --to 2021-12-31",
        ),
        (
            ["stations", "query", "state_weekly", "--since=2022-01-01", "--to=2021-12-31"],
            "--since 2022-01-01 is after --to 2021-12-31",
        ),
    ],
)
def test_a_bad_date_is_named_as_typed(tmp_path: Path, args: list[str], named: str) -> None:
    assert named in _refusal(tmp_path, *args)


def test_a_date_after_the_clock_is_named_as_typed(tmp_path: Path) -> None:
    said = _refusal(tmp_path, "run", "-s", "CURRENCY#USD", "--from", "2023-01-02")

    assert (
        "--from 2023-01-02 is after the clock (2022-05-07): run looks for gaps from --from" in said
    )
    assert "give --from 2022-05-07 or earlier" in said
    assert "--since" not in said


def test_a_date_more_than_a_year_ahead_is_named_as_typed(tmp_path: Path) -> None:
    said = _refusal(tmp_path, "outlook", "backtest", "--to", "2030-01-01")

    assert "--to 2030-01-01" in said and "--until" not in said


def test_since_is_read_once_by_the_caller() -> None:
    """The caller reads --since and hands the date over (it was read a second time inside)."""
    now = datetime(2022, 5, 7, 12, tzinfo=SAO_PAULO)

    assert _since_by_clock(date(2022, 1, 3), now, "run looks for gaps", "look for") == date(
        2022, 1, 3
    )
    assert _since_by_clock(None, now, "run looks for gaps", "look for") is None
