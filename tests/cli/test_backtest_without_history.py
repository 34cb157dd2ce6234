"""`fuelpipe outlook backtest` asked only for series the history folder does not hold (the
bundled states' files carry gasoline and ethanol alone): it printed an empty table, a `note:`
per series and exited 0, as if the backtest had run. Now one `error:` line names what is
missing and what the folder does hold, exit 1. Some missing among others stay a note each
(the default fuels include ones the states' files lack). Real bundled history."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fuelpipe.cli.main import cli

DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def _backtest(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(
        cli, ["outlook", "backtest", "--history", str(DATASETS), "--from", "2025-01-01", *args]
    )
    return done.exit_code, done.stdout, done.stderr


def test_nothing_asked_has_history_is_one_error_exit_1() -> None:
    for extra in ((), ("--json",)):
        code, out, err = _backtest("-a", "SP", "-f", "LPG", "-f", "DIESEL", *extra)
        assert code == 1, out + err
        assert out == ""  # no empty table, no `[]` passed off as a backtest
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines == [
            f"error: no history for FUEL#LPG#SP, FUEL#DIESEL#SP in {DATASETS}: nothing to "
            "backtest (SP's history holds GASOLINE, ETHANOL)"
        ], err


def test_some_asked_without_history_are_a_note_each_and_the_rest_is_scored() -> None:
    code, out, err = _backtest("-a", "SP", "-f", "LPG", "-f", "GASOLINE", "--json")
    assert code == 0, out + err
    assert f"note: no history for FUEL#LPG#SP in {DATASETS}; skipped" in err
    assert "error:" not in err
    assert out.count('"fuel": "GASOLINE"') == 5  # horizons 1 to 5
