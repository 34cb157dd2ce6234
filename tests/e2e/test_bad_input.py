"""Every bad input a new user or a careless operator can type, run as a real subprocess on a
copy of the demo store: each exits 2 (bad input) or 3 (a source unreachable) with one `error:`
line and no traceback, and the store stays byte-identical, with no file added beside it,
unless changing it is the point; a command that fills a store (`run`, `revise`, `watch`)
refused on a folder with none creates nothing there (no store, no queue file, no watch lock).

Plus the repair path those mistakes need: `repair`, `dlq purge`, the demo's remembered clock,
and the notice a rerun gives about messages an interrupted run still holds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.e2e.conftest import fuelpipe
from tests.e2e.read_only import ReadOnly

from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.domain.instants import SAO_PAULO

DEMO_NOW = "2022-05-07T23:59:00-03:00"
"""The clock `fuelpipe demo` fills the store at (the end of the snapshot window)."""


@dataclass
class Ctx:
    """What a case may need: its store copy, a scratch folder, ports, the real time."""

    db: Path
    tmp: Path
    busy_port: int
    closed_port: int
    real_now: datetime

    def ahead(self, days: int) -> str:
        return (self.real_now + timedelta(days=days)).date().isoformat()


@dataclass
class Case:
    """One bad input: the CLI arguments and environment, and what must come of it."""

    name: str
    args: Callable[[Ctx], list[str]]
    env: Callable[[Ctx], dict[str, str]] = field(default=lambda _c: {})
    code: int = 2
    changes_store: bool = False
    read_only: bool = False
    prepare: Callable[[Ctx], None] = field(default=lambda _c: None)
    """Set the scene before the store's digest is taken (e.g. a file the case writes over)."""


def _a(*args: str) -> Callable[[Ctx], list[str]]:
    return lambda _c: list(args)


def _beside(c: Ctx, suffix: str) -> str:
    """A file beside the store: ``fuelpipe-queue.sqlite``, ``fuelpipe.sqlite-wal``, ..."""
    return str(c.db.with_name(c.db.stem + suffix))


def _another_sqlite_file(c: Ctx) -> None:
    """A SQLite database that is not this store (another tool's, an older store's copy)."""
    shutil.copyfile(_beside(c, "-queue.sqlite"), c.tmp / "other.db")


def _forget_the_demo(c: Ctx) -> None:
    """The demo store as if a `fuelpipe run` had filled it: no demo clock stamped in it."""
    with closing(sqlite3.connect(c.db)) as db, db:
        db.execute("DELETE FROM meta WHERE name LIKE 'demo%'")


def _typo(c: Ctx) -> dict[str, str]:
    """FUELPIPE_DB mistyped: a store that does not exist, beside the real one."""
    return {"FUELPIPE_DB": _beside(c, "-typo.sqlite")}


def _lake(c: Ctx) -> dict[str, str]:
    return {"FUELPIPE_LAKE": str(c.tmp / "lake")}


