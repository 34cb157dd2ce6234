"""A store in a folder the user cannot write to (a read-only mount, a colleague's folder, a
published snapshot): every command that only reads reads it, and one that writes is refused
up front naming the folder. SQLite cannot create a WAL store's -shm index there, which its
plain open needs: every reading command failed with "unable to open database file".

Real subprocesses on a copy of the demo store whose folder is made read-only: ``chmod`` for an
ordinary user, the immutable attribute for root (whom modes do not stop).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.e2e.conftest import fuelpipe

READERS = {
    "status": ["status", "-s", "CURRENCY#USD", "--json"],
    "export": ["export", "CURRENCY#USD", "-f", "json"],
    "quarantine list": ["quarantine", "list", "--json"],
    "quarantine set-aside": ["quarantine", "set-aside", "--json"],
    "dlq list": ["dlq", "list", "--json"],
    "repair": ["repair", "--json"],
    "outlook show": ["outlook", "show", "--json"],
    "stations reconcile": ["stations", "reconcile"],
}


def _read_only(folder: Path, on: bool) -> bool:
    """Make ``folder`` (not its files) read-only, or writable again; False when it cannot."""
    if os.geteuid() != 0:
        folder.chmod(0o555 if on else 0o755)
        return True
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    flag = "+i" if on else "-i"
    done = subprocess.run([chattr, flag, str(folder)], capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture(scope="module")
def locked_store(demo_store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A copy of the demo store in a folder made read-only; its environment."""
    env, _rows, _out = demo_store
    source = Path(env["FUELPIPE_DB"])
    folder = tmp_path_factory.mktemp("ro") / "store"
    shutil.copytree(source.parent, folder)
    with _locked(folder):
        yield {"FUELPIPE_DB": str(folder / source.name), "FUELPIPE_LAKE": str(folder / "lake")}


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """``folder`` read-only for the block; the test is skipped where it cannot be made so."""
    if not _read_only(folder, True):
        pytest.skip("cannot make a folder read-only here")
    if os.access(folder, os.W_OK):
        _read_only(folder, False)
        pytest.skip("this user can write to any folder")
    try:
        yield
    finally:
        _read_only(folder, False)


@pytest.mark.parametrize("name", list(READERS))
def test_a_reading_command_reads_a_store_in_a_read_only_folder(
    name: str, locked_store: dict[str, str]
) -> None:
    folder = Path(locked_store["FUELPIPE_DB"]).parent
    before = sorted(p.name for p in folder.iterdir())
    done = fuelpipe(*READERS[name], env=locked_store, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "error:" not in done.stderr, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == before  # no -wal, no -shm


def test_status_reads_the_values_of_a_store_in_a_read_only_folder(
    locked_store: dict[str, str],
) -> None:
    import json

    done = fuelpipe("status", "-s", "CURRENCY#USD", "--json", env=locked_store)
    (row,) = json.loads(done.stdout)
    assert row["key"] == "CURRENCY#USD" and row["present"] > 1000


@pytest.mark.parametrize(
    "args",
    [["run", "-s", "CURRENCY#USD"], ["quarantine", "release", "CURRENCY#USD", "2022-01-03"]],
    ids=["run", "quarantine release"],
)
def test_a_writing_command_names_the_read_only_folder(
    args: list[str], locked_store: dict[str, str]
) -> None:
    db = Path(locked_store["FUELPIPE_DB"])
    done = fuelpipe(*args, env=locked_store, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert line.startswith("error:") and f"folder {db.parent} is read-only" in line, line
    assert "unable to open database file" not in line


def test_writes_still_in_the_wal_of_a_store_in_a_read_only_folder_are_read_or_refused(
    tmp_path: Path,
) -> None:
    """A writer connected to the store (its -wal and -shm beside it) while the folder is
    read-only to this user: what it committed is read, through its -shm. A -wal left without
    its -shm cannot be read there: refused in words, naming the file and what to do."""
    from fuelpipe.adapters.sqlite_store import connect

    live, orphan = tmp_path / "live", tmp_path / "orphan"
    live.mkdir()
    orphan.mkdir()
    writer = sqlite3.connect(live / "s.sqlite", isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute("PRAGMA wal_autocheckpoint = 0")  # the rows stay in the -wal
        writer.execute("CREATE TABLE items (n)")
        writer.execute("INSERT INTO items VALUES (1), (2), (3)")
        for name in ("s.sqlite", "s.sqlite-wal"):  # as a copy without the -shm would be
            shutil.copy(live / name, orphan / name)
        if not (_read_only(live, True) and _read_only(orphan, True)):
            pytest.skip("cannot make a folder read-only here")
        try:
            reader = connect(live / "s.sqlite", "", read_only=True)
            assert reader.execute("SELECT count(*) FROM items").fetchone() == (3,)
            reader.close()
            with pytest.raises(sqlite3.OperationalError) as refused:
                connect(orphan / "s.sqlite", "", read_only=True)
            assert str(orphan / "s.sqlite") in str(refused.value)
            assert "s.sqlite-wal" in str(refused.value) and "writable" in str(refused.value)
        finally:
            _read_only(live, False)
            _read_only(orphan, False)
    finally:
        writer.close()


def test_the_dashboards_intraday_and_alert_readers_read_a_store_in_a_read_only_folder(
    demo_store, tmp_path: Path
) -> None:
    """What the dashboard reads beside the store (its intraday points, the active alerts),
    written there before its folder was made read-only: the demo store holds neither, and a
    reader of a table never created answers empty without reading anything. The points are
    the real PTAX windows of the windows file's last day; the alert is synthetic (the demo
    raises none)."""
    from datetime import date, datetime

    from fuelpipe.adapters.alerts import SqliteAlertReader, SqliteAlertState
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.intraday_store import SqliteIntradayStore
    from fuelpipe.domain.alerts import ActiveAlert, Condition, Severity
    from fuelpipe.domain.instants import SAO_PAULO
    from fuelpipe.domain.intraday import IntradayPoint
    from fuelpipe.replay.snapshot_data import WINDOW_HOURS, Snapshot

    env, _rows, _out = demo_store
    source = Path(env["FUELPIPE_DB"])
    folder = tmp_path / "store"
    shutil.copytree(source.parent, folder)
    db = folder / source.name
    day = date(2023, 9, 28)
    kinds = ("Abertura", "Intermediário", "Intermediário", "Intermediário")
    windows = Snapshot().ptax_windows()[day]
    points = [
        IntradayPoint("CURRENCY#USD", datetime(2023, 9, 28, hour, tzinfo=SAO_PAULO), kind, value)
        for hour, kind, value in zip(WINDOW_HOURS, kinds, windows, strict=True)
    ]
    writer = SqliteIntradayStore(db)
    try:
        assert writer.put_points(points).written == 4
    finally:
        writer.close()
    now = datetime(2023, 9, 28, 23, 59, tzinfo=SAO_PAULO)
    stale = Condition("synthetic_stale", "bcb", "synthetic: no PTAX bulletin since 13:00",
                      {"series": "CURRENCY#USD"}, Severity.WARNING)  # fmt: skip
    state = SqliteAlertState(db, clock=FixedClock(now))
    try:
        assert state.load() == {}
        state.save({stale.id: ActiveAlert(stale, now)})
    finally:
        state.close()

    with _locked(folder):
        reader = SqliteIntradayStore(db, read_only=True)
        try:
            assert reader.day("CURRENCY#USD", day, now) == points
        finally:
            reader.close()
        assert SqliteAlertReader(db).load() == {stale.id: ActiveAlert(stale, now)}
