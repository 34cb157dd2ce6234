"""`fuelpipe export --format parquet`: many keys into one Parquet file, the API's tidy columns.

The rows are those of :func:`fuelpipe.api.tidy_table` (date, key, value, status, retry_count,
attributes), so a file read back with pandas or Polars equals ``fuelpipe.open().series(...)``.
Needs the ``frames`` extra (pyarrow).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fuelpipe.api import FRAMES_INSTALL, select_keys, tidy_table
from fuelpipe.stages.context import StageContext


class ExportError(Exception):
    """Why the export cannot be written, in one line."""


def check_request(patterns: Sequence[str], output: Path | None) -> Path:
    """The output file, once the request is complete (checked before any store is opened)."""
    if output is None:
        raise ExportError("--format parquet writes a file: give --output FILE.parquet")
    if not patterns:
        raise ExportError("give a KEY or --series patterns (e.g. --series 'FUEL#GASOLINE#*')")
    return output


def export_parquet(app: StageContext, patterns: Sequence[str]) -> tuple[int, Any]:
    """Every record of the keys the patterns match, as one table; returns (keys, table).
    The caller writes it (``pyarrow.parquet.write_table``), beside the file it replaces."""
    try:
        keys = select_keys(app.catalog, patterns)
    except KeyError as exc:
        raise ExportError(f"{exc.args[0]} (try `fuelpipe status --all`)") from None
    try:
        import pyarrow.parquet  # noqa: F401 - the caller writes with it
    except ModuleNotFoundError:
        raise ExportError(f"--format parquet needs the frames extra: {FRAMES_INSTALL}") from None
    return len(keys), tidy_table(app.store, keys, None, None).arrow()
