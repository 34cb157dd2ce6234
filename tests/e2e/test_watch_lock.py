"""One `fuelpipe watch` per store: a second one is refused (exit 4, naming the first's pid and
since when) while other commands go on, and a watch killed with SIGKILL leaves nothing held."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.process_lock import ProcessLock
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.replay.server import ReplayServer

NOW = "2022-05-06T14:00"  # USD's Friday close is stored on the first tick; the next is Monday's
WATCH = ("--now", NOW, "watch", "--series", "CURRENCY#USD", "--no-intraday")


def _holding(lock: Path, proc: subprocess.Popen[str], within_s: float) -> dict[str, object]:
    """The lock file's note once ``proc`` wrote it (it holds the lock from then on)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            note = json.loads(lock.read_text())
        except (OSError, ValueError):
            note = {}
        if note.get("pid") == proc.pid:
            return dict(note)
        time.sleep(0.1)
    raise AssertionError(f"watch never took the lock: {proc.poll()=}")


def test_a_second_watch_is_refused_and_a_killed_one_holds_nothing(tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    lock = tmp_path / "w-watch.lock"
    with ReplayServer(quiet=True) as replay:
        env = {"FUELPIPE_DB": str(db), **replay.env()}
        first = subprocess.Popen(
            [sys.executable, "-m", "fuelpipe.cli", *WATCH],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            note = _holding(lock, first, 120)
            second = fuelpipe(*WATCH, "--ticks", "1", env=env, check=False, timeout=120)
            # through a symlink to the same file: the same store, the same lock
            (tmp_path / "link").mkdir()
            (tmp_path / "link" / "alias.sqlite").symlink_to(db)
            aliased = {**env, "FUELPIPE_DB": str(tmp_path / "link" / "alias.sqlite")}
            third = fuelpipe(*WATCH, "--ticks", "1", env=aliased, check=False, timeout=120)
            # the other commands are not held back by it
            status = fuelpipe("--now", NOW, "status", "--series", "CURRENCY#USD", env=env)
            first.kill()  # SIGKILL: no handler runs, nothing is cleaned up
            first.wait(timeout=60)
            after = fuelpipe(*WATCH, "--ticks", "1", env=env, check=False, timeout=600)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()

    since = datetime.fromisoformat(str(note["since"]))
    assert since.utcoffset() is not None  # an instant a person can place
    assert note["command"] == "fuelpipe watch"
    for refused in (second, third):
        assert refused.returncode == 4, refused.stderr
        line = " ".join(refused.stderr.split())
        assert f"another `fuelpipe watch` (pid {first.pid}, running since {note['since']})" in line
        assert "one watch per store" in line
        assert "Traceback" not in refused.stderr
        assert "watching" not in refused.stdout  # refused before it started
    assert str(db) in " ".join(second.stderr.split())
    assert status.returncode == 0 and "CURRENCY#USD" in status.stdout
    assert after.returncode == 0, after.stderr
    assert after.stdout.startswith("watching")
    assert lock.read_text() == ""  # a watch that ends lets go of the lock and its note


def test_watch_help_names_its_exit_code_when_another_runs() -> None:
    out = fuelpipe("watch", "--help", env={})
    text = " ".join(out.stdout.split())
    assert "One watch per store: a second one on the same file exits 4" in text


def _held_by(db: Path, command: str) -> ProcessLock:
    """The store's watch lock, taken by this test process as if it ran ``command``."""
    lock = ProcessLock(db.with_name(db.stem + "-watch.lock"), FixedClock(HELD_SINCE), command)
    lock.acquire()
    return lock


HELD_SINCE = datetime(2022, 5, 6, 14, 0, tzinfo=SAO_PAULO)


def test_demo_live_watches_too_so_it_is_refused_beside_a_watch(tmp_path: Path) -> None:
    """`demo --live` runs a watch loop on the store (alerts, intraday points): it takes the
    same lock, so it and a `fuelpipe watch` never run on one store together."""
    db = tmp_path / "d.sqlite"
    lock = _held_by(db, "fuelpipe watch")
    try:
        refused = fuelpipe("demo", "--live", "--no-serve", env={"FUELPIPE_DB": str(db)},
                           check=False, timeout=120)  # fmt: skip
    finally:
        lock.release()
    assert refused.returncode == 4, refused.stderr
    line = " ".join(refused.stderr.split())
    assert f"another `fuelpipe watch` (pid {os.getpid()}, running since 2022-05-06T14:00:00" in line
    assert "one watch per store" in line and "Traceback" not in refused.stderr
    assert not db.exists()  # refused before the store or the replay was touched


def test_a_watch_beside_demo_live_names_it(tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    lock = _held_by(db, "fuelpipe demo --live")
    try:
        refused = fuelpipe(*WATCH, "--ticks", "1", env={"FUELPIPE_DB": str(db)},
                           check=False, timeout=120)  # fmt: skip
    finally:
        lock.release()
    assert refused.returncode == 4, refused.stderr
    assert f"another `fuelpipe demo --live` (pid {os.getpid()}," in " ".join(refused.stderr.split())
