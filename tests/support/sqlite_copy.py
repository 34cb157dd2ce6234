"""A test's own copy of a SQLite file that other tests share (built once, copied per test)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def sqlite_copy(source: Path, target: Path) -> Path:
    """``source`` copied to ``target`` through SQLite's backup (a -wal's pages included);
    returns ``target``."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target
