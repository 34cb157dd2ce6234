"""A store or lake whose path cannot be created (under /proc, where no file or folder can be
made) said SQLite's or the system's words alone: "cannot start the embedded home: cannot open
/proc/x.sqlite: unable to open database file", "cannot start the embedded home: [Errno 2] No
such file or directory: '/proc/sub'", "cannot open the lake: [Errno 2] ...". The `error:` line
names the setting and the path now, and what could not be created there (exit 2). As a user
(not root), /proc is refused before, as a read-only folder; these lines are root's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fuelpipe.cli.main import cli

pytestmark = pytest.mark.skipif(
    not Path("/proc/self").is_dir() or os.geteuid() != 0,
    reason="needs /proc, as root (a user is refused up front: a read-only folder)",
)
CLOSED = {f"FUELPIPE_SOURCE_{name}_URL": "http://127.0.0.1:9" for name in ("BCB", "YAHOO")}


@pytest.mark.parametrize(
    ("db", "why"),
    [
        ("/proc/fuelpipe-test.sqlite", "SQLite cannot create the file in /proc (unable to "
         "open database file)"),
        ("/proc/fuelpipe-test/s.sqlite", "cannot create the folder /proc/fuelpipe-test (No "
         "such file or directory)"),
    ],
    ids=["file", "folder"],
)  # fmt: skip
def test_a_store_that_cannot_be_created_names_the_setting(db: str, why: str) -> None:
    done = CliRunner().invoke(
        cli,
        ["--now", "2022-05-07T23:59", "run", "-s", "CURRENCY#USD"],
        env={"FUELPIPE_DB": db, "FUELPIPE_HTTP_ATTEMPTS": "1", **CLOSED},
    )
    assert done.exit_code == 2, done.output
    assert " ".join(done.stderr.split()) == (
        f"error: FUELPIPE_DB {db}: cannot create the store: {why}; point FUELPIPE_DB elsewhere"
    )


def test_a_lake_that_cannot_be_created_names_the_setting(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    given = tmp_path / "stations.csv"
    given.write_text("a;b;c\n")
    lake = "/proc/fuelpipe-test-lake"
    done = CliRunner().invoke(
        cli,
        ["stations", "ingest", str(given)],
        env={"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "FUELPIPE_LAKE": lake},
    )
    assert done.exit_code == 2, done.output
    assert " ".join(done.stderr.split()) == (
        f"error: FUELPIPE_LAKE {lake}: cannot create the lake: cannot create the folder {lake} "
        "(No such file or directory); point FUELPIPE_LAKE elsewhere"
    )


def test_the_demo_names_a_store_it_cannot_create(tmp_path: Path) -> None:
    db = "/proc/fuelpipe-test.sqlite"
    env = {"FUELPIPE_DB": db, "FUELPIPE_LAKE": str(tmp_path / "lake")}
    done = CliRunner().invoke(cli, ["demo", "--no-serve"], env=env)
    assert done.exit_code == 2, done.output
    assert " ".join(done.stderr.split()) == (
        f"error: FUELPIPE_DB {db}: cannot create the store: SQLite cannot create the file in "
        "/proc (unable to open database file); point FUELPIPE_DB elsewhere"
    )


def test_the_demo_names_a_lake_it_cannot_create(tmp_path: Path) -> None:
    """(The demo finds it when it comes to its station sample, its store filled.)"""
    pytest.importorskip("duckdb")
    lake = "/proc/fuelpipe-test-lake"
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "FUELPIPE_LAKE": lake}
    done = CliRunner().invoke(cli, ["demo", "--no-serve"], env=env)
    assert done.exit_code == 2, done.output
    assert " ".join(done.stderr.split()).endswith(
        f"error: FUELPIPE_LAKE {lake}: cannot create the lake: cannot create the folder {lake} "
        "(No such file or directory); point FUELPIPE_LAKE elsewhere"
    ), done.stderr
