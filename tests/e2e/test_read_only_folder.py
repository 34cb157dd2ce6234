"""A store in a folder the user cannot write to (a read-only mount, a colleague's folder, a
published snapshot): every command that only reads reads it, and one that writes is refused
up front naming the folder. SQLite cannot create a WAL store's -shm index there, which its
plain open needs: every reading command failed with "unable to open database file".

Real subprocesses on a copy of the demo store whose folder is made read-only to them
(``chmod``; for root the immutable attribute, or where root may not set it, the reader runs
as ``nobody``: see :mod:`tests.e2e.read_only`).
"""

from __future__ import annotations

import json
import pickle
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from tests.e2e.conftest import fuelpipe
from tests.e2e.read_only import ReadOnly
from tests.support.sqlite_copy import sqlite_copy

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


@pytest.fixture(scope="module")
def locked_store(demo_store, read_only: ReadOnly) -> Iterator[dict[str, str]]:
    """A copy of the demo store in a folder made read-only; its environment."""
    env, _rows, _out = demo_store
    source = Path(env["FUELPIPE_DB"])
    folder = read_only.folder("ro") / "store"
    shutil.copytree(source.parent, folder)
    with read_only.locked(folder):
        yield {"FUELPIPE_DB": str(folder / source.name), "FUELPIPE_LAKE": str(folder / "lake")}


@pytest.mark.parametrize("name", list(READERS))
def test_a_reading_command_reads_a_store_in_a_read_only_folder(
    name: str, locked_store: dict[str, str], read_only: ReadOnly
) -> None:
    folder = Path(locked_store["FUELPIPE_DB"]).parent
    before = sorted(p.name for p in folder.iterdir())
    done = fuelpipe(*READERS[name], env=locked_store, check=False, runner=read_only.runner)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "error:" not in done.stderr, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == before  # no -wal, no -shm


def test_status_reads_the_values_of_a_store_in_a_read_only_folder(
    locked_store: dict[str, str], read_only: ReadOnly
) -> None:
    done = fuelpipe(
        "status", "-s", "CURRENCY#USD", "--json", env=locked_store, runner=read_only.runner
    )
    (row,) = json.loads(done.stdout)
    assert row["key"] == "CURRENCY#USD" and row["present"] > 1000


@pytest.mark.parametrize(
    "args",
    [["run", "-s", "CURRENCY#USD"], ["quarantine", "release", "CURRENCY#USD", "2022-01-03"]],
    ids=["run", "quarantine release"],
)
def test_a_writing_command_names_the_read_only_folder(
    args: list[str], locked_store: dict[str, str], read_only: ReadOnly
) -> None:
    db = Path(locked_store["FUELPIPE_DB"])
    done = fuelpipe(*args, env=locked_store, check=False, runner=read_only.runner)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert line.startswith("error:") and f"folder {db.parent} is read-only" in line, line
    assert "unable to open database file" not in line


WAL_READER = """
import json, sqlite3, sys
from pathlib import Path
from fuelpipe.adapters.sqlite_store import connect

reader = connect(Path(sys.argv[1]), "", read_only=True)
count = reader.execute("SELECT count(*) FROM items").fetchone()[0]
reader.close()
try:
    connect(Path(sys.argv[2]), "", read_only=True)
except sqlite3.OperationalError as exc:
    refused = str(exc)
else:
    refused = None
print(json.dumps({"count": count, "refused": refused}))
"""
"""Read the live store, then open the orphaned -wal's: what each gave, as JSON."""