CASES = [
    # clocks
    Case("now far future run", _a("--now", "2099-01-01", "run", "--series", "CURRENCY#USD")),
    Case("now year 1", _a("--now", "0001-01-01", "status")),
    Case("now year 9999 run", _a("--now", "9999-12-31", "run")),
    Case("now year 9999 from env", _a("status"), env=lambda _c: {"FUELPIPE_NOW": "9999-12-31"}),
    # settings are read in any case of their name: so is the clock, and so it is bounded
    Case(
        "now far future from a lowercase env",
        _a("status"),
        env=lambda _c: {"fuelpipe_now": "2099-01-01"},
    ),
    Case(
        "now far future from a lowercase env run",
        _a("run", "-s", "CURRENCY#USD"),
        env=lambda c: {
            "fuelpipe_now": "2099-01-01",
            "FUELPIPE_SOURCE_BCB_URL": f"http://127.0.0.1:{c.closed_port}",  # never the network
            "FUELPIPE_HTTP_BACKOFF_S": "0.01",
        },
    ),
    Case("now before every series", _a("--now", "1950-06-01", "status")),
    Case("now garbage", _a("--now", "yesterday", "status")),
    Case("now days ahead", lambda c: ["--now", c.ahead(3), "run", "-s", "CURRENCY#USD"]),
    Case(
        "simulate future beyond a year",
        lambda c: ["--simulate-future", "--now", c.ahead(800), "run", "-s", "CURRENCY#USD"],
    ),
    Case("since year 9999", _a("run", "--since", "9999-12-31")),
    Case("since year 1", _a("status", "--since", "0001-01-01")),
    Case("since not a date", _a("status", "--since", "31/12/2021")),
    Case("since next decade", _a("status", "--since", "2035-01-01")),
    # XOM's demo clock is the demo's (2022-05-07: its bundled file ends with the window);
    # PETR4's runs to 2025-09 and USD's to 2026 (a test below)
    Case(
        "status since after the series' clock",
        _a("status", "-s", "STOCK#XOM", "--since", "2022-06-01"),
    ),
    Case("export format and file name disagree", _a("export", "-f", "parquet", "-o", "z.csv")),
    Case(
        "run since after the demo clock", _a("run", "-s", "CURRENCY#USD", "--since", "2022-06-01")
    ),
    # export
    Case("export to a missing folder", _a("export", "CURRENCY#USD", "-o", "/missing/dir/x.csv")),
    Case("export to a directory", lambda c: ["export", "CURRENCY#USD", "-o", str(c.tmp)]),
    Case("export unknown key", _a("export", "NOPE#XYZ")),
    Case("export bad format", _a("export", "CURRENCY#USD", "--format", "xml")),
    Case(
        "export parquet to a missing folder",
        _a("export", "-f", "parquet", "-s", "FUEL#GASOLINE#*", "-o", "/missing/dir/g.parquet"),
    ),
    Case("export without a key", _a("export", "--format", "json")),
    Case("export over the store", lambda c: ["export", "CURRENCY#USD", "-o", str(c.db)]),
    Case(
        "export parquet over the queue file",
        lambda c: ["export", "-f", "parquet", "-s", "FUEL*", "-o", _beside(c, "-queue.sqlite")],
    ),
    Case(
        "export to the store's wal file",
        lambda c: ["export", "CURRENCY#USD", "-o", str(c.db) + "-wal"],
    ),
    Case(
        "export to the store through another path",
        lambda c: ["export", "CURRENCY#USD", "-o", str(c.db.parent / ".." / "store" / c.db.name)],
    ),
    Case(
        "export to the watch lock",
        lambda c: ["export", "-f", "json", "CURRENCY#USD", "-o", _beside(c, "-watch.lock")],
    ),
    Case(
        "export over another SQLite database",
        lambda c: ["export", "CURRENCY#USD", "-f", "csv", "-o", str(c.tmp / "other.db")],
        prepare=_another_sqlite_file,
    ),
    # maintenance on a mistyped FUELPIPE_DB: no new empty store, no "nothing to do"
    Case("dlq purge on a missing store", _a("dlq", "purge", "--yes"), env=_typo),
    Case("dlq redrive on a missing store", _a("dlq", "redrive"), env=_typo),
    Case("repair apply on a missing store", _a("repair", "--apply"), env=_typo),
    Case(
        "release on a missing store",
        _a("quarantine", "release", "CURRENCY#USD", "2022-01-03"),
        env=_typo,
    ),
    # servers
    Case("dashboard port out of range", _a("dashboard", "--port", "99999")),
    Case("dashboard negative port", _a("dashboard", "--port", "-1")),
    Case("dashboard port in use", lambda c: ["dashboard", "--port", str(c.busy_port)]),
    Case("replay port in use", lambda c: ["replay", "--port", str(c.busy_port)]),
    Case("replay port out of range", _a("replay", "--port", "70000")),
    Case("replay garbage faults", _a("replay", "--faults", "garbage")),
    Case("replay missing fault file", _a("replay", "--faults", "/missing/plan.toml")),
    Case("replay fault rate above 1", _a("replay", "--faults", "all:5")),
    Case("demo port out of range", _a("demo", "--port", "0")),
    Case(
        "demo on a store it did not fill",
        _a("demo", "--no-serve"),
        env=_lake,
        prepare=_forget_the_demo,
    ),
    Case("demo with now", _a("--now", "2022-05-07", "demo", "--no-serve"), env=_lake),
    # the store path check `run` makes (before, a raw SQLite error or a traceback)
    Case("demo on a read-only store", _a("demo", "--no-serve"), env=_lake, read_only=True),
    Case(
        "demo store path is a directory",
        _a("demo", "--no-serve"),
        env=lambda c: {"FUELPIPE_DB": str(c.tmp), **_lake(c)},
    ),
    Case(
        "demo live at infinite speed",
        _a("demo", "--live", "--no-serve", "--speed", "inf"),
        env=_lake,
    ),
    Case(
        "demo live at nan speed",
        _a("demo", "--live", "--no-serve", "--speed", "nan"),
        env=_lake,
    ),
    Case("demo live with all counters", _a("demo", "--live", "--no-serve", "--all-counters")),
    Case("run all counters with json", _a("run", "-s", "CURRENCY#USD", "--json", "--all-counters")),
    # store, settings, commands
    Case("run on a read-only store", _a("run", "-s", "CURRENCY#USD"), read_only=True),
    Case("store path is a directory", _a("status"), env=lambda c: {"FUELPIPE_DB": str(c.tmp)}),
    Case(
        "store path does not exist",
        _a("status"),
        env=lambda c: {"FUELPIPE_DB": str(c.tmp / "missing" / "x.sqlite")},
    ),
    Case(
        "stations query option it does not take",
        _a("stations", "query", "state_weekly", "--state", "SP"),
    ),
    Case(
        "stations query state not a UF",
        _a("stations", "query", "municipality_weekly", "--state", "ZZ", "--municipality", "X"),
    ),
    Case("bad setting", _a("status"), env=lambda _c: {"FUELPIPE_MAX_RETRIES": "many"}),
    Case(
        "source url without a scheme",
        _a("status"),
        env=lambda _c: {"FUELPIPE_SOURCE_BCB_URL": "olinda.bcb.gov.br/olinda"},
    ),
    Case("unknown series", _a("status", "--series", "NOPE")),
    # the commands that fill a store refuse before they open it, its queue or the watch lock
    Case("run unknown series", _a("run", "--series", "NOPE")),
    Case("run since year 1", _a("run", "-s", "CURRENCY#USD", "--since", "0001-01-01")),
    Case("revise unknown series", _a("revise", "--series", "NOPE")),
    Case("watch unknown series", _a("watch", "--series", "NOPE", "--ticks", "1")),
    Case("watch blank series", _a("watch", "--series", " ", "--ticks", "1")),
    Case("unknown command", _a("frobnicate")),
    Case("unknown option", _a("status", "--colour")),
    Case("release unknown key", _a("quarantine", "release", "NOPE", "2022-01-03")),
    Case("release bad date", _a("quarantine", "release", "CURRENCY#USD", "2022-13-45")),
    Case("dlq purge unknown option", _a("dlq", "purge", "--force")),
    # a source nobody answers: exit 3, after a table per source
    Case(
        "run with the source unreachable",
        _a("run", "-s", "CURRENCY#USD", "--since", "2021-01-04"),
        env=lambda c: {
            "FUELPIPE_SOURCE_BCB_URL": f"http://127.0.0.1:{c.closed_port}",
            "FUELPIPE_HTTP_BACKOFF_S": "0.01",
        },
        code=3,
        changes_store=True,
    ),
]


