"""The lake storage port: where partition files and the ingest manifest live.

Two adapters: a local directory (embedded home) and an S3 bucket (AWS home). The engine that
writes and queries the Parquet (DuckDB locally, Athena on AWS) stays outside the port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class LakeQueryFailed(RuntimeError):
    """The lake's query engine could not answer (Athena failed, refused or timed out): the
    message says which query and why; ``public`` says it without the service's own words
    (which may name the account, role, bucket or keys) for an answer to anyone."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or message


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

    def put_text(self, name: str, text: str) -> None:
        """Store a report (rejected rows) under ``_reports/<name>``."""
        ...

    def get_text(self, name: str) -> str | None:
        """A stored report, or None."""
        ...

    def query_root(self, workdir: Path) -> Path:
        """A local directory holding every partition file, for DuckDB to read."""
        ...