def test_writes_still_in_the_wal_of_a_store_in_a_read_only_folder_are_read_or_refused(
    read_only: ReadOnly,
) -> None:
    """A writer connected to the store (its -wal and -shm beside it) while the folder is
    read-only to a reader: what it committed is read, through its -shm. A -wal left without
    its -shm cannot be read there: refused in words, naming the file and what to do."""
    tmp = read_only.folder("wal")
    live, orphan = tmp / "live", tmp / "orphan"
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
        with read_only.locked(live), read_only.locked(orphan):
            done = read_only.python(WAL_READER, str(live / "s.sqlite"), str(orphan / "s.sqlite"))
        assert done.returncode == 0, done.stderr.decode()
        read = json.loads(done.stdout)
        assert read["count"] == 3
        refused = read["refused"]
        assert refused is not None and str(orphan / "s.sqlite") in refused, refused
        assert "s.sqlite-wal" in refused and "writable" in refused, refused
    finally:
        writer.close()


DASHBOARD_READERS = """
import pickle, sys
from fuelpipe.adapters.alerts import SqliteAlertReader
from fuelpipe.adapters.intraday_store import SqliteIntradayStore

db, key, day, now = pickle.loads(sys.stdin.buffer.read())
reader = SqliteIntradayStore(db, read_only=True)
try:
    points = reader.day(key, day, now)
finally:
    reader.close()
sys.stdout.buffer.write(pickle.dumps((points, SqliteAlertReader(db).load())))
"""
"""The dashboard's intraday points of a day and its active alerts, pickled."""


def test_the_dashboards_intraday_and_alert_readers_read_a_store_in_a_read_only_folder(
    demo_store, read_only: ReadOnly
) -> None:
    """What the dashboard reads beside the store (its intraday points, the active alerts),
    written there before its folder was made read-only: the demo store holds neither, and a
    reader of a table never created answers empty without reading anything. The points are
    the real PTAX windows of the windows file's last day; the alert is synthetic (the demo
    raises none)."""
    from datetime import date, datetime

    from fuelpipe.adapters.alerts import SqliteAlertState
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.intraday_store import SqliteIntradayStore
    from fuelpipe.domain.alerts import ActiveAlert, Condition, Severity
    from fuelpipe.domain.instants import SAO_PAULO
    from fuelpipe.domain.intraday import IntradayPoint
    from fuelpipe.replay.snapshot_data import WINDOW_HOURS, Snapshot

    env, _rows, _out = demo_store
    source = Path(env["FUELPIPE_DB"])
    folder = read_only.folder("dashboard") / "store"
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

    with read_only.locked(folder):
        asked = pickle.dumps((db, "CURRENCY#USD", day, now))
        done = read_only.python(DASHBOARD_READERS, stdin=asked)
    assert done.returncode == 0, done.stderr.decode()
    read_points, alerts = pickle.loads(done.stdout)
    assert read_points == points
    assert alerts == {stale.id: ActiveAlert(stale, now)}


@pytest.mark.parametrize(
    ("args", "lake_is"),
    [
        (["stations", "ingest"], "missing"),
        (["stations", "ingest"], "read-only"),
        (["stations", "migrate"], "read-only"),
    ],
    ids=["ingest creating it", "ingest", "migrate"],
)
def test_a_command_that_writes_the_lake_names_it_read_only(
    args: list[str], lake_is: str, demo_store, read_only: ReadOnly
) -> None:
    """A lake, or the folder it would be created in, read-only: one sentence naming it and
    what to do, as for the store. Before: ``cannot open the lake: [Errno 30] Read-only file
    system: '…/lake'`` (errno 13 under chmod, 1 under chattr) when the lake was to be created;
    an ingest into a read-only lake whose lock file was there went on to ask ANP's listing."""
    env, _rows, _out = demo_store
    made = read_only.folder("lake")
    if lake_is == "missing":
        locked, lake = made, made / "lake"
    else:  # a copy of the demo's lake, itself read-only
        shutil.copytree(Path(env["FUELPIPE_LAKE"]), made / "lake")
        locked = lake = made / "lake"
    offline = {"FUELPIPE_SOURCE_SHPC_URL": "http://127.0.0.1:9"}  # never the network
    env = {"FUELPIPE_DB": str(made / "fuelpipe.sqlite"), "FUELPIPE_LAKE": str(lake), **offline}
    with read_only.locked(locked):
        done = fuelpipe(*args, env=env, check=False, runner=read_only.runner)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.strip()]
    if lake_is == "missing":
        assert line == (
            f"error: cannot create the lake {lake}: the folder {made} is read-only; point "
            "FUELPIPE_LAKE at a folder you can write to"
        )
        assert not lake.exists()
    else:
        assert line.startswith(f"error: the lake {lake} is read-only; this command writes to it")
        assert "point FUELPIPE_LAKE at a copy you can write to" in line, line
    assert "Errno" not in line and "cannot lock" not in line


