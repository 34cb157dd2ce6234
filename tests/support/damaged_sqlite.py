"""A store file damaged past its first page, as a disk or a copy gone wrong leaves one."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.models import Record, Status

PAGE = 4096


def damage_all_but_the_first_page(db: Path) -> None:
    """Every page of ``db`` but the first (the schema) overwritten: the file opens, and its
    first read of a table finds it malformed."""
    data = bytearray(db.read_bytes())
    assert len(data) > 4 * PAGE and len(data) % PAGE == 0
    data[PAGE:] = b"\xff" * (len(data) - PAGE)
    db.write_bytes(bytes(data))


def sound_store_file(db: Path, days: int = 2000) -> bytes:
    """A store at ``db`` holding ``days`` daily USD values from 2020-01-01, every page in the
    file (none in a -wal); returns its bytes, to damage it and restore it later."""
    with SqliteStore(db) as store:
        first = date(2020, 1, 1)
        store.put_records(
            [
                Record("CURRENCY#USD", first + timedelta(days=n), Decimal("4.9"), Status.OK)
                for n in range(days)
            ]
        )
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    return db.read_bytes()