def _digest(folder: Path) -> dict[str, str]:
    """sha256 of every file of the store (SQLite's shared-memory index excepted); an empty
    file (a watch lock left behind) is named too, but for an empty WAL: it holds no page, and
    one a read-only reader of the shared demo store left is copied in and deleted by SQLite
    at the case's last close."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.stat().st_size else "empty"
        for p in sorted(folder.iterdir())
        if p.is_file()
        and not p.name.endswith("-shm")
        and not (p.name.endswith("-wal") and not p.stat().st_size)
    }


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture
def store_copy(demo_store, tmp_path: Path) -> Path:
    """A private copy of the demo store's folder; returns the store file."""
    env, _rows, _out = demo_store
    source = Path(env["FUELPIPE_DB"])
    folder = tmp_path / "store"
    shutil.copytree(source.parent, folder)
    return folder / source.name


def _one_error_line(stderr: str) -> list[str]:
    """The stderr lines that are errors; notes and retry log lines are allowed beside them."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@dataclass
class Outcome:
    """What one case's subprocess did, and the store's digest before and after."""

    done: subprocess.CompletedProcess[str] | None
    before: dict[str, str]
    after: dict[str, str]


def _run_case(case: Case, folder: Path, demo_db: Path, busy: int, read_only: ReadOnly) -> Outcome:
    store = folder / "store"
    shutil.copytree(demo_db.parent, store)
    db = store / demo_db.name
    scratch = folder / "scratch"
    scratch.mkdir()
    ctx = Ctx(db, scratch, busy, _closed_port(), SystemClock().now())
    env = {"FUELPIPE_DB": str(db), **case.env(ctx)}
    case.prepare(ctx)
    before = _digest(store)
    if not case.read_only:
        done = fuelpipe(*case.args(ctx), env=env, check=False, timeout=180)
        return Outcome(done, before, _digest(store))
    if not read_only.lock(store, files=True):
        return Outcome(None, before, before)
    try:
        done = fuelpipe(*case.args(ctx), env=env, check=False, timeout=180, runner=read_only.runner)
    finally:
        read_only.unlock(store, files=True)
    return Outcome(done, before, _digest(store))


@pytest.fixture(scope="module")
def outcomes(
    demo_store, busy_port: int, tmp_path_factory: pytest.TempPathFactory, read_only: ReadOnly
) -> dict[str, Outcome]:
    """Every case, each on its own copy of the demo store, a few subprocesses at a time; a
    read-only case's in a folder its reader can reach (:mod:`tests.e2e.read_only`)."""
    from concurrent.futures import ThreadPoolExecutor

    env, _rows, _out = demo_store
    demo_db = Path(env["FUELPIPE_DB"])
    root = tmp_path_factory.mktemp("bad-input")
    folders = {}
    for i, case in enumerate(CASES):
        if case.read_only:
            folders[case.name] = read_only.folder(f"case{i}")
        else:
            folders[case.name] = root / f"case{i}"
            folders[case.name].mkdir()
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            c.name: pool.submit(_run_case, c, folders[c.name], demo_db, busy_port, read_only)
            for c in CASES
        }
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_and_harmless(
    case: Case, outcomes: dict[str, Outcome], read_only: ReadOnly
) -> None:
    outcome = outcomes[case.name]
    done = outcome.done
    if done is None:
        pytest.skip(read_only.reason)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == case.code, output
    errors = _one_error_line(done.stderr)
    assert len(errors) == 1, done.stderr
    others = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and not line.startswith(("error:", "note:", "retrying in"))
    ]
    assert others == [], done.stderr
    if not case.changes_store:
        assert outcome.after == outcome.before, f"{case.name} changed the store"


