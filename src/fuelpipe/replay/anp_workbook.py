"""ANP summary workbooks: find the header, read the data rows, rewrite them in place.

The builder trims the real workbooks with these helpers and the server rewrites the bundled ones
for faults, so both keep the real layout: institutional rows, header row, column formats.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from fuelpipe.domain.catalog import FUEL_PRODUCTS, REGIONS, STATES
from fuelpipe.domain.keys import fuel_key
from fuelpipe.replay import ooxml

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MISSING = "-"
"""How the real workbooks mark a missing cell."""

Row = tuple[Any, ...]

# Route path (below the ANP base URL) -> area level of the workbook's rows.
WORKBOOK_LEVELS: dict[str, str] = {
    "semanal/semanal-brasil-desde-2013.xlsx": "BR",
    "semanal/semanal-regioes-desde-2013.xlsx": "REGION",
    "semanal/semanal-estados-desde-2013.xlsx": "STATE",
    "mensal/mensal-estados-desde-jan2013.xlsx": "MONTHLY_STATE",
}

# Route path -> the publication schedule (domain/publication.py) its rows come out on: a weekly
# workbook gains a week's rows for every product and area at the week's release, the monthly
# one a month's.
WORKBOOK_SCHEDULES: dict[str, str] = {
    route: "anp_monthly" if level == "MONTHLY_STATE" else "anp_weekly"
    for route, level in WORKBOOK_LEVELS.items()
}

_PRODUCT_BY_LABEL = {label: part for part, (label, _unit) in FUEL_PRODUCTS.items()}
_REGION_BY_NAME = {name: code for code, name in REGIONS.items()}
_UF_BY_NAME = {name: uf for uf, (name, _region) in STATES.items()}


@dataclass(frozen=True)
class SheetRows:
    """The header (1-based row number and names) and the data rows of a workbook's sheet."""

    sheet_name: str
    header_row: int
    header: tuple[str, ...]
    rows: list[Row]

    def col(self, name: str) -> int:
        """The 0-based index of a header column."""
        return self.header.index(name)


def find_header_row(ws: Any) -> int:
    """The 1-based row holding ``PRODUTO``: the header, whatever the number of notes above."""
    for idx, values in enumerate(ws.iter_rows(min_row=1, max_row=40, values_only=True), start=1):
        if "PRODUTO" in values:
            return idx
    raise ValueError("no header row with PRODUTO in the first 40 rows")


def _trim_trailing_none(values: Sequence[Any], width: int) -> Row:
    return tuple(values[:width])


def read_sheet(source: bytes | Path) -> SheetRows:
    """Read the single sheet of an ANP workbook: header and every non-empty data row."""
    data = source.read_bytes() if isinstance(source, Path) else source
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        ws = wb.worksheets[0]
        header_idx = find_header_row(ws)
        header_cells = next(ws.iter_rows(min_row=header_idx, max_row=header_idx, values_only=True))
        header = tuple(str(v) for v in header_cells if v is not None)
        rows = [
            _trim_trailing_none(values, len(header))
            for values in ws.iter_rows(min_row=header_idx + 1, values_only=True)
            if any(v is not None for v in values)
        ]
        return SheetRows(ws.title, header_idx, header, rows)
    finally:
        wb.close()


def row_date(sheet: SheetRows, row: Row) -> date | None:
    """The row's key date: DATA INICIAL (a Sunday) for weekly sheets, MÊS for monthly ones."""
    name = "MÊS" if "MÊS" in sheet.header else "DATA INICIAL"
    value = row[sheet.col(name)]
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def row_key(sheet: SheetRows, level: str, row: Row) -> str | None:
    """The catalog key a row feeds, or None for a product or area the catalog lacks."""
    product = _PRODUCT_BY_LABEL.get(str(row[sheet.col("PRODUTO")]))
    if product is None:
        return None
    if level == "BR":
        return fuel_key(product, "BR")
    if level == "REGION":
        region = _REGION_BY_NAME.get(str(row[sheet.col("REGIÃO")]))
        return fuel_key(product, region) if region else None
    uf = _UF_BY_NAME.get(str(row[sheet.col("ESTADO")]))
    if uf is None:
        return None
    return fuel_key(product, uf, monthly=level == "MONTHLY_STATE")


def rewrite_rows(
    data: bytes, header_row: int, order: Sequence[int], *, drop_header: bool = False
) -> bytes:
    """The workbook with its data rows replaced by the rows at ``order`` (0-based, repeats ok).

    Works on the sheet XML, so notes, header, shared strings, styles and formats stay as they
    are and a rewrite takes milliseconds. ``drop_header`` removes the header row (a wrong shape).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        sheet = ooxml.sheet_part(zin.namelist())
        part = ooxml.SheetData.split(zin.read(sheet))
    rows = part.rows
    top = [r for r in rows if ooxml.row_number(r) < header_row]
    header = [r for r in rows if ooxml.row_number(r) == header_row and not drop_header]
    body = [r for r in rows if ooxml.row_number(r) > header_row]
    moved = [ooxml.renumber(body[i], header_row + 1 + k) for k, i in enumerate(order)]
    new_xml = part.replaced(b"".join([*top, *header, *moved]), header_row + len(moved))
    return ooxml.replace_parts(data, {sheet: new_xml})
