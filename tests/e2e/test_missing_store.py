"""A mistyped FUELPIPE_DB or FUELPIPE_LAKE: the commands that only read refuse it in one
`error:` line naming the path and what to do, exit 2, and create nothing (no folder, no empty
store, no queue file); so do the maintenance commands that write (`dlq purge`, `repair
--apply`, ...: tests/e2e/test_bad_input.py); the commands that fill a store (`run`, `revise`,
`watch`, `demo`) still create it. ``~`` is expanded.

Each check is a real subprocess, as a user types it, in a scratch folder of its own.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.conftest import EMPTY_RUN
from tests.support.damaged_sqlite import damage_all_but_the_first_page, sound_store_file

READ_ONLY = {
    "status": ["status"],
    "status json": ["status", "--json"],
    "export csv": ["export", "CURRENCY#USD"],
    "export json": ["export", "CURRENCY#USD", "-f", "json"],
    "export parquet": ["export", "-f", "parquet", "-s", "FUEL#GASOLINE#*", "-o", "{tmp}/g.parquet"],
    "dlq list": ["dlq", "list"],
    "quarantine list": ["quarantine", "list", "--json"],
    "quarantine set-aside": ["quarantine", "set-aside", "--json"],
    "outlook show": ["outlook", "show"],
    "repair without --apply": ["repair"],
    "dashboard": ["dashboard", "--port", "{port}"],
}
LAKE_READ_ONLY = {
    "stations status": ["stations", "status"],
    "stations status json": ["stations", "status", "--json"],
    "stations query": ["stations", "query", "state_weekly"],
    "stations query coverage": ["stations", "query", "coverage", "-f", "json"],
    "stations reconcile": ["stations", "reconcile"],
}


READ_AND_WRITE = pytest.mark.parametrize(
    "args",
    [["status"], ["--now", "2022-01-20T20:00", "run", "--series", "CURRENCY#USD"]],
    ids=["status", "run"],
)
"""A command that only reads and one that fills a store: a path or file refused by both."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(
    args: list[str], env: dict[str, str], cwd: Path, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", *args],
        env={**inherited, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def _refused(done: subprocess.CompletedProcess[str], path: Path, variable: str) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert [ln for ln in done.stderr.splitlines() if ln.strip()] == errors, done.stderr
    assert str(path) in errors[0]
    assert variable in errors[0]
    assert done.stdout == ""
    return errors[0]


@pytest.mark.parametrize("name", list(READ_ONLY))
def test_a_read_only_command_refuses_a_missing_store(name: str, tmp_path: Path) -> None:
    db = tmp_path / "missing" / "dir" / "x.sqlite"
    args = [a.format(tmp=tmp_path, port=_free_port()) for a in READ_ONLY[name]]
    before = _tree(tmp_path)
    done = _run(args, {"FUELPIPE_DB": str(db), "FUELPIPE_LAKE": str(tmp_path / "lake")}, tmp_path)
    line = _refused(done, db, "FUELPIPE_DB")
    assert "no fuelpipe store at" in line
    assert "fuelpipe run" in line and "fuelpipe demo" in line
    assert _tree(tmp_path) == before  # no folder, no store, no queue file, no lake


@pytest.mark.parametrize("fmt", [[], ["--json"]], ids=["table", "json"])
def test_status_all_lists_the_catalog_with_no_store(fmt: list[str], tmp_path: Path) -> None:
    """The errors' hint `fuelpipe status --all` (a mistyped --series or export KEY) works on
    a fresh clone: it lists every series of the catalog, none collected, where it said "no
    fuelpipe store at ..."; it says so in a note, and creates nothing."""
    from fuelpipe.domain.catalog import DEFAULT_CATALOG

    db = tmp_path / "missing" / "x.sqlite"
    env = {"FUELPIPE_DB": str(db), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    hint = _run(["status", "-s", "GASOLINA"], env, tmp_path)
    assert "`fuelpipe status --all`" in hint.stderr, hint.stderr
    before = _tree(tmp_path)
    done = _run(["--now", "2022-05-09", "status", "--all", *fmt], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "error:" not in done.stderr, done.stderr
    assert f"note: no fuelpipe store at {db} yet" in " ".join(done.stderr.split()), done.stderr
    if fmt:
        rows = json.loads(done.stdout)
        assert [r["key"] for r in rows] == DEFAULT_CATALOG.keys()
        assert all(r["present"] == 0 and r["missing"] == r["expected"] > 0 for r in rows), rows
    else:
        assert f"{len(DEFAULT_CATALOG)} series" in done.stdout, done.stdout
        assert "CURRENCY#USD" in done.stdout and "FUEL#GASOLINE#SP" in done.stdout
    assert _tree(tmp_path) == before  # no folder, no store, no queue file
    # without --all it is still the refusal (it has nothing to list)
    _refused(_run(["status"], env, tmp_path), db, "FUELPIPE_DB")


@pytest.mark.parametrize("name", list(LAKE_READ_ONLY))
def test_a_read_only_stations_command_refuses_a_missing_lake(name: str, tmp_path: Path) -> None:
    lake = tmp_path / "nonexistent"
    before = _tree(tmp_path)
    done = _run(LAKE_READ_ONLY[name], {"FUELPIPE_LAKE": str(lake)}, tmp_path)
    line = _refused(done, lake, "FUELPIPE_LAKE")
    assert "no station lake at" in line and "fuelpipe stations ingest" in line
    assert _tree(tmp_path) == before


def test_a_folder_that_is_not_a_lake_is_refused_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "somewhere"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a lake\n")
    before = _tree(tmp_path)
    done = _run(["stations", "status"], {"FUELPIPE_LAKE": str(folder)}, tmp_path)
    _refused(done, folder, "FUELPIPE_LAKE")
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("mode", [0o644, 0o755], ids=["file", "executable file"])
@READ_AND_WRITE
def test_a_store_path_inside_a_file_names_the_file(
    args: list[str], mode: int, tmp_path: Path
) -> None:
    """FUELPIPE_DB under a file (the store's path typed after another file's): `run` said
    "the store's folder <the file> is read-only", or "[Errno 17] File exists" when the file
    had an x bit; neither says that a file stands where a folder should be."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder\n")
    blocker.chmod(mode)
    db = blocker / "fuelpipe.sqlite"
    before = _tree(tmp_path)
    done = _run(args, {"FUELPIPE_DB": str(db)}, tmp_path)
    line = _refused(done, db, "FUELPIPE_DB")
    assert f"{blocker} is a file, not a folder" in line, line
    assert blocker.read_text() == "not a folder\n"
    assert _tree(tmp_path) == before


def test_a_tilde_is_the_home_folder_not_a_folder_named_tilde(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {"HOME": str(home), "FUELPIPE_DB": "~/fp.sqlite", "FUELPIPE_LAKE": "~/lake"}
    done = _run(["status"], env, work)
    _refused(done, home / "fp.sqlite", "FUELPIPE_DB")
    done = _run(["stations", "status"], env, work)
    _refused(done, home / "lake", "FUELPIPE_LAKE")
    assert _tree(tmp_path) == ["home", "work"]  # no folder literally named `~`
    # A command that writes creates the store at the expanded path.
    written = _run([*EMPTY_RUN], env, work)
    assert written.returncode == 0, written.stderr
    assert (home / "fp.sqlite").is_file()
    assert not (work / "~").exists()


def test_commands_that_fill_a_store_still_create_it(tmp_path: Path) -> None:
    db = tmp_path / "new" / "dir" / "x.sqlite"
    env = {"FUELPIPE_DB": str(db)}
    done = _run([*EMPTY_RUN, "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert db.is_file()
    # ... and from then on the read-only commands read it.
    status = _run(["--now", "2022-01-03", "status", "--json"], env, tmp_path)
    assert status.returncode == 0, status.stderr
    assert status.stdout.strip() == "[]"


STORE_READERS = {
    "status": ["--now", "2022-05-09", "status", "-s", "CURRENCY#USD"],
    "export csv": ["--now", "2022-05-09", "export", "CURRENCY#USD"],
    "dlq list": ["dlq", "list"],
    "quarantine list": ["quarantine", "list", "--json"],
    "quarantine set-aside": ["quarantine", "set-aside"],
    "repair without --apply": ["--now", "2022-05-09", "repair"],
}


@pytest.mark.parametrize("name", list(STORE_READERS))
def test_a_read_only_command_on_a_store_creates_and_writes_nothing(
    name: str, tmp_path: Path
) -> None:
    """A store copied on its own (no queue file beside it) is read, and nothing is created
    beside it (the queue file was) or written into it."""
    from datetime import date
    from decimal import Decimal

    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.domain.models import Record, Status

    db = tmp_path / "solo" / "fuelpipe.sqlite"
    db.parent.mkdir()
    with SqliteStore(db) as store:
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)])
    before, content = _tree(tmp_path), db.read_bytes()
    done = _run(STORE_READERS[name], {"FUELPIPE_DB": str(db)}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert _tree(tmp_path) == before  # no fuelpipe-queue.sqlite, no -wal or -shm left
    assert db.read_bytes() == content


def test_a_read_only_command_refuses_an_empty_store_file_and_leaves_it_empty(
    tmp_path: Path,
) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    db.touch()
    done = _run(["status"], {"FUELPIPE_DB": str(db)}, tmp_path)
    line = _refused(done, db, "FUELPIPE_DB")
    assert "empty file" in line
    assert db.stat().st_size == 0  # no schema written into it
    assert _tree(tmp_path) == ["fuelpipe.sqlite"]


def test_a_read_only_command_upgrades_a_store_from_an_older_fuelpipe_then_reads_it(
    tmp_path: Path,
) -> None:
    """A store made before revisions were recorded (no ``revisions`` column, no watermarks
    table) cannot be read without them: it is upgraded once, as any writing command does,
    and its records read as before."""
    import sqlite3
    from datetime import date
    from decimal import Decimal

    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.domain.models import Record, Status

    db = tmp_path / "fuelpipe.sqlite"
    with SqliteStore(db) as store:
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)])
    old = sqlite3.connect(db)
    old.execute("ALTER TABLE items DROP COLUMN revisions")
    old.execute("DROP TABLE watermarks")
    old.commit()
    old.close()
    done = _run(["export", "CURRENCY#USD"], {"FUELPIPE_DB": str(db)}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2022-05-06" in done.stdout and "4.9" in done.stdout
    upgraded = sqlite3.connect(db)
    assert "revisions" in {r[1] for r in upgraded.execute("PRAGMA table_info(items)")}
    upgraded.close()


def test_a_store_whose_watermarks_have_no_calendar_column_is_upgraded_and_keeps_them(
    tmp_path: Path,
) -> None:
    """A store from before watermarks kept their calendar fingerprint: the column is added on
    opening (read-only too), and each watermark reads with no fingerprint, so the next gap scan
    audits its key in full."""
    import sqlite3
    from datetime import date

    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.ports.store import Watermark

    db = tmp_path / "fuelpipe.sqlite"
    with SqliteStore(db) as store:
        assert store.set_watermark("CURRENCY#USD", date(2022, 5, 6), 0, None, "0123456789abcdef")
    old = sqlite3.connect(db)
    old.execute("ALTER TABLE watermarks DROP COLUMN calendar")
    old.commit()
    old.close()
    with SqliteStore(db, read_only=True) as store:
        marks = store.watermarks()
    assert marks == {"CURRENCY#USD": Watermark("CURRENCY#USD", date(2022, 5, 6), 1, None, None)}
    with SqliteStore(db) as store:
        assert store.set_watermark("CURRENCY#USD", None, 1, None, "fedcba9876543210")
        assert store.watermarks()["CURRENCY#USD"].calendar == "fedcba9876543210"


def test_a_read_only_queue_opened_before_its_file_exists_reads_it_once_created(
    tmp_path: Path,
) -> None:
    """The dashboard opens the queue read-only at start; a later `run` creates the file and
    dead-letters a message: the open queue counts it (it read an empty stand-in for good)."""
    from datetime import timedelta

    from fuelpipe.adapters.clock import SystemClock
    from fuelpipe.adapters.sqlite_queue import SqliteQueue

    path = tmp_path / "fuelpipe-queue.sqlite"
    timeout = timedelta(seconds=30)
    looking = SqliteQueue(path, clock=SystemClock(), visibility_timeout=timeout, read_only=True)
    assert looking.depth().visible == 0 and not path.exists()
    writer = SqliteQueue(path, clock=SystemClock(), visibility_timeout=timeout)
    assert writer.send(['{"x": 1}', '{"x": 2}']) == 2
    assert looking.depth() == writer.depth() and looking.depth().visible == 2


def test_create_resources_against_an_endpoint_not_reached_exits_1_not_bad_input(
    tmp_path: Path,
) -> None:
    """Nothing listens on the endpoint: the command ran and could not do it (1), the input was
    fine (2 is for bad input)."""
    closed = f"http://127.0.0.1:{_free_port()}"
    env = {
        "FUELPIPE_BACKEND": "aws",
        "AWS_ENDPOINT_URL_DYNAMODB": closed,
        "AWS_ENDPOINT_URL_SQS": closed,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_MAX_ATTEMPTS": "1",
    }
    done = _run(["aws", "create-resources"], env, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "could not create resources" in done.stderr and "Traceback" not in done.stderr


def test_create_resources_without_a_region_is_bad_input_and_says_what_to_set(
    tmp_path: Path,
) -> None:
    """No region configured anywhere (a fresh operator shell): that is the input, so exit 2
    with the variable to set, not 1 ("AWS refused") with botocore's bare sentence."""
    closed = f"http://127.0.0.1:{_free_port()}"
    env = {
        "FUELPIPE_BACKEND": "aws",
        "AWS_ENDPOINT_URL_DYNAMODB": closed,
        "AWS_ENDPOINT_URL_SQS": closed,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),  # no profile's region either
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    done = _run(["aws", "create-resources"], env, tmp_path, ("AWS_REGION", "AWS_DEFAULT_REGION"))
    assert done.returncode == 2, done.stderr
    assert "AWS_REGION" in done.stderr and "Traceback" not in done.stderr


RUN_USD = ["run", "-s", "CURRENCY#USD"]
"""A `run` whose arguments are good (a bad --series is refused before any file is opened)."""


@pytest.mark.parametrize(
    ("damaged", "args"),
    [
        *(("fuelpipe.sqlite", a) for a in (["status"], ["dlq", "list"], RUN_USD)),
        # only the commands that use the queue: `status` reads the store alone
        *(("fuelpipe-queue.sqlite", a) for a in (["dlq", "list"], RUN_USD)),
    ],
)
def test_a_file_that_is_not_sqlite_is_named_in_the_refusal(
    damaged: str, args: list[str], tmp_path: Path
) -> None:
    """A damaged store or queue file: the error said "file is not a database" without naming
    which (a damaged queue file read as a damaged store), and `dlq list` as a failure. Then it
    said "X is damaged (X is not a usable SQLite file ...: file is not a database; SQLite's
    check of its pages: file is not a database): restore it from a backup", twice SQLite's
    words and only the backup, for what is most often a mistyped FUELPIPE_DB (a CSV): a file
    without SQLite's header is named as no SQLite file, with the path to check first."""
    from fuelpipe.adapters.sqlite_store import SqliteStore

    db = tmp_path / "fuelpipe.sqlite"
    SqliteStore(db).close()
    bad = tmp_path / damaged
    bad.write_bytes(b"this is not a SQLite file\n" * 200)
    content = bad.read_bytes()
    done = _run(args, {"FUELPIPE_DB": str(db), "FUELPIPE_SOURCE_BCB_URL": "http://127.0.0.1:9"},
                tmp_path)  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert line.startswith(f"error: {bad} is not a SQLite file (it does not begin with "), line
    assert "damaged" not in line and "file is not a database" not in line, line
    assert line.endswith("check the path, or restore the file from a backup"), line
    assert bad.read_bytes() == content


@pytest.mark.parametrize(
    "args",
    [["status"], ["export", "CURRENCY#USD"], ["quarantine", "list"], RUN_USD],
    ids=["status", "export", "quarantine list", "run"],
)
def test_a_store_damaged_past_its_first_page_is_named_in_the_refusal(
    args: list[str], tmp_path: Path
) -> None:
    """A store whose header and schema are sound but whose pages are not: every command said
    "`fuelpipe status` failed: DatabaseError: database disk image is malformed (rerun with
    --debug for the traceback)", as if fuelpipe had failed, and named no file (the store or
    its queue?). The damaged file is named, with SQLite's own check of it."""
    db = tmp_path / "fuelpipe.sqlite"
    sound_store_file(db)
    damage_all_but_the_first_page(db)
    content = db.read_bytes()
    done = _run(["--now", "2022-05-09", *args], {"FUELPIPE_DB": str(db)}, tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert f"{db} is damaged" in line and "malformed" in line, line
    # each command opens the file anew: restoring it is all (a server is told to restart too)
    assert line.endswith(": restore it from a backup"), line
    assert "rerun with --debug" not in line, line
    if args != RUN_USD:  # `run` opens the store to write: SQLite sets WAL mode in its header
        assert db.read_bytes() == content


@pytest.mark.parametrize("table", ["customers", "items"])
@READ_AND_WRITE
def test_another_applications_sqlite_database_is_refused_and_left_alone(
    args: list[str], table: str, tmp_path: Path
) -> None:
    """A FUELPIPE_DB pointing at someone else's SQLite database (synthetic: one `customers`
    table): read or write, it is refused, and no fuelpipe table is added to it (a read-only
    command took it for a store of an older fuelpipe and "upgraded" it).

    `items` is a common table name (a shop's `items (id, name)`): a database with one was
    taken for a store of an older fuelpipe, even by `status`, which switched it to WAL mode
    and tried to add fuelpipe's tables before failing with "no such column: status". Its
    columns are not a store's, so it is refused as any other database is."""
    import sqlite3
    from contextlib import closing

    db = tmp_path / "shop.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute(f"INSERT INTO {table} (name) VALUES ('apple')")
    before, content = _tree(tmp_path), db.read_bytes()
    done = _run(args, {"FUELPIPE_DB": str(db)}, tmp_path)
    line = _refused(done, db, "FUELPIPE_DB")
    assert f"not a fuelpipe store (its tables: {table})" in line
    assert db.read_bytes() == content
    assert _tree(tmp_path) == before  # no queue file beside it either


@pytest.mark.parametrize(
    "args",
    [
        ["status", "-s", "CURRENCY#USD", "--json"],
        ["export", "CURRENCY#USD"],
        ["quarantine", "list", "--json"],
        ["repair", "--json"],
    ],
    ids=["status", "export", "quarantine list", "repair"],
)
def test_a_damaged_queue_file_does_not_stop_a_command_that_only_reads_the_store(
    args: list[str], tmp_path: Path
) -> None:
    """`status` on a sound store refused to start because the queue file beside it was junk
    ("fuelpipe-queue.sqlite is not a usable SQLite file"), a file it never reads."""
    from datetime import date
    from decimal import Decimal

    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.domain.models import Record, Status

    db = tmp_path / "fuelpipe.sqlite"
    with SqliteStore(db) as store:
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)])
    queue = tmp_path / "fuelpipe-queue.sqlite"
    queue.write_text("junk\n")
    done = _run(["--now", "2022-05-09", *args], {"FUELPIPE_DB": str(db)}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "error:" not in done.stderr, done.stderr
    assert queue.read_text() == "junk\n"


def test_status_on_a_store_with_no_record_says_what_to_run(tmp_path: Path) -> None:
    """It printed an empty table titled "0 series" and nothing else."""
    from fuelpipe.adapters.sqlite_store import SqliteStore

    db = tmp_path / "fuelpipe.sqlite"
    SqliteStore(db).close()
    env = {"FUELPIPE_DB": str(db)}
    done = _run(["--now", "2022-05-09", "status"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    bare = " ".join(done.stdout.split())
    assert "no records yet" in bare and "`fuelpipe run`" in bare and "--all" in bare, bare
    assert "0 series" not in bare
    one = _run(["--now", "2022-05-09", "status", "-s", "currency#usd"], env, tmp_path)
    text = " ".join(one.stdout.split())
    assert "no record of CURRENCY#USD" in text and "fuelpipe run -s CURRENCY#USD" in text, text
    as_json = _run(["--now", "2022-05-09", "status", "--json"], env, tmp_path)
    assert as_json.stdout.strip() == "[]"  # --json stays JSON
    # ... and stderr says why it is empty and what to run, as the table form does (it said
    # nothing)
    assert " ".join(as_json.stderr.split()) == bare
    one_json = _run(
        ["--now", "2022-05-09", "status", "-s", "currency#usd", "--json"], env, tmp_path
    )
    assert one_json.stdout.strip() == "[]"
    assert " ".join(one_json.stderr.split()) == text
    # a glob in the commands it suggests is quoted for the shell (zsh refuses it unquoted)
    glob = _run(["--now", "2022-05-09", "status", "-s", "FUEL#GASOLINE#S?"], env, tmp_path)
    assert " ".join(glob.stdout.split()) == (
        "no record of FUEL#GASOLINE#S? in this store yet: `fuelpipe run -s 'FUEL#GASOLINE#S?'` "
        "fetches them; `fuelpipe status -s 'FUEL#GASOLINE#S?' --all` lists them anyway"
    )


def _usd_store(tmp_path: Path) -> dict[str, str]:
    from datetime import date
    from decimal import Decimal

    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.domain.models import Record, Status

    db = tmp_path / "fuelpipe.sqlite"
    with SqliteStore(db) as store:
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)])
    return {"FUELPIPE_DB": str(db)}


@pytest.mark.parametrize(
    ("args", "name", "reads_as"),
    [
        (["-o", "{out}"], "u.json", "json"),
        (["-o", "{out}"], "u.JSON", "json"),
        (["-f", "JSON", "-o", "{out}"], "u.json", "json"),
        (["-f", "Csv", "-o", "{out}"], "u.csv", "csv"),
        (["-o", "{out}"], "u.txt", "csv"),
        (["-o", "{out}"], "u.parquet", "parquet"),
    ],
    ids=["json by name", "JSON by name", "-f JSON", "-f Csv", "no known extension", "parquet"],
)
def test_export_writes_the_format_its_file_is_named_for(
    args: list[str], name: str, reads_as: str, tmp_path: Path
) -> None:
    """`export KEY -o u.json` wrote CSV into u.json; `-f JSON` was refused."""
    import json

    env, out = _usd_store(tmp_path), tmp_path / name
    done = _run(["export", "CURRENCY#USD", *(a.format(out=out) for a in args)], env, tmp_path)
    assert done.returncode == 0, done.stderr
    if reads_as == "json":
        assert json.loads(out.read_text())[0]["value"] == "4.9"
    elif reads_as == "csv":
        assert out.read_text().splitlines()[1].startswith("2022-05-06,4.9,OK")
    else:
        assert out.read_bytes()[:4] == b"PAR1"


@pytest.mark.parametrize(
    ("fmt", "name"), [("parquet", "z.csv"), ("csv", "z.json"), ("json", "z.Parquet")]
)
def test_export_refuses_a_format_its_file_is_not_named_for(
    fmt: str, name: str, tmp_path: Path
) -> None:
    """`export -f parquet -o z.csv` wrote Parquet into z.csv."""
    env, out = _usd_store(tmp_path), tmp_path / name
    done = _run(["export", "CURRENCY#USD", "-f", fmt, "-o", str(out)], env, tmp_path)
    assert "Traceback" not in done.stderr and done.returncode == 2, done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert line.startswith("error:") and f"--format {fmt}" in line and str(out) in line, line
    assert not out.exists()


def test_a_store_whose_items_have_no_written_at_column_is_upgraded_and_orders_no_old_write(
    tmp_path: Path,
) -> None:
    """A store from before writes were stamped on the wall clock: the column is added on
    opening; a record written then orders nothing (any answer revises it, as before), and
    its next write is stamped, so an answer sent before that write is refused."""
    import sqlite3
    from datetime import UTC, date, datetime, timedelta
    from decimal import Decimal

    import pytest

    from fuelpipe.adapters.clock import ManualClock
    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.domain.models import Record, Revision, Status
    from fuelpipe.ports.store import AnsweredBefore

    key, day = "CURRENCY#USD", date(2022, 5, 6)
    wall = ManualClock(datetime(2026, 1, 5, tzinfo=UTC))
    db = tmp_path / "fuelpipe.sqlite"
    with SqliteStore(db, wall=wall) as store:
        store.put_records([Record(key, day, Decimal("4.9"), Status.OK)])
    old = sqlite3.connect(db)
    old.execute("ALTER TABLE items DROP COLUMN written_at")
    old.commit()
    old.close()

    def revision(previous: str, new: str) -> Revision:
        return Revision(Decimal(previous), Decimal(new), wall.now(), "revise test")

    with SqliteStore(db, wall=wall) as store:
        long_ago = wall.now() - timedelta(days=400)
        assert store.revise(key, day, revision("4.9", "5.0"), {}, answered_at=long_ago)
        wall.advance(timedelta(seconds=1))
        with pytest.raises(AnsweredBefore):
            store.revise(key, day, revision("5.0", "4.9"), {}, answered_at=long_ago)