def test_an_unreachable_source_is_named_in_words(store_copy: Path) -> None:
    port = _closed_port()
    env = {
        "FUELPIPE_DB": str(store_copy),
        "FUELPIPE_SOURCE_BCB_URL": f"http://127.0.0.1:{port}",
        "FUELPIPE_HTTP_BACKOFF_S": "0.01",
        "FUELPIPE_HTTP_ATTEMPTS": "2",
    }
    done = fuelpipe("run", "-s", "CURRENCY#USD", "--since", "2021-01-04", env=env, check=False)
    assert done.returncode == 3, done.stderr
    assert "could not use bcb: every request failed" in done.stderr
    # and what to check: it named the error but not the setting that points at the source
    assert done.stderr.rstrip().endswith("(check the network and FUELPIPE_SOURCE_BCB_URL)")
    assert "connection refused" in done.stdout  # the per-source table
    assert "retrying in" in done.stderr  # stamina's retries as readable lines
    assert "stamina.retry_scheduled" not in done.stderr
    as_json = fuelpipe("run", "-s", "CURRENCY#USD", "--json", env=env, check=False)
    assert as_json.returncode == 3
    sources = json.loads(as_json.stdout)["sources"]
    assert sources["bcb"]["last_error"] == "connection refused"
    assert sources["bcb"]["requests"] == sources["bcb"]["failures"] > 0
    # the breaker's refusals are told apart: not sent, so neither requests nor failures
    assert sources["bcb"]["not_sent"] > 0
    assert "not sent" in done.stdout


