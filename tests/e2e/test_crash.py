"""kill -9 anywhere in a run, run again: the store ends equal to an uninterrupted run's. Ctrl+C
or SIGTERM in a run: one line, exit 130 or 143, and the messages it held go back to the queue,
so the rerun takes them at once (not after the visibility timeout) and ends equal too. A run
with `--workers` killed with kill -9 leaves none of its processes behind."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Status
from fuelpipe.failpoints import POINTS
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.ports.queue import NO_ERROR_RECORDED, too_many_receives
from fuelpipe.replay import ReplayServer
from fuelpipe.replay.faults import FaultPlan
from fuelpipe.stages.alerting import DeadLettered
from fuelpipe.stages.scrape import stopped_reason

SERIES = ["CURRENCY#USD", "STOCK#PRIO3", "FUEL#GASOLINE#BR", "FUEL#DIESEL#BR", "COMMODITY#BRENT"]
RUN = ["--now", "2022-05-07T23:59", "run", "--since", "2021-05-19"]
for _s in SERIES:
    RUN += ["--series", _s]


def _dump(db, keys=None):
    store = SqliteStore(db)
    try:
        keys = keys or [s.key for s in DEFAULT_CATALOG.select(SERIES)]
        return {
            key: [
                (r.date, r.value, r.status, r.retry_count, r.reason, r.attrs)
                for r in store.query(key)
            ]
            for key in keys
        }
    finally:
        store.close()


@pytest.fixture(scope="module")
def replay():
    with ReplayServer(quiet=True) as server:
        yield server


@pytest.fixture(scope="module")
def reference(replay, tmp_path_factory):
    db = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    env = {**_env(replay), "FUELPIPE_DB": str(db)}
    fuelpipe(*RUN, env=env)
    return _dump(db)


def _env(replay):
    env = {f"FUELPIPE_SOURCE_{k.upper()}_URL": v for k, v in replay.source_urls().items()}
    env["FUELPIPE_VISIBILITY_TIMEOUT_S"] = "1"
    return env


SCRAPE_REACH = 4
"""How often RUN reaches each scrape and drain failpoint (one per fetch unit: USD, PRIO3, the
ANP workbook, Brent); the orchestrate and recheck points are reached once. Every seeded crash
point stays within reach, so every one of them must kill the run."""


def _points(seed: int, n: int) -> list[tuple[str, int]]:
    """Seeded crash points covering every stage: each failpoint first, then random hits."""
    rng = random.Random(seed)
    chosen = [(p, 1) for p in POINTS]
    while len(chosen) < n:
        point = rng.choice(POINTS)
        hits = 1 if point.startswith(("orchestrate", "recheck")) else rng.randint(1, SCRAPE_REACH)
        chosen.append((point, hits))
    return chosen


# make test: one crash in each stage; make chaos runs the 24 seeded points below.
FAST = [
    ("orchestrate.after_send", 1),
    ("scrape.after_write", 2),
    ("scrape.after_pending", 1),
    ("drain.before_delete", 3),
]


def _crash_and_resume(replay, reference, tmp_path, point, hits):
    db = tmp_path / "crash.sqlite"
    env = {**_env(replay), "FUELPIPE_DB": str(db)}
    crashed = fuelpipe(*RUN, env={**env, "FUELPIPE_FAILPOINTS": f"{point}:{hits}"}, check=False)
    killed = crashed.returncode == -signal.SIGKILL
    assert killed or crashed.returncode == 0, crashed.stderr
    fuelpipe(*RUN, env=env)
    assert _dump(db) == reference, f"store differs after a crash at {point}:{hits}"
    return killed


@pytest.mark.parametrize(("point", "hits"), FAST, ids=[f"{p}:{h}" for p, h in FAST])
def test_a_run_killed_mid_way_resumes_with_nothing_lost_or_duplicated(
    replay, reference, tmp_path, point, hits
):
    assert _crash_and_resume(replay, reference, tmp_path, point, hits)


@pytest.mark.slow
@pytest.mark.parametrize(("point", "hits"), _points(2026, 24))
def test_twenty_four_seeded_crash_points(replay, reference, tmp_path, point, hits):
    assert _crash_and_resume(replay, reference, tmp_path, point, hits), f"{point}:{hits} not hit"


RETRY_SERIES = ["CURRENCY#USD", "COMMODITY#BRENT"]
RETRY_STEPS = 7
"""Runs a minute apart with a one-second retry base delay: each re-downloads once what the one
before left PENDING (the dates the replay withholds), the sixth quarantines them."""


def _retry_run(step: int) -> list[str]:
    """The `fuelpipe run` of one step: RUN's day, ``step`` minutes after 23:00."""
    args = ["--now", f"2022-05-07T23:{step:02d}", "run", "--since", "2021-05-19"]
    for s in RETRY_SERIES:
        args += ["--series", s]
    return args


