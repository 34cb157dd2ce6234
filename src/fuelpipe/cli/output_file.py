"""Where `fuelpipe export -o` may write, and how: never over the store or a file beside it that
the store needs, and never leaving a half-written file (or destroying the previous one) when
the write fails part-way."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from fuelpipe.homes.settings import queue_file

SQLITE_HEADER = b"SQLite format 3\0"
"""The first 16 bytes of every SQLite database file."""


class OutputRefused(Exception):
    """Why the output path is refused, in one line."""


def store_files(db: Path) -> list[Path]:
    """The store's file and every file fuelpipe or SQLite keeps beside it (resolved)."""
    db = db.resolve()
    queue = queue_file(db)
    files = [db, queue, db.with_name(db.stem + "-watch.lock")]
    for base in (db, queue):
        files += [base.with_name(base.name + s) for s in ("-wal", "-shm", "-journal")]
    return files


def is_stream(path: Path) -> bool:
    """Whether ``path`` is there and neither a regular file nor a folder: a pipe (`-o
    /dev/stdout` piped on, a named pipe, a shell's ``>(gzip > f.gz)``) or a device. It is
    written to as it is: it cannot be swapped for a file written beside it, and what it held
    is no file to keep. Its link is followed (``/dev/stdout``), not resolved: a pipe's
    target (``pipe:[123]``) is no path."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_not_a_store(output: Path, db: Path) -> None:
    """Refuse ``output`` when it is the store ``db``, one of the files beside it
    (:func:`store_files`), or any existing SQLite database: an export would overwrite it."""
    target = output.resolve()
    if target in store_files(db):
        raise OutputRefused(
            f"--output {output} is the store {db} or a file it needs; give another file name"
        )
    if is_stream(output):  # no database; and reading a pipe would wait for a writer
        return
    try:
        with target.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError:  # missing, or not readable: nothing of ours to protect there
        return
    if head == SQLITE_HEADER:
        raise OutputRefused(
            f"--output {output} is a SQLite database (a fuelpipe store?); an export does not "
            "overwrite one: give another file name"
        )


def write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """Have ``write`` write a new file in ``target``'s folder, then swap it in for
    ``target`` in one step: a write that fails (a full disk, Ctrl+C) leaves the previous
    ``target`` as it was and no partial file behind. The new file keeps the previous one's
    permissions (else the usual ones for a new file). A pipe or a device
    (:func:`is_stream`) is written to directly."""
    if is_stream(target):
        write(target)
        return
    target = target.resolve()  # a symlink's file is replaced, as writing through it would
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        if target.exists():
            os.chmod(temp, stat.S_IMODE(target.stat().st_mode))
        write(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
