"""`fuelpipe --version` says which fuelpipe this is: the package's own version (pyproject's,
as installed), which ``fuelpipe.__version__`` also gives, and nothing else is run."""

from __future__ import annotations

from importlib.metadata import version

from typer.testing import CliRunner

import fuelpipe
from fuelpipe.cli.main import cli


def test_version_prints_the_installed_version_and_exits() -> None:
    done = CliRunner().invoke(cli, ["--version"])

    assert done.exit_code == 0, done.output
    assert done.output == f"fuelpipe {version('fuelpipe')}\n"
    assert fuelpipe.__version__ == version("fuelpipe")


def test_version_is_listed_in_help() -> None:
    done = CliRunner().invoke(cli, ["--help"])

    assert "--version" in done.output
