"""The first worksheet of an XLSX workbook as a stream of rows, in bounded memory.

Why not a library: openpyxl's read-only mode streams, but through ElementTree events, ~25 s for
the 82 MB worksheet of a 20-year ANP states workbook; python-calamine is fast but holds every
cell of the sheet (~2x its XML, +180 MiB there) and has no streaming reader. This reader
inflates the worksheet part a chunk at a time and reads its ``<row>``/``<c>`` elements with
regular expressions, so memory is one chunk and its rows. It gives the values openpyxl's
``iter_rows(values_only=True)`` gives (tests/unit/sources/test_anp_readers.py compares them on
every bundled workbook): shared and inline strings, numbers (as floats, the way python-calamine
gave them to the scraper before: openpyxl's 5 is 5.0 here, equal, and an ANP price of 5 stays
stored as "5.0"), numbers in a date
format as datetimes (openpyxl's date-format rule and epoch conversion, restated here: importing
openpyxl costs the process ~20 MiB), booleans, error
codes as text, and an empty tuple for each row number the sheet skips. Anything it does not
recognise (a cell it cannot parse, a workbook whose first sheet it cannot find) raises
:class:`UnsupportedSheet`, and the caller reads the workbook with openpyxl instead.

Rows are read two ways. The general path finds a row's cells with one regular expression and
converts them one by one. A row of a shape it has read before (the same columns, styles and
types, its empty cells in the same places: ANP's rows, one after another) is matched whole by
that shape's :class:`_Template`, one regular expression per shape learned from the first such
row and checked against the general path's values for it, and its cells are converted by C
calls (``float``, dict lookups) without a Python call per cell.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from html import unescape
from operator import call
from posixpath import join, normpath
from typing import IO, NamedTuple
from xml.etree import ElementTree as ET

CHUNK_BYTES = 1 << 20
"""Inflated worksheet XML read at a time."""
MAX_ROW_BYTES = 8 << 20
"""Worksheet XML held while looking for a row's end: ANP's rows are under 1 KB of XML, so a
sheet with this much and no ``</row>`` is a bomb (held whole, it grew without bound)."""
MAX_PART_BYTES = 16 << 20
"""Inflated size of the small parts read whole (shared strings, styles, workbook): ANP's are
under 4 KB."""
_ROW_END = b"</row>"
_PREFIXED_END = re.compile(
    rb"</[A-Za-z_][\w.-]*:(?:row|sheetData)>|<[A-Za-z_][\w.-]*:sheetData\s*/>"
)
"""The end of a row or of the sheet's data written with a namespace prefix (``</x:row>``, as
the Open XML SDK can write it): this reader looks for unprefixed ones, openpyxl reads both."""
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row(?=[\s/>])([^>]*)>")
_ROW_ATTR = re.compile(rb"""\sr\s*=\s*["'](\d+)["']""")
_CELL_START = re.compile(rb"<c[\s/>]")

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
# A cell as Excel and openpyxl write it: r, then optional s and t, then an optional formula and
# value. A row whose cells do not all match this goes through _CELL_ANY.
_CELL_FAST = re.compile(
    rb'<c r="([A-Z]{1,3})\d+"(?: s="(\d+)")?(?: t="([a-zA-Z]+)")?'
    rb"(?:/>|>(?:<f[^<]*(?:</f>)?)?(?:<v>([^<]*)</v>)?</c>)"
)
_CELL_ANY = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_ATTR = re.compile(rb'([a-zA-Z:]+)="([^"]*)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")
_TEXT = re.compile(rb"<t\b[^>]*?(?:/>|>([^<]*)</t>)")
_PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_COLUMN = re.compile(rb"[A-Z]{1,3}")
_SPACES = re.compile(rb"\s*")


class UnsupportedSheet(Exception):
    """The workbook uses something this reader does not handle; read it with openpyxl."""


class RowsOutOfOrder(ValueError):
    """A row numbered at or below one before it. Not UnsupportedSheet: openpyxl's read-only
    reader skips such a row without a word, so the sheet cannot be handed to it either."""

    def __init__(self, number: int, after: int) -> None:
        super().__init__(
            f"sheet row {number} comes after row {after} (rows out of order: a reader that "
            "follows the row numbers would lose it)"
        )


def _part(archive: zipfile.ZipFile, name: str) -> bytes:
    """A small part's bytes (KeyError when the workbook has none). Over MAX_PART_BYTES it is
    a ValueError, not UnsupportedSheet: openpyxl would read the same part whole."""
    info = archive.getinfo(name)
    with archive.open(info) as part:
        data = part.read(MAX_PART_BYTES + 1)
    if info.file_size > MAX_PART_BYTES or len(data) > MAX_PART_BYTES:
        raise ValueError(
            f"the workbook part {name} unpacks to {max(info.file_size, len(data))} bytes, "
            f"over the {MAX_PART_BYTES} this reader takes"
        )
    return data


def _column_index(letters: bytes) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ch - 64
    return index - 1


def _first_sheet_part(archive: zipfile.ZipFile, title: str | None = None) -> str:
    """The part of the workbook's first sheet (workbook.xml order, through its relationships),
    or of the sheet named ``title``."""
    try:
        book = ET.fromstring(_part(archive, "xl/workbook.xml"))  # noqa: S314 - zip parts, no DTDs
        rels = ET.fromstring(_part(archive, "xl/_rels/workbook.xml.rels"))  # noqa: S314
    except (KeyError, ET.ParseError) as exc:
        raise UnsupportedSheet(f"no workbook part: {exc}") from None
    sheet = next(
        (
            s
            for s in book.findall(f"{_MAIN}sheets/{_MAIN}sheet")
            if title is None or s.get("name") == title
        ),
        None,
    )
    if sheet is None:
        raise UnsupportedSheet("the workbook lists no sheet" + (f" {title!r}" if title else ""))
    rid = sheet.get(f"{_REL}id")
    for rel in rels.iter(f"{_PKG_REL}Relationship"):
        if rel.get("Id") == rid:
            target = rel.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else normpath(join("xl", target))
            if part in archive.NameToInfo:
                return part
    raise UnsupportedSheet("the first sheet's part is missing")


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    """The shared string table: each item's text runs joined (phonetic runs left out)."""
    try:
        data = _part(archive, "xl/sharedStrings.xml")
    except KeyError:
        return []
    out: list[str] = []
    for _event, item in ET.iterparse(_Bytes(data), events=("end",)):  # noqa: S314
        if item.tag != f"{_MAIN}si":
            continue
        texts: list[str] = []
        for child in item:  # <t>, or rich-text runs <r><t>; phonetic runs <rPh> left out
            if child.tag == f"{_MAIN}t":
                texts.append(child.text or "")
            elif child.tag == f"{_MAIN}r":
                texts.extend(t.text or "" for t in child.iter(f"{_MAIN}t"))
        out.append("".join(texts))
        item.clear()
    return out


class _Bytes:
    """A minimal file object over bytes, for iterparse."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        chunk = self.data[self.at : end]
        self.at += len(chunk)
        return chunk


BUILTIN_DATE_FORMATS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 47})
"""The built-in number formats (ECMA-376 18.8.30) that are dates or times."""
BUILTIN_ELAPSED_FORMAT = 46
"""[h]:mm:ss: elapsed time (openpyxl gives a timedelta; left to it)."""
_FORMAT_LITERALS = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_CODE = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_ELAPSED = re.compile(r"\[(?:hh?|mm?|ss?)\]", re.I)
# Naive, as openpyxl gives them: a workbook cell has no time zone.
WINDOWS_1900 = datetime(1899, 12, 30)  # noqa: DTZ001
MAC_1904 = datetime(1904, 1, 1)  # noqa: DTZ001
_FIRST_PLAIN_SERIAL = 61
"""1900-03-01: below it the 1900 system counts Excel's phantom 1900-02-29 (left to openpyxl)."""


def is_date_format(code: str) -> bool:
    """A number format that shows a date or time (openpyxl's rule: first section, quoted text
    and [colour]/[$-locale] brackets ignored, then any of d m h y s)."""
    first = _FORMAT_LITERALS.sub("", code.split(";", maxsplit=1)[0])
    return _DATE_CODE.search(first) is not None


def _date_styles(archive: zipfile.ZipFile) -> tuple[frozenset[int], frozenset[int]]:
    """(indices of the cell formats whose number format is a date, those showing elapsed time
    such as [h]:mm, which this reader leaves to openpyxl)."""
    try:
        styles = ET.fromstring(_part(archive, "xl/styles.xml"))  # noqa: S314
    except KeyError:
        return frozenset(), frozenset()
    except ET.ParseError as exc:
        raise UnsupportedSheet(f"unreadable styles: {exc}") from None
    codes: dict[int, str] = {}
    for fmt in styles.iter(f"{_MAIN}numFmt"):
        codes[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
    xfs = styles.find(f"{_MAIN}cellXfs")
    dates: set[int] = set()
    elapsed: set[int] = set()
    for i, xf in enumerate([] if xfs is None else xfs.iter(f"{_MAIN}xf")):
        number = int(xf.get("numFmtId", "0"))
        code = codes.get(number)
        if code is None:
            if number in BUILTIN_DATE_FORMATS:
                dates.add(i)
            elif number == BUILTIN_ELAPSED_FORMAT:
                elapsed.add(i)
        elif _ELAPSED.search(code):
            elapsed.add(i)
        elif is_date_format(code):
            dates.add(i)
    return frozenset(dates), frozenset(elapsed)


def _epoch(archive: zipfile.ZipFile) -> datetime:
    book = ET.fromstring(_part(archive, "xl/workbook.xml"))  # noqa: S314
    pr = book.find(f"{_MAIN}workbookPr")
    flag = None if pr is None else pr.get("date1904")
    return MAC_1904 if flag in ("1", "true") else WINDOWS_1900


def from_excel(serial: float, epoch: datetime) -> datetime:
    """A date serial as a datetime, to the millisecond (openpyxl's conversion); serials before
    1900-03-01 in the 1900 system, and times without a date, raise UnsupportedSheet."""
    if serial < (_FIRST_PLAIN_SERIAL if epoch == WINDOWS_1900 else 1):
        raise UnsupportedSheet(f"date serial {serial}")
    day, fraction = divmod(serial, 1)
    return epoch + timedelta(days=day, milliseconds=round(fraction * 86_400_000))


_DATES_KEPT = 4096
"""Distinct date serials whose datetimes are remembered (then forgotten, to bound memory)."""


_SHAPES_KEPT = 256
"""Row shapes remembered (templatable or not); past that, no more are learned."""
_TEMPLATES_TRIED = 8
"""Templates tried on a row before it goes through the general path."""
_NONE: dict[bytes, None] = {}
"""Its ``get`` gives None for an empty or skipped cell (a C call, like the other converters)."""


class _Template(NamedTuple):
    """One row shape: the same cells (column, style, type, empty or not) row after row, as the
    ANP workbooks have. ``match`` matches a whole ``<row>...</row>`` of that shape, its groups
    the row number and then each column's raw value; ``convert`` turns each raw value into
    what :meth:`_Cells.value` gives for it (without a Python call per cell)."""

    match: Callable[[bytes, int], re.Match[bytes] | None]
    convert: tuple[Callable[[bytes], object], ...]


class _Dates(dict[bytes, datetime]):
    """Date serial (raw) -> datetime, converted once (a week's rows share their dates), at most
    _DATES_KEPT remembered."""

    def __init__(self, epoch: datetime) -> None:
        super().__init__()
        self.epoch = epoch

    def __missing__(self, raw: bytes) -> datetime:
        if len(self) >= _DATES_KEPT:
            self.clear()
        found = self[raw] = from_excel(float(raw), self.epoch)
        return found


class _Shared(dict[bytes, str]):
    """Shared string index (raw) -> its text, as ``strings[int(raw)]`` gives it."""

    def __init__(self, strings: list[str]) -> None:
        super().__init__()
        self.strings = strings

    def __missing__(self, raw: bytes) -> str:
        text = self.strings[int(raw)]
        if len(self) < len(self.strings) + _DATES_KEPT:
            self[raw] = text
        return text


class _Cells:
    """Turns one cell's raw parts into the value openpyxl gives for it."""

    def __init__(
        self, strings: list[str], styles: tuple[frozenset[int], frozenset[int]], epoch: datetime
    ) -> None:
        self.strings = strings
        self.date_styles = {str(i).encode() for i in styles[0]}
        self.elapsed_styles = {str(i).encode() for i in styles[1]}
        self.epoch = epoch
        self.columns: dict[bytes, int] = {}
        self.layout: list[bytes] = []
        """The column letters of the last row read with none skipped."""
        self.dates = _Dates(epoch)
        self.shared = _Shared(strings)
        self.shapes: dict[tuple[tuple[bytes, bytes, bytes, bool], ...], _Template | None] = {}
        """Row shapes seen by the general path -> their template (None: not templatable)."""
        self.templates: list[_Template] = []
        """The templates tried on each row, the one that last matched first."""

    def learn(
        self, row_xml: bytes, found: list[tuple[bytes, bytes, bytes, bytes]], values: object
    ) -> None:
        """Remember the shape of a row read by the general path, if a :class:`_Template` can
        read it and reads it to the same values."""
        if len(self.shapes) >= _SHAPES_KEPT or b"<f" in row_xml:
            return
        shape = tuple((letters, style, kind, not raw) for letters, style, kind, raw in found)
        if shape in self.shapes:
            return
        template = self.template(shape)
        self.shapes[shape] = template
        if template is None:
            return
        check = template.match(row_xml + b"</row>", 0)
        if (
            check is None
            or check.end() != len(row_xml) + len(b"</row>")
            or tuple(map(call, template.convert, check.groups()[1:])) != values
        ):
            self.shapes[shape] = None
            return
        self.templates.insert(0, template)
        del self.templates[_TEMPLATES_TRIED:]

    def template(self, shape: tuple[tuple[bytes, bytes, bytes, bool], ...]) -> _Template | None:
        """The template of a row shape: (column letters, style, type, empty) per cell."""
        pattern = [rb'<row r="(\d+)"(?: [^>/]*)?>']
        convert: list[Callable[[bytes], object]] = []
        column = 0
        for letters, style, kind, empty in shape:
            index = self.column(letters)
            if index < column:
                return None
            pattern += [b"()"] * (index - column)  # skipped columns: None
            convert += [_NONE.get] * (index - column)
            column = index + 1
            attrs = b' s="' + style + b'"' if style else b""
            attrs += b' t="' + kind + b'"' if kind else b""
            cell = b'<c r="' + re.escape(letters) + rb'\d+"' + re.escape(attrs)
            if empty:
                pattern.append(cell + b"/>()")
                convert.append(_NONE.get)
                continue
            if kind == b"s":
                convert.append(self.shared.__getitem__)
            elif kind not in (b"", b"n") or style in self.elapsed_styles:
                return None
            elif style in self.date_styles:
                convert.append(self.dates.__getitem__)
            else:
                convert.append(float)
            pattern.append(cell + b"><v>([^<]+)</v></c>")
        pattern.append(b"</row>")
        return _Template(re.compile(b"".join(pattern)).match, tuple(convert))

    def column(self, letters: bytes) -> int:
        index = self.columns.get(letters)
        if index is None:
            index = self.columns[letters] = _column_index(letters)
        return index

    def value(self, style: bytes, kind: bytes, raw: bytes | None) -> object:  # noqa: PLR0911 - one per cell type
        if not raw:
            return None
        if kind == b"s":
            return self.strings[int(raw)]
        if not kind or kind == b"n":
            if style in self.date_styles:  # a week's rows share their dates: converted once
                return self.dates[raw]
            if style in self.elapsed_styles:
                raise UnsupportedSheet(f"elapsed-time format on {raw!r}")
            return float(raw)
        if kind in (b"str", b"inlineStr", b"e"):
            return unescape(raw.decode())
        if kind == b"b":
            return raw == b"1"
        if kind == b"d":
            return datetime.fromisoformat(raw.decode())
        raise UnsupportedSheet(f"cell type {kind!r}")


def _row_values(body: bytes, cells: _Cells, row_xml: bytes = b"") -> tuple[object, ...]:
    """The values of one row's cells, by column (gaps as None, trailing empties kept).

    The common row has its cells in columns A, B, C... with none skipped, the same layout row
    after row: that is checked once per layout, and its shared strings and plain numbers are
    converted inline; dates and the other kinds go through :meth:`_Cells.value`. ``row_xml``
    (the row from its ``<row`` on, without ``</row>``) lets the reader learn the row's shape.
    """
    found = _CELL_FAST.findall(body)
    if len(found) != len(_CELL_START.findall(body)):  # a cell _CELL_FAST cannot read
        return _row_values_slow(body, cells)
    layout = [cell[0] for cell in found]
    if layout != cells.layout and [cells.column(letters) for letters in layout] != list(
        range(len(layout))
    ):
        values = _placed(found, cells)
    else:
        cells.layout = layout
        strings, dates, value = cells.strings, cells.date_styles, cells.value
        values = tuple(
            [
                strings[int(raw)]
                if kind == b"s" and raw
                else float(raw)
                if not kind and raw and style not in dates and not cells.elapsed_styles
                else value(style, kind, raw)
                for _, style, kind, raw in found
            ]
        )
    if row_xml:
        cells.learn(row_xml, found, values)
    return values


def _placed(found: list[tuple[bytes, bytes, bytes, bytes]], cells: _Cells) -> tuple[object, ...]:
    """A row whose cells skip columns: each value at its column, None between."""
    out: list[object] = []
    for letters, style, kind, raw in found:
        index = cells.column(letters)
        if index > len(out):
            out.extend([None] * (index - len(out)))
        elif index < len(out):
            raise UnsupportedSheet("cells out of column order")
        out.append(cells.value(style, kind, raw))
    return tuple(out)


def _row_values_slow(body: bytes, cells: _Cells) -> tuple[object, ...]:
    """Any attribute order, inline strings, rich text: one regex per part of each cell."""
    out: list[object] = []
    for attrs_raw, inner in _CELL_ANY.findall(body):
        attrs = dict(_ATTR.findall(attrs_raw))
        ref = attrs.get(b"r")
        if ref is None:
            index = len(out)
        else:
            letters = _COLUMN.match(ref)
            if letters is None:
                raise UnsupportedSheet(f"cell reference {ref!r}")
            index = cells.column(letters.group())
        if index > len(out):
            out.extend([None] * (index - len(out)))
        elif index < len(out):
            raise UnsupportedSheet("cells out of column order")
        kind = attrs.get(b"t", b"")
        if kind == b"inlineStr":
            texts = _TEXT.findall(_PHONETIC.sub(b"", inner))
            out.append(unescape(b"".join(texts).decode()) if texts else None)
            continue
        value = _VALUE.search(inner)
        out.append(cells.value(attrs.get(b"s", b"0"), kind, value.group(1) if value else None))
    return tuple(out)


def _rows_in(text: bytes, cells: _Cells, last: list[int]) -> Iterator[tuple[object, ...]]:
    """The rows of a stretch of sheet XML that ends at a row's end (or the part's end).

    A row shaped like one seen before (see :class:`_Template`) is matched whole by that
    shape's regular expression and its cells converted by C-level calls; any other row goes
    through :func:`_piece_rows`, which may learn its shape.
    """
    pos, size, number = 0, len(text), last[0]
    match: Callable[[bytes, int], re.Match[bytes] | None] = _no_match
    convert: tuple[Callable[[bytes], object], ...] = ()
    templates = cells.templates
    while pos < size:
        found = match(text, pos)
        if found is None:
            spaces = _SPACES.match(text, pos)  # between rows of pretty-printed XML
            pos = pos if spaces is None else spaces.end()
            for template in templates:  # most recently used first
                found = template.match(text, pos)
                if found is not None:
                    if template is not templates[0]:
                        templates.remove(template)
                        templates.insert(0, template)
                    match, convert = template.match, template.convert
                    break
            else:
                close = text.find(b"</row>", pos)
                stop = size if close < 0 else close
                last[0] = number
                yield from _piece_rows(text[pos:stop], cells, last)
                number = last[0]
                pos = stop + len(b"</row>")
                match, convert = _no_match, ()
                continue
        raw = found.groups()
        at = int(raw[0])
        if at != number + 1:
            if at <= number:
                raise RowsOutOfOrder(at, number)
            yield from ((),) * (at - number - 1)  # rows the sheet skips, as openpyxl does
        number = last[0] = at
        yield tuple(map(call, convert, raw[1:]))
        pos = found.end()
    last[0] = number


def _no_match(_text: bytes, _pos: int) -> re.Match[bytes] | None:
    """The match of no template: the row loop's state before a template has matched."""
    return None


def _piece_rows(piece: bytes, cells: _Cells, last: list[int]) -> Iterator[tuple[object, ...]]:
    """The rows of one piece of sheet XML ending just before a ``</row>`` (or the part's end):
    empty rows written ``<row .../>``, then at most one row with its cells."""
    start = piece.find(b"<row")
    while start >= 0:  # rows written <row .../> (no cells) come before the next full one
        close = piece.find(b">", start)
        if close < 0:
            raise UnsupportedSheet("a row tag without its end")
        head = piece[start:close]
        number_match = _ROW_NUMBER.search(head)
        number = int(number_match.group(1)) if number_match else last[0] + 1
        if number <= last[0]:
            raise RowsOutOfOrder(number, last[0])
        yield from ((),) * (number - last[0] - 1)  # rows the sheet skips, as openpyxl does
        last[0] = number
        if head.endswith(b"/"):
            yield ()
            start = piece.find(b"<row", close)
            continue
        yield _row_values(piece[close + 1 :], cells, piece[start:])
        break


def open_rows(
    content: IO[bytes], chunk_bytes: int = CHUNK_BYTES
) -> tuple[zipfile.ZipFile, Iterator[tuple[object, ...]]]:
    """(archive to close, rows of the first sheet from row 1), read lazily, the worksheet
    inflated ``chunk_bytes`` at a time.

    The workbook's small parts are read now (raising UnsupportedSheet or a zip error); the
    worksheet part is inflated and parsed as the rows are read.
    """
    archive = zipfile.ZipFile(content)
    try:
        part = _first_sheet_part(archive)
        cells = _Cells(_shared_strings(archive), _date_styles(archive), _epoch(archive))
    except BaseException:
        archive.close()
        raise
    return archive, _stream(archive, part, cells, chunk_bytes)


def _stream(
    archive: zipfile.ZipFile, part: str, cells: _Cells, chunk_bytes: int
) -> Iterator[tuple[object, ...]]:
    """The rows, read up to the last ``</row>`` of each chunk. Only the new chunk (and the
    bytes of a ``</row>`` cut by the chunk's start) is searched: the rest of ``pending`` held
    none, and searching it all again made a sheet with no row end quadratic. More than
    MAX_ROW_BYTES without one is a ValueError, which the caller reports as a bad workbook
    (not UnsupportedSheet: openpyxl would hold it whole too)."""
    last = [0]
    pending = b""
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(chunk_bytes)
            if not chunk:
                break
            start = max(len(pending) - len(_ROW_END) + 1, 0)
            pending += chunk
            end = pending.rfind(_ROW_END, start)
            if end < 0:
                if _PREFIXED_END.search(pending, max(start - 64, 0)):
                    raise UnsupportedSheet("rows written with a namespace prefix")
                if len(pending) > MAX_ROW_BYTES:
                    raise ValueError(
                        f"the worksheet has {len(pending)} bytes with no row end in them, "
                        f"over the {MAX_ROW_BYTES} one row may take"
                    )
                continue
            end += len(_ROW_END)
            yield from _rows_in(pending[:end], cells, last)
            pending = pending[end:]
    end = pending.find(b"</sheetData>")
    if end < 0 and _PREFIXED_END.search(pending):
        raise UnsupportedSheet("a worksheet written with a namespace prefix")
    if end < 0 and b"<sheetData/>" not in pending:
        raise ValueError("the worksheet ends before its </sheetData>: truncated")
    yield from _rows_in(pending if end < 0 else pending[:end], cells, last)


_TAG_TAIL = 4096
"""Bytes kept from a chunk's end when it has no ``>``: a row tag is far shorter."""


def check_row_order(
    content: IO[bytes], chunk_bytes: int = CHUNK_BYTES, *, sheet: str | None = None
) -> None:
    """Raise RowsOutOfOrder if a row of the first sheet (or of the sheet named ``sheet``) is
    numbered at or below one before it (see :func:`check_sheet_row_order`)."""
    with zipfile.ZipFile(content) as archive:
        check_sheet_row_order(archive, chunk_bytes, sheet=sheet)


def check_sheet_row_order(
    archive: zipfile.ZipFile, chunk_bytes: int = CHUNK_BYTES, *, sheet: str | None = None
) -> None:
    """Raise RowsOutOfOrder if a row of the first sheet (or of the sheet named ``sheet``) of
    the open workbook ``archive`` is numbered at or below one before it (a row without a
    number follows the one before, as openpyxl counts). Run before a sheet is read by
    openpyxl's read-only reader, which skips such a row without a word. Only the row tags are
    looked at (prefixed ones too), a chunk at a time; a workbook whose sheet this module cannot
    find is left to openpyxl. Taking the open archive lets a caller checking every sheet read
    the ZIP's directory once."""
    try:
        part = _first_sheet_part(archive, sheet)
    except UnsupportedSheet:
        return
    last = 0
    pending = b""
    with archive.open(part) as stream:
        while chunk := stream.read(chunk_bytes):
            pending += chunk
            cut = pending.rfind(b">") + 1  # a tag cut at the chunk's end waits for the next
            for tag in _ROW_TAG.finditer(pending, 0, cut):
                found = _ROW_ATTR.search(tag.group(1))
                number = int(found.group(1)) if found else last + 1
                if number <= last:
                    raise RowsOutOfOrder(number, last)
                last = number
            pending = pending[cut:] if cut else pending[-_TAG_TAIL:]
