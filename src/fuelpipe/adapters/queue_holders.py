"""Who holds the embedded queue's received messages, and whether that process is gone.

Each process that receives from a queue file holds one "holder" file in the folder beside it
(``<queue stem>-holders/<token>.holder``) with an exclusive ``flock`` (as
:mod:`fuelpipe.adapters.process_lock` does) for as long as it lives, and each message it
receives records its token. The kernel lets the lock go when the process ends, however it ends
(kill -9, the OOM killer), so another process that can lock a holder's file knows for sure
that its holder is gone, and may take its messages back at once: no pid to judge alive or
dead, no pid reuse to fear. A holder file is never locked again by anyone but a process making
sure its holder is gone, who removes it while holding the lock.

The holder is the process, not the queue object: a queue closed and opened again by the same
process, or two clients on one file in one process (tests, ``QueueOnDemand``), share its token
and file, so what a live process received stays its own until its visibility timeout ends, as
on SQS. A process forked from a holder lets go of its copy and takes its own token at its first
receive.

One machine only: ``flock`` on a network filesystem may not be seen by another host (or be
refused), so a queue file shared over NFS or SMB is out of scope. POSIX only, like the rest of
the embedded home's process handling.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

_SUFFIX = ".holder"
_TOKEN = re.compile(r"[0-9a-f]{32}")


def holders_folder(queue_path: Path) -> Path:
    """The folder of the holder files of the queue at ``queue_path``."""
    return queue_path.with_name(queue_path.stem + "-holders")


@dataclass(frozen=True)
class _Held:
    fd: int
    token: str


class _ThisProcess:
    """This process's holder per holders folder (resolved): one per process, not per queue
    object (see the module's docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: dict[Path, _Held] = {}

    def token(self, folder: Path) -> str:
        key = folder.resolve()
        with self.lock:
            held = self.held.get(key)
            if held is not None:
                return held.token
            held = self.held[key] = _take(key)
        sweep(key, keep=held.token)
        return held.token

    def forked(self) -> None:
        """In a child of fork(): the parent's holders are the parent's (its locks stay while
        it keeps its descriptors), so the child lets go of its copies and takes its own."""
        self.lock = threading.Lock()  # another thread may have held it at the fork
        for held in self.held.values():
            with contextlib.suppress(OSError):
                os.close(held.fd)
        self.held.clear()

    def let_go(self) -> None:
        """At a normal exit: this process's holder files are removed (while still locked),
        and their folders if nothing else is in them. A process killed leaves its file to the
        next process that finds it gone."""
        with self.lock:
            for folder, held in self.held.items():
                with contextlib.suppress(OSError):
                    (folder / (held.token + _SUFFIX)).unlink()
                os.close(held.fd)
                with contextlib.suppress(OSError):  # not empty: another holds one there
                    folder.rmdir()
            self.held.clear()


_THIS_PROCESS = _ThisProcess()
os.register_at_fork(after_in_child=_THIS_PROCESS.forked)
atexit.register(_THIS_PROCESS.let_go)


def token_of_this_process(folder: Path) -> str:
    """This process's holder token for the queue whose holders folder is ``folder``: its file
    is created and locked at the first call (in a forked child, its own), and the files of
    holders gone are removed then."""
    return _THIS_PROCESS.token(folder)


def _take(folder: Path) -> _Held:
    """A new holder file, created and locked (and still named: one removed by a sweep between
    the two is given up for another)."""
    while True:
        folder.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        path = folder / (token + _SUFFIX)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:  # the folder removed as this process created its file
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise FileNotFoundError(path)
        except (BlockingIOError, FileNotFoundError):  # a sweep took it for a dead one's
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # for a person: holder_pid reads it
        return _Held(fd, token)


def holder_gone(folder: Path, token: str, *, clean: bool) -> bool:
    """Whether the process that holds ``token`` is gone (its file is not locked, or not
    there); with ``clean``, its file is removed then. A token that is not one (a file
    written by hand) is taken as held: nothing is taken back on its word."""
    if not _TOKEN.fullmatch(token):
        return False
    path = folder / (token + _SUFFIX)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True  # removed by whoever found it gone first, or by its holder at its exit
    except OSError:
        return False  # cannot look (permissions): not known to be gone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # locked: its holder lives
    else:
        if clean:
            with contextlib.suppress(OSError):  # gone already; a read-only folder
                path.unlink()
        return True
    finally:
        os.close(fd)  # lets go of the lock, if this took it


def holder_pid(folder: Path, token: str) -> int | None:
    """The process id the holder of ``token`` wrote in its file (for a person: a gone
    holder's, to name the process that was stopped); None when its file is gone or holds none."""
    if not _TOKEN.fullmatch(token):
        return None
    try:
        text = (folder / (token + _SUFFIX)).read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    first = text.strip()
    return int(first) if first.isdigit() else None


def sweep(folder: Path, keep: str) -> None:
    """Remove the holder files (other than ``keep``'s) whose holders are gone."""
    with contextlib.suppress(OSError):  # the folder gone, or not readable: nothing to sweep
        for entry in os.scandir(folder):
            token = entry.name.removesuffix(_SUFFIX)
            if entry.name.endswith(_SUFFIX) and token != keep:
                holder_gone(folder, token, clean=True)