def test_the_demo_store_runs_on_the_demo_clock(store_copy: Path) -> None:
    env = {"FUELPIPE_DB": str(store_copy)}
    done = fuelpipe("status", "--json", env=env)
    assert f"using its clock {DEMO_NOW}" in done.stderr
    # and says the series whose bundled files run past that window keep later clocks (the
    # note named the window's alone, while `status` counted USD up to June 2026)
    assert "and later ones for" in done.stderr and "up to 2026-06-" in done.stderr
    rows = json.loads(done.stdout)
    # Each series at its own demo clock (the bundled files end in different years): nothing
    # missing, as the demo's own table said; PETR3's file ends in March 2022, the states' in
    # June 2026.
    assert sum(r["missing"] for r in rows) == 0
    same = fuelpipe("--now", DEMO_NOW, "status", "--json", env=env)
    assert "using its clock" not in same.stderr
    at_once = {r["key"]: r for r in json.loads(same.stdout)}  # every series at one clock
    assert at_once["STOCK#PETR3"]["missing"] > 0  # asked up to May 2022
    # USD's file ends in 2026: at the one clock of May 2022 its later values are counted
    # apart, not as present (present never exceeds expected).
    usd, own = at_once["CURRENCY#USD"], next(r for r in rows if r["key"] == "CURRENCY#USD")
    assert usd["present"] <= usd["expected"] and usd["last"] <= DEMO_NOW[:10]
    assert usd["present"] + usd["after_clock"] == own["present"] and own["after_clock"] == 0
    # The state weeks start in June 2024: at May 2022 they are counted from their first
    # stored week, after the clock, so nothing is expected or missing yet (they counted
    # every week since the catalog's start as missing).
    sp = at_once["FUEL#GASOLINE#SP"]
    assert (sp["expected"], sp["missing"], sp["after_clock"]) == (0, 0, 105)
    later = fuelpipe("--now", "2022-08-31", "status", "--json", env=env)
    assert sum(r["missing"] for r in json.loads(later.stdout)) > 1000


def test_only_the_commands_reading_each_series_at_its_own_clock_say_they_do(
    store_copy: Path,
) -> None:
    """`status` and the dashboard read a demo store's series each at its own clock; the other
    commands run at the window's alone (`revise` re-reads PETR4's window up to May 2022), so
    their note names that one only (it said "and later ones for the 64 series" for all)."""
    env = {"FUELPIPE_DB": str(store_copy)}
    done = fuelpipe("repair", "--json", env=env)
    assert done.stderr == (
        "note: this store was filled by `fuelpipe demo`: using its clock "
        f"{DEMO_NOW} (give --now to use another)\n"
    )


def test_status_since_is_bounded_by_the_chosen_series_clock(store_copy: Path) -> None:
    """The demo's USD runs to 2026 (status counts it there), but `--since 2023-01-01` was
    refused as "after the clock (2022-05-07)", the demo's single clock."""
    env = {"FUELPIPE_DB": str(store_copy)}
    done = fuelpipe("status", "-s", "CURRENCY#USD", "--since", "2023-01-01", "--json", env=env)
    (row,) = json.loads(done.stdout)
    assert row["expected"] > 500 and row["missing"] == 0, row
    later = fuelpipe("status", "-s", "CURRENCY#USD", "--since", "2027-01-01", env=env, check=False)
    said = "is after 2026-06-26, the latest of the chosen series"
    assert later.returncode == 2 and said in later.stderr, later.stderr


def test_status_since_after_a_demo_series_clock_names_which_clock(store_copy: Path) -> None:
    """On the demo store `status` first notes "using its clock 2022-05-07T23:59", then
    refused `-s CURRENCY#USD --since 2027-01-01` as "after the clock (2026-06-26)": two
    clocks, a line apart, and no word on which one the refusal meant."""
    env = {"FUELPIPE_DB": str(store_copy)}
    done = fuelpipe("status", "-s", "CURRENCY#USD", "--since", "2027-01-01", env=env, check=False)
    assert done.returncode == 2, done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert line == (
        "error: --since 2027-01-01 is after 2026-06-26, the latest of the chosen series' own "
        "clocks (CURRENCY#USD's): on this demo store status counts each series up to the end "
        "of its bundled file, not up to the store's clock 2022-05-07 named above; give --since "
        "2026-06-26 or earlier, or --now to look from a later instant"
    ), line


