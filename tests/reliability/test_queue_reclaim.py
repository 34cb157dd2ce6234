"""The embedded queue takes back at once what a dead process held: a consumer killed with
SIGKILL (the OOM killer, a power cut of the process alone) leaves its received messages to the
next receive, counted as a redelivery, not hidden for the visibility timeout; a live
consumer's stay hidden, and so does a message deferred on purpose. Real processes: the holder
is a subprocess that receives, says what it got, and waits on its stdin."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.ports.queue import too_many_receives

HOUR = timedelta(hours=1)
"""Every queue here hides a received message for an hour: what comes back sooner came back
because its holder is gone, not because its timeout ended."""

_HOLDER = """
import json, sys
from datetime import timedelta
from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue

path, count, max_receives, defer = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
queue = SqliteQueue(path, SystemClock(), timedelta(hours=1), max_receives=max_receives)
got = queue.receive(count)
if defer == "defer":
    queue.defer([m.receipt for m in got], timedelta(hours=2))
print(json.dumps([[m.message_id, m.receive_count] for m in got]), flush=True)
sys.stdin.read()  # held until the test closes stdin or kills this process
"""


def _queue(path: Path, max_receives: int = 5) -> SqliteQueue:
    return SqliteQueue(path, SystemClock(), HOUR, max_receives=max_receives)


@contextmanager
def _holder(
    path: Path, count: int, *, max_receives: int = 5, defer: bool = False
) -> Iterator[tuple[subprocess.Popen[str], list[list[object]]]]:
    """A process that received ``count`` messages of the queue at ``path`` (and, with
    ``defer``, deferred them for two hours) and lives on holding them; what it received."""
    kept = "defer" if defer else "keep"
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), str(count), str(max_receives), kept],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # waits until it has received
        assert line, f"the holder process ended first (exit {proc.wait()})"
        yield proc, json.loads(line)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL


def test_a_killed_consumers_messages_are_received_at_once_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "q-queue.sqlite"
    with _queue(path) as queue:
        queue.send(["a", "b", "c"])
        with _holder(path, 2) as (proc, got):
            assert [count for _, count in got] == [1, 1]
            assert queue.receive(10)[0].body == "c"  # the one it did not take
            assert queue.receive(10) == []  # alive: what it holds stays hidden
            _kill(proc)
        again = queue.receive(10)
        assert sorted(m.message_id for m in again) == sorted(str(i) for i, _ in got)
        assert [m.receive_count for m in again] == [2, 2]  # a redelivery, as SQS counts it
        assert queue.held().count == 3  # all three now held by this process, alive


def test_held_and_depth_do_not_count_a_dead_holders_messages_as_in_flight(
    tmp_path: Path,
) -> None:
    """`run` says "N message(s) are held ... this run waits for them" from ``held()`` and
    waits while ``depth().in_flight``: a dead holder's messages are neither."""
    path = tmp_path / "q-queue.sqlite"
    with _queue(path) as queue:
        queue.send(["a", "b"])
        with _holder(path, 2) as (proc, _got):
            assert queue.held().count == 2
            assert (queue.depth().visible, queue.depth().in_flight) == (0, 2)
            _kill(proc)
            assert queue.held().count == 0
            assert queue.held().back_by is None
            assert (queue.depth().visible, queue.depth().in_flight) == (2, 0)
            # counted apart, with the pid its holder had: `run` says it takes them back
            assert (queue.held().orphaned, queue.held().orphaned_pids) == (2, (proc.pid,))
        with SqliteQueue(path, SystemClock(), HOUR, read_only=True) as looking:
            assert looking.held().count == 0  # `dlq list`, a dashboard: read-only looks agree
            assert looking.held().orphaned == 2
        assert len(queue.receive(10)) == 2  # taken back: no longer a gone holder's
        assert (queue.held().count, queue.held().orphaned, queue.held().orphaned_pids) == (
            2,
            0,
            (),
        )


