"""`fuelpipe export --format parquet`: many keys into one Parquet file, the API's tidy columns.

The rows are those of :func:`fuelpipe.api.tidy_table` (date, key, value, value_text, status,
retry_count, attributes, revisions), so a file read back with Polars equals
``fuelpipe.open().series(...)`` (pandas reads the same values, its ``date`` column as objects
where the API gives datetime64). The file is written one key at a time (a row group per key),
so an export holds one series' records in memory, never the whole store's.
Needs the ``frames`` extra (pyarrow).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fuelpipe.api import TIDY_TYPES, arrow_schema, select_keys, tidy_parts
from fuelpipe.domain.catalog import Catalog
from fuelpipe.install_hint import install_hint
from fuelpipe.ports.store import Store


class ExportError(Exception):
    """Why the export cannot be written, in one line."""


def check_request(patterns: Sequence[str], output: Path | None) -> Path:
    """The output file, once the request is complete (checked before any store is opened)."""
    if output is None:
        raise ExportError("--format parquet writes a file: give --output FILE.parquet")
    if not patterns:
        raise ExportError("give a KEY or --series patterns (e.g. --series 'FUEL#GASOLINE#*')")
    return output


def export_keys(catalog: Catalog, patterns: Sequence[str]) -> list[str]:
    """The keys the patterns match in ``catalog``, once pyarrow is known to be installed
    (checked before any store is opened)."""
    try:
        keys = select_keys(catalog, patterns)
    except KeyError as exc:  # naming the keys a typo may have meant (select_keys)
        raise ExportError(f"{exc.args[0]} (try `fuelpipe status --all`)") from None
    try:
        import pyarrow.parquet  # noqa: F401 - write_parquet writes with it
    except ModuleNotFoundError:
        raise ExportError(
            f"--format parquet needs the frames extra: {install_hint('frames')}"
        ) from None
    return keys


def write_parquet(store: Store, keys: Sequence[str], path: Path) -> int:
    """Write every record of ``keys`` to ``path``, one row group per key with records, each
    written before the next key is read; returns how many records were written."""
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetWriter(path, arrow_schema(TIDY_TYPES)) as writer:
        for part in tidy_parts(store, keys, None, None):
            table = part.arrow()
            writer.write_table(table, row_group_size=max(table.num_rows, 1))
            rows += table.num_rows
    return rows
