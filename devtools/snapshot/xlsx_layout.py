"""Copy an ANP workbook's layout (notes, header, merges, widths, formats) and write a new one.

Reading uses openpyxl; writing uses XlsxWriter (a dev dependency, only the snapshot builder
needs it) because, like Excel and the real ANP files, it stores text as shared strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from openpyxl.utils import column_index_from_string, range_boundaries

Cell = tuple[Any, str]
"""A value and its Excel number format."""


@dataclass
class Layout:
    """Everything above and around the data rows of a one-sheet workbook."""

    sheet_name: str
    top: list[list[Cell]]
    """Rows 1..header (the last one is the header row)."""
    merges: list[str] = field(default_factory=list)
    widths: dict[int, float] = field(default_factory=dict)
    """0-based column -> width."""

    @property
    def header_row(self) -> int:
        """1-based row number of the header."""
        return len(self.top)


def read_layout(ws: Any, header_row: int) -> Layout:
    """The layout of an openpyxl worksheet whose header is on ``header_row``."""
    top = [
        [(c.value, c.number_format) for c in row]
        for row in ws.iter_rows(min_row=1, max_row=header_row)
    ]
    widths: dict[int, float] = {}
    for letter, dim in ws.column_dimensions.items():
        if dim.width:
            lo = dim.min or column_index_from_string(letter)
            hi = dim.max or lo
            for col in range(lo, hi + 1):
                widths[col - 1] = float(dim.width)
    merges = [str(r) for r in ws.merged_cells.ranges]
    return Layout(ws.title, top, merges, widths)


def data_cells(ws: Any, row_idx: int, width: int) -> list[Cell]:
    """The cells of one data row (value and number format)."""
    return [
        (ws.cell(row_idx, c).value, ws.cell(row_idx, c).number_format) for c in range(1, width + 1)
    ]


def _write_cell(ws: Any, fmt: Any, r: int, c: int, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, datetime | date):
        ws.write_datetime(r, c, value, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value, fmt)
    elif isinstance(value, int | float):
        ws.write_number(r, c, value, fmt)
    else:
        ws.write_string(r, c, str(value), fmt)


def write_workbook(dst: Path, layout: Layout, rows: list[list[Cell]]) -> None:
    """Write ``layout`` then ``rows`` below its header, panes frozen under the header."""
    import xlsxwriter  # type: ignore[import-untyped]  # no type hints shipped

    dst.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(dst))
    # A fixed creation time keeps rebuilt files byte-identical.
    wb.set_properties({"created": datetime(2022, 5, 8, tzinfo=UTC)})
    formats: dict[str, Any] = {}

    def fmt(number_format: str) -> Any:
        if number_format == "General":
            return None
        if number_format not in formats:
            formats[number_format] = wb.add_format({"num_format": number_format})
        return formats[number_format]

    ws = wb.add_worksheet(layout.sheet_name)
    for col, width in layout.widths.items():
        # Excel stores widths with the padding included; pixels round-trip them exactly.
        ws.set_column_pixels(col, col, round(width * 7))
    for r, row in enumerate([*layout.top, *rows]):
        for c, (value, number_format) in enumerate(row):
            _write_cell(ws, fmt(number_format), r, c, value)
    for ref in layout.merges:
        min_col, min_row, _, _ = range_boundaries(ref)
        value, number_format = layout.top[min_row - 1][min_col - 1]
        ws.merge_range(ref, value, fmt(number_format))
    ws.freeze_panes(layout.header_row, 0)
    wb.close()
