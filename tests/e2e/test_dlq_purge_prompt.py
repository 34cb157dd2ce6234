"""`fuelpipe dlq purge` at its prompt, on the embedded home: it deletes the dead letters it
counted and asked about, and none that arrived while the question was open."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.homes.settings import queue_file

HANG_GUARD_S = 120
"""Only against a hang: the prompt comes as soon as the CLI has started."""


def _dead_letter(queue: SqliteQueue, body: str) -> None:
    queue.send([body])
    (message,) = queue.receive(1)
    queue.dead_letter(message, "malformed message: test")


def _read_until(fd: int, wanted: bytes, seen: bytearray) -> None:
    """Read the terminal's output into ``seen`` until ``wanted`` is in it, or it closes."""
    while wanted not in seen:
        ready, _, _ = select.select([fd], [], [], HANG_GUARD_S)
        assert ready, f"no {wanted!r} from the CLI; it printed: {seen.decode(errors='replace')}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # Linux: EIO once the CLI has exited and closed its terminal
            return
        if not chunk:
            return
        seen.extend(chunk)


def test_a_dead_letter_arriving_at_the_prompt_is_not_purged(tmp_path: Path) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    SqliteStore(db).close()
    queue = SqliteQueue(queue_file(db), SystemClock(), timedelta(seconds=60))
    try:
        for body in ('{"seen": 1}', '{"seen": 2}'):
            _dead_letter(queue, body)
        env = {**os.environ, "FUELPIPE_DB": str(db), "NO_COLOR": "1", "COLUMNS": "200"}
        env.pop("FUELPIPE_NOW", None)
        primary, secondary = pty.openpty()  # a terminal, so purge asks instead of refusing
        with subprocess.Popen(
            [sys.executable, "-m", "fuelpipe.cli", "dlq", "purge"],
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            env=env,
        ) as cli:
            os.close(secondary)
            seen = bytearray()
            try:
                _read_until(primary, b"for good?", seen)
                assert b"Delete 2 dead letter(s) for good?" in seen
                _dead_letter(queue, '{"late": 1}')  # arrives while the question is open
                os.write(primary, b"y\n")
                _read_until(primary, b"\0", seen)  # to the end of its output
            finally:
                os.close(primary)
            assert cli.wait(HANG_GUARD_S) == 0, seen.decode(errors="replace")
        out = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", seen.decode()).split())
        assert "purged 2 dead letter(s)" in out
        assert "1 more arrived since the count: run `fuelpipe dlq list`" in out
        assert [d.body for d in queue.dead_letters()] == ['{"late": 1}']
    finally:
        queue.close()
