"""Rewriting a workbook's single worksheet in its XML, shared by the replay and the dev tools.

openpyxl would rebuild the whole workbook (and drop what it does not model); editing the sheet
part's rows keeps notes, header, shared strings, styles and formats as they are, in
milliseconds. Kept hand-written for that reason: no maintained library edits rows in place.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ROW = re.compile(rb"<row [^>]*?(?:/>|>.*?</row>)", re.S)
_ROW_NUMBER = re.compile(rb'<row r="(\d+)"')
_CELL_REF = re.compile(rb'(<c r="[A-Z]+)\d+"')
_DIMENSION = re.compile(rb'(<dimension ref="[A-Z]+\d+:[A-Z]+)\d+"')
_SHEET_PART = re.compile(r"xl/worksheets/sheet\d+\.xml")


def sheet_part(names: Iterable[str]) -> str:
    """The (first) worksheet part of a workbook."""
    return next(n for n in sorted(names) if _SHEET_PART.fullmatch(n))


def row_number(row_xml: bytes) -> int:
    """The r attribute of one ``<row>``."""
    match = _ROW_NUMBER.match(row_xml)
    if not match:
        raise ValueError("a worksheet row without its r attribute")
    return int(match.group(1))


def renumber(row_xml: bytes, number: int) -> bytes:
    """One row moved to row ``number``, its cell references with it."""
    row_xml = _ROW_NUMBER.sub(b'<row r="%d"' % number, row_xml, count=1)
    return _CELL_REF.sub(rb'\g<1>%d"' % number, row_xml)


@dataclass(frozen=True)
class SheetData:
    """A worksheet part split around its ``<sheetData>`` rows."""

    xml: bytes
    start: int
    end: int
    rows: list[bytes]

    @classmethod
    def split(cls, xml: bytes) -> SheetData:
        start = xml.index(b"<sheetData>") + len(b"<sheetData>")
        end = xml.index(b"</sheetData>")
        return cls(xml, start, end, ROW.findall(xml, start, end))

    def replaced(self, rows: bytes, last_row: int) -> bytes:
        """The part with ``rows`` as its sheet data and its dimension ending at ``last_row``."""
        xml = self.xml[: self.start] + rows + self.xml[self.end :]
        return _DIMENSION.sub(rb'\g<1>%d"' % last_row, xml, count=1)


def replace_parts(
    data: bytes, replaced: Mapping[str, bytes], *, compresslevel: int | None = None
) -> bytes:
    """The workbook ``data`` with some parts' bytes replaced, every other part as it was."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zout,
    ):
        for item in zin.infolist():
            new = replaced.get(item.filename)
            zout.writestr(item, zin.read(item) if new is None else new)
    return out.getvalue()
