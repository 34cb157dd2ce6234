"""``fuelpipe.open()`` on a store file that is damaged, replaced, missing or not SQLite.

A store damaged past its first page opened without complaint, and its first read raised
SQLite's bare "database disk image is malformed", naming no file, where the CLI names it and
says what to do. Now that read raises :class:`fuelpipe.StoreDamaged` with the CLI's line.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.damaged_sqlite import damage_all_but_the_first_page, sound_store_file

import fuelpipe
from fuelpipe.homes import damage_message
from fuelpipe.homes.settings import Settings

NOW = "2022-05-09T12:00:00-03:00"
USD = "CURRENCY#USD"
READS: dict[str, Callable[[Any], object]] = {
    "series": lambda fp: fp.series(USD),
    "wide": lambda fp: fp.wide([USD, "BRENT_BRL"], freq="weekly"),
    "status": lambda fp: fp.status(),
    "indices": lambda fp: fp.indices([USD]),
    "correlations": lambda fp: fp.correlations([USD, "BRENT_BRL"]),
    "lags": lambda fp: fp.lags("GASOLINE"),
    "parity": lambda fp: fp.parity(),
    "regional": lambda fp: fp.regional("GASOLINE"),
}
AGAIN = "then open it again with fuelpipe.open()"


@pytest.mark.parametrize("read", list(READS))
def test_the_first_read_of_a_damaged_store_names_the_file(read: str, tmp_path: Path) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    sound_store_file(db)
    damage_all_but_the_first_page(db)
    content = db.read_bytes()
    # opened: the header and schema page are sound; the first read meets the damage
    with fuelpipe.open(db=db, now=NOW) as fp, pytest.raises(fuelpipe.StoreDamaged) as raised:
        READS[read](fp)
    message = str(raised.value)
    assert message.startswith(f"{db} is damaged (database disk image is malformed; "), message
    assert "SQLite's check of its pages: *** in database main *** Page " in message, message
    assert message.endswith(f"restore it from a backup, {AGAIN}"), message
    assert "\n" not in message, message
    # still the sqlite3 error it was: code catching that goes on catching it
    assert isinstance(raised.value, sqlite3.DatabaseError)
    assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)
    assert db.read_bytes() == content


def test_the_line_is_the_clis_with_the_libraries_advice(tmp_path: Path) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    sound_store_file(db)
    damage_all_but_the_first_page(db)
    with fuelpipe.open(db=db, now=NOW) as fp, pytest.raises(fuelpipe.StoreDamaged) as raised:
        fp.series(USD)
    cli = damage_message(Settings(db=db), raised.value.__cause__ or raised.value)
    assert cli is not None and cli.endswith(": restore it from a backup"), cli
    assert str(raised.value) == f"{cli}, {AGAIN}"


def test_a_backup_moved_over_an_open_store_is_read_once_opened_again(tmp_path: Path) -> None:
    """SQLite reads the file it opened: a backup moved over it (a new file at the path) is not
    read by a Fuelpipe opened before, which goes on meeting the damaged file's pages."""
    db = tmp_path / "fuelpipe.sqlite"
    backup = tmp_path / "backup.sqlite"
    backup.write_bytes(sound_store_file(db, days=1999))
    sound_store_file(db, days=2000)
    damage_all_but_the_first_page(db)
    with fuelpipe.open(db=db, now=NOW) as fp:
        with pytest.raises(fuelpipe.StoreDamaged):
            fp.series(USD)
        os.replace(backup, db)
        with pytest.raises(fuelpipe.StoreDamaged) as raised:
            fp.series(USD)
    message = str(raised.value)
    assert message.startswith(f"{db} was replaced since it was opened"), message
    assert "database disk image is malformed" in message, message
    assert message.endswith("open it again with fuelpipe.open() to read the file now there")
    with fuelpipe.open(db=db, now=NOW) as fp:
        assert len(fp.series(USD)) == 1999


def test_a_file_that_is_not_sqlite_is_refused_by_open_naming_it(tmp_path: Path) -> None:
    db = tmp_path / "prices.csv"
    db.write_bytes(b"date,value\n2022-05-09,4.9\n" * 200)
    content = db.read_bytes()
    with pytest.raises(fuelpipe.StoreDamaged) as raised:
        fuelpipe.open(db=db)
    message = str(raised.value)
    assert message.startswith(f"{db} is not a SQLite file (it does not begin with "), message
    assert message.endswith("check the path, or restore the file from a backup"), message
    assert "\n" not in message, message
    assert db.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prices.csv"]


def test_a_missing_store_or_a_folder_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite"
    with pytest.raises(
        FileNotFoundError, match=f"^no fuelpipe store at {re.escape(str(missing))}: "
    ):
        fuelpipe.open(db=missing)
    with pytest.raises(
        IsADirectoryError, match=f"^{re.escape(str(tmp_path))} is a directory, not "
    ):
        fuelpipe.open(db=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_sound_store_reads_as_before(tmp_path: Path) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    sound_store_file(db, days=10)
    with fuelpipe.open(db=db, now=NOW) as fp:
        assert list(fp.series(USD)["value"]) == [4.9] * 10


def test_an_error_that_is_not_damage_is_raised_as_it_is(tmp_path: Path) -> None:
    """A read through a closed connection (sqlite3.ProgrammingError, a DatabaseError too) on
    a sound store, even one another file was moved over since it was opened: no damage."""
    db = tmp_path / "fuelpipe.sqlite"
    other = tmp_path / "other.sqlite"
    other.write_bytes(sound_store_file(db, days=10))
    fp = fuelpipe.open(db=db, now=NOW)
    os.replace(other, db)
    fp.close()
    with pytest.raises(sqlite3.ProgrammingError) as raised:
        fp.series(USD)
    assert not isinstance(raised.value, fuelpipe.StoreDamaged)