def test_a_live_consumers_messages_stay_hidden_until_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "q-queue.sqlite"
    with _queue(path) as queue:
        queue.send(["a"])
        with _holder(path, 1) as (proc, _got):
            assert queue.receive(10) == []
            assert queue.held().count == 1
            assert proc.stdin is not None
            proc.stdin.close()  # it ends by itself, without deleting what it received
            assert proc.wait() == 0
        (back,) = queue.receive(10)
        assert (back.body, back.receive_count) == ("a", 2)


def test_a_killed_consumers_last_delivery_goes_to_the_dead_letters(tmp_path: Path) -> None:
    """Taking back does not reset the count: max receives and the dead letters still apply."""
    path = tmp_path / "q-queue.sqlite"
    with _queue(path, max_receives=1) as queue:
        queue.send(["poison"])
        with _holder(path, 1, max_receives=1) as (proc, _got):
            _kill(proc)
        assert queue.receive(10) == []
        (dead,) = queue.dead_letters()
        assert (dead.body, dead.reason) == ("poison", too_many_receives(1))


def test_a_message_deferred_by_a_killed_consumer_stays_deferred(tmp_path: Path) -> None:
    """A deferred message (its source asked for a rest) is hidden on purpose until its delay
    ends: its holder's death does not bring it back sooner."""
    path = tmp_path / "q-queue.sqlite"
    with _queue(path) as queue:
        queue.send(["resting"])
        with _holder(path, 1, defer=True) as (proc, _got):
            held = queue.held()  # held by no process, its holder alive or not
            assert (held.count, held.deferred, held.orphaned) == (0, 1, 0)
            _kill(proc)
        assert queue.receive(10) == []
        held = queue.held()
        assert (held.count, held.back_by, held.deferred, held.orphaned) == (0, None, 1, 0)
        assert held.deferred_until is not None
        assert HOUR < held.deferred_until - SystemClock().now() <= 2 * HOUR
        assert (queue.depth().visible, queue.depth().in_flight) == (0, 1)


def test_a_dead_holders_file_is_cleaned_up(tmp_path: Path) -> None:
    path = tmp_path / "q-queue.sqlite"
    folder = tmp_path / "q-queue-holders"
    with _queue(path) as queue:
        queue.send(["a"])
        with _holder(path, 1) as (proc, _got):
            (dead,) = folder.iterdir()  # the holder's own file, locked while it lives
            _kill(proc)
        assert dead.exists()  # nobody has looked yet
        assert len(queue.receive(10)) == 1
        assert not dead.exists()
        assert len(list(folder.iterdir())) == 1  # this process's own, as it holds one now


_OLDER_QUEUE = """
CREATE TABLE messages (id TEXT PRIMARY KEY, body TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0, visible_at TEXT NOT NULL, receipt TEXT,
    sent_at TEXT NOT NULL);
CREATE TABLE dead_letters (id TEXT PRIMARY KEY, body TEXT NOT NULL, reason TEXT NOT NULL,
    receive_count INTEGER NOT NULL, dead_at TEXT NOT NULL);
INSERT INTO messages VALUES ('m1', 'held', 1, '2999-01-01T00:00:00+00:00', 'm1.r', '2026-01-01');
INSERT INTO messages VALUES ('m2', 'waiting', 0, '2000-01-01T00:00:00+00:00', NULL, '2026-01-01');
"""
"""A queue file an older fuelpipe made (no holder column), one message received by it."""


def test_a_queue_file_made_before_holders_keeps_its_held_message_hidden(tmp_path: Path) -> None:
    """Read-only, it is read as it is; opened to write, it gets the column; either way its
    message received by an older fuelpipe (no holder known) waits out its timeout."""
    path = tmp_path / "old-queue.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(_OLDER_QUEUE)
    conn.close()
    with SqliteQueue(path, SystemClock(), HOUR, read_only=True) as looking:
        assert looking.held().count == 1
        assert (looking.depth().visible, looking.depth().in_flight) == (1, 1)
    with _queue(path) as queue:
        assert [m.body for m in queue.receive(10)] == ["waiting"]
        assert queue.held().count == 2
