"""`fuelpipe --now "$AS_OF" run` with AS_OF unset (`--now ''`) ran on this machine's clock, as
if no --now had been given: a script meant to fill a store up to a fixed instant filled it up
to today instead (a first run on a new store: decades). A blank --now is now refused, as a
blank -o, --host or --series is, and a blank FUELPIPE_NOW (' ') is named as blank, not as
"'' is not an ISO 8601 date". An empty FUELPIPE_NOW is unset, as for any environment
variable typer reads. Synthetic store path; no source is reached (a closed local port)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fuelpipe.cli.main import cli

RUN = ["run", "-s", "CURRENCY#USD", "--since", "2022-05-01"]


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {
        "FUELPIPE_DB": str(tmp_path / "s.sqlite"),
        "FUELPIPE_SOURCE_BCB_URL": "http://127.0.0.1:9",
        "FUELPIPE_HTTP_ATTEMPTS": "1",
        **more,
    }


@pytest.mark.parametrize(
    ("args", "blank"),
    [(["--now", ""], ""), (["--now", " "], " "), (["--now="], ""), (["--now=\t"], "\t")],
)
def test_a_blank_now_is_refused_and_nothing_is_run(
    args: list[str], blank: str, tmp_path: Path
) -> None:
    done = CliRunner().invoke(cli, [*args, *RUN], env=_env(tmp_path))
    assert done.exit_code == 2, done.output
    assert done.stderr.strip() == (
        f"error: --now is blank ({blank!r}): give an instant (ISO 8601, e.g. "
        "2022-05-07T23:59), or leave --now out (this machine's clock, or a demo store's own)"
    ), done.stderr
    assert list(tmp_path.iterdir()) == []  # no store made, nothing fetched


def test_a_blank_fuelpipe_now_is_named_as_blank(tmp_path: Path) -> None:
    done = CliRunner().invoke(cli, RUN, env=_env(tmp_path, FUELPIPE_NOW=" "))
    assert done.exit_code == 2, done.output
    assert "error: FUELPIPE_NOW is blank (' '): give an instant" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []
