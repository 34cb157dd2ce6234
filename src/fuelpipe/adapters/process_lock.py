"""One process at a time: an exclusive lock on a file, held while the process lives.

``fcntl.flock`` (stdlib: the `filelock` library is only a dev dependency here, and it is the
same call on POSIX) locks the open file, not its name: the kernel releases it when the last
descriptor closes, so a holder that crashes or is killed (SIGKILL, power cut aside) never
leaves it held, and no stale pid has to be judged alive or dead. The file keeps the holder's
pid and since when it holds, for the message of a process refused. It is never removed: a
name unlinked while another process holds a descriptor on it would let two hold "the" lock.
POSIX only, like the rest of the embedded home's process handling.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.ports.clock import Clock

_READ_ATTEMPTS = 20
"""A refused process reads the holder's note this many times (50 ms apart) while it is being
written (the holder writes it just after taking the lock)."""


@dataclass(frozen=True)
class Holder:
    """Who holds the lock: its pid, since when (São Paulo time with its offset) and the
    command it runs, or None where the note could not be read (written by an older fuelpipe,
    or being written)."""

    pid: int | None
    since: str | None
    command: str | None = None


class LockHeld(Exception):
    """Another process holds the lock."""

    def __init__(self, path: Path, holder: Holder) -> None:
        self.path = path
        self.holder = holder
        pid = "an unknown pid" if holder.pid is None else f"pid {holder.pid}"
        since = "" if holder.since is None else f", since {holder.since}"
        super().__init__(f"{path} is held by {pid}{since}")


class ProcessLock:
    """An exclusive, non-blocking lock on ``path`` (created with its folder if missing);
    ``command`` names what the holder runs, for the message of a process refused."""

    def __init__(self, path: Path, clock: Clock, command: str = "") -> None:
        self.path = path
        self._clock = clock
        self._command = command
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and note this process in the file; LockHeld names the holder."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_RDWR without O_TRUNC: the holder's note must survive a refused process's open.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeld(self.path, self._holder()) from None
        except BaseException:
            os.close(fd)
            raise
        since = sao_paulo_iso(self._clock.now(), "seconds")
        note = json.dumps({"pid": os.getpid(), "since": since, "command": self._command})
        os.pwrite(fd, note.encode(), 0)
        os.ftruncate(fd, len(note.encode()))
        self._fd = fd

    def release(self) -> None:
        """Let the lock go (the note is emptied first, while still held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # releases the flock

    def _holder(self) -> Holder:
        # Not stamina: a note read while being written is no fault to back off from or to log
        # (the CLI's retry hook warns of each stamina retry), and the last failure is no error.
        for attempt in range(_READ_ATTEMPTS):
            try:
                note = json.loads(self.path.read_text())
                command = note.get("command")
                return Holder(int(note["pid"]), str(note["since"]), command and str(command))
            except (OSError, ValueError, KeyError, TypeError):
                if attempt + 1 < _READ_ATTEMPTS:
                    time.sleep(0.05)
        return Holder(None, None)