@pytest.mark.parametrize("lake_is", ["missing", "read-only"])
def test_the_demo_names_a_read_only_lake_before_it_writes(
    lake_is: str, demo_store, read_only: ReadOnly
) -> None:
    """The demo ingests its station sample into FUELPIPE_LAKE: a read-only one (or a folder it
    cannot create one in) is refused as `stations ingest` refuses it, one line, before the
    demo writes its store. Before, a lake to be created failed after the whole weekly
    pipeline, `PermissionError: [Errno 1] Operation not permitted` (exit 1), and the demo's
    own lake made read-only was let through (exit 0: its files answered 304), where
    `stations ingest` refuses it."""
    env, _rows, _out = demo_store
    made = read_only.folder("demo-lake")
    if lake_is == "missing":
        locked, lake = made, made / "lake"
    else:  # a copy of the demo's own lake (the demo's to fill again), itself read-only
        shutil.copytree(Path(env["FUELPIPE_LAKE"]), made / "lake")
        locked = lake = made / "lake"
    store = read_only.folder("demo-store") / "demo.sqlite"
    env = {"FUELPIPE_DB": str(store), "FUELPIPE_LAKE": str(lake), "COLUMNS": "300"}
    with read_only.locked(locked):
        done = fuelpipe("demo", "--no-serve", env=env, check=False, runner=read_only.runner)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.strip()]
    if lake_is == "missing":
        assert line == (
            f"error: cannot create the lake {lake}: the folder {made} is read-only; point "
            "FUELPIPE_LAKE at a folder you can write to"
        )
        assert not lake.exists()
    else:
        assert line.startswith(f"error: the lake {lake} is read-only; this command writes to it")
    assert not store.exists()  # refused before the demo wrote anything


def _kept_accuracies(db: Path) -> int:
    """How many accuracies `outlook show` kept in the store ``db`` (``ACCURACY#`` entries)."""
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT count(*) FROM meta WHERE name LIKE 'ACCURACY#%'").fetchone()[0]


def test_outlook_show_in_a_read_only_folder_computes_the_accuracy_and_keeps_none(
    demo_store, read_only: ReadOnly
) -> None:
    """`outlook show` keeps the accuracy it computes in a store it can write (the next show
    reads it); in a read-only folder it computes the same and writes nothing."""
    env, _rows, _out = demo_store
    folder = read_only.folder("accuracy")
    db = folder / "copy.sqlite"
    with closing(sqlite3.connect(sqlite_copy(Path(env["FUELPIPE_DB"]), db))) as dst:
        dst.execute("DELETE FROM meta WHERE name LIKE 'ACCURACY#%'")  # other tests' shows
        dst.commit()
    before = sorted(p.name for p in folder.iterdir())
    with read_only.locked(folder):
        shown = fuelpipe("outlook", "show", "--json", env={"FUELPIPE_DB": str(db)},
                         runner=read_only.runner)  # fmt: skip
        assert sorted(p.name for p in folder.iterdir()) == before
    assert _kept_accuracies(db) == 0
    writable = fuelpipe("outlook", "show", "--json", env={"FUELPIPE_DB": str(db)})
    rows = json.loads(shown.stdout)
    assert len(rows) == 7 and json.loads(writable.stdout) == rows  # Brazil's seven fuels
    assert _kept_accuracies(db) == 7