def test_a_clock_typo_is_repaired(store_copy: Path) -> None:
    """A deliberate run in the future leaves PENDING rows for days that have not happened;
    `repair` shows them and `repair --apply` removes them, stored values untouched."""
    env = {
        "FUELPIPE_DB": str(store_copy),
        "FUELPIPE_SOURCE_BCB_URL": f"http://127.0.0.1:{_closed_port()}",
        "FUELPIPE_HTTP_ATTEMPTS": "1",
    }
    ahead = (SystemClock().now() + timedelta(days=40)).date().isoformat()
    before = json.loads(fuelpipe("status", "-s", "CURRENCY#USD", "--json", env=env).stdout)[0]
    future = fuelpipe(
        "--simulate-future", "--now", ahead, "run", "-s", "CURRENCY#USD", env=env, check=False
    )
    assert future.returncode == 3, future.stderr
    # read before repair runs, so repair's today is this one or later: read after, a run
    # across São Paulo's midnight had today past repair's, and tomorrow's row not after it
    today = SystemClock().now().astimezone(SAO_PAULO).date().isoformat()
    shown = json.loads(fuelpipe("repair", "--json", env=env).stdout)
    assert shown["found"], "the future PENDING rows are found"
    assert all(r["date"] > today and r["status"] == "PENDING" for r in shown["found"])
    assert shown["removed"] == 0
    applied = json.loads(fuelpipe("repair", "--apply", "--json", env=env).stdout)
    assert applied["removed"] == len(shown["found"])
    assert json.loads(fuelpipe("repair", "--json", env=env).stdout)["found"] == []
    after = json.loads(fuelpipe("status", "-s", "currency#usd", "--json", env=env).stdout)[0]
    assert (after["present"], after["first"], after["last"]) == (
        before["present"],
        before["first"],
        before["last"],
    )


def test_dlq_purge_asks_first(store_copy: Path) -> None:
    env = {"FUELPIPE_DB": str(store_copy)}
    queue = SqliteQueue(
        store_copy.with_name(store_copy.stem + "-queue.sqlite"), SystemClock(), timedelta(60)
    )
    try:
        queue.send(['{"not": "a download request"}'])
        (message,) = queue.receive(1)
        queue.dead_letter(message, "malformed message: test")
    finally:
        queue.close()
    before = _digest(store_copy.parent)
    refused = fuelpipe("dlq", "purge", env=env, check=False)  # stdin is not a terminal
    assert refused.returncode == 2
    assert "add --yes" in refused.stderr
    assert _digest(store_copy.parent) == before
    done = fuelpipe("dlq", "purge", "--yes", env=env)
    assert "purged 1 dead letter" in done.stdout
    assert json.loads(fuelpipe("dlq", "list", "--json", env=env).stdout) == []


@pytest.mark.parametrize("command", ["run", "revise"])
def test_a_rerun_says_what_an_interrupted_run_holds(store_copy: Path, command: str) -> None:
    """`revise` waits for held messages as `run` does; it said nothing while its bar stood."""
    queue = SqliteQueue(
        store_copy.with_name(store_copy.stem + "-queue.sqlite"),
        SystemClock(),
        timedelta(seconds=10),  # outlasts the CLI's start on a busy machine; the run waits it out
    )
    try:
        queue.send(['{"not": "a download request"}'])
        # received, never deleted, by a process alive all along (this one): a message a killed
        # process held is taken back at once instead (tests/reliability/test_queue_reclaim.py)
        assert len(queue.receive(1)) == 1
    finally:
        queue.close()
    env = {
        "FUELPIPE_DB": str(store_copy),
        "FUELPIPE_SOURCE_BCB_URL": f"http://127.0.0.1:{_closed_port()}",  # never asked: no gaps
    }
    if command == "revise":  # it re-reads USD's window: the closed port fails at once
        env |= {"FUELPIPE_HTTP_ATTEMPTS": "1", "FUELPIPE_HTTP_BACKOFF_S": "0"}
        done = fuelpipe("revise", "-s", "CURRENCY#USD", "--json", env=env, check=False)
    else:
        done = fuelpipe("run", "-s", "CURRENCY#USD", "--since", "2021-05-19", "--json", env=env)
    assert (
        "1 message(s) are held by another fuelpipe process, alive as far as the queue knows; "
        "they come back at"
    ) in done.stderr
    assert f"this {command} waits for them" in done.stderr
    # The held message came back (real clock: the queue's timeout is operational time) and
    # this run dealt with it: a malformed body goes to the dead letters with its reason.
    assert json.loads(done.stdout)["scrape"]["dead_lettered"] == 1


