"""A store file cut short (a copy or download stopped part-way: SQLite's header sound, its
later pages gone) said, for every command: "X is damaged (X is not a usable SQLite file (a
fuelpipe store or queue): database disk image is malformed; SQLite's check of its pages:
database disk image is malformed): restore it from a backup", the path twice and SQLite's
words twice. Its opening and SQLite's check of it fail alike, so the line now says them once,
naming the path once. Synthetic store (tests/support/damaged_sqlite.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.damaged_sqlite import PAGE, sound_store_file
from typer.testing import CliRunner

from fuelpipe.cli.main import cli


@pytest.mark.parametrize(
    "args",
    [["status"], ["export", "CURRENCY#USD"], ["quarantine", "list"]],
    ids=["status", "export", "quarantine list"],
)
def test_a_store_cut_short_is_named_once_with_sqlites_words_once(
    args: list[str], tmp_path: Path
) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    whole = sound_store_file(db)
    db.write_bytes(whole[: len(whole) // 2 // PAGE * PAGE])  # the first half of its pages
    content = db.read_bytes()
    done = CliRunner().invoke(cli, ["--now", "2022-05-09", *args], env={"FUELPIPE_DB": str(db)})
    assert done.exit_code == 2, done.output
    line = " ".join(done.stderr.split())  # (the console wraps its lines)
    assert line == (
        f"error: {db} is damaged (SQLite's check of its pages: database disk image is "
        "malformed): restore it from a backup"
    ), line
    assert db.read_bytes() == content  # a reading command changed nothing
