"""`fuelpipe export -o`: the file is written beside its target and swapped in, so a write that
fails part-way (a full disk, Ctrl+C) keeps the previous file and leaves nothing behind; the
store and the files beside it are never an output."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuelpipe.cli.output_file import (
    SQLITE_HEADER,
    OutputRefused,
    check_not_a_store,
    write_atomically,
)


def _half_then(error: BaseException):
    def write(temp: Path) -> None:
        temp.write_text("date,value\n2022-01-03,")  # part of the new file
        raise error

    return write


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_write_that_fails_part_way_keeps_the_previous_file(
    error: BaseException, tmp_path: Path
) -> None:
    target = tmp_path / "prices.csv"
    target.write_text("the previous export\n")
    with pytest.raises(type(error)):
        write_atomically(target, _half_then(error))
    assert target.read_text() == "the previous export\n"
    assert list(tmp_path.iterdir()) == [target]


def test_a_write_replaces_the_file_keeping_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "prices.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    write_atomically(target, lambda temp: temp.write_text("new\n"))
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert list(tmp_path.iterdir()) == [target]


def test_a_symlinked_target_has_its_file_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_atomically(link, lambda temp: temp.write_text("new\n"))
    assert link.is_symlink() and real.read_text() == "new\n"


@pytest.mark.parametrize(
    "name",
    [
        "fuelpipe.sqlite",
        "fuelpipe-queue.sqlite",
        "fuelpipe.sqlite-wal",
        "fuelpipe.sqlite-shm",
        "fuelpipe-queue.sqlite-wal",
        "fuelpipe-watch.lock",
    ],
)
def test_the_store_and_its_files_are_refused(name: str, tmp_path: Path) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    with pytest.raises(OutputRefused, match="is the store"):
        check_not_a_store(tmp_path / "sub" / ".." / name, db)


def test_any_sqlite_database_is_refused_and_other_files_are_not(tmp_path: Path) -> None:
    db = tmp_path / "store" / "fuelpipe.sqlite"
    other = tmp_path / "other.db"
    other.write_bytes(SQLITE_HEADER + b"\0" * 100)
    with pytest.raises(OutputRefused, match="SQLite database"):
        check_not_a_store(other, db)
    plain = tmp_path / "prices.csv"
    plain.write_text("SQLite format 3 is not at the start\n")
    check_not_a_store(plain, db)
    check_not_a_store(tmp_path / "new.csv", db)
