"""A folder read-only to the process that reads it, wherever the tests run.

An ordinary user: ``chmod``. Root, whom modes do not stop: the immutable attribute
(``chattr +i``), which needs CAP_LINUX_IMMUTABLE. A container with Docker's default
capabilities (GitHub's CI runs the tests as root in one) refuses it: there the process that
must not write (the CLI, a reader) runs as ``nobody`` through ``setpriv``, on a folder
given to ``nobody`` (its files too, writable as a user's own files are) and ``chmod`` made
read-only, as an ordinary user's would be. Its folders are then made in a
folder of their own that ``nobody`` can reach (pytest's are root's alone) and are deleted at
the session's end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

NOBODY = 65534
"""``nobody``'s user and group id on Debian (and most Linux systems)."""


@dataclass(frozen=True)
class ReadOnly:
    """How this host makes a folder read-only, and how a reader of it is run."""

    how: str
    """``chmod``, ``chattr`` or ``nobody``; empty where none works (``reason`` says why)."""
    root: Path
    """Where folders to make read-only are made: every reader can reach them."""
    runner: tuple[str, ...] = ()
    """What a reading subprocess's command starts with (``setpriv ...`` to run as nobody)."""
    reason: str = ""

    def folder(self, name: str) -> Path:
        """A new empty folder under :attr:`root`, readable and writable by its owner."""
        made = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.root))
        made.chmod(0o755)
        return made

    def lock(self, folder: Path, *, files: bool = False) -> bool:
        """Make ``folder`` (and its files too with ``files``) read-only; False when it cannot."""
        return self._set(folder, on=True, files=files)

    def unlock(self, folder: Path, *, files: bool = False) -> None:
        self._set(folder, on=False, files=files)

    @contextmanager
    def locked(self, folder: Path, *, files: bool = False) -> Iterator[None]:
        """``folder`` read-only to a reader for the block; the test is skipped where it
        cannot be made so, or where the reader can write to it all the same."""
        if not self.lock(folder, files=files):
            pytest.skip(self.reason)
        try:
            if self.writable(folder):
                pytest.skip(f"{self.how}: this user can write to any folder")
            yield
        finally:
            self.unlock(folder, files=files)

    def writable(self, folder: Path) -> bool:
        """Whether a reader (run as :attr:`runner` runs it) may write in ``folder``."""
        if not self.runner:
            return os.access(folder, os.W_OK)
        done = subprocess.run([*self.runner, "test", "-w", str(folder)], check=False)
        return done.returncode == 0

    def python(
        self, code: str, *args: str, stdin: bytes = b""
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``code`` in this Python as a reader, its output as bytes."""
        return subprocess.run(
            [*self.runner, sys.executable, "-c", code, *args],
            input=stdin,
            capture_output=True,
            check=False,
            timeout=120,
        )

    def _set(self, folder: Path, *, on: bool, files: bool) -> bool:
        paths = [*folder.iterdir(), folder] if files else [folder]
        if self.how == "chattr":
            flag = "+i" if on else "-i"
            done = subprocess.run(
                ["chattr", flag, *map(str, paths)], capture_output=True, check=False
            )
            return done.returncode == 0
        if not self.how:
            return False
        if self.how == "nobody":  # nobody's own folder, as an ordinary user's would be
            owner = NOBODY if on else 0
            for p in [folder, *folder.rglob("*")]:
                os.chown(p, owner, owner, follow_symlinks=False)
        for p in paths:
            if p.is_dir():
                p.chmod(0o555 if on else 0o755)
            else:
                p.chmod(0o444 if on else 0o644)
        return True


def read_only_here(tmp: Path) -> ReadOnly:
    """How this host makes a folder read-only to a reader; ``tmp`` a fresh folder of pytest's."""
    if os.geteuid() != 0:
        return ReadOnly("chmod", tmp)
    tried: list[str] = []
    chattr = shutil.which("chattr")
    if chattr is None:
        tried.append("chattr is not installed")
    else:
        done = subprocess.run([chattr, "+i", str(tmp)], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            subprocess.run([chattr, "-i", str(tmp)], check=True)
            return ReadOnly("chattr", tmp)
        tried.append(f"chattr +i refused ({done.stderr.strip()})")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        tried.append("setpriv (to run readers as nobody) is not installed")
        return ReadOnly("", tmp, reason=_cannot(tried))
    runner = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--")
    root = Path(tempfile.mkdtemp(prefix="fuelpipe-read-only-"))
    root.chmod(0o711)  # nobody may reach a folder in it by name, not list it
    probe = (
        "import os, sys, fuelpipe\n"
        "sys.exit(os.geteuid() == 0 or not os.access(sys.argv[1], os.X_OK))"
    )
    done = subprocess.run(
        [*runner, sys.executable, "-c", probe, str(root)], capture_output=True, check=False
    )
    if done.returncode == 0:
        return ReadOnly("nobody", root, runner)
    shutil.rmtree(root)
    tried.append(f"nobody cannot run fuelpipe on a folder in {root.parent} ({done.stderr!r})")
    return ReadOnly("", tmp, reason=_cannot(tried))


def _cannot(tried: Sequence[str]) -> str:
    return "cannot make a folder read-only here: " + "; ".join(tried)


def cleanup(read_only: ReadOnly) -> None:
    """Delete the folder ``read_only_here`` made for nobody's readers (pytest's are its own)."""
    if read_only.how == "nobody":
        shutil.rmtree(read_only.root)  # root's to delete, whatever a failed test left locked