def _export_at_most(limit: int, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`fuelpipe export` in a process that may write files of at most ``limit`` bytes: a
    disk that fills up part-way, deterministically (a write past it fails with EFBIG)."""
    import os
    import resource
    import signal
    import sys

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", "export", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
        preexec_fn=limited,
    )


@pytest.mark.parametrize(
    ("fmt", "key"),
    [("csv", "CURRENCY#USD"), ("json", "CURRENCY#USD"), ("parquet", "FUEL*")],
)
def test_a_failed_export_keeps_the_previous_file(
    fmt: str, key: str, store_copy: Path, tmp_path: Path
) -> None:
    """An export that fails part-way (a full disk) truncated the previous good file and left
    a partial one; now the previous file stays as it was and nothing else is left."""
    env = {"FUELPIPE_DB": str(store_copy)}
    out = tmp_path / "out"
    out.mkdir()
    target = out / f"prices.{fmt}"
    first = ["-s", "FUEL#GASOLINE#SP"] if fmt == "parquet" else ["FUEL#GASOLINE#SP"]
    done = fuelpipe("export", *first, "-f", fmt, "-o", str(target), env=env)
    previous = target.read_bytes()
    # Room for the small file and SQLite's 32 KiB -shm beside the store, not for the big one.
    limit = 70_000
    assert len(previous) < limit
    args = ["-s", key] if fmt == "parquet" else [key]
    done = _export_at_most(limit, *args, "-f", fmt, "-o", str(target), env=env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = _one_error_line(done.stderr)
    assert f"cannot write {target}" in line and "File too large" in line, line
    assert target.read_bytes() == previous
    assert list(out.iterdir()) == [target]


def test_export_to_a_dash_writes_stdout(store_copy: Path, tmp_path: Path) -> None:
    """`-o -` wrote a file named "-" in the current folder; parquet, which writes a file, now
    refuses it in one line."""
    import os
    import sys

    def export(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fuelpipe.cli", "export", *args, "-o", "-"],
            env={**os.environ, "FUELPIPE_DB": str(store_copy)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=180,
        )

    done = export("CURRENCY#USD")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("date,value,status,retry_count")
    assert json.loads(export("CURRENCY#USD", "-f", "json").stdout)[0]["date"]
    refused = export("-f", "parquet", "-s", "FUEL*")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    (line,) = _one_error_line(refused.stderr)
    assert "parquet writes a file, not stdout" in line, line
    assert list(tmp_path.iterdir()) == [tmp_path / "store"]  # store_copy's folder alone


def test_the_commands_that_read_no_clock_say_nothing_of_the_demo_s(store_copy: Path) -> None:
    """`export CURRENCY#USD` on the demo store noted "using its clock 2022-05-07T23:59 (give
    --now to use another)", then printed the dollar to 2026-06-26: export, the quarantine's
    lists and `dlq list` read no clock, and --now changes nothing they print."""
    env = {"FUELPIPE_DB": str(store_copy)}
    for args in (
        ("export", "CURRENCY#USD"),
        ("export", "CURRENCY#USD", "--format", "json"),
        ("quarantine", "list"),
        ("quarantine", "set-aside"),
        ("dlq", "list"),
    ):
        done = fuelpipe(*args, env=env)
        assert "using its clock" not in done.stderr, (args, done.stderr)
        assert done.stdout == fuelpipe("--now", DEMO_NOW, *args, env=env).stdout, args
    assert "2026-06-26" in fuelpipe("export", "CURRENCY#USD", env=env).stdout


def test_demo_fills_its_own_store_again(store_copy: Path, tmp_path: Path) -> None:
    """A store the demo filled carries its clock: running the demo on it again is fine (only
    a store with data of its own is refused, a case above)."""
    env = {"FUELPIPE_DB": str(store_copy), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    again = fuelpipe("demo", "--no-serve", env=env, check=False)
    assert again.returncode == 0, again.stderr
    done = fuelpipe("status", "--json", env=env)
    assert f"using its clock {DEMO_NOW}" in done.stderr


def test_the_demo_checks_its_store_path_as_run_does(read_only: ReadOnly) -> None:
    """The demo makes `run`'s store path check first: a directory, or a folder it cannot write
    in, is the same one clear line (before, SQLite's own error, with no word of what to do)."""
    tmp = read_only.folder("demo")
    lake = {"FUELPIPE_LAKE": str(tmp / "lake")}
    folder = tmp / "folder"
    folder.mkdir()
    done = fuelpipe("demo", "--no-serve", env={"FUELPIPE_DB": str(folder), **lake}, check=False)
    assert done.returncode == 2, done.stderr
    assert _one_error_line(done.stderr) == [
        f"error: FUELPIPE_DB {folder} is a directory, not a SQLite file"
    ]
    with read_only.locked(folder, files=True):
        env = {"FUELPIPE_DB": str(folder / "demo.sqlite"), **lake, "COLUMNS": "300"}
        done = fuelpipe("demo", "--no-serve", env=env, check=False, runner=read_only.runner)
    assert done.returncode == 2, done.stderr
    assert " ".join(done.stderr.split()).startswith(
        f"error: the store's folder {folder} is read-only; this command writes to the store"
    )
    assert not any(folder.iterdir())


REFUSED_ON_NO_STORE = {
    "watch unknown series": ["watch", "--series", "NOPE", "--ticks", "1"],
    "watch blank series": ["watch", "-s", " ", "--ticks", "1"],
    "run unknown series": ["run", "--series", "NOPE"],
    "run blank series": ["run", "-s", ""],
    "run since year 1": ["run", "-s", "CURRENCY#USD", "--since", "0001-01-01"],
    "run since not a date": ["run", "-s", "CURRENCY#USD", "--since", "31/12/2021"],
    "run since years ahead": ["run", "-s", "CURRENCY#USD", "--since", "2199-01-01"],
    "run since after now": [
        "--now",
        "2022-01-03",
        "run",
        "-s",
        "CURRENCY#USD",
        "--since",
        "2022-06-01",
    ],
    "revise unknown series": ["revise", "--series", "NOPE"],
    "revise blank series": ["revise", "-s", " "],
}


@pytest.mark.parametrize("name", list(REFUSED_ON_NO_STORE))
def test_a_command_that_fills_a_store_refused_creates_nothing(name: str, tmp_path: Path) -> None:
    """Refused before the store, its queue file or the watch lock is created: the folder
    FUELPIPE_DB names stays empty (before, each left a new empty store and queue, and `watch`
    its lock, beside the one error line)."""
    folder = tmp_path / "empty"
    folder.mkdir()
    env = {"FUELPIPE_DB": str(folder / "s.sqlite"), "FUELPIPE_LAKE": str(folder / "lake")}
    done = fuelpipe(*REFUSED_ON_NO_STORE[name], env=env, check=False, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert len(_one_error_line(done.stderr)) == 1, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == []


NAMED_BEFORE_THE_STORE = {
    "status --series NOPE": (["status", "--series", "NOPE"], "no series matches NOPE"),
    "status --since not a date": (["status", "--since", "2022-13-01"], "--since '2022-13-01'"),
    "export NOPE": (["export", "NOPE#XYZ"], "'NOPE#XYZ' is not in the series catalog"),
    "export parquet NOPE": (
        ["export", "-f", "parquet", "-s", "NOPE*", "-o", "{tmp}/x.parquet"],
        "'NOPE*' matches no series",
    ),
    "release NOPE": (["quarantine", "release", "NOPE", "2022-01-03"], "'NOPE' is not in"),
    "release bad date": (
        ["quarantine", "release", "CURRENCY#USD", "2022-13-45"],
        "DATE '2022-13-45' is not a date",
    ),
    "stations query bad date": (
        ["stations", "query", "state_weekly", "--since", "2022-13-01"],
        "--since '2022-13-01' is not a date",
    ),
    "stations reconcile since after until": (
        ["stations", "reconcile", "--since", "2022-05-01", "--until", "2022-01-01"],
        "--since 2022-05-01 is after --until 2022-01-01",
    ),
}


@pytest.mark.parametrize("name", list(NAMED_BEFORE_THE_STORE))
def test_a_bad_argument_is_named_before_the_store_is_looked_at(name: str, tmp_path: Path) -> None:
    """An argument that is wrong whatever the store holds is the error even where there is no
    store (or lake) yet: the user fixes it first (before, they were told to create a store,
    then, once they had, that the argument was wrong)."""
    args, said = NAMED_BEFORE_THE_STORE[name]
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    done = fuelpipe(*(a.format(tmp=tmp_path) for a in args), env=env, check=False, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    errors = _one_error_line(done.stderr)
    assert len(errors) == 1 and said in errors[0], done.stderr
    assert list(tmp_path.iterdir()) == []
