"""The lake storage port: where partition files and the ingest manifest live.

Two adapters: a local directory (embedded home) and an S3 bucket (AWS home). The engine that
writes and queries the Parquet (DuckDB locally, Athena on AWS) stays outside the port.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from fuelpipe.ports.clock import Clock


class LakeQueryFailed(RuntimeError):
    """The lake's query engine could not answer (Athena failed, refused or timed out): the
    message says which query and why; ``public`` says it without the service's own words
    (which may name the account, role, bucket or keys) for an answer to anyone."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or message


class LakeBusy(RuntimeError):
    """Another ingest holds the lake's write lock: ``where`` is the lock (a path or an s3://
    URL); the holder's pid, host, since when, command and the lock's expiry (an S3 lock's)
    are None where unknown."""

    def __init__(
        self,
        where: str,
        *,
        pid: int | None = None,
        since: str | None = None,
        command: str | None = None,
        host: str | None = None,
        expires: str | None = None,
    ) -> None:
        self.where = where
        self.pid = pid
        self.since = since
        self.command = command
        self.host = host
        self.expires = expires
        who = "an unknown pid" if pid is None else f"pid {pid}"
        on = "" if host is None else f" on {host}"
        started = "" if since is None else f", since {since}"
        until = "" if expires is None else f", expiring at {expires} unless it goes on"
        super().__init__(
            f"another ingest (`{command or 'fuelpipe stations ingest'}`, {who}{on}{started}) "
            f"is writing the lake: its lock is {where}{until}"
        )


class LakeLockLost(RuntimeError):
    """The write lock expired and another ingest took it over: this one must stop writing."""


class LakeWriteLock(Protocol):
    """One writer at a time on a lake: held for an ingest's whole read-merge-write."""

    def acquire(self) -> None:
        """Take the lock, or raise LakeBusy naming the holder (never waits)."""
        ...

    def refresh(self) -> None:
        """Keep holding it (an expiring lock is extended); LakeLockLost when it was lost."""
        ...

    def release(self) -> None:
        """Let it go (a lock no longer held is left alone)."""
        ...


class LakeStorage(Protocol):
    """Partition files ``product=<fuel>/month=<YYYY-MM>/part-0.parquet`` plus a JSON manifest."""

    def describe(self) -> str:
        """Where the lake is, for messages (a path or an s3:// URL)."""
        ...

    def partitions(self) -> list[tuple[str, str]]:
        """Every (product, month) that has a partition file, sorted."""
        ...

    def fetch_partition(self, product: str, month: str, workdir: Path) -> Path | None:
        """A local path to read that partition's file from, or None when there is none."""
        ...

    def put_partition(self, product: str, month: str, local: Path) -> None:
        """Replace that partition's file with ``local`` (readers see the old or the new one)."""
        ...

    def read_manifest(self) -> dict[str, Any]:
        """The ingest manifest (an empty one when the lake is new)."""
        ...

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest."""
        ...

    def old_layout(self) -> int | None:
        """The layout of a lake whose manifest records files in an older layout than today's
        (its answers may count one station twice until it is migrated), else None: what
        `stations query` warns of and the dashboard's stations API names. A repeated call
        does not read an unchanged manifest again; a replaced one is read on the next call."""
        ...

    def put_text(self, name: str, text: str) -> None:
        """Store a report (rejected rows) under ``_reports/<name>``."""
        ...

    def get_text(self, name: str) -> str | None:
        """A stored report, or None."""
        ...

    def query_root(self, workdir: Callable[[], Path]) -> Path:
        """A local directory holding every partition file, for DuckDB to read (a storage that
        must copy them calls ``workdir`` for a scratch directory, made on that first call)."""
        ...

    def write_lock(self, clock: Clock, command: str) -> LakeWriteLock:
        """The lake's write lock (``clock`` dates it, ``command`` names the holder to one
        refused); reads never need it."""
        ...