@pytest.fixture(scope="module")
def withholding():
    """A replay that never serves a Tuesday and the first of a month (ABSENT_DAYS)."""
    from devtools.chaos.harness import ABSENT_SPEC

    with ReplayServer(quiet=True, faults=FaultPlan.parse(ABSENT_SPEC, 0)) as server:
        yield server


def _retry_env(replay, db):
    return {**_env(replay), "FUELPIPE_DB": str(db), "FUELPIPE_RETRY_BASE_DELAY_S": "1"}


@pytest.fixture(scope="module")
def retried(withholding, tmp_path_factory):
    """The store RETRY_STEPS uninterrupted runs leave: the withheld dates QUARANTINED."""
    db = tmp_path_factory.mktemp("retried") / "ref.sqlite"
    for step in range(RETRY_STEPS):
        fuelpipe(*_retry_run(step), env=_retry_env(withholding, db))
    return _dump(db, [s.key for s in DEFAULT_CATALOG.select(RETRY_SERIES)])


RECHECK_KILLS = [
    ("recheck.after_claim", 1),
    pytest.param("recheck.after_claim", 2, marks=pytest.mark.slow),
    pytest.param("recheck.after_send", 1, marks=pytest.mark.slow),
    pytest.param("scrape.after_fetch", 1, marks=pytest.mark.slow),
    pytest.param("drain.before_delete", 2, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("point", "hits"), RECHECK_KILLS)
def test_a_recheck_killed_with_re_downloads_claimed_resumes_with_nothing_lost(
    withholding, retried, tmp_path, point, hits
):
    """kill -9 in the step whose recheck claims the first re-downloads (in RUN's crash tests
    nothing is PENDING, so the recheck points are reached with nothing claimed). The later
    steps end with the store an uninterrupted sequence leaves: every withheld date QUARANTINED
    after five re-downloads, nothing lost or duplicated."""
    db = tmp_path / "recheck.sqlite"
    env = _retry_env(withholding, db)
    keys = [s.key for s in DEFAULT_CATALOG.select(RETRY_SERIES)]
    fuelpipe(*_retry_run(0), env=env)
    pending = [r for rows in _dump(db, keys).values() for r in rows if r[2] is Status.PENDING]
    assert pending and all(r[3] == 0 for r in pending)  # withheld, none re-downloaded yet
    killed = fuelpipe(*_retry_run(1), env={**env, "FUELPIPE_FAILPOINTS": f"{point}:{hits}"},
                      check=False)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    claimed = [r for rows in _dump(db, keys).values() for r in rows if r[3] == 1]
    assert claimed  # killed in (or after) a recheck that claimed re-downloads
    for step in range(1, RETRY_STEPS):
        fuelpipe(*_retry_run(step), env=env)
    assert _dump(db, keys) == retried, f"store differs after a crash at {point}:{hits}"
    with SqliteQueue(db.with_name("recheck-queue.sqlite"), SystemClock(), timedelta(1)) as queue:
        assert queue.depth().visible == 0 and queue.held().count == 0
        assert queue.dead_letter_count() == 0


POISON = "COMMODITY#BRENT"
POISON_RECEIVES = 2
"""FUELPIPE_MAX_RECEIVES in the poison test: the embedded queue dead-letters the message at
its third receive."""


def test_a_poison_message_is_dead_lettered_and_a_redrive_stores_it_once(
    replay, reference, tmp_path
):
    """A message whose handling kills every run that takes it (kill -9, so no handler is left
    to dead-letter it with its error): each rerun takes it back at once, its last delivery
    (FUELPIPE_MAX_RECEIVES) makes its dates PENDING before it is handled, and the receive past
    it moves it to the dead letters, saying no error was recorded. The other series are
    stored once, as an uninterrupted run stores them; Brent's dates are PENDING, not OK, so
    that run's orchestrator sends no gap for them and it ends (before: each run's
    orchestrator sent the gap again, and every run was killed while the fault lasted);
    recheck retries them (tests/stages/test_poison.py). `fuelpipe dlq list` and the
    dead-letter alert show it; with the fault gone, `fuelpipe dlq redrive` and a run store
    its dates once, and the store ends as the uninterrupted run's, nothing queued or
    dead-lettered."""
    db = tmp_path / "poison.sqlite"
    env = {**_env(replay), "FUELPIPE_DB": str(db), "FUELPIPE_MAX_RECEIVES": str(POISON_RECEIVES)}
    poisoned = {**env, "FUELPIPE_FAILPOINTS": f"scrape.after_fetch@{POISON}:*"}
    for _ in range(POISON_RECEIVES):  # each delivery kills its run
        killed = fuelpipe(*RUN, env=poisoned, check=False)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
    fuelpipe(*RUN, env=poisoned)  # dead-letters it and sends nothing: no run killed
    listed = fuelpipe("dlq", "list", "--json", env=env)
    letters = json.loads(listed.stdout)
    # the poison alone: what it was received with waited unreceived, not dead-lettered too
    assert [DownloadRequest.from_body(d["body"]).partition_key for d in letters] == [POISON]
    (letter,) = letters
    after = _dump(db)
    held = after.pop(POISON)
    assert after == {k: v for k, v in reference.items() if k != POISON}  # stored once
    asked = DownloadRequest.from_body(letter["body"]).dates_to_download
    assert held == [
        (day, None, Status.PENDING, 0, stopped_reason(POISON_RECEIVES), {}) for day in asked
    ]  # Brent's PENDING, retry count 0: recheck's to retry (before: missing, sent again)
    queue_file = db.with_name("poison-queue.sqlite")
    with SqliteQueue(queue_file, SystemClock(), timedelta(1)) as queue:
        assert queue.depth().visible == 0  # no gap sent for them again
    assert DownloadRequest.from_body(letter["body"]).partition_key == POISON
    assert letter["reason"] == too_many_receives(POISON_RECEIVES)
    assert NO_ERROR_RECORDED in letter["reason"]
    assert letter["receive_count"] == POISON_RECEIVES

    store = SqliteStore(db)
    try:
        with SqliteQueue(queue_file, SystemClock(), timedelta(1), POISON_RECEIVES) as queue:
            context = AlertContext(SystemClock().now(), store, queue, DEFAULT_CATALOG)
            (alert,) = DeadLettered().evaluate(context)
            assert alert.subject == letter["id"]
            assert alert.summary.endswith(f": {too_many_receives(POISON_RECEIVES)}")
    finally:
        store.close()

    redriven = fuelpipe("dlq", "redrive", env=env)
    assert "moved 1 message(s) back to the queue" in redriven.stdout
    fuelpipe(*RUN, env=env)  # the redriven message and the gap's again: Brent's dates once
    assert _dump(db) == reference
    with SqliteQueue(queue_file, SystemClock(), timedelta(1)) as queue:
        depth = queue.depth()
        assert (depth.visible, depth.in_flight, depth.dead) == (0, 0, 0), depth


def test_a_rerun_takes_back_at_once_what_a_killed_run_held(replay, reference, tmp_path):
    """kill -9 mid-drain holding a message: its process is gone, so the rerun takes that message
    back at once (it waited out the visibility timeout, 450 s by default, saying "N message(s)
    are held ... this run waits for them") and ends equal to an uninterrupted run."""
    db = tmp_path / "killed.sqlite"
    # the real timeout: a message the killed run kept would hold the rerun for minutes
    env = {**_env(replay), "FUELPIPE_DB": str(db), "FUELPIPE_VISIBILITY_TIMEOUT_S": "300"}
    failpoint = {"FUELPIPE_FAILPOINTS": "scrape.after_write:2"}  # kill -9 mid-way, storing
    killed = fuelpipe(*RUN, env={**env, **failpoint}, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with SqliteQueue(db.with_name("killed-queue.sqlite"), SystemClock(), timedelta(1)) as queue:
        held = queue.held()
        assert held.count == 0  # the one it was storing is not held by anyone alive
        assert queue.depth().visible >= 1
    # the killed process's holder file names its pid: the rerun says whose it takes back
    (killed_pid,) = held.orphaned_pids
    (holder,) = db.with_name("killed-queue-holders").iterdir()
    assert holder.read_text().strip() == str(killed_pid)
    again = fuelpipe(*RUN, env=env)
    assert "are held by another fuelpipe process" not in again.stderr
    # one line (before: none) says what the rerun took back and from which process
    assert (
        f"note: this run takes back at once {held.orphaned} message(s) a stopped fuelpipe "
        f"process held (pid {killed_pid}), not after their visibility timeout"
    ) in again.stderr
    assert held.orphaned >= 1
    assert _dump(db) == reference


@pytest.mark.parametrize(
    ("signame", "code", "said"),
    [("SIGINT", 130, "error: interrupted"), ("SIGTERM", 143, "error: stopped by SIGTERM")],
)
def test_an_interrupted_run_gives_its_messages_back_and_a_rerun_finishes_it(
    replay, reference, tmp_path, signame, code, said
):
    db = tmp_path / "stopped.sqlite"
    # the real timeout: a message the interrupted run kept would hold the rerun for minutes
    env = {**_env(replay), "FUELPIPE_DB": str(db), "FUELPIPE_VISIBILITY_TIMEOUT_S": "300"}
    failpoint = {"FUELPIPE_FAILPOINTS": f"scrape.after_write:2:{signame}"}  # mid-way, storing
    stopped = fuelpipe(*RUN, env={**env, **failpoint}, check=False)
    assert stopped.returncode == code, stopped.stderr
    assert stopped.stderr.strip().splitlines()[-1] == said
    # the line before says what became of the work (it was "error: interrupted" alone)
    assert stopped.stderr.strip().splitlines()[-2] == (
        "note: run stopped part-way: what it stored is kept, and the messages it had not "
        "finished are back in the queue; the same `fuelpipe run` again goes on from there"
    )
    assert "Traceback" not in stopped.stderr
    with SqliteQueue(db.with_name("stopped-queue.sqlite"), SystemClock(), timedelta(1)) as queue:
        assert queue.held().count == 0
        assert queue.depth().visible >= 1  # the interrupted one and those not started yet
    again = fuelpipe(*RUN, env=env)
    assert "are held by another fuelpipe process" not in again.stderr
    assert _dump(db) == reference


WORKERS_SERIES = ["CURRENCY#USD", "STOCK", "COMMODITY"]
"""Eleven messages: most are Yahoo's, which the slow replay below answers after a wait."""


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [
        (signal.SIGINT, 130, "error: interrupted"),
        (signal.SIGTERM, 143, "error: stopped by SIGTERM"),
    ],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_signal_to_a_run_with_workers_stops_its_helpers_too(replay, tmp_path, signum, code, said):
    """`run --workers 3` sent SIGTERM or SIGINT to its own process only (as systemd, docker and
    `kill` do): the helper processes stop too and give their messages back, rather than draining
    the whole queue first. The rerun then ends equal to an uninterrupted run."""
    # the real timeout: a message a helper kept would hold the rerun for minutes
    with _busy_run_with_workers(replay, tmp_path, 3, visibility_s=300) as (proc, queue_file, rerun):
        proc.send_signal(signum)  # the run's own process only, not its process group
        proc.wait(timeout=120)
    err = (tmp_path / "busy.err").read_text()
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == said
    assert "Traceback" not in err
    with SqliteQueue(queue_file, SystemClock(), timedelta(1)) as queue:
        assert queue.held().count == 0  # every process gave its message back
        assert queue.depth().visible >= 3  # and the helpers did not drain the rest
    again = rerun()
    assert "are held by another fuelpipe process" not in again.stderr


def test_a_run_with_workers_killed_leaves_no_process_behind(replay, tmp_path):
    """The parent of `run --workers 2` killed with kill -9 mid-drain (as the OOM killer does):
    its helper process notices, gives its message back and exits, and multiprocessing's
    resource tracker with it, rather than living on re-parented to init. The rerun then ends
    equal to an uninterrupted run."""
    children: list[tuple[int, str]] = []
    try:
        # the killed process's own message is taken back at once (its process is gone); the
        # 300 s timeout would otherwise hold it past the rerun's start
        with _busy_run_with_workers(replay, tmp_path, 2, visibility_s=300) as (
            proc,
            queue_file,
            rerun,
        ):
            children = _children(proc.pid)
            helpers = [pid for pid, _ in children if b"spawn_main" in _cmdline(pid)]
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        assert helpers, children  # and multiprocessing's resource tracker
        left = _alive_after(children, 60)  # at once in practice; generous on a busy machine
    finally:
        for pid, _ in _alive_after(children, 0):  # the run's processes, started here
            os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes of the killed run still alive: {left}"
    with SqliteQueue(queue_file, SystemClock(), timedelta(1)) as queue:
        assert queue.held().count == 0  # the helper gave its own back; the killed one's is free
    again = rerun()
    assert "Traceback" not in again.stderr
    assert "are held by another fuelpipe process" not in again.stderr


@contextlib.contextmanager
def _busy_run_with_workers(replay, tmp_path, workers: int, visibility_s: int):
    """`run --workers N` over WORKERS_SERIES against a slow Yahoo, started and waited for until
    each of its N processes holds a message (its output goes to busy.out and busy.err in
    ``tmp_path``); yields the process, its queue file and a rerun that must end equal to an
    uninterrupted run (made first, with the same settings)."""
    args = [*RUN[:5], "--workers", str(workers)]
    for s in WORKERS_SERIES:
        args += ["--series", s]
    keys = [s.key for s in DEFAULT_CATALOG.select(WORKERS_SERIES)]
    patient = {"FUELPIPE_VISIBILITY_TIMEOUT_S": str(visibility_s), "FUELPIPE_HTTP_TIMEOUT_S": "60"}
    env = {**_env(replay), **patient}
    ref = tmp_path / "ref.sqlite"
    fuelpipe(*args, env={**env, "FUELPIPE_DB": str(ref)})
    db = tmp_path / "busy.sqlite"

    def rerun() -> subprocess.CompletedProcess[str]:
        again = fuelpipe(*args, env={**env, "FUELPIPE_DB": str(db)})
        assert _dump(db, keys) == _dump(ref, keys)
        return again

    slow = FaultPlan.from_arg("yahoo:slow=1,slow_s=3", 0)
    with ReplayServer(quiet=True, faults=slow) as slow_replay:
        slow_env = {**_env(slow_replay), **patient, "FUELPIPE_DB": str(db)}
        # files, not pipes: a helper outliving the run would hold a pipe open
        with (
            open(tmp_path / "busy.out", "wb") as out,
            open(tmp_path / "busy.err", "wb") as err,
        ):
            proc = subprocess.Popen(
                [sys.executable, "-m", "fuelpipe.cli", *args],
                env={**os.environ, **slow_env},
                stdout=out,
                stderr=err,
            )
        try:
            queue_file = db.with_name("busy-queue.sqlite")
            assert _held(queue_file, proc, workers) == workers  # all of them busy
            yield proc, queue_file, rerun
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _held(queue_file, proc, count: int) -> int:
    """Wait until the run's processes hold ``count`` messages at once; how many they held."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if queue_file.exists():
            with (
                SqliteQueue(queue_file, SystemClock(), timedelta(1), read_only=True) as queue,
                contextlib.suppress(sqlite3.OperationalError),  # no table yet
            ):
                if (held := queue.held().count) >= count:
                    return held
        time.sleep(0.05)
    return -1


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].decode().split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def _children(parent: int) -> list[tuple[int, str]]:
    """The processes whose parent is ``parent``, each with its start time (so a pid the system
    gives to a new process later is not taken for one of them)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) and fields[1] == str(parent):
            found.append((int(entry), fields[19]))
    return found


def _alive_after(processes: list[tuple[int, str]], within_s: float) -> list[tuple[int, str]]:
    """Those of ``processes`` still running (not gone, not a zombie) once they all ended or
    ``within_s`` passed."""
    deadline = time.monotonic() + within_s
    while True:
        alive = [
            (pid, start)
            for pid, start in processes
            if (fields := _stat(pid)) and fields[0] != "Z" and fields[19] == start
        ]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.1)
