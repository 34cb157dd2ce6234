"""`fuelpipe stations ingest FILE` of a file that is not ANP station data printed "station files
ingested: 1/1" above the `error:` line saying the file was rejected (exit 1): the progress
line claimed an ingest that did not happen. It counts the files read now. Synthetic file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fuelpipe.cli.main import cli

pytest.importorskip("duckdb")


def test_a_rejected_file_is_not_counted_as_ingested(tmp_path: Path) -> None:
    given = tmp_path / "not-stations.csv"
    given.write_text("a;b;c\n1;2;3\n")
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    done = CliRunner().invoke(cli, ["stations", "ingest", str(given)], env=env)
    assert done.exit_code == 1, done.output
    assert "not ANP station data" in done.stderr
    progress = [line for line in done.stdout.splitlines() if line.startswith("station files")]
    assert [line.split(" in ")[0] for line in progress] == ["station files read: 1/1"]
