"""`fuelpipe export -o` to a pipe or a device rather than a file: `/dev/stdout` when the
output is piped, a named pipe, a shell's `>(gzip > prices.csv.gz)`. Such a target cannot be
swapped for a file written beside it, and its content is no file to keep, so it is written
to directly. Before, the export failed with "cannot write /dev/stdout: No such file or
directory" (the pipe resolved to no path), and a named pipe hung it for good: the check that
it was not a SQLite database opened it for reading, which waits for a writer.

Each check is a real subprocess, as a user types it, on a small store of its own.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.models import Record, Status

EXPECTED_CSV = "date,value,status,retry_count\n2022-05-06,4.9,OK,0\n"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = tmp_path / "fuelpipe.sqlite"
    with SqliteStore(db) as s:
        s.put_records([Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)])
    return db


def _export(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", "--now", "2022-05-09", "export", *args],
        env={**os.environ, "FUELPIPE_DB": str(db)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_export_to_dev_stdout_writes_to_the_pipe_it_is(store: Path) -> None:
    done = _export(store, "CURRENCY#USD", "-o", "/dev/stdout")  # capture_output: stdout is a pipe
    assert done.returncode == 0, done.stderr
    assert "error:" not in done.stderr, done.stderr
    assert done.stdout == EXPECTED_CSV


def test_export_to_a_named_pipe_writes_to_its_reader(store: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "prices.csv"
    os.mkfifo(fifo)
    read: list[bytes] = []

    def reader() -> None:
        with fifo.open("rb") as f:  # waits for the export to open it for writing
            read.append(f.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        done = _export(store, "CURRENCY#USD", "-o", str(fifo))
    finally:
        # A reader still waiting for a writer (the export hung and was killed, or wrote
        # nothing): one that opens and closes the pipe ends that wait.
        if thread.is_alive():
            with contextlib.suppress(OSError):  # ENXIO: the reader has just gone
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join()
    assert done.returncode == 0, done.stderr
    assert read == [EXPECTED_CSV.encode()]
    assert fifo.is_fifo()  # still the pipe, not a file swapped in for it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fuelpipe.sqlite", "prices.csv"]


def test_parquet_to_a_pipe_is_refused_before_the_store_is_read(store: Path) -> None:
    """A Parquet writer seeks back over what it wrote: the export failed with pyarrow's
    "lseek failed"; it is refused up front in words, as `-o -` is."""
    done = _export(store, "-f", "parquet", "-s", "CURRENCY#*", "-o", "/dev/stdout")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: --format parquet writes a file, not a pipe or device"), line


def test_export_to_a_device_writes_to_it_and_leaves_it_a_device(
    store: Path, tmp_path: Path
) -> None:
    """A device node (`-o /dev/null`): the export was written beside it and swapped in,
    replacing the device with a regular file; run by root on /dev/null, that broke /dev/null
    for the whole machine. A null device of the test's own stands in for it."""
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
    except PermissionError:
        pytest.skip("making a device node needs CAP_MKNOD (root)")
    done = _export(store, "CURRENCY#USD", "-o", str(device))
    assert done.returncode == 0, done.stderr
    assert device.is_char_device()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fuelpipe.sqlite", "null"]
